/**
 * FlashStore: a `Store` on a raw NOR-flash partition, wear-spread over the
 * whole partition and safe against power loss.
 *
 * Theory of operation
 * -------------------
 * The partition is cut into `slots` of `slotSize` bytes (a whole number of
 * erase blocks). Every `save` writes the blob into the slot after the one
 * that holds the current copy, so consecutive saves walk round the
 * partition and each erase block is erased once per `slots` saves. A slot:
 *
 *   offset  size
 *     0      4   magic "mxsf" (0x6d 0x78 0x73 0x66)
 *     4      4   sequence number, big-endian, 1.. (the newest copy has the largest)
 *     8      4   blob length n, big-endian
 *    12      4   CRC-32 (zlib) of bytes 4..11 followed by the blob
 *    16      n   the blob, padded with 0xFF to a multiple of 4 bytes
 *
 * `save` erases the target slot, writes the blob, then writes the 16-byte
 * header last. Until that header is complete the slot does not validate
 * (an erased header reads 0xFF, a torn one fails the CRC), so a power loss
 * at any point leaves the previous copy as the newest valid one: `load`
 * returns the old or the new blob, never a mix. Because the target is never
 * the slot holding the current copy, at least two slots are needed.
 *
 * `load` reads every slot's header (16 bytes each), then the blob of the
 * valid slot with the largest sequence number; a slot whose CRC fails is
 * skipped and the next newest is tried. The scan runs once (lazily, at the
 * first `load`/`save`/`clear`); afterwards the store remembers where the
 * newest copy is.
 *
 * Writes are whole multiples of 4 bytes at 4-byte aligned offsets (the
 * ESP8266 SDK's `spi_flash_write` requires it). Writes and reads go through
 * a freshly allocated `ArrayBuffer` (Moddable's legacy `flash` module takes
 * and returns ArrayBuffers); nothing is kept allocated between calls.
 *
 * Wear: with the default slot of one 4 KiB erase block, a 64 KiB partition
 * has 16 slots; at a flash endurance of 100 000 erase cycles (typical for
 * the SPI NOR parts on ESP32/ESP8266 modules) that is 1.6 million saves.
 * The persistence helper skips saves that would not change anything (see
 * its README), so a node whose messages are acknowledged promptly writes
 * nothing at all.
 *
 * Not re-entrant. One FlashStore per partition.
 */
import type { Store } from "./store";

/**
 * The flash partition a `FlashStore` writes to. Moddable's legacy `flash`
 * module (`import Flash from "flash"`, @moddable/typings `flash.d.ts`)
 * satisfies it as is: on ESP32 `new Flash("<data partition label>")`, on
 * ESP8266 `new Flash(offset, byteLength)`.
 */
export interface FlashPartition {
  /** Size of the partition in bytes. */
  readonly byteLength: number;
  /** Erase block ("sector") size in bytes, e.g. 4096. */
  readonly blockSize: number;
  /** Erases block number `sector` (0-based, relative to the partition) to 0xFF. */
  erase(sector: number): void;
  /** Reads `byteLength` bytes at `offset`; returns an ArrayBuffer (or a view of one). */
  read(offset: number, byteLength: number): unknown;
  /** Programs `byteLength` bytes of `buffer` at `offset` (bits only go from 1 to 0). */
  write(offset: number, byteLength: number, buffer: ArrayBuffer): void;
}

/** Options of `new FlashStore(partition, options)`. */
export interface FlashStoreOptions {
  /**
   * Bytes per slot, a multiple of the partition's `blockSize`. Default one
   * block. The largest blob is `slotSize - 16`. The partition must hold at
   * least two slots.
   */
  slotSize?: number;
}

const MAGIC = 0x6d787366; // "mxsf"
const HEADER = 16;
const NONE = -1;

/** The bytes of whatever a partition's `read` returned. */
function bytesOf(value: unknown, expected: number): Uint8Array {
  let bytes: Uint8Array;
  if (value instanceof ArrayBuffer) bytes = new Uint8Array(value);
  else if (ArrayBuffer.isView(value)) bytes = new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  else throw new TypeError("flash read did not return an ArrayBuffer");
  if (bytes.length < expected) throw new RangeError(`flash read returned ${bytes.length} bytes, asked for ${expected}`);
  return bytes;
}

/**
 * A `Store` on a flash partition (see the module header for the layout and
 * the power-loss argument). The constructor checks the geometry and does
 * no I/O.
 */
export class FlashStore implements Store {
  /** Bytes per slot. */
  readonly slotSize: number;
  /** Number of slots the partition is cut into (>= 2). */
  readonly slots: number;
  /** Largest blob `save` accepts, bytes (`slotSize - 16`). */
  readonly maxBytes: number;
  private readonly partition: FlashPartition;
  private readonly blocksPerSlot: number;
  private scanned = false;
  /** Slot holding the newest valid copy, or NONE. */
  private current = NONE;
  /** Sequence number of `current` (0 when none). */
  private currentSequence = 0;
  /** Largest sequence number seen or written: the next save uses one more. */
  private sequence = 0;

  /**
   * @throws TypeError when `partition` lacks the FlashPartition members;
   *   RangeError when the slot size is not a multiple of the block size or
   *   the partition holds fewer than two slots.
   */
  constructor(partition: FlashPartition, options: FlashStoreOptions = {}) {
    if (partition === null || typeof partition !== "object" || typeof partition.read !== "function" ||
        typeof partition.write !== "function" || typeof partition.erase !== "function") {
      throw new TypeError("FlashStore needs a flash partition { byteLength, blockSize, erase, read, write }");
    }
    const block = partition.blockSize;
    const length = partition.byteLength;
    if (!Number.isInteger(block) || block < 64 || block % 4 !== 0) throw new RangeError(`flash blockSize must be a multiple of 4 >= 64, got ${String(block)}`);
    if (!Number.isInteger(length) || length <= 0) throw new RangeError(`flash byteLength must be a positive integer, got ${String(length)}`);
    const slotSize = options.slotSize ?? block;
    if (!Number.isInteger(slotSize) || slotSize <= 0 || slotSize % block !== 0) {
      throw new RangeError(`slotSize must be a positive multiple of the block size ${block}, got ${String(slotSize)}`);
    }
    const slots = Math.floor(length / slotSize);
    if (slots < 2) {
      throw new RangeError(`the partition (${length} bytes) must hold at least two slots of ${slotSize} bytes, for atomic replacement`);
    }
    this.partition = partition;
    this.slotSize = slotSize;
    this.slots = slots;
    this.blocksPerSlot = slotSize / block;
    this.maxBytes = slotSize - HEADER;
  }

  /** The newest valid blob (a new array), or undefined. */
  load(): Uint8Array | undefined {
    this.scan();
    while (this.current !== NONE) {
      const blob = this.readSlot(this.current);
      if (blob !== undefined) return blob;
      // The header looked valid but the blob failed its CRC (a torn write
      // cannot do that, since the header goes last; a flash fault can):
      // fall back to the next older copy.
      this.find(this.currentSequence);
    }
    return undefined;
  }

  /** Writes `bytes` into the next slot (erase, blob, header last). RangeError above `maxBytes`. */
  save(bytes: Uint8Array): void {
    if (!(bytes instanceof Uint8Array)) throw new TypeError("FlashStore.save takes a Uint8Array");
    const n = bytes.length;
    if (n > this.maxBytes) throw new RangeError(`blob of ${n} bytes exceeds the slot capacity ${this.maxBytes} (raise slotSize)`);
    this.scan();
    const slot = this.current === NONE ? 0 : (this.current + 1) % this.slots;
    const sequence = this.sequence + 1;
    const base = slot * this.slotSize;
    const first = slot * this.blocksPerSlot;
    const padded = (n + 3) & ~3;
    const blocksNeeded = Math.ceil((HEADER + padded) / this.partition.blockSize);
    // Only the blocks the new copy occupies are erased; the slot's other
    // blocks may hold stale bytes of an older, longer copy, which nothing
    // reads (the header says how long the blob is).
    for (let b = 0; b < blocksNeeded; b++) this.partition.erase(first + b);
    const body = new Uint8Array(HEADER + padded);
    body.fill(0xff, HEADER + n);
    body.set(bytes, HEADER);
    const view = new DataView(body.buffer);
    view.setUint32(0, MAGIC);
    view.setUint32(4, sequence);
    view.setUint32(8, n);
    view.setUint32(12, slotCrc(body, n));
    if (padded > 0) this.partition.write(base + HEADER, padded, body.buffer.slice(HEADER, HEADER + padded));
    this.partition.write(base, HEADER, body.buffer.slice(0, HEADER));
    this.current = slot;
    this.currentSequence = sequence;
    this.sequence = sequence;
  }

  /** Erases the header block of every slot whose header is not already erased. */
  clear(): void {
    this.scan();
    for (let slot = 0; slot < this.slots; slot++) {
      const header = bytesOf(this.partition.read(slot * this.slotSize, HEADER), HEADER);
      let erased = true;
      for (let i = 0; i < HEADER; i++) if (header[i] !== 0xff) erased = false;
      if (!erased) this.partition.erase(slot * this.blocksPerSlot);
    }
    this.current = NONE;
    this.currentSequence = 0;
    // Keep counting up: a copy that escaped the erase (e.g. a later power
    // fault mid-clear) can never outrank what is written next.
  }

  /** Reads every header once, after construction. */
  private scan(): void {
    if (this.scanned) return;
    this.scanned = true;
    this.find(Infinity);
  }

  /**
   * Points `current` at the slot with a well-formed header and the largest
   * sequence number below `below` (NONE if none), and raises `sequence`
   * to the largest number seen so new copies outrank every header.
   */
  private find(below: number): void {
    let best = NONE;
    let bestSequence = 0;
    for (let slot = 0; slot < this.slots; slot++) {
      const header = bytesOf(this.partition.read(slot * this.slotSize, HEADER), HEADER);
      const view = new DataView(header.buffer, header.byteOffset, HEADER);
      if (view.getUint32(0) !== MAGIC) continue;
      const sequence = view.getUint32(4);
      if (sequence === 0 || sequence === 0xffffffff || view.getUint32(8) > this.maxBytes) continue;
      if (sequence > this.sequence) this.sequence = sequence;
      if (sequence < below && sequence > bestSequence) {
        best = slot;
        bestSequence = sequence;
      }
    }
    this.current = best;
    this.currentSequence = bestSequence;
  }

  /** The blob of `slot` if its header and CRC check out. */
  private readSlot(slot: number): Uint8Array | undefined {
    const base = slot * this.slotSize;
    const header = bytesOf(this.partition.read(base, HEADER), HEADER);
    const view = new DataView(header.buffer, header.byteOffset, HEADER);
    const n = view.getUint32(8);
    if (view.getUint32(0) !== MAGIC || n > this.maxBytes) return undefined;
    const padded = (n + 3) & ~3;
    const body = new Uint8Array(HEADER + padded);
    body.set(header.subarray(0, HEADER), 0);
    if (padded > 0) body.set(bytesOf(this.partition.read(base + HEADER, padded), padded).subarray(0, padded), HEADER);
    if (view.getUint32(12) !== slotCrc(body, n)) return undefined;
    return body.slice(HEADER, HEADER + n);
  }
}

/** CRC-32 over the sequence and length fields (bytes 4..11) and then the blob. */
function slotCrc(body: Uint8Array, n: number): number {
  return crc32Continue(crc32Continue(0, body, 4, 12), body, HEADER, HEADER + n);
}

/**
 * CRC-32 (zlib) continued over `bytes[start..end)` from a previous CRC value
 * (0 to start). Bitwise (8 steps per byte): saves are rare and small, and
 * no table is needed.
 */
function crc32Continue(previous: number, bytes: Uint8Array, start: number, end: number): number {
  let c = ~previous >>> 0;
  for (let i = start; i < end; i++) {
    c ^= bytes[i];
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return ~c >>> 0;
}
