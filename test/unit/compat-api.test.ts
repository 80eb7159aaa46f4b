/**
 * The MQTT.js-compatible surface: argument forms of connect, publish,
 * subscribe, unsubscribe and end, the *Async forms, the events and their
 * order, flags, and property conversion. Fake sockets and clock; the real
 * client and session underneath.
 */
import test from "tape";
import { MqttClient, bindHost, parseBrokerUrl } from "../../modules/mqtt/compat";
import type { CompatHost, CompatPacket, ISubscriptionGrant } from "../../modules/mqtt/compat";
import { ErrorCode, MqttError } from "../../modules/mqtt/errors";
import type {
  ConnectPacket,
  DisconnectPacket,
  ProtocolVersion,
  PublishPacket,
  SubscribePacket,
  UnsubscribePacket,
} from "../../modules/mqtt/codec/packets";
import { FakeClock, FakeNet, FakeSocket, ascii, scriptedRandom, text, types, wire } from "./support/client-fakes";

function setup(version: ProtocolVersion = 4) {
  const clock = new FakeClock();
  const tcp = new FakeNet(version);
  const tls = new FakeNet(version);
  const host: CompatHost = { TCP: tcp.TCP, TLS: tls.TCP, timer: clock.timer, now: clock.now, random: scriptedRandom(0.5) };
  const { connect, connectAsync } = bindHost(host);
  return { clock, tcp, tls, host, connect, connectAsync };
}

/** Lets the microtasks run (connect starts on one). */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

function accept(s: FakeSocket, version: ProtocolVersion = 4, sessionPresent = false): ConnectPacket {
  s.open();
  const connect = s.packets()[0] as ConnectPacket;
  s.deliver(wire({ type: 2, sessionPresent, reasonCode: 0 }, version));
  return connect;
}

test("parseBrokerUrl splits protocol, auth, host, port, path and query", (t) => {
  t.deepEqual(parseBrokerUrl("mqtts://u%40x:p%3Aw@[::1]:8884/a/b?clientId=c%201&x"), {
    protocol: "mqtts",
    auth: "u@x:p:w",
    host: "::1",
    port: 8884,
    path: "/a/b",
    query: { clientId: "c 1", x: "" },
  });
  t.deepEqual(parseBrokerUrl("mqtt://broker"), { protocol: "mqtt", host: "broker" });
  t.throws(() => parseBrokerUrl("broker:1883"), TypeError, "no scheme");
  t.end();
});

test("connect(url) takes host, port, credentials and clientId from the URL", async (t) => {
  const { tcp, connect } = setup();
  const client = connect("mqtt://alice:s%3Acret@10.0.0.5:1884/ignored?clientId=dev-1");
  t.ok(client instanceof MqttClient);
  t.equal(tcp.sockets.length, 0, "connects on a later microtask, after listeners are attached");
  await settle();
  const s = tcp.last;
  t.equal(s.options.host, "10.0.0.5");
  t.equal(s.options.port, 1884);
  const c = accept(s);
  t.equal(c.clientId, "dev-1");
  t.equal(c.username, "alice");
  t.equal(text(c.password!), "s:cret");
  t.equal(c.protocolVersion, 4);
  t.equal(c.keepalive, 60, "MQTT.js default keepalive");
  t.ok(client.connected);
  client.end(true);
});

test("connect(options) with host, port and protocol; options override the URL", async (t) => {
  const { tcp, connect } = setup();
  connect({ host: "b.local", port: 2883, protocol: "mqtt", clientId: "o" });
  connect("mqtt://a.local:1883", { port: 3000, clientId: "p" });
  connect("tcp://c.local", { clientId: "q" });
  await settle();
  t.deepEqual(
    tcp.sockets.map((s) => [s.options.host, s.options.port]),
    [
      ["b.local", 2883],
      ["a.local", 3000],
      ["c.local", 1883],
    ],
  );
});

test("mqtts:// uses the host's TLS class, port 8883, and passes the TLS options (servername defaults to the host name)", async (t) => {
  const { tcp, tls, connect } = setup();
  connect("mqtts://secure.example", { ca: "CA-PEM", rejectUnauthorized: false, clientId: "t" });
  connect({ host: "other.example", cert: "C", key: "K", clientId: "u" });
  await settle();
  t.equal(tcp.sockets.length, 0, "no plain TCP socket");
  t.equal(tls.sockets.length, 2);
  const a = tls.sockets[0].options;
  t.equal(a.port, 8883);
  t.deepEqual(a.secure, { rejectUnauthorized: false, ca: "CA-PEM", servername: "secure.example" });
  const b = tls.sockets[1].options;
  t.equal(b.port, 8883, "cert+key turn mqtt into mqtts, as MQTT.js does");
  t.deepEqual(b.secure, { rejectUnauthorized: true, cert: "C", key: "K", servername: "other.example" });
});

test("option checks: clean false needs a clientId; ws is not supported; default clientId", async (t) => {
  const { tcp, connect } = setup();
  t.throws(() => connect("mqtt://h", { clean: false }), (e: unknown) => e instanceof Error && /Missing clientId/.test(e.message));
  t.throws(() => connect("ws://h"), TypeError);
  t.throws(() => connect("mqtt://h", { protocolVersion: 3 as 4 }), RangeError, "MQTT 3.1 unsupported");
  const host = { TCP: tcp.TCP, timer: new FakeClock().timer };
  t.throws(() => bindHost(host).connect("mqtts://h"), TypeError, "no TLS class on the host");
  connect("mqtt://h");
  await settle();
  const c = accept(tcp.last);
  t.ok(/^mqttxs_[0-9a-f]{8}$/.test(c.clientId), `generated id ${c.clientId}`);
});

test("events: connect (CONNACK in MQTT.js shape), message (topic, payload copy, packet)", async (t) => {
  const { tcp, connect } = setup();
  const client = connect("mqtt://h", { clientId: "e" });
  const seen: unknown[] = [];
  client.on("connect", (p: CompatPacket) => seen.push(["connect", p.cmd, p.returnCode, p.sessionPresent]));
  let kept: Uint8Array | undefined;
  client.on("message", (topic: string, payload: Uint8Array, packet: CompatPacket) => {
    kept = payload;
    seen.push(["message", topic, text(payload), packet.cmd, packet.qos, packet.messageId, packet.retain]);
  });
  await settle();
  const s = tcp.last;
  accept(s);
  s.deliver(wire({ type: 3, topic: "x/y", payload: ascii("hello"), qos: 1, packetId: 9, retain: true, dup: false }));
  s.deliver(wire({ type: 3, topic: "x/z", payload: ascii("WORLD"), qos: 0, retain: false, dup: false }));
  t.deepEqual(seen, [
    ["connect", "connack", 0, false],
    ["message", "x/y", "hello", "publish", 1, 9, true],
    ["message", "x/z", "WORLD", "publish", 0, undefined, false],
  ]);
  t.equal(text(kept!), "WORLD", "the payload given to the listener stays valid (a copy)");
  client.end(true);
});

test("subscribe: string, array with options, object map; callback gets the granted list", async (t) => {
  const { tcp, connect } = setup();
  const client = connect("mqtt://h", { clientId: "s" });
  const grants: Array<[Error | null, ISubscriptionGrant[] | undefined]> = [];
  client.subscribe("one", (e, g) => grants.push([e, g]));
  client.subscribe(["two", "three"], { qos: 1 }, (e, g) => grants.push([e, g]));
  client.subscribe({ four: { qos: 2 }, five: { qos: 0 } }, (e, g) => grants.push([e, g]));
  await settle();
  const s = tcp.last;
  accept(s);
  const subs = s.packets() as SubscribePacket[];
  t.deepEqual(types(subs), [8, 8, 8], "the three requests made offline are sent after the CONNACK, in order");
  t.deepEqual(
    subs.map((p) => p.subscriptions.map((x) => [x.topic, x.qos])),
    [[["one", 0]], [["two", 1], ["three", 1]], [["four", 2], ["five", 0]]],
  );
  s.deliver(wire({ type: 9, packetId: subs[0].packetId, reasonCodes: [0] }));
  s.deliver(wire({ type: 9, packetId: subs[1].packetId, reasonCodes: [1, 0x80] }));
  s.deliver(wire({ type: 9, packetId: subs[2].packetId, reasonCodes: [2, 0] }));
  t.deepEqual(grants[0], [null, [{ topic: "one", qos: 0 }]]);
  t.ok(grants[1][0] instanceof MqttError, "a failure code gives an error");
  t.equal((grants[1][0] as MqttError).reasonCode, 0x80);
  t.deepEqual(grants[1][1], [
    { topic: "two", qos: 1 },
    { topic: "three", qos: 0x80 },
  ], "granted list still given, with the failure code as qos");
  t.deepEqual(grants[2], [null, [{ topic: "four", qos: 2 }, { topic: "five", qos: 0 }]]);
  client.end(true);
});

test("subscribe: an invalid filter calls back with an error on a later turn; an already granted filter is skipped", async (t) => {
  const { tcp, connect } = setup();
  const client = connect("mqtt://h", { clientId: "s2" });
  const results: unknown[] = [];
  let sync = true;
  client.subscribe("bad/#/x", (e) => results.push(["bad", e instanceof Error, sync]));
  sync = false;
  await settle();
  const s = tcp.last;
  accept(s);
  client.subscribe("dup", { qos: 1 }, (e, g) => results.push(["first", e, g]));
  const sub = s.packets()[0] as SubscribePacket;
  s.deliver(wire({ type: 9, packetId: sub.packetId, reasonCodes: [1] }));
  client.subscribe("dup", { qos: 1 }, (e, g) => results.push(["again", e, g]));
  t.deepEqual(types(s.packets()), [], "no second SUBSCRIBE for the same filter and QoS (MQTT.js)");
  t.deepEqual(results, [
    ["bad", true, false],
    ["first", null, [{ topic: "dup", qos: 1 }]],
    ["again", null, []],
  ]);
  client.end(true);
});

test("publish forms: (topic, msg), (topic, msg, cb), (topic, msg, opts, cb); QoS 1 callback on PUBACK with the ack", async (t) => {
  const { tcp, connect } = setup();
  const client = connect("mqtt://h", { clientId: "p" });
  await settle();
  const s = tcp.last;
  accept(s);
  const log: unknown[] = [];
  client.publish("a", "plain");
  client.publish("b", ascii("bytes"), (e?: Error | null) => log.push(["b", e]));
  client.publish("c", "one", { qos: 1, retain: true }, (e, p) => log.push(["c", e, p?.cmd, p?.messageId]));
  const out = s.packets() as PublishPacket[];
  t.deepEqual(
    out.map((p) => [p.topic, text(p.payload), p.qos, p.retain]),
    [
      ["a", "plain", 0, false],
      ["b", "bytes", 0, false],
      ["c", "one", 1, true],
    ],
  );
  t.deepEqual(log, [["b", undefined]], "QoS 0 callback once written; QoS 1 waits");
  s.deliver(wire({ type: 4, packetId: out[2].packetId!, reasonCode: 0 }));
  t.deepEqual(log[1], ["c", null, "puback", out[2].packetId]);
  const ack = client.publishAsync("d", "async", { qos: 1 });
  const d = s.packets()[0] as PublishPacket;
  s.deliver(wire({ type: 4, packetId: d.packetId!, reasonCode: 0 }));
  const packet = await ack;
  t.equal(packet?.cmd, "puback", "publishAsync resolves with the ack");
  client.end(true);
});

test("publish errors go to the callback, or to 'error' without one; never thrown", async (t) => {
  const { connect } = setup();
  const client = connect("mqtt://h", { clientId: "pe" });
  const errors: unknown[] = [];
  client.on("error", (e: unknown) => errors.push(e));
  let cbError: unknown;
  client.publish("bad/+", "x", (e) => (cbError = e));
  client.publish("bad/#", "x");
  await settle();
  t.ok(cbError instanceof TypeError, "invalid topic name to the callback");
  t.ok(errors[0] instanceof TypeError, "and to 'error' without a callback");
  client.end(true);
});

test("unsubscribe forms and unsubscribeAsync", async (t) => {
  const { tcp, connect } = setup(5);
  const client = connect("mqtt://h", { clientId: "u", protocolVersion: 5 });
  await settle();
  const s = tcp.last;
  accept(s, 5);
  const acks: unknown[] = [];
  client.unsubscribe("a", (e, p) => acks.push([e, p?.cmd, p?.granted]));
  client.unsubscribe(["b", "c"], { properties: { userProperties: { why: "test" } } }, (e, p) => acks.push([e, p?.cmd]));
  const out = s.packets() as UnsubscribePacket[];
  t.deepEqual(out.map((p) => p.topics), [["a"], ["b", "c"]]);
  t.deepEqual(out[1].properties?.userProperties, [["why", "test"]], "user properties object -> wire pairs");
  s.deliver(wire({ type: 11, packetId: out[0].packetId, reasonCodes: [0x11] }, 5));
  s.deliver(wire({ type: 11, packetId: out[1].packetId, reasonCodes: [0, 0] }, 5));
  t.deepEqual(acks, [
    [null, "unsuback", [0x11]],
    [null, "unsuback"],
  ]);
  const p = client.unsubscribeAsync("z");
  const z = s.packets()[0] as UnsubscribePacket;
  s.deliver(wire({ type: 11, packetId: z.packetId, reasonCodes: [0] }, 5));
  t.equal((await p)?.cmd, "unsuback");
  client.end(true);
});

test("end() forms: end(cb), end(true), end(true, cb), end(false, opts, cb), endAsync", async (t) => {
  const { tcp, connect } = setup(5);
  const make = async (): Promise<[ReturnType<typeof connect>, FakeSocket]> => {
    const c = connect("mqtt://h", { clientId: "x", protocolVersion: 5 });
    await settle();
    const s = tcp.last;
    accept(s, 5);
    s.packets();
    return [c, s];
  };
  const log: string[] = [];
  let [c, s] = await make();
  c.on("end", () => log.push("end event"));
  c.end(() => log.push("cb"));
  t.deepEqual(types(s.packets()), [14], "end(cb): DISCONNECT");
  t.deepEqual(log, ["end event", "cb"]);
  t.ok(c.disconnected && c.disconnecting);
  [c, s] = await make();
  c.end(true);
  t.deepEqual(types(s.packets()), [], "end(true): no DISCONNECT");
  t.ok(s.closed);
  [c, s] = await make();
  let forced = false;
  c.end(true, () => (forced = true));
  t.ok(forced, "end(true, cb)");
  [c, s] = await make();
  let reasoned = false;
  c.end(false, { reasonCode: 4 }, () => (reasoned = true));
  const d = s.packets()[0] as DisconnectPacket;
  t.equal(d.reasonCode, 4, "end(false, { reasonCode: 4 }): DISCONNECT with Will");
  t.ok(reasoned);
  let again = false;
  c.end(() => (again = true));
  t.ok(again, "a second end calls back at once");
  [c, s] = await make();
  await c.endAsync();
  t.ok(s.closed, "endAsync resolves once closed");
});

test("end() waits for in-flight QoS 1 by default", async (t) => {
  const { tcp, connect } = setup();
  const client = connect("mqtt://h", { clientId: "w" });
  await settle();
  const s = tcp.last;
  accept(s);
  client.publish("q", "1", { qos: 1 });
  const pub = s.packets()[0] as PublishPacket;
  let ended = false;
  client.end(() => (ended = true));
  t.deepEqual(types(s.packets()), [], "no DISCONNECT yet");
  t.notOk(ended);
  s.deliver(wire({ type: 4, packetId: pub.packetId!, reasonCode: 0 }));
  t.deepEqual(types(s.packets()), [14]);
  t.ok(ended);
});

test("publish/subscribe after end() call back with 'client disconnecting'", async (t) => {
  const { connect } = setup();
  const client = connect("mqtt://h", { clientId: "d" });
  client.end();
  const errors: unknown[] = [];
  client.publish("a", "b", (e) => errors.push(e));
  client.subscribe("a", (e) => errors.push(e));
  t.equal(errors.length, 2);
  t.ok(errors.every((e) => e instanceof MqttError && e.code === ErrorCode.Closed && /disconnecting/.test(e.message)));
});

test("lost connection: error, offline, close, then reconnect and connect; flags follow", async (t) => {
  const { clock, tcp, connect } = setup();
  const client = connect("mqtt://h", { clientId: "r" });
  const log: string[] = [];
  for (const name of ["connect", "offline", "close", "reconnect", "end"]) client.on(name, () => log.push(name));
  client.on("error", (e: MqttError) => log.push(`error ${e.code.toString(16)}`));
  await settle();
  accept(tcp.last);
  t.ok(client.connected);
  tcp.last.fail({ name: "Error", message: "reset", code: "ECONNRESET" });
  t.deepEqual(log, ["connect", `error ${ErrorCode.ConnectionLost.toString(16)}`, "offline", "close"]);
  t.ok(client.reconnecting);
  t.notOk(client.connected);
  clock.fireNext();
  t.equal(tcp.sockets.length, 2);
  tcp.last.fail({ name: "Error", message: "refused", code: "ECONNREFUSED" });
  t.deepEqual(log.slice(4), ["reconnect", `error ${ErrorCode.ConnectionLost.toString(16)}`, "close"], "offline only once while reconnecting");
  clock.fireNext();
  accept(tcp.last);
  t.deepEqual(log.slice(7), ["reconnect", "connect"]);
  t.notOk(client.reconnecting);
  t.ok(client.connected);
  tcp.last.fail({ name: "Error", message: "peer closed", code: "EOF" });
  t.deepEqual(log.slice(9), ["offline", "close"], "an orderly close by the peer is not an error");
  client.end();
  t.deepEqual(log.slice(11), ["end"]);
});

test("reconnectPeriod 0: no reconnect, no offline", async (t) => {
  const { clock, tcp, connect } = setup();
  const client = connect("mqtt://h", { clientId: "n", reconnectPeriod: 0 });
  const log: string[] = [];
  for (const name of ["offline", "close", "reconnect"]) client.on(name, () => log.push(name));
  await settle();
  accept(tcp.last);
  tcp.last.fail();
  clock.advance(600000);
  t.deepEqual(log, ["close"]);
  t.equal(tcp.sockets.length, 1);
});

test("queueQoSZero false: a QoS 0 publish while offline calls back with an error", async (t) => {
  const { connect } = setup();
  const client = connect("mqtt://h", { clientId: "z", queueQoSZero: false });
  let error: unknown;
  client.publish("t", "x", (e) => (error = e));
  await settle();
  t.ok(error instanceof MqttError && error.code === ErrorCode.NotConnected);
  client.end(true);
});

test("connectAsync resolves on connect; rejects on a refused CONNACK with the reason code", async (t) => {
  const { tcp, connectAsync } = setup(5);
  const ok = connectAsync("mqtt://h", { clientId: "a", protocolVersion: 5 });
  await settle();
  accept(tcp.last, 5);
  const client = await ok;
  t.ok(client.connected);
  client.end(true);
  const refused = connectAsync("mqtt://h", { clientId: "b", protocolVersion: 5, username: "u", password: "wrong" });
  await settle();
  const s = tcp.last;
  s.open();
  s.packets();
  s.deliver(wire({ type: 2, sessionPresent: false, reasonCode: 0x86 }, 5));
  try {
    await refused;
    t.fail("should reject");
  } catch (e) {
    t.ok(e instanceof MqttError);
    t.equal((e as MqttError).reasonCode, 0x86, "bad user name or password");
  }
});

test("v5 properties: user properties object in, wire pairs; pairs in, object out; connect properties", async (t) => {
  const { tcp, connect } = setup(5);
  const client = connect("mqtt://h", {
    clientId: "v5",
    protocolVersion: 5,
    properties: { sessionExpiryInterval: 60, userProperties: { app: "test" } },
  });
  let received: CompatPacket | undefined;
  client.on("message", (_t: string, _p: Uint8Array, packet: CompatPacket) => (received = packet));
  await settle();
  const s = tcp.last;
  const c = accept(s, 5);
  t.equal(c.properties?.sessionExpiryInterval, 60);
  t.deepEqual(c.properties?.userProperties, [["app", "test"]]);
  client.publish("t", "x", { qos: 0, properties: { userProperties: { k: ["1", "2"] }, contentType: "text/plain" } });
  const pub = s.packets()[0] as PublishPacket;
  t.deepEqual(pub.properties?.userProperties, [
    ["k", "1"],
    ["k", "2"],
  ]);
  t.equal(pub.properties?.contentType, "text/plain");
  s.deliver(
    wire(
      {
        type: 3,
        topic: "in",
        payload: ascii("p"),
        qos: 0,
        retain: false,
        dup: false,
        properties: { userProperties: [["a", "1"], ["a", "2"], ["b", "3"]], correlationData: ascii("id") },
      },
      5,
    ),
  );
  const props = received?.properties as { userProperties: unknown; correlationData: Uint8Array };
  t.deepEqual(props.userProperties, { a: ["1", "2"], b: "3" }, "repeated names become an array (mqtt-packet)");
  t.equal(text(props.correlationData), "id");
  client.end(true);
});

test("a throwing 'message' listener: emitted as 'error' when the user listens, rethrown when only the default listener is there", async (t) => {
  const { tcp, connect } = setup();
  const a = connect("mqtt://h", { clientId: "t1" });
  const errors: unknown[] = [];
  a.on("error", (e: unknown) => errors.push(e));
  a.on("message", () => {
    throw new Error("listener bug");
  });
  await settle();
  accept(tcp.last);
  tcp.last.deliver(wire({ type: 3, topic: "x", payload: ascii("1"), qos: 0, retain: false, dup: false }));
  t.equal((errors[0] as Error).message, "listener bug");
  a.end(true);

  const b = connect("mqtt://h", { clientId: "t2" });
  b.on("message", () => {
    throw new Error("nobody listens");
  });
  await settle();
  accept(tcp.last);
  t.throws(
    () => tcp.last.deliver(wire({ type: 3, topic: "x", payload: ascii("1"), qos: 0, retain: false, dup: false })),
    (e: unknown) => e instanceof Error && e.message === "nobody listens",
    "not swallowed by the no-op listener connect() installs",
  );
  b.end(true);
});

test("packetsend/packetreceive in MQTT.js shape", async (t) => {
  const { tcp, connect } = setup();
  const client = connect("mqtt://h", { clientId: "pk" });
  const sent: string[] = [];
  const received: string[] = [];
  client.on("packetsend", (p: CompatPacket) => sent.push(p.cmd));
  client.on("packetreceive", (p: CompatPacket) => received.push(p.cmd));
  await settle();
  accept(tcp.last);
  client.subscribe("x");
  t.deepEqual(sent, ["connect", "subscribe"]);
  t.deepEqual(received, ["connack"]);
  client.end(true);
});

test("manualConnect waits for connect()", async (t) => {
  const { tcp, connect } = setup();
  const client = connect("mqtt://h", { clientId: "m", manualConnect: true });
  await settle();
  t.equal(tcp.sockets.length, 0);
  client.connect();
  t.equal(tcp.sockets.length, 1);
  client.end(true);
});

test("reconnect(): one 'reconnect' event, whether waiting for the backoff or ended", async (t) => {
  const { tcp, connect } = setup();
  const client = connect("mqtt://h", { clientId: "rc" });
  let reconnects = 0;
  client.on("reconnect", () => (reconnects += 1));
  await settle();
  accept(tcp.last);
  tcp.last.fail();
  client.reconnect();
  t.equal(reconnects, 1, "from the backoff wait: one event");
  t.equal(tcp.sockets.length, 2, "connected at once");
  accept(tcp.last);
  client.end();
  client.reconnect();
  t.equal(reconnects, 2, "after end: one event");
  t.equal(tcp.sockets.length, 3);
  client.end(true);
});
