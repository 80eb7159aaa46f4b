/**
 * MemoryStore: a `Store` in RAM. For tests (a "reboot" is a new client
 * restored from the same MemoryStore), and on a device for memory that
 * survives deep sleep but not a power cycle (e.g. ESP32 RTC memory exposed
 * as a buffer: pass it as `backing`).
 */
import type { Store } from "./store";

/** Options of `new MemoryStore(options)`. */
export interface MemoryStoreOptions {
  /** Largest blob accepted, bytes. Default: no limit (Infinity). */
  maxBytes?: number;
}

/**
 * A `Store` that keeps a private copy of the last saved bytes.
 * `saves` and `clears` count calls (tests assert how often a debounced
 * writer really wrote). Atomic by construction: the copy is swapped in one
 * assignment.
 */
export class MemoryStore implements Store {
  /** Number of successful `save` calls. */
  saves = 0;
  /** Number of `clear` calls. */
  clears = 0;
  private bytes: Uint8Array | undefined = undefined;
  private readonly maxBytes: number;

  constructor(options: MemoryStoreOptions = {}) {
    const max = options.maxBytes ?? Infinity;
    if (typeof max !== "number" || !(max >= 0)) throw new RangeError(`maxBytes must be a number >= 0, got ${String(max)}`);
    this.maxBytes = max;
  }

  /** A copy of the stored bytes, or undefined. */
  load(): Uint8Array | undefined {
    return this.bytes === undefined ? undefined : this.bytes.slice();
  }

  /** Keeps a copy of `bytes`. RangeError above `maxBytes`. */
  save(bytes: Uint8Array): void {
    if (!(bytes instanceof Uint8Array)) throw new TypeError("MemoryStore.save takes a Uint8Array");
    if (bytes.length > this.maxBytes) throw new RangeError(`blob of ${bytes.length} bytes exceeds maxBytes ${this.maxBytes}`);
    this.bytes = bytes.slice();
    this.saves += 1;
  }

  clear(): void {
    this.bytes = undefined;
    this.clears += 1;
  }

  /** The stored bytes without copying (tests: inspect or corrupt them). Undefined when empty. */
  peek(): Uint8Array | undefined {
    return this.bytes;
  }
}
