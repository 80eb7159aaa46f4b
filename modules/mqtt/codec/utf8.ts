/**
 * Strict UTF-8 for MQTT strings (MQTT 5.0 §1.5.4, MQTT 3.1.1 §1.5.3).
 *
 * Our own code, not TextEncoder/TextDecoder: Moddable builds do not have them
 * as globals, and MQTT needs stricter rules than they apply anyway.
 *
 * Encoding (JS string -> bytes): a lone surrogate [MQTT-1.5.4-1] or U+0000
 * [MQTT-1.5.4-2] throws TypeError. Decoding (bytes -> JS string): ill-formed
 * UTF-8 (overlong forms, truncated sequences, code points above U+10FFFF,
 * encoded surrogates, stray continuation bytes) and U+0000 throw MqttError
 * MalformedPacket (0x81, source "remote"). A BOM (U+FEFF) is kept, never
 * stripped [MQTT-1.5.4-3]. The 65,535-byte limit of an MQTT string is checked
 * by the encoder and decoder that frame the string, not here.
 *
 * Cost model (XS): strings in topics and client ids are short ASCII. A
 * regular expression decides "plain ASCII without U+0000" natively, so the
 * length of such a string is `s.length` without a loop, and decoding turns
 * the bytes into a string with one `String.fromCharCode.apply` over a view.
 * Encoding still needs one `charCodeAt` per character (XS has no built-in
 * string-to-bytes conversion on every host); `charCodeAt` is called through
 * `Function.prototype.call` because calling it as a method on a primitive
 * string allocates a wrapper object per call in XS. XS's `charCodeAt(i)` walks
 * the string from its start, so long strings are processed in slices of
 * `SLICE` code units to stay linear.
 *
 * Stack: `fromCharCode.apply` pushes one argument per byte, so it is used on
 * at most `APPLY_CHUNK` (64) bytes at a time; Moddable's default stack is 256
 * slots.
 *
 * Pure functions, no state: safe to preload and re-entrant.
 */
import { ErrorCode, MqttError } from "../errors";

/** Most bytes an MQTT UTF-8 string may take (MQTT 5.0 §1.5.4). */
export const UTF8_STRING_MAX = 65535;

const charCodeAt = String.prototype.charCodeAt;
const fromCharCode = String.fromCharCode;
/** Any UTF-16 code unit outside U+0001..U+007F. No g/y flag: `test` never writes lastIndex (preload-safe). */
const NOT_PLAIN_ASCII = /[^\x01-\x7f]/;
/** Most arguments passed through `fromCharCode.apply` at once. */
const APPLY_CHUNK = 64;
/** Code units per slice when walking a long string. */
const SLICE = 256;

function malformed(message: string): MqttError {
  return new MqttError(ErrorCode.MalformedPacket, message, "remote");
}

/**
 * Bytes `s` takes in UTF-8. TypeError if `s` holds a lone surrogate
 * [MQTT-1.5.4-1] or U+0000 [MQTT-1.5.4-2]. No upper limit is applied here.
 */
export function utf8Length(s: string): number {
  if (!NOT_PLAIN_ASCII.test(s)) return s.length;
  return transcode(s, null, 0);
}

/**
 * Writes `s` as UTF-8 at `target[offset..]` and returns the number of bytes
 * written. TypeError on a lone surrogate [MQTT-1.5.4-1] or U+0000
 * [MQTT-1.5.4-2]; RangeError if the bytes do not fit (nothing is written then).
 * Writes no length prefix.
 */
export function encodeUtf8Into(s: string, target: Uint8Array, offset: number): number {
  const n = s.length;
  if (offset >>> 0 !== offset) throw new RangeError(`offset must be a non-negative integer: ${offset}`);
  if (!NOT_PLAIN_ASCII.test(s)) {
    if (offset + n > target.length) throw new RangeError(`string of ${n} bytes does not fit at offset ${offset} of ${target.length}`);
    writeAscii(s, n, target, offset);
    return n;
  }
  const bytes = transcode(s, null, 0);
  if (offset + bytes > target.length) throw new RangeError(`string of ${bytes} bytes does not fit at offset ${offset} of ${target.length}`);
  return transcode(s, target, offset);
}

/**
 * Decodes the UTF-8 bytes `bytes[start..end)` into a string. Throws MqttError
 * MalformedPacket (0x81, source "remote") on ill-formed UTF-8 or U+0000
 * [MQTT-1.5.4-1, MQTT-1.5.4-2]. The result never shares memory with `bytes`.
 */
export function decodeUtf8(bytes: Uint8Array, start: number, end: number): string {
  const n = end - start;
  if (n <= 0) return "";
  if (n <= APPLY_CHUNK) {
    const s: string = fromCharCode.apply(null, bytes.subarray(start, end) as unknown as number[]);
    if (!NOT_PLAIN_ASCII.test(s)) return s;
    return decodeGeneral(bytes, start, end);
  }
  const parts: string[] = [];
  for (let p = start; p < end; p += APPLY_CHUNK) {
    const q = p + APPLY_CHUNK < end ? p + APPLY_CHUNK : end;
    const s: string = fromCharCode.apply(null, bytes.subarray(p, q) as unknown as number[]);
    if (NOT_PLAIN_ASCII.test(s)) return decodeGeneral(bytes, start, end);
    parts.push(s);
  }
  return parts.join("");
}

/**
 * For the encoder: writes `s` at `target[offset..]` where the caller already
 * made room (checked by an earlier `utf8Length`), and returns the number of
 * bytes written. Validates like `encodeUtf8Into` but measures nothing.
 * Not re-exported by the codec's index.
 */
export function writeUtf8(s: string, target: Uint8Array, offset: number): number {
  if (!NOT_PLAIN_ASCII.test(s)) {
    const n = s.length;
    writeAscii(s, n, target, offset);
    return n;
  }
  return transcode(s, target, offset);
}

/**
 * For the encoder: writes `s` at `target[offset..]` when the caller already
 * measured it with `utf8Length` (`byteLength`) and made room. A byte length
 * equal to `s.length` means plain ASCII, so no check is repeated. Returns
 * the offset past the bytes. Not re-exported by the codec's index.
 */
export function writeUtf8Measured(s: string, byteLength: number, target: Uint8Array, offset: number): number {
  if (byteLength === s.length) writeAscii(s, byteLength, target, offset);
  else transcode(s, target, offset);
  return offset + byteLength;
}

/** Writes the plain-ASCII string `s` (length `n`, already checked) at target[offset..]. */
function writeAscii(s: string, n: number, target: Uint8Array, offset: number): void {
  if (n <= SLICE) {
    let i = n;
    let o = offset + n;
    while (i) target[--o] = charCodeAt.call(s, --i);
    return;
  }
  for (let k = 0; k < n; k += SLICE) {
    const part = s.slice(k, k + SLICE);
    let i = part.length;
    let o = offset + k + i;
    while (i) target[--o] = charCodeAt.call(part, --i);
  }
}

/**
 * The general UTF-16 -> UTF-8 walk. Counts the bytes of `s`, and writes them
 * at target[offset..] when `target` is not null (the caller checked the fit).
 * Returns the byte count. Throws TypeError on a lone surrogate or U+0000.
 */
function transcode(s: string, target: Uint8Array | null, offset: number): number {
  const n = s.length;
  let o = offset;
  let k = 0;
  while (k < n) {
    // One extra unit in each slice so that a pair starting at its last
    // processed index is still whole.
    const part = n <= SLICE ? s : s.slice(k, k + SLICE + 1);
    const available = part.length;
    const stop = n <= SLICE ? n : available < SLICE ? available : SLICE;
    let i = 0;
    while (i < stop) {
      const c: number = charCodeAt.call(part, i++);
      if (c < 0x80) {
        if (c === 0) throw new TypeError("string contains U+0000 [MQTT-1.5.4-2]");
        if (target) target[o] = c;
        o += 1;
      } else if (c < 0x800) {
        if (target) {
          target[o] = 0xc0 | (c >> 6);
          target[o + 1] = 0x80 | (c & 0x3f);
        }
        o += 2;
      } else if (c < 0xd800 || c > 0xdfff) {
        if (target) {
          target[o] = 0xe0 | (c >> 12);
          target[o + 1] = 0x80 | ((c >> 6) & 0x3f);
          target[o + 2] = 0x80 | (c & 0x3f);
        }
        o += 3;
      } else {
        const d: number = c < 0xdc00 && i < available ? charCodeAt.call(part, i) : 0;
        if (d < 0xdc00 || d > 0xdfff) {
          throw new TypeError(`string contains a lone surrogate U+${c.toString(16).toUpperCase()} at index ${k + i - 1} [MQTT-1.5.4-1]`);
        }
        i++;
        const cp = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        if (target) {
          target[o] = 0xf0 | (cp >> 18);
          target[o + 1] = 0x80 | ((cp >> 12) & 0x3f);
          target[o + 2] = 0x80 | ((cp >> 6) & 0x3f);
          target[o + 3] = 0x80 | (cp & 0x3f);
        }
        o += 4;
      }
    }
    k += i;
  }
  return o - offset;
}

/**
 * Validating UTF-8 -> UTF-16 decode (Unicode Table 3-7, well-formed byte
 * sequences). Allocates one scratch Uint16Array of (end - start) units; only
 * strings that are not plain ASCII get here.
 */
function decodeGeneral(bytes: Uint8Array, start: number, end: number): string {
  const units = new Uint16Array(end - start);
  let u = 0;
  let p = start;
  while (p < end) {
    const b = bytes[p];
    if (b < 0x80) {
      if (b === 0) throw malformed(`UTF-8 string contains U+0000 at byte ${p - start} [MQTT-1.5.4-2]`);
      units[u++] = b;
      p += 1;
      continue;
    }
    let cp: number;
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) {
      cp = b & 0x1f;
      need = 1;
    } else if (b >= 0xe0 && b <= 0xef) {
      cp = b & 0x0f;
      need = 2;
      if (b === 0xe0) lo = 0xa0; // overlong
      else if (b === 0xed) hi = 0x9f; // UTF-16 surrogates
    } else if (b >= 0xf0 && b <= 0xf4) {
      cp = b & 0x07;
      need = 3;
      if (b === 0xf0) lo = 0x90; // overlong
      else if (b === 0xf4) hi = 0x8f; // above U+10FFFF
    } else {
      throw malformed(`ill-formed UTF-8: byte 0x${b.toString(16)} at ${p - start} cannot start a character [MQTT-1.5.4-1]`);
    }
    for (let j = 1; j <= need; j++) {
      const c = p + j < end ? bytes[p + j] : -1;
      if (c < lo || c > hi) {
        throw malformed(
          c < 0
            ? `ill-formed UTF-8: truncated character at byte ${p - start} [MQTT-1.5.4-1]`
            : `ill-formed UTF-8: byte 0x${c.toString(16)} at ${p + j - start} [MQTT-1.5.4-1]`,
        );
      }
      cp = (cp << 6) | (c & 0x3f);
      lo = 0x80;
      hi = 0xbf;
    }
    p += need + 1;
    if (cp < 0x10000) {
      units[u++] = cp;
    } else {
      cp -= 0x10000;
      units[u++] = 0xd800 | (cp >> 10);
      units[u++] = 0xdc00 | (cp & 0x3ff);
    }
  }
  if (u <= APPLY_CHUNK) return fromCharCode.apply(null, units.subarray(0, u) as unknown as number[]);
  const parts: string[] = [];
  let q = 0;
  while (q < u) {
    let r = q + APPLY_CHUNK < u ? q + APPLY_CHUNK : u;
    // keep a surrogate pair in one part
    if (r < u && units[r - 1] >= 0xd800 && units[r - 1] <= 0xdbff) r--;
    parts.push(fromCharCode.apply(null, units.subarray(q, r) as unknown as number[]));
    q = r;
  }
  return parts.join("");
}
