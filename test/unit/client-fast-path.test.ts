/**
 * The client's QoS 0 fast paths (client.ts `publish`): a QoS 0 message
 * written straight to the socket when nothing else waits, and the repeat
 * path (same topic and payload length as the message written last: only
 * the payload is copied over the last one). What must hold: the bytes on
 * the wire are exactly the packets asked for, in order, whatever happens in
 * between (other packets, a full socket, a new connection); the keep alive
 * counts those sends (no PINGREQ while messages go out, one after a quiet
 * keep alive interval); a failing write loses the connection, not the
 * client's consistency.
 */
import test from "tape";
import { Client } from "../../modules/mqtt/client";
import type { ProtocolVersion, PublishPacket } from "../../modules/mqtt/codec/packets";
import { FakeClock, FakeNet, acceptConnect, ascii, scriptedRandom, text, types, wire } from "./support/client-fakes";
import type { FakeSocket } from "./support/client-fakes";

const TOPIC = "site/node-7/temperature";

function setup(version: ProtocolVersion = 4, keepalive = 60): { client: Client; clock: FakeClock; net: FakeNet; socket: FakeSocket; errors: unknown[] } {
  const clock = new FakeClock();
  const net = new FakeNet(version);
  const errors: unknown[] = [];
  const client = new Client({
    protocolVersion: version,
    keepalive,
    socket: { io: net.TCP, host: "127.0.0.1", port: 1883 },
    timer: clock.timer,
    now: clock.now,
    random: scriptedRandom(0.5),
    onError: (e: unknown) => errors.push(e),
  });
  client.connect();
  const socket = acceptConnect(net, false, version);
  socket.packets();
  return { client, clock, net, socket, errors };
}

function payloads(packets: ReturnType<FakeSocket["packets"]>): string[] {
  return packets.map((p) => (p.type === 3 ? `${(p as PublishPacket).topic}=${text((p as PublishPacket).payload)}` : `type${p.type}`));
}

for (const version of [4, 5] as ProtocolVersion[]) {
  const v = version === 5 ? "5.0" : "3.1.1";

  test(`client fast path: repeated QoS 0 messages are each on the wire, whole and in order (MQTT ${v})`, (t) => {
    const { client, socket } = setup(version);
    const expected: string[] = [];
    const writesBefore = socket.writeSizes.length; // CONNECT
    // Same topic, same length (repeat path), then other lengths, topics and retain in between.
    const plan: Array<[string, string, boolean]> = [
      [TOPIC, "21.50", false],
      [TOPIC, "21.75", false],
      [TOPIC, "22.00", false],
      [TOPIC, "22.0", false],
      [TOPIC, "22.1", false],
      ["other/topic", "22.2", false],
      [TOPIC, "22.3", false],
      [TOPIC, "22.4", true],
      [TOPIC, "22.5", false],
      [TOPIC, "", false],
      [TOPIC, "", false],
    ];
    for (const [topic, payload, retain] of plan) {
      t.equal(client.publish(topic, ascii(payload), retain ? { qos: 0, retain: true } : { qos: 0 }), 0, `publish ${topic} ${payload}`);
      expected.push(`${topic}=${payload}`);
    }
    const packets = socket.packets();
    t.deepEqual(payloads(packets), expected, "every message, in order, with its own payload");
    t.deepEqual(
      packets.map((p) => (p as PublishPacket).retain),
      plan.map(([, , r]) => r),
      "retain flags as asked",
    );
    t.equal(socket.writeSizes.length - writesBefore, plan.length, "one write per message");
    client.end({ force: true });
    t.end();
  });

  test(`client fast path: other packets in between end the repeat path (MQTT ${v})`, (t) => {
    const { client, socket } = setup(version);
    client.publish(TOPIC, ascii("aaaa"));
    client.publish(TOPIC, ascii("bbbb"));
    client.subscribe([{ topic: "cmd/#", qos: 1 }]); // its SUBSCRIBE goes through tx[0..]
    client.publish(TOPIC, ascii("cccc"));
    client.publish(TOPIC, ascii("dddd"), { qos: 1 }); // queued in the outbox, sent from tx
    client.publish(TOPIC, ascii("eeee"));
    socket.deliver(wire({ type: 3, topic: "cmd/x", payload: ascii("go"), qos: 0, retain: false, dup: false }, version));
    client.publish(TOPIC, ascii("ffff"));
    const packets = socket.packets();
    t.deepEqual(
      payloads(packets),
      [`${TOPIC}=aaaa`, `${TOPIC}=bbbb`, "type8", `${TOPIC}=cccc`, `${TOPIC}=dddd`, `${TOPIC}=eeee`, `${TOPIC}=ffff`],
      "SUBSCRIBE and the QoS 1 PUBLISH intact between the QoS 0 messages",
    );
    t.equal((packets[4] as PublishPacket).qos, 1, "the QoS 1 message kept its QoS");
    client.end({ force: true });
    t.end();
  });

  test(`client fast path: a full socket keeps the message for later, nothing lost (MQTT ${v})`, (t) => {
    const { client, socket } = setup(version);
    client.publish(TOPIC, ascii("0001"));
    const size = socket.writeSizes[socket.writeSizes.length - 1];
    socket.grant(size + 3); // room for one message, not two
    client.publish(TOPIC, ascii("0002")); // repeat path: fits
    client.publish(TOPIC, ascii("0003")); // does not fit: waits in tx
    client.publish(TOPIC, ascii("0004"));
    t.deepEqual(payloads(socket.packets()), [`${TOPIC}=0001`, `${TOPIC}=0002`], "two messages written");
    socket.grant(4096);
    client.publish(TOPIC, ascii("0005"));
    client.publish(TOPIC, ascii("0006"));
    t.deepEqual(
      payloads(socket.packets()),
      [`${TOPIC}=0003`, `${TOPIC}=0004`, `${TOPIC}=0005`, `${TOPIC}=0006`],
      "the waiting messages first, then the new ones, in order",
    );
    client.end({ force: true });
    t.end();
  });

  test(`client fast path: sends count for the keep alive (MQTT ${v})`, (t) => {
    const { client, clock, socket } = setup(version, 10);
    // A message every 4 s for 40 s: no PINGREQ is due.
    for (let i = 0; i < 10; i++) {
      clock.advance(4000);
      client.publish(TOPIC, ascii(`r${i % 10}`));
    }
    let packets = socket.packets();
    t.deepEqual(types(packets), Array(10).fill(3), "ten PUBLISH, no PINGREQ while messages go out");
    // Quiet: one PINGREQ once 10 s have passed since the last message.
    clock.advance(9000);
    t.equal(socket.packets().length, 0, "nothing 9 s after the last message");
    clock.advance(1000);
    packets = socket.packets();
    t.deepEqual(types(packets), [12], "PINGREQ 10 s after the last message");
    socket.deliver(new Uint8Array([0xd0, 0x00]));
    t.ok(client.connected, "still connected");
    client.end({ force: true });
    t.end();
  });

  test(`client fast path: a write that throws loses the connection; the message is not counted as sent (MQTT ${v})`, (t) => {
    const { client, clock, net, socket, errors } = setup(version);
    client.publish(TOPIC, ascii("one"));
    const original = socket.write.bind(socket);
    socket.write = () => {
      throw new Error("connection reset");
    };
    t.doesNotThrow(() => client.publish(TOPIC, ascii("two")), "QoS 0 publish does not throw (the message is lost with the connection, as QoS 0 allows)");
    socket.write = original;
    t.notOk(client.connected, "the client noticed the lost connection");
    t.equal(errors.length, 0, "no error reported beyond the connection loss");
    // It reconnects and the fast path works on the new socket.
    for (let i = 0; i < 100 && net.sockets.length === 1; i++) clock.fireNext();
    const next = acceptConnect(net, false, version);
    next.packets();
    client.publish(TOPIC, ascii("333"));
    client.publish(TOPIC, ascii("444"));
    t.deepEqual(payloads(next.packets()), [`${TOPIC}=333`, `${TOPIC}=444`], "new connection: messages whole");
    client.end({ force: true });
    t.end();
  });
}

test("client fast path: a callback or bad options take the checked path", (t) => {
  const { client, socket } = setup(4);
  client.publish(TOPIC, ascii("aa"));
  let called = 0;
  client.publish(TOPIC, ascii("bb"), { qos: 0 }, (error) => {
    if (error === undefined) called++;
  });
  t.equal(called, 1, "the QoS 0 callback ran (after the write)");
  t.throws(() => client.publish(TOPIC, ascii("cc"), { qos: 3 as never }), RangeError, "QoS 3 refused even right after a repeatable message");
  t.throws(() => client.publish("bad/+/topic", ascii("dd")), TypeError, "a wildcard topic refused");
  client.publish(TOPIC, ascii("ee"));
  t.deepEqual(payloads(socket.packets()), [`${TOPIC}=aa`, `${TOPIC}=bb`, `${TOPIC}=ee`], "only the valid messages went out");
  client.end();
  t.throws(() => client.publish(TOPIC, ascii("ff")), (e: unknown) => (e as { code?: string }).code === "Closed" || (e as Error).name === "MqttError", "publish after end() throws Closed");
  t.end();
});

test("client: a QoS 0 publish from inside onMessage completes only after its bytes were written", (t) => {
  const clock = new FakeClock();
  const net = new FakeNet(4);
  let client: Client | undefined = undefined;
  const order: string[] = [];
  client = new Client({
    protocolVersion: 4,
    socket: { io: net.TCP, host: "127.0.0.1", port: 1883 },
    timer: clock.timer,
    now: clock.now,
    random: scriptedRandom(0.5),
    onMessage: () => {
      const before = net.last.writeSizes.length;
      client!.publish("reply", ascii("pong"), { qos: 0 }, (error) => {
        order.push(error === undefined ? "callback" : "callback with error");
        order.push(net.last.writeSizes.length > before ? "after the write" : "BEFORE the write");
      });
    },
  });
  client.connect();
  const socket = acceptConnect(net, false, 4);
  socket.packets();
  socket.deliver(wire({ type: 3, topic: "ping", payload: ascii("x"), qos: 0, retain: false, dup: false }));
  t.deepEqual(order, ["callback", "after the write"], "the callback ran once the PUBLISH was handed to the socket");
  t.deepEqual(payloads(socket.packets()), ["reply=pong"], "the reply is on the wire");
  client.end({ force: true });
  t.end();
});
