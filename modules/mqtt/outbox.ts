/**
 * Outbox: the client's store of outbound PUBLISH and PUBREL records.
 *
 * Theory of operation
 * -------------------
 * Storage is allocated once, in the constructor, and never grows:
 *
 * - a byte ring of `capacity` bytes holding each PUBLISH exactly as it goes on
 *   the wire (encoded once, at `enqueue`, by the codec);
 * - an index of `maxMessages` slots in typed arrays (state, flags, packet id,
 *   ring offset and length, Message Expiry deadline, topic hash, and the
 *   previous/next links that keep records in enqueue order);
 * - an open-addressing table from packet id to slot (linear probing, at least
 *   twice `maxMessages` entries, so lookups by id are O(1) on average);
 * - a 4-byte PUBREL scratch and one reusable packet object for encoding;
 * - a topic cache: the UTF-8 bytes of the last 8 distinct Topic Names
 *   enqueued (up to 64 bytes each, in one 512-byte arena; round-robin
 *   replacement). A PUBLISH without properties whose topic is cached is
 *   written straight into the ring (same bytes as the codec), skipping the
 *   codec's validation and UTF-8 encoding passes, which dominate the cost of
 *   `enqueue` on XS (the 35-byte benchmark topic: about 1,400 compute steps
 *   of codec work per message). Entries only ever hold topics that passed
 *   the codec's checks, so a hit also means "valid Topic Name"
 *   (`isKnownTopic`, used by the session to skip `assertTopicName`).
 *
 * `peek`, `prepare`, `markSent`, `acknowledge`, `remove` and `requeue`
 * allocate nothing, and neither does `enqueue` with a cached topic; a miss
 * allocates what the codec's `encodedLength`/`encodeInto` allocate plus one
 * view for the new cache entry; `bytes` creates one view object.
 * README-outbox.md has the XS heap meter readings.
 *
 * Time: every `now` is milliseconds on one caller clock that never goes
 * backwards (Date.now() or an unwrapped tick count). Expiry deadlines are
 * absolute on that clock (Float64, exact for any realistic value).
 *
 * Record states (`RecordState`): a QoS 1/2 PUBLISH goes Queued → InFlight
 * (`markSent`) → freed (PUBACK), or for QoS 2 InFlight → Released (PUBREC) →
 * freed (PUBCOMP). `requeue` turns InFlight back into Queued and Released into
 * ReleaseQueued (→ Released on `markSent`) for a new connection. A QoS 0
 * record is freed as soon as it is sent.
 *
 * Ring invariants:
 * - every PUBLISH is contiguous (never split across the end); when the tail
 *   cannot fit a record, the bytes up to the end become padding and the
 *   record starts at 0;
 * - records sit in the ring in list (enqueue) order; `head` is the offset of
 *   the oldest record that still has bytes, `tail` is where the next one
 *   goes; padding and freed records between `head` and `tail` count as used;
 * - a record freed in the middle leaves a hole that is reclaimed only when
 *   every older record has been freed too (holes are not compacted);
 * - once PUBREC arrives, a QoS 2 record needs no bytes (its PUBREL is built in
 *   the scratch), so it stops holding ring bytes but keeps its slot;
 * - when no record has bytes, `head` and `tail` go back to 0.
 *
 * The send cursor: every record before `cursor` in list order is InFlight or
 * Released (nothing there waits to be sent), so `peek` starts there instead of
 * at the oldest record. Only `requeue` and `restore` make older records wait
 * again, and they reset the cursor.
 *
 * Not here: flow control (Receive Maximum), topic aliases, choosing what to
 * resend after a reconnect without a session: that is the session's job.
 */
import type { PublishPacket, ProtocolVersion } from "./codec/packets";
import { encodedLength, encodeInto } from "./codec/encoder";
import { ErrorCode, MqttError } from "./errors";

/** State of one outbox record. */
export const RecordState = Object.freeze({
  /** Stored, never sent, or requeued for resend after a reconnect. */
  Queued: 0,
  /** PUBLISH sent (QoS 1/2), waiting for PUBACK / PUBREC. */
  InFlight: 1,
  /**
   * PUBREC received, PUBREL must be resent: after `requeue` or `restore`.
   * (On a live connection the session writes the PUBREL when the PUBREC
   * arrives, and the record goes straight from InFlight to Released.)
   */
  ReleaseQueued: 2,
  /** PUBREL sent, waiting for PUBCOMP. */
  Released: 3,
});

export interface OutboxOptions {
  /** Bytes in the ring. Default 16384. Fixed for the outbox's lifetime. */
  capacity?: number;
  /** Records held at once (index slots), any QoS, queued or in flight. Default 64. */
  maxMessages?: number;
  /** QoS 0 published while offline: "queue" (default; oldest QoS 0 dropped first when room is needed) or "discard". */
  qos0Offline?: "queue" | "discard";
  /** Keep only the newest queued (unsent) QoS 0 message per topic. Default false. */
  coalesceQos0?: boolean;
}

export interface OutboxCounters {
  /** Records waiting to be sent (Queued or ReleaseQueued). */
  queued: number;
  /** Records sent and not yet completed (InFlight or Released). */
  inflight: number;
  /** QoS 0 messages dropped (policy, room, coalescing). Cumulative. */
  dropped: number;
  /** Messages discarded because their Message Expiry Interval ran out. Cumulative. */
  expired: number;
  /** Ring bytes in use, including any padding at the wrap point. */
  bytesUsed: number;
}

const NONE = 0xffff; // "no slot" in the Uint16 links and id table
const FREE = 0xff; // recState of an unused slot

// recFlags bits
const F_QOS = 0x03;
const F_V5 = 0x04;
const F_SENT = 0x08; // sent at least once: DUP on every later send [MQTT-3.3.1-1]
const F_EXPIRY = 0x10; // has a Message Expiry deadline (v5, interval > 0)
const F_QUIET = 0x20; // stored by enqueueSent(quiet): see `ackedQuiet` (not kept in snapshots)

const DUP_BIT = 0x08; // in the PUBLISH fixed header's first byte

/** Largest Remaining Length (MQTT 5.0 §2.1.4): 268,435,455. */
const REMAINING_LENGTH_MAX = 268435455;

/**
 * Topic cache (see `enqueue`): entries, and UTF-8 bytes per entry. A telemetry
 * node publishes to a handful of topics; 8 entries of up to 64 bytes hold the
 * benchmark's 35-byte topic and typical Home Assistant discovery topics
 * (about 50 bytes) in a 512-byte arena. Longer topics are encoded every time.
 */
const TOPIC_CACHE_ENTRIES = 8;
const TOPIC_CACHE_ENTRY_BYTES = 64;
/** Name of a free topic cache entry: no caller can pass this object as a topic. */
const NO_TOPIC: unknown = Object.freeze({});

// Snapshot layout (version 1), all integers big-endian:
//   0  2  magic "ob" (0x6f 0x62)
//   2  1  format version (1)
//   3  2  next packet id to try
//   5  2  record count
//   7     records, oldest first, each:
//           0  1  flags: bits 0-1 QoS, 2 v5, 3 sent before, 4 has expiry, 5 PUBREL record
//           1  2  packet id (0 for QoS 0)
//           3  4  record length in bytes (0 for a PUBREL record)
//           7  4  offset of the Message Expiry Interval value in the record, 0xffffffff if none
//          11  8  expiry: milliseconds left at snapshot time (float64), 0 if none
//          19     the record's wire bytes
//   n-4 4  CRC-32 (IEEE 802.3, reflected, as zlib's crc32) of bytes 0..n-5
const SNAP_MAGIC0 = 0x6f;
const SNAP_MAGIC1 = 0x62;
const SNAP_VERSION = 1;
const SNAP_HEADER = 7;
const SNAP_RECORD = 19;
const SNAP_CRC = 4;
const S_RELEASE = 0x20;
const S_KNOWN = 0x3f;

/** CRC-32 nibble table (polynomial 0xEDB88320): 16 entries, small enough to stay in flash. */
const CRC_NIBBLE: readonly number[] = Object.freeze([
  0x00000000, 0x1db71064, 0x3b6e20c8, 0x26d930ac, 0x76dc4190, 0x6b6b51f4, 0x4db26158, 0x5005713c,
  0xedb88320, 0xf00f9344, 0xd6d6a3e8, 0xcb61b38c, 0x9b64c2b0, 0x86d3d2d4, 0xa00ae278, 0xbdbdf21c,
]);

/**
 * CRC-32 as used by zlib, PNG and Ethernet (check value: "123456789" →
 * 0xCBF43926) over `bytes[start..end)`. Returns an unsigned 32-bit number.
 * Two nibble-table steps per byte: slower than a 1 KiB byte table, but the
 * table is 16 numbers. Allocates nothing.
 */
export function crc32(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let c = 0xffffffff;
  for (let i = start; i < end; i++) {
    const b = bytes[i];
    c = CRC_NIBBLE[(c ^ b) & 15] ^ (c >>> 4);
    c = CRC_NIBBLE[(c ^ (b >>> 4)) & 15] ^ (c >>> 4);
  }
  return (c ^ 0xffffffff) >>> 0;
}

function outboxFull(message: string): MqttError {
  return new MqttError(ErrorCode.OutboxFull, message);
}

function snapshotInvalid(message: string): MqttError {
  return new MqttError(ErrorCode.SnapshotInvalid, message);
}

/**
 * Variable Byte Integer at buf[i..end) (MQTT 5.0 §1.5.5), packed as
 * `value * 4 + (size - 1)` so that no object is needed; -1 if malformed,
 * truncated or not in its shortest form.
 */
function readVbi(buf: Uint8Array, i: number, end: number): number {
  let value = 0;
  let multiplier = 1;
  for (let size = 1; size <= 4; size++) {
    if (i >= end) return -1;
    const b = buf[i++];
    value += (b & 0x7f) * multiplier;
    if ((b & 0x80) === 0) {
      if (size > 1 && b === 0) return -1; // a longer encoding than needed
      return value * 4 + (size - 1);
    }
    multiplier *= 128;
  }
  return -1;
}

/**
 * Offset, from the record start, of the 4-byte Message Expiry Interval value
 * in the v5 PUBLISH at buf[off..end), or -1 when the property is absent or the
 * properties cannot be walked. Only properties allowed in PUBLISH (MQTT 5.0
 * §3.3.2.3) are understood.
 */
function findExpiryOffset(buf: Uint8Array, off: number, end: number, qos: number): number {
  const header = readVbi(buf, off + 1, end);
  if (header < 0) return -1;
  let p = off + 2 + (header & 3);
  if (p + 2 > end) return -1;
  p += 2 + ((buf[p] << 8) | buf[p + 1]);
  if (qos !== 0) p += 2;
  const props = readVbi(buf, p, end);
  if (props < 0) return -1;
  p += 1 + (props & 3);
  const propsEnd = p + Math.floor(props / 4);
  if (propsEnd > end) return -1;
  while (p < propsEnd) {
    const id = buf[p++];
    switch (id) {
      case 0x02: // Message Expiry Interval, Four Byte Integer
        return p + 4 <= propsEnd ? p - off : -1;
      case 0x01: // Payload Format Indicator, Byte
        p += 1;
        break;
      case 0x23: // Topic Alias, Two Byte Integer
        p += 2;
        break;
      case 0x03: // Content Type, UTF-8 string
      case 0x08: // Response Topic, UTF-8 string
      case 0x09: // Correlation Data, Binary Data
        if (p + 2 > propsEnd) return -1;
        p += 2 + ((buf[p] << 8) | buf[p + 1]);
        break;
      case 0x26: // User Property, UTF-8 string pair
        for (let k = 0; k < 2; k++) {
          if (p + 2 > propsEnd) return -1;
          p += 2 + ((buf[p] << 8) | buf[p + 1]);
        }
        break;
      case 0x0b: {
        // Subscription Identifier, Variable Byte Integer
        const v = readVbi(buf, p, propsEnd);
        if (v < 0) return -1;
        p += 1 + (v & 3);
        break;
      }
      default:
        return -1;
    }
  }
  return -1;
}

/** FNV-1a step. */
function fnv(h: number, b: number): number {
  return Math.imul(h ^ b, 0x01000193) >>> 0;
}

/** FNV-1a hash of the UTF-8 encoding of `topic` (computed from the string, no encoding buffer). */
function topicHash(topic: string): number {
  let h = 0x811c9dc5;
  const n = topic.length;
  for (let i = 0; i < n; i++) {
    let c = topic.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < n) {
      const d = topic.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
      }
    }
    if (c < 0x80) h = fnv(h, c);
    else if (c < 0x800) h = fnv(fnv(h, 0xc0 | (c >> 6)), 0x80 | (c & 0x3f));
    else if (c < 0x10000) h = fnv(fnv(fnv(h, 0xe0 | (c >> 12)), 0x80 | ((c >> 6) & 0x3f)), 0x80 | (c & 0x3f));
    else {
      h = fnv(fnv(h, 0xf0 | (c >> 18)), 0x80 | ((c >> 12) & 0x3f));
      h = fnv(fnv(h, 0x80 | ((c >> 6) & 0x3f)), 0x80 | (c & 0x3f));
    }
  }
  return h;
}

/** FNV-1a hash of buf[start..start+length). Matches `topicHash` of the decoded string. */
function bytesHash(buf: Uint8Array, start: number, length: number): number {
  let h = 0x811c9dc5;
  for (let i = start, end = start + length; i < end; i++) h = fnv(h, buf[i]);
  return h;
}

/** True when buf[start..start+length) is the UTF-8 encoding of `topic`. */
function topicEquals(buf: Uint8Array, start: number, length: number, topic: string): boolean {
  const end = start + length;
  let p = start;
  const n = topic.length;
  for (let i = 0; i < n; i++) {
    let c = topic.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < n) {
      const d = topic.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
      }
    }
    if (c < 0x80) {
      if (p + 1 > end || buf[p] !== c) return false;
      p += 1;
    } else if (c < 0x800) {
      if (p + 2 > end || buf[p] !== (0xc0 | (c >> 6)) || buf[p + 1] !== (0x80 | (c & 0x3f))) return false;
      p += 2;
    } else if (c < 0x10000) {
      if (
        p + 3 > end ||
        buf[p] !== (0xe0 | (c >> 12)) ||
        buf[p + 1] !== (0x80 | ((c >> 6) & 0x3f)) ||
        buf[p + 2] !== (0x80 | (c & 0x3f))
      )
        return false;
      p += 3;
    } else {
      if (
        p + 4 > end ||
        buf[p] !== (0xf0 | (c >> 18)) ||
        buf[p + 1] !== (0x80 | ((c >> 12) & 0x3f)) ||
        buf[p + 2] !== (0x80 | ((c >> 6) & 0x3f)) ||
        buf[p + 3] !== (0x80 | (c & 0x3f))
      )
        return false;
      p += 4;
    }
  }
  return p === end;
}

/** Offset of the topic's 2-byte length prefix in the PUBLISH at buf[off..] (after the fixed header). */
function topicFieldAt(buf: Uint8Array, off: number): number {
  let i = off + 1;
  while (buf[i] & 0x80) i++;
  return i + 1;
}

/**
 * A fixed-capacity store of outbound PUBLISH/PUBREL records; see the theory
 * of operation at the top of this file and README-outbox.md.
 *
 * Re-entrancy: not re-entrant. `isIdInUse` is called from inside `enqueue`
 * and must not call back into the outbox.
 */
/**
 * Writes a PUBLISH without properties (over v5: property length 0) at
 * dst[pos..]: fixed header byte `first`, Remaining Length `rl` (shortest
 * form, as the codec writes it), the Topic Name from its UTF-8 bytes, the
 * packet id (when QoS > 0, from `first`) and the payload. The caller has
 * checked that it fits. Returns the end offset. Allocates nothing.
 */
export function writePublish(
  dst: Uint8Array,
  pos: number,
  first: number,
  rl: number,
  topic: Uint8Array,
  id: number,
  v5: boolean,
  payload: Uint8Array,
): number {
  dst[pos] = first;
  let o = pos + 1;
  while (rl > 0x7f) {
    dst[o++] = (rl & 0x7f) | 0x80;
    rl >>>= 7;
  }
  const t = topic.length;
  dst[o] = rl;
  dst[o + 1] = t >> 8;
  dst[o + 2] = t & 0xff;
  dst.set(topic, o + 3);
  o += 3 + t;
  if ((first & 0x06) !== 0) {
    dst[o] = id >> 8;
    dst[o + 1] = id & 0xff;
    o += 2;
  }
  if (v5) dst[o++] = 0; // property length
  dst.set(payload, o);
  return o + payload.length;
}

export class Outbox {
  /** Ring size in bytes, fixed at construction. */
  readonly capacity: number;
  /** Index slots, fixed at construction. */
  readonly maxMessages: number;
  /** Live counters (read-only for callers). */
  readonly counters: OutboxCounters;
  /** Ids the owner uses outside the outbox (SUBSCRIBE/UNSUBSCRIBE); the outbox never assigns those. */
  isIdInUse: ((packetId: number) => boolean) | undefined;

  private readonly qos0Discard: boolean;
  private readonly coalesce: boolean;

  private readonly ring: Uint8Array;
  private head: number;
  private tail: number;
  /** Records that hold ring bytes (PUBLISH records; not PUBREL ones). */
  private ringRecords: number;

  private readonly recState: Uint8Array;
  private readonly recFlags: Uint8Array;
  private readonly recId: Uint16Array;
  /** Start in the ring, -1 when the record holds no bytes (PUBREL). */
  private readonly recOffset: Int32Array;
  private readonly recLength: Int32Array;
  /** Offset of the Message Expiry Interval value from the record start, -1 if none. */
  private readonly recExpiry: Int32Array;
  /** Expiry deadline, ms on the caller's clock. */
  private readonly recDeadline: Float64Array;
  /** Packet ids of QoS 1/2 records discarded by expiry and not yet taken by pollExpired (FIFO ring). */
  private readonly expiredIds: Uint16Array;
  private expiredHead = 0;
  private expiredCount = 0;
  /** FNV-1a of the topic's UTF-8 bytes (QoS 0 records only, for coalescing). */
  private readonly recTopicHash: Uint32Array;
  private readonly recNext: Uint16Array;
  private readonly recPrev: Uint16Array;
  private oldest: number;
  private newest: number;
  private cursor: number;
  /** Free slots, a stack linked through recNext. */
  private freeTop: number;

  private readonly idTable: Uint16Array;
  private readonly idMask: number;
  /** Entries of `idTable` not in their home bucket (see `idDelete`). */
  private idDisplaced = 0;
  private nextId: number;
  /** Packet id of the record the last successful `enqueueSent` stored. */
  sentId = 0;
  /**
   * When that record starts the ring: a view of exactly its bytes (kept and
   * reused while the length stays the same), valid until the outbox next
   * changes; read only. Else undefined.
   */
  sentView: Uint8Array | undefined = undefined;
  /** UTF-8 bytes of that record's Topic Name (owned by the topic cache: read only, valid until the next enqueue). */
  sentTopic: Uint8Array;
  /** The last view handed out as `sentView`. */
  private ringHead: Uint8Array;
  /**
   * True when the record the last successful `acknowledge` moved on was
   * stored with `enqueueSent(..., quiet = true)`: its owner asked for no
   * completion report (the session then queues no "published" event).
   */
  ackedQuiet = false;

  private readonly pubrel: Uint8Array;
  private readonly scratch: PublishPacket;
  private readonly empty: Uint8Array;

  /** Topic Names enqueued recently (`NO_TOPIC` = free entry), each valid (it passed the encoder's checks). */
  private readonly topicNames: unknown[];
  /** Their UTF-8 bytes: views into `topicArena`, `empty` for a free entry. */
  private readonly topicBytes: Uint8Array[];
  private readonly topicArena: Uint8Array;
  /** Entry of the latest hit or insertion (checked first). */
  private topicLast = 0;
  /** Entry the next insertion replaces (round robin). */
  private topicVictim = 0;

  /**
   * Allocates the ring and the index; nothing is allocated later on the hot
   * path. Throws RangeError/TypeError on invalid options.
   */
  constructor(options: OutboxOptions = {}) {
    const capacity = options.capacity ?? 16384;
    const maxMessages = options.maxMessages ?? 64;
    const qos0Offline = options.qos0Offline ?? "queue";
    if (!Number.isInteger(capacity) || capacity < 8 || capacity > 0x7fffffff)
      throw new RangeError("outbox capacity must be an integer number of bytes, 8..2147483647");
    if (!Number.isInteger(maxMessages) || maxMessages < 1 || maxMessages > 65535)
      throw new RangeError("outbox maxMessages must be an integer, 1..65535 (packet ids are 16 bits)");
    if (qos0Offline !== "queue" && qos0Offline !== "discard")
      throw new RangeError('outbox qos0Offline must be "queue" or "discard"');
    if (options.coalesceQos0 !== undefined && typeof options.coalesceQos0 !== "boolean")
      throw new TypeError("outbox coalesceQos0 must be a boolean");

    this.capacity = capacity;
    this.maxMessages = maxMessages;
    this.counters = { queued: 0, inflight: 0, dropped: 0, expired: 0, bytesUsed: 0 };
    this.isIdInUse = undefined;
    this.qos0Discard = qos0Offline === "discard";
    this.coalesce = options.coalesceQos0 === true;

    this.ring = new Uint8Array(capacity);
    this.ringHead = this.ring;
    this.head = 0;
    this.tail = 0;
    this.ringRecords = 0;

    this.recState = new Uint8Array(maxMessages);
    this.recFlags = new Uint8Array(maxMessages);
    this.recId = new Uint16Array(maxMessages);
    this.recOffset = new Int32Array(maxMessages);
    this.recLength = new Int32Array(maxMessages);
    this.recExpiry = new Int32Array(maxMessages);
    this.recDeadline = new Float64Array(maxMessages);
    this.expiredIds = new Uint16Array(maxMessages);
    this.recTopicHash = new Uint32Array(maxMessages);
    this.recNext = new Uint16Array(maxMessages);
    this.recPrev = new Uint16Array(maxMessages);
    this.oldest = NONE;
    this.newest = NONE;
    this.cursor = NONE;
    this.freeTop = NONE;

    let tableSize = 8;
    while (tableSize < maxMessages * 2) tableSize *= 2;
    this.idTable = new Uint16Array(tableSize);
    this.idMask = tableSize - 1;
    this.nextId = 1;

    this.pubrel = new Uint8Array(4);
    this.pubrel[0] = 0x62; // PUBREL, flags 0010 [MQTT-3.6.1-1]
    this.pubrel[1] = 0x02; // remaining length 2: v5 may omit reason code 0 and properties (MQTT 5.0 §3.6.2.1)
    this.empty = new Uint8Array(0);
    this.sentTopic = this.empty;
    this.scratch = {
      type: 3,
      topic: "",
      payload: this.empty,
      qos: 0,
      retain: false,
      dup: false,
      packetId: undefined,
      properties: undefined,
    };
    this.topicNames = [];
    this.topicBytes = [];
    for (let i = 0; i < TOPIC_CACHE_ENTRIES; i++) {
      this.topicNames.push(NO_TOPIC);
      this.topicBytes.push(this.empty);
    }
    this.topicArena = new Uint8Array(TOPIC_CACHE_ENTRIES * TOPIC_CACHE_ENTRY_BYTES);
    this.reset();
  }

  /**
   * True when `topic` is in this outbox's topic cache: a Topic Name it
   * encoded recently, so a valid one (non-empty, well-formed UTF-8 without
   * U+0000, no wildcards, at most 65,535 bytes: the rules of
   * `assertTopicName`). A false answer says nothing. Allocates nothing;
   * a few compute steps on XS (string === compares natively).
   */
  isKnownTopic(topic: string): boolean {
    return this.topicEntry(topic) >= 0;
  }

  /**
   * The UTF-8 bytes of `topic` when it is in the topic cache (see
   * `isKnownTopic`), else undefined. The view is owned by the outbox: valid
   * until the next `enqueue`, read it only. Allocates nothing.
   */
  cachedTopicBytes(topic: string): Uint8Array | undefined {
    const entry = this.topicEntry(topic);
    return entry < 0 ? undefined : this.topicBytes[entry];
  }

  /**
   * Raw ring storage, for copying a record without a view: see `prepare`,
   * `offset`, `length`. The same array for the outbox's lifetime; its bytes
   * change with every call that changes the outbox. Do not write to it.
   */
  get buffer(): Uint8Array {
    return this.ring;
  }

  /** True when a record holds this packet id. */
  has(packetId: number): boolean {
    return this.lookup(packetId) !== NONE;
  }

  /**
   * Slot of the oldest record in any state, or -1. With `next`, walks every
   * record in enqueue order without changing anything (nothing expires):
   * `for (let s = ob.first(); s >= 0; s = ob.next(s))`. Do not change the
   * outbox during the walk, except `remove` of the current record after
   * reading `next` of it.
   */
  first(): number {
    return this.oldest === NONE ? -1 : this.oldest;
  }

  /** Slot of the record after `slot` in enqueue order, or -1. */
  next(slot: number): number {
    this.check(slot);
    const n = this.recNext[slot];
    return n === NONE ? -1 : n;
  }

  /** Slot of the record holding this packet id, or -1 (e.g. to get the PUBREL bytes after a PUBREC). */
  find(packetId: number): number {
    const slot = this.lookup(packetId);
    return slot === NONE ? -1 : slot;
  }

  /**
   * Encodes and stores a PUBLISH (its `packetId` and `dup` are ignored).
   * Returns the assigned packet id (1..65535) for QoS 1/2, 0 for a stored
   * QoS 0 message, -1 for a QoS 0 message discarded by the offline policy
   * (counted in `dropped`). Throws MqttError OutboxFull when a QoS 1/2
   * message (or a QoS 0 one, after dropping older queued QoS 0) does not fit
   * or no slot/id is free; nothing is changed then. `now` is in ms and starts
   * the Message Expiry clock.
   *
   * Details:
   * - Room is made, only if the message then fits, by dropping the oldest
   *   queued QoS 0 messages (counted in `dropped`) and never-sent expired
   *   messages (counted in `expired`), oldest first; this applies to a new
   *   QoS 1/2 message too. With `coalesceQos0`, a new QoS 0 message replaces
   *   the queued QoS 0 message with the same topic (counted in `dropped`).
   * - Packet ids cycle through 1..65535, skipping ids held by the outbox or
   *   reported by `isIdInUse` [MQTT-2.2.1-3], [MQTT-2.3.1-2].
   * - The record is encoded in `version`, once; if a later connection uses
   *   another version, the session must remove and re-enqueue (`version(slot)`).
   * - v5 only: a `messageExpiryInterval` > 0 starts the expiry clock; 0 is
   *   stored and sent as is. A Topic Alias cannot be stored (RangeError): the
   *   mapping ends with the connection (MQTT 5.0 §3.3.2.3.4), a record may not.
   * - Throws TypeError/RangeError (from the codec) on an invalid packet.
   * - Allocates nothing, provided the codec's `encodedLength`/`encodeInto` do not.
   */
  enqueue(packet: PublishPacket, version: ProtocolVersion, now: number, online: boolean): number {
    if (packet === null || typeof packet !== "object" || packet.type !== 3)
      throw new TypeError("Outbox.enqueue takes a PUBLISH packet (type 3)");
    if (version !== 4 && version !== 5) throw new RangeError("protocol version must be 4 (3.1.1) or 5 (5.0)");
    const qos = packet.qos;
    if (qos !== 0 && qos !== 1 && qos !== 2) throw new RangeError("PUBLISH QoS must be 0, 1 or 2 [MQTT-3.3.1-4]");
    const properties = version === 5 ? packet.properties : undefined;
    if (properties !== undefined && properties.topicAlias !== undefined)
      throw new RangeError(
        "a stored PUBLISH cannot use a Topic Alias: the mapping ends with the Network Connection (MQTT 5.0 §3.3.2.3.4)",
      );

    const topic = packet.topic;
    const payload = packet.payload;
    // Fast path: a topic in the cache and no properties. The topic passed the
    // encoder's checks when it entered the cache; the rest of what the
    // encoder checks is fixed here (DUP clear, packet id assigned below) or
    // checked above (QoS), so the record is written without the codec.
    if (properties === undefined && payload instanceof Uint8Array) {
      const entry = this.topicEntry(topic);
      if (entry >= 0) return this.enqueueCached(entry, payload, qos, packet.retain, version, now, online);
    }
    const s = this.scratch;
    try {
      s.topic = topic;
      s.payload = payload;
      s.qos = qos;
      s.retain = packet.retain;
      s.dup = false;
      s.packetId = qos === 0 ? undefined : 1;
      s.properties = packet.properties;
      const length = encodedLength(s, version);

      if (qos === 0 && !online && this.qos0Discard) {
        this.counters.dropped++;
        return -1;
      }
      if (length > this.capacity)
        throw outboxFull(`a PUBLISH of ${length} bytes cannot fit a ring of ${this.capacity} bytes`);
      const id = qos === 0 ? 0 : this.takeId();
      let hash = 0;
      let victim = NONE;
      if (qos === 0 && this.coalesce) {
        hash = topicHash(topic);
        victim = this.findQueuedTopic(hash, topic);
      }
      const pos = this.makeRoom(length, victim, now);

      s.packetId = qos === 0 ? undefined : id;
      const written = encodeInto(s, version, this.ring, pos);
      if (written !== length) throw new Error(`outbox: encoder wrote ${written} bytes, announced ${length}`);
      this.cacheTopic(topic, pos);
      const slot = this.store(pos, length, qos, version, id, hash, RecordState.Queued, 0);
      const interval = properties !== undefined ? properties.messageExpiryInterval : undefined;
      if (interval !== undefined && interval > 0) {
        const at = findExpiryOffset(this.ring, pos, pos + length, qos);
        if (at >= 0) {
          this.recExpiry[slot] = at;
          this.recDeadline[slot] = now + interval * 1000;
          this.recFlags[slot] |= F_EXPIRY;
        }
      }
      return id;
    } finally {
      s.topic = "";
      s.payload = this.empty;
      s.properties = undefined;
    }
  }

  /**
   * `enqueue` for a topic in the cache, without properties: the same checks
   * in the same order, and the same bytes as the codec writes (shortest
   * form, see encoder.ts), written directly into the ring.
   */
  private enqueueCached(entry: number, payload: Uint8Array, qos: number, retain: unknown, version: ProtocolVersion, now: number, online: boolean): number {
    const bytes = this.topicBytes[entry];
    const rl = (qos === 0 ? 2 : 4) + bytes.length + (version === 5 ? 1 : 0) + payload.length;
    if (rl > REMAINING_LENGTH_MAX) throw new RangeError(`remaining length ${rl} exceeds 268,435,455 (MQTT 5.0 §2.1.4)`);
    const length = 1 + (rl < 0x80 ? 1 : rl < 0x4000 ? 2 : rl < 0x200000 ? 3 : 4) + rl;
    if (qos === 0 && !online && this.qos0Discard) {
      this.counters.dropped++;
      return -1;
    }
    if (length > this.capacity) throw outboxFull(`a PUBLISH of ${length} bytes cannot fit a ring of ${this.capacity} bytes`);
    const id = qos === 0 ? 0 : this.takeId();
    let hash = 0;
    let victim = NONE;
    if (qos === 0 && this.coalesce) {
      hash = topicHash(this.topicNames[entry] as string);
      victim = this.findQueuedTopic(hash, this.topicNames[entry] as string);
    }
    // An empty ring with a free slot (the common case: earlier messages
    // went out and were acknowledged): `makeRoom` would answer 0.
    const pos = this.ringRecords === 0 && victim === NONE && this.freeTop !== NONE ? 0 : this.makeRoom(length, victim, now);
    writePublish(this.ring, pos, 0x30 | (qos << 1) | (retain ? 0x01 : 0), rl, bytes, id, version === 5, payload);
    this.store(pos, length, qos, version, id, hash, RecordState.Queued, 0);
    return id;
  }

  /**
   * The store of the transmit fast path for QoS 1/2 (see Session.publishNow):
   * when the message can be stored without dropping anything, stores it as
   * already sent (InFlight, DUP on any resend) and returns its length in
   * bytes; `sentId`, `sentTopic` and `sentView` then describe it (the
   * caller writes it out: from `sentView` when set, else from its own
   * encoding of the same bytes). Returns 0 and changes
   * nothing when it cannot: `topic` not in the topic cache, a PUBLISH longer
   * than `limit` bytes (e.g. the server's Maximum Packet Size, or the
   * caller's room), no room in the ring without dropping a record, no free
   * slot or packet id, or a record already waiting to be sent (it would be
   * overtaken). The caller then uses `enqueue`, which reports the reason. No
   * properties (v5: property length 0), DUP clear. `quiet`: see
   * `ackedQuiet`. Allocates nothing, except a new `sentView` when the
   * length differs from the last one.
   */
  enqueueSent(topic: string, payload: Uint8Array, qos: 1 | 2, retain: boolean, version: ProtocolVersion, limit: number, quiet: boolean): number {
    if (this.counters.queued !== 0) return 0;
    const entry = this.topicEntry(topic);
    if (entry < 0) return 0;
    const bytes = this.topicBytes[entry];
    const rl = 4 + bytes.length + (version === 5 ? 1 : 0) + payload.length;
    const length = 1 + (rl < 0x80 ? 1 : rl < 0x4000 ? 2 : rl < 0x200000 ? 3 : 4) + rl;
    if (length > limit || this.freeTop === NONE) return 0;
    const pos = this.ringRecords === 0 ? (length <= this.capacity ? 0 : -1) : this.fit(length, this.head, false);
    if (pos < 0) return 0;
    const id = this.freeId();
    if (id === 0) return 0;
    writePublish(this.ring, pos, 0x30 | (qos << 1) | (retain ? 0x01 : 0), rl, bytes, id, version === 5, payload);
    // F_SENT: DUP on a resend [MQTT-3.3.1-1].
    this.store(pos, length, qos, version, id, 0, RecordState.InFlight, quiet ? F_SENT | F_QUIET : F_SENT);
    this.sentId = id;
    this.sentTopic = bytes;
    if (pos === 0) {
      // The usual case of one message in flight at a time: the caller can
      // write the record from the ring (one copy of the message, not two).
      let view = this.ringHead;
      if (view.length !== length) view = this.ringHead = this.ring.subarray(0, length);
      this.sentView = view;
    } else {
      this.sentView = undefined;
    }
    return length;
  }

  /** A free packet id for a QoS 1/2 record; MqttError OutboxFull when none is free. */
  private takeId(): number {
    const id = this.freeId();
    if (id === 0) throw outboxFull("no free packet identifier");
    return id;
  }

  /**
   * Takes a slot for the record just written at ring[pos..pos+length) and
   * links it as the newest, in `state` (Queued, or InFlight for one sent at
   * once) with `flags` added. Returns the slot.
   */
  private store(pos: number, length: number, qos: number, version: ProtocolVersion, id: number, hash: number, state: number, flags: number): number {
    const slot = this.freeTop;
    this.freeTop = this.recNext[slot];
    this.recState[slot] = state;
    this.recFlags[slot] = qos | (version === 5 ? F_V5 : 0) | flags;
    this.recId[slot] = id;
    this.recOffset[slot] = pos;
    this.recLength[slot] = length;
    // recExpiry is read only under F_EXPIRY, which the caller sets with it;
    // recTopicHash only for QoS 0 (coalescing).
    if (qos === 0) this.recTopicHash[slot] = hash;
    // link (newest)
    const newest = this.newest;
    this.recNext[slot] = NONE;
    this.recPrev[slot] = newest;
    if (newest === NONE) this.oldest = slot;
    else this.recNext[newest] = slot;
    this.newest = slot;
    if (this.cursor === NONE) this.cursor = slot;
    if (this.ringRecords === 0) this.head = pos;
    this.ringRecords++;
    const tail = pos + length === this.capacity ? 0 : pos + length;
    this.tail = tail;
    if (id !== 0) {
      this.idInsert(slot);
      this.nextId = id === 65535 ? 1 : id + 1;
    }
    const counters = this.counters;
    if (state === RecordState.Queued) counters.queued++;
    else counters.inflight++;
    const h = this.head;
    counters.bytesUsed = tail > h ? tail - h : this.capacity - h + tail;
    return slot;
  }

  /**
   * Slot of the oldest record waiting to be sent (Queued or ReleaseQueued),
   * or -1. Expired queued records are discarded first (counted in `expired`).
   * Does not change the record's state.
   *
   * Only a message that was never sent expires here; one sent before (now
   * Queued again after `requeue`) is always resent, because the server may
   * hold its packet id in an unfinished exchange [MQTT-4.4.0-1].
   * Amortised O(1): records already sent are skipped once.
   */
  peek(now: number): number {
    let s = this.cursor;
    while (s !== NONE) {
      const st = this.recState[s];
      if (st === RecordState.InFlight || st === RecordState.Released) {
        s = this.recNext[s];
        this.cursor = s;
        continue;
      }
      if (this.expiredUnsent(s, now)) {
        const n = this.recNext[s];
        this.noteExpired(s);
        this.release(s);
        this.counters.expired++;
        s = n;
        continue;
      }
      return s;
    }
    return -1;
  }

  /**
   * Slot of the next record waiting to be sent after `slot` in send order, or
   * -1 (expired ones on the way are discarded as in `peek`). Lets a session
   * that is blocked on Receive Maximum look past the oldest waiting record.
   */
  peekAfter(slot: number, now: number): number {
    this.check(slot);
    let s = this.recNext[slot];
    while (s !== NONE) {
      const st = this.recState[s];
      if (st === RecordState.Queued || st === RecordState.ReleaseQueued) {
        if (!this.expiredUnsent(s, now)) return s;
        const n = this.recNext[s];
        this.noteExpired(s);
        this.release(s);
        this.counters.expired++;
        s = n;
        continue;
      }
      s = this.recNext[s];
    }
    return -1;
  }

  /**
   * Wire bytes of the record in `slot`: the PUBLISH with DUP set when it was
   * sent before and Message Expiry Interval rewritten to the remaining whole
   * seconds at `now` [MQTT-3.3.2-6]; or the PUBREL. The view is valid until
   * the next call that changes the outbox.
   *
   * A PUBLISH view points into the ring (creating the view object is the one
   * allocation; `prepare` avoids it). A PUBREL is `62 02 id id` in a 4-byte
   * scratch owned by the outbox, overwritten by the next `bytes`/`prepare`.
   * The remaining interval is rounded up (interval minus whole seconds
   * waited), at least 1: a message sent before and resent after its deadline
   * goes with 1, not 0.
   */
  bytes(slot: number, now: number): Uint8Array {
    const buf = this.prepare(slot, now);
    if (buf === this.pubrel) return buf;
    const off = this.recOffset[slot];
    return buf.subarray(off, off + this.recLength[slot]);
  }

  /**
   * Zero-allocation form of `bytes`: patches DUP and Message Expiry exactly as
   * `bytes` does and returns the backing store that holds the wire bytes at
   * [`offset(slot)`, `offset(slot) + length(slot)`): the ring (`buffer`) for
   * a PUBLISH, the 4-byte PUBREL scratch for a PUBREL. Same lifetime as `bytes`.
   */
  prepare(slot: number, now: number): Uint8Array {
    this.check(slot);
    const off = this.recOffset[slot];
    if (off < 0) {
      const id = this.recId[slot];
      this.pubrel[2] = id >> 8;
      this.pubrel[3] = id & 0xff;
      return this.pubrel;
    }
    const flags = this.recFlags[slot];
    const ring = this.ring;
    if (flags & F_SENT) ring[off] |= DUP_BIT; // [MQTT-3.3.1-1]
    if (flags & F_EXPIRY) {
      let left = Math.ceil(Math.round(this.recDeadline[slot] - now) / 1000);
      if (!(left >= 1)) left = 1;
      else if (left > 0xffffffff) left = 0xffffffff;
      const at = off + this.recExpiry[slot];
      ring[at] = left >>> 24;
      ring[at + 1] = (left >>> 16) & 0xff;
      ring[at + 2] = (left >>> 8) & 0xff;
      ring[at + 3] = left & 0xff;
    }
    return ring;
  }

  /**
   * `prepare` plus what a sender needs to know of the record, in one call
   * (one slot check; for the session's transmit path). Fills `info`:
   * [0] start of the wire bytes in the returned store (`offset`), [1] their
   * length (`length`), [2] QoS (`qos`), [3] packet id (`packetId`), [4]
   * `RecordState` (`state`), [5] protocol version (`version`). `info` needs
   * at least 6 elements. Same lifetime as `prepare`; allocates nothing.
   */
  prepareRecord(slot: number, now: number, info: Int32Array): Uint8Array {
    const buf = this.prepare(slot, now);
    const off = this.recOffset[slot];
    const flags = this.recFlags[slot];
    info[0] = off < 0 ? 0 : off;
    info[1] = off < 0 ? 4 : this.recLength[slot];
    info[2] = flags & F_QOS;
    info[3] = this.recId[slot];
    info[4] = this.recState[slot];
    info[5] = flags & F_V5 ? 5 : 4;
    return buf;
  }

  /** Start of the record's wire bytes in the store `prepare` returns (0 for a PUBREL). */
  offset(slot: number): number {
    this.check(slot);
    const off = this.recOffset[slot];
    return off < 0 ? 0 : off;
  }

  /** Length in bytes of the record's wire bytes (4 for a PUBREL). */
  length(slot: number): number {
    this.check(slot);
    return this.recOffset[slot] < 0 ? 4 : this.recLength[slot];
  }

  /** QoS of the record in slot (0..2). */
  qos(slot: number): number {
    this.check(slot);
    return this.recFlags[slot] & F_QOS;
  }

  /** Packet id of the record in slot (0 for QoS 0). */
  packetId(slot: number): number {
    this.check(slot);
    return this.recId[slot];
  }

  /** True for a record stored by `enqueueSent(..., quiet = true)` (see `ackedQuiet`). */
  quiet(slot: number): boolean {
    this.check(slot);
    return (this.recFlags[slot] & F_QUIET) !== 0;
  }

  /** RecordState of the record in slot. */
  state(slot: number): number {
    this.check(slot);
    return this.recState[slot];
  }

  /** Protocol version the record's PUBLISH was encoded in (4 or 5). */
  version(slot: number): ProtocolVersion {
    this.check(slot);
    return this.recFlags[slot] & F_V5 ? 5 : 4;
  }

  /**
   * The record's bytes were written: QoS 0 is freed, Queued → InFlight,
   * ReleaseQueued → Released. RangeError if the record was not waiting.
   */
  markSent(slot: number): void {
    this.check(slot);
    const st = this.recState[slot];
    if (st === RecordState.Queued) {
      if ((this.recFlags[slot] & F_QOS) === 0) {
        this.release(slot);
        return;
      }
      this.recState[slot] = RecordState.InFlight;
      this.recFlags[slot] |= F_SENT;
    } else if (st === RecordState.ReleaseQueued) {
      this.recState[slot] = RecordState.Released;
    } else {
      throw new RangeError(`outbox slot ${slot} is not waiting to be sent`);
    }
    this.counters.queued--;
    this.counters.inflight++;
  }

  /**
   * An acknowledgement arrived. type 4 (PUBACK): frees a QoS 1 InFlight
   * record. type 5 (PUBREC): QoS 2 InFlight → Released (the caller sends
   * the PUBREL itself). type 7 (PUBCOMP): frees a Released record. Returns
   * false (and changes nothing) when no record is in the matching state.
   *
   * On PUBREC the PUBLISH bytes are released from the ring at once (the
   * PUBREL needs none). Allocates nothing.
   */
  acknowledge(packetId: number, type: 4 | 5 | 7): boolean {
    if (type !== 4 && type !== 5 && type !== 7)
      throw new RangeError("acknowledge type must be 4 (PUBACK), 5 (PUBREC) or 7 (PUBCOMP)");
    // lookup(), with its usual answer (the id in its home bucket) first.
    let slot = this.idTable[packetId & this.idMask];
    if (slot === NONE || this.recId[slot] !== packetId) {
      slot = this.lookup(packetId);
      if (slot === NONE) return false;
    }
    const st = this.recState[slot];
    const flags = this.recFlags[slot];
    const qos = flags & F_QOS;
    this.ackedQuiet = (flags & F_QUIET) !== 0;
    if (type === 4) {
      if (qos !== 1 || st !== RecordState.InFlight) return false;
      this.release(slot);
    } else if (type === 5) {
      if (qos !== 2 || st !== RecordState.InFlight) return false;
      this.dropBytes(slot);
      this.recState[slot] = RecordState.Released;
    } else {
      if (st !== RecordState.Released) return false;
      this.release(slot);
    }
    return true;
  }

  /** Frees the record with this id in any state (e.g. a v5 PUBREC with a failure reason). */
  remove(packetId: number): boolean {
    const slot = this.lookup(packetId);
    if (slot === NONE) return false;
    this.release(slot);
    return true;
  }

  /**
   * New connection: every InFlight record becomes Queued again (and will be
   * sent with DUP=1), every Released becomes ReleaseQueued, in original order
   * [MQTT-4.4.0-1], [MQTT-4.6.0-1].
   */
  requeue(): void {
    for (let s = this.oldest; s !== NONE; s = this.recNext[s]) {
      const st = this.recState[s];
      if (st === RecordState.InFlight) this.recState[s] = RecordState.Queued;
      else if (st === RecordState.Released) this.recState[s] = RecordState.ReleaseQueued;
    }
    this.counters.queued += this.counters.inflight;
    this.counters.inflight = 0;
    this.cursor = this.oldest;
  }

  /**
   * Discards every never-sent queued message whose Message Expiry Interval
   * has run out at `now` (counted in `expired`); returns how many. `peek` and
   * `enqueue` do this lazily; call it to free room while offline.
   */
  discardExpired(now: number): number {
    let count = 0;
    for (let s = this.oldest; s !== NONE; ) {
      const n = this.recNext[s];
      if (this.expiredUnsent(s, now)) {
        this.noteExpired(s);
        this.release(s);
        count++;
      }
      s = n;
    }
    this.counters.expired += count;
    return count;
  }

  /**
   * Frees every record (e.g. the server has no session and the owner chose
   * to drop unacknowledged messages). `dropped`/`expired` are not touched;
   * packet ids keep cycling from where they were.
   */
  clear(): void {
    this.reset();
  }

  /**
   * Serialises every record (version byte, CRC-32). Expiry is stored as time remaining at `now`.
   *
   * Layout: see the comment above `SNAP_MAGIC0` in outbox.ts and
   * README-outbox.md. InFlight records are stored as "sent before" and come
   * back Queued (resent with DUP); Released ones come back ReleaseQueued.
   * Returns a new array of exactly the snapshot's length (allocates).
   */
  snapshot(now: number): Uint8Array {
    let size = SNAP_HEADER + SNAP_CRC;
    let count = 0;
    for (let s = this.oldest; s !== NONE; s = this.recNext[s]) {
      size += SNAP_RECORD + (this.recOffset[s] < 0 ? 0 : this.recLength[s]);
      count++;
    }
    const out = new Uint8Array(size);
    const view = new DataView(out.buffer);
    out[0] = SNAP_MAGIC0;
    out[1] = SNAP_MAGIC1;
    out[2] = SNAP_VERSION;
    view.setUint16(3, this.nextId);
    view.setUint16(5, count);
    let p = SNAP_HEADER;
    for (let s = this.oldest; s !== NONE; s = this.recNext[s]) {
      const off = this.recOffset[s];
      const flags = this.recFlags[s];
      let f = flags & (F_QOS | F_V5 | F_SENT | F_EXPIRY);
      if (off < 0) f = (f & ~F_EXPIRY) | S_RELEASE | F_SENT;
      out[p] = f;
      view.setUint16(p + 1, this.recId[s]);
      view.setUint32(p + 3, off < 0 ? 0 : this.recLength[s]);
      view.setUint32(p + 7, f & F_EXPIRY ? this.recExpiry[s] : 0xffffffff);
      view.setFloat64(p + 11, f & F_EXPIRY ? this.recDeadline[s] - now : 0);
      p += SNAP_RECORD;
      if (off >= 0) {
        const length = this.recLength[s];
        out.set(this.ring.subarray(off, off + length), p);
        p += length;
      }
    }
    view.setUint32(p, crc32(out, 0, p));
    return out;
  }

  /**
   * Replaces the contents with a snapshot; all records come back Queued/ReleaseQueued. Throws MqttError SnapshotInvalid.
   *
   * Every check runs before anything changes, so on any throw the outbox is
   * as it was: SnapshotInvalid for a wrong magic or format version, a CRC
   * mismatch, truncation, trailing bytes or an inconsistent record;
   * OutboxFull when a valid snapshot holds more records or bytes than this
   * outbox (smaller `maxMessages`/`capacity` than the one that wrote it).
   * Expiry deadlines restart from `now` with the time that was left: time
   * spent powered off is not counted. `counters.dropped`/`expired` are kept.
   */
  restore(bytes: Uint8Array, now: number): void {
    if (!(bytes instanceof Uint8Array)) throw new TypeError("Outbox.restore takes a Uint8Array");
    const n = bytes.length;
    if (n < SNAP_HEADER + SNAP_CRC) throw snapshotInvalid(`truncated: ${n} bytes`);
    if (bytes[0] !== SNAP_MAGIC0 || bytes[1] !== SNAP_MAGIC1) throw snapshotInvalid("not an outbox snapshot");
    if (bytes[2] !== SNAP_VERSION) throw snapshotInvalid(`unsupported format version ${bytes[2]}`);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const end = n - SNAP_CRC;
    if (view.getUint32(end) !== crc32(bytes, 0, end)) throw snapshotInvalid("CRC-32 mismatch");
    const nextId = view.getUint16(3);
    const count = view.getUint16(5);
    if (nextId === 0) throw snapshotInvalid("next packet id 0");

    // Pass 1: validate, change nothing.
    const ids: number[] = [];
    let total = 0;
    let p = SNAP_HEADER;
    for (let i = 0; i < count; i++) {
      if (p + SNAP_RECORD > end) throw snapshotInvalid(`truncated in record ${i}`);
      const f = bytes[p];
      const id = view.getUint16(p + 1);
      const length = view.getUint32(p + 3);
      const expiry = view.getUint32(p + 7);
      const left = view.getFloat64(p + 11);
      const qos = f & F_QOS;
      if (f & ~S_KNOWN || qos === 3) throw snapshotInvalid(`record ${i}: bad flags 0x${f.toString(16)}`);
      if ((qos === 0) !== (id === 0)) throw snapshotInvalid(`record ${i}: packet id ${id} with QoS ${qos}`);
      if (id !== 0) {
        if (ids.indexOf(id) >= 0) throw snapshotInvalid(`record ${i}: duplicate packet id ${id}`);
        ids.push(id);
      }
      p += SNAP_RECORD;
      if (f & S_RELEASE) {
        if (qos !== 2 || length !== 0 || f & F_EXPIRY) throw snapshotInvalid(`record ${i}: bad PUBREL record`);
        continue;
      }
      if (length < 2 || p + length > end) throw snapshotInvalid(`truncated in record ${i}`);
      const b0 = bytes[p];
      const rl = readVbi(bytes, p + 1, p + length);
      if (b0 >> 4 !== 3 || ((b0 >> 1) & 3) !== qos || rl < 0 || 2 + (rl & 3) + Math.floor(rl / 4) !== length)
        throw snapshotInvalid(`record ${i}: not a QoS ${qos} PUBLISH of ${length} bytes`);
      if (qos !== 0) {
        const t = topicFieldAt(bytes, p);
        const at = t + 2 + ((bytes[t] << 8) | bytes[t + 1]);
        if (at + 2 > p + length || ((bytes[at] << 8) | bytes[at + 1]) !== id)
          throw snapshotInvalid(`record ${i}: packet id does not match its PUBLISH`);
      }
      if (f & F_EXPIRY) {
        if (!(f & F_V5) || expiry !== findExpiryOffset(bytes, p, p + length, qos) || !Number.isFinite(left))
          throw snapshotInvalid(`record ${i}: bad Message Expiry Interval`);
      } else if (expiry !== 0xffffffff) {
        throw snapshotInvalid(`record ${i}: bad expiry offset`);
      }
      total += length;
      p += length;
    }
    if (p !== end) throw snapshotInvalid(`${end - p} bytes after the last record`);
    if (count > this.maxMessages)
      throw outboxFull(`snapshot holds ${count} records, this outbox has ${this.maxMessages} slots`);
    if (total > this.capacity)
      throw outboxFull(`snapshot holds ${total} bytes, this outbox has ${this.capacity}`);

    // Pass 2: rebuild, records packed from offset 0 in their original order.
    this.reset();
    p = SNAP_HEADER;
    let pos = 0;
    for (let i = 0; i < count; i++) {
      const f = bytes[p];
      const length = view.getUint32(p + 3);
      const slot = this.freeTop;
      this.freeTop = this.recNext[slot];
      this.recFlags[slot] = f & (F_QOS | F_V5 | F_SENT | F_EXPIRY);
      this.recId[slot] = view.getUint16(p + 1);
      this.recExpiry[slot] = -1;
      this.recTopicHash[slot] = 0;
      if (f & S_RELEASE) {
        this.recState[slot] = RecordState.ReleaseQueued;
        this.recOffset[slot] = -1;
        this.recLength[slot] = 0;
      } else {
        this.recState[slot] = RecordState.Queued;
        this.ring.set(bytes.subarray(p + SNAP_RECORD, p + SNAP_RECORD + length), pos);
        this.recOffset[slot] = pos;
        this.recLength[slot] = length;
        if (f & F_EXPIRY) {
          this.recExpiry[slot] = view.getUint32(p + 7);
          this.recDeadline[slot] = now + view.getFloat64(p + 11);
        }
        if ((f & F_QOS) === 0) {
          const t = topicFieldAt(this.ring, pos);
          this.recTopicHash[slot] = bytesHash(this.ring, t + 2, (this.ring[t] << 8) | this.ring[t + 1]);
        }
        this.ringRecords++;
        pos += length;
      }
      this.link(slot);
      if (this.recId[slot] !== 0) this.idInsert(slot);
      this.counters.queued++;
      p += SNAP_RECORD + (f & S_RELEASE ? 0 : length);
    }
    this.head = 0;
    this.tail = pos === this.capacity ? 0 : pos;
    this.nextId = nextId;
    this.cursor = this.oldest;
    this.updateBytesUsed();
  }

  // ---- internals ----

  /** Empties everything but the cumulative counters and the id cycle. */
  private reset(): void {
    const m = this.maxMessages;
    for (let i = 0; i < m; i++) {
      this.recState[i] = FREE;
      this.recId[i] = 0;
      this.recOffset[i] = -1;
      this.recNext[i] = i + 1 < m ? i + 1 : NONE;
      this.recPrev[i] = NONE;
    }
    this.idTable.fill(NONE);
    this.idDisplaced = 0;
    this.freeTop = 0;
    this.oldest = NONE;
    this.newest = NONE;
    this.cursor = NONE;
    this.head = 0;
    this.tail = 0;
    this.ringRecords = 0;
    this.counters.queued = 0;
    this.counters.inflight = 0;
    this.counters.bytesUsed = 0;
  }

  private check(slot: number): void {
    if (slot >>> 0 !== slot || slot >= this.maxMessages || this.recState[slot] === FREE)
      throw new RangeError(`no outbox record in slot ${slot}`);
  }

  private expiredUnsent(s: number, now: number): boolean {
    return (
      (this.recFlags[s] & (F_EXPIRY | F_SENT)) === F_EXPIRY &&
      this.recState[s] === RecordState.Queued &&
      now >= this.recDeadline[s]
    );
  }

  /** Queued QoS 0 records, and never-sent expired ones, may be dropped to make room. */
  private droppable(s: number, now: number): boolean {
    return (this.recFlags[s] & F_QOS) === 0 || this.expiredUnsent(s, now);
  }

  /**
   * Where a record of `length` bytes would start if the oldest record with
   * bytes started at `h` (the ring holding none if `empty`), or -1.
   */
  private fit(length: number, h: number, empty: boolean): number {
    const cap = this.capacity;
    if (empty) return length <= cap ? 0 : -1;
    const t = this.tail;
    if (t > h) {
      if (cap - t >= length) return t;
      return h >= length ? 0 : -1; // pad [t, cap) and wrap
    }
    return h - t >= length ? t : -1; // t === h: full
  }

  /**
   * Finds room for `length` bytes and a slot, dropping the fewest droppable
   * records (oldest first) plus the coalescing `victim`. Decides on a dry run
   * over the list first, so an OutboxFull throw changes nothing. Returns the
   * ring offset to write at.
   */
  private makeRoom(length: number, victim: number, now: number): number {
    let pos = this.fit(length, this.head, this.ringRecords === 0);
    if (pos >= 0 && victim === NONE && this.freeTop !== NONE) return pos; // nothing to drop
    let slotOk = this.freeTop !== NONE || victim !== NONE;
    if (pos >= 0 && slotOk) return this.commitDrops(0, victim, now, length);
    // Dropping a record moves the head only while every older record with
    // bytes is dropped too ("intact" prefix); past that, drops free slots only.
    let drops = 0;
    let droppedAny = false;
    let intact = true;
    for (let s = this.oldest; s !== NONE; s = this.recNext[s]) {
      const hasBytes = this.recOffset[s] >= 0;
      if (hasBytes && intact && droppedAny) {
        pos = this.fit(length, this.recOffset[s], false);
        if (pos >= 0 && slotOk) return this.commitDrops(drops, victim, now, length);
      }
      if (s === victim || this.droppable(s, now)) {
        if (s !== victim) drops++;
        droppedAny = true;
        slotOk = true;
        if (!intact && pos >= 0) return this.commitDrops(drops, victim, now, length);
      } else if (hasBytes && intact) {
        intact = false;
        if (pos < 0) break;
      }
    }
    if (intact && droppedAny) {
      pos = this.fit(length, 0, true);
      if (pos >= 0 && slotOk) return this.commitDrops(drops, victim, now, length);
    }
    if (!slotOk) throw outboxFull(`all ${this.maxMessages} slots are in use`);
    throw outboxFull(`no room for ${length} bytes (${this.counters.bytesUsed} of ${this.capacity} in use)`);
  }

  private commitDrops(drops: number, victim: number, now: number, length: number): number {
    if (victim !== NONE) {
      this.release(victim);
      this.counters.dropped++;
    }
    for (let s = this.oldest; drops > 0 && s !== NONE; ) {
      const n = this.recNext[s];
      if (this.droppable(s, now)) {
        if (this.expiredUnsent(s, now)) {
          this.counters.expired++;
          this.noteExpired(s);
        } else this.counters.dropped++;
        this.release(s);
        drops--;
      }
      s = n;
    }
    const pos = this.fit(length, this.head, this.ringRecords === 0);
    if (pos < 0 || this.freeTop === NONE) throw new Error("outbox: room computed but not found (bug)");
    return pos;
  }

  /** Entry of `topic` in the topic cache, or -1. Allocates nothing. */
  private topicEntry(topic: unknown): number {
    const names = this.topicNames;
    const last = this.topicLast;
    if (names[last] === topic) return last;
    for (let i = 0; i < TOPIC_CACHE_ENTRIES; i++) {
      if (names[i] === topic) {
        this.topicLast = i;
        return i;
      }
    }
    return -1;
  }

  /**
   * Puts `topic` into the topic cache, its bytes copied from the PUBLISH the
   * codec just wrote at ring[pos..] (so only topics that passed the codec's
   * checks enter). Topics longer than an entry, or empty, are not cached.
   * Allocates one view (a miss; hits allocate nothing).
   */
  private cacheTopic(topic: string, pos: number): void {
    const ring = this.ring;
    const at = topicFieldAt(ring, pos);
    const t = (ring[at] << 8) | ring[at + 1];
    if (t === 0 || t > TOPIC_CACHE_ENTRY_BYTES || this.topicEntry(topic) >= 0) return;
    const i = this.topicVictim;
    this.topicVictim = i + 1 === TOPIC_CACHE_ENTRIES ? 0 : i + 1;
    const start = i * TOPIC_CACHE_ENTRY_BYTES;
    const arena = this.topicArena;
    for (let k = 0; k < t; k++) arena[start + k] = ring[at + 2 + k];
    this.topicNames[i] = topic;
    this.topicBytes[i] = arena.subarray(start, start + t);
    this.topicLast = i;
  }

  private findQueuedTopic(hash: number, topic: string): number {
    for (let s = this.oldest; s !== NONE; s = this.recNext[s]) {
      if ((this.recFlags[s] & F_QOS) !== 0 || this.recTopicHash[s] !== hash) continue;
      const t = topicFieldAt(this.ring, this.recOffset[s]);
      if (topicEquals(this.ring, t + 2, (this.ring[t] << 8) | this.ring[t + 1], topic)) return s;
    }
    return NONE;
  }

  private freeId(): number {
    const inUse = this.isIdInUse;
    let id = this.nextId;
    for (let tries = 0; tries < 65535; tries++) {
      // An empty home bucket: no record holds the id (the usual answer, without a lookup).
      if ((this.idTable[id & this.idMask] === NONE || this.lookup(id) === NONE) && (inUse === undefined || !inUse(id))) return id;
      id = id === 65535 ? 1 : id + 1;
    }
    return 0;
  }

  /** Appends `slot` to the list (newest). */
  private link(slot: number): void {
    this.recNext[slot] = NONE;
    this.recPrev[slot] = this.newest;
    if (this.newest === NONE) this.oldest = slot;
    else this.recNext[this.newest] = slot;
    this.newest = slot;
    if (this.cursor === NONE) this.cursor = slot;
  }

  /** Gives the record's ring bytes back; the oldest record's bytes move `head` on. */
  private dropBytes(slot: number): void {
    const off = this.recOffset[slot];
    if (off < 0) return;
    this.recOffset[slot] = -1;
    this.recFlags[slot] &= ~F_EXPIRY;
    this.ringRecords--;
    if (this.ringRecords === 0) {
      this.head = 0;
      this.tail = 0;
    } else if (off === this.head) {
      let s = this.recNext[slot];
      while (this.recOffset[s] < 0) s = this.recNext[s];
      this.head = this.recOffset[s];
    }
    this.updateBytesUsed();
  }

  /**
   * Packet id of the next QoS 1/2 message discarded because its Message
   * Expiry Interval ran out before it was sent, or 0 when there is none.
   * Each id is reported once; call it after any call that takes `now`.
   */
  pollExpired(): number {
    if (this.expiredCount === 0) return 0;
    const id = this.expiredIds[this.expiredHead];
    this.expiredHead = this.expiredHead + 1 === this.expiredIds.length ? 0 : this.expiredHead + 1;
    this.expiredCount--;
    return id;
  }

  private noteExpired(slot: number): void {
    const id = this.recId[slot];
    if (id === 0) return;
    const size = this.expiredIds.length;
    if (this.expiredCount === size) {
      this.expiredHead = this.expiredHead + 1 === size ? 0 : this.expiredHead + 1;
      this.expiredCount--;
    }
    this.expiredIds[(this.expiredHead + this.expiredCount) % size] = id;
    this.expiredCount++;
  }

  /** Frees the record in `slot` completely. */
  private release(slot: number): void {
    const st = this.recState[slot];
    const counters = this.counters;
    if (st === RecordState.Queued || st === RecordState.ReleaseQueued) counters.queued--;
    else counters.inflight--;
    const id = this.recId[slot];
    if (id !== 0) {
      // idDelete(), with its usual case (no entry displaced: the id sits in its home bucket) first.
      if (this.idDisplaced === 0) this.idTable[id & this.idMask] = NONE;
      else this.idDelete(id);
    }
    if (this.ringRecords === 1 && this.recOffset[slot] >= 0) {
      // The last record with bytes (the common case of a record sent at
      // once): `dropBytes` reduced to what it does then.
      this.recOffset[slot] = -1;
      this.ringRecords = 0;
      this.head = 0;
      this.tail = 0;
      counters.bytesUsed = 0;
    } else {
      this.dropBytes(slot);
    }
    const p = this.recPrev[slot];
    const n = this.recNext[slot];
    if (p === NONE) this.oldest = n;
    else this.recNext[p] = n;
    if (n === NONE) this.newest = p;
    else this.recPrev[n] = p;
    if (this.cursor === slot) this.cursor = n;
    this.recState[slot] = FREE;
    this.recId[slot] = 0;
    this.recFlags[slot] = 0;
    this.recNext[slot] = this.freeTop;
    this.freeTop = slot;
  }

  private updateBytesUsed(): void {
    const h = this.head;
    const t = this.tail;
    this.counters.bytesUsed = this.ringRecords === 0 ? 0 : t > h ? t - h : this.capacity - h + t;
  }

  private lookup(packetId: number): number {
    if (!(packetId >= 1 && packetId <= 65535)) return NONE;
    const mask = this.idMask;
    if (this.idDisplaced === 0) {
      // Every entry sits in its home bucket.
      const s = this.idTable[packetId & mask];
      return s !== NONE && this.recId[s] === packetId ? s : NONE;
    }
    for (let i = packetId & mask; ; i = (i + 1) & mask) {
      const s = this.idTable[i];
      if (s === NONE || this.recId[s] === packetId) return s;
    }
  }

  private idInsert(slot: number): void {
    const mask = this.idMask;
    const home = this.recId[slot] & mask;
    let i = home;
    while (this.idTable[i] !== NONE) i = (i + 1) & mask;
    this.idTable[i] = slot;
    if (i !== home) this.idDisplaced++;
  }

  /**
   * Linear-probing delete with backward shift (no tombstones). Ids are
   * mostly consecutive, so entries usually sit in their home bucket in one
   * long run; while no entry is displaced (`idDisplaced` 0) none can need
   * moving, and the delete is O(1) instead of a scan to the end of the run.
   */
  private idDelete(packetId: number): void {
    const mask = this.idMask;
    const table = this.idTable;
    let i = packetId & mask;
    if (this.idDisplaced === 0) {
      // Every entry sits in its home bucket: nothing to search or move.
      if (table[i] !== NONE && this.recId[table[i]] === packetId) table[i] = NONE;
      return;
    }
    while (table[i] !== NONE && this.recId[table[i]] !== packetId) i = (i + 1) & mask;
    if (table[i] === NONE) return;
    if (i !== (packetId & mask)) this.idDisplaced--;
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      const s = table[j];
      if (s === NONE) break;
      const k = this.recId[s] & mask; // home bucket of the entry at j
      // The entry stays if its home lies cyclically in (i, j].
      if (i <= j ? i < k && k <= j : i < k || k <= j) continue;
      table[i] = s;
      // It moves from j (displaced: j !== k) to i, which may be its home.
      if (i === k) this.idDisplaced--;
      i = j;
    }
    table[i] = NONE;
  }
}
