/**
 * Review regressions: the MQTT.js-compatible surface (compat.ts, client.ts)
 * where it behaves differently from MQTT.js 5 (checked against
 * node_modules/mqtt 5.16: build/lib/client.js `end`, `_cleanUp`,
 * `reconnect`; build/lib/handlers/index.js `disconnect`; handlers/ack.js
 * `unsuback`) in ways a program would notice.
 */
import test from "tape";
import { bindHost } from "../../modules/mqtt/compat";
import type { CompatHost, CompatPacket, MqttClient } from "../../modules/mqtt/compat";
import type { ProtocolVersion, PublishPacket, UnsubscribePacket } from "../../modules/mqtt/codec/packets";
import { FakeClock, FakeNet, acceptConnect, ascii, scriptedRandom, untilNewSocket, wire } from "./support/client-fakes";

async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

function setup(version: ProtocolVersion, options: Record<string, unknown> = {}) {
  const clock = new FakeClock();
  const net = new FakeNet(version);
  const { connect } = bindHost({ TCP: net.TCP, timer: clock.timer, now: clock.now, random: scriptedRandom(0.5) });
  const client: MqttClient = connect("mqtt://broker", { clientId: "dev", protocolVersion: version as 4 | 5, ...options });
  const events: string[] = [];
  for (const name of ["connect", "close", "end", "offline", "reconnect", "error", "disconnect"]) client.on(name, () => events.push(name));
  return { clock, net, client, events };
}

test("review: end() on a client without a connection emits 'end' and the client can connect again (reconnectPeriod 0, connection lost)", async (t) => {
  const { net, client, events } = setup(4, { reconnectPeriod: 0 });
  await settle();
  acceptConnect(net);
  net.last.fail({ code: "EOF" } as never); // the broker went away; no reconnect with reconnectPeriod 0
  let called = false;
  client.end(() => (called = true));
  await settle();
  t.ok(called, "end callback called");
  t.ok(events.indexOf("end") >= 0, `'end' emitted, as MQTT.js does (events: ${events.join(", ")})`);
  t.ok(client.disconnected, "disconnected is true");
  const sockets = net.sockets.length;
  client.reconnect();
  await settle();
  t.equal(net.sockets.length, sockets + 1, "reconnect() after end() opens a new connection");
});

test("review: end() before any connection (manualConnect) emits 'end'; connect() afterwards connects", async (t) => {
  const { net, client, events } = setup(4, { manualConnect: true });
  client.end();
  await settle();
  t.ok(events.indexOf("end") >= 0, `'end' emitted (events: ${events.join(", ")})`);
  client.connect();
  await settle();
  t.equal(net.sockets.length, 1, "connect() after end() opens a connection");
});

test("review: a v5 DISCONNECT from the broker emits 'disconnect', not 'error' (MQTT.js handlers/index.js)", async (t) => {
  const { net, events } = setup(5);
  await settle();
  const socket = acceptConnect(net, false, 5);
  socket.deliver(wire({ type: 14, reasonCode: 0x8b }, 5)); // Server shutting down
  t.ok(events.indexOf("disconnect") >= 0, "'disconnect' emitted");
  t.equal(events.indexOf("error"), -1, `no 'error' event (events: ${events.join(", ")})`);
});

test("review: publish with a caller-set topicAlias property (MQTT.js manual aliases) is sent, not refused", async (t) => {
  const { net, client } = setup(5);
  await settle();
  const socket = acceptConnect(net, false, 5);
  socket.packets();
  let result: unknown = "pending";
  client.publish("sensors/soil/1", "42", { qos: 0, properties: { topicAlias: 1 } }, (error) => (result = error ?? "ok"));
  await settle();
  const sent = socket.packets().filter((p) => p.type === 3) as PublishPacket[];
  t.equal(result, "ok", `callback without error (got ${String(result)})`);
  t.equal(sent.length, 1, "the PUBLISH went out");
  t.equal(sent.length > 0 ? sent[0].topic : undefined, "sensors/soil/1", "with its topic");
});

test("review: a v5 UNSUBACK failure reason code is passed in the packet, the callback error stays null (MQTT.js handlers/ack.js)", async (t) => {
  const { net, client } = setup(5);
  await settle();
  const socket = acceptConnect(net, false, 5);
  socket.packets();
  const results: unknown[] = [];
  client.unsubscribe("a/b", (error, packet) => results.push(error, packet?.granted));
  const unsubscribe = socket.packets().find((p) => p.type === 10) as UnsubscribePacket;
  socket.deliver(wire({ type: 11, packetId: unsubscribe.packetId, reasonCodes: [0x87] }, 5));
  await settle();
  t.equal(results[0], null, `error is null (got ${String(results[0])})`);
  t.deepEqual(results[1], [0x87], "the reason code is in packet.granted");
});

test("review: reconnect() while connected does not fail an in-flight QoS 1 publish, and leaves disconnected false", async (t) => {
  const { clock, net, client } = setup(4);
  await settle();
  const first = acceptConnect(net);
  const outcomes: unknown[] = [];
  client.publish("a/b", "x", { qos: 1 }, (error) => outcomes.push(error ?? "ok"));
  const published = first.packets().find((p) => p.type === 3) as PublishPacket;
  client.reconnect();
  await settle();
  if (!first.closed) {
    // MQTT.js: end() waits for the in-flight message before DISCONNECT.
    first.deliver(wire({ type: 4, packetId: published.packetId!, reasonCode: 0 }));
    await settle();
  }
  if (net.last === first) untilNewSocket(clock, net);
  await settle();
  if (net.last !== first) {
    const second = acceptConnect(net);
    const resent = second.packets().find((p) => p.type === 3) as PublishPacket | undefined;
    if (resent !== undefined) second.deliver(wire({ type: 4, packetId: resent.packetId!, reasonCode: 0 }));
  }
  await settle();
  t.deepEqual(outcomes, ["ok"], `the publish callback ran once, without error (got ${outcomes.map(String).join(", ")})`);
  t.ok(client.connected, "connected again");
  t.notOk(client.disconnected, "disconnected is false while connected");
});

test("review: a packetsend listener added after repeated QoS 0 publishes sees every later PUBLISH (the client's repeat path yields to packet events)", async (t) => {
  const clock = new FakeClock();
  const tcp = new FakeNet(4);
  const host: CompatHost = { TCP: tcp.TCP, TLS: tcp.TCP, timer: clock.timer, now: clock.now, random: scriptedRandom(0.5) };
  const { connect } = bindHost(host);
  const client = connect("mqtt://h", { clientId: "pk" });
  for (let i = 0; i < 5; i++) await Promise.resolve();
  const socket = acceptConnect(tcp, false, 4);
  socket.packets();
  client.publish("a/b", ascii("1111"));
  client.publish("a/b", ascii("2222"));
  const sent: string[] = [];
  client.on("packetsend", (p: CompatPacket) => sent.push(p.cmd));
  client.publish("a/b", ascii("3333"));
  client.publish("a/b", ascii("4444"));
  t.equal(socket.packets().filter((p) => p.type === 3).length, 4, "4 PUBLISH on the wire");
  t.deepEqual(sent, ["publish", "publish"], "packetsend for the two written after the listener was added");
  client.end(true);
});
