/**
 * Variable Byte Integers (MQTT 5.0 §1.5.5; MQTT 3.1.1 §2.2.3 "Remaining Length").
 *
 * Seven bits of value per byte, least significant group first, bit 7 set on
 * every byte but the last. At most four bytes, so values 0..268,435,455.
 * Used for the Remaining Length, the property length, property identifiers
 * and the Subscription Identifier.
 *
 * The reader is strict: a fifth byte (a continuation bit on the fourth) and
 * a non-minimal encoding (e.g. `0x80 0x00` for 0, forbidden by
 * [MQTT-1.5.5-1]; never produced by a 3.1.1 encoder either) are both
 * MalformedPacket. Because every accepted encoding is minimal, the number of
 * bytes a value took is always `vbiLength(value)`.
 *
 * Pure functions, no state: safe to preload and re-entrant.
 */
import { ErrorCode, MqttError } from "../errors";

/** Largest value a Variable Byte Integer can hold: 268,435,455 (0x0FFFFFFF). */
export const VBI_MAX = 268435455;

/**
 * Bytes `value` takes as a Variable Byte Integer: 1..4.
 * RangeError unless `value` is an integer in 0..268,435,455.
 */
export function vbiLength(value: number): number {
  if (value >>> 0 !== value || value > VBI_MAX) {
    throw new RangeError(`variable byte integer out of range 0..${VBI_MAX}: ${value} (MQTT 5.0 §1.5.5)`);
  }
  if (value < 0x80) return 1;
  if (value < 0x4000) return 2;
  if (value < 0x200000) return 3;
  return 4;
}

/**
 * Writes `value` as a Variable Byte Integer at `target[offset..]` and returns
 * the offset just past it. RangeError if `value` is out of range or the bytes
 * do not fit in `target`.
 */
export function writeVbi(value: number, target: Uint8Array, offset: number): number {
  if (offset + vbiLength(value) > target.length) {
    throw new RangeError(`variable byte integer does not fit at offset ${offset} of ${target.length} bytes`);
  }
  while (value > 0x7f) {
    target[offset++] = (value & 0x7f) | 0x80;
    value >>>= 7;
  }
  target[offset++] = value;
  return offset;
}

/**
 * Reads a Variable Byte Integer from `bytes[offset..end)`.
 *
 * Returns the value, or -1 when the bytes end before the integer does (not an
 * error: more bytes are needed). The integer took `vbiLength(value)` bytes.
 * Throws MqttError MalformedPacket (source "remote") on a continuation bit in
 * the fourth byte or a non-minimal encoding [MQTT-1.5.5-1].
 */
export function readVbi(bytes: Uint8Array, offset: number, end: number): number {
  let value = 0;
  let shift = 0;
  for (let i = 0; i < 4; i++) {
    if (offset + i >= end) return -1;
    const byte = bytes[offset + i];
    value += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) {
      if (byte === 0 && i > 0) {
        throw new MqttError(ErrorCode.MalformedPacket, "variable byte integer not in its shortest form [MQTT-1.5.5-1]", "remote");
      }
      return value;
    }
    shift += 7;
  }
  throw new MqttError(ErrorCode.MalformedPacket, "variable byte integer longer than 4 bytes (MQTT 5.0 §1.5.5)", "remote");
}
