/**
 * Fuzz target: the sans-I/O `Session` (modules/mqtt/session.ts) with its
 * `Outbox`, driven against the scripted broker (test/support/scripted-broker.ts)
 * whose byte stream to the client is mutated, reordered, dropped, duplicated
 * and mixed with random and hostile packets, interleaved with publish,
 * subscribe, unsubscribe, disconnect, connection loss, reconnects and time
 * advances.
 *
 * A case is a list of actions, each with its own seed; bytes and arguments
 * are drawn when the action runs, from the session's state at that moment
 * (acknowledgements favour packet ids really in flight, SUBACKs the pending
 * requests and their entry counts), so a shrunk case stays meaningful.
 *
 * Invariants (the name in brackets is what a failure reports):
 * - [no-throw] connect, receive, handleTimeout, connectionLost,
 *   pollTransmit, pollTimeout and pollEvent never throw; a peer's violation
 *   becomes a "closed" event whose error is an MqttError with an ErrorCode
 *   code and a known source; [closed-sticks] once closed, receive() and
 *   handleTimeout() change nothing and emit nothing until connect().
 * - [api-errors] publish() throws only TypeError, RangeError or MqttError
 *   QoSNotSupported / RetainNotSupported / PacketTooLarge / OutboxFull
 *   (subscribe/unsubscribe: NotConnected, the three "not supported" codes,
 *   PacketTooLarge, OutboxFull), and nothing is queued when it throws.
 * - [outbox-bounds] the outbox never uses more than its capacity in bytes
 *   nor more than maxMessages records; its counters match its records.
 * - [packet-ids] ids are never 0 and unique among live records, and no
 *   pending SUBSCRIBE/UNSUBSCRIBE shares an id with an outbox record
 *   [MQTT-2.2.1-3]; publish()/subscribe() return ids in 1..65535.
 * - [no-loss] every QoS 1/2 message publish() accepted is either completed
 *   (one "published" event with its id and QoS) or still in the outbox with
 *   its topic, payload and QoS; no "published" event for anything else.
 * - [inflight] inflightCount stays within 0..inflightWindow and, while
 *   connected, equals the outbox's in-flight records; at most
 *   maxInflightQos2 QoS 2 messages await their PUBREC.
 * - [timer] after handleTimeout(now), pollTimeout() is undefined or later
 *   than now (an owner driving the timer never spins).
 * - [valid-output] every byte the session transmits decodes with our
 *   decoder, and each connection starts with CONNECT [MQTT-3.1.0-1].
 * - [server-limits] every PUBLISH it sends respects the server's CONNACK:
 *   Maximum QoS, Retain Available, Maximum Packet Size, Topic Alias Maximum.
 * - [delivery-integrity] a QoS 1/2 PUBLISH on the wire belongs to an
 *   accepted, unfinished message and carries its topic and payload, with
 *   DUP exactly when it was sent before [MQTT-3.3.1-1]; an alias-only
 *   PUBLISH uses an alias mapped earlier on the connection.
 * - [order] on one connection, QoS 1/2 PUBLISH packets go out in the order
 *   publish() accepted them (MQTT 5.0 §4.6; the order session.ts promises).
 * - [exactly-once] (cases with packetEvents) an inbound QoS 2 message is
 *   delivered once until its PUBREL, and inboundQos2Ids() is exactly the set
 *   of delivered, unreleased ids.
 * - [memory] the control transmit ring stays within what the input justifies
 *   (see txRingBound), and the heap after GC grows less than
 *   HEAP_GROWTH_LIMIT over the run.
 * - [reconnect] at the end of every case, connect() plus a well-behaved
 *   broker's clean CONNACK brings the session to Connected, and running the
 *   link until it is quiet completes every accepted QoS 1/2 message and
 *   empties the outbox.
 *
 * Run: `node test/run.mjs fuzz session` (FUZZ_SECONDS, FUZZ_SEED, FUZZ_CASE:
 * see test/fuzz/README.md).
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Decoder } from "../../modules/mqtt/codec/decoder";
import { encode, encodedLength } from "../../modules/mqtt/codec/encoder";
import type { Packet, Properties, ProtocolVersion, PublishPacket, QoS, Subscription } from "../../modules/mqtt/codec/packets";
import { ErrorCode, MqttError, errorName } from "../../modules/mqtt/errors";
import { Outbox, RecordState } from "../../modules/mqtt/outbox";
import { Session, SessionState } from "../../modules/mqtt/session";
import type { SessionEvent, SessionOptions } from "../../modules/mqtt/session";
import { ScriptedBroker } from "../support/scripted-broker";
import {
  InvariantError,
  Rng,
  check,
  concat,
  corpusDir,
  deepEqual,
  heap,
  hex32,
  mib,
  readCorpus,
  runFuzzer,
  show,
  stackOf,
  toHex,
} from "./support/fuzz-kit";
import { mutate, randomChunks, randomStream, readHeader } from "./support/mutate";
import { SCENE, scenarios } from "./support/session-corpus";
import { SERVER_TYPES_V4, SERVER_TYPES_V5, TYPES_V4, TYPES_V5, encodeRandom, randomPayload, randomProperties, randomTopicFilter, randomTopicName } from "./support/packet-gen";

/** As in decoder.fuzz.ts; measured the same way (runs of 10 to 200 s grow 1.2..2.6 MiB). */
const HEAP_GROWTH_LIMIT = 8 * 1048576;

const ALL_CODES: ReadonlySet<number> = new Set(Object.values(ErrorCode));
const SOURCES: ReadonlySet<string> = new Set(["local", "remote", "transport"]);
const STATES: ReadonlySet<string> = new Set(Object.values(SessionState));
const PUBLISH_CODES: ReadonlySet<number> = new Set([
  ErrorCode.QoSNotSupported,
  ErrorCode.RetainNotSupported,
  ErrorCode.PacketTooLarge,
  ErrorCode.OutboxFull,
]);
const REQUEST_CODES: ReadonlySet<number> = new Set([
  ErrorCode.NotConnected,
  ErrorCode.WildcardSubscriptionsNotSupported,
  ErrorCode.SharedSubscriptionsNotSupported,
  ErrorCode.SubscriptionIdentifiersNotSupported,
  ErrorCode.PacketTooLarge,
  ErrorCode.OutboxFull,
]);

// ------------------------------------------------------------------ input

type ActionKind =
  | "connect" // session.connect(): a new connection
  | "toBroker" // session bytes -> scripted broker (auto answers queued)
  | "toClient" // broker bytes -> session, perhaps mutated/reordered/split
  | "inject" // hostile or random server packets -> session
  | "publish"
  | "burst" // several publishes in a row (mostly through publishNow while connected)
  | "subscribe"
  | "unsubscribe"
  | "advance" // time passes; handleTimeout at each deadline
  | "lost" // connectionLost()
  | "disconnect"
  | "brokerPublish" // the broker publishes to the client
  | "brokerForget"; // the broker loses its session state

interface Action {
  kind: ActionKind;
  /** Seeds what the action draws when it runs (bytes, arguments, splits). */
  seed: number;
}

interface SessionInput {
  options: SessionOptions;
  /** v5 CONNACK properties the scripted broker sends. */
  connack?: Properties;
  actions: Action[];
}

// ------------------------------------------------------------------ world

/*
 * One scripted broker and one transmit-side decoder serve every case (each
 * allocates a 1 MiB staging buffer; one per case would dominate the run).
 * `freshBroker` puts the broker back in its constructed state (only its
 * private next packet id carries on, which no invariant depends on).
 */
const sharedBroker = new ScriptedBroker();
const sharedTxDecoder = new Decoder({ protocolVersion: 4, maximumPacketSize: 1 << 20 });
const recordDecoder = new Decoder({ protocolVersion: 4, maximumPacketSize: 1 << 20 });
/** pollTransmit targets: rooms of 1..4096 bytes at offset 3 (small rooms split packets across calls). */
const TX_BUFFERS = [1, 2, 5, 16, 64, 300, 4096, 4096].map((n) => new Uint8Array(n + 3));

/** Random receive() chunks; a long stream gets at most ~16 (every call is followed by the full checks). */
function receiveChunks(rng: Rng, bytes: Uint8Array): Uint8Array[] {
  if (bytes.length <= 256) return randomChunks(rng, bytes);
  const cuts = new Set<number>();
  for (let i = rng.range(0, 15); i > 0; i--) cuts.add(rng.range(1, bytes.length - 1));
  const sorted = [0, ...[...cuts].sort((a, b) => a - b), bytes.length];
  const out: Uint8Array[] = [];
  for (let i = 0; i + 1 < sorted.length; i++) out.push(bytes.subarray(sorted[i], sorted[i + 1]));
  return out;
}

function freshBroker(connack?: Properties): ScriptedBroker {
  const b = sharedBroker;
  b.options = { autoConnack: true, connack: connack ? { properties: connack } : {}, autoAck: true, autoRelease: true, autoSuback: true, autoPingresp: true };
  b.disconnected();
  b.loseSession();
  b.version = 4;
  b.decoder.protocolVersion = 4;
  b.received.length = 0;
  b.delivered.length = 0;
  b.connects.length = 0;
  return b;
}

interface Accepted {
  qos: 1 | 2;
  topic: string;
  payload: Uint8Array;
  /** Order of acceptance. */
  seq: number;
  /** Sent at least once (a resend must carry DUP). */
  sent: boolean;
  /** Stored by publishNow(quiet): completes without a "published" event (it leaves the outbox). */
  quiet: boolean;
}

/** Counters for the summary. */
const stats = {
  actions: 0,
  events: new Map<string, number>(),
  closedCodes: new Map<string, number>(),
  publishThrows: new Map<string, number>(),
  accepted: 0,
  /** publishNow calls, and the QoS 1/2 messages it took (included in `accepted`). */
  directTried: 0,
  direct: 0,
  completed: 0,
  reconnects: 0,
  maxRing: 0,
  aliasSent: 0,
  nearLimitSent: 0,
};

function bump<K>(map: Map<K, number>, key: K): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

function errorLabel(e: unknown): string {
  if (e instanceof MqttError) return `MqttError ${errorName(e.code)}`;
  if (e instanceof Error) return e.name;
  return typeof e;
}

/** Bytes of a v5 CONNACK/v3.1.1 CONNACK that accepts a clean session. */
function cleanConnack(version: ProtocolVersion): Uint8Array {
  return encode({ type: 2, sessionPresent: false, reasonCode: 0 }, version);
}

/**
 * Bound on the control transmit ring (session-tx.ts): it starts at
 * `txRingSize` and doubles only when an input queues more control bytes
 * than it holds. The owner here drains pollTransmit after every input, so
 * one input queues at most: a CONNECT/DISCONNECT marker and PINGREQ (a few
 * bytes) plus one acknowledgement of at most 5 bytes per packet in the
 * bytes received, and a packet that needs an acknowledgement takes at least
 * 4 bytes (PUBREL) — so 2 * (5/4 * L + 16) for L bytes received in one call.
 */
function txRingBound(initial: number, largestReceive: number): number {
  return Math.max(initial, 2 * Math.ceil((5 / 4) * largestReceive + 16));
}

class World {
  readonly session: Session;
  readonly outbox: Outbox;
  readonly version: ProtocolVersion;
  readonly rng: Rng;
  broker: ScriptedBroker;
  now = 1_000_000;
  /** Bytes the session sent on the current connection, not yet given to the broker. */
  toBrokerWire: Uint8Array[] = [];
  /** Encoded packets the broker sent on the current connection, not yet delivered. */
  toClientWire: Uint8Array[] = [];
  readonly accepted = new Map<number, Accepted>();
  /** Pending SUBSCRIBE/UNSUBSCRIBE: id -> kind (8/10). */
  readonly pending = new Map<number, number>();
  readonly transcript: string[] | undefined;
  largestReceive = 0;
  readonly ringInitial: number;
  connectedEvents = 0;
  lastClosed: SessionEvent | undefined;
  /** Model of the inbound QoS 2 ids held (delivered, awaiting PUBREL); kept only with packetEvents. */
  readonly held: Set<number> | undefined;
  /** Decodes the session's output on the current connection as it is handed out. */
  readonly txDecoder: Decoder;
  /** Bytes of a packet partly handed out (framing for the size check). */
  txPending = new Uint8Array(0);
  /** Packets the session sent on the current connection. */
  txPackets = 0;
  /** Acceptance number of the last QoS 1/2 PUBLISH sent on this connection. */
  txLastSeq = 0;
  /** Acceptance counter. */
  seq = 0;
  /** Topic aliases the session has mapped on the current connection. */
  readonly txAliases = new Map<number, string>();
  /** This case's favourite topics. */
  readonly topics: string[];
  readonly maxInflightQos2: number;

  constructor(input: SessionInput, seed: number, record: boolean) {
    this.session = new Session(input.options);
    this.outbox = this.session.outbox;
    this.version = (input.options.protocolVersion ?? 4) as ProtocolVersion;
    this.rng = new Rng(seed);
    this.broker = freshBroker(input.connack);
    this.transcript = record ? [`new Session(${show(input.options)})`] : undefined;
    this.ringInitial = input.options.txRingSize ?? 128;
    this.maxInflightQos2 = input.options.maxInflightQos2 ?? 16;
    this.held = input.options.packetEvents === true ? new Set<number>() : undefined;
    this.txDecoder = sharedTxDecoder;
    this.newTxConnection();
    this.topics = [randomTopicName(this.rng), randomTopicName(this.rng), this.rng.pick(["a", "t/1", "sensors/temperature"])];
  }

  /** Adds a line to the transcript (only when recording one: the text is built lazily). */
  log(line: string | (() => string)): void {
    if (this.transcript !== undefined) this.transcript.push(`t=${this.now} ${typeof line === "string" ? line : line()}`);
  }

  /** Calls a session input that must never throw. */
  input(what: string, fn: () => void): void {
    try {
      fn();
    } catch (e) {
      throw new InvariantError("no-throw", `${what} threw: ${stackOf(e)}`);
    }
    this.pump();
  }

  /** After every input: drain pollTransmit (random buffer sizes), pollTimeout, pollEvent; then check. */
  pump(): void {
    const s = this.session;
    for (let guard = 0; ; guard++) {
      check(guard < 100000, "no-throw", "pollTransmit never returned 0");
      const buf = this.rng.pick(TX_BUFFERS);
      const size = buf.length - 3;
      let n: number;
      try {
        n = s.pollTransmit(buf, 3);
      } catch (e) {
        throw new InvariantError("no-throw", `pollTransmit threw: ${stackOf(e)}`);
      }
      check(n >= 0 && n <= size, "no-throw", `pollTransmit returned ${n} for a ${size}-byte room`);
      if (n === 0) break;
      const bytes = buf.slice(3, 3 + n);
      this.toBrokerWire.push(bytes);
      this.checkOutput(bytes);
    }
    try {
      s.pollTimeout();
    } catch (e) {
      throw new InvariantError("no-throw", `pollTimeout threw: ${stackOf(e)}`);
    }
    for (;;) {
      let event: SessionEvent | undefined;
      try {
        event = s.pollEvent();
      } catch (e) {
        throw new InvariantError("no-throw", `pollEvent threw: ${stackOf(e)}`);
      }
      if (event === undefined) break;
      this.onEvent(event);
    }
    this.checkState();
  }

  onEvent(event: SessionEvent): void {
    bump(stats.events, event.type);
    switch (event.type) {
      case "published": {
        const a = this.accepted.get(event.packetId);
        check(a !== undefined, "no-loss", () => `"published" for packet id ${event.packetId}, which no accepted QoS 1/2 message holds: ${show(event)}`);
        check(!a.quiet, "no-loss", () => `"published" for packet id ${event.packetId}, a message publishNow stored quiet`);
        check(a.qos === event.qos, "no-loss", () => `"published" for id ${event.packetId} says QoS ${event.qos}, the message was QoS ${a.qos}`);
        this.accepted.delete(event.packetId);
        stats.completed++;
        this.log(() => `event published id=${event.packetId} reason=0x${event.reasonCode.toString(16)}`);
        return;
      }
      case "subscribed":
      case "unsubscribed": {
        const kind = this.pending.get(event.packetId);
        check(
          kind === (event.type === "subscribed" ? 8 : 10),
          "packet-ids",
          () => `"${event.type}" for id ${event.packetId}, which has no pending ${event.type === "subscribed" ? "SUBSCRIBE" : "UNSUBSCRIBE"}`,
        );
        this.pending.delete(event.packetId);
        return;
      }
      case "closed": {
        const error = event.error;
        if (error !== undefined) {
          check(error instanceof MqttError, "no-throw", () => `"closed" carries a non-MqttError: ${stackOf(error)}`);
          check(ALL_CODES.has(error.code), "no-throw", `"closed" error code 0x${error.code.toString(16)} is not in ErrorCode`);
          check(SOURCES.has(error.source), "no-throw", `"closed" error source "${error.source}"`);
          bump(stats.closedCodes, `${errorName(error.code)}/${error.source}`);
        } else bump(stats.closedCodes, "clean");
        this.log(() => `event closed ${error ? `${errorName(error.code)} (${error.message})` : "(no error)"}`);
        this.pending.clear(); // the session forgets pending requests with the connection
        this.lastClosed = event;
        return;
      }
      case "connected":
        this.connectedEvents++;
        this.log(() => `event connected sessionPresent=${event.sessionPresent}`);
        if (!event.sessionPresent) this.held?.clear(); // [MQTT-3.2.2-5]: no session, no held ids
        return;
      case "packetsend":
        // The session answers a PUBREL it handled with PUBCOMP (a PUBREL it refuses, e.g. before CONNACK, gets none).
        if (event.packet.type === 7) this.held?.delete(event.packet.packetId);
        return;
      case "message": {
        const p = event.packet;
        check(p.qos === 0 || p.qos === 1 || p.qos === 2, "no-throw", `message with QoS ${p.qos}`);
        check(typeof p.topic === "string" && p.topic !== "" && !/[+#]/.test(p.topic), "no-throw", `message with topic ${JSON.stringify(p.topic)}`);
        check(p.payload instanceof Uint8Array, "no-throw", "message payload is not a Uint8Array");
        if (p.qos === 2 && this.held !== undefined) {
          const id = p.packetId as number;
          check(!this.held.has(id), "exactly-once", `QoS 2 message id ${id} delivered again before its PUBREL (MQTT 5.0 §4.3.3)`);
          this.held.add(id);
        }
        return;
      }
      case "disconnect":
      case "auth":
        check(this.version === 5, "no-throw", `"${event.type}" event over MQTT 3.1.1`);
        return;
      default:
        return;
    }
  }

  /** Invariants that hold between any two inputs. */
  checkState(): void {
    const s = this.session;
    const ob = this.outbox;
    check(STATES.has(s.state), "no-throw", `unknown state ${String(s.state)}`);
    // [outbox-bounds]
    const c = ob.counters;
    check(c.bytesUsed >= 0 && c.bytesUsed <= ob.capacity, "outbox-bounds", `outbox uses ${c.bytesUsed} bytes of ${ob.capacity}`);
    let records = 0;
    let qos2Out = 0;
    const ids = new Set<number>();
    for (let slot = ob.first(); slot >= 0; slot = ob.next(slot)) {
      records++;
      const st = ob.state(slot);
      if (ob.qos(slot) === 2 && st === RecordState.InFlight) qos2Out++;
      check(records <= ob.maxMessages, "outbox-bounds", `more than maxMessages ${ob.maxMessages} records (or a cycle)`);
      const qos = ob.qos(slot);
      const id = ob.packetId(slot);
      if (qos === 0) check(id === 0, "packet-ids", `QoS 0 record with id ${id}`);
      else {
        check(id >= 1 && id <= 65535, "packet-ids", `QoS ${qos} record with id ${id}`);
        check(!ids.has(id), "packet-ids", `two outbox records hold id ${id}`);
        ids.add(id);
        check(!this.pending.has(id), "packet-ids", `id ${id} is held by an outbox record and a pending SUBSCRIBE/UNSUBSCRIBE [MQTT-2.2.1-3]`);
      }
    }
    check(records === c.queued + c.inflight, "outbox-bounds", `outbox holds ${records} records, counters say ${c.queued} queued + ${c.inflight} in flight`);
    // [no-loss]
    for (const [id, a] of this.accepted) {
      if (a.quiet && a.sent && !ids.has(id)) {
        // Completed without an event, as asked (an acknowledgement took it out of the outbox).
        this.accepted.delete(id);
        stats.completed++;
        continue;
      }
      check(ids.has(id), "no-loss", () => `accepted QoS ${a.qos} message id ${id} (topic ${JSON.stringify(a.topic)}) is neither completed nor in the outbox`);
      const slot = ob.find(id);
      check(ob.qos(slot) === a.qos, "no-loss", `outbox record ${id} has QoS ${ob.qos(slot)}, the message was QoS ${a.qos}`);
    }
    // [exactly-once] the session's held ids are exactly the delivered QoS 2 messages not yet released
    if (this.held !== undefined) {
      const ids = s.inboundQos2Ids();
      check(
        ids.length === this.held.size && ids.every((id) => this.held?.has(id)),
        "exactly-once",
        () => `session holds inbound QoS 2 ids [${ids.sort((a, b) => a - b).join(",")}], delivered and not released: [${[...this.held ?? []].sort((a, b) => a - b).join(",")}]`,
      );
    }
    // [inflight]
    check(s.inflightCount >= 0 && s.inflightCount <= s.inflightWindow, "inflight", `inflightCount ${s.inflightCount}, window ${s.inflightWindow}`);
    if (s.state === SessionState.Connected) {
      check(s.inflightCount === c.inflight, "inflight", `connected with inflightCount ${s.inflightCount} but ${c.inflight} outbox records in flight`);
      check(qos2Out <= this.maxInflightQos2, "inflight", `${qos2Out} QoS 2 messages await their PUBREC, maxInflightQos2 ${this.maxInflightQos2}`);
    }
    // [memory]
    const tx = (s as unknown as { tx?: { ring?: Uint8Array } }).tx;
    if (tx?.ring instanceof Uint8Array) {
      stats.maxRing = Math.max(stats.maxRing, tx.ring.length);
      const bound = txRingBound(this.ringInitial, this.largestReceive);
      check(tx.ring.length <= bound, "memory", `control transmit ring grew to ${tx.ring.length} bytes (bound ${bound})`);
    }
  }

  /** Compares every accepted message with its outbox record's bytes (when it still has them). */
  checkRecords(): void {
    const ob = this.outbox;
    const d = recordDecoder;
    d.protocolVersion = this.version;
    for (const [id, a] of this.accepted) {
      const slot = ob.find(id);
      check(slot >= 0, "no-loss", `accepted id ${id} not in the outbox`);
      const st = ob.state(slot);
      if (st !== 0 && st !== 1) continue; // PUBREL stage: the PUBLISH is done with
      const start = ob.offset(slot);
      const bytes = ob.buffer.subarray(start, start + ob.length(slot));
      d.reset();
      let p: Packet | undefined;
      try {
        d.push(bytes);
        p = d.next();
      } catch (e) {
        throw new InvariantError("no-loss", `outbox record ${id} does not decode: ${toHex(bytes)}: ${stackOf(e)}`);
      }
      const pub = p as PublishPacket;
      check(
        p !== undefined && p.type === 3 && pub.topic === a.topic && pub.qos === a.qos && deepEqual(pub.payload, a.payload),
        "no-loss",
        () => `outbox record ${id} holds ${show(p)}, accepted was ${show(a)}`,
      );
    }
  }

  // ------------------------------------------------------------- actions

  receive(bytes: Uint8Array): void {
    const s = this.session;
    const before = s.state;
    const open = before === SessionState.Connecting || before === SessionState.Connected;
    this.largestReceive = Math.max(this.largestReceive, bytes.length);
    this.log(() => `receive ${toHex(bytes)}`);
    try {
      s.receive(bytes, this.now);
    } catch (e) {
      throw new InvariantError("no-throw", `receive(${toHex(bytes).slice(0, 400)}) threw: ${stackOf(e)}`);
    }
    if (!open) {
      // [closed-sticks]: ignored unless Connecting or Connected
      const state = s.state;
      const emitted: SessionEvent[] = [];
      for (let event = s.pollEvent(); event !== undefined; event = s.pollEvent()) {
        emitted.push(event);
        this.onEvent(event);
      }
      check(
        state === before && emitted.length === 0,
        "closed-sticks",
        () => `receive() in state ${before} changed the state to ${state} or emitted ${show(emitted)}`,
      );
    }
    this.pump();
  }

  deliver(chunks: readonly Uint8Array[]): void {
    for (const chunk of chunks) this.receive(chunk);
  }

  connect(): void {
    this.toBrokerWire = [];
    this.toClientWire = [];
    this.broker.disconnected();
    this.newTxConnection();
    this.pending.clear();
    this.log("connect");
    this.input("connect()", () => this.session.connect(this.now));
  }

  lost(): void {
    this.toBrokerWire = [];
    this.toClientWire = [];
    this.broker.disconnected();
    this.newTxConnection();
    const error = this.rng.chance(0.5) ? new MqttError(ErrorCode.ConnectionLost, "fuzz: reset by peer", "transport") : undefined;
    this.log(() => `connectionLost(${error ? "error" : ""})`);
    this.input("connectionLost()", () => this.session.connectionLost(this.now, error));
    if (this.session.state === SessionState.Disconnected) this.pending.clear();
  }

  /**
   * Decodes what the session transmits, as it is handed out (the broker
   * sees it later, and an acknowledgement may reach the session first), and
   * checks every PUBLISH. `txDecoder` and `txAliases` belong to the current
   * connection.
   */
  checkOutput(bytes: Uint8Array): void {
    const d = this.txDecoder;
    const pending = this.txPending.length > 0 ? concat([this.txPending, bytes]) : bytes;
    try {
      d.push(bytes);
      let at = 0;
      for (;;) {
        const p = d.next();
        if (p === undefined) break;
        const h = readHeader(pending.subarray(at));
        const size = h ? h.bodyStart + h.rl : 0;
        at += size;
        check(this.txPackets > 0 || p.type === 1, "valid-output", () => `the first packet on a connection is ${show(p)}, not CONNECT [MQTT-3.1.0-1]`);
        this.txPackets++;
        if (p.type === 3) this.checkOutgoingPublish(p, size);
      }
      this.txPending = pending.slice(at);
    } catch (e) {
      if (e instanceof InvariantError) throw e;
      throw new InvariantError("valid-output", `the session sent bytes our decoder rejects: ${toHex(pending).slice(0, 600)}: ${stackOf(e)}`);
    }
  }

  /** A new network connection: the transmit-side decoder and alias map start afresh. */
  newTxConnection(): void {
    this.txDecoder.reset();
    this.txDecoder.protocolVersion = this.version;
    this.txPending = new Uint8Array(0);
    this.txPackets = 0;
    this.txLastSeq = 0;
    this.txAliases.clear();
  }

  toBroker(): void {
    if (this.toBrokerWire.length === 0) return;
    const bytes = concat(this.toBrokerWire);
    this.toBrokerWire = [];
    let packets: Packet[];
    try {
      packets = this.broker.decode(bytes);
    } catch (e) {
      throw new InvariantError("valid-output", `the broker cannot decode what the session sent: ${toHex(bytes).slice(0, 600)}: ${stackOf(e)}`);
    }
    for (const p of packets) this.broker.handle(p);
    this.toClientWire.push(...this.broker.outgoing.splice(0));
  }

  /**
   * [server-limits] a PUBLISH the session sends respects what the server's
   * CONNACK said: Maximum QoS [MQTT-3.2.2-11], Retain Available
   * [MQTT-3.2.2-14], Maximum Packet Size [MQTT-3.2.2-15], Topic Alias
   * Maximum [MQTT-3.3.2-9]; [delivery-integrity] an alias-only PUBLISH uses
   * an alias mapped earlier on this connection (MQTT 5.0 §3.3.2.3.4), and a
   * QoS 1/2 PUBLISH carries an id of an accepted, unfinished message with
   * that message's topic and payload.
   */
  checkOutgoingPublish(p: PublishPacket, size: number): void {
    const info = this.session.server;
    check(p.qos <= info.maximumQoS, "server-limits", `sent PUBLISH QoS ${p.qos}, server Maximum QoS ${info.maximumQoS} [MQTT-3.2.2-11]`);
    check(!p.retain || info.retainAvailable, "server-limits", "sent a retained PUBLISH, server has Retain Available 0 [MQTT-3.2.2-14]");
    check(
      size <= info.maximumPacketSize,
      "server-limits",
      () => `sent a PUBLISH of ${size} bytes (topic ${JSON.stringify(p.topic)}, alias ${p.properties?.topicAlias}), server Maximum Packet Size ${info.maximumPacketSize} [MQTT-3.2.2-15]`,
    );
    const alias = p.properties?.topicAlias;
    let topic = p.topic;
    if (alias !== undefined) stats.aliasSent++;
    if (info.maximumPacketSize - size <= 3) stats.nearLimitSent++;
    if (alias !== undefined) {
      check(alias >= 1 && alias <= info.topicAliasMaximum, "server-limits", `sent Topic Alias ${alias}, server Topic Alias Maximum ${info.topicAliasMaximum} [MQTT-3.3.2-9]`);
      if (topic === "") {
        const mapped = this.txAliases.get(alias);
        check(mapped !== undefined, "delivery-integrity", `sent PUBLISH with Topic Alias ${alias} and no topic before mapping it on this connection`);
        topic = mapped;
      } else this.txAliases.set(alias, topic);
    }
    if (p.qos === 0) return;
    const a = this.accepted.get(p.packetId as number);
    check(a !== undefined, "delivery-integrity", () => `sent QoS ${p.qos} PUBLISH id ${p.packetId}, which no unfinished accepted message holds: ${show(p)}`);
    check(
      a.qos === p.qos && a.topic === topic && deepEqual(a.payload, p.payload),
      "delivery-integrity",
      () => `sent PUBLISH id ${p.packetId} as ${show({ topic, qos: p.qos, payload: p.payload })}, accepted was ${show(a)}`,
    );
    check(p.dup === a.sent, "delivery-integrity", `PUBLISH id ${p.packetId} sent ${a.sent ? "again without" : "the first time with"} DUP [MQTT-3.3.1-1]`);
    a.sent = true;
    // [order] records leave in the order they were accepted (MQTT 5.0 §4.6)
    check(a.seq > this.txLastSeq, "order", `PUBLISH id ${p.packetId} (accepted #${a.seq}) sent after one accepted later (#${this.txLastSeq}) on this connection`);
    this.txLastSeq = a.seq;
  }

  toClient(rng: Rng, mutationRate: number): void {
    this.toClientWire.push(...this.broker.outgoing.splice(0));
    if (this.toClientWire.length === 0) return;
    const take = rng.chance(0.7) ? this.toClientWire.length : rng.range(1, this.toClientWire.length);
    const packets = this.toClientWire.splice(0, take);
    const out: Uint8Array[] = [];
    for (let i = 0; i < packets.length; i++) {
      let p = packets[i];
      if (rng.chance(mutationRate)) {
        const r = rng.int(10);
        if (r === 0) continue; // dropped
        if (r === 1) out.push(p); // duplicated
        else if (r === 2 && i + 1 < packets.length) {
          out.push(packets[i + 1]); // reordered
          packets[i + 1] = p;
          continue;
        } else p = mutate(rng, p, packets[rng.int(packets.length)]);
      }
      out.push(p);
    }
    const stream = concat(out);
    this.deliver(receiveChunks(rng, stream));
  }

  inject(rng: Rng): void {
    const v5 = this.version === 5;
    const ids = [...this.accepted.keys(), ...this.pending.keys(), ...this.session.inboundQos2Ids()];
    const parts: Uint8Array[] = [];
    const n = rng.range(1, 3);
    for (let i = 0; i < n; i++) {
      const r = rng.int(100);
      let bytes: Uint8Array;
      if (r < 75) {
        const types = rng.chance(0.9) ? (v5 ? SERVER_TYPES_V5 : SERVER_TYPES_V4) : v5 ? TYPES_V5 : TYPES_V4;
        bytes = encodeRandom(rng, types, this.version, { ids, codes: rng.range(1, 3) }).bytes;
      } else if (r < 90) {
        bytes = mutate(rng, encodeRandom(rng, v5 ? SERVER_TYPES_V5 : SERVER_TYPES_V4, this.version, { ids }).bytes, randomStream(rng));
      } else if (r < 95 && corpusStreams[this.version].length > 0) {
        bytes = rng.pick(corpusStreams[this.version]);
      } else {
        bytes = randomStream(rng);
      }
      parts.push(bytes);
    }
    this.deliver(receiveChunks(rng, concat(parts)));
  }

  publish(rng: Rng): void {
    const s = this.session;
    const ob = this.outbox;
    // Applications publish to a few topics again and again: that is what reuses topic aliases and coalesces QoS 0.
    let topic: unknown = rng.chance(0.6) ? rng.pick(this.topics) : randomTopicName(rng);
    let payload: unknown = rng.chance(0.1) ? rng.bytes(rng.range(ob.capacity >> 2, ob.capacity + 8)) : randomPayload(rng);
    const qos: unknown = rng.chance(0.03) ? rng.pick([3, -1, 1.5, "1"]) : rng.pick([0, 1, 1, 2, 2]);
    const limit = s.server.maximumPacketSize;
    if (limit < 100_000 && typeof topic === "string" && rng.chance(0.3)) {
      // a message within a few bytes of the server's Maximum Packet Size
      const q = qos === 1 || qos === 2 ? qos : 0;
      const overhead = encodedLength({ type: 3, topic, payload: new Uint8Array(0), qos: q, packetId: q > 0 ? 1 : undefined, retain: false, dup: false }, this.version);
      payload = rng.bytes(Math.max(0, limit - overhead - rng.range(-1, 3)));
    }
    const options: { qos?: unknown; retain?: unknown; properties?: Properties } = { qos, retain: rng.chance(0.2) };
    if (rng.chance(0.2)) options.properties = randomProperties(rng, 3);
    if (options.properties) {
      delete options.properties.topicAlias;
      delete options.properties.subscriptionIdentifier;
      delete options.properties.messageExpiryInterval; // expiry is not loss, but it ends a record without an event
      if (rng.chance(0.05)) options.properties.topicAlias = 1; // documented TypeError
    }
    if (rng.chance(0.03)) topic = rng.pick(["", "a/+", "#", 42, "a\u0000b"]);
    if (rng.chance(0.02)) payload = rng.pick([null, 7, { length: 1 }]);
    const before = { records: ob.counters.queued + ob.counters.inflight, bytes: ob.counters.bytesUsed, dropped: ob.counters.dropped };
    // The fast path, mostly while connected (declining is checked too).
    const tryDirect = rng.chance(s.state === SessionState.Connected ? 0.8 : 0.1);
    if (options.properties === undefined && tryDirect && this.publishNow(rng, topic, payload, qos, options.retain === true)) return;
    let id: number;
    try {
      id = s.publish(topic as string, payload as Uint8Array, options as { qos?: QoS; retain?: boolean; properties?: Properties }, this.now);
    } catch (e) {
      bump(stats.publishThrows, errorLabel(e));
      const ok =
        e instanceof TypeError || e instanceof RangeError || (e instanceof MqttError && PUBLISH_CODES.has(e.code) && e.source === "local");
      check(ok, "api-errors", () => `publish(${show(topic)}, qos ${show(qos)}) threw ${stackOf(e)}`);
      const after = { records: ob.counters.queued + ob.counters.inflight, bytes: ob.counters.bytesUsed, dropped: ob.counters.dropped };
      check(deepEqual(before, after), "api-errors", () => `publish() threw ${errorLabel(e)} but changed the outbox: ${show(before)} -> ${show(after)}`);
      this.log(() => `publish(${show(topic)}, qos ${show(qos)}) threw ${errorLabel(e)}`);
      this.pump();
      return;
    }
    this.log(() => `publish(${show(topic)}, ${payload instanceof Uint8Array ? payload.length : "?"} bytes, ${show(options)}) = ${id}`);
    if (qos === 1 || qos === 2) {
      check(Number.isInteger(id) && id >= 1 && id <= 65535, "packet-ids", `publish() of QoS ${qos} returned ${id}`);
      check(!this.accepted.has(id), "packet-ids", `publish() returned id ${id}, still held by an unfinished QoS ${this.accepted.get(id)?.qos} message`);
      check(!this.pending.has(id), "packet-ids", `publish() returned id ${id}, held by a pending SUBSCRIBE/UNSUBSCRIBE`);
      this.accepted.set(id, { qos, topic: topic as string, payload: (payload as Uint8Array).slice(), seq: ++this.seq, sent: false, quiet: false });
      stats.accepted++;
    } else {
      check(id === 0 || id === -1, "packet-ids", `publish() of QoS 0 returned ${id}`);
    }
    this.pump();
  }

  /**
   * The owner's transmit fast path (as the Client uses it): publishNow into
   * a random room; when it takes the message, its bytes go on the wire at
   * once (nothing else is pending: every input drains pollTransmit). When it
   * declines it must change nothing, and the caller goes on with publish().
   * Returns true when the message was taken.
   */
  publishNow(rng: Rng, topic: unknown, payload: unknown, qos: unknown, retain: boolean): boolean {
    const s = this.session;
    const ob = this.outbox;
    const quiet = rng.chance(0.5);
    // Mostly a room that holds a message (the Client's transmit buffer), sometimes one that may not.
    const buf = rng.chance(0.8) ? TX_BUFFERS[TX_BUFFERS.length - 1] : rng.pick(TX_BUFFERS);
    const state = () => ({ c: { ...ob.counters }, inflight: s.inflightCount, id: s.directId });
    const before = state();
    let n: number;
    try {
      n = s.publishNow(topic as string, payload as Uint8Array, qos as QoS, retain, buf, 3, this.now, quiet);
    } catch (e) {
      throw new InvariantError("no-throw", `publishNow(${show(topic)}, qos ${show(qos)}) threw: ${stackOf(e)}`);
    }
    stats.directTried++;
    if (n === 0) {
      check(deepEqual(state(), before), "api-errors", () => `publishNow() declined but changed the session: ${show(before)} -> ${show(state())}`);
      return false;
    }
    check(n > 0 && n <= buf.length - 3, "valid-output", `publishNow() returned ${n} for a ${buf.length - 3}-byte room`);
    const view = qos === 0 ? undefined : s.directView;
    check(view === undefined || view.length === n, "valid-output", `publishNow() returned ${n} with a view of ${view?.length} bytes`);
    const bytes = view !== undefined ? view.slice() : buf.slice(3, 3 + n);
    this.log(() => `publishNow(${show(topic)}, ${(payload as Uint8Array).length} bytes, qos ${show(qos)}, retain ${retain}, quiet ${quiet}) = ${n} bytes`);
    if (qos === 1 || qos === 2) {
      const id = s.directId;
      check(Number.isInteger(id) && id >= 1 && id <= 65535, "packet-ids", `publishNow() of QoS ${qos} reported id ${id}`);
      check(!this.accepted.has(id), "packet-ids", `publishNow() used id ${id}, still held by an unfinished QoS ${this.accepted.get(id)?.qos} message`);
      check(!this.pending.has(id), "packet-ids", `publishNow() used id ${id}, held by a pending SUBSCRIBE/UNSUBSCRIBE`);
      this.accepted.set(id, { qos, topic: topic as string, payload: (payload as Uint8Array).slice(), seq: ++this.seq, sent: false, quiet });
      stats.accepted++;
      stats.direct++;
    }
    this.toBrokerWire.push(bytes);
    this.checkOutput(bytes);
    this.pump();
    return true;
  }

  request(rng: Rng, kind: 8 | 10): void {
    const s = this.session;
    const n = rng.range(1, 3);
    const filters: unknown[] = [];
    for (let i = 0; i < n; i++) filters.push(rng.chance(0.03) ? rng.pick(["", "a/#/b", "a+", 5]) : randomTopicFilter(rng));
    let id: number;
    try {
      if (kind === 8) {
        const subs = filters.map((topic) => {
          const sub: Subscription = { topic: topic as string, qos: rng.int(3) as QoS };
          if (rng.chance(0.2)) sub.noLocal = true;
          if (rng.chance(0.2)) sub.retainHandling = rng.int(3) as 0 | 1 | 2;
          return sub;
        });
        const props = rng.chance(0.2) ? { subscriptionIdentifier: rng.range(1, 1000) } : undefined;
        id = s.subscribe(subs, props, this.now);
      } else {
        id = s.unsubscribe(filters as string[], undefined, this.now);
      }
    } catch (e) {
      bump(stats.publishThrows, `${kind === 8 ? "subscribe" : "unsubscribe"}: ${errorLabel(e)}`);
      const ok =
        e instanceof TypeError || e instanceof RangeError || (e instanceof MqttError && REQUEST_CODES.has(e.code) && e.source === "local");
      check(ok, "api-errors", () => `${kind === 8 ? "subscribe" : "unsubscribe"}(${show(filters)}) threw ${stackOf(e)}`);
      this.pump();
      return;
    }
    this.log(() => `${kind === 8 ? "subscribe" : "unsubscribe"}(${show(filters)}) = ${id}`);
    check(Number.isInteger(id) && id >= 1 && id <= 65535, "packet-ids", `${kind === 8 ? "subscribe" : "unsubscribe"}() returned ${id}`);
    check(!this.pending.has(id), "packet-ids", `request id ${id} is already pending`);
    check(!this.outbox.has(id), "packet-ids", `request id ${id} is held by an outbox record [MQTT-2.2.1-3]`);
    this.pending.set(id, kind);
    this.pump();
  }

  advance(rng: Rng): void {
    const s = this.session;
    const ms = rng.pick([1, 50, 1000, 5000, 10_000, 30_000, 60_000, 90_000, 200_000]);
    const target = this.now + ms;
    for (let guard = 0; guard < 1000; guard++) {
      const deadline = s.pollTimeout();
      if (deadline === undefined || deadline > target) break;
      if (deadline > this.now) this.now = deadline;
      const before = s.state;
      this.log("handleTimeout");
      this.input("handleTimeout()", () => s.handleTimeout(this.now));
      if (before === SessionState.Closed) check(s.state === before, "closed-sticks", `handleTimeout() in state closed moved to ${s.state}`);
      const next = s.pollTimeout();
      check(next === undefined || next > this.now, "timer", `after handleTimeout(${this.now}) pollTimeout() is ${next}: the timer would spin`);
      if (rng.chance(0.5)) {
        // a live broker answers at once (PINGRESP)
        this.toBroker();
        this.toClient(rng, 0);
      }
    }
    this.now = target;
  }

  disconnect(rng: Rng): void {
    const code = this.version === 5 ? rng.pick([0, 0, 4, 0x80, 0x83, 0x99, 7]) : 0;
    this.log(() => `disconnect(${code})`);
    try {
      this.session.disconnect(this.now, code);
    } catch (e) {
      check(e instanceof RangeError || e instanceof TypeError, "api-errors", () => `disconnect(${code}) threw ${stackOf(e)}`);
    }
    this.pump();
  }

  brokerPublish(rng: Rng): void {
    const topic = randomTopicName(rng);
    this.broker.publish(topic, rng.bytes(rng.smallLength(40)), rng.int(3) as QoS);
    this.toClientWire.push(...this.broker.outgoing.splice(0));
  }

  /** [reconnect]: a new connection to a well-behaved broker completes everything. */
  finalReconnect(): void {
    this.checkRecords();
    this.broker = freshBroker();
    this.connect();
    const connectedBefore = this.connectedEvents;
    this.toBroker();
    check(this.broker.connects.length === 1, "reconnect", `connect() sent no CONNECT (broker saw ${this.broker.received.length} packets)`);
    this.toClientWire.push(...this.broker.outgoing.splice(0));
    const first = this.toClientWire.shift();
    check(first !== undefined && deepEqual(first, cleanConnack(this.version)), "reconnect", "the broker did not answer with a clean CONNACK");
    this.receive(first);
    check(
      this.session.state === SessionState.Connected && this.connectedEvents === connectedBefore + 1,
      "reconnect",
      () => `connect() + clean CONNACK left the session ${this.session.state}${this.lastClosed ? ` (last closed: ${show(this.lastClosed)})` : ""}`,
    );
    stats.reconnects++;
    for (let round = 0; round < 500; round++) {
      this.toBroker();
      this.toClientWire.push(...this.broker.outgoing.splice(0));
      if (this.toClientWire.length === 0 && this.toBrokerWire.length === 0) break;
      const packets = this.toClientWire.splice(0);
      for (const p of packets) this.receive(p);
    }
    check(
      this.accepted.size === 0,
      "reconnect",
      () => `after reconnecting to a well-behaved broker, accepted messages never completed: ids ${[...this.accepted.keys()].join(",")} (state ${this.session.state})`,
    );
    const c = this.outbox.counters;
    check(c.queued + c.inflight === 0, "reconnect", `outbox still holds ${c.queued} queued + ${c.inflight} in-flight records`);
  }
}

// ---------------------------------------------------------------- running

function runInput(input: SessionInput, record = false): World {
  const world = new World(input, input.actions.length > 0 ? input.actions[0].seed ^ 0x9e37 : 1, record);
  const mutationRate = (input.actions[0]?.seed ?? 0) % 3 === 0 ? 0 : (input.actions[0]?.seed ?? 0) % 3 === 1 ? 0.05 : 0.3;
  try {
    for (const action of input.actions) {
      stats.actions++;
      const rng = new Rng(action.seed);
      switch (action.kind) {
        case "connect":
          world.connect();
          if (rng.chance(0.7)) {
            // usually straight through the handshake, so that later actions find a connection
            world.toBroker();
            world.toClient(rng, 0);
          }
          break;
        case "toBroker":
          world.toBroker();
          break;
        case "toClient":
          world.toClient(rng, mutationRate);
          break;
        case "inject":
          world.inject(rng);
          break;
        case "publish":
          world.publish(rng);
          break;
        case "burst":
          for (let i = rng.range(2, 8); i > 0; i--) world.publish(rng);
          break;
        case "subscribe":
          world.request(rng, 8);
          break;
        case "unsubscribe":
          world.request(rng, 10);
          break;
        case "advance":
          world.advance(rng);
          break;
        case "lost":
          world.lost();
          break;
        case "disconnect":
          world.disconnect(rng);
          break;
        case "brokerPublish":
          world.brokerPublish(rng);
          break;
        case "brokerForget":
          world.broker.loseSession();
          break;
      }
    }
    world.finalReconnect();
  } catch (e) {
    if (record && e instanceof Error) (e as Error & { world?: World }).world = world;
    throw e;
  }
  return world;
}

// ------------------------------------------------------------- generation

function randomOptions(rng: Rng): { options: SessionOptions; connack?: Properties } {
  const protocolVersion = rng.chance(0.5) ? 5 : 4;
  const clean = rng.chance(0.6);
  const options: SessionOptions = {
    protocolVersion,
    clientId: clean && rng.chance(0.3) ? "" : "fuzz-client",
    clean,
    keepalive: rng.pick([0, 1, 10, 60]),
    outbox: {
      capacity: rng.pick([256, 1024, 16384, 64]),
      maxMessages: rng.pick([2, 4, 16, 64, 1]),
      qos0Offline: rng.chance(0.5) ? "queue" : "discard",
      coalesceQos0: rng.chance(0.2),
    },
    maxInflight: rng.pick([1, 2, 5, 32]),
    maxInflightQos2: rng.pick([1, 2, 16]),
    maxPendingRequests: rng.pick([1, 2, 8]),
    maximumPacketSize: rng.pick([16384, 16384, 512, 64]),
    receiveMaximum: rng.pick([1, 2, 16]),
    topicAliasMaximum: rng.pick([0, 2, 8]),
    outboundTopicAliasCapacity: rng.pick([0, 1, 2, 8]),
    connectTimeout: rng.pick([1000, 30000]),
    pingTimeout: rng.pick([500, 10000]),
    txRingSize: rng.pick([16, 128]),
    packetEvents: rng.chance(0.5),
  };
  if (protocolVersion === 5 && rng.chance(0.2)) options.properties = { sessionExpiryInterval: rng.pick([0, 60]), authenticationMethod: "fuzz" };
  let connack: Properties | undefined;
  if (protocolVersion === 5 && rng.chance(0.75)) {
    connack = {};
    if (rng.chance(0.5)) connack.receiveMaximum = rng.pick([1, 2, 3, 100]);
    if (rng.chance(0.3)) connack.maximumQoS = rng.int(2);
    if (rng.chance(0.2)) connack.retainAvailable = 0;
    if (rng.chance(0.4)) connack.maximumPacketSize = rng.pick([40, 100, 1000]);
    if (rng.chance(0.6)) connack.topicAliasMaximum = rng.pick([1, 2, 10]);
    if (rng.chance(0.2)) connack.serverKeepAlive = rng.pick([0, 5, 100]);
    if (rng.chance(0.1)) connack.wildcardSubscriptionAvailable = 0;
    if (rng.chance(0.1)) connack.sharedSubscriptionAvailable = 0;
    if (rng.chance(0.1)) connack.subscriptionIdentifiersAvailable = 0;
    if (rng.chance(0.1)) connack.assignedClientIdentifier = "assigned-1";
  }
  return { options, connack };
}

const WEIGHTS: ReadonlyArray<[ActionKind, number]> = [
  ["toBroker", 20],
  ["toClient", 20],
  ["publish", 16],
  ["burst", 4],
  ["subscribe", 5],
  ["unsubscribe", 3],
  ["advance", 9],
  ["inject", 10],
  ["brokerPublish", 6],
  ["connect", 5],
  ["lost", 2],
  ["disconnect", 2],
  ["brokerForget", 1],
];
const WEIGHT_TOTAL = WEIGHTS.reduce((n, [, w]) => n + w, 0);

function pickKind(rng: Rng): ActionKind {
  let r = rng.int(WEIGHT_TOTAL);
  for (const [kind, w] of WEIGHTS) {
    if (r < w) return kind;
    r -= w;
  }
  return "toBroker";
}

function generate(rng: Rng): SessionInput {
  const { options, connack } = randomOptions(rng);
  const actions: Action[] = [];
  const seed = () => rng.u32();
  // Usually connected first, with a few messages already queued.
  if (rng.chance(0.3)) for (let i = rng.range(1, 3); i > 0; i--) actions.push({ kind: "publish", seed: seed() });
  actions.push({ kind: "connect", seed: seed() }, { kind: "toBroker", seed: seed() }, { kind: "toClient", seed: seed() });
  const n = rng.range(5, 60);
  for (let i = 0; i < n; i++) actions.push({ kind: pickKind(rng), seed: seed() });
  return { options, connack, actions };
}

function* shrink(input: SessionInput): Iterable<SessionInput> {
  const a = input.actions;
  // drop halves, then quarters, ... then single actions (the first action's seed also picks the mutation rate: keep it)
  for (let size = a.length >> 1; size >= 1; size >>= 1) {
    for (let at = 1; at + size <= a.length; at += size) {
      yield { ...input, actions: a.slice(0, at).concat(a.slice(at + size)) };
    }
  }
  if (input.connack !== undefined) yield { ...input, connack: undefined };
}

function describe(input: SessionInput): string {
  const world = (() => {
    try {
      runInput(input, true);
      return undefined;
    } catch (e) {
      return (e as { world?: World }).world;
    }
  })();
  const head = `options ${show(input.options)}${input.connack ? `, broker CONNACK properties ${show(input.connack)}` : ""}, actions ${input.actions
    .map((a) => `${a.kind}(${hex32(a.seed)})`)
    .join(" ")}`;
  const lines = world?.transcript ?? [];
  const shown = lines.length > 400 ? [...lines.slice(0, 100), `... ${lines.length - 300} lines ...`, ...lines.slice(-200)] : lines;
  return `${head}\n    transcript (inputs to the session):\n${shown.map((l) => `      ${l}`).join("\n")}`;
}

// ---------------------------------------------------------------- corpus

/**
 * Replays one corpus line in the scene described in support/session-corpus.ts
 * (SCENE): offline publishes with ids 1 and 2, connect(), the line's chunks,
 * SUBSCRIBE id 3 and UNSUBSCRIBE id 4 after the first "connected"; then the
 * usual end-of-case checks.
 */
function runCorpusInput(version: ProtocolVersion, chunks: Uint8Array[]): void {
  const input: SessionInput = { options: { ...SCENE.options, outbox: { ...SCENE.options.outbox }, protocolVersion: version }, actions: [] };
  const world = new World(input, 7, false);
  const s = world.session;
  const enc = (t: string) => new Uint8Array([...t].map((c) => c.charCodeAt(0)));
  const ids = [
    s.publish("a", enc("one"), { qos: 1 }, world.now),
    s.publish("b", enc("two"), { qos: 2 }, world.now),
    s.publish("c", enc("zero"), { qos: 0 }, world.now),
    s.publish("a", new Uint8Array(SCENE.payloadA32), { qos: 0 }, world.now),
  ];
  check(ids.join(",") === "1,2,0,0", "packet-ids", `corpus scene: publish() returned ${ids.join(",")}, expected 1,2,0,0`);
  world.accepted.set(1, { qos: 1, topic: "a", payload: enc("one"), seq: ++world.seq, sent: false, quiet: false });
  world.accepted.set(2, { qos: 2, topic: "b", payload: enc("two"), seq: ++world.seq, sent: false, quiet: false });
  stats.accepted += 2;
  world.connect();
  let subscribed = false;
  for (const chunk of chunks) {
    world.receive(chunk);
    if (!subscribed && world.connectedEvents > 0 && s.state === SessionState.Connected) {
      subscribed = true;
      const id3 = s.subscribe([{ topic: "s/#", qos: 1 }, { topic: "t", qos: 0 }], undefined, world.now);
      world.pending.set(id3, 8);
      const id4 = s.unsubscribe(["u"], undefined, world.now);
      world.pending.set(id4, 10);
      check(id3 === 3 && id4 === 4, "packet-ids", `corpus scene: request ids ${id3},${id4}, expected 3,4`);
      world.pump();
    }
  }
  world.finalReconnect();
}

const corpusEntries = readCorpus("session-");
const corpusStreams: Record<number, Uint8Array[]> = { 4: [], 5: [] };
for (const e of corpusEntries) corpusStreams[/-v5/.test(e.file) ? 5 : 4].push(concat(e.chunks));

function runCorpus(fail: (label: string, error: unknown, repro?: string) => void): number {
  let ran = 0;
  for (const entry of corpusEntries) {
    const version: ProtocolVersion = /-v5/.test(entry.file) ? 5 : 4;
    ran++;
    try {
      runCorpusInput(version, entry.chunks);
      runCorpusInput(version, [concat(entry.chunks)]);
    } catch (error) {
      fail(`${entry.file}:${entry.line} "${entry.name}"`, error, entry.chunks.map(toHex).join(" "));
    }
  }
  return ran;
}

// ------------------------------------------------------------------- main

let heapBaseline: number | undefined;
let heapAtMs = 0;

/** FUZZ_WRITE_CORPUS=1: writes session-v4.hex and session-v5.hex from support/session-corpus.ts. */
function writeCorpus(): void {
  for (const version of [4, 5] as const) {
    const lines = [
      `# Server byte streams for the session fuzzer, MQTT ${version === 5 ? "5.0" : "3.1.1"}: played in the scene of`,
      "# test/fuzz/support/session-corpus.ts (offline publishes ids 1-2, connect, these chunks, SUBSCRIBE 3 and",
      "# UNSUBSCRIBE 4 after CONNACK). Spaces separate receive() chunks. Packets written by our encoder;",
      "# FUZZ_WRITE_CORPUS=1 rewrites this file (regressions go in session-regressions-*.hex instead).",
      "",
    ];
    for (const sc of scenarios(version)) lines.push(`# ${sc.name}`, sc.chunks.map(toHex).join(" "), "");
    writeFileSync(join(corpusDir(), `session-v${version}.hex`), lines.join("\n"));
  }
  process.stdout.write("wrote session-v4.hex and session-v5.hex\n");
}

if (process.env.FUZZ_WRITE_CORPUS === "1") writeCorpus();
else runFuzzer<SessionInput>({
  name: "session",
  corpus: runCorpus,
  generate: (rng) => generate(rng),
  run: (input) => {
    runInput(input);
  },
  shrink,
  describe,
  tick(elapsedMs) {
    if (heapBaseline === undefined && elapsedMs >= 1000) {
      heapBaseline = heap();
      heapAtMs = elapsedMs;
    }
  },
  finish() {
    if (heapBaseline === undefined) return;
    const end = heap();
    process.stdout.write(`session fuzz: heap after GC ${mib(heapBaseline)} at ${(heapAtMs / 1000).toFixed(1)} s, ${mib(end)} at the end\n`);
    check(end - heapBaseline < HEAP_GROWTH_LIMIT, "memory", `heap grew by ${mib(end - heapBaseline)} (limit ${mib(HEAP_GROWTH_LIMIT)})`);
  },
  summary() {
    const fmt = (m: Map<string, number>) => [...m.entries()].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(", ");
    return [
      `actions ${stats.actions}, QoS 1/2 accepted ${stats.accepted} (${stats.direct} by publishNow, which was tried ${stats.directTried} times), completed ${stats.completed}, clean reconnects ${stats.reconnects}`,
      `events: ${fmt(stats.events)}`,
      `closed with: ${fmt(stats.closedCodes)}`,
      `API throws: ${fmt(stats.publishThrows)}`,
      `largest control transmit ring ${stats.maxRing} bytes; PUBLISH sent with a topic alias ${stats.aliasSent}, within 3 bytes of the server's Maximum Packet Size ${stats.nearLimitSent}`,
    ];
  },
});
