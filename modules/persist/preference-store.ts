/**
 * PreferenceStore: a `Store` in one Moddable preference value.
 *
 * Moddable's `preference` module (`import Preference from "preference"`)
 * keeps small values by domain and key. On ESP32 it is backed by the
 * ESP-IDF NVS library, which limits a value to 4000 bytes and key/domain
 * names to 15 characters (Moddable SDK documentation/files/files.md,
 * "Preference"); NVS writes a new value before retiring the old one and
 * spreads writes over its pages, so a `set` is atomic across a power loss
 * and wear-levelled. On ESP8266 values are limited to 63 bytes: use
 * `FlashStore` there.
 *
 * The blob is stored as an ArrayBuffer under (`domain`, `key`). No I/O in
 * the constructor.
 */
import type { Store } from "./store";

/**
 * The subset of Moddable's `Preference` object that the store uses;
 * `import Preference from "preference"` satisfies it as is.
 */
export interface PreferenceApi {
  get(domain: string, key: string): unknown;
  set(domain: string, key: string, value: ArrayBuffer): void;
  delete(domain: string, key: string): void;
}

/** Options of `new PreferenceStore(preference, options)`. */
export interface PreferenceStoreOptions {
  /** Preference domain, 1..15 characters. Default "mqttxs". */
  domain?: string;
  /** Preference key, 1..15 characters. Default "session". */
  key?: string;
  /** Largest blob accepted, bytes. Default 4000 (ESP32 NVS through Moddable). */
  maxBytes?: number;
}

/** ESP-IDF NVS key and namespace names are at most 15 characters (NVS_KEY_NAME_MAX_SIZE 16, with the NUL). */
const NAME_MAX = 15;

function name(value: unknown, what: string, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== "string" || value.length === 0 || value.length > NAME_MAX) {
    throw new RangeError(`preference ${what} must be a string of 1..${NAME_MAX} characters (NVS limit), got ${String(value)}`);
  }
  return value;
}

/** A `Store` in one preference value (see the module header). */
export class PreferenceStore implements Store {
  readonly domain: string;
  readonly key: string;
  readonly maxBytes: number;
  private readonly preference: PreferenceApi;

  constructor(preference: PreferenceApi, options: PreferenceStoreOptions = {}) {
    if (preference === null || (typeof preference !== "object" && typeof preference !== "function") ||
        typeof preference.get !== "function" || typeof preference.set !== "function" || typeof preference.delete !== "function") {
      throw new TypeError("PreferenceStore needs Moddable's Preference object { get, set, delete }");
    }
    this.preference = preference;
    this.domain = name(options.domain, "domain", "mqttxs");
    this.key = name(options.key, "key", "session");
    const max = options.maxBytes ?? 4000;
    if (!Number.isInteger(max) || max <= 0) throw new RangeError(`maxBytes must be a positive integer, got ${String(max)}`);
    this.maxBytes = max;
  }

  /** The stored blob (a new array), or undefined when absent or not binary. */
  load(): Uint8Array | undefined {
    const value = this.preference.get(this.domain, this.key);
    if (value instanceof ArrayBuffer) return new Uint8Array(value.slice(0));
    return undefined;
  }

  /** Stores a copy of `bytes` as an ArrayBuffer. RangeError above `maxBytes`. */
  save(bytes: Uint8Array): void {
    if (!(bytes instanceof Uint8Array)) throw new TypeError("PreferenceStore.save takes a Uint8Array");
    if (bytes.length > this.maxBytes) throw new RangeError(`blob of ${bytes.length} bytes exceeds the preference limit ${this.maxBytes}`);
    this.preference.set(this.domain, this.key, bytes.slice().buffer);
  }

  clear(): void {
    this.preference.delete(this.domain, this.key);
  }
}
