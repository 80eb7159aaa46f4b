/**
 * Session against a misbehaving broker: every violation closes the
 * connection with the right code (v5: DISCONNECT with that reason code
 * first [MQTT-4.13.1-1]), the Closed state sticks, and the outbox keeps
 * every message (nothing lost: they go out after the next CONNACK).
 */
import test from "tape";
import type { Packet } from "../../modules/mqtt/codec/packets";
import { ErrorCode } from "../../modules/mqtt/errors";
import { SessionState } from "../../modules/mqtt/session";
import { ack, Link } from "../support/scripted-broker";

interface Case {
  name: string;
  code: number;
  /** Makes the broker misbehave on a connected link (or one waiting for CONNACK when `beforeConnack`). */
  act: (link: Link) => void;
  beforeConnack?: boolean;
}

const CASES: readonly Case[] = [
  { name: "PUBACK for an id not in flight", code: ErrorCode.ProtocolError, act: (l) => l.broker.send(ack(4, 999)) },
  { name: "PUBREC for an id not in flight", code: ErrorCode.ProtocolError, act: (l) => l.broker.send(ack(5, 999)) },
  { name: "PUBCOMP for an id not released", code: ErrorCode.ProtocolError, act: (l) => l.broker.send(ack(7, 999)) },
  {
    name: "PUBACK for a QoS 2 message",
    code: ErrorCode.ProtocolError,
    act: (l) => l.broker.send(ack(4, l.broker.all(3).find((p) => p.qos === 2)?.packetId as number)),
  },
  {
    name: "PUBCOMP before PUBREC",
    code: ErrorCode.ProtocolError,
    act: (l) => l.broker.send(ack(7, l.broker.all(3).find((p) => p.qos === 2)?.packetId as number)),
  },
  {
    name: "a packet larger than our Maximum Packet Size",
    code: ErrorCode.PacketTooLarge,
    act: (l) => l.broker.send({ type: 3, topic: "big", payload: new Uint8Array(200), qos: 0, retain: false, dup: false }),
  },
  { name: "reserved flags on PUBACK", code: ErrorCode.MalformedPacket, act: (l) => l.broker.sendRaw([0x41, 0x02, 0x00, 0x01]) },
  { name: "PUBLISH with QoS 3", code: ErrorCode.MalformedPacket, act: (l) => l.broker.sendRaw([0x36, 0x05, 0x00, 0x01, 0x74, 0x00, 0x01]) },
  { name: "a reserved packet type 0", code: ErrorCode.MalformedPacket, act: (l) => l.broker.sendRaw([0x00, 0x00]) },
  {
    name: "PUBLISH before CONNACK",
    code: ErrorCode.ProtocolError,
    beforeConnack: true,
    act: (l) => l.broker.send({ type: 3, topic: "t", payload: new Uint8Array(1), qos: 0, retain: false, dup: false }),
  },
  { name: "PINGRESP before CONNACK", code: ErrorCode.ProtocolError, beforeConnack: true, act: (l) => l.broker.send({ type: 13 }) },
  {
    name: "DISCONNECT with a success reason before CONNACK [MQTT-3.14.0-1]",
    code: ErrorCode.ProtocolError,
    beforeConnack: true,
    act: (l) => l.broker.send({ type: 14, reasonCode: 0x00 }),
  },
  { name: "a second CONNACK", code: ErrorCode.ProtocolError, act: (l) => l.broker.send({ type: 2, sessionPresent: false, reasonCode: 0 }) },
  {
    name: "SUBACK with the wrong number of reason codes",
    code: ErrorCode.ProtocolError,
    act: (l) => {
      const id = l.session.subscribe([{ topic: "a", qos: 1 }, { topic: "b", qos: 0 }], undefined, l.now);
      l.flush();
      l.broker.send({ type: 9, packetId: id, reasonCodes: [1] });
    },
  },
  { name: "SUBACK for an unknown id", code: ErrorCode.ProtocolError, act: (l) => l.broker.send({ type: 9, packetId: 4242, reasonCodes: [0] }) },
  { name: "UNSUBACK for an unknown id", code: ErrorCode.ProtocolError, act: (l) => l.broker.send({ type: 11, packetId: 4242, reasonCodes: [0] }) },
  {
    name: "CONNECT from the server",
    code: ErrorCode.ProtocolError,
    act: (l) => l.broker.send({ type: 1, protocolVersion: l.broker.version, clientId: "x", clean: true, keepalive: 0 }),
  },
  {
    name: "SUBSCRIBE from the server",
    code: ErrorCode.ProtocolError,
    act: (l) => l.broker.send({ type: 8, packetId: 1, subscriptions: [{ topic: "a", qos: 0 }] }),
  },
  { name: "UNSUBSCRIBE from the server", code: ErrorCode.ProtocolError, act: (l) => l.broker.send({ type: 10, packetId: 1, topics: ["a"] }) },
  { name: "PINGREQ from the server", code: ErrorCode.ProtocolError, act: (l) => l.broker.send({ type: 12 }) },
];

/**
 * A connected session with three QoS 1/2 messages: one in flight (server
 * Receive Maximum 1 in v5, maxInflight 1 in 3.1.1) and two queued behind it.
 */
function setup(protocolVersion: 4 | 5, beforeConnack: boolean): Link {
  const link = new Link({
    session: { protocolVersion, clean: false, clientId: "c", maximumPacketSize: 128, maxInflight: protocolVersion === 4 ? 1 : 32 },
    broker: { autoAck: false, autoConnack: !beforeConnack, connack: { properties: { receiveMaximum: 1 } } },
  });
  link.session.publish("t", "m1", { qos: 2 }, link.now);
  link.session.publish("t", "m2", { qos: 1 }, link.now);
  link.session.publish("t", "m3", { qos: 2 }, link.now);
  link.connect();
  return link;
}

for (const protocolVersion of [5, 4] as const) {
  for (const c of CASES) {
    test(`v${protocolVersion}: ${c.name} closes with 0x${c.code.toString(16)}; Closed sticks; nothing lost`, (t) => {
      const link = setup(protocolVersion, c.beforeConnack === true);
      if (!c.beforeConnack) {
        t.equal(link.session.state, SessionState.Connected);
        t.equal(link.broker.all(3).length, 1, "one PUBLISH in flight");
      }
      c.act(link);
      link.toClient();
      const closed = link.eventsOf("closed");
      t.equal(closed.length, 1, "one closed event");
      t.equal(closed[0]?.error?.code, c.code, "error code");
      t.equal(closed[0]?.error?.source, "remote");
      t.equal(link.session.state, SessionState.Closed);
      const after: Packet[] = link.flush();
      if (protocolVersion === 5) {
        t.deepEqual(after, [{ type: 14, reasonCode: c.code }], "DISCONNECT with the reason code, nothing else");
      } else {
        t.deepEqual(after, [], "3.1.1: nothing is sent (no reason codes)");
      }
      // Closed sticks: input and timers are ignored until connect().
      t.deepEqual(link.receive([0xd0, 0x00]), [], "input ignored");
      link.session.handleTimeout(link.now + 3_600_000);
      t.deepEqual(link.drain(), [], "timers ignored");
      t.equal(link.session.pollTimeout(), undefined);
      t.equal(link.session.state, SessionState.Closed);
      t.throws(() => link.session.subscribe([{ topic: "a", qos: 0 }], undefined, link.now), (e: unknown) => (e as { code?: number }).code === ErrorCode.NotConnected);
      const counters = link.session.outbox.counters;
      t.equal(counters.queued + counters.inflight, 3, "all three messages still in the outbox");
      // A well-behaved broker gets every message after reconnecting.
      link.broker.options.autoAck = true;
      link.broker.options.autoConnack = true;
      link.connect();
      t.equal(link.session.state, SessionState.Connected);
      t.deepEqual(
        [...new Set(link.broker.delivered.map((d) => d.payload))],
        ["m1", "m2", "m3"],
        "every message delivered, in order",
      );
      t.equal(link.eventsOf("published").length, 3);
      t.end();
    });
  }
}

test("the violation stops the chunk: packets after it in the same receive() are not processed", (t) => {
  const link = new Link({ session: { protocolVersion: 5 } });
  link.connect();
  link.receive([0x40, 0x02, 0x03, 0xe7, 0x30, 0x04, 0x00, 0x01, 0x74, 0x78]); // PUBACK 999, then a PUBLISH
  t.deepEqual(
    link.events.slice(1).map((e) => e.type),
    ["closed"],
    "no message event after the violation",
  );
  t.end();
});

test("the error DISCONNECT follows a PUBLISH already partly handed out (framing intact)", (t) => {
  const link = new Link({ session: { protocolVersion: 5 } });
  link.connect();
  link.session.publish("t", new Uint8Array(20), { qos: 0 }, link.now);
  const part = new Uint8Array(10);
  t.equal(link.session.pollTransmit(part), 10);
  link.receive([0x40, 0x02, 0x03, 0xe7]); // PUBACK for an unknown id
  t.equal(link.session.state, SessionState.Closed);
  const rest = link.takeBytes();
  const all = new Uint8Array(part.length + rest.length);
  all.set(part);
  all.set(rest, part.length);
  const packets = link.broker.decode(all);
  t.deepEqual(
    packets.map((p) => p.type),
    [3, 14],
    "the rest of the PUBLISH, then DISCONNECT",
  );
  t.end();
});

test("an acknowledgement for a PUBLISH not yet completely sent is a protocol error", (t) => {
  const link = new Link({ session: { protocolVersion: 5 } });
  link.connect();
  const id = link.session.publish("t", new Uint8Array(50), { qos: 1 }, link.now);
  t.equal(link.session.pollTransmit(new Uint8Array(10)), 10, "part of the PUBLISH");
  link.receive([0x40, 0x02, id >> 8, id & 0xff]);
  t.equal(link.eventsOf("closed")[0]?.error?.code, ErrorCode.ProtocolError);
  t.end();
});
