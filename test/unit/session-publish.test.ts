/**
 * Session: outbound PUBLISH — QoS 0/1/2 flows, flow control (Receive
 * Maximum, maxInflight), CONNACK limits (Maximum QoS, Retain Available,
 * Maximum Packet Size), topic aliases, offline queueing, resend after
 * reconnect, splitting across pollTransmit calls.
 */
import test from "tape";
import type { PublishPacket } from "../../modules/mqtt/codec/packets";
import { ErrorCode, MqttError } from "../../modules/mqtt/errors";
import { Outbox } from "../../modules/mqtt/outbox";
import { Session, SessionState } from "../../modules/mqtt/session";
import { ack, Link, text } from "../support/scripted-broker";

function isMqttError(code: number): (e: unknown) => boolean {
  return (e: unknown) => e instanceof MqttError && e.code === code;
}

function publishes(link: Link): PublishPacket[] {
  return link.broker.all(3);
}

test("QoS 0 publish: returns 0 and the broker gets it", (t) => {
  const link = new Link();
  link.connect();
  t.equal(link.session.publish("a/b", "hello", { qos: 0 }, link.now), 0);
  link.run();
  t.deepEqual(
    link.broker.delivered.map((d) => [d.topic, d.payload, d.qos]),
    [["a/b", "hello", 0]],
  );
  t.equal(link.session.outbox.counters.queued, 0, "a sent QoS 0 record is freed");
  t.end();
});

test("QoS 1 publish: packet id, PUBACK -> published event", (t) => {
  const link = new Link({ session: { protocolVersion: 5 } });
  link.connect();
  const id = link.session.publish("a/b", new Uint8Array([1, 2, 3]), { qos: 1, retain: true }, link.now);
  t.ok(id >= 1 && id <= 65535, "non-zero packet id");
  link.run();
  const p = publishes(link)[0];
  t.equal(p.packetId, id);
  t.equal(p.qos, 1);
  t.equal(p.retain, true);
  t.equal(p.dup, false);
  t.deepEqual(link.eventsOf("published"), [{ type: "published", packetId: id, qos: 1, reasonCode: 0 }]);
  t.equal(link.session.inflightCount, 0);
  t.end();
});

test("QoS 2 publish: PUBREL at once on PUBREC, published on PUBCOMP", (t) => {
  const link = new Link({ broker: { autoAck: false } });
  link.connect();
  const id = link.session.publish("q2", "x", { qos: 2 }, link.now);
  link.toBroker();
  link.broker.send(ack(5, id));
  link.toClient();
  const sent = link.flush();
  t.deepEqual(
    sent.map((p) => p.type),
    [6],
    "PUBREL right after PUBREC",
  );
  t.equal(link.eventsOf("published").length, 0, "not done before PUBCOMP");
  link.broker.send(ack(7, id));
  link.toClient();
  t.deepEqual(link.eventsOf("published"), [{ type: "published", packetId: id, qos: 2, reasonCode: 0 }]);
  t.equal(link.session.outbox.counters.inflight, 0);
  t.end();
});

test("never more in flight than the server's Receive Maximum [MQTT-4.9.0-2]", (t) => {
  const link = new Link({ session: { protocolVersion: 5 }, broker: { autoAck: false, connack: { properties: { receiveMaximum: 2 } } } });
  link.connect();
  const ids = [1, 2, 3, 4, 5].map((i) => link.session.publish("t", `m${i}`, { qos: i % 2 === 0 ? 2 : 1 }, link.now));
  link.run();
  t.equal(publishes(link).length, 2, "two in flight");
  t.equal(link.session.inflightCount, 2);
  link.broker.send(ack(4, ids[0]));
  link.run();
  t.equal(publishes(link).length, 3, "a PUBACK opens one slot");
  link.broker.send(ack(5, ids[1]));
  link.run();
  t.equal(publishes(link).length, 3, "PUBREC does not open a slot (QoS 2 completes with PUBCOMP)");
  link.broker.send(ack(7, ids[1]));
  link.run();
  t.equal(publishes(link).length, 4, "PUBCOMP opens one");
  t.deepEqual(
    publishes(link).map((p) => text(p.payload)),
    ["m1", "m2", "m3", "m4"],
    "in order",
  );
  t.end();
});

test("maxInflight limits the window when the server allows more", (t) => {
  const link = new Link({ session: { maxInflight: 3 }, broker: { autoAck: false } });
  link.connect();
  for (let i = 0; i < 6; i++) link.session.publish("t", `m${i}`, { qos: 1 }, link.now);
  link.run();
  t.equal(publishes(link).length, 3);
  t.equal(link.session.inflightWindow, 3);
  t.end();
});

test("maxInflightQos2 caps QoS 2 messages the server holds (PUBLISH to our PUBREL); QoS 1 keeps the wider window; order kept", (t) => {
  const link = new Link({ session: { maxInflight: 8, maxInflightQos2: 2 }, broker: { autoAck: false } });
  link.connect();
  t.equal(new Session({ clientId: "x" }).inflightWindow, 32, "core defaults: window 32 ...");
  const q2 = [0, 1, 2, 3].map((i) => link.session.publish("t", `a${i}`, { qos: 2 }, link.now));
  const q1 = [0, 1].map((i) => link.session.publish("t", `b${i}`, { qos: 1 }, link.now));
  link.run();
  t.deepEqual(publishes(link).map((p) => text(p.payload)), ["a0", "a1"], "two QoS 2 in flight; the third and what follows wait (order)");
  link.broker.send(ack(5, q2[0]));
  link.toClient();
  const afterPubrec = link.flush();
  t.deepEqual(
    afterPubrec.map((p) => (p.type === 3 ? `PUBLISH ${text((p as PublishPacket).payload)}` : `type ${p.type}`)),
    ["type 6", "PUBLISH a2"],
    "PUBREC frees one place: our PUBREL first, so the broker has released a0 before a2 arrives",
  );
  t.equal(link.session.inflightCount, 3, "a0 stays in the window until its PUBCOMP");
  link.run();
  link.broker.send(ack(7, q2[0]));
  link.run();
  t.deepEqual(publishes(link).map((p) => text(p.payload)), ["a0", "a1", "a2"], "PUBCOMP frees no QoS 2 place (a1 and a2 await PUBREC)");
  link.broker.send(ack(5, q2[1]));
  link.broker.send(ack(7, q2[1]));
  link.run();
  t.deepEqual(
    publishes(link).map((p) => text(p.payload)),
    ["a0", "a1", "a2", "a3", "b0", "b1"],
    "then the last QoS 2 and the QoS 1 messages behind it, within the wider window",
  );
  t.equal(link.session.inflightCount, 4, "a2, a3, b0, b1 in flight");
  link.broker.send(ack(4, q1[0]));
  link.broker.send(ack(4, q1[1]));
  link.run();
  const more = [4, 5, 6].map((i) => link.session.publish("t", `a${i}`, { qos: 2 }, link.now));
  link.run();
  t.equal(publishes(link).length, 6, "still two QoS 2 in flight (a2, a3): no new one leaves");
  for (const id of [q2[2], q2[3]]) {
    link.broker.send(ack(5, id));
    link.broker.send(ack(7, id));
  }
  link.run();
  t.deepEqual(publishes(link).slice(6).map((p) => text(p.payload)), ["a4", "a5"], "two more once both completed");
  t.ok(more.every((id) => id > 0), "ids assigned");
  t.end();
});

test("maxInflightQos2: a PUBREL sent again after a reconnect goes first and frees the place (no wait for its PUBCOMP)", (t) => {
  const link = new Link({ session: { maxInflightQos2: 1, clean: false, clientId: "q2-cap" }, broker: { autoAck: false } });
  link.connect();
  const first = link.session.publish("t", "x0", { qos: 2 }, link.now);
  link.session.publish("t", "x1", { qos: 2 }, link.now);
  link.run();
  link.broker.send(ack(5, first));
  link.toClient(); // the PUBREC: x0's PUBREL is queued, x1 may follow it
  link.drop(); // ... but the connection drops before either leaves
  t.equal(publishes(link).filter((p) => text(p.payload) === "x1").length, 0, "x1 not sent yet");
  link.connect(); // the broker kept the session: PUBREL for x0 again
  const order = link.broker.received.slice(-2).map((p) => (p.type === 3 ? `PUBLISH ${text((p as PublishPacket).payload)}` : `type ${p.type}`));
  t.deepEqual(order, ["type 6", "PUBLISH x1"], "after the reconnect: x0's PUBREL, then x1 (the broker releases x0 first)");
  t.equal(link.session.inflightCount, 2, "the window counts both until their PUBCOMP / PUBREC");
  link.broker.send(ack(7, first));
  link.run();
  t.equal(link.session.inflightCount, 1, "x0 completed; x1 awaits its PUBREC");
  t.end();
});

test("maxInflightQos2 is checked like maxInflight", (t) => {
  for (const bad of [0, -1, 1.5, 65536, "4"]) {
    t.throws(() => new Session({ clientId: "x", maxInflightQos2: bad as never }), RangeError, `maxInflightQos2 ${String(bad)} refused`);
  }
  t.end();
});

test("v5 PUBREC with a failure reason ends the message: published with that reason, no PUBREL", (t) => {
  const link = new Link({ session: { protocolVersion: 5 }, broker: { autoAck: false, connack: { properties: { receiveMaximum: 1 } } } });
  link.connect();
  const id = link.session.publish("t", "a", { qos: 2 }, link.now);
  link.session.publish("t", "b", { qos: 1 }, link.now);
  link.toBroker();
  link.broker.send(ack(5, id, 0x87, { reasonString: "no" }));
  link.toClient();
  const done = link.eventsOf("published");
  t.equal(done.length, 1);
  t.equal(done[0].packetId, id);
  t.equal(done[0].qos, 2);
  t.equal(done[0].reasonCode, 0x87);
  t.equal(done[0].properties?.reasonString, "no");
  const next = link.flush();
  t.deepEqual(
    next.map((p) => p.type),
    [3],
    "the slot is free for the next PUBLISH; no PUBREL",
  );
  t.equal(link.session.outbox.has(id), false);
  t.end();
});

test("Maximum QoS from CONNACK: publish() refuses a higher QoS [MQTT-3.2.2-11]", (t) => {
  const link = new Link({ session: { protocolVersion: 5 }, broker: { connack: { properties: { maximumQoS: 1 } } } });
  link.connect();
  t.throws(() => link.session.publish("t", "x", { qos: 2 }, link.now), isMqttError(ErrorCode.QoSNotSupported));
  t.equal(link.session.outbox.counters.queued + link.session.outbox.counters.inflight, 0, "nothing queued");
  t.doesNotThrow(() => link.session.publish("t", "x", { qos: 1 }, link.now));
  t.end();
});

test("Retain Available 0: publish() refuses retained messages [MQTT-3.2.2-14]", (t) => {
  const link = new Link({ session: { protocolVersion: 5 }, broker: { connack: { properties: { retainAvailable: 0 } } } });
  link.connect();
  t.throws(() => link.session.publish("t", "x", { retain: true }, link.now), isMqttError(ErrorCode.RetainNotSupported));
  t.doesNotThrow(() => link.session.publish("t", "x", { retain: false }, link.now));
  t.end();
});

test("Maximum Packet Size from CONNACK: publish() refuses a larger PUBLISH, nothing queued [MQTT-3.2.2-15]", (t) => {
  const link = new Link({ session: { protocolVersion: 5 }, broker: { connack: { properties: { maximumPacketSize: 100 } } } });
  link.connect();
  const big = new Uint8Array(200);
  t.throws(() => link.session.publish("t", big, { qos: 1 }, link.now), isMqttError(ErrorCode.PacketTooLarge));
  t.equal(link.session.outbox.counters.bytesUsed, 0, "nothing stored");
  // 2 header + 2+1 topic + 2 id + 1 property length = 8 bytes around the payload
  t.doesNotThrow(() => link.session.publish("t", new Uint8Array(92), { qos: 1 }, link.now), "exactly 100 bytes fits");
  t.throws(() => link.session.publish("t", new Uint8Array(93), { qos: 1 }, link.now), isMqttError(ErrorCode.PacketTooLarge), "101 bytes does not");
  link.run();
  t.equal(publishes(link).length, 1);
  t.end();
});

test("records queued offline that the new server forbids are refused when their turn comes", (t) => {
  const link = new Link({
    session: { protocolVersion: 5 },
    broker: { connack: { properties: { maximumQoS: 1, retainAvailable: 0, maximumPacketSize: 60 } } },
  });
  const q2 = link.session.publish("t", "a", { qos: 2 }, link.now);
  link.session.publish("t", "b", { qos: 0, retain: true }, link.now);
  const big = link.session.publish("t", new Uint8Array(100), { qos: 1 }, link.now);
  const ok = link.session.publish("t", "ok", { qos: 1 }, link.now);
  link.connect();
  t.deepEqual(
    link.eventsOf("published").map((e) => [e.packetId, e.reasonCode]),
    [
      [q2, ErrorCode.QoSNotSupported],
      [big, ErrorCode.PacketTooLarge],
      [ok, 0],
    ],
  );
  t.deepEqual(
    link.broker.delivered.map((d) => d.payload),
    ["ok"],
  );
  t.equal(link.session.refusedCount, 3);
  t.end();
});

test("offline publishes are queued and sent after CONNACK, in order", (t) => {
  const link = new Link();
  t.equal(link.session.publish("t", "zero", { qos: 0 }, link.now), 0, "QoS 0 stored");
  const id1 = link.session.publish("t", "one", { qos: 1 }, link.now);
  const id2 = link.session.publish("t", "two", { qos: 2 }, link.now);
  t.notEqual(id1, id2);
  link.session.connect(link.now);
  const beforeConnack = link.flush();
  t.deepEqual(
    beforeConnack.map((p) => p.type),
    [1],
    "only CONNECT before CONNACK",
  );
  link.run();
  t.deepEqual(
    link.broker.delivered.map((d) => d.payload),
    ["zero", "one", "two"],
  );
  t.equal(link.eventsOf("published").length, 2);
  t.end();
});

test("QoS 0 offline with the discard policy returns -1", (t) => {
  const link = new Link({ session: { outbox: { qos0Offline: "discard" } } });
  t.equal(link.session.publish("t", "x", { qos: 0 }, link.now), -1);
  link.connect();
  t.equal(link.session.publish("t", "y", { qos: 0 }, link.now), 0, "online QoS 0 is kept");
  link.run();
  t.deepEqual(
    link.broker.delivered.map((d) => d.payload),
    ["y"],
  );
  t.end();
});

test("outbound topic aliases: topic + alias first, then empty topic + alias; LRU when full", (t) => {
  const link = new Link({ session: { protocolVersion: 5 }, broker: { connack: { properties: { topicAliasMaximum: 2 } } } });
  link.connect();
  for (const topic of ["s/a", "s/a", "s/b", "s/a", "s/c", "s/b"]) link.session.publish(topic, topic, { qos: 1 }, link.now);
  link.run();
  t.deepEqual(
    publishes(link).map((p) => [p.topic, p.properties?.topicAlias]),
    [
      ["s/a", 1],
      ["", 1],
      ["s/b", 2],
      ["", 1],
      ["s/c", 2],
      ["s/b", 1],
    ],
  );
  t.deepEqual(
    link.broker.delivered.map((d) => [d.topic, d.payload]),
    [
      ["s/a", "s/a"],
      ["s/a", "s/a"],
      ["s/b", "s/b"],
      ["s/a", "s/a"],
      ["s/c", "s/c"],
      ["s/b", "s/b"],
    ],
    "the broker resolves every topic",
  );
  t.end();
});

test("no outbound aliases without a server Topic Alias Maximum, or when turned off", (t) => {
  const a = new Link({ session: { protocolVersion: 5 } });
  a.connect();
  a.session.publish("x", "1", {}, a.now);
  a.session.publish("x", "2", {}, a.now);
  a.run();
  t.deepEqual(
    publishes(a).map((p) => [p.topic, p.properties?.topicAlias]),
    [
      ["x", undefined],
      ["x", undefined],
    ],
  );
  const b = new Link({ session: { protocolVersion: 5, outboundTopicAliases: false }, broker: { connack: { properties: { topicAliasMaximum: 5 } } } });
  b.connect();
  b.session.publish("x", "1", {}, b.now);
  b.session.publish("x", "2", {}, b.now);
  b.run();
  t.deepEqual(
    publishes(b).map((p) => p.topic),
    ["x", "x"],
  );
  t.end();
});

test("aliases never survive a connection: a resent record carries its full topic", (t) => {
  const link = new Link({
    session: { protocolVersion: 5, clean: false, clientId: "c" },
    broker: { autoAck: false, connack: { properties: { topicAliasMaximum: 4 } } },
  });
  link.connect();
  link.session.publish("long/topic", "1", { qos: 1 }, link.now);
  link.session.publish("long/topic", "2", { qos: 1 }, link.now);
  link.run();
  t.deepEqual(
    publishes(link).map((p) => p.topic),
    ["long/topic", ""],
  );
  link.drop();
  link.broker.options.autoAck = true;
  link.connect();
  const resent = publishes(link).slice(2);
  t.deepEqual(
    resent.map((p) => [p.topic, p.dup, p.properties?.topicAlias]),
    [
      ["long/topic", true, 1],
      ["", true, 1],
    ],
  );
  t.deepEqual(
    link.broker.delivered.map((d) => d.topic),
    ["long/topic", "long/topic", "long/topic", "long/topic"],
  );
  t.end();
});

test("the alias is left out when it would push the PUBLISH over the server's Maximum Packet Size", (t) => {
  const link = new Link({ session: { protocolVersion: 5 }, broker: { connack: { properties: { topicAliasMaximum: 4, maximumPacketSize: 30 } } } });
  link.connect();
  // 2 header + 2+3 topic + 2 id + 1 props = 10, payload 20 -> 30 bytes; the alias would add 3.
  link.session.publish("a/b", new Uint8Array(20), { qos: 1 }, link.now);
  link.session.publish("a/b", new Uint8Array(10), { qos: 1 }, link.now);
  link.run();
  t.deepEqual(
    publishes(link).map((p) => [p.topic, p.properties?.topicAlias]),
    [
      ["a/b", undefined],
      ["a/b", 1],
    ],
  );
  t.end();
});

test("resend with DUP after reconnect with session present, same ids, in order [MQTT-4.4.0-1]", (t) => {
  const link = new Link({ session: { protocolVersion: 5, clean: false, clientId: "c" }, broker: { autoAck: false } });
  link.connect();
  const ids = ["a", "b", "c"].map((p, i) => link.session.publish("t", p, { qos: (i === 1 ? 2 : 1) as 1 | 2 }, link.now));
  link.run();
  t.deepEqual(
    publishes(link).map((p) => p.dup),
    [false, false, false],
  );
  link.drop();
  link.broker.options.autoAck = true;
  const events = link.connect();
  t.equal(events[0].type, "connected");
  t.equal((events[0] as { sessionPresent: boolean }).sessionPresent, true);
  const resent = publishes(link).slice(3);
  t.deepEqual(
    resent.map((p) => [p.packetId, p.dup, text(p.payload)]),
    [
      [ids[0], true, "a"],
      [ids[1], true, "b"],
      [ids[2], true, "c"],
    ],
  );
  t.deepEqual(
    link.eventsOf("published").map((e) => e.packetId),
    [ids[0], ids[2], ids[1]],
    "the QoS 2 message completes one round trip later",
  );
  t.end();
});

test("PUBREL, not PUBLISH, is resent for a QoS 2 message whose PUBREC arrived [MQTT-4.4.0-1]", (t) => {
  const link = new Link({ session: { clean: false, clientId: "c" } });
  link.connect();
  const id = link.session.publish("t", "x", { qos: 2 }, link.now);
  link.toBroker(); // PUBLISH
  link.toClient(); // PUBREC; the PUBREL is queued but the link dies before it leaves
  link.drop();
  link.connect();
  const after = link.broker.received.slice(link.broker.received.findIndex((p) => p.type === 1 && link.broker.connects[1] === p) + 1);
  t.deepEqual(
    after.map((p) => (p.type === 6 ? `PUBREL ${p.packetId}` : `type ${p.type}`)),
    [`PUBREL ${id}`],
  );
  t.deepEqual(
    link.eventsOf("published").map((e) => [e.packetId, e.reasonCode]),
    [[id, 0]],
  );
  t.equal(link.broker.delivered.length, 1);
  t.end();
});

test("session not present: unacknowledged messages are sent again on the new session", (t) => {
  const link = new Link({ session: { clean: false, clientId: "c" }, broker: { autoAck: false } });
  link.connect();
  link.session.publish("t", "q1", { qos: 1 }, link.now);
  link.session.publish("t", "q2", { qos: 2 }, link.now);
  link.run();
  t.equal(link.broker.delivered.length, 2);
  link.drop();
  link.broker.loseSession();
  link.broker.options.autoAck = true;
  link.connect();
  t.equal(link.eventsOf("connected")[1].sessionPresent, false);
  t.deepEqual(
    link.broker.delivered.map((d) => [d.payload, d.dup]),
    [
      ["q1", false],
      ["q2", false],
      ["q1", true],
      ["q2", true],
    ],
    "both delivered again: the documented duplicate of a QoS 2 message when the broker lost the session",
  );
  t.equal(link.eventsOf("published").length, 2);
  t.equal(link.session.outbox.counters.inflight + link.session.outbox.counters.queued, 0);
  t.end();
});

test("a packet larger than the caller's buffer is split across pollTransmit calls", (t) => {
  const link = new Link({ session: { protocolVersion: 5 }, broker: { connack: { properties: { topicAliasMaximum: 2 } } }, txChunk: 7 });
  link.connect();
  const payload = new Uint8Array(300);
  for (let i = 0; i < payload.length; i++) payload[i] = i & 0xff;
  link.session.publish("split/topic", payload, { qos: 1 }, link.now);
  link.session.publish("split/topic", "tail", { qos: 0 }, link.now);
  link.session.publish("other", payload, { qos: 0 }, link.now);
  link.run();
  const p = publishes(link);
  t.equal(p.length, 3);
  t.deepEqual(p[0].payload, payload);
  t.equal(p[1].topic, "", "the alias survives the split");
  t.equal(text(p[1].payload), "tail");
  t.deepEqual(p[2].payload, payload, "a QoS 0 record split across calls (spill buffer)");
  t.equal(link.eventsOf("published").length, 1);
  t.end();
});

test("a record is started only when it fits, unless the call has written nothing yet", (t) => {
  const link = new Link();
  link.connect();
  // each: 2 header + 2+1 topic + 15 payload = 20 bytes
  link.session.publish("t", "aaaaaaaaaaaaaaa", {}, link.now);
  link.session.publish("t", "bbbbbbbbbbbbbbb", {}, link.now);
  const buffer = new Uint8Array(30);
  t.equal(link.session.pollTransmit(buffer), 20, "the second record does not fit the 10 bytes left");
  t.equal(link.session.pollTransmit(buffer), 20);
  t.equal(link.session.pollTransmit(buffer), 0);
  t.equal(link.session.pollTransmit(buffer, 25), 0, "offset honoured");
  t.end();
});

test("pollTransmit writes at the given offset", (t) => {
  const link = new Link();
  link.connect();
  link.session.publish("t", "x", {}, link.now);
  const buffer = new Uint8Array(16).fill(0xee);
  t.equal(link.session.pollTransmit(buffer, 4), 6);
  t.deepEqual(Array.from(buffer.subarray(0, 11)), [0xee, 0xee, 0xee, 0xee, 0x30, 0x04, 0x00, 0x01, 0x74, 0x78, 0xee]);
  t.end();
});

test("a connection lost in the middle of a PUBLISH: the message is resent whole", (t) => {
  const link = new Link({ session: { clean: false, clientId: "c" }, txChunk: 8 });
  link.connect();
  link.session.publish("t", "0123456789abcdef", { qos: 1 }, link.now);
  const buffer = new Uint8Array(8);
  t.equal(link.session.pollTransmit(buffer), 8, "half of the PUBLISH leaves");
  link.drop();
  link.connect();
  t.deepEqual(
    link.broker.delivered.map((d) => [d.payload, d.dup]),
    [["0123456789abcdef", true]],
  );
  t.equal(link.eventsOf("published").length, 1);
  t.end();
});

test("packet ids are never 0 and never reused while in use", (t) => {
  const link = new Link({ broker: { autoAck: false }, session: { maxInflight: 100 } });
  link.connect();
  const ids = new Set<number>();
  for (let i = 0; i < 50; i++) ids.add(link.session.publish("t", "x", { qos: 1 }, link.now));
  const subId = link.session.subscribe([{ topic: "s", qos: 0 }], undefined, link.now);
  ids.add(subId);
  ids.add(link.session.publish("t", "y", { qos: 2 }, link.now));
  t.equal(ids.size, 52, "all distinct");
  t.notOk(ids.has(0));
  t.end();
});

test("publish() argument checks", (t) => {
  const s = new Session({ protocolVersion: 5 });
  t.throws(() => s.publish("a/+", "x", {}, 0), TypeError, "wildcard in a topic name [MQTT-3.3.2-2]");
  t.throws(() => s.publish("", "x", {}, 0), TypeError, "empty topic name [MQTT-4.7.3-1]");
  t.throws(() => s.publish("a", "x", { qos: 3 as 2 }, 0), RangeError);
  t.throws(() => s.publish("a", "x", { properties: { topicAlias: 1 } }, 0), TypeError, "aliases are the session's");
  t.throws(() => s.publish("a", "x", { properties: { subscriptionIdentifier: 1 } }, 0), TypeError, "[MQTT-3.3.4-6]");
  t.throws(() => s.publish("a", 5 as unknown as string, {}, 0), TypeError);
  t.equal(s.outbox.counters.queued, 0);
  t.end();
});

test("a string payload is sent as UTF-8, U+0000 included", (t) => {
  const link = new Link();
  link.connect();
  link.session.publish("t", "é\u0000€", {}, link.now);
  link.run();
  t.deepEqual(publishes(link)[0].payload, new Uint8Array([0xc3, 0xa9, 0x00, 0xe2, 0x82, 0xac]));
  t.end();
});

test("a full outbox throws OutboxFull and keeps what it had", (t) => {
  const s = new Session({ outbox: new Outbox({ capacity: 64, maxMessages: 4 }) });
  s.publish("t", new Uint8Array(40), { qos: 1 }, 0);
  t.throws(() => s.publish("t", new Uint8Array(40), { qos: 1 }, 0), isMqttError(ErrorCode.OutboxFull));
  t.equal(s.outbox.counters.queued, 1);
  t.equal(s.state, SessionState.Disconnected);
  t.end();
});
