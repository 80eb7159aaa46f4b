/**
 * The client's direct path for QoS 1/2 (client.ts `publish` with
 * Session.publishNow and Outbox.enqueueSent): a message that could go out at
 * once is stored in the outbox as already sent and written straight to the
 * socket, without a service round; a message published without a callback
 * completes without a "published" event, and its PUBACK is handled without
 * a service round either. What must hold, as on the checked path: every
 * message on the wire once, in order, with its own packet id and DUP clear;
 * the in-flight window and the QoS 2 cap respected; nothing lost when the
 * socket is full, when a write throws, or across a reconnect (resent with
 * DUP and the same id); callbacks called once with their own id; `end()`
 * waits for messages sent without a callback.
 */
import test from "tape";
import { Client } from "../../modules/mqtt/client";
import type { ClientOptions } from "../../modules/mqtt/client";
import type { AckPacket, ProtocolVersion, PublishPacket, QoS } from "../../modules/mqtt/codec/packets";
import { FakeClock, FakeNet, acceptConnect, ascii, scriptedRandom, text, untilNewSocket, wire } from "./support/client-fakes";
import type { FakeSocket } from "./support/client-fakes";

const TOPIC = "site/node-7/temperature";

interface Rig {
  client: Client;
  clock: FakeClock;
  net: FakeNet;
  socket: FakeSocket;
  errors: unknown[];
}

function setup(version: ProtocolVersion, extra: Partial<ClientOptions> = {}): Rig {
  const clock = new FakeClock();
  const net = new FakeNet(version);
  const errors: unknown[] = [];
  const client = new Client({
    protocolVersion: version,
    clean: false,
    clientId: "direct-qos12",
    socket: { io: net.TCP, host: "127.0.0.1", port: 1883 },
    timer: clock.timer,
    now: clock.now,
    random: scriptedRandom(0.5),
    onError: (e: unknown) => errors.push(e),
    ...extra,
  } as ClientOptions);
  client.connect();
  const socket = acceptConnect(net, false, version);
  // The direct path needs the topic in the outbox's topic cache: a first message puts it there.
  client.publish(TOPIC, ascii("warm-up"), { qos: 0 });
  socket.packets();
  return { client, clock, net, socket, errors };
}

function publishes(packets: ReturnType<FakeSocket["packets"]>): PublishPacket[] {
  return packets.filter((p) => p.type === 3) as PublishPacket[];
}

function ack(type: 4 | 5 | 7, packetId: number, version: ProtocolVersion): Uint8Array {
  return wire({ type, packetId, reasonCode: 0 } as AckPacket, version);
}

/** Answers every PUBLISH and PUBREL in `packets` as a broker would; returns what it answered. */
function answer(socket: FakeSocket, packets: ReturnType<FakeSocket["packets"]>, version: ProtocolVersion): number {
  let n = 0;
  for (const p of packets) {
    if (p.type === 3 && (p as PublishPacket).qos === 1) socket.deliver(ack(4, (p as PublishPacket).packetId!, version));
    else if (p.type === 3 && (p as PublishPacket).qos === 2) socket.deliver(ack(5, (p as PublishPacket).packetId!, version));
    else if (p.type === 6) socket.deliver(ack(7, (p as AckPacket).packetId, version));
    else continue;
    n++;
  }
  return n;
}

for (const version of [4, 5] as ProtocolVersion[]) {
  const v = version === 5 ? "5.0" : "3.1.1";

  test(`direct QoS 1/2: each message on the wire once, in order, own id, DUP clear; acks complete them (MQTT ${v})`, (t) => {
    const { client, socket, errors } = setup(version);
    const plan: Array<[QoS, boolean]> = [];
    for (let i = 0; i < 40; i++) plan.push([((i * 7) % 3) as QoS, i % 4 === 1]);
    const ids: number[] = [];
    const completed: number[] = [];
    const writesBefore = socket.writeSizes.length;
    plan.forEach(([qos, withCallback], i) => {
      const cb = withCallback
        ? (error: unknown, result?: { packetId: number }) => {
            if (error === undefined && result !== undefined) completed.push(result.packetId);
            else completed.push(-1);
          }
        : undefined;
      ids.push(client.publish(TOPIC, ascii(`m${i}`), { qos }, cb));
    });
    const packets = socket.packets();
    const sent = publishes(packets);
    t.deepEqual(
      sent.map((p) => text(p.payload)),
      plan.map((_, i) => `m${i}`),
      "every message, in order",
    );
    t.deepEqual(
      sent.map((p) => p.qos),
      plan.map(([q]) => q),
      "each with its QoS",
    );
    t.ok(
      sent.every((p) => !p.dup),
      "DUP clear on the first send",
    );
    t.deepEqual(
      sent.map((p) => (p.qos === 0 ? 0 : p.packetId)),
      ids,
      "the ids publish() returned are the ids on the wire",
    );
    const nonzero = ids.filter((id) => id > 0);
    t.equal(new Set(nonzero).size, nonzero.length, "no packet id used twice while in flight [MQTT-2.2.1-3]");
    t.equal(socket.writeSizes.length - writesBefore, plan.length, "one write per message (none waited for a service round)");
    t.equal(client.outbox.counters.inflight, nonzero.length, "every QoS 1/2 message is in flight in the outbox");

    // The broker acknowledges, QoS 2 in reverse order.
    answer(socket, sent.slice().reverse(), version);
    answer(socket, socket.packets(), version); // the PUBRELs
    t.equal(client.outbox.counters.inflight, 0, "all completed");
    t.equal(client.outbox.counters.queued, 0, "nothing queued");
    const withCallbacks = plan.map(([q, cb], i) => (cb && q > 0 ? ids[i] : 0)).filter((id) => id > 0);
    t.deepEqual(
      completed.filter((id) => id > 0).sort((a, b) => a - b),
      withCallbacks.sort((a, b) => a - b),
      "each QoS 1/2 callback called once, with its own id",
    );
    t.equal(completed.filter((id) => id === 0 || id === -1).length, plan.filter(([q, cb]) => cb && q === 0).length, "QoS 0 callbacks completed without an id or an error");
    t.ok(client.connected, "still connected");
    t.deepEqual(errors, [], "no error");
    client.end({ force: true });
    t.end();
  });

  test(`direct QoS 1/2: the window and the QoS 2 cap hold; a message waiting is never overtaken (MQTT ${v})`, (t) => {
    const { client, socket } = setup(version, { maxInflight: 3, maxInflightQos2: 2 });
    for (let i = 0; i < 3; i++) client.publish(TOPIC, ascii(`a${i}`), { qos: 1 });
    client.publish(TOPIC, ascii("a3"), { qos: 1 }); // the window is full: waits
    client.publish(TOPIC, ascii("q0"), { qos: 0 }); // must not overtake a3
    let sent = publishes(socket.packets());
    t.deepEqual(
      sent.map((p) => text(p.payload)),
      ["a0", "a1", "a2"],
      "three in flight; the fourth and the QoS 0 message after it wait",
    );
    socket.deliver(ack(4, sent[0].packetId!, version));
    sent = publishes(socket.packets());
    t.deepEqual(
      sent.map((p) => text(p.payload)),
      ["a3", "q0"],
      "one PUBACK: the waiting messages go, in order",
    );
    // Drain, then QoS 2: at most two in flight.
    for (const id of [2, 3, 4]) socket.deliver(ack(4, id, version));
    t.equal(client.outbox.counters.inflight, 0, "drained");
    for (let i = 0; i < 3; i++) client.publish(TOPIC, ascii(`b${i}`), { qos: 2 });
    sent = publishes(socket.packets());
    t.deepEqual(
      sent.map((p) => text(p.payload)),
      ["b0", "b1"],
      "two QoS 2 messages in flight (maxInflightQos2), the third waits",
    );
    socket.deliver(ack(5, sent[0].packetId!, version));
    const after = socket.packets();
    t.deepEqual(
      after.map((p) => (p.type === 3 ? text((p as PublishPacket).payload) : p.type)),
      [6, "b2"],
      "PUBREC answered with PUBREL, then the third QoS 2 message (the broker released the first)",
    );
    t.equal(client.outbox.counters.inflight, 3, "the first stays in flight until its PUBCOMP");
    socket.deliver(ack(7, sent[0].packetId!, version));
    t.equal(client.outbox.counters.inflight, 2, "PUBCOMP completes it");
    client.end({ force: true });
    t.end();
  });

  test(`direct QoS 1: a full socket keeps the bytes for later, in order, nothing lost (MQTT ${v})`, (t) => {
    const { client, socket } = setup(version);
    client.publish(TOPIC, ascii("0001"), { qos: 1 });
    const size = socket.writeSizes[socket.writeSizes.length - 1];
    socket.grant(size + 3); // room for one more message, not two
    client.publish(TOPIC, ascii("0002"), { qos: 1 });
    client.publish(TOPIC, ascii("0003"), { qos: 1 }); // does not fit: waits in the transmit buffer
    client.publish(TOPIC, ascii("0004"), { qos: 0 });
    client.publish(TOPIC, ascii("0005"), { qos: 1 });
    let sent = publishes(socket.packets());
    t.deepEqual(
      sent.map((p) => text(p.payload)),
      ["0001", "0002"],
      "two messages written",
    );
    socket.deliver(ack(4, sent[0].packetId!, version));
    socket.grant(4096);
    sent = publishes(socket.packets());
    t.deepEqual(
      sent.map((p) => text(p.payload)),
      ["0003", "0004", "0005"],
      "the waiting messages, whole and in order, once there is room",
    );
    t.deepEqual(
      sent.map((p) => p.dup),
      [false, false, false],
      "DUP clear (first sends)",
    );
    client.end({ force: true });
    t.end();
  });

  test(`direct QoS 1: stored at the start of the outbox ring while the socket is full: copied behind what waits (MQTT ${v})`, (t) => {
    const { client, socket } = setup(version);
    socket.grant(5); // less than one message
    client.publish(TOPIC, ascii("zero"), { qos: 0 }); // 5 bytes written, the rest waits in the transmit buffer
    t.equal(client.outbox.counters.bytesUsed, 0, "the outbox ring is empty");
    let done = 0;
    const one = client.publish(TOPIC, ascii("one"), { qos: 1 }); // written into the ring at 0, then copied
    const two = client.publish(TOPIC, ascii("two"), { qos: 1 }, (error) => {
      if (error === undefined) done++;
    });
    t.equal(client.outbox.counters.inflight, 2, "both stored as sent");
    socket.grant(4096);
    const sent = publishes(socket.packets());
    t.deepEqual(
      sent.map((p) => [text(p.payload), p.qos === 0 ? 0 : p.packetId]),
      [
        ["zero", 0],
        ["one", one],
        ["two", two],
      ],
      "all three whole and in order once there is room",
    );
    answer(socket, sent, version);
    t.equal(done, 1, "the callback ran");
    t.equal(client.outbox.counters.inflight, 0, "both completed");
    client.end({ force: true });
    t.end();
  });

  test(`direct QoS 1/2: a write that throws loses the connection, not the message; resent with DUP and the same id (MQTT ${v})`, (t) => {
    const { client, clock, net, socket, errors } = setup(version);
    let done = 0;
    const first = client.publish(TOPIC, ascii("one"), { qos: 1 }, (error) => {
      if (error === undefined) done++;
    });
    socket.packets();
    const original = socket.write.bind(socket);
    socket.write = () => {
      throw new Error("connection reset");
    };
    let second = 0;
    t.doesNotThrow(() => {
      second = client.publish(TOPIC, ascii("two"), { qos: 1 });
    }, "the publish itself does not throw");
    const third = client.publish(TOPIC, ascii("three"), { qos: 2 }); // offline now: queued
    socket.write = original;
    t.notOk(client.connected, "the client noticed the lost connection");
    t.ok(second > 0 && third > 0, "both got packet ids");
    t.equal(client.outbox.counters.queued + client.outbox.counters.inflight, 3, "all three messages kept in the outbox");
    t.ok(untilNewSocket(clock, net) >= 0, "it reconnects");
    const next = acceptConnect(net, true, version);
    const resent = publishes(next.packets());
    t.deepEqual(
      resent.map((p) => [text(p.payload), p.packetId, p.dup]),
      [
        ["one", first, true],
        ["two", second, true],
        ["three", third, false],
      ],
      "resent in order: the two sent before with DUP and their ids [MQTT-3.3.1-1] [MQTT-4.4.0-1], the queued one as a first send",
    );
    answer(next, resent, version);
    answer(next, next.packets(), version);
    t.equal(done, 1, "the callback of the first message ran once, after the PUBACK on the new connection");
    t.equal(client.outbox.counters.inflight + client.outbox.counters.queued, 0, "all completed");
    t.deepEqual(errors, [], "no error reported beyond the connection loss");
    client.end({ force: true });
    t.end();
  });

  test(`direct QoS 1: end() waits for messages sent without a callback (MQTT ${v})`, (t) => {
    const { client, socket } = setup(version);
    const id = client.publish(TOPIC, ascii("last"), { qos: 1 });
    socket.packets();
    let ended = false;
    client.end({}, () => {
      ended = true;
    });
    t.deepEqual(
      socket.packets().map((p) => p.type),
      [],
      "no DISCONNECT while the message awaits its PUBACK",
    );
    socket.deliver(ack(4, id, version));
    t.deepEqual(
      socket.packets().map((p) => p.type),
      [14],
      "DISCONNECT right after the PUBACK",
    );
    t.ok(ended || client.state === "ending", "ending once the DISCONNECT is out");
    t.end();
  });

  test(`direct QoS 1: a PUBACK for an unknown or completed id is a protocol error (MQTT ${v})`, (t) => {
    const closes: unknown[] = [];
    const { client, socket } = setup(version, { onClose: (error) => closes.push(error) });
    const id = client.publish(TOPIC, ascii("x"), { qos: 1 });
    socket.packets();
    socket.deliver(ack(4, id, version));
    t.ok(client.connected, "the PUBACK completed the message");
    socket.deliver(ack(4, id, version));
    t.notOk(client.connected, "a second PUBACK for the same id closes the connection");
    t.ok(
      closes.some((e) => e !== undefined && /PUBACK for packet id/.test(String((e as Error).message))),
      "the close reason names the PUBACK",
    );
    client.end({ force: true });
    t.end();
  });
}

test("direct QoS 1: several acknowledgements in one read, and an ack split across reads", (t) => {
  const { client, socket } = setup(4);
  const ids: number[] = [];
  for (let i = 0; i < 5; i++) ids.push(client.publish(TOPIC, ascii(`p${i}`), { qos: 1 }));
  socket.packets();
  const all = new Uint8Array(4 * 5);
  ids.forEach((id, i) => all.set(ack(4, id, 4), i * 4));
  socket.deliver(all.subarray(0, 10)); // two whole acks and half of the third
  t.equal(client.outbox.counters.inflight, 3, "two completed, the split one not yet");
  socket.deliver(all.subarray(10));
  t.equal(client.outbox.counters.inflight, 0, "the rest completed");
  t.ok(client.connected, "still connected");
  client.end({ force: true });
  t.end();
});

/** A v5 client (persistent session) whose broker allows `topicAliasMaximum` aliases; `connack` answers the newest socket. */
function aliasRig(topicAliasMaximum: number): { client: Client; clock: FakeClock; net: FakeNet; connack: (sessionPresent: boolean) => FakeSocket } {
  const clock = new FakeClock();
  const net = new FakeNet(5);
  const client = new Client({
    protocolVersion: 5,
    clean: false,
    clientId: "aliases",
    socket: { io: net.TCP, host: "127.0.0.1", port: 1883 },
    timer: clock.timer,
    now: clock.now,
    random: scriptedRandom(0.5),
  });
  client.connect();
  const connack = (sessionPresent: boolean): FakeSocket => {
    const s = net.last;
    s.open(65536);
    s.packets();
    s.deliver(wire({ type: 2, sessionPresent, reasonCode: 0, properties: { topicAliasMaximum } }, 5));
    return s;
  };
  return { client, clock, net, connack };
}

test("fast paths with outbound topic aliases (v5): the mapping once, then alias-only packets; resent whole after a reconnect", (t) => {
  const { client, clock, net, connack } = aliasRig(4);
  const socket = connack(false);
  const ids: number[] = [];
  for (let i = 0; i < 3; i++) client.publish(TOPIC, ascii(`q0-${i}`), { qos: 0 }); // the first puts the topic in the cache
  for (let i = 0; i < 3; i++) ids.push(client.publish(TOPIC, ascii(`q1-${i}`), { qos: 1 }));
  const sent = publishes(socket.packets());
  t.deepEqual(
    sent.map((p) => [p.topic, p.properties?.topicAlias, text(p.payload)]),
    [
      [TOPIC, 1, "q0-0"],
      ["", 1, "q0-1"],
      ["", 1, "q0-2"],
      ["", 1, "q1-0"],
      ["", 1, "q1-1"],
      ["", 1, "q1-2"],
    ],
    "the topic goes once with its alias; every later message (QoS 0 and 1) carries only the alias",
  );
  t.ok(client.outbox.counters.inflight === 3, "the QoS 1 messages are stored (with their Topic Name)");
  // Lost before the PUBACKs: a new connection starts with no aliases [MQTT-3.3.2-7].
  socket.fail();
  t.ok(untilNewSocket(clock, net) >= 0, "it reconnects");
  connack(true);
  const resent = publishes(net.last.packets());
  t.deepEqual(
    resent.map((p) => [p.topic, p.properties?.topicAlias, p.packetId, p.dup]),
    [
      [TOPIC, 1, ids[0], true],
      ["", 1, ids[1], true],
      ["", 1, ids[2], true],
    ],
    "resent with DUP: the mapping again first, then alias-only",
  );
  for (const id of ids) net.last.deliver(wire({ type: 4, packetId: id, reasonCode: 0 }, 5));
  t.equal(client.outbox.counters.inflight, 0, "all acknowledged");
  client.end({ force: true });
  t.end();
});

test("fast paths with outbound topic aliases (v5): a repeated QoS 0 message never repeats a mapping", (t) => {
  const { client, connack } = aliasRig(1);
  const socket = connack(false);
  client.publish("a/1", ascii("x"), { qos: 0 }); // cached, alias 1 -> a/1
  client.publish("b/2", ascii("x"), { qos: 0 }); // cached, alias 1 -> b/2 (one alias only)
  socket.packets();
  for (let i = 0; i < 3; i++) client.publish("a/1", ascii(`r${i}`), { qos: 0 });
  t.deepEqual(
    publishes(socket.packets()).map((p) => [p.topic, p.properties?.topicAlias, text(p.payload)]),
    [
      ["a/1", 1, "r0"],
      ["", 1, "r1"],
      ["", 1, "r2"],
    ],
    "the mapping goes once, then alias-only, even for same-sized messages in a row",
  );
  client.end({ force: true });
  t.end();
});
