/**
 * Session: connecting, CONNACK handling, keep alive, timeouts, DISCONNECT
 * both ways, AUTH, options. Scripted broker + fake clock; no sleeps.
 */
import test from "tape";
import type { ConnectPacket, DisconnectPacket } from "../../modules/mqtt/codec/packets";
import { ErrorCode, MqttError } from "../../modules/mqtt/errors";
import { Session, SessionState } from "../../modules/mqtt/session";
import type { ClosedEvent } from "../../modules/mqtt/session";
import { Link, text } from "../support/scripted-broker";

function closedError(link: Link): MqttError | undefined {
  const closed = link.eventsOf("closed");
  return closed.length === 0 ? undefined : closed[closed.length - 1].error;
}

test("3.1.1 CONNECT carries client id, clean session, keep alive, credentials and will", (t) => {
  const link = new Link({
    session: {
      clientId: "dev-1",
      clean: false,
      keepalive: 30,
      username: "user",
      password: "secret",
      will: { topic: "node/status", payload: "offline", qos: 1, retain: true },
    },
  });
  link.connect();
  const c = link.broker.connects[0];
  t.equal(c.protocolVersion, 4);
  t.equal(c.clientId, "dev-1");
  t.equal(c.clean, false);
  t.equal(c.keepalive, 30);
  t.equal(c.username, "user");
  t.equal(text(c.password as Uint8Array), "secret");
  t.equal(c.will?.topic, "node/status");
  t.equal(text(c.will?.payload as Uint8Array), "offline");
  t.equal(c.will?.qos, 1);
  t.equal(c.will?.retain, true);
  t.equal(c.properties, undefined, "no properties in 3.1.1");
  t.equal(link.session.state, SessionState.Connected);
  t.end();
});

test("v5 CONNECT carries our receive maximum, maximum packet size, topic alias maximum and the given properties", (t) => {
  const link = new Link({
    session: {
      protocolVersion: 5,
      clientId: "dev-2",
      receiveMaximum: 10,
      maximumPacketSize: 2048,
      topicAliasMaximum: 4,
      properties: { sessionExpiryInterval: 300, userProperties: [["k", "v"]] },
      will: { topic: "w", payload: new Uint8Array([1, 2]), properties: { willDelayInterval: 5 } },
    },
  });
  link.connect();
  const c = link.broker.connects[0];
  t.equal(c.protocolVersion, 5);
  t.equal(c.properties?.receiveMaximum, 10);
  t.equal(c.properties?.maximumPacketSize, 2048);
  t.equal(c.properties?.topicAliasMaximum, 4);
  t.equal(c.properties?.sessionExpiryInterval, 300);
  t.deepEqual(c.properties?.userProperties, [["k", "v"]]);
  t.equal(c.will?.properties?.willDelayInterval, 5);
  t.deepEqual(c.will?.payload, new Uint8Array([1, 2]));
  t.end();
});

test("options are checked at construction", (t) => {
  t.throws(() => new Session({ clientId: "", clean: false }), TypeError, "empty client id needs clean [MQTT-3.1.3-7]");
  t.doesNotThrow(() => new Session({ protocolVersion: 5, clientId: "", clean: false }), "v5 allows it");
  t.throws(() => new Session({ keepalive: 65536 }), RangeError, "keepalive is two bytes");
  t.throws(() => new Session({ receiveMaximum: 0 }), RangeError, "receive maximum 0 is a protocol error");
  t.throws(() => new Session({ protocolVersion: 3 as 4 }), RangeError);
  t.throws(() => new Session({ password: "p" }), TypeError, "3.1.1 password needs a user name [MQTT-3.1.2-22]");
  t.throws(() => new Session({ will: { topic: "a/+", payload: "x" } }), TypeError, "will topic is a topic name");
  t.throws(() => new Session({ connectTimeout: 0 }), RangeError);
  t.throws(() => new Session({ clientId: "a\u0000b" }), TypeError, "CONNECT fields are checked by the codec at construction [MQTT-1.5.4-2]");
  t.throws(() => new Session({ protocolVersion: 5, properties: { sessionExpiryInterval: -1 } }), RangeError, "property values too");
  t.end();
});

test("a refused 3.1.1 CONNACK closes with ConnectionRefused and the return code", (t) => {
  const link = new Link({ broker: { connack: { reasonCode: 5 } } });
  link.connect();
  const error = closedError(link);
  t.ok(error instanceof MqttError);
  t.equal(error?.code, ErrorCode.ConnectionRefused);
  t.equal(error?.reasonCode, 5);
  t.equal(error?.source, "remote");
  t.equal(link.session.state, SessionState.Closed);
  t.equal(link.eventsOf("connected").length, 0);
  t.equal(link.broker.received.length, 1, "nothing sent after CONNECT (no DISCONNECT in 3.1.1)");
  t.end();
});

test("a refused v5 CONNACK closes with its reason code as the error code", (t) => {
  const link = new Link({ session: { protocolVersion: 5 }, broker: { connack: { reasonCode: 0x87, properties: { reasonString: "nope" } } } });
  link.connect();
  const error = closedError(link);
  t.equal(error?.code, 0x87);
  t.equal(error?.reasonCode, 0x87);
  t.equal(error?.source, "remote");
  t.ok(error?.message.includes("nope"), "reason string in the message");
  t.equal(link.session.state, SessionState.Closed);
  t.equal(link.broker.all(14).length, 0, "no DISCONNECT after a refused CONNACK");
  t.end();
});

test("a 3.1.1-style refusal answering a v5 CONNECT is mapped to a v5 reason code", (t) => {
  const link = new Link({ session: { protocolVersion: 5 }, broker: { autoConnack: false } });
  link.connect();
  link.receive([0x20, 0x02, 0x00, 0x01]); // 3.1.1 CONNACK, return code 1 (unacceptable protocol version)
  t.equal(closedError(link)?.code, ErrorCode.UnsupportedProtocolVersion);
  t.equal(link.session.state, SessionState.Closed);
  t.end();
});

test("every v5 CONNACK property is honoured", (t) => {
  const link = new Link({
    session: { protocolVersion: 5, clientId: "", keepalive: 60, maxInflight: 32 },
    broker: {
      connack: {
        properties: {
          receiveMaximum: 5,
          maximumQoS: 1,
          retainAvailable: 0,
          maximumPacketSize: 1000,
          topicAliasMaximum: 3,
          wildcardSubscriptionAvailable: 0,
          subscriptionIdentifiersAvailable: 0,
          sharedSubscriptionAvailable: 0,
          serverKeepAlive: 20,
          assignedClientIdentifier: "auto-7",
        },
      },
    },
  });
  const events = link.connect();
  t.equal(events[0].type, "connected");
  const s = link.session.server;
  t.equal(s.receiveMaximum, 5);
  t.equal(s.maximumQoS, 1);
  t.equal(s.retainAvailable, false);
  t.equal(s.maximumPacketSize, 1000);
  t.equal(s.topicAliasMaximum, 3);
  t.equal(s.wildcardSubscriptionAvailable, false);
  t.equal(s.subscriptionIdentifiersAvailable, false);
  t.equal(s.sharedSubscriptionAvailable, false);
  t.equal(s.serverKeepAlive, 20);
  t.equal(s.assignedClientIdentifier, "auto-7");
  t.equal(link.session.keepalive, 20, "Server Keep Alive replaces ours [MQTT-3.2.2-21]");
  t.equal(link.session.inflightWindow, 5, "window = min(maxInflight, Receive Maximum)");
  t.equal(link.session.clientId, "auto-7");
  t.end();
});

test("a 3.1.1 CONNACK leaves the protocol defaults", (t) => {
  const link = new Link({ session: { maxInflight: 40 } });
  link.connect();
  const s = link.session.server;
  t.equal(s.receiveMaximum, 65535);
  t.equal(s.maximumQoS, 2);
  t.equal(s.retainAvailable, true);
  t.equal(s.maximumPacketSize, 268435460);
  t.equal(s.topicAliasMaximum, 0);
  t.equal(s.sessionPresent, false);
  t.equal(link.session.inflightWindow, 40);
  t.end();
});

test("the assigned client identifier is sent by the next CONNECT (to resume the session)", (t) => {
  const link = new Link({
    session: { protocolVersion: 5, clientId: "", clean: false, properties: { sessionExpiryInterval: 60 } },
    broker: { connack: { properties: { assignedClientIdentifier: "srv-42" } } },
  });
  link.connect();
  link.drop();
  link.connect();
  t.equal(link.broker.connects[0].clientId, "");
  t.equal(link.broker.connects[1].clientId, "srv-42");
  t.equal(link.eventsOf("connected")[1].sessionPresent, true, "the broker resumed the session");
  t.end();
});

test("Session Present 1 in reply to a clean start is a protocol error [MQTT-3.2.2-4]", (t) => {
  const link = new Link({ session: { protocolVersion: 5, clean: true }, broker: { connack: { sessionPresent: true } } });
  link.connect();
  t.equal(closedError(link)?.code, ErrorCode.ProtocolError);
  t.equal(link.broker.last(14)?.reasonCode, 0x82, "v5 DISCONNECT carries the reason code [MQTT-4.13.1-1]");
  t.end();
});

test("no CONNACK within connectTimeout closes with ConnectTimeout", (t) => {
  const link = new Link({ session: { connectTimeout: 5000 }, broker: { autoConnack: false } });
  link.connect();
  t.equal(link.session.pollTimeout(), link.now + 5000, "the connect timer is the deadline");
  t.deepEqual(link.advance(4999), [], "nothing before the deadline");
  const events = link.advance(1);
  t.equal(events.length, 1);
  t.equal((events[0] as ClosedEvent).error?.code, ErrorCode.ConnectTimeout);
  t.equal((events[0] as ClosedEvent).error?.source, "local");
  t.equal(link.session.state, SessionState.Closed);
  t.equal(link.session.pollTimeout(), undefined, "no timer after close");
  t.end();
});

test("PINGREQ goes out after keepalive seconds without sending", (t) => {
  const link = new Link({ session: { keepalive: 10 } });
  link.connect();
  const start = link.now;
  t.equal(link.session.pollTimeout(), start + 10000);
  link.advance(9999, true);
  t.equal(link.broker.all(12).length, 0, "no PINGREQ before 10 s");
  link.advance(1, true);
  t.equal(link.broker.all(12).length, 1, "PINGREQ at 10 s");
  t.equal(link.session.state, SessionState.Connected, "PINGRESP arrived");
  t.equal(link.session.pollTimeout(), start + 20000, "keep alive re-armed from the PINGREQ");
  t.end();
});

test("sending anything postpones the PINGREQ", (t) => {
  const link = new Link({ session: { keepalive: 10 } });
  link.connect();
  const start = link.now;
  link.advance(6000);
  link.session.publish("a", "x", { qos: 0 }, link.now);
  link.run();
  t.equal(link.session.pollTimeout(), start + 16000);
  link.advance(9999, true);
  t.equal(link.broker.all(12).length, 0);
  link.advance(1, true);
  t.equal(link.broker.all(12).length, 1);
  t.end();
});

test("no PINGRESP within pingTimeout closes with PingTimeout", (t) => {
  const link = new Link({ session: { keepalive: 10, pingTimeout: 3000 }, broker: { autoPingresp: false } });
  link.connect();
  link.advance(10000, true);
  t.equal(link.broker.all(12).length, 1);
  t.equal(link.eventsOf("closed").length, 0);
  link.advance(2999, true);
  t.equal(link.eventsOf("closed").length, 0, "still waiting");
  link.advance(1, true);
  t.equal(closedError(link)?.code, ErrorCode.PingTimeout);
  t.equal(link.session.state, SessionState.Closed);
  t.deepEqual(link.receive([0xd0, 0x00]), [], "a late PINGRESP is ignored: Closed sticks");
  t.equal(link.session.state, SessionState.Closed);
  t.end();
});

test("the ping timeout is never longer than the keep alive", (t) => {
  const link = new Link({ session: { keepalive: 2, pingTimeout: 10000 }, broker: { autoPingresp: false } });
  link.connect();
  link.advance(2000, true);
  t.equal(link.session.pollTimeout(), link.now + 2000);
  t.end();
});

test("the server keep alive decides the PINGREQ time", (t) => {
  const link = new Link({ session: { protocolVersion: 5, keepalive: 60 }, broker: { connack: { properties: { serverKeepAlive: 5 } } } });
  link.connect();
  link.advance(5000, true);
  t.equal(link.broker.all(12).length, 1, "PINGREQ after 5 s, not 60 s");
  t.end();
});

test("keepalive 0 arms no keep alive timer", (t) => {
  const link = new Link({ session: { keepalive: 0 } });
  link.connect();
  t.equal(link.session.pollTimeout(), undefined);
  t.end();
});

test("v5 DISCONNECT from the server with an error reason: disconnect event, then closed with that error", (t) => {
  const link = new Link({ session: { protocolVersion: 5 } });
  link.connect();
  link.broker.send({ type: 14, reasonCode: 0x8b, properties: { reasonString: "shutting down" } });
  const events = link.toClient();
  t.deepEqual(
    events.map((e) => e.type),
    ["disconnect", "closed"],
  );
  t.equal((events[0] as { packet: DisconnectPacket }).packet.reasonCode, 0x8b);
  const error = (events[1] as ClosedEvent).error;
  t.equal(error?.code, ErrorCode.ServerShuttingDown);
  t.equal(error?.source, "remote");
  t.equal(link.session.state, SessionState.Closed);
  link.run();
  t.equal(link.broker.all(14).length, 0, "we never answer a DISCONNECT");
  t.end();
});

test("v5 DISCONNECT 0x00 from the server ends the connection without an error", (t) => {
  const link = new Link({ session: { protocolVersion: 5 } });
  link.connect();
  link.broker.send({ type: 14, reasonCode: 0 });
  const events = link.toClient();
  t.deepEqual(events.map((e) => e.type), ["disconnect", "closed"]);
  t.equal((events[1] as ClosedEvent).error, undefined);
  t.equal(link.session.state, SessionState.Disconnected);
  t.end();
});

test("a DISCONNECT from a 3.1.1 server is a protocol error", (t) => {
  const link = new Link();
  link.connect();
  link.receive([0xe0, 0x00]);
  t.equal(closedError(link)?.code, ErrorCode.ProtocolError);
  t.end();
});

test("disconnect() sends DISCONNECT with the reason code, then closed without error", (t) => {
  const link = new Link({ session: { protocolVersion: 5, properties: { sessionExpiryInterval: 10 } } });
  link.connect();
  link.session.disconnect(link.now, 0x04, { sessionExpiryInterval: 0 });
  t.equal(link.session.state, SessionState.Disconnecting);
  t.equal(link.eventsOf("closed").length, 0, "closed only once the DISCONNECT is handed out");
  link.run();
  const d = link.broker.last(14);
  t.equal(d?.reasonCode, 0x04);
  t.equal(d?.properties?.sessionExpiryInterval, 0);
  t.equal(link.session.state, SessionState.Disconnected);
  const closed = link.eventsOf("closed");
  t.equal(closed.length, 1);
  t.equal(closed[0].error, undefined);
  t.equal(link.session.pollTimeout(), undefined);
  t.end();
});

test("3.1.1 disconnect() sends the 2-byte DISCONNECT", (t) => {
  const link = new Link();
  link.connect();
  link.session.disconnect(link.now);
  t.deepEqual(link.takeBytes(), new Uint8Array([0xe0, 0x00]));
  t.equal(link.session.state, SessionState.Disconnected);
  t.end();
});

test("DISCONNECT may not set a Session Expiry Interval when CONNECT had none [MQTT-3.14.2-2]", (t) => {
  const link = new Link({ session: { protocolVersion: 5 } });
  link.connect();
  t.throws(() => link.session.disconnect(link.now, 0, { sessionExpiryInterval: 30 }), TypeError);
  t.throws(() => link.session.disconnect(link.now, 0x05), RangeError, "0x05 is not a DISCONNECT reason code");
  t.equal(link.session.state, SessionState.Connected);
  t.end();
});

test("AUTH round trip during connect (enhanced authentication)", (t) => {
  const link = new Link({
    session: { protocolVersion: 5, properties: { authenticationMethod: "SCRAM-SHA-1", authenticationData: new Uint8Array([1]) } },
    broker: { autoConnack: false },
  });
  link.connect();
  t.equal(link.broker.connects[0].properties?.authenticationMethod, "SCRAM-SHA-1");
  link.broker.send({ type: 15, reasonCode: 0x18, properties: { authenticationMethod: "SCRAM-SHA-1", authenticationData: new Uint8Array([2, 3]) } });
  const events = link.toClient();
  t.equal(events.length, 1);
  t.equal(events[0].type, "auth");
  if (events[0].type === "auth") {
    t.equal(events[0].packet.reasonCode, 0x18);
    t.deepEqual(events[0].packet.properties?.authenticationData, new Uint8Array([2, 3]));
  }
  link.session.auth(link.now, 0x18, { authenticationData: new Uint8Array([4]) });
  link.run();
  const auth = link.broker.last(15);
  t.equal(auth?.reasonCode, 0x18);
  t.equal(auth?.properties?.authenticationMethod, "SCRAM-SHA-1", "the method defaults to the CONNECT's");
  t.deepEqual(auth?.properties?.authenticationData, new Uint8Array([4]));
  link.broker.send({ type: 2, sessionPresent: false, reasonCode: 0, properties: { authenticationMethod: "SCRAM-SHA-1" } });
  link.run();
  t.equal(link.session.state, SessionState.Connected);
  t.end();
});

test("AUTH from a server when CONNECT had no authentication method is a protocol error", (t) => {
  const link = new Link({ session: { protocolVersion: 5 } });
  link.connect();
  link.broker.send({ type: 15, reasonCode: 0x19, properties: { authenticationMethod: "X" } });
  link.run();
  t.equal(closedError(link)?.code, ErrorCode.ProtocolError);
  t.end();
});

test("enhanced authentication: AUTH 0x19 from the server, or 0x00 before CONNACK, is a protocol error; auth(0x19) waits for CONNACK", (t) => {
  const options = { protocolVersion: 5 as const, properties: { authenticationMethod: "M" } };
  const reauth = new Link({ session: options, broker: { autoConnack: false } });
  reauth.connect();
  t.throws(
    () => reauth.session.auth(reauth.now, 0x19),
    (e: unknown) => e instanceof MqttError && e.code === ErrorCode.NotConnected && /4\.12\.1/.test(e.message),
    "auth(0x19) before CONNACK throws NotConnected (MQTT 5.0 §4.12.1)",
  );
  t.doesNotThrow(() => reauth.session.auth(reauth.now, 0x18), "auth(0x18) (continue) is fine while connecting");
  reauth.broker.send({ type: 2, sessionPresent: false, reasonCode: 0, properties: { authenticationMethod: "M" } });
  reauth.run();
  t.equal(reauth.session.state, SessionState.Connected);
  t.doesNotThrow(() => reauth.session.auth(reauth.now, 0x19), "auth(0x19) after CONNACK starts a re-authentication");
  reauth.run();
  t.equal(reauth.broker.last(15)?.reasonCode, 0x19, "the AUTH went out");
  reauth.broker.send({ type: 15, reasonCode: 0x00, properties: { authenticationMethod: "M" } });
  reauth.run();
  t.equal(reauth.session.state, SessionState.Connected, "AUTH Success ends the re-authentication");
  t.equal(reauth.eventsOf("auth").length, 1, "and is handed to the owner");

  for (const [code, connected] of [
    [0x19, true],
    [0x19, false],
    [0x00, false],
  ] as const) {
    const link = new Link({ session: options, broker: { autoConnack: connected } });
    link.connect();
    link.broker.send({ type: 15, reasonCode: code, properties: { authenticationMethod: "M" } });
    link.run();
    t.equal(closedError(link)?.code, ErrorCode.ProtocolError, `AUTH 0x${code.toString(16)} from the server ${connected ? "after" : "before"} CONNACK: ProtocolError`);
    t.equal(link.eventsOf("auth").length, 0, "not handed to the owner");
  }
  t.end();
});

test("auth() is v5 only and needs a connection", (t) => {
  t.throws(() => new Session().auth(0, 0x18, { authenticationMethod: "X" }), TypeError);
  const s = new Session({ protocolVersion: 5, properties: { authenticationMethod: "X" } });
  t.throws(() => s.auth(0, 0x18), (e: unknown) => e instanceof MqttError && e.code === ErrorCode.NotConnected);
  s.connect(0);
  t.throws(() => s.auth(0, 0x05), RangeError);
  t.throws(() => s.auth(0, 0x00), RangeError, "Success is the server's");
  t.end();
});

test("connectionLost: closed with ConnectionLost (transport), state Disconnected, once", (t) => {
  const link = new Link();
  link.connect();
  const events = link.drop();
  t.equal(events.length, 1);
  const error = (events[0] as ClosedEvent).error;
  t.equal(error?.code, ErrorCode.ConnectionLost);
  t.equal(error?.source, "transport");
  t.equal(link.session.state, SessionState.Disconnected);
  t.deepEqual(link.drop(), [], "no second event");
  t.end();
});

test("connectionLost during our disconnect reports no error", (t) => {
  const link = new Link();
  link.connect();
  link.session.disconnect(link.now);
  const events = link.drop();
  t.equal(events.length, 1);
  t.equal((events[0] as ClosedEvent).error, undefined);
  t.end();
});

test("bytes split anywhere: CONNACK and PUBLISH fed one byte at a time", (t) => {
  const link = new Link({ broker: { autoConnack: false } });
  link.connect();
  const bytes = [0x20, 0x02, 0x00, 0x00, 0x30, 0x06, 0x00, 0x01, 0x74, 0x68, 0x69, 0x21];
  const seen: string[] = [];
  for (const b of bytes) for (const e of link.receive([b])) seen.push(e.type === "message" ? `message ${e.packet.topic} ${text(e.packet.payload)}` : e.type);
  t.deepEqual(seen, ["connected", "message t hi!"]);
  t.end();
});

test("packetEvents: packetsend and packetreceive for every packet", (t) => {
  const link = new Link({ session: { packetEvents: true } });
  link.connect();
  link.session.publish("a/b", "x", { qos: 1 }, link.now);
  link.run();
  const trace = link.events.filter((e) => e.type === "packetsend" || e.type === "packetreceive").map((e) => `${e.type} ${(e as { packet: { type: number } }).packet.type}`);
  t.deepEqual(trace, ["packetsend 1", "packetreceive 2", "packetsend 3", "packetreceive 4"]);
  t.end();
});

test("without packetEvents no trace events", (t) => {
  const link = new Link();
  link.connect();
  t.deepEqual(link.events.map((e) => e.type), ["connected"]);
  const c: ConnectPacket = link.broker.connects[0];
  t.equal(c.keepalive, 60, "default keep alive 60 s");
  t.equal(c.clean, true, "default clean");
  t.end();
});
