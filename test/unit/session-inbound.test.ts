/**
 * Session: inbound PUBLISH — QoS 0/1/2 delivery and acknowledgement,
 * exactly-once de-duplication, our Receive Maximum, inbound topic aliases,
 * held QoS 2 ids across reconnects.
 */
import test from "tape";
import { ErrorCode } from "../../modules/mqtt/errors";
import { Session, SessionState } from "../../modules/mqtt/session";
import { ack, ascii, Link, text } from "../support/scripted-broker";
import { encode } from "../../modules/mqtt/codec/encoder";

function closedCode(link: Link): number | undefined {
  const closed = link.eventsOf("closed");
  return closed.length === 0 ? undefined : closed[closed.length - 1].error?.code;
}

test("QoS 0 message: delivered, nothing sent back", (t) => {
  const link = new Link();
  link.connect();
  link.broker.publish("a/b", "zero", 0, { retain: true });
  link.toClient();
  const m = link.eventsOf("message")[0];
  t.equal(m.packet.topic, "a/b");
  t.equal(text(m.packet.payload), "zero");
  t.equal(m.packet.retain, true);
  t.deepEqual(link.flush(), []);
  t.end();
});

test("QoS 1 message: delivered, PUBACK with its id", (t) => {
  const link = new Link({ session: { protocolVersion: 5 } });
  link.connect();
  const id = link.broker.publish("a", "one", 1);
  link.toClient();
  t.deepEqual(link.messages(), ["one"]);
  const sent = link.flush();
  t.deepEqual(sent, [{ type: 4, packetId: id, reasonCode: 0 }]);
  t.end();
});

test("the PUBACK is 4 bytes (shortest form) in both versions", (t) => {
  for (const protocolVersion of [4, 5] as const) {
    const link = new Link({ session: { protocolVersion } });
    link.connect();
    link.broker.publish("a", "one", 1, { packetId: 0x1234 });
    link.toClient();
    t.deepEqual(link.takeBytes(), new Uint8Array([0x40, 0x02, 0x12, 0x34]), `v${protocolVersion}`);
  }
  t.end();
});

test("QoS 2 message: delivered on PUBLISH, PUBREC; PUBCOMP on PUBREL; a re-send of a held id is not delivered again", (t) => {
  const link = new Link({ broker: { autoRelease: false } });
  link.connect();
  const id = link.broker.publish("a", "two", 2);
  link.toClient();
  t.deepEqual(link.messages(), ["two"], "delivered on the first PUBLISH");
  t.deepEqual(link.flush(), [{ type: 5, packetId: id, reasonCode: 0 }]);
  t.deepEqual(link.session.inboundQos2Ids(), [id], "id held until PUBREL");
  link.broker.send({ type: 3, topic: "a", payload: new Uint8Array([0x74]), qos: 2, retain: false, dup: true, packetId: id });
  link.toClient();
  t.deepEqual(link.messages(), ["two"], "not delivered again");
  t.deepEqual(link.flush(), [{ type: 5, packetId: id, reasonCode: 0 }], "PUBREC again");
  link.broker.send(ack(6, id));
  link.toClient();
  t.deepEqual(link.flush(), [{ type: 7, packetId: id, reasonCode: 0 }]);
  t.deepEqual(link.session.inboundQos2Ids(), [], "id freed");
  link.broker.send({ type: 3, topic: "a", payload: new Uint8Array([0x33]), qos: 2, retain: false, dup: false, packetId: id });
  link.toClient();
  t.deepEqual(link.messages(), ["two", "3"], "the freed id may carry a new message");
  t.end();
});

test("PUBREL for an unknown id is answered with PUBCOMP (v5: 0x92), not an error", (t) => {
  const v5 = new Link({ session: { protocolVersion: 5 } });
  v5.connect();
  v5.broker.send(ack(6, 77));
  v5.toClient();
  t.deepEqual(v5.flush(), [{ type: 7, packetId: 77, reasonCode: ErrorCode.PacketIdentifierNotFound }]);
  t.equal(v5.session.state, SessionState.Connected);
  const v4 = new Link();
  v4.connect();
  v4.broker.send(ack(6, 77));
  v4.toClient();
  t.deepEqual(v4.flush(), [{ type: 7, packetId: 77, reasonCode: 0 }]);
  t.equal(v4.session.state, SessionState.Connected);
  t.end();
});

test("a server exceeding our Receive Maximum, enforceReceiveMaximum: protocol error 0x93 [MQTT-3.3.4-9]", (t) => {
  const link = new Link({ session: { protocolVersion: 5, receiveMaximum: 2, enforceReceiveMaximum: true }, broker: { autoRelease: false } });
  link.connect();
  link.broker.publish("a", "1", 1);
  link.broker.publish("a", "2", 2);
  link.toClient();
  link.toClient();
  t.equal(link.session.state, SessionState.Connected, "two unacknowledged are fine");
  link.broker.publish("a", "3", 1);
  link.toClient();
  t.equal(closedCode(link), ErrorCode.ReceiveMaximumExceeded);
  t.deepEqual(link.messages(), ["1", "2"], "the third is not delivered");
  const sent = link.flush();
  t.deepEqual(sent[sent.length - 1], { type: 14, reasonCode: 0x93 }, "DISCONNECT 0x93 [MQTT-4.13.1-1]");
  t.equal(link.session.state, SessionState.Closed);
  t.end();
});

test("a server exceeding our Receive Maximum, default: every message delivered and acknowledged, counted", (t) => {
  const link = new Link({ session: { protocolVersion: 5, receiveMaximum: 2 }, broker: { autoRelease: false } });
  link.connect();
  // Six at once, none acknowledged yet: the server is over its quota from the third on.
  for (let i = 1; i <= 6; i++) link.broker.publish("a", String(i), i % 2 === 0 ? 2 : 1);
  for (let i = 1; i <= 6; i++) link.toClient(); // one packet each, no acknowledgement written in between
  t.equal(link.session.state, SessionState.Connected, "still connected");
  t.deepEqual(link.messages(), ["1", "2", "3", "4", "5", "6"], "all delivered, in order");
  t.equal(link.session.receiveMaximumExceeded, 4, "four over the quota, counted");
  const sent = link.flush();
  t.deepEqual(
    sent.map((p) => p.type),
    [4, 5, 4, 5, 4, 5],
    "each acknowledged: PUBACK for QoS 1, PUBREC for QoS 2",
  );
  // The QoS 2 ones are held until PUBREL: a re-send is not delivered again.
  link.broker.publish("a", "4-again", 2, { packetId: (sent[1] as { packetId: number }).packetId, dup: true });
  link.toClient();
  t.deepEqual(link.messages(), ["1", "2", "3", "4", "5", "6"], "a re-sent held QoS 2 message is not delivered twice");
  t.end();
});

test("acknowledgements handed to the transport give the quota back", (t) => {
  const link = new Link({ session: { protocolVersion: 5, receiveMaximum: 2 } });
  link.connect();
  for (let round = 0; round < 5; round++) {
    link.broker.publish("a", `q1-${round}`, 1);
    link.broker.publish("a", `q2-${round}`, 2);
    link.run();
  }
  t.equal(link.session.state, SessionState.Connected);
  t.equal(link.messages().length, 10);
  t.equal(link.broker.outbound.size, 0, "every exchange completed");
  t.end();
});

test("QoS 0 messages do not count against the Receive Maximum", (t) => {
  const link = new Link({ session: { protocolVersion: 5, receiveMaximum: 1 } });
  link.connect();
  for (let i = 0; i < 5; i++) link.broker.publish("a", `${i}`, 0);
  link.broker.publish("a", "q1", 1);
  link.run();
  t.equal(link.session.state, SessionState.Connected);
  t.equal(link.messages().length, 6);
  t.end();
});

test("3.1.1 has no Receive Maximum: more QoS 2 messages than the table size grow it", (t) => {
  const link = new Link({ session: { receiveMaximum: 2 }, broker: { autoRelease: false } });
  link.connect();
  for (let i = 0; i < 5; i++) link.broker.publish("a", `${i}`, 2);
  for (let i = 0; i < 5; i++) link.toClient();
  t.equal(link.session.state, SessionState.Connected);
  t.equal(link.session.inboundQos2Ids().length, 5);
  t.end();
});

test("v5: ids held from the previous connection do not count against the new connection's Receive Maximum", (t) => {
  const link = new Link({
    session: { protocolVersion: 5, receiveMaximum: 2, clean: false, clientId: "c", enforceReceiveMaximum: true },
    broker: { autoRelease: false },
  });
  link.connect();
  link.broker.publish("a", "old1", 2);
  link.broker.publish("a", "old2", 2);
  link.toClient();
  link.toClient(); // both delivered; their PUBRECs die with the connection
  link.drop();
  link.connect(); // the broker re-sends both (not delivered again), gets PUBREC, holds off PUBREL
  link.broker.publish("a", "new1", 2);
  link.broker.publish("a", "new2", 2);
  link.run();
  t.equal(link.session.state, SessionState.Connected, "2 new + 2 carried over is within the quota");
  t.deepEqual(link.messages(), ["old1", "old2", "new1", "new2"]);
  t.equal(link.session.inboundQos2Ids().length, 4, "the table grew past its initial size");
  link.broker.publish("a", "new3", 1);
  link.run();
  t.equal(closedCode(link), ErrorCode.ReceiveMaximumExceeded, "a third new one exceeds it");
  t.end();
});

test("inbound topic aliases resolve to the topic [MQTT-3.3.2-10..12]", (t) => {
  const link = new Link({ session: { protocolVersion: 5, topicAliasMaximum: 2 } });
  link.connect();
  link.broker.publish("sensors/t", "1", 0, { properties: { topicAlias: 2 } });
  link.broker.publish("", "2", 0, { properties: { topicAlias: 2 } });
  link.broker.publish("sensors/h", "3", 1, { properties: { topicAlias: 2 } });
  link.broker.publish("", "4", 0, { properties: { topicAlias: 2 } });
  link.run();
  t.deepEqual(
    link.eventsOf("message").map((e) => [e.packet.topic, text(e.packet.payload)]),
    [
      ["sensors/t", "1"],
      ["sensors/t", "2"],
      ["sensors/h", "3"],
      ["sensors/h", "4"],
    ],
  );
  t.end();
});

test("an alias above our Topic Alias Maximum closes with 0x94", (t) => {
  const link = new Link({ session: { protocolVersion: 5, topicAliasMaximum: 2 } });
  link.connect();
  link.broker.publish("x", "1", 0, { properties: { topicAlias: 3 } });
  link.toClient();
  t.equal(closedCode(link), ErrorCode.TopicAliasInvalid);
  t.deepEqual(link.flush().pop(), { type: 14, reasonCode: 0x94 });
  t.end();
});

test("an empty topic with an unmapped alias closes with a protocol error", (t) => {
  const link = new Link({ session: { protocolVersion: 5 } });
  link.connect();
  link.broker.publish("", "1", 0, { properties: { topicAlias: 1 } });
  link.toClient();
  t.equal(closedCode(link), ErrorCode.ProtocolError);
  t.end();
});

test("inbound aliases do not survive a reconnect [MQTT-3.3.2-7]", (t) => {
  const link = new Link({ session: { protocolVersion: 5 } });
  link.connect();
  link.broker.publish("x", "1", 0, { properties: { topicAlias: 1 } });
  link.run();
  link.drop();
  link.connect();
  link.broker.publish("", "2", 0, { properties: { topicAlias: 1 } });
  link.run();
  t.equal(closedCode(link), ErrorCode.ProtocolError);
  t.end();
});

test("held QoS 2 ids survive a reconnect with session present and are cleared without one", (t) => {
  const link = new Link({ session: { clean: false, clientId: "c" }, broker: { autoRelease: false } });
  link.connect();
  const id = link.broker.publish("a", "x", 2);
  link.toClient(); // delivered; the PUBREC is lost with the connection
  t.deepEqual(link.session.inboundQos2Ids(), [id]);
  link.drop();
  link.connect();
  t.deepEqual(link.session.inboundQos2Ids(), [id], "kept: the session was resumed");
  t.deepEqual(link.messages(), ["x"], "the broker's DUP re-send was not delivered again");
  link.drop();
  link.broker.loseSession();
  link.connect();
  t.deepEqual(link.session.inboundQos2Ids(), [], "cleared: session not present [MQTT-3.2.2-5]");
  t.end();
});

test("restoreInboundQos2Ids: a restored id suppresses the re-delivery", (t) => {
  const first = new Session({ clean: false, clientId: "c" });
  t.throws(() => first.restoreInboundQos2Ids([0]), RangeError);
  first.restoreInboundQos2Ids([9, 10]);
  t.deepEqual(first.inboundQos2Ids().sort(), [10, 9].sort());
  const link = new Link({ session: { clean: false, clientId: "c" } });
  link.session.restoreInboundQos2Ids(first.inboundQos2Ids());
  link.broker.hasSession = true;
  link.broker.outbound.set(9, { packet: { type: 3, topic: "a", payload: new Uint8Array([0x39]), qos: 2, retain: false, dup: false, packetId: 9 }, stage: "publish" } as never);
  link.connect();
  t.deepEqual(link.messages(), [], "id 9 was delivered before the reboot");
  t.deepEqual(link.session.inboundQos2Ids(), [10], "9 completed, 10 still held");
  link.connect(false);
  t.throws(() => link.session.restoreInboundQos2Ids([1]), TypeError, "not while connected");
  t.end();
});

/** Bytes of a QoS 0 PUBLISH from the server. */
function publishBytes(topic: string, payload: string, version: 4 | 5 = 4): number[] {
  return [...encode({ type: 3, topic, payload: ascii(payload), qos: 0, retain: false, dup: false }, version)];
}

/** Bytes of a 4-byte acknowledgement (type 4/5/7, packet id only). */
function ackBytes(type: 4 | 5 | 7, id: number): number[] {
  return [type << 4, 2, id >> 8, id & 0xff];
}

test("acknowledgements in one chunk (the fast path), then a PUBLISH in the same chunk: all handled in order", (t) => {
  for (const version of [4, 5] as const) {
    const link = new Link({ session: { protocolVersion: version }, broker: { autoAck: false } });
    link.connect();
    const q1 = [1, 2, 3].map((i) => link.session.publish("t", `a${i}`, { qos: 1 }, link.now));
    const q2 = link.session.publish("t", "b", { qos: 2 }, link.now);
    link.flush();
    const inbound = publishBytes("in/x", "hello", version);
    const chunk = [...ackBytes(4, q1[0]), ...ackBytes(4, q1[1]), ...ackBytes(5, q2), ...ackBytes(4, q1[2]), ...inbound];
    const events = link.receive(chunk);
    t.deepEqual(
      events.filter((e) => e.type === "published").map((e) => (e as { packetId: number }).packetId),
      [q1[0], q1[1], q1[2]],
      `v${version}: three PUBACKs completed their messages in order`,
    );
    t.deepEqual(link.messages(), ["hello"], `v${version}: the PUBLISH behind them delivered`);
    t.deepEqual(link.flush(), [{ type: 6, packetId: q2, reasonCode: 0 }], `v${version}: PUBREL for the PUBREC`);
    link.receive(ackBytes(7, q2));
    t.equal(link.session.inflightCount, 0, `v${version}: nothing in flight after PUBCOMP`);
    t.equal(link.session.state, SessionState.Connected, `v${version}: still connected`);
  }
  t.end();
});

test("acknowledgement fast path: what the decoder refuses is still refused", (t) => {
  const cases: Array<[string, number[], number]> = [
    ["PUBACK with reserved flags set", [0x42, 2, 0, 1], ErrorCode.MalformedPacket],
    ["PUBACK with packet id 0", [0x40, 2, 0, 0], ErrorCode.ProtocolError],
    ["PUBACK for an id not in flight", [0x40, 2, 0x12, 0x34], ErrorCode.ProtocolError],
    ["PUBCOMP for a message not released", [0x70, 2, 0, 1], ErrorCode.ProtocolError],
  ];
  for (const [name, bytes, code] of cases) {
    const link = new Link({ broker: { autoAck: false } });
    link.connect();
    link.session.publish("t", "x", { qos: 1 }, link.now); // id 1 in flight, waiting for PUBACK
    link.flush();
    const inbound = publishBytes("in/x", "never");
    link.receive([...bytes, ...inbound]);
    t.equal(closedCode(link), code, `${name}: closed with ${code}`);
    t.deepEqual(link.messages(), [], `${name}: nothing after it is handled`);
  }
  t.end();
});

test("acknowledgement fast path: not taken while the decoder holds part of a packet", (t) => {
  const link = new Link({ broker: { autoAck: false } });
  link.connect();
  const id = link.session.publish("t", "x", { qos: 1 }, link.now);
  link.flush();
  const inbound = publishBytes("in/abc", "payload");
  // The PUBLISH arrives in two chunks; the second starts with bytes that look like an ack header.
  const cut = 3;
  link.receive(inbound.slice(0, cut));
  link.receive([...inbound.slice(cut), ...ackBytes(4, id)]);
  t.deepEqual(link.messages(), ["payload"], "the split PUBLISH is whole");
  t.equal(link.eventsOf("published").length, 1, "the PUBACK behind it completed the message");
  t.equal(link.session.state, SessionState.Connected);
  t.end();
});
