/**
 * MQTT 3.1.1 / 5.0 codec: the public surface. See README.md beside this file.
 *
 *   encodedLength(packet, version): number
 *       Bytes the packet takes on the wire. Throws TypeError/RangeError on
 *       invalid fields (bad UTF-8 [MQTT-1.5.4-1..3], out-of-range numbers).
 *   encodeInto(packet, version, target, offset = 0): number
 *       Writes the shortest valid encoding at target[offset..]; returns the
 *       number of bytes written. RangeError if target is too small.
 *   encode(packet, version): Uint8Array
 *       Allocating convenience over the two above.
 *   class Decoder (see decoder.ts)
 *       Incremental decoder: push(chunk), next(), reset().
 *
 * Plus the tables (PacketType, ReasonCode, PropertyId, ...) and the UTF-8
 * and Variable Byte Integer helpers. Everything here is stateless except
 * Decoder instances; all of it is safe to preload.
 */
export * from "./packets";
export { ReasonCode, ConnectReturnCode, isReasonCodeAllowed, reasonCodeName } from "./reason-codes";
export { encode, encodeInto, encodedLength } from "./encoder";
export { Decoder, DEFAULT_MAXIMUM_PACKET_SIZE } from "./decoder";
export type { DecoderOptions } from "./decoder";
export { UTF8_STRING_MAX, decodeUtf8, encodeUtf8Into, utf8Length } from "./utf8";
export { VBI_MAX, readVbi, vbiLength, writeVbi } from "./vbi";
export {
  PropertyId,
  PropertyType,
  PROPERTIES,
  WILL_PROPERTIES,
  isPropertyAllowed,
  propertyDescriptor,
} from "./properties";
export type { PropertyDescriptor } from "./properties";
