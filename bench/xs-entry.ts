/**
 * XS side of the benchmark's engine meters (bundled as an IIFE and
 * evaluated in an xsnap-worker by bench/xs-meters.ts).
 *
 * Theory of operation
 * -------------------
 * The client runs over an in-memory ECMA-419 socket (`MemorySocket`) and a
 * do-nothing timer, so the meters see client work and nothing else we can
 * avoid. The host side drives everything through `globalThis.__bench`:
 *
 * - `setup(kind)` builds the fixture for one measurement: a connected core
 *   `Client` (CONNECT written, CONNACK delivered) or, for `offline`, a
 *   client that was never connected;
 * - `loop(name, n)` calls the step `name` n times (the host subtracts the
 *   same loop over `empty` to remove loop and call overhead);
 * - `counts()` reports what the steps asked of the transport and the timer
 *   (writes, reads, bytes, timer set/clear), so their cost can be
 *   subtracted with the `transport*` steps, which make exactly those calls
 *   with a client-free caller.
 *
 * Steps (each one operation of the client):
 * - `qos0Publish`: `client.publish(topic, payload, { qos: 0 })` while
 *   connected: encode into the outbox, hand the bytes to the socket.
 * - `qos1PublishAck`: a QoS 1 publish, then its PUBACK delivered through
 *   `onReadable` (read, decode, complete the outbox record).
 * - `rxQos0`: one QoS 0 PUBLISH delivered through `onReadable` and handed
 *   to the `onMessage` callback.
 * - `offlineQos0`, `offlineQos1`: publish attempts on a never-connected
 *   client (QoS 0: queued, oldest QoS 0 dropped when full; QoS 1: queued
 *   until full, then `OutboxFull` is thrown and caught here).
 * - breakdown steps (`encodePublish`, `sessionPublish`, `decodePublish`,
 *   ...) call one layer directly, to show where a step's cost goes.
 *
 * The fixture values match the workload: topic
 * `bench/site-01/node-0042/temperature` (35 bytes), 32-byte payload,
 * MQTT 3.1.1.
 */
import { Client } from "../modules/mqtt/client";
import { MqttClient } from "../modules/mqtt/compat";
import type { CompatHost } from "../modules/mqtt/compat";
import type { ClientTimer } from "../modules/mqtt/client";
import { Session } from "../modules/mqtt/session";
import { Outbox } from "../modules/mqtt/outbox";
import { Decoder } from "../modules/mqtt/codec/decoder";
import { encode, encodeInto, encodedLength } from "../modules/mqtt/codec/encoder";
import { assertTopicName } from "../modules/mqtt/topic";
import { decodeUtf8, encodeUtf8Into, utf8Length } from "../modules/mqtt/codec/utf8";
import type { PublishPacket, QoS } from "../modules/mqtt/codec/packets";

const TOPIC = "bench/site-01/node-0042/temperature";
const PAYLOAD = new Uint8Array(32).fill(0x61);
/** Writable count the socket announces: large, so the client never waits. */
const WRITABLE = 1 << 20;

/** What the client asked of the transport and timer since the last reset. */
const counts = { writes: 0, writtenBytes: 0, reads: 0, readBytes: 0, timerSets: 0, timerClears: 0 };

interface SocketOptions {
  onReadable?: (count: number) => void;
  onWritable?: (count: number) => void;
  onError?: (error?: unknown) => void;
}

/**
 * ECMA-419-shaped TCP socket in memory: `write` counts and discards, `read`
 * copies the one pending inbound packet into the caller's view. Callbacks
 * are invoked by the harness (`deliver`, `open`), never from inside a
 * method, as the standard requires.
 */
class MemorySocket {
  readonly options: SocketOptions;
  pending: Uint8Array | undefined = undefined;
  constructor(options: SocketOptions) {
    this.options = options;
    current = this;
  }
  write(bytes: Uint8Array): number {
    counts.writes++;
    counts.writtenBytes += bytes.byteLength;
    return WRITABLE;
  }
  read(view: Uint8Array): number | undefined {
    const p = this.pending;
    if (p === undefined) return undefined;
    this.pending = undefined;
    counts.reads++;
    counts.readBytes += p.length;
    view.set(p);
    return p.length;
  }
  close(): void {}
}

let current: MemorySocket | undefined;

const timer: ClientTimer = {
  set(_callback: () => void, _ms: number): unknown {
    counts.timerSets++;
    return 1;
  },
  clear(_id: unknown): void {
    counts.timerClears++;
  },
};

/** A fixed clock: no deadline ever passes, so no timer work mixes in. */
const clock = (): number => 1000;

/** Hands `bytes` (one or more whole packets) to the client as the socket would. */
function deliver(bytes: Uint8Array): void {
  const socket = current!;
  socket.pending = bytes;
  socket.options.onReadable!(bytes.length);
}

const CONNACK = new Uint8Array([0x20, 0x02, 0x00, 0x00]);
const PUBACK = new Uint8Array([0x40, 0x02, 0x00, 0x00]);
const INBOUND_QOS0 = encode({ type: 3, topic: TOPIC, payload: PAYLOAD, qos: 0, retain: false, dup: false }, 4);

let received = 0;
/** Packet id the compatible client used last (it does not return ids; the outbox assigns them in order). */
let lastPacketId = 0;
let client: Client | undefined;
const kept: Client[] = [];
const keptSockets: MemorySocket[] = [];

function newClient(): Client {
  return new Client({
    socket: { io: MemorySocket as never, address: "127.0.0.1", port: 1883 },
    timer,
    now: clock,
    clientId: "bench-xs",
    protocolVersion: 4,
    reconnect: false,
    onMessage() {
      received++;
    },
  });
}

/** A client connected over a fresh MemorySocket (CONNECT written, CONNACK 0 delivered). */
function connectedClient(): Client {
  const c = newClient();
  c.connect();
  current!.options.onWritable!(WRITABLE);
  deliver(CONNACK);
  if (!c.connected) throw new Error(`bench: client not connected (state ${c.state})`);
  return c;
}

/** The compatible API over the same in-memory socket (its defaults: packetEvents on, payload copies). */
const compatHost: CompatHost = { TCP: MemorySocket as never, timer, now: clock, random: () => 0.5 };
let compat: MqttClient | undefined;

function connectedCompat(): MqttClient {
  const c = new MqttClient(compatHost, { host: "127.0.0.1", clientId: "bench-xs", protocolVersion: 4, reconnectPeriod: 0, manualConnect: true });
  c.on("message", () => {
    received++;
  });
  c.connect();
  current!.options.onWritable!(WRITABLE);
  deliver(CONNACK);
  if (!c.connected) throw new Error("bench: compat client not connected");
  return c;
}

const Q0 = Object.freeze({ qos: 0 as QoS });
/** A second topic of the same length, for `clientQos0TwoTopics`. */
const TOPIC_B = "bench/site-01/node-0043/temperature";
let flip = false;
const Q1 = Object.freeze({ qos: 1 as QoS });

// Layer fixtures for the breakdown steps.
const scratchPacket: PublishPacket = { type: 3, topic: TOPIC, payload: PAYLOAD, qos: 0, retain: false, dup: false };
const scratchQos1: PublishPacket = { type: 3, topic: TOPIC, payload: PAYLOAD, qos: 1, retain: false, dup: false, packetId: 1 };
const PUBACK_FIXED = new Uint8Array([0x40, 0x02, 0x00, 0x01]);
const sessionPuback = new Uint8Array([0x40, 0x02, 0x00, 0x00]);
const encodeTarget = new Uint8Array(256);
let session: Session | undefined;
let outbox: Outbox | undefined;
let decoder: Decoder | undefined;
let layerClient: Client | undefined;
const rxView = new Uint8Array(1024);
const TOPIC_BYTES = INBOUND_QOS0.slice(4, 4 + TOPIC.length);
const oneWrite = INBOUND_QOS0.subarray(0, INBOUND_QOS0.length);

const steps: Record<string, () => void> = {
  empty() {},
  qos0Publish() {
    client!.publish(TOPIC, PAYLOAD, Q0);
  },
  qos1PublishAck() {
    const id = client!.publish(TOPIC, PAYLOAD, Q1);
    PUBACK[2] = id >> 8;
    PUBACK[3] = id & 0xff;
    deliver(PUBACK);
  },
  rxQos0() {
    deliver(INBOUND_QOS0);
  },
  compatQos0Publish() {
    compat!.publish(TOPIC, PAYLOAD, Q0);
  },
  compatQos1PublishAck() {
    compat!.publish(TOPIC, PAYLOAD, Q1);
    const id = lastPacketId = lastPacketId === 65535 ? 1 : lastPacketId + 1;
    PUBACK[2] = id >> 8;
    PUBACK[3] = id & 0xff;
    deliver(PUBACK);
  },
  compatRxQos0() {
    deliver(INBOUND_QOS0);
  },
  offlineQos0() {
    client!.publish(TOPIC, PAYLOAD, Q0);
  },
  offlineQos1() {
    try {
      client!.publish(TOPIC, PAYLOAD, Q1);
    } catch (error) {
      if ((error as { name?: string }).name !== "MqttError") throw error;
    }
  },
  // What the transport and harness cost per client operation, without a client:
  // one write of a 73-byte view (QoS 0 publish) ...
  transportWrite() {
    current!.write(oneWrite);
  },
  // ... one delivery of a packet and the read that takes it (PUBACK: plus the id patch).
  transportDeliverPuback() {
    PUBACK[2] = 0;
    PUBACK[3] = 1;
    const socket = current!;
    socket.pending = PUBACK;
    noopReadable(PUBACK.length);
  },
  transportDeliverPublish() {
    const socket = current!;
    socket.pending = INBOUND_QOS0;
    noopReadable(INBOUND_QOS0.length);
  },
  // Breakdown: one layer at a time.
  assertTopic() {
    assertTopicName(TOPIC);
  },
  encodeLength() {
    encodedLength(scratchPacket, 4);
  },
  encodePublish() {
    encodeInto(scratchPacket, 4, encodeTarget, 0);
  },
  outboxEnqueueRemove() {
    // Enqueue a QoS 0 record and take it out again, as a send does.
    const o = outbox!;
    o.enqueue(scratchPacket, 4, 1000, true);
    o.markSent(o.peek(1000)); // a sent QoS 0 record is freed
  },
  sessionPublishQos0() {
    const s = session!;
    s.publish(TOPIC, PAYLOAD, Q0, 1000);
    s.pollTransmit(encodeTarget, 0);
  },
  decodePublish() {
    const d = decoder!;
    d.push(INBOUND_QOS0);
    d.next();
    d.next();
  },
  utf8LengthTopic() {
    utf8Length(TOPIC);
  },
  encodeTopic() {
    encodeUtf8Into(TOPIC, encodeTarget, 0);
  },
  decodeTopic() {
    decodeUtf8(INBOUND_QOS0, 4, 4 + TOPIC.length);
  },
  copyPayload() {
    encodeTarget.set(PAYLOAD, 40);
  },
  viewOfTx() {
    encodeTarget.subarray(0, 71);
  },
  sessionPollIdle() {
    const s = session!;
    s.pollTransmit(encodeTarget, 0);
    s.pollEvent();
    s.pollTimeout();
  },
  // A floor for a QoS 0 publish: the same bytes built by hand from a topic
  // encoded once (as a per-topic cache would hold it), written to the socket.
  floorQos0Publish() {
    const t = encodeTarget;
    const topic = TOPIC_BYTES;
    const n = topic.length;
    t[0] = 0x30;
    t[1] = 2 + n + PAYLOAD.length;
    t[2] = n >> 8;
    t[3] = n & 0xff;
    t.set(topic, 4);
    t.set(PAYLOAD, 4 + n);
    current!.write(t.subarray(0, 4 + n + PAYLOAD.length));
  },
  // The QoS 0 publish of the table alternating between two topics, so the
  // repeat path (same topic and length as the last message) never applies:
  // every message is encoded by Session.publishNow (gross: transport included).
  clientQos0TwoTopics() {
    flip = !flip;
    layerClient!.publish(flip ? TOPIC : TOPIC_B, PAYLOAD, Q0);
  },
  clientServiceIdle() {
    (layerClient as unknown as { service(): void }).service();
  },
  decodePuback() {
    const d = decoder!;
    d.push(PUBACK_FIXED);
    d.next();
    d.next();
  },
  outboxQos1Cycle() {
    // A QoS 1 record through its life: enqueue, send, PUBACK.
    const o = outbox!;
    const id = o.enqueue(scratchQos1, 4, 1000, true);
    o.markSent(o.peek(1000));
    o.acknowledge(id, 4);
  },
  sessionQos1Cycle() {
    const s = session!;
    const id = s.publish(TOPIC, PAYLOAD, Q1, 1000);
    s.pollTransmit(encodeTarget, 0);
    sessionPuback[2] = id >> 8;
    sessionPuback[3] = id & 0xff;
    s.receive(sessionPuback, 1000);
    while (s.pollEvent() !== undefined);
  },
  sessionReceiveQos0() {
    const s = session!;
    s.receive(INBOUND_QOS0, 1000);
    s.pollEvent();
  },
};

/** The socket-side half of `deliver` with a reader that only reads, for `transportDeliver*`. */
function noopReadable(count: number): void {
  current!.read(count <= rxView.length ? rxView : rxView);
}

function connectedSession(): Session {
  const s = new Session({ clientId: "bench-xs", protocolVersion: 4 });
  s.connect(1000);
  while (s.pollTransmit(encodeTarget, 0) > 0);
  s.receive(CONNACK, 1000);
  while (s.pollEvent() !== undefined);
  return s;
}

const bench = {
  /** Builds the fixture of one measurement (see the module header). */
  setup(kind: string): void {
    client = undefined;
    compat = undefined;
    lastPacketId = 0;
    if (kind === "connected") client = connectedClient();
    else if (kind === "compat") compat = connectedCompat();
    else if (kind === "offline") client = newClient();
    else if (kind === "transport") {
      connectedClient();
    } else if (kind === "layers") {
      session = connectedSession();
      outbox = new Outbox();
      decoder = new Decoder({ protocolVersion: 4 });
      layerClient = connectedClient();
    } else if (kind !== "none") throw new Error(`bench: unknown setup ${kind}`);
    for (const key of Object.keys(counts) as Array<keyof typeof counts>) counts[key] = 0;
    received = 0;
  },
  /** Keeps `n` connected idle clients alive (heap measurement). */
  keep(n: number): void {
    for (let i = 0; i < n; i++) kept.push(connectedClient());
  },
  /** Keeps `n` bare in-memory sockets alive (their own cost, subtracted from a client's). */
  keepSockets(n: number): void {
    for (let i = 0; i < n; i++) keptSockets.push(new MemorySocket({}));
  },
  /** JSON: ArrayBuffers reachable from the first kept client (their bytes live in chunks, outside the slot count). */
  reach(): ArrayBuffer {
    const seen = new Set<unknown>();
    const buffers = new Set<ArrayBufferLike>();
    const visit = (value: unknown, depth: number): void => {
      if (value === null || (typeof value !== "object" && typeof value !== "function") || seen.has(value) || depth > 64) return;
      seen.add(value);
      if (value instanceof ArrayBuffer) {
        buffers.add(value);
        return;
      }
      if (ArrayBuffer.isView(value)) {
        buffers.add(value.buffer);
        return;
      }
      if (value instanceof Map) for (const [k, v] of value) (visit(k, depth + 1), visit(v, depth + 1));
      if (value instanceof Set) for (const v of value) visit(v, depth + 1);
      for (const key of Reflect.ownKeys(value as object)) {
        const d = Object.getOwnPropertyDescriptor(value, key);
        if (d !== undefined && "value" in d) visit(d.value, depth + 1);
      }
    };
    visit(kept[0], 0);
    let bytes = 0;
    for (const b of buffers) bytes += b.byteLength;
    return new TextEncoder().encode(JSON.stringify({ buffers: buffers.size, bytes })).buffer as ArrayBuffer;
  },
  loop(name: string, n: number): void {
    const step = steps[name];
    if (step === undefined) throw new Error(`bench: unknown step ${name}`);
    for (let i = 0; i < n; i++) step();
  },
  resetCounts(): void {
    for (const key of Object.keys(counts) as Array<keyof typeof counts>) counts[key] = 0;
    received = 0;
  },
  /** JSON of the transport/timer counters, messages received and outbox counters. */
  report(): ArrayBuffer {
    const core = client ?? compat?.client;
    const outboxCounters = core !== undefined ? { ...core.outbox.counters } : undefined;
    const state = core !== undefined ? core.state : undefined;
    const text = JSON.stringify({ counts, received, outbox: outboxCounters, state });
    return new TextEncoder().encode(text).buffer as ArrayBuffer;
  },
};

(globalThis as Record<string, unknown>).__bench = bench;
