/**
 * One benchmark workload in its own Node process, so that each client's
 * peak RSS is its own (`process.resourceUsage().maxRSS`) and no client
 * inherits another's garbage or JIT state.
 *
 * Protocol with the parent (bench/main.ts), over the IPC channel of
 * `child_process.fork`: the job arrives as JSON in `process.argv[2]`; the
 * worker connects, sends `{ type: "ready" }`, waits for `{ type: "go" }`,
 * runs the workload and sends `{ type: "result", ... }` with its figures
 * and `maxRssKb`, then exits. For QoS 0 throughput the parent holds the
 * subscriber and stops the clock; the worker sends `{ type: "started", at }`
 * (epoch ms, `performance.timeOrigin + performance.now()`) when it begins
 * and `{ type: "published" }` once everything was handed to its client; it
 * samples its CPU time on `{ type: "subscriberDone" }` and waits for
 * `{ type: "finish" }` before disconnecting.
 *
 * Implementations ("impl"):
 * - `ours`: mqtt-xs through its MQTT.js-compatible Node entry
 *   (hosts/node/mqtt.ts), default options. Publishing is paced the way the
 *   API asks: at most as many publishes outstanding as the default outbox
 *   has record slots (read from the connected client, so the pacing follows
 *   the Node entry's defaults; the parent's `window` is ignored for ours),
 *   the next one issued from a completion callback, because a bounded
 *   outbox refuses (QoS 1/2) or drops (QoS 0) what does not fit.
 * - `ours-nopkt`: the same with `packetEvents: false` (diagnostic: what the
 *   default per-packet `packetsend`/`packetreceive` tracing costs).
 * - `ours-wide`: `packetEvents: false` plus a wide window and outbox (see
 *   `WIDE`; diagnostic: what the default window costs).
 * - `mqttjs`: MQTT.js (npm `mqtt`) at its defaults, publishing everything at
 *   once (its documented usage: it queues without bound).
 * - `mqttjs-window`: MQTT.js paced like ours (diagnostic).
 * - `ceiling`: a plain socket writing pre-encoded PUBLISH packets; for QoS
 *   1/2 a window of `window` packets kept full while reading the
 *   acknowledgements (QoS 2: answering each PUBREC with a pre-built PUBREL).
 * - `ceiling-window`: the same, run with ours' default in-flight window
 *   (the parent passes it), to split ours' distance from the ceiling into
 *   what the window costs and what the client costs.
 *
 * Node-only.
 */
import { performance } from "node:perf_hooks";
import type * as MqttJs from "mqtt";
import { connect as connectOurs, Client, nodeTimer, TCP, now as hostNow } from "../hosts/node/mqtt";
import type { MqttClient as OurCompatClient } from "../hosts/node/mqtt";
import { RawConnection, ackId, preEncodePublishes, publishPayloadStart, writePubrel } from "./raw-mqtt";
import { startFaultProxy } from "../test/support/fault-proxy";
import type { ProtocolVersion, QoS } from "../modules/mqtt/codec/packets";

/**
 * Diagnostic settings for `ours-wide`: no packet tracing, a larger in-flight
 * window and outbox (what limits throughput when the defaults are kept?).
 * Drive it with `window` <= `outboxMessages`.
 */
const WIDE = Object.freeze({ packetEvents: false, maxInflight: 1000, outboxMessages: 2048, outboxBytes: 256 * 1024, txBufferSize: 16384, rxBufferSize: 16384 });

/** A job as the parent sends it. */
export interface Job {
  kind: "throughput" | "latency" | "bytes" | "idle";
  impl: string;
  port: number;
  topic: string;
  payloadSize: number;
  qos: QoS;
  count: number;
  /** Outstanding publishes (ours, mqttjs-window) or in-flight packets (ceiling). */
  window?: number;
  /** Messages per second (latency). */
  rate?: number;
  /** Messages at the start of a latency run left out of the statistics. */
  warmup?: number;
  version?: ProtocolVersion;
  /** bytes: ask for topic aliases (MQTT.js autoAssignTopicAlias; ours: outboundTopicAliases). */
  alias?: boolean;
  /** idle: which modules to load before reporting. */
  load?: string;
}

/** A publishing client, whatever the implementation. */
interface Publisher {
  /** Publishes message `i`; `done` runs on completion (QoS 0: handed to the socket). */
  publish(payload: Uint8Array, done: (error?: unknown) => void): void;
  close(): Promise<void>;
}

/** A subscribing client: `onMessage(payload)` runs per delivered message. */
interface Subscriber {
  close(): Promise<void>;
}

const job = JSON.parse(process.argv[2] ?? "{}") as Job;
let serial = 0;

function epochNow(): number {
  return performance.timeOrigin + performance.now();
}

function send(message: object): void {
  process.send!(message);
}

function waitFor(type: string): Promise<any> {
  return new Promise((resolve) => {
    const listener = (message: any): void => {
      if (message?.type !== type) return;
      process.off("message", listener);
      resolve(message);
    };
    process.on("message", listener);
  });
}

function clientId(role: string): string {
  serial += 1;
  return `bench-${job.impl}-${role}-${process.pid}-${serial}`;
}

function url(port = job.port): string {
  return `mqtt://127.0.0.1:${port}`;
}

// ---------------------------------------------------------------- clients

async function oursPublisher(version: ProtocolVersion, extra: Record<string, unknown> = {}, port = job.port): Promise<Publisher & { client: OurCompatClient }> {
  const client = connectOurs(url(port), { protocolVersion: version, clientId: clientId("pub"), reconnectPeriod: 0, ...extra });
  await new Promise<void>((resolve, reject) => {
    client.once("connect", () => resolve());
    client.once("error", reject);
  });
  const options = { qos: job.qos };
  return {
    client,
    publish(payload, done) {
      client.publish(job.topic, payload, options, done);
    },
    close: () => new Promise<void>((resolve) => client.end(false, {}, () => resolve())),
  };
}

/** MQTT.js, loaded only by the workers that use it (so it never weighs on ours' RSS). */
async function mqttjs(): Promise<typeof MqttJs> {
  const module = (await import("mqtt")) as typeof MqttJs & { default?: typeof MqttJs };
  return module.default ?? module;
}

async function mqttjsPublisher(version: ProtocolVersion, extra: Record<string, unknown> = {}, port = job.port): Promise<Publisher & { client: MqttJs.MqttClient }> {
  const mqtt = await mqttjs();
  const client = await mqtt.connectAsync(url(port), { protocolVersion: version, clientId: clientId("pub"), reconnectPeriod: 0, ...extra } as MqttJs.IClientOptions);
  const options = { qos: job.qos };
  return {
    client,
    publish(payload, done) {
      client.publish(job.topic, payload as Buffer, options, done);
    },
    close: () => client.endAsync(),
  };
}

async function oursSubscriber(onMessage: (payload: Uint8Array) => void, extra: Record<string, unknown> = {}): Promise<Subscriber> {
  const client = connectOurs(url(), { protocolVersion: job.version ?? 4, clientId: clientId("sub"), reconnectPeriod: 0, ...extra });
  await new Promise<void>((resolve, reject) => {
    client.once("connect", () => resolve());
    client.once("error", reject);
  });
  client.on("message", (_topic: string, payload: Uint8Array) => onMessage(payload));
  await client.subscribeAsync(job.topic, { qos: job.qos });
  return { close: () => new Promise<void>((resolve) => client.end(false, {}, () => resolve())) };
}

async function mqttjsSubscriber(onMessage: (payload: Uint8Array) => void, extra: Record<string, unknown> = {}): Promise<Subscriber> {
  const mqtt = await mqttjs();
  const client = await mqtt.connectAsync(url(), { protocolVersion: job.version ?? 4, clientId: clientId("sub"), reconnectPeriod: 0, ...extra } as MqttJs.IClientOptions);
  client.on("message", (_topic, payload) => onMessage(payload));
  await client.subscribeAsync(job.topic, { qos: job.qos });
  return { close: () => client.endAsync() };
}

async function rawSubscriber(onMessage: (payload: Uint8Array) => void): Promise<Subscriber> {
  const version = job.version ?? 4;
  const raw = await RawConnection.open({ port: job.port, clientId: clientId("sub"), version, autoAck: true });
  raw.onPacket = (first, bytes, start, end) => {
    if (first >> 4 !== 3) return;
    const at = publishPayloadStart(first, bytes, start, version);
    onMessage(bytes.subarray(at, end));
  };
  await raw.subscribe(job.topic, job.qos);
  return { close: () => raw.close() };
}

// ------------------------------------------------------------ throughput

/** Largest time between two consecutive completions in the last run, ms (a stall shows here). */
let maxGapMs = 0;
let lastCompletion = 0;

function completed(): void {
  const t = performance.now();
  if (lastCompletion > 0 && t - lastCompletion > maxGapMs) maxGapMs = t - lastCompletion;
  lastCompletion = t;
}

/** Publishes `count` messages through `publisher` with at most `window` outstanding; resolves when all completed. */
function pacedRun(publisher: Publisher, count: number, window: number, payload: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    let issued = 0;
    let completions = 0;
    let failed = false;
    let pumping = false;
    let again = false;
    const done = (error?: unknown): void => {
      if (failed) return;
      if (error) {
        failed = true;
        reject(error instanceof Error ? error : new Error(String(error)));
        return;
      }
      completions += 1;
      completed();
      if (completions === count) resolve();
      else pump();
    };
    // Completions may run synchronously inside publish(): loop instead of recursing.
    const pump = (): void => {
      if (pumping) {
        again = true;
        return;
      }
      pumping = true;
      do {
        again = false;
        while (issued < count && issued - completions < window && !failed) {
          issued += 1;
          publisher.publish(payload, done);
        }
      } while (again);
      pumping = false;
    };
    pump();
  });
}

/** Publishes everything at once (MQTT.js's usual pattern); resolves when all completed. */
function burstRun(publisher: Publisher, count: number, payload: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    let completions = 0;
    let failed = false;
    const done = (error?: unknown): void => {
      if (failed) return;
      if (error) {
        failed = true;
        reject(error instanceof Error ? error : new Error(String(error)));
        return;
      }
      completions += 1;
      completed();
      if (completions === count) resolve();
    };
    for (let i = 0; i < count; i++) publisher.publish(payload, done);
  });
}

/** Raw ceiling, QoS 0: the pre-encoded stream written in 64 KiB slices, honouring back-pressure. */
async function ceilingQos0(raw: RawConnection, bytes: Buffer): Promise<void> {
  const slice = 64 * 1024;
  for (let pos = 0; pos < bytes.length; pos += slice) {
    if (!raw.write(bytes.subarray(pos, Math.min(bytes.length, pos + slice)))) await raw.drained();
  }
}

/**
 * Raw ceiling, QoS 1/2: keeps `window` packets in flight; every chunk of
 * acknowledgements read releases a slice of the pre-encoded stream in one
 * write (QoS 2: the PUBRELs for the PUBRECs of that chunk in one write too).
 */
function ceilingAcked(raw: RawConnection, qos: 1 | 2, encoded: { bytes: Buffer; offsets: Uint32Array }, count: number, window: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const { bytes, offsets } = encoded;
    let sent = 0;
    let completed = 0;
    const pubrels = Buffer.alloc(4 * Math.min(count, 65535));
    let relCount = 0;
    const topUp = (): void => {
      const upTo = Math.min(count, completed + window);
      if (upTo > sent) {
        raw.write(bytes.subarray(offsets[sent], offsets[upTo]));
        sent = upTo;
      }
    };
    raw.onPacket = (first, body, start) => {
      const type = first >> 4;
      if (qos === 1 && type === 4) completed += 1;
      else if (qos === 2 && type === 5) {
        writePubrel(pubrels, relCount * 4, ackId(body, start));
        relCount += 1;
      } else if (qos === 2 && type === 7) completed += 1;
      else reject(new Error(`ceiling: unexpected packet type ${type}`));
    };
    raw.socket.on("data", () => {
      // After the chunk's packets were dispatched (listener order: RawConnection's first).
      if (relCount > 0) {
        raw.write(Buffer.from(pubrels.subarray(0, relCount * 4)));
        relCount = 0;
      }
      if (completed === count) resolve();
      else topUp();
    });
    raw.socket.once("error", reject);
    topUp();
  });
}

async function throughput(): Promise<void> {
  const payload = Buffer.alloc(job.payloadSize, 0x61);
  const version = job.version ?? 4;
  let window = job.window ?? 64;
  let run: () => Promise<void>;
  let close: () => Promise<void>;
  if (job.impl === "ceiling" || job.impl === "ceiling-window") {
    const raw = await RawConnection.open({ port: job.port, clientId: clientId("pub"), version });
    const encoded = preEncodePublishes(job.topic, job.payloadSize, job.qos, job.count, version);
    run = job.qos === 0 ? () => ceilingQos0(raw, encoded.bytes) : () => ceilingAcked(raw, job.qos as 1 | 2, encoded, job.count, window);
    close = () => raw.close();
  } else {
    let publisher: Publisher;
    if (job.impl === "ours" || job.impl === "ours-nopkt") {
      const ours = await oursPublisher(version, job.impl === "ours-nopkt" ? { packetEvents: false } : {});
      // Paced on the defaults' outbox record slots (what the API lets a caller keep outstanding), read from the client itself.
      window = ours.client.client.outbox.maxMessages;
      publisher = ours;
    } else if (job.impl === "ours-wide") publisher = await oursPublisher(version, WIDE);
    else if (job.impl === "mqttjs" || job.impl === "mqttjs-window") publisher = await mqttjsPublisher(version);
    else throw new Error(`unknown impl ${job.impl}`);
    run = job.impl === "mqttjs" ? () => burstRun(publisher, job.count, payload) : () => pacedRun(publisher, job.count, window, payload);
    close = () => publisher.close();
  }
  send({ type: "ready" });
  await waitFor("go");
  // QoS 0: CPU time until the subscriber has every message (the same end as the rate's);
  // QoS 1/2: until every message is acknowledged.
  const subscriberDone = job.qos === 0 ? waitFor("subscriberDone") : undefined;
  const finished = job.qos === 0 ? waitFor("finish") : undefined;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let cpuAtSubscriberDone: NodeJS.CpuUsage | undefined;
  void subscriberDone?.then(() => {
    cpuAtSubscriberDone = process.cpuUsage(cpu0);
  });
  send({ type: "started", at: epochNow() });
  await run();
  const elapsed = performance.now() - t0;
  let cpu = process.cpuUsage(cpu0);
  send({ type: "published", at: epochNow() });
  if (finished !== undefined) {
    await finished;
    await subscriberDone;
    cpu = cpuAtSubscriberDone!;
  }
  await close();
  // CPU time of this process over the measured part (QoS 0: until everything was handed to the client's socket).
  send({ type: "result", elapsedMs: elapsed, cpuMs: (cpu.user + cpu.system) / 1000, maxGapMs, maxRssKb: process.resourceUsage().maxRSS });
}

// --------------------------------------------------------------- latency

async function latency(): Promise<void> {
  const rate = job.rate ?? 500;
  const warmup = job.warmup ?? 100;
  const total = job.count + warmup;
  const version = job.version ?? 4;
  const sentAt = new Float64Array(total);
  const receivedAt = new Float64Array(total);
  let received = 0;
  let finish: (() => void) | undefined;
  const onMessage = (payload: Uint8Array): void => {
    const t = performance.now();
    const i = ((payload[0] << 24) | (payload[1] << 16) | (payload[2] << 8) | payload[3]) >>> 0;
    if (i < total && receivedAt[i] === 0) {
      receivedAt[i] = t;
      received += 1;
      if (received === total) finish?.();
    }
  };
  let publish: (i: number) => void;
  let closers: Array<() => Promise<void>>;
  const impl = job.impl;
  if (impl === "ceiling") {
    const sub = await rawSubscriber(onMessage);
    const raw = await RawConnection.open({ port: job.port, clientId: clientId("pub"), version });
    const encoded = preEncodePublishes(job.topic, job.payloadSize, job.qos, total, version);
    raw.onPacket = (first, body, start) => {
      if (first >> 4 === 5) {
        const rel = Buffer.alloc(4);
        writePubrel(rel, 0, ackId(body, start));
        raw.write(rel);
      }
    };
    publish = (i) => {
      const at = encoded.payloadAt[i];
      encoded.bytes.writeUInt32BE(i, at);
      raw.write(encoded.bytes.subarray(encoded.offsets[i], encoded.offsets[i + 1]));
    };
    closers = [() => raw.close(), () => sub.close()];
  } else {
    let sub: Subscriber;
    let pub: Publisher;
    if (impl === "ours") {
      sub = await oursSubscriber(onMessage);
      pub = await oursPublisher(version);
    } else if (impl === "ours-nopkt") {
      sub = await oursSubscriber(onMessage, { packetEvents: false });
      pub = await oursPublisher(version, { packetEvents: false });
    } else if (impl === "mqttjs" || impl === "mqttjs-nodelay") {
      sub = await mqttjsSubscriber(onMessage);
      const p = await mqttjsPublisher(version);
      if (impl === "mqttjs-nodelay") {
        (p.client.stream as unknown as { setNoDelay(on: boolean): void }).setNoDelay(true);
      }
      pub = p;
    } else throw new Error(`unknown impl ${impl}`);
    const payloads: Buffer[] = [];
    for (let i = 0; i < total; i++) {
      const b = Buffer.alloc(job.payloadSize, 0x61);
      b.writeUInt32BE(i, 0);
      payloads.push(b);
    }
    const ignore = (): void => {};
    publish = (i) => pub.publish(payloads[i], ignore);
    closers = [() => pub.close(), () => sub.close()];
  }
  send({ type: "ready" });
  await waitFor("go");
  const all = new Promise<void>((resolve) => {
    finish = resolve;
  });
  // Fixed rate: message i is due at start + i * period; a timer tick sends every message due.
  const period = 1000 / rate;
  const start = performance.now();
  let next = 0;
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const now = performance.now();
      while (next < total && start + next * period <= now) {
        sentAt[next] = performance.now();
        publish(next);
        next += 1;
      }
      if (next >= total) return resolve();
      const wait = start + next * period - performance.now();
      setTimeout(tick, wait > 1 ? Math.floor(wait) : 0);
    };
    tick();
  });
  const timeout = new Promise<void>((resolve) => setTimeout(resolve, 5000));
  await Promise.race([all, timeout]);
  const samples: number[] = [];
  for (let i = warmup; i < total; i++) if (receivedAt[i] > 0) samples.push(receivedAt[i] - sentAt[i]);
  for (const close of closers) await close();
  send({ type: "result", samples, lost: total - received, maxRssKb: process.resourceUsage().maxRSS });
}

// ----------------------------------------------------------------- bytes

/**
 * Bytes on the wire per QoS 1 message through the counting proxy. Counters
 * are reset after CONNACK; the first message is counted on its own (with a
 * topic alias it carries the topic and sets up the alias), then `count`
 * messages one at a time; each count is read 50 ms after the last
 * acknowledgement (the proxy forwards asynchronously).
 */
async function bytes(): Promise<void> {
  const proxy = await startFaultProxy({ targetPort: job.port });
  const version = job.version ?? 4;
  const payload = Buffer.alloc(job.payloadSize, 0x61);
  let publisher: Publisher;
  const impl = job.impl;
  if (impl === "ours") {
    if (version === 5 && job.alias === false) {
      publisher = await oursCorePublisher(proxy.port, { outboundTopicAliases: false });
    } else {
      publisher = await oursPublisher(version, {}, proxy.port);
    }
  } else if (impl === "mqttjs") {
    publisher = await mqttjsPublisher(version, job.alias ? { autoAssignTopicAlias: true } : {}, proxy.port);
  } else throw new Error(`unknown impl ${impl}`);
  proxy.resetCounters();
  // The first message separately: with a topic alias it carries the topic once.
  await pacedRun(publisher, 1, 1, payload);
  await new Promise((resolve) => setTimeout(resolve, 50));
  const first = { up: proxy.bytes.up, down: proxy.bytes.down };
  proxy.resetCounters();
  await pacedRun(publisher, job.count, 1, payload);
  await new Promise((resolve) => setTimeout(resolve, 50));
  const rest = { up: proxy.bytes.up, down: proxy.bytes.down };
  await publisher.close();
  await proxy.close();
  send({ type: "result", first, rest, count: job.count, maxRssKb: process.resourceUsage().maxRSS });
}

/** Our core Client (no compat layer), for options the compatible API does not expose. */
async function oursCorePublisher(port: number, extra: Record<string, unknown>): Promise<Publisher> {
  let resolveConnect: () => void = () => {};
  const connected = new Promise<void>((resolve) => {
    resolveConnect = resolve;
  });
  let ended: () => void = () => {};
  const client = new Client({
    socket: { io: TCP, host: "127.0.0.1", port },
    timer: nodeTimer,
    now: hostNow,
    protocolVersion: job.version ?? 4,
    clientId: clientId("pub"),
    reconnect: false,
    onConnect: () => resolveConnect(),
    onEnd: () => ended(),
    ...extra,
  });
  client.connect();
  await connected;
  const options = { qos: job.qos };
  return {
    publish(payload, done) {
      client.publish(job.topic, payload, options, (error) => done(error));
    },
    close: () =>
      new Promise<void>((resolve) => {
        ended = resolve;
        client.end();
      }),
  };
}

// ------------------------------------------------------------------ idle

/** Peak RSS of a process that only loads a client module (and connects one client when asked). */
async function idle(): Promise<void> {
  if (job.load === "ours") {
    const p = await oursPublisher(4);
    await p.close();
  } else if (job.load === "mqttjs") {
    const p = await mqttjsPublisher(4);
    await p.close();
  }
  send({ type: "result", maxRssKb: process.resourceUsage().maxRSS });
}

async function main(): Promise<void> {
  if (job.kind === "throughput") await throughput();
  else if (job.kind === "latency") await latency();
  else if (job.kind === "bytes") await bytes();
  else if (job.kind === "idle") await idle();
  else throw new Error(`unknown job kind ${String(job.kind)}`);
  process.disconnect?.();
}

main().catch((error) => {
  process.stderr.write(`bench worker (${job.kind}/${job.impl}/qos${job.qos}): ${error?.stack ?? error}\n`);
  process.exit(1);
});
