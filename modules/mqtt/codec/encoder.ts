/**
 * Encoder: packet objects -> bytes, for MQTT 3.1.1 (version 4) and 5.0
 * (version 5).
 *
 * Theory of operation: encoding is two passes over the packet object.
 * `remainingLength` validates every field and computes the Remaining Length;
 * `write` then lays the bytes out without checking again. Strings are
 * written with their two-byte length filled in afterwards, so no string is
 * measured twice in the write pass; a v5 property list is written after a
 * one-byte length slot and moved (copyWithin) in the rare case its length
 * needs more than one byte.
 *
 * Always the shortest valid form:
 * - v5 PUBACK/PUBREC/PUBREL/PUBCOMP: no reason code and no property length
 *   when the reason is Success and there are no properties; no property
 *   length when the reason is not Success but there are no properties
 *   (MQTT 5.0 §3.4.2.1);
 * - v5 DISCONNECT and AUTH: Remaining Length 0 for reason 0 without
 *   properties, one byte for a reason without properties (§3.14.2.1,
 *   §3.15.2.1);
 * - v3.1.1 UNSUBACK: no payload.
 * The property length of CONNECT, CONNACK, PUBLISH, SUBSCRIBE, SUBACK,
 * UNSUBSCRIBE and UNSUBACK is mandatory in v5 and written as 0 when empty.
 *
 * Fields that exist only in v5 (properties, reason codes of acks,
 * DISCONNECT, UNSUBACK, subscription options other than QoS) are ignored
 * when encoding v3.1.1.
 *
 * Misuse throws TypeError (wrong type, forbidden combination) or RangeError
 * (number out of range, target too small) naming the rule. Nothing is
 * written when validation fails.
 *
 * Pure functions, no state: safe to preload, re-entrant.
 */
import type {
  AckPacket,
  ConnackPacket,
  ConnectPacket,
  DisconnectPacket,
  Packet,
  Properties,
  ProtocolVersion,
  PublishPacket,
  SubackPacket,
  SubscribePacket,
  UnsubackPacket,
  UnsubscribePacket,
} from "./packets";
import { PacketType } from "./packets";
import { WILL_PROPERTIES, propertiesLength, writeProperties } from "./properties";
import { isReasonCodeAllowed } from "./reason-codes";
import { UTF8_STRING_MAX, utf8Length, writeUtf8, writeUtf8Measured } from "./utf8";
import { vbiLength, writeVbi } from "./vbi";

const PACKET_NAMES: readonly string[] = Object.freeze([
  "reserved", "CONNECT", "CONNACK", "PUBLISH", "PUBACK", "PUBREC", "PUBREL", "PUBCOMP",
  "SUBSCRIBE", "SUBACK", "UNSUBSCRIBE", "UNSUBACK", "PINGREQ", "PINGRESP", "DISCONNECT", "AUTH",
]);

/** Called through `call`: a method call on a primitive string allocates a wrapper in XS. */
const indexOf = String.prototype.indexOf;

/** Largest Remaining Length (MQTT 5.0 §2.1.4): 268,435,455. */
const REMAINING_LENGTH_MAX = 268435455;

/** Bytes `packet` takes on the wire in `version`. Throws TypeError/RangeError on invalid fields. */
export function encodedLength(packet: Packet, version: ProtocolVersion): number {
  const rl = remainingLength(packet, version);
  return 1 + vbiSize(rl) + rl;
}

/**
 * Writes the shortest valid encoding of `packet` at `target[offset..]` and
 * returns the number of bytes written. Throws TypeError/RangeError on invalid
 * fields, and RangeError if the packet does not fit (nothing written then).
 * Binary fields are copied; the packet object is not kept.
 */
export function encodeInto(packet: Packet, version: ProtocolVersion, target: Uint8Array, offset = 0): number {
  const rl = remainingLength(packet, version);
  const total = 1 + vbiSize(rl) + rl;
  if (!(target instanceof Uint8Array)) throw new TypeError("target must be a Uint8Array");
  if (offset >>> 0 !== offset || offset + total > target.length) {
    throw new RangeError(`packet of ${total} bytes does not fit at offset ${offset} of a ${target.length}-byte target`);
  }
  write(packet, version, target, offset, rl);
  return total;
}

/** Allocating convenience: a new Uint8Array holding the encoded packet. Same errors as `encodeInto`. */
export function encode(packet: Packet, version: ProtocolVersion): Uint8Array {
  const rl = remainingLength(packet, version);
  const out = new Uint8Array(1 + vbiSize(rl) + rl);
  write(packet, version, out, 0, rl);
  return out;
}

/** `vbiLength` without its range check, for a Remaining Length already checked. */
function vbiSize(n: number): number {
  return n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : 4;
}

/** `writeVbi` without its checks, for a Remaining Length whose room was counted. */
function putVbi(n: number, target: Uint8Array, o: number): number {
  while (n > 0x7f) {
    target[o++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  target[o] = n;
  return o + 1;
}

// ------------------------------------------------------------- validation

function checkPacketId(id: unknown, what: string): void {
  if (typeof id !== "number" || id >>> 0 !== id || id === 0 || id > 0xffff) {
    throw new RangeError(`${what} needs a packetId in 1..65535, got ${String(id)} [MQTT-2.3.1-1]`);
  }
}

function checkQos(qos: unknown, what: string, rule: string): void {
  if (qos !== 0 && qos !== 1 && qos !== 2) throw new RangeError(`${what} QoS must be 0, 1 or 2, got ${String(qos)} ${rule}`);
}

function stringLength(s: unknown, what: string): number {
  if (typeof s !== "string") throw new TypeError(`${what} must be a string`);
  const n = utf8Length(s);
  if (n > UTF8_STRING_MAX) throw new RangeError(`${what} is ${n} bytes, more than 65,535 (MQTT 5.0 §1.5.4)`);
  return n;
}

function binaryLength(b: unknown, what: string): number {
  if (!(b instanceof Uint8Array)) throw new TypeError(`${what} must be a Uint8Array`);
  if (b.length > 0xffff) throw new RangeError(`${what} is ${b.length} bytes, more than 65,535 (MQTT 5.0 §1.5.6)`);
  return b.length;
}

/** Bytes of a Topic Name; `allowEmpty` for a v5 PUBLISH that carries a Topic Alias. */
function topicNameLength(topic: unknown, what: string, allowEmpty: boolean): number {
  const n = stringLength(topic, what);
  if (n === 0 && !allowEmpty) throw new TypeError(`${what} must not be empty [MQTT-4.7.3-1]`);
  if (indexOf.call(topic, "+") >= 0 || indexOf.call(topic, "#") >= 0) {
    throw new TypeError(`${what} must not contain wildcards + or # [MQTT-3.3.2-2]`);
  }
  return n;
}

function topicFilterLength(filter: unknown, what: string): number {
  const n = stringLength(filter, what);
  if (n === 0) throw new TypeError(`${what} must not be empty [MQTT-4.7.3-1]`);
  return n;
}

/** Bytes of a v5 property section: length prefix plus the properties. */
function propertySectionLength(props: Properties | undefined, packetType: number): number {
  const n = propertiesLength(props, packetType);
  return vbiLength(n) + n;
}

function checkReasonCode(type: number, code: unknown): void {
  if (typeof code !== "number" || !isReasonCodeAllowed(type, code)) {
    const shown = typeof code === "number" ? `0x${code.toString(16)}` : String(code);
    throw new RangeError(`reason code ${shown} is not valid in ${PACKET_NAMES[type]} (MQTT 5.0 §2.4)`);
  }
}

function remainingLength(packet: Packet, version: ProtocolVersion): number {
  if (version !== 4 && version !== 5) throw new RangeError(`protocol version must be 4 (3.1.1) or 5, got ${String(version)}`);
  if (packet === null || typeof packet !== "object") throw new TypeError("packet must be an object");
  const v5 = version === 5;
  let n: number;
  // Literal cases (values of PacketType): no table lookups on the hot path.
  switch (packet.type) {
    case 3: // PUBLISH
      n = publishLength(packet, v5);
      break;
    case 4: // PUBACK
    case 5: // PUBREC
    case 6: // PUBREL
    case 7: // PUBCOMP
      n = ackLength(packet, v5);
      break;
    case 1: // CONNECT
      n = connectLength(packet, version);
      break;
    case 2: // CONNACK
      n = connackLength(packet, v5);
      break;
    case 8: // SUBSCRIBE
      n = subscribeLength(packet, v5);
      break;
    case 9: // SUBACK
      n = subackLength(packet, v5);
      break;
    case 10: // UNSUBSCRIBE
      n = unsubscribeLength(packet, v5);
      break;
    case 11: // UNSUBACK
      n = unsubackLength(packet, v5);
      break;
    case 12: // PINGREQ
    case 13: // PINGRESP
      n = 0;
      break;
    case 14: // DISCONNECT
      n = v5 ? reasonAndPropertiesLength(packet, PacketType.DISCONNECT) : 0;
      break;
    case 15: // AUTH
      if (!v5) throw new TypeError("AUTH exists only in MQTT 5.0 (MQTT 5.0 §3.15)");
      n = reasonAndPropertiesLength(packet, PacketType.AUTH);
      break;
    default:
      throw new TypeError(`unknown packet type ${String((packet as { type: unknown }).type)}`);
  }
  if (n > REMAINING_LENGTH_MAX) throw new RangeError(`remaining length ${n} exceeds 268,435,455 (MQTT 5.0 §2.1.4)`);
  return n;
}

/** The hot path: checks written out inline. */
function publishLength(p: PublishPacket, v5: boolean): number {
  const qos = p.qos;
  let n = 2;
  if (qos === 0) {
    if (p.dup) throw new TypeError("PUBLISH with QoS 0 must not set DUP [MQTT-3.3.1-2]");
  } else {
    if (qos !== 1 && qos !== 2) throw new RangeError(`PUBLISH QoS must be 0, 1 or 2, got ${String(qos)} [MQTT-3.3.1-4]`);
    const id = p.packetId;
    if (typeof id !== "number" || id >>> 0 !== id || id === 0 || id > 0xffff) checkPacketId(id, "PUBLISH with QoS > 0");
    n = 4;
  }
  const topic = p.topic;
  if (typeof topic !== "string") throw new TypeError("PUBLISH topic must be a string");
  const t = utf8Length(topic);
  if (t > UTF8_STRING_MAX) throw new RangeError(`PUBLISH topic is ${t} bytes, more than 65,535 (MQTT 5.0 §1.5.4)`);
  if (indexOf.call(topic, "+") >= 0 || indexOf.call(topic, "#") >= 0) throw new TypeError("PUBLISH topic must not contain wildcards + or # [MQTT-3.3.2-2]");
  if (t === 0 && !(v5 && p.properties && p.properties.topicAlias !== undefined)) {
    throw new TypeError(
      v5 ? "PUBLISH topic may be empty only with a topicAlias (MQTT 5.0 §3.3.2.1)" : "PUBLISH topic must not be empty [MQTT-4.7.3-1]",
    );
  }
  const payload = p.payload;
  if (!(payload instanceof Uint8Array)) throw new TypeError("PUBLISH payload must be a Uint8Array");
  n += t + payload.length;
  if (v5) n += p.properties === undefined ? 1 : propertySectionLength(p.properties, PacketType.PUBLISH);
  return n;
}

function ackLength(p: AckPacket, v5: boolean): number {
  checkPacketId(p.packetId, PACKET_NAMES[p.type]);
  if (!v5) return 2;
  const code = p.reasonCode ?? 0;
  checkReasonCode(p.type, code);
  const props = propertiesLength(p.properties, p.type);
  if (props === 0) return code === 0 ? 2 : 3;
  return 3 + vbiLength(props) + props;
}

/** DISCONNECT and AUTH in v5: nothing, a reason code, or a reason code and properties. */
function reasonAndPropertiesLength(p: { type: number; reasonCode: number; properties?: Properties }, type: number): number {
  const code = p.reasonCode ?? 0;
  checkReasonCode(type, code);
  const props = propertiesLength(p.properties, type);
  if (props === 0) return code === 0 ? 0 : 1;
  return 1 + vbiLength(props) + props;
}

function connectLength(p: ConnectPacket, version: ProtocolVersion): number {
  if (p.protocolVersion !== version) {
    throw new TypeError(`CONNECT protocolVersion ${String(p.protocolVersion)} does not match the encoding version ${version}`);
  }
  const k = p.keepalive;
  if (typeof k !== "number" || k >>> 0 !== k || k > 0xffff) throw new RangeError(`CONNECT keepalive must be 0..65535 seconds, got ${String(k)}`);
  // protocol name (6), level, flags, keep alive
  let n = 10 + 2 + stringLength(p.clientId, "CONNECT clientId");
  if (version === 4 && p.clientId === "" && !p.clean) {
    throw new TypeError("an empty clientId needs clean = true in MQTT 3.1.1 [MQTT-3.1.3-7]");
  }
  if (version === 5) n += propertySectionLength(p.properties, PacketType.CONNECT);
  const will = p.will;
  if (will !== undefined && will !== null) {
    checkQos(will.qos, "Will", "[MQTT-3.1.2-14]");
    if (version === 5) n += propertySectionLength(will.properties, WILL_PROPERTIES);
    n += 2 + topicNameLength(will.topic, "Will topic", false) + 2 + binaryLength(will.payload, "Will payload");
  }
  if (p.username !== undefined) n += 2 + stringLength(p.username, "CONNECT username");
  if (p.password !== undefined) {
    if (version === 4 && p.username === undefined) {
      throw new TypeError("a password needs a username in MQTT 3.1.1 [MQTT-3.1.2-22]");
    }
    n += 2 + binaryLength(p.password, "CONNECT password");
  }
  return n;
}

function connackLength(p: ConnackPacket, v5: boolean): number {
  const code = p.reasonCode;
  if (v5) checkReasonCode(PacketType.CONNACK, code);
  else if (typeof code !== "number" || code >>> 0 !== code || code > 5) {
    throw new RangeError(`MQTT 3.1.1 CONNACK return code must be 0..5, got ${String(code)} (MQTT 3.1.1 §3.2.2.3)`);
  }
  if (p.sessionPresent && code !== 0) {
    throw new TypeError("CONNACK with a non-zero reason code must not set sessionPresent [MQTT-3.2.2-4]");
  }
  return v5 ? 2 + propertySectionLength(p.properties, PacketType.CONNACK) : 2;
}

function subscribeLength(p: SubscribePacket, v5: boolean): number {
  checkPacketId(p.packetId, "SUBSCRIBE");
  const subs = p.subscriptions;
  if (!Array.isArray(subs) || subs.length === 0) throw new TypeError("SUBSCRIBE needs at least one subscription [MQTT-3.8.3-3]");
  let n = 2;
  if (v5) n += propertySectionLength(p.properties, PacketType.SUBSCRIBE);
  for (let i = 0; i < subs.length; i++) {
    const s = subs[i];
    checkQos(s.qos, "subscription", "(MQTT 5.0 §3.8.3.1)");
    if (v5) {
      const rh = s.retainHandling ?? 0;
      if (rh !== 0 && rh !== 1 && rh !== 2) throw new RangeError(`retainHandling must be 0, 1 or 2, got ${String(rh)} (MQTT 5.0 §3.8.3.1)`);
      if (s.noLocal && typeof s.topic === "string" && s.topic.startsWith("$share/")) {
        throw new TypeError("noLocal must not be set on a shared subscription [MQTT-3.8.3-4]");
      }
    }
    n += 3 + topicFilterLength(s.topic, "SUBSCRIBE topic filter");
  }
  return n;
}

function reasonCodeListLength(codes: unknown, type: number, v5: boolean): number {
  if (!Array.isArray(codes) || codes.length === 0) {
    throw new TypeError(`${PACKET_NAMES[type]} needs at least one reason code (MQTT 5.0 §3.${type === PacketType.SUBACK ? 9 : 11}.3)`);
  }
  for (let i = 0; i < codes.length; i++) {
    const c = codes[i];
    if (typeof c !== "number") throw new TypeError(`${PACKET_NAMES[type]} reason codes must be numbers`);
    if (v5) checkReasonCode(type, c);
    else if (c !== 0 && c !== 1 && c !== 2 && c !== 0x80) {
      throw new RangeError(`MQTT 3.1.1 SUBACK return code must be 0, 1, 2 or 0x80, got ${c} (MQTT 3.1.1 §3.9.3)`);
    }
  }
  return codes.length;
}

function subackLength(p: SubackPacket, v5: boolean): number {
  checkPacketId(p.packetId, "SUBACK");
  let n = 2 + reasonCodeListLength(p.reasonCodes, PacketType.SUBACK, v5);
  if (v5) n += propertySectionLength(p.properties, PacketType.SUBACK);
  return n;
}

function unsubscribeLength(p: UnsubscribePacket, v5: boolean): number {
  checkPacketId(p.packetId, "UNSUBSCRIBE");
  const topics = p.topics;
  if (!Array.isArray(topics) || topics.length === 0) throw new TypeError("UNSUBSCRIBE needs at least one topic filter [MQTT-3.10.3-2]");
  let n = 2;
  if (v5) n += propertySectionLength(p.properties, PacketType.UNSUBSCRIBE);
  for (let i = 0; i < topics.length; i++) n += 2 + topicFilterLength(topics[i], "UNSUBSCRIBE topic filter");
  return n;
}

function unsubackLength(p: UnsubackPacket, v5: boolean): number {
  checkPacketId(p.packetId, "UNSUBACK");
  if (!v5) return 2;
  return 2 + propertySectionLength(p.properties, PacketType.UNSUBACK) + reasonCodeListLength(p.reasonCodes, PacketType.UNSUBACK, true);
}

// ------------------------------------------------------------------ write

/** Writes a two-byte length and the UTF-8 bytes of `s`; returns the offset past them. */
function writeString(s: string, target: Uint8Array, o: number): number {
  const n = writeUtf8(s, target, o + 2);
  target[o] = n >> 8;
  target[o + 1] = n & 0xff;
  return o + 2 + n;
}

function writeBinary(b: Uint8Array, target: Uint8Array, o: number): number {
  const n = b.length;
  target[o] = n >> 8;
  target[o + 1] = n & 0xff;
  target.set(b, o + 2);
  return o + 2 + n;
}

function writeU16(n: number, target: Uint8Array, o: number): number {
  target[o] = n >> 8;
  target[o + 1] = n & 0xff;
  return o + 2;
}

/**
 * Writes a v5 property section (length, then properties) at target[o..].
 * The properties are written after a one-byte length slot and moved right
 * when their length needs a longer Variable Byte Integer; the room for that
 * was counted by `remainingLength`.
 */
function writePropertySection(props: Properties | undefined, target: Uint8Array, o: number): number {
  const start = o + 1;
  const end = writeProperties(props, target, start);
  const n = end - start;
  const k = vbiLength(n);
  if (k > 1) target.copyWithin(o + k, start, end);
  writeVbi(n, target, o);
  return o + k + n;
}

function write(packet: Packet, version: ProtocolVersion, target: Uint8Array, o: number, rl: number): void {
  const v5 = version === 5;
  switch (packet.type) {
    case 3: {
      // PUBLISH, the hot path
      const qos = packet.qos;
      const topic = packet.topic;
      const payload = packet.payload;
      const props = packet.properties;
      target[o] = 0x30 | (packet.dup ? 0x08 : 0) | (qos << 1) | (packet.retain ? 0x01 : 0);
      if (rl < 0x80) {
        target[o + 1] = rl;
        o += 2;
      } else {
        o = putVbi(rl, target, o + 1);
      }
      // Without properties the topic's byte length follows from rl: no second measurement.
      const t =
        !v5 || props === undefined ? rl - (qos === 0 ? 2 : 4) - (v5 ? 1 : 0) - payload.length : utf8Length(topic);
      target[o] = t >> 8;
      target[o + 1] = t & 0xff;
      o = writeUtf8Measured(topic, t, target, o + 2);
      if (qos !== 0) {
        const id = packet.packetId as number;
        target[o] = id >> 8;
        target[o + 1] = id & 0xff;
        o += 2;
      }
      if (v5) {
        if (props === undefined) target[o++] = 0;
        else o = writePropertySection(props, target, o);
      }
      target.set(payload, o);
      return;
    }
    case 4: // PUBACK
    case 5: // PUBREC
    case 6: // PUBREL
    case 7: {
      // PUBCOMP
      const type = packet.type;
      const id = packet.packetId;
      target[o] = (type << 4) | (type === 6 ? 0x02 : 0);
      if (rl < 0x80) {
        target[o + 1] = rl;
        o += 2;
      } else {
        o = putVbi(rl, target, o + 1);
      }
      target[o] = id >> 8;
      target[o + 1] = id & 0xff;
      o += 2;
      if (rl > 2) target[o++] = packet.reasonCode ?? 0;
      if (rl > 3) writePropertySection(packet.properties, target, o);
      return;
    }
    case 1: // CONNECT
      writeConnect(packet, version, target, o, rl);
      return;
    case 2: // CONNACK
      target[o] = 0x20;
      o = putVbi(rl, target, o + 1);
      target[o] = packet.sessionPresent ? 1 : 0;
      target[o + 1] = packet.reasonCode;
      if (v5) writePropertySection(packet.properties, target, o + 2);
      return;
    case 8: {
      // SUBSCRIBE
      target[o] = 0x82;
      o = putVbi(rl, target, o + 1);
      o = writeU16(packet.packetId, target, o);
      if (v5) o = writePropertySection(packet.properties, target, o);
      const subs = packet.subscriptions;
      for (let i = 0; i < subs.length; i++) {
        const s = subs[i];
        o = writeString(s.topic, target, o);
        target[o++] = v5
          ? s.qos | (s.noLocal ? 0x04 : 0) | (s.retainAsPublished ? 0x08 : 0) | ((s.retainHandling ?? 0) << 4)
          : s.qos;
      }
      return;
    }
    case 9: // SUBACK
    case 11: {
      // UNSUBACK
      target[o] = packet.type << 4;
      o = putVbi(rl, target, o + 1);
      o = writeU16(packet.packetId, target, o);
      if (packet.type === PacketType.UNSUBACK && !v5) return;
      if (v5) o = writePropertySection(packet.properties, target, o);
      const codes = packet.reasonCodes;
      for (let i = 0; i < codes.length; i++) target[o++] = codes[i];
      return;
    }
    case 10: {
      // UNSUBSCRIBE
      target[o] = 0xa2;
      o = putVbi(rl, target, o + 1);
      o = writeU16(packet.packetId, target, o);
      if (v5) o = writePropertySection(packet.properties, target, o);
      const topics = packet.topics;
      for (let i = 0; i < topics.length; i++) o = writeString(topics[i], target, o);
      return;
    }
    case 12: // PINGREQ
    case 13: // PINGRESP
      target[o] = packet.type << 4;
      target[o + 1] = 0;
      return;
    default: {
      // DISCONNECT, AUTH
      const p = packet as DisconnectPacket;
      target[o] = p.type << 4;
      o = putVbi(rl, target, o + 1);
      if (rl > 0) target[o++] = p.reasonCode ?? 0;
      if (rl > 1) writePropertySection(p.properties, target, o);
    }
  }
}

function writeConnect(p: ConnectPacket, version: ProtocolVersion, target: Uint8Array, o: number, rl: number): void {
  target[o] = 0x10;
  o = putVbi(rl, target, o + 1);
  // Protocol Name "MQTT" (§3.1.2.1) and Protocol Level
  target[o] = 0;
  target[o + 1] = 4;
  target[o + 2] = 0x4d;
  target[o + 3] = 0x51;
  target[o + 4] = 0x54;
  target[o + 5] = 0x54;
  target[o + 6] = version;
  const will = p.will !== undefined && p.will !== null ? p.will : undefined;
  let flags = p.clean ? 0x02 : 0;
  if (will) flags |= 0x04 | (will.qos << 3) | (will.retain ? 0x20 : 0);
  if (p.password !== undefined) flags |= 0x40;
  if (p.username !== undefined) flags |= 0x80;
  target[o + 7] = flags;
  o = writeU16(p.keepalive, target, o + 8);
  if (version === 5) o = writePropertySection(p.properties, target, o);
  o = writeString(p.clientId, target, o);
  if (will) {
    if (version === 5) o = writePropertySection(will.properties, target, o);
    o = writeString(will.topic, target, o);
    o = writeBinary(will.payload, target, o);
  }
  if (p.username !== undefined) o = writeString(p.username, target, o);
  if (p.password !== undefined) writeBinary(p.password, target, o);
}
