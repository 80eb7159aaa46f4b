/**
 * SessionPersistence: keeps a client's outbox and its inbound QoS 2 state
 * in a `Store`, so that unacknowledged QoS 1/2 messages and the QoS 2
 * de-duplication state survive a restart (reboot, crash, deep sleep).
 *
 * Theory of operation
 * -------------------
 * The persisted state is one blob (format below): the session's inbound
 * QoS 2 packet ids awaiting PUBREL (`session.inboundQos2Ids()`) and the
 * outbox snapshot (`outbox.snapshot(now)`: every queued and in-flight
 * PUBLISH/PUBREL record, with its own CRC). On start, before the client
 * connects, `restore(now)` puts both back (`outbox.restore`,
 * `session.restoreInboundQos2Ids`); the session then resends the records
 * (with DUP) on the first connection, exactly as after a reconnect.
 *
 * Writing is debounced, not done per packet. `check(now)` computes a cheap
 * fingerprint of the persistable state (FNV-1a over each outbox record's
 * QoS, packet id, length and whether it is past PUBREC, and over the held
 * inbound ids; no allocation beyond the id array) and compares it with the
 * fingerprint of what the store holds:
 *
 *   clean --change seen at t--> pending (save due at t + saveDelay)
 *   pending --deadline: state differs from the store--> save --> clean
 *   pending --deadline: state is back to what the store holds--> clean (no write)
 *
 * So a message that is published and acknowledged within `saveDelay` never
 * reaches the store, and a burst of changes costs one write per
 * `saveDelay`. The owner calls `check` after anything that may change the
 * state (its own publishes, publish callbacks, messages, connection
 * events) and drives `pollTimeout`/`handleTimeout` from its timer; while
 * anything is outstanding, `pollTimeout` also asks for a check every
 * `saveDelay` to notice acknowledgements the owner did not see.
 *
 * Crash window: a crash loses the changes of at most the last `saveDelay`
 * ms after they were seen by `check` (default 2000 ms), and an
 * acknowledgement nobody called `check` for is seen within one more
 * `saveDelay`. What that means:
 * - a QoS 1/2 message published less than `saveDelay` before the crash is
 *   lost (the application should treat it as not sent);
 * - an acknowledgement not yet saved makes the message be sent again after
 *   the restart: a duplicate for QoS 1 (allowed: at least once); for QoS 2
 *   the broker discards it if it kept the session (Clean Start 0 / a
 *   persistent session), otherwise it is delivered twice;
 * - an inbound QoS 2 release (PUBREL) not yet saved leaves the id held
 *   after the restart until the broker sends PUBREL again; with a session
 *   the broker kept, it does.
 * `flush(now)` saves at once (call it before a deliberate deep sleep or
 * power-off).
 *
 * Blob format, version 1, integers big-endian:
 *
 *   0   2  magic "sp" (0x73 0x70)
 *   2   1  format version (1)
 *   3   1  flags (0; reserved)
 *   4   2  n: inbound QoS 2 ids held
 *   6  2n  the ids (1..65535)
 *   .   4  m: length of the outbox snapshot
 *   .   m  the outbox snapshot (outbox.ts format, own magic, version, CRC)
 *   .   4  CRC-32 (zlib) of every byte before it
 *
 * An empty state (no records, no held ids) is not written: the store is
 * cleared instead, and an empty store restores to an empty state.
 *
 * Not re-entrant; all methods take `now` in ms from the client's clock.
 */
import { crc32, RecordState } from "../mqtt/outbox";
import type { Outbox } from "../mqtt/outbox";
import { ErrorCode, MqttError } from "../mqtt/errors";
import type { Store } from "./store";

/**
 * What is persisted: a client's outbox and session. A `Client` satisfies it
 * (`client.outbox`, `client.session`); so does `{ outbox: session.outbox,
 * session }` for a bare `Session`.
 */
export interface PersistTarget {
  readonly outbox: Outbox;
  readonly session: {
    inboundQos2Ids(): number[];
    restoreInboundQos2Ids(ids: ArrayLike<number>): void;
  };
}

/** Options of `new SessionPersistence(store, target, options)`. */
export interface SessionPersistenceOptions {
  /** Debounce window, ms: a change is written at most this long after it is seen. Default 2000. */
  saveDelay?: number;
}

/** What `restore` found. */
export interface RestoreResult {
  /** True when a blob was read and applied. */
  restored: boolean;
  /** Outbox records restored (QoS 0/1/2 PUBLISH and PUBREL). */
  messages: number;
  /** Inbound QoS 2 ids restored. */
  inboundQos2: number;
  /**
   * Why the stored blob was not used (MqttError SnapshotInvalid for a
   * damaged or foreign blob, OutboxFull when it needs a bigger outbox, or
   * what the store threw). Nothing was changed then.
   */
  error?: Error;
}

const MAGIC0 = 0x73;
const MAGIC1 = 0x70;
const VERSION = 1;
const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
/** Fingerprint of the empty state (nothing to persist). */
const EMPTY = 0;

function fnv(hash: number, value: number): number {
  // Four bytes of `value` (low first); Math.imul keeps it in 32 bits.
  for (let i = 0; i < 4; i++) {
    hash = Math.imul(hash ^ (value & 0xff), FNV_PRIME);
    value >>>= 8;
  }
  return hash >>> 0;
}

function invalid(message: string): MqttError {
  return new MqttError(ErrorCode.SnapshotInvalid, `session blob: ${message}`);
}

/**
 * Encodes the persisted state of `target` (allocates the blob). Exposed for
 * tests and tools; `SessionPersistence.save` uses it.
 */
export function encodeSessionBlob(target: PersistTarget, now: number): Uint8Array {
  const ids = target.session.inboundQos2Ids();
  const snapshot = target.outbox.snapshot(now);
  const size = 6 + 2 * ids.length + 4 + snapshot.length + 4;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  out[0] = MAGIC0;
  out[1] = MAGIC1;
  out[2] = VERSION;
  out[3] = 0;
  view.setUint16(4, ids.length);
  let p = 6;
  for (const id of ids) {
    view.setUint16(p, id);
    p += 2;
  }
  view.setUint32(p, snapshot.length);
  p += 4;
  out.set(snapshot, p);
  p += snapshot.length;
  view.setUint32(p, crc32(out, 0, p));
  return out;
}

/** The parts of a blob, checked (magic, version, CRC, lengths, id range). Throws MqttError SnapshotInvalid. */
export function decodeSessionBlob(bytes: Uint8Array): { ids: number[]; snapshot: Uint8Array } {
  const n = bytes.length;
  if (n < 14) throw invalid(`truncated: ${n} bytes`);
  if (bytes[0] !== MAGIC0 || bytes[1] !== MAGIC1) throw invalid("wrong magic");
  if (bytes[2] !== VERSION) throw invalid(`unsupported format version ${bytes[2]}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(n - 4) !== crc32(bytes, 0, n - 4)) throw invalid("CRC-32 mismatch");
  const count = view.getUint16(4);
  let p = 6;
  if (p + 2 * count + 4 > n - 4) throw invalid("truncated id table");
  const ids: number[] = [];
  for (let i = 0; i < count; i++) {
    const id = view.getUint16(p);
    if (id === 0) throw invalid("packet id 0 [MQTT-2.2.1-3]");
    ids.push(id);
    p += 2;
  }
  const m = view.getUint32(p);
  p += 4;
  if (p + m !== n - 4) throw invalid(`outbox snapshot of ${m} bytes does not fill the blob`);
  return { ids, snapshot: bytes.subarray(p, p + m) };
}

/**
 * Debounced persistence of one client's outbox and inbound QoS 2 state
 * (see the module header for the states, the format and the crash window).
 */
export class SessionPersistence {
  /** Debounce window, ms. */
  readonly saveDelay: number;
  /** Blobs written (successful `store.save`). */
  saves = 0;
  /** The last error a save or clear threw (also returned by `handleTimeout`/`flush`). */
  lastError: unknown = undefined;

  private readonly store: Store;
  private readonly target: PersistTarget;
  /** Fingerprint of what the store holds. */
  private saved = EMPTY;
  /** When the pending save is due, or undefined. */
  private dueAt: number | undefined = undefined;
  /** When `check` last ran. */
  private checkedAt = 0;
  /** Whether the last check saw anything outstanding. */
  private outstanding = false;

  /**
   * @param store where the blob lives.
   * @param target the client (or `{ outbox, session }`) whose state is kept.
   * @throws TypeError/RangeError for bad arguments.
   */
  constructor(store: Store, target: PersistTarget, options: SessionPersistenceOptions = {}) {
    if (store === null || typeof store !== "object" || typeof store.load !== "function" ||
        typeof store.save !== "function" || typeof store.clear !== "function") {
      throw new TypeError("SessionPersistence needs a Store { load, save, clear }");
    }
    if (target === null || typeof target !== "object" || target.outbox === undefined || target.session === undefined) {
      throw new TypeError("SessionPersistence needs a target { outbox, session } (a Client is one)");
    }
    const delay = options.saveDelay ?? 2000;
    if (typeof delay !== "number" || !(delay >= 0) || delay === Infinity) {
      throw new RangeError(`saveDelay must be a number of ms >= 0, got ${String(delay)}`);
    }
    this.store = store;
    this.target = target;
    this.saveDelay = delay;
  }

  /**
   * Loads the blob and restores it into the outbox and the session. Call
   * once, before the client's first `connect()` (the session refuses
   * inbound ids while connected) and before publishing anything: a restored
   * blob replaces the outbox's contents. A missing blob is an empty state; a bad
   * one changes nothing and is reported in `error` (it is overwritten by
   * the next save). Never throws.
   */
  restore(now: number): RestoreResult {
    const result: RestoreResult = { restored: false, messages: 0, inboundQos2: 0 };
    try {
      const bytes = this.store.load();
      if (bytes !== undefined) {
        const { ids, snapshot } = decodeSessionBlob(bytes);
        // Outbox first: its restore checks everything before changing
        // anything, so a failure leaves both parts untouched.
        this.target.outbox.restore(snapshot, now);
        this.target.session.restoreInboundQos2Ids(ids);
        result.restored = true;
        result.messages = this.target.outbox.counters.queued + this.target.outbox.counters.inflight;
        result.inboundQos2 = ids.length;
      }
    } catch (error) {
      result.error = error instanceof Error ? error : new Error(String(error));
    }
    this.saved = result.restored ? this.fingerprint() : EMPTY;
    if (!result.restored && result.error !== undefined) this.saved = -1; // the store holds something unusable: overwrite it
    this.dueAt = undefined;
    this.checkedAt = now;
    return result;
  }

  /** Notes the current state: schedules a save when it differs from the store. Cheap; call it often. */
  check(now: number): void {
    this.checkedAt = now;
    const print = this.fingerprint();
    if (print === this.saved) {
      // Back to what is stored (e.g. published and acknowledged): nothing to write.
      this.dueAt = undefined;
      return;
    }
    if (this.dueAt === undefined) this.dueAt = now + this.saveDelay;
  }

  /**
   * The next time (ms) `handleTimeout` wants to run: the pending save, or
   * a poll `saveDelay` after the last check while anything is outstanding;
   * undefined when idle.
   */
  pollTimeout(): number | undefined {
    if (this.dueAt !== undefined) return this.dueAt;
    if (this.outstanding || this.saved !== EMPTY) return this.checkedAt + this.saveDelay;
    return undefined;
  }

  /**
   * Runs a check and, when the pending save is due, saves. Returns the
   * error the store threw, if any (the save is retried `saveDelay` later).
   */
  handleTimeout(now: number): unknown {
    this.check(now);
    if (this.dueAt === undefined || now < this.dueAt) return undefined;
    return this.save(now);
  }

  /** Saves now if the state differs from the store (before a deep sleep or power-off). Returns what the store threw, if anything. */
  flush(now: number): unknown {
    this.checkedAt = now;
    if (this.fingerprint() === this.saved) {
      this.dueAt = undefined;
      return undefined;
    }
    return this.save(now);
  }

  /** Whether a save is pending (the store is behind the state). */
  get pending(): boolean {
    return this.dueAt !== undefined;
  }

  /** Writes the state now (or clears the store when the state is empty). Returns what the store threw, if anything. */
  save(now: number): unknown {
    const print = this.fingerprint();
    try {
      if (print === EMPTY) this.store.clear();
      else {
        this.store.save(encodeSessionBlob(this.target, now));
        this.saves += 1;
      }
    } catch (error) {
      this.lastError = error;
      this.dueAt = now + this.saveDelay;
      return error;
    }
    this.saved = print;
    this.dueAt = undefined;
    return undefined;
  }

  /**
   * FNV-1a over the persistable state; EMPTY (0) exactly when there is
   * nothing to persist. Sets `outstanding`.
   */
  private fingerprint(): number {
    const outbox = this.target.outbox;
    let hash = FNV_OFFSET;
    let any = false;
    for (let s = outbox.first(); s >= 0; s = outbox.next(s)) {
      any = true;
      const state = outbox.state(s);
      // Queued vs InFlight does not matter (a restore requeues both);
      // whether PUBREC arrived does (PUBREL instead of PUBLISH).
      const released = state === RecordState.ReleaseQueued || state === RecordState.Released ? 1 : 0;
      hash = fnv(hash, outbox.packetId(s) | (outbox.qos(s) << 16) | (released << 18));
      hash = fnv(hash, outbox.length(s));
    }
    const ids = this.target.session.inboundQos2Ids();
    for (let i = 0; i < ids.length; i++) {
      any = true;
      hash = fnv(hash, ids[i] | 0x80000);
    }
    this.outstanding = any;
    if (!any) return EMPTY;
    return hash === EMPTY ? 1 : hash;
  }
}
