/**
 * Transmit queue of the session (private helper of `session.ts`).
 *
 * Theory of operation
 * -------------------
 * Outbound bytes come from three sources, drained one whole packet at a time
 * so that packets never interleave on the wire:
 *
 * 1. the control ring: a byte FIFO, allocated once, holding small control
 *    packets written in place (PUBACK/PUBREC/PUBREL/PUBCOMP, PINGREQ, short
 *    DISCONNECT). Packet boundaries are not stored: the fixed header of the
 *    packet at the head says how long it is.
 * 2. large control packets (CONNECT, SUBSCRIBE, UNSUBSCRIBE, AUTH, DISCONNECT
 *    with properties), encoded into their own arrays. They keep their place
 *    in the order by a one-byte marker (0x00, a reserved packet type that
 *    never starts a real packet) in the ring.
 * 3. outbox records, which the session adds as "segments" (views into the
 *    outbox or into the small `stage` buffer holding a rewritten header).
 *
 * The packet being copied out is described by up to four segments
 * (buffer, from, to). A ring packet's bytes stay reserved (not overwritten by
 * appends) until the packet has been copied out completely.
 *
 * Invariants: `size + reserved <= ring.length`; the marker count in the ring
 * equals `big.length - bigHead`; `active` is true exactly while a packet is
 * partly copied out.
 *
 * The ring doubles (one allocation, rare) when an append does not fit: that
 * happens only when the owner feeds input without draining `pollTransmit`
 * and the server sends more QoS 1/2 messages than our Receive Maximum allows
 * (possible over MQTT 3.1.1, which has no such limit).
 */

/** Marker byte in the ring: "the next packet is the next large packet". */
const MARKER = 0x00;
const SEGMENTS = 4;
/**
 * Segments up to this many bytes are copied with a loop; longer ones with
 * `set(subarray())`. Measured on XS (bench/xs-heap.mjs): the view costs 4
 * heap slots per copy, the loop about 20 compute steps per byte against 70
 * for the whole `set`. 64 keeps control packets, rewritten headers and
 * small sensor messages allocation-free.
 */
export const COPY_LOOP_MAX = 64;

/** Kind of the packet being copied out. */
export const TxKind = Object.freeze({ None: 0, Ring: 1, Big: 2, Record: 3 });

export class TxQueue {
  ring: Uint8Array;
  head = 0;
  size = 0;
  reserved = 0;
  big: Uint8Array[] = [];
  bigHead = 0;

  /** True while a packet is partly copied out. */
  active = false;
  /** TxKind of the current (or last) packet. */
  kind: number = TxKind.None;
  /** Packet type (high nibble of the first byte) of the current packet. */
  type = 0;
  private segBuf: Uint8Array[];
  private segFrom: number[];
  private segTo: number[];
  private segCount = 0;
  private segIndex = 0;
  /** Holds the rest of a record that did not fit the caller's buffer; allocated on first need. */
  private spill: Uint8Array | undefined;
  /**
   * Rewritten PUBLISH header (fixed header 5 + topic length 2 + packet id 2
   * + property length 4 + topic alias property 3 = 16 bytes at most).
   */
  readonly stage = new Uint8Array(16);
  /** Placeholder for unused segment and big-packet references (drops the real ones for the GC). */
  private readonly empty = new Uint8Array(0);

  constructor(ringSize: number) {
    this.ring = new Uint8Array(ringSize);
    const empty = this.empty;
    this.segBuf = [empty, empty, empty, empty];
    this.segFrom = [0, 0, 0, 0];
    this.segTo = [0, 0, 0, 0];
  }

  /** Forgets everything, including a partly copied packet (the connection is gone). */
  clear(): void {
    this.head = 0;
    this.size = 0;
    this.reserved = 0;
    this.big.length = 0;
    this.bigHead = 0;
    this.active = false;
    this.kind = TxKind.None;
    this.segCount = 0;
    this.segIndex = 0;
  }

  /** Forgets the queued packets but keeps the one partly copied out (framing stays intact). */
  clearQueued(): void {
    this.size = 0;
    this.big.length = 0;
    this.bigHead = 0;
    if (this.reserved === 0) this.head = 0;
  }

  /** True when a queued control packet waits (not counting the current one). */
  hasQueued(): boolean {
    return this.size > 0;
  }

  /** Appends a 2-byte packet (PINGREQ, DISCONNECT without reason). */
  append2(byte0: number, byte1: number): void {
    this.ensure(2);
    this.put(byte0);
    this.put(byte1);
  }

  /**
   * Appends PUBACK/PUBREC/PUBREL/PUBCOMP or a DISCONNECT with a reason code:
   * 4 bytes (`withReason` false), or 5 with the v5 reason code.
   */
  appendAck(byte0: number, packetId: number, reasonCode: number, withReason: boolean): void {
    this.ensure(5);
    this.put(byte0);
    this.put(withReason ? 3 : 2);
    this.put(packetId >> 8);
    this.put(packetId & 0xff);
    if (withReason) this.put(reasonCode);
  }

  /** Appends a 3-byte v5 DISCONNECT/AUTH with a reason code and no properties. */
  append3(byte0: number, reasonCode: number): void {
    this.ensure(3);
    this.put(byte0);
    this.put(1);
    this.put(reasonCode);
  }

  /** Appends a large, already encoded packet (kept by reference). */
  appendBig(bytes: Uint8Array): void {
    this.ensure(1);
    this.put(MARKER);
    this.big.push(bytes);
  }

  /** Starts the packet at the head of the ring. Precondition: !active && hasQueued(). */
  startQueued(): void {
    const ring = this.ring;
    const cap = ring.length;
    const b0 = ring[this.head];
    if (b0 === MARKER) {
      this.head = (this.head + 1) % cap;
      this.size -= 1;
      const bytes = this.big[this.bigHead];
      this.big[this.bigHead] = this.empty;
      this.bigHead += 1;
      if (this.bigHead === this.big.length) {
        this.big.length = 0;
        this.bigHead = 0;
      }
      this.beginSegments(TxKind.Big, bytes[0] >> 4);
      this.addSegment(bytes, 0, bytes.length);
      return;
    }
    // Remaining length: variable byte integer right after the first byte.
    let length = 0;
    let shift = 0;
    let i = 1;
    for (;;) {
      const b = ring[(this.head + i) % cap];
      length += (b & 0x7f) << shift;
      i += 1;
      if ((b & 0x80) === 0) break;
      shift += 7;
    }
    const total = i + length;
    const first = Math.min(total, cap - this.head);
    this.beginSegments(TxKind.Ring, b0 >> 4);
    this.addSegment(ring, this.head, this.head + first);
    if (first < total) this.addSegment(ring, 0, total - first);
    this.head = (this.head + total) % cap;
    this.size -= total;
    this.reserved = total;
  }

  /** Starts describing a new current packet. */
  beginSegments(kind: number, type: number): void {
    this.kind = kind;
    this.type = type;
    this.segCount = 0;
    this.segIndex = 0;
    this.active = true;
  }

  /** Adds buf[from..to) to the current packet. At most four segments. */
  addSegment(buf: Uint8Array, from: number, to: number): void {
    if (to <= from) return;
    const n = this.segCount;
    if (n === SEGMENTS) throw new RangeError("TxQueue: too many segments");
    this.segBuf[n] = buf;
    this.segFrom[n] = from;
    this.segTo[n] = to;
    this.segCount = n + 1;
  }

  /**
   * Copies as much of the current packet as fits into target[pos..]; returns
   * the new position. Clears `active` when the packet is done.
   */
  copyOut(target: Uint8Array, pos: number): number {
    const end = target.length;
    while (this.segIndex < this.segCount && pos < end) {
      const i = this.segIndex;
      const from = this.segFrom[i];
      const n = Math.min(this.segTo[i] - from, end - pos);
      const src = this.segBuf[i];
      if (n <= COPY_LOOP_MAX) {
        for (let k = 0; k < n; k++) target[pos + k] = src[from + k];
      } else {
        target.set(src.subarray(from, from + n), pos);
      }
      pos += n;
      if (from + n === this.segTo[i]) this.segIndex = i + 1;
      else this.segFrom[i] = from + n;
    }
    if (this.segIndex === this.segCount) {
      this.active = false;
      if (this.kind === TxKind.Ring) this.reserved = 0;
      for (let i = 0; i < this.segCount; i++) this.segBuf[i] = this.empty;
      this.segCount = 0;
      this.segIndex = 0;
    }
    return pos;
  }

  /**
   * Copies what is left of the current packet into the spill buffer, so that
   * the segments no longer refer to the outbox (whose views may go stale).
   */
  spillRest(): void {
    let n = 0;
    for (let i = this.segIndex; i < this.segCount; i++) n += this.segTo[i] - this.segFrom[i];
    if (this.spill === undefined || this.spill.length < n) this.spill = new Uint8Array(n);
    const spill = this.spill;
    let pos = 0;
    for (let i = this.segIndex; i < this.segCount; i++) {
      spill.set(this.segBuf[i].subarray(this.segFrom[i], this.segTo[i]), pos);
      pos += this.segTo[i] - this.segFrom[i];
    }
    for (let i = 0; i < this.segCount; i++) this.segBuf[i] = this.empty;
    this.segBuf[0] = spill;
    this.segFrom[0] = 0;
    this.segTo[0] = n;
    this.segCount = 1;
    this.segIndex = 0;
  }

  /** Bytes in the ring, in use or reserved (diagnostics). */
  get ringBytes(): number {
    return this.size + this.reserved;
  }

  private put(b: number): void {
    const cap = this.ring.length;
    this.ring[(this.head + this.size) % cap] = b;
    this.size += 1;
  }

  private ensure(n: number): void {
    const cap = this.ring.length;
    if (this.size + this.reserved + n <= cap) return;
    // Grow: linearise the queued bytes into a ring twice the size. A packet
    // being copied out keeps referring to the old array, which nothing
    // writes to any more, so its reservation ends here.
    const grown = new Uint8Array(Math.max(cap * 2, this.size + n));
    for (let i = 0; i < this.size; i++) grown[i] = this.ring[(this.head + i) % cap];
    this.ring = grown;
    this.head = 0;
    this.reserved = 0;
  }
}
