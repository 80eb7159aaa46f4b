/**
 * Interop with the client INSIDE the XS engine (hosts/xsnap: an xsnap
 * worker whose ECMA-419 sockets and timers are bridged to Node), against
 * real brokers on 127.0.0.1: Mosquitto (3.1.1 and 5.0, plus TLS) and aedes
 * (3.1.1; it refuses v5). The round-trip scenarios are written once
 * against the client factory (test/support/client-factory.ts) and run with
 * the client on Node and in XS, so the two hosts are held to the same
 * results. The rest is XS-specific: keepalive through bridged timers, a
 * socket closed under the client, flow control with a tiny window, bundles
 * loaded next to the client, and errors inside XS surfacing with the XS
 * message.
 *
 * Node-only (spawns Mosquitto and xsnap workers, runs aedes in process).
 */
import test from "tape";
import { ErrorCode, MqttError } from "../../hosts/node/mqtt";
import { XsError, XsHost } from "../../hosts/xsnap/host";
import type { XsMqttClient } from "../../hosts/xsnap/xs-mqtt-client";
import { clientFactories } from "../support/client-factory";
import type { ClientFactory, MqttClientLike } from "../support/client-factory";
import { startMosquitto } from "../support/mosquitto";
import type { MosquittoBroker } from "../support/mosquitto";
import { startAedes } from "../support/aedes";
import type { AedesBroker } from "../support/aedes";
import { delay, waitUntil } from "../support/net-util";
import type { IClientOptions } from "../../modules/mqtt/compat";

interface Target {
  name: string;
  url: () => string;
  version: 4 | 5;
}

interface Received {
  topic: string;
  payload: string;
  qos: number;
  retain: boolean;
}

let mosquitto: MosquittoBroker | undefined;
let aedes: AedesBroker | undefined;
let factories: ClientFactory[] = [];
let xs: XsHost | undefined;
let serial = 0;

const targets: Target[] = [
  { name: "mosquitto 3.1.1", url: () => mosquitto!.url, version: 4 },
  { name: "mosquitto 5.0", url: () => mosquitto!.url, version: 5 },
  { name: "aedes 3.1.1", url: () => aedes!.url, version: 4 },
];

function collect(client: MqttClientLike): Received[] {
  const received: Received[] = [];
  client.on("message", (topic: string, payload: Uint8Array, packet: { qos: number; retain: boolean }) => {
    received.push({ topic, payload: Buffer.from(payload).toString(), qos: packet.qos, retain: packet.retain });
  });
  return received;
}

function open(factory: ClientFactory, target: Target, options: IClientOptions = {}): Promise<MqttClientLike> {
  serial += 1;
  return factory.connectAsync(target.url(), {
    protocolVersion: target.version,
    clientId: `xsit-${factory.name}-${serial}`,
    reconnectPeriod: 0,
    ...options,
  });
}

test("start brokers and hosts", async (t) => {
  mosquitto = await startMosquitto({ users: { alice: "secret" }, allowAnonymous: true, tls: true });
  aedes = await startAedes();
  factories = await clientFactories();
  xs = factories.find((f) => f.name === "xs")!.xs;
  t.ok(mosquitto.port > 0 && aedes.port > 0, `mosquitto :${mosquitto.port}, aedes :${aedes.port}`);
  t.ok(xs!.worker.pid > 0, `xsnap worker pid ${xs!.worker.pid}`);
});

// ---- scenarios written once, run on Node and in XS -------------------------

for (const target of targets) {
  for (const index of [0, 1]) {
    const label = () => `${factories[index]?.name ?? "?"} client`;
    test(`${target.name}, client on ${index === 0 ? "node" : "xs"}: QoS 0, 1 and 2 round trips, acks after PUBACK/PUBCOMP`, async (t) => {
      const factory = factories[index];
      const sub = await open(factory, target);
      const pub = await open(factory, target);
      t.ok(sub.connected && pub.connected, `${label()}s connected`);
      const received = collect(sub);
      const base = `xsrt/${serial}`;
      const granted = await sub.subscribeAsync(`${base}/#`, { qos: 2 });
      t.deepEqual(granted.map((g) => g.qos), [2], "granted QoS 2");
      const acks: Array<string | undefined> = [];
      for (const qos of [0, 1, 2] as const) {
        const packet = await pub.publishAsync(`${base}/q${qos}`, `payload ${qos}`, { qos });
        acks.push(packet?.cmd as string | undefined);
      }
      t.deepEqual(acks, [undefined, "puback", "pubcomp"], "QoS 0 resolves on write, QoS 1 on PUBACK, QoS 2 on PUBCOMP");
      await waitUntil(() => received.length >= 3, 5000, "three messages", () => JSON.stringify(received));
      await delay(50);
      t.deepEqual(
        received,
        [0, 1, 2].map((qos) => ({ topic: `${base}/q${qos}`, payload: `payload ${qos}`, qos, retain: false })),
        "each delivered once, with its QoS",
      );
      await pub.endAsync();
      await sub.endAsync();
      t.ok(sub.disconnected && !sub.connected, "flags after end");
    });
  }
}

for (const index of [0, 1]) {
  test(`mosquitto 5.0, client on ${index === 0 ? "node" : "xs"}: binary payload and user properties arrive intact`, async (t) => {
    const factory = factories[index];
    const target = targets[1];
    const sub = await open(factory, target);
    const pub = await open(factory, target);
    const got: Array<{ payload: Buffer; properties: unknown }> = [];
    sub.on("message", (_topic: string, payload: Buffer, packet: { properties?: unknown }) => got.push({ payload, properties: packet.properties }));
    const topic = `xsbin/${serial}`;
    await sub.subscribeAsync(topic, { qos: 1 });
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    await pub.publishAsync(topic, bytes, { qos: 1, properties: { userProperties: { who: "xs", n: ["1", "2"] }, correlationData: Buffer.from([0, 255]) } });
    await waitUntil(() => got.length >= 1, 5000, "binary message");
    t.ok(Buffer.isBuffer(got[0].payload), "payload is a Buffer");
    t.deepEqual(Array.from(got[0].payload), Array.from(bytes), "all 256 byte values, in order");
    const props = got[0].properties as { userProperties?: unknown; correlationData?: Buffer };
    t.deepEqual(props.userProperties, { who: "xs", n: ["1", "2"] }, "user properties, repeated name kept as a list");
    t.deepEqual(Array.from(props.correlationData ?? []), [0, 255], "correlation data bytes");
    await Promise.all([pub.endAsync(), sub.endAsync()]);
  });

  test(`mosquitto 3.1.1, client on ${index === 0 ? "node" : "xs"}: a wrong password is a ConnectionRefused MqttError with the return code`, async (t) => {
    const factory = factories[index];
    try {
      await factory.connectAsync(mosquitto!.url, { clientId: `badpw-${index}`, username: "alice", password: "wrong", reconnectPeriod: 0 });
      t.fail("connected with a wrong password");
    } catch (error) {
      t.ok(error instanceof MqttError, `an MqttError (${(error as Error).message})`);
      t.equal((error as MqttError).code, ErrorCode.ConnectionRefused, "code ConnectionRefused");
      const rc = (error as MqttError).reasonCode;
      t.ok(rc === 4 || rc === 5, `CONNACK return code ${rc}`);
      t.equal((error as MqttError).source, "remote", "source remote");
    }
  });

  test(`mosquitto TLS, client on ${index === 0 ? "node" : "xs"}: mqtts with the CA verifies and round-trips; a wrong CA fails with TlsError`, async (t) => {
    const factory = factories[index];
    const url = mosquitto!.tlsUrl!;
    const ca = mosquitto!.pki!.caCertPem;
    const client = await factory.connectAsync(url, { clientId: `tls-${index}`, ca, reconnectPeriod: 0 });
    const received = collect(client);
    await client.subscribeAsync("xstls/t", { qos: 1 });
    await client.publishAsync("xstls/t", "secret", { qos: 1 });
    await waitUntil(() => received.length >= 1, 5000, "TLS message");
    t.equal(received[0].payload, "secret", "round trip over TLS");
    await client.endAsync();
    const otherCa = mosquitto!.pki!.clientCertPem; // a certificate that did not sign the server's
    try {
      await factory.connectAsync(url, { clientId: `tlsbad-${index}`, ca: otherCa, reconnectPeriod: 0 });
      t.fail("connected with the wrong CA");
    } catch (error) {
      t.ok(error instanceof MqttError, `an MqttError (${(error as Error).message})`);
      t.equal((error as MqttError).code, ErrorCode.TlsError, "code TlsError");
    }
  });
}

// ---- XS specifics -----------------------------------------------------------

test("xs: keepalive runs on bridged timers (PINGREQ sent, PINGRESP received; aedes sees the ping)", async (t) => {
  const factory = factories[1];
  let brokerPings = 0;
  const onPing = (): void => {
    brokerPings += 1;
  };
  aedes!.broker.on("ping", onPing);
  for (const target of [targets[1], targets[2]]) {
    const client = factory.connect(target.url(), { protocolVersion: target.version, clientId: `ka-${serial++}`, keepalive: 1, reconnectPeriod: 0 });
    const sent: string[] = [];
    const got: string[] = [];
    client.on("packetsend", (packet: { cmd: string }) => sent.push(packet.cmd));
    client.on("packetreceive", (packet: { cmd: string }) => got.push(packet.cmd));
    const started = Date.now();
    await waitUntil(() => got.includes("pingresp"), 4000, `${target.name}: PINGRESP`, () => `sent ${sent} got ${got}`);
    const elapsed = Date.now() - started;
    t.deepEqual(sent.slice(0, 2), ["connect", "pingreq"], `${target.name}: CONNECT then PINGREQ`);
    t.ok(elapsed >= 900, `${target.name}: first PINGREQ after about the keepalive (${elapsed} ms)`);
    await client.endAsync();
  }
  aedes!.broker.off("ping", onPing);
  t.ok(brokerPings >= 1, `aedes received ${brokerPings} PINGREQ`);
});

test("xs: a socket closed by the broker is seen (close, offline), then the client reconnects by itself", async (t) => {
  const factory = factories[1];
  const events: string[] = [];
  const client = factory.connect(aedes!.url, { clientId: "xs-drop", reconnectPeriod: 100 });
  for (const name of ["connect", "close", "offline", "reconnect"]) client.on(name, () => events.push(name));
  await waitUntil(() => events.includes("connect"), 5000, "first connect");
  const conn = await new Promise<{ conn: { destroy(): void } }>((resolve) => {
    for (const c of Object.values((aedes!.broker as unknown as { clients: Record<string, { conn: { destroy(): void } }> }).clients)) resolve(c);
  });
  conn.conn.destroy();
  await waitUntil(() => events.filter((e) => e === "connect").length >= 2, 5000, "reconnected", () => events.join(","));
  // MQTT.js emits `offline` from its own `close` listener, which runs before the user's.
  t.deepEqual(events, ["connect", "offline", "close", "reconnect", "connect"], "MQTT.js event order across the drop");
  t.ok(client.connected && !client.reconnecting, "connected again, flags mirrored");
  await client.endAsync();
});

test("xs: abrupt close (end(true)) makes the broker publish the Will; a clean end does not", async (t) => {
  const factory = factories[1];
  const watcher = await open(factories[0], targets[0]);
  const received = collect(watcher);
  const willTopic = `xswill/${serial}`;
  await watcher.subscribeAsync(`${willTopic}/#`, { qos: 1 });
  const clean = await open(factory, targets[0], { will: { topic: `${willTopic}/clean`, payload: "gone", qos: 1 } });
  await clean.endAsync();
  const abrupt = await open(factory, targets[0], { will: { topic: `${willTopic}/abrupt`, payload: "offline", qos: 1 } });
  abrupt.end(true);
  await waitUntil(() => received.length >= 1, 5000, "will message");
  await delay(200);
  t.deepEqual(received.map((r) => [r.topic, r.payload]), [[`${willTopic}/abrupt`, "offline"]], "only the abrupt one");
  await watcher.endAsync();
});

for (const index of [0, 1]) {
  test(`aedes 3.1.1, client on ${index === 0 ? "node" : "xs"}: 20 messages of 12 KB (split across socket reads) arrive intact and in order`, async (t) => {
    const factory = factories[index];
    const sub = await open(factory, targets[2]);
    const got: Buffer[] = [];
    const errors: string[] = [];
    sub.on("message", (_topic: string, payload: Buffer) => got.push(payload));
    sub.on("error", (error: Error) => errors.push(error.message));
    await sub.subscribeAsync("xsbig/#", { qos: 1 });
    const pub = await open(factories[0], targets[2], { outboxBytes: 300_000 });
    for (let i = 0; i < 20; i++) pub.publish(`xsbig/${i}`, Buffer.alloc(12000, i + 1), { qos: 1 });
    await waitUntil(() => got.length >= 20 || errors.length > 0, 10000, "20 large messages", () => `${got.length}`);
    t.deepEqual(errors, [], "no error on the subscriber");
    t.equal(got.length, 20, "20 messages");
    t.ok(
      got.length === 20 && got.every((payload, i) => payload.length === 12000 && payload.every((b) => b === i + 1)),
      "every byte of every message, in publish order",
    );
    await pub.endAsync();
    sub.end(true);
  });
}

/** A Node server for the raw-socket tests: sends `send` bytes (pattern i*7) and closes, or collects what it gets. */
async function rawServer(send: number): Promise<{ port: number; received: () => Buffer; closed: Promise<void>; stop: () => Promise<void> }> {
  const { createServer } = await import("node:net");
  const chunks: Buffer[] = [];
  let closedResolve: () => void = () => {};
  const closed = new Promise<void>((resolve) => (closedResolve = resolve));
  const server = createServer((socket) => {
    socket.on("data", (chunk) => chunks.push(chunk));
    socket.on("close", () => closedResolve());
    socket.on("error", () => {});
    if (send > 0) socket.end(Buffer.from(Uint8Array.from({ length: send }, (_, i) => (i * 7) & 255)));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const port = (server.address() as { port: number }).port;
  return { port, received: () => Buffer.concat(chunks), closed, stop: () => new Promise((resolve) => server.close(() => resolve())) };
}

const RAW_SOCKET_SCRIPT = `
(function () {
  const h = globalThis.xsnapHost;
  h.register("raw.read", function (port, slow) {
    return new Promise(function (resolve) {
      let total = 0, bad = 0, maxCount = 0, timer = 0;
      const scratch = new Uint8Array(700);
      function drain(socket, limit) {
        const view = limit < scratch.length ? scratch.subarray(0, limit) : scratch;
        const n = socket.read(view);
        if (n === undefined) return;
        for (let i = 0; i < n; i++) if (view[i] !== (((total + i) * 7) & 255)) bad++;
        total += n;
      }
      const socket = new h.TCP({
        address: "127.0.0.1", port: port,
        onReadable: function (count) {
          if (count > maxCount) maxCount = count;
          if (slow) return;
          for (let before = -1; before !== total; ) { before = total; drain(this, 700); }
        },
        onError: function (error) { if (timer) h.timer.clear(timer); this.close(); resolve({ total: total, bad: bad, maxCount: maxCount, code: error && error.code }); },
      });
      if (slow) timer = h.timer.repeat(function () { drain(socket, 700); }, 1);
    });
  });
  h.register("raw.write", function (port, size) {
    return new Promise(function (resolve) {
      let sent = 0, rounds = 0, overflow = "";
      const chunk = new Uint8Array(4096);
      new h.TCP({
        address: "127.0.0.1", port: port,
        onWritable: function (count) {
          rounds++;
          if (overflow === "") {
            try { this.write(new Uint8Array(count + 1)); overflow = "no throw"; } catch (e) { overflow = String(e.message); }
          }
          while (count > 0 && sent < size) {
            let n = Math.min(count, chunk.length, size - sent);
            for (let i = 0; i < n; i++) chunk[i] = ((sent + i) * 7) & 255;
            count = this.write(n === chunk.length ? chunk : chunk.subarray(0, n));
            sent += n;
          }
          if (sent >= size) { this.close(); resolve({ sent: sent, rounds: rounds, overflow: overflow }); }
        },
        onError: function (error) { this.close(); resolve({ sent: sent, rounds: rounds, overflow: overflow, code: error && error.code }); },
      });
    });
  });
  h.register("raw.refused", function (port) {
    return new Promise(function (resolve) {
      new h.TCP({ address: "127.0.0.1", port: port, onError: function (error) { this.close(); resolve({ name: error.name, code: error.code, layer: error.layer }); } });
    });
  });
  h.register("raw.bad", function (options) {
    try { new h.TCP(options); return "no throw"; } catch (e) { return e.name + ": " + e.message; }
  });
})();
`;

test("xs: the ECMA-419 TCP socket inside XS: flow control, backpressure, errors", async (t) => {
  // A tiny window and write budget force many partial pushes and onWritable rounds.
  const small = await XsHost.start({ window: 1000, socket: { writeHighWaterMark: 2048 } });
  try {
    await small.load(RAW_SOCKET_SCRIPT);
    const size = 200_000;
    const fastServer = await rawServer(size);
    const fast = (await small.call("raw.read", fastServer.port, false)) as { total: number; bad: number; maxCount: number; code: string };
    await fastServer.stop();
    t.deepEqual([fast.total, fast.bad, fast.code], [size, 0, "EOF"], "every byte, in order, then the peer's close as onError(EOF)");
    t.ok(fast.maxCount <= 1000, `XS never holds more than the window (max onReadable count ${fast.maxCount})`);
    const slowServer = await rawServer(size);
    const slow = (await small.call("raw.read", slowServer.port, true)) as { total: number; bad: number; maxCount: number; code: string };
    await slowServer.stop();
    t.deepEqual([slow.total, slow.bad, slow.code], [size, 0, "EOF"], "a reader draining 700 bytes per timer tick gets every byte, in order, then EOF");
    t.ok(slow.maxCount <= 1000, `still within the window (max ${slow.maxCount})`);
    const sink = await rawServer(0);
    const wrote = (await small.call("raw.write", sink.port, 100_000)) as { sent: number; rounds: number; overflow: string };
    await sink.closed;
    await sink.stop();
    const bytes = sink.received();
    t.equal(bytes.length, 100_000, "the Node peer received every byte written in XS");
    t.ok(bytes.every((b, i) => b === ((i * 7) & 255)), "in order");
    t.ok(wrote.rounds > 10, `written in ${wrote.rounds} onWritable rounds (2048-byte budget)`);
    t.ok(/exceeds the writable count/.test(wrote.overflow), `a write beyond the writable count throws: ${wrote.overflow}`);
    const free = await rawServer(0);
    const port = free.port;
    await free.stop();
    t.deepEqual(await small.call("raw.refused", port), { name: "SocketError", code: "ECONNREFUSED", layer: "tcp" }, "refused: onError with code and layer");
    t.ok(/^TypeError: .*address/.test((await small.call("raw.bad", { address: "not an ip", port: 1 })) as string), "a bad address throws TypeError from the constructor");
    t.ok(/^RangeError: .*port/.test((await small.call("raw.bad", { address: "127.0.0.1", port: 70000 })) as string), "a bad port throws RangeError");
    await small.sync();
    t.deepEqual(small.resources(), { sockets: 0, timers: 0 }, "every socket and timer released");
  } finally {
    await small.close();
  }
});

test("xs: a bundle loaded next to the client runs a sample node on XS timers and talks to Node over RPC and emit", async (t) => {
  const host = xs!;
  const watcher = await factories[0].connectAsync(aedes!.url, { clientId: "node-demo-watch", reconnectPeriod: 0 });
  const received = collect(watcher);
  await watcher.subscribeAsync("xsdemo/#", { qos: 0 });
  const emitted: Array<[string, unknown]> = [];
  host.on("emit", (name: string, value: unknown) => emitted.push([name, value]));
  await host.load(`
    (function () {
      const h = globalThis.xsnapHost;
      h.register("demo.start", function (url, count) {
        const client = h.connect(url, { clientId: "xs-sample-node", reconnectPeriod: 0 });
        let n = 0;
        client.on("connect", function () {
          const id = h.timer.repeat(function () {
            n += 1;
            client.publish("xsdemo/tick", "tick " + n);
            if (n === count) {
              h.timer.clear(id);
              client.end(false, {}, function () { h.emit("demo.done", new Uint8Array([n, 42])); });
            }
          }, 20);
        });
        return "started";
      });
      h.register("demo.sum", function (a, b) { return Promise.resolve(a + b); });
    })();
  `);
  t.equal(await host.call("demo.start", aedes!.url, 3), "started", "synchronous RPC result");
  t.equal(await host.call("demo.sum", 2, 40), 42, "RPC result from a promise");
  await waitUntil(() => emitted.length >= 1, 5000, "demo.done emitted");
  t.equal(emitted[0][0], "demo.done", "emit name");
  t.deepEqual(Array.from(emitted[0][1] as Buffer), [3, 42], "emit value bytes");
  await waitUntil(() => received.length >= 3, 2000, "three ticks");
  t.deepEqual(received.map((r) => r.payload), ["tick 1", "tick 2", "tick 3"], "the XS node published on its own timer");
  await watcher.endAsync();
  await host.sync();
  t.deepEqual(host.resources(), { sockets: 0, timers: 0 }, "no socket or timer left on the host");
});

test("xs: meters count XS computation and heap", async (t) => {
  const before = xs!.meters();
  const client = await factories[1].connectAsync(aedes!.url, { clientId: "xs-meter", reconnectPeriod: 0 });
  await client.publishAsync("xsmeter/a", "x", { qos: 1 });
  await client.endAsync();
  const after = xs!.meters();
  t.ok(after.compute > before.compute, `compute grew by ${after.compute - before.compute} steps`);
  t.ok(after.requests > before.requests, `${after.requests - before.requests} requests`);
  t.ok((after.last?.currentHeapCount ?? 0) > 0 && after.peakHeapCount >= (after.last?.currentHeapCount ?? 0), `heap ${after.last?.currentHeapCount} slots, peak ${after.peakHeapCount}`);
});

test("xs: errors inside XS surface with the XS message (and the XS stack, mapped to the sources)", async (t) => {
  const host = xs!;
  // 1. A call that throws inside XS rejects with that error.
  try {
    await host.call("mqtt.publish", 9999, "t", "x", undefined, 0);
    t.fail("no error");
  } catch (error) {
    t.ok(error instanceof RangeError, "the XS class (RangeError)");
    t.equal((error as Error).message, "xsnap mqtt: no client 9999", "the XS message");
    t.ok(/hosts\/xsnap\/xs\/mqtt-rpc\.ts:\d+/.test((error as Error).stack ?? ""), `XS stack mapped: ${(error as Error).stack?.split("\n")[2]?.trim()}`);
  }
  // 2. Misuse reported by the XS client through its callback.
  const client = await factories[1].connectAsync(aedes!.url, { clientId: "xs-misuse", reconnectPeriod: 0 });
  try {
    await client.subscribeAsync("a/#/b");
    t.fail("invalid filter accepted");
  } catch (error) {
    t.equal((error as Error).message, "Invalid topic a/#/b", "compat's message from XS");
  }
  await client.endAsync();
  // 3. A callback that throws inside XS (a timer) is a fault with the message and where it happened.
  const faults: XsError[] = [];
  const onFault = (fault: XsError): void => {
    faults.push(fault);
  };
  host.on("fault", onFault);
  await host.load(`xsnapHost.timer.set(function () { null.boom; }, 1); xsnapHost.timer.set(function () { throw new Error("boom from an XS timer"); }, 5);`);
  await waitUntil(() => faults.length >= 2, 3000, "two faults");
  t.ok(faults[0] instanceof XsError && faults[0].where === "timer callback", `where: ${faults[0].where}`);
  t.ok(/TypeError/.test(faults[0].message), `XS TypeError: ${faults[0].message}`);
  t.ok(/boom from an XS timer/.test(faults[1].message), `message: ${faults[1].message}`);
  // 4. An unhandled rejection in a promise job is reported too (the worker prints it; the host reports it).
  await host.load(`Promise.reject(new Error("xs promise boom"));`);
  await waitUntil(() => faults.length >= 3, 3000, "promise job fault");
  t.ok(/xs promise boom/.test(faults[2].message) && faults[2].where === "promise job", faults[2].message);
  host.off("fault", onFault);
  // 5. The host still works after the faults.
  t.equal(await host.call("host.ping", "still alive"), "still alive", "XS still answers");
});

test("xs: inspect shows the XS client's state and outbox", async (t) => {
  const client = (await factories[1].connectAsync(aedes!.url, { clientId: "xs-inspect", reconnectPeriod: 0 })) as unknown as XsMqttClient;
  await client.subscribeAsync("xsinspect/#", { qos: 1 });
  const state = await client.inspect();
  t.equal(state.state, "connected", "client state");
  t.deepEqual(state.subscriptions, ["xsinspect/#"], "remembered subscriptions");
  t.deepEqual([state.outbox.queued, state.outbox.inflight], [0, 0], "empty outbox");
  await client.endAsync();
});

test("stop brokers and hosts", async (t) => {
  for (const factory of factories) await factory.close();
  await mosquitto?.dispose();
  await aedes?.stop();
  t.ok(xs!.worker.closed, "xsnap worker closed");
});
