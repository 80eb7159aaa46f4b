/**
 * Client event delivery: order, callbacks never run inside the parser,
 * API calls from inside callbacks, throwing callbacks reported (never
 * swallowed), publish callbacks, backpressure on the socket.
 */
import test from "tape";
import { Client, ClientState } from "../../modules/mqtt/client";
import type { ClientOptions } from "../../modules/mqtt/client";
import { ErrorCode, MqttError } from "../../modules/mqtt/errors";
import type { Packet, ProtocolVersion, PublishPacket } from "../../modules/mqtt/codec/packets";
import { FakeClock, FakeNet, FakeSocket, acceptConnect, ascii, scriptedRandom, text, types, wire } from "./support/client-fakes";

function setup(options: Partial<ClientOptions> = {}, version: ProtocolVersion = 4) {
  const clock = new FakeClock();
  const net = new FakeNet(version);
  const log: string[] = [];
  const client = new Client({
    socket: { io: net.TCP, host: "127.0.0.1", port: 1883 },
    timer: clock.timer,
    now: clock.now,
    random: scriptedRandom(0.5),
    protocolVersion: version,
    clientId: "events",
    ...options,
  });
  return { clock, net, client, log };
}

function publishPacket(topic: string, payload: string, qos: 0 | 1 | 2, packetId?: number): PublishPacket {
  const p: PublishPacket = { type: 3, topic, payload: ascii(payload), qos, retain: false, dup: false };
  if (packetId !== undefined) p.packetId = packetId;
  return p;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

test("onConnect gets the CONNACK and sessionPresent; the socket gets nodelay and address from a numeric host", (t) => {
  let got: [number, boolean] | undefined;
  const { net, client } = setup({ onConnect: (connack, sp) => (got = [connack.reasonCode, sp]) });
  client.connect();
  const options = net.last.options;
  t.equal(options.address, "127.0.0.1", "numeric host copied to address (Moddable needs it)");
  t.equal(options.port, 1883);
  t.equal(options.noDelay, true, "noDelay on by default");
  t.equal(options.nodelay, true, "Moddable spelling too");
  t.equal(client.state, ClientState.Connecting);
  acceptConnect(net);
  t.deepEqual(got, [0, false]);
  t.equal(client.state, ClientState.Connected);
  t.ok(client.connected);
  t.end();
});

test("callbacks never run inside session.receive; a publish from onMessage leaves after the parser returns", (t) => {
  const seen: Array<{ topic: string; payload: string; insideParser: boolean }> = [];
  let inside = false;
  const { net, client } = setup({
    onMessage(packet) {
      seen.push({ topic: packet.topic, payload: text(packet.payload), insideParser: inside });
      this.publish("echo", packet.payload, { qos: 1 });
    },
  });
  const session = client.session;
  const receive = session.receive.bind(session);
  session.receive = (bytes: Uint8Array, now: number) => {
    inside = true;
    try {
      return receive(bytes, now);
    } finally {
      inside = false;
    }
  };
  client.connect();
  const s = acceptConnect(net);
  s.packets();
  // Two QoS 1 messages in one TCP chunk: one receive() call decodes both.
  s.deliver(concat(wire(publishPacket("a", "one", 1, 7)), wire(publishPacket("b", "two", 1, 8))));
  t.deepEqual(seen, [
    { topic: "a", payload: "one", insideParser: false },
    { topic: "b", payload: "two", insideParser: false },
  ]);
  const out = s.packets();
  t.deepEqual(types(out), [4, 4, 3, 3], "PUBACK 7, PUBACK 8, then the two echoes");
  t.equal((out[0] as { packetId: number }).packetId, 7);
  t.equal((out[1] as { packetId: number }).packetId, 8);
  t.equal(text((out[2] as PublishPacket).payload), "one", "echo carries a copy of the first payload");
  t.equal(text((out[3] as PublishPacket).payload), "two");
  t.end();
});

test("a throwing onMessage is reported to onError with the thrown value; later messages still arrive", (t) => {
  const errors: unknown[] = [];
  const topics: string[] = [];
  const boom = new Error("listener bug");
  const { net, client } = setup({
    onMessage(packet) {
      topics.push(packet.topic);
      if (packet.topic === "bad") throw boom;
    },
    onError: (e) => errors.push(e),
  });
  client.connect();
  const s = acceptConnect(net);
  s.deliver(concat(wire(publishPacket("bad", "x", 0)), wire(publishPacket("good", "y", 0))));
  t.deepEqual(topics, ["bad", "good"], "delivery continues after the throw");
  t.equal(errors.length, 1);
  t.equal(errors[0], boom, "the thrown value itself");
  t.equal(client.state, ClientState.Connected, "the connection is unaffected");
  t.end();
});

test("a throwing callback without onError is rethrown from the socket callback, after the state is consistent", (t) => {
  const topics: string[] = [];
  const { net, client } = setup({
    onMessage(packet) {
      topics.push(packet.topic);
      if (packet.topic === "bad") throw new RangeError("unhandled");
    },
  });
  client.connect();
  const s = acceptConnect(net);
  t.throws(() => s.deliver(concat(wire(publishPacket("bad", "x", 1, 1)), wire(publishPacket("next", "y", 0)))), RangeError, "not swallowed");
  t.deepEqual(topics, ["bad", "next"], "the rest of the chunk was still processed");
  t.deepEqual(types(s.packets()), [4], "and the PUBACK still went out");
  s.deliver(wire(publishPacket("later", "z", 0)));
  t.deepEqual(topics, ["bad", "next", "later"], "the client keeps working");
  t.end();
});

test("a throwing onError is rethrown, not looped", (t) => {
  let calls = 0;
  const { net, client } = setup({
    onMessage() {
      throw new Error("first");
    },
    onError() {
      calls += 1;
      throw new Error("second");
    },
  });
  client.connect();
  const s = acceptConnect(net);
  t.throws(
    () => s.deliver(wire(publishPacket("t", "x", 0))),
    (e: unknown) => e instanceof Error && e.message === "second",
  );
  t.equal(calls, 1, "onError called once");
  t.end();
});

test("QoS 1 publish callback runs on PUBACK; QoS 2 on PUBCOMP after PUBREC/PUBREL", (t) => {
  const done: string[] = [];
  const { net, client } = setup();
  client.connect();
  const s = acceptConnect(net);
  const id1 = client.publish("q1", "a", { qos: 1 }, (e, r) => done.push(`q1 ${e === undefined} ${r?.packetId}`));
  const id2 = client.publish("q2", ascii("b"), { qos: 2 }, (e, r) => done.push(`q2 ${e === undefined} ${r?.qos}`));
  t.ok(id1 > 0 && id2 > 0 && id1 !== id2, "distinct packet ids");
  t.deepEqual(types(s.packets()), [3, 3]);
  t.deepEqual(done, [], "nothing completes before the acknowledgements");
  s.deliver(wire({ type: 4, packetId: id1, reasonCode: 0 }));
  t.deepEqual(done, [`q1 true ${id1}`]);
  s.deliver(wire({ type: 5, packetId: id2, reasonCode: 0 }));
  const rel = s.packets();
  t.deepEqual(types(rel), [6], "PUBREL sent");
  t.deepEqual(done, [`q1 true ${id1}`], "QoS 2 not complete at PUBREC");
  s.deliver(wire({ type: 7, packetId: id2, reasonCode: 0 }));
  t.deepEqual(done, [`q1 true ${id1}`, "q2 true 2"]);
  t.end();
});

test("v5 PUBACK failure reason code completes the publish with an MqttError carrying it", (t) => {
  let error: MqttError | undefined;
  const { net, client } = setup({}, 5);
  client.connect();
  const s = acceptConnect(net, false, 5);
  const id = client.publish("denied", "x", { qos: 1 }, (e) => (error = e));
  s.packets();
  s.deliver(wire({ type: 4, packetId: id, reasonCode: 0x87 }, 5));
  t.ok(error instanceof MqttError);
  t.equal(error?.code, ErrorCode.NotAuthorized);
  t.equal(error?.reasonCode, 0x87);
  t.equal(error?.source, "remote");
  t.end();
});

/** Grants `n` writable bytes at a time until a grant makes the client write nothing more. */
function pump(s: FakeSocket, n: number): void {
  for (let i = 0; i < 1000; i++) {
    const before = s.writeSizes.length;
    s.grant(n);
    if (s.writeSizes.length === before) return;
  }
}

test("writes never exceed the socket's announced writable count (backpressure)", (t) => {
  const completed: number[] = [];
  const { net, client } = setup();
  client.connect();
  const s = net.last;
  s.open(5);
  pump(s, 5);
  t.ok(s.writeSizes.length > 1, "CONNECT needed several writes");
  t.deepEqual(types(s.packets()), [1], "CONNECT arrives whole across small writes");
  s.deliver(wire({ type: 2, sessionPresent: false, reasonCode: 0 }));
  const payload = "0123456789abcdefghij";
  for (let i = 0; i < 3; i++) client.publish(`t/${i}`, payload, { qos: 0 }, () => completed.push(i));
  t.deepEqual(completed, [], "QoS 0 callbacks wait until the bytes were written");
  pump(s, 5);
  t.ok(s.writeSizes.every((n) => n <= 5), "every write within the budget");
  const out = s.packets() as PublishPacket[];
  t.deepEqual(
    out.map((p) => [p.type, p.topic, text(p.payload)]),
    [
      [3, "t/0", payload],
      [3, "t/1", payload],
      [3, "t/2", payload],
    ],
    "the three PUBLISH packets arrive in order, intact",
  );
  t.deepEqual(completed, [0, 1, 2], "callbacks once everything was written");
  t.end();
});

test("messages published while offline wait in the outbox and leave after CONNACK", (t) => {
  const { net, client } = setup();
  t.equal(client.publish("early", "x", { qos: 1 }), 1, "QoS 1 accepted before connect() (packet id 1)");
  t.equal(client.publish("early0", "y", { qos: 0 }), 0, "QoS 0 queued (default policy)");
  client.connect();
  const s = acceptConnect(net);
  const out = s.packets() as PublishPacket[];
  t.deepEqual(
    out.map((p) => p.topic),
    ["early", "early0"],
    "sent in order after the CONNACK",
  );
  t.end();
});

test("server DISCONNECT (v5): onDisconnect, then onClose with the error, then a reconnect is scheduled", (t) => {
  const log: string[] = [];
  const { net, client } = setup(
    {
      onDisconnect: (p) => log.push(`disconnect 0x${p.reasonCode.toString(16)}`),
      onClose: (e) => log.push(`close ${e?.code.toString(16)} ${e?.reasonCode?.toString(16)}`),
    },
    5,
  );
  client.connect();
  const s = acceptConnect(net, false, 5);
  s.deliver(wire({ type: 14, reasonCode: 0x8b }, 5));
  t.deepEqual(log, ["disconnect 0x8b", "close 8b 8b"]);
  t.ok(s.closed, "socket closed");
  t.equal(client.state, ClientState.Waiting);
  t.end();
});

test("packet events reach onPacketSend/onPacketReceive when given", (t) => {
  const sent: number[] = [];
  const received: number[] = [];
  const { net, client } = setup({
    onPacketSend: (p: Packet) => sent.push(p.type),
    onPacketReceive: (p: Packet) => received.push(p.type),
  });
  client.connect();
  acceptConnect(net);
  t.deepEqual(sent, [1], "CONNECT");
  t.deepEqual(received, [2], "CONNACK");
  t.end();
});

test("keepalive PINGREQ comes from the one timer", (t) => {
  const { clock, net, client } = setup({ keepalive: 10 });
  client.connect();
  const s = acceptConnect(net);
  clock.advance(10000);
  t.deepEqual(types(s.packets()), [12], "PINGREQ after 10 s of silence");
  s.deliver(wire({ type: 13 }));
  t.ok(clock.armed <= 1, "never more than one timer armed");
  t.end();
});

test("packets split across many small socket reads arrive intact (the read buffer is not reused while the decoder holds it)", (t) => {
  const seen: string[] = [];
  const { net, client } = setup({ rxBufferSize: 16, onMessage: (packet) => seen.push(`${packet.topic}=${text(packet.payload)}`) });
  client.connect();
  const s = acceptConnect(net);
  s.packets();
  const long = "0123456789abcdefghijklmnopqrstuvwxyz-0123456789abcdefghijklmnopqrstuvwxyz";
  // One delivery of three packets, read 16 bytes at a time: every packet
  // straddles at least one read boundary.
  s.deliver(concat(wire(publishPacket("x/1", long, 0)), wire(publishPacket("x/2", "short", 1, 9)), wire(publishPacket("x/3", long, 0))));
  t.deepEqual(seen, [`x/1=${long}`, "x/2=short", `x/3=${long}`]);
  t.end();
});

test("a QoS 1 publish whose Message Expiry runs out while offline fails its callback with MessageExpired", (t) => {
  const { clock, net, client } = setup({}, 5);
  let error: MqttError | undefined;
  let calls = 0;
  client.publish("exp", "x", { qos: 1, properties: { messageExpiryInterval: 1 } }, (e) => {
    calls++;
    error = e;
  });
  clock.advance(1_500);
  client.connect();
  const s = acceptConnect(net, false, 5);
  t.equal(calls, 1, "the callback ran once");
  t.equal(error?.code, ErrorCode.MessageExpired);
  t.deepEqual(types(s.packets()).filter((type) => type === 3), [], "the expired message was never sent");
  t.end();
});
