/**
 * Small fixed tables of the session (private helpers of `session.ts`).
 *
 * - `HeldIds`: packet ids of inbound QoS 2 messages delivered and waiting for
 *   PUBREL (exactly-once de-duplication), each with a flag saying whether it
 *   arrived on the current connection (only those count against our Receive
 *   Maximum: the server's send quota starts afresh on every connection,
 *   MQTT 5.0 §4.9).
 * - `PendingRequests`: SUBSCRIBE/UNSUBSCRIBE packets awaiting SUBACK/UNSUBACK,
 *   with the number of reason codes each must return.
 *
 * Lookups are linear scans: the tables hold tens of entries (our Receive
 * Maximum, default 16), where a scan over a typed array beats any map and
 * allocates nothing.
 */

/** Upper bound for any packet-id table (ids are 1..65535). */
const MAX_IDS = 65535;

export class HeldIds {
  private ids: Uint16Array;
  private current: Uint8Array;
  /** Ids held. */
  count = 0;
  /** Ids held that arrived on the current connection. */
  currentCount = 0;

  constructor(capacity: number) {
    this.ids = new Uint16Array(capacity);
    this.current = new Uint8Array(capacity);
  }

  get capacity(): number {
    return this.ids.length;
  }

  has(packetId: number): boolean {
    return this.indexOf(packetId) >= 0;
  }

  /**
   * Adds an id that arrived on the current connection. Grows the table (one
   * allocation) when full: over MQTT 5 our Receive Maximum keeps it from
   * filling, except for ids carried over from a resumed session; over 3.1.1
   * nothing limits the server.
   */
  add(packetId: number): void {
    if (this.count === this.ids.length) {
      const size = Math.min(MAX_IDS, Math.max(4, this.ids.length * 2));
      const ids = new Uint16Array(size);
      const current = new Uint8Array(size);
      ids.set(this.ids);
      current.set(this.current);
      this.ids = ids;
      this.current = current;
    }
    this.ids[this.count] = packetId;
    this.current[this.count] = 1;
    this.count += 1;
    this.currentCount += 1;
  }

  /** Removes an id; returns false when it was not held. */
  delete(packetId: number): boolean {
    const i = this.indexOf(packetId);
    if (i < 0) return false;
    if (this.current[i] === 1) this.currentCount -= 1;
    const last = this.count - 1;
    this.ids[i] = this.ids[last];
    this.current[i] = this.current[last];
    this.count = last;
    return true;
  }

  /** A new connection starts: every held id now belongs to an earlier one. */
  newConnection(): void {
    this.current.fill(0);
    this.currentCount = 0;
  }

  clear(): void {
    this.count = 0;
    this.currentCount = 0;
  }

  /** The held ids, in no particular order (allocates; for persistence). */
  toArray(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.count; i++) out.push(this.ids[i]);
    return out;
  }

  private indexOf(packetId: number): number {
    const ids = this.ids;
    for (let i = 0; i < this.count; i++) if (ids[i] === packetId) return i;
    return -1;
  }
}

/** Kind of a pending request. */
export const RequestKind = Object.freeze({ Subscribe: 8, Unsubscribe: 10 });

export class PendingRequests {
  private ids: Uint16Array;
  private kinds: Uint8Array;
  private counts: Uint16Array;
  count = 0;

  constructor(capacity: number) {
    this.ids = new Uint16Array(capacity);
    this.kinds = new Uint8Array(capacity);
    this.counts = new Uint16Array(capacity);
  }

  get capacity(): number {
    return this.ids.length;
  }

  has(packetId: number): boolean {
    return this.indexOf(packetId) >= 0;
  }

  /** Caller checks `count < capacity` first. */
  add(packetId: number, kind: number, entries: number): void {
    const i = this.count;
    this.ids[i] = packetId;
    this.kinds[i] = kind;
    this.counts[i] = entries;
    this.count = i + 1;
  }

  /**
   * Removes the request with this id and kind; returns its entry count, or
   * -1 when no such request is pending.
   */
  take(packetId: number, kind: number): number {
    const i = this.indexOf(packetId);
    if (i < 0 || this.kinds[i] !== kind) return -1;
    const entries = this.counts[i];
    const last = this.count - 1;
    this.ids[i] = this.ids[last];
    this.kinds[i] = this.kinds[last];
    this.counts[i] = this.counts[last];
    this.count = last;
    return entries;
  }

  clear(): void {
    this.count = 0;
  }

  private indexOf(packetId: number): number {
    const ids = this.ids;
    for (let i = 0; i < this.count; i++) if (ids[i] === packetId) return i;
    return -1;
  }
}
