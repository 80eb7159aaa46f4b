/**
 * Store: where a device keeps one blob of bytes across a restart or a deep
 * sleep. The session persistence (`session-persistence.ts`) writes its one
 * versioned, CRC-checked blob through it; any other single-blob user can too.
 *
 * Implementations: `MemoryStore` (RAM: tests, or RTC memory that survives
 * deep sleep), `FlashStore` (a raw flash partition, Moddable `flash`),
 * `PreferenceStore` (Moddable `preference`, ESP32 NVS), and on Node
 * `FileStore` (`hosts/node/file-store.ts`, atomic temp file + rename).
 */

/**
 * One blob of bytes that survives a restart.
 *
 * Contract for implementations:
 * - `save` is atomic: if power fails during `save`, the next `load` returns
 *   either the previous blob or the new one, never a mix (flash: write the
 *   new copy elsewhere, then mark it valid; files: temp file + rename).
 * - `save` copies what it needs before returning: the caller may reuse
 *   `bytes` at once.
 * - `load` returns a new array the caller owns, or `undefined` when nothing
 *   valid is stored. It does not throw for missing or damaged contents
 *   (damage is "nothing stored"); it throws only when the medium itself
 *   fails.
 * - Not re-entrant; one store per blob.
 */
export interface Store {
  /** The last saved bytes (a new array), or `undefined` when nothing valid is stored. */
  load(): Uint8Array | undefined;
  /** Replaces the stored bytes, atomically. Throws on a medium failure or when `bytes` is larger than the store holds (RangeError). */
  save(bytes: Uint8Array): void;
  /** Forgets the stored bytes: `load()` then returns `undefined`. */
  clear(): void;
}
