/**
 * MQTT 5.0 properties (§2.2.2): identifiers, wire types, the packets each
 * property may appear in, and their encoding and decoding.
 *
 * A property list is a Variable Byte Integer length followed by
 * (identifier, value) entries. On the JS side a list is a `Properties`
 * object keyed by the names in `packets.ts`; an empty list is `undefined`
 * when decoded. User Property keeps wire order as `[name, value]` pairs; a
 * PUBLISH may carry several Subscription Identifiers, decoded as a number
 * when there is one and as an array when there are more.
 *
 * Rules enforced (both directions): a property must be allowed in its packet
 * (otherwise MalformedPacket, MQTT 5.0 §2.2.2.2); no property may appear
 * twice except User Property and, in PUBLISH, Subscription Identifier
 * (ProtocolError); byte-valued flags are 0 or 1, and Receive Maximum,
 * Maximum Packet Size, Topic Alias and Subscription Identifier are not 0
 * (ProtocolError, per each property's section in §3). Unknown keys in a
 * `Properties` object are ignored when encoding.
 *
 * Tables are frozen and the functions keep no state: safe to preload,
 * re-entrant.
 */
import { ErrorCode, MqttError } from "../errors";
import type { Properties } from "./packets";
import { PacketType } from "./packets";
import { UTF8_STRING_MAX, decodeUtf8, utf8Length, writeUtf8 } from "./utf8";
import { VBI_MAX, readVbi, vbiLength, writeVbi } from "./vbi";

/** Property identifiers (MQTT 5.0 §2.2.2.2, Table 2-4). */
export const PropertyId = Object.freeze({
  PayloadFormatIndicator: 0x01,
  MessageExpiryInterval: 0x02,
  ContentType: 0x03,
  ResponseTopic: 0x08,
  CorrelationData: 0x09,
  SubscriptionIdentifier: 0x0b,
  SessionExpiryInterval: 0x11,
  AssignedClientIdentifier: 0x12,
  ServerKeepAlive: 0x13,
  AuthenticationMethod: 0x15,
  AuthenticationData: 0x16,
  RequestProblemInformation: 0x17,
  WillDelayInterval: 0x18,
  RequestResponseInformation: 0x19,
  ResponseInformation: 0x1a,
  ServerReference: 0x1c,
  ReasonString: 0x1f,
  ReceiveMaximum: 0x21,
  TopicAliasMaximum: 0x22,
  TopicAlias: 0x23,
  MaximumQoS: 0x24,
  RetainAvailable: 0x25,
  UserProperty: 0x26,
  MaximumPacketSize: 0x27,
  WildcardSubscriptionAvailable: 0x28,
  SubscriptionIdentifierAvailable: 0x29,
  SharedSubscriptionAvailable: 0x2a,
});

/** Wire data types of property values (MQTT 5.0 §1.5). */
export const PropertyType = Object.freeze({
  Byte: 1,
  TwoByteInteger: 2,
  FourByteInteger: 3,
  VariableByteInteger: 4,
  Utf8String: 5,
  BinaryData: 6,
  Utf8StringPair: 7,
});

/**
 * Pseudo packet type used for Will Properties (CONNECT payload, §3.1.3.2)
 * in `isPropertyAllowed` and the property functions; 0 is not a packet type.
 */
export const WILL_PROPERTIES = 0;

/** Describes one property. */
export interface PropertyDescriptor {
  readonly id: number;
  /** Key in `Properties`. */
  readonly key: keyof Properties;
  /** A value of `PropertyType`. */
  readonly type: number;
  /** Bit (1 << packet type) per packet the property may appear in; bit 0 for Will Properties. */
  readonly packets: number;
  /** 0: any value of the type; 1: only 0 or 1; 2: not 0. */
  readonly check: number;
}

const WL = 1 << WILL_PROPERTIES;
const CN = 1 << PacketType.CONNECT;
const CA = 1 << PacketType.CONNACK;
const PB = 1 << PacketType.PUBLISH;
const ACKS = (1 << PacketType.PUBACK) | (1 << PacketType.PUBREC) | (1 << PacketType.PUBREL) | (1 << PacketType.PUBCOMP);
const SB = 1 << PacketType.SUBSCRIBE;
const SA = 1 << PacketType.SUBACK;
const US = 1 << PacketType.UNSUBSCRIBE;
const UA = 1 << PacketType.UNSUBACK;
const DC = 1 << PacketType.DISCONNECT;
const AU = 1 << PacketType.AUTH;

const T = PropertyType;
function d(id: number, key: keyof Properties, type: number, packets: number, check = 0): PropertyDescriptor {
  return Object.freeze({ id, key, type, packets, check });
}

/** Every property in identifier order (Table 2-4). */
export const PROPERTIES: readonly PropertyDescriptor[] = Object.freeze([
  d(0x01, "payloadFormatIndicator", T.Byte, PB | WL, 1),
  d(0x02, "messageExpiryInterval", T.FourByteInteger, PB | WL),
  d(0x03, "contentType", T.Utf8String, PB | WL),
  d(0x08, "responseTopic", T.Utf8String, PB | WL),
  d(0x09, "correlationData", T.BinaryData, PB | WL),
  d(0x0b, "subscriptionIdentifier", T.VariableByteInteger, PB | SB, 2),
  d(0x11, "sessionExpiryInterval", T.FourByteInteger, CN | CA | DC),
  d(0x12, "assignedClientIdentifier", T.Utf8String, CA),
  d(0x13, "serverKeepAlive", T.TwoByteInteger, CA),
  d(0x15, "authenticationMethod", T.Utf8String, CN | CA | AU),
  d(0x16, "authenticationData", T.BinaryData, CN | CA | AU),
  d(0x17, "requestProblemInformation", T.Byte, CN, 1),
  d(0x18, "willDelayInterval", T.FourByteInteger, WL),
  d(0x19, "requestResponseInformation", T.Byte, CN, 1),
  d(0x1a, "responseInformation", T.Utf8String, CA),
  d(0x1c, "serverReference", T.Utf8String, CA | DC),
  d(0x1f, "reasonString", T.Utf8String, CA | ACKS | SA | UA | DC | AU),
  d(0x21, "receiveMaximum", T.TwoByteInteger, CN | CA, 2),
  d(0x22, "topicAliasMaximum", T.TwoByteInteger, CN | CA),
  d(0x23, "topicAlias", T.TwoByteInteger, PB, 2),
  d(0x24, "maximumQoS", T.Byte, CA, 1),
  d(0x25, "retainAvailable", T.Byte, CA, 1),
  d(0x26, "userProperties", T.Utf8StringPair, CN | CA | PB | WL | ACKS | SB | SA | US | UA | DC | AU),
  d(0x27, "maximumPacketSize", T.FourByteInteger, CN | CA, 2),
  d(0x28, "wildcardSubscriptionAvailable", T.Byte, CA, 1),
  d(0x29, "subscriptionIdentifiersAvailable", T.Byte, CA, 1),
  d(0x2a, "sharedSubscriptionAvailable", T.Byte, CA, 1),
]);

/** Descriptor by identifier (null where no property exists). */
const BY_ID: readonly (PropertyDescriptor | null)[] = (() => {
  const byId: (PropertyDescriptor | null)[] = [];
  for (let i = 0; i <= 0x2a; i++) byId.push(null);
  for (const p of PROPERTIES) byId[p.id] = p;
  return Object.freeze(byId);
})();

const PACKET_NAMES: readonly string[] = Object.freeze([
  "Will Properties", "CONNECT", "CONNACK", "PUBLISH", "PUBACK", "PUBREC", "PUBREL", "PUBCOMP",
  "SUBSCRIBE", "SUBACK", "UNSUBSCRIBE", "UNSUBACK", "PINGREQ", "PINGRESP", "DISCONNECT", "AUTH",
]);

/** The descriptor of property `id`, or undefined for an unknown identifier. */
export function propertyDescriptor(id: number): PropertyDescriptor | undefined {
  return (id >= 0 && id <= 0x2a && BY_ID[id]) || undefined;
}

/**
 * True when property `id` may appear in a packet of type `packetType`
 * (`WILL_PROPERTIES` for Will Properties), per MQTT 5.0 §2.2.2.2 Table 2-4.
 */
export function isPropertyAllowed(id: number, packetType: number): boolean {
  const p = propertyDescriptor(id);
  return p !== undefined && (p.packets & (1 << packetType)) !== 0;
}

// ---------------------------------------------------------------- encoding

function checkNumber(p: PropertyDescriptor, v: unknown, max: number): number {
  if (typeof v !== "number" || v >>> 0 !== v || v > max) {
    throw new RangeError(`property ${p.key} must be an integer in 0..${max}: ${String(v)} (MQTT 5.0 §2.2.2.2)`);
  }
  if (p.check === 1 && v > 1) throw new RangeError(`property ${p.key} must be 0 or 1: ${v}`);
  if (p.check === 2 && v === 0) throw new RangeError(`property ${p.key} must not be 0`);
  return v;
}

function checkedStringLength(key: string, v: unknown): number {
  if (typeof v !== "string") throw new TypeError(`property ${key} must be a string`);
  const n = utf8Length(v);
  if (n > UTF8_STRING_MAX) throw new RangeError(`property ${key} is ${n} bytes, more than 65,535 (MQTT 5.0 §1.5.4)`);
  return n;
}

/** Bytes of one value of descriptor `p` (without its identifier). Validates. */
function valueLength(p: PropertyDescriptor, v: unknown): number {
  switch (p.type) {
    case T.Byte:
      checkNumber(p, v, 0xff);
      return 1;
    case T.TwoByteInteger:
      checkNumber(p, v, 0xffff);
      return 2;
    case T.FourByteInteger:
      checkNumber(p, v, 0xffffffff);
      return 4;
    case T.VariableByteInteger:
      return vbiLength(checkNumber(p, v, VBI_MAX));
    case T.Utf8String:
      return 2 + checkedStringLength(p.key, v);
    case T.BinaryData:
      if (!(v instanceof Uint8Array)) throw new TypeError(`property ${p.key} must be a Uint8Array`);
      if (v.length > 0xffff) throw new RangeError(`property ${p.key} is ${v.length} bytes, more than 65,535 (MQTT 5.0 §1.5.6)`);
      return 2 + v.length;
    default: {
      // Utf8StringPair: one [name, value]
      if (!Array.isArray(v) || v.length !== 2) throw new TypeError(`each of ${p.key} must be a [name, value] pair of strings`);
      return 4 + checkedStringLength(p.key, v[0]) + checkedStringLength(p.key, v[1]);
    }
  }
}

/**
 * Bytes of the property list `props` in a packet of type `packetType`
 * (`WILL_PROPERTIES` for Will Properties), without the length prefix; 0 for
 * undefined or no properties. TypeError/RangeError for a property not
 * allowed in that packet or an invalid value.
 */
export function propertiesLength(props: Properties | undefined, packetType: number): number {
  if (props === undefined || props === null) return 0;
  if (typeof props !== "object") throw new TypeError("properties must be an object");
  const bit = 1 << packetType;
  let n = 0;
  for (let i = 0; i < PROPERTIES.length; i++) {
    const p = PROPERTIES[i];
    const v = (props as Record<string, unknown>)[p.key];
    if (v === undefined) continue;
    if ((p.packets & bit) === 0) {
      throw new TypeError(`property ${p.key} is not allowed in ${PACKET_NAMES[packetType]} (MQTT 5.0 §2.2.2.2)`);
    }
    if (p.type === T.Utf8StringPair) {
      if (!Array.isArray(v)) throw new TypeError(`property ${p.key} must be an array of [name, value] pairs`);
      for (let j = 0; j < v.length; j++) n += 1 + valueLength(p, v[j]);
    } else if (p.id === PropertyId.SubscriptionIdentifier && Array.isArray(v)) {
      if (packetType !== PacketType.PUBLISH) {
        throw new TypeError("only a PUBLISH may carry more than one subscriptionIdentifier (MQTT 5.0 §3.3.2.3.8)");
      }
      for (let j = 0; j < v.length; j++) n += 1 + valueLength(p, v[j]);
    } else {
      n += 1 + valueLength(p, v);
    }
  }
  return n;
}

function writeString(s: string, target: Uint8Array, o: number): number {
  const n = writeUtf8(s, target, o + 2);
  target[o] = n >> 8;
  target[o + 1] = n & 0xff;
  return o + 2 + n;
}

function writeValue(p: PropertyDescriptor, v: unknown, target: Uint8Array, o: number): number {
  target[o++] = p.id;
  switch (p.type) {
    case T.Byte:
      target[o] = v as number;
      return o + 1;
    case T.TwoByteInteger:
      target[o] = (v as number) >> 8;
      target[o + 1] = (v as number) & 0xff;
      return o + 2;
    case T.FourByteInteger:
      target[o] = (v as number) >>> 24;
      target[o + 1] = ((v as number) >>> 16) & 0xff;
      target[o + 2] = ((v as number) >>> 8) & 0xff;
      target[o + 3] = (v as number) & 0xff;
      return o + 4;
    case T.VariableByteInteger:
      return writeVbi(v as number, target, o);
    case T.Utf8String:
      return writeString(v as string, target, o);
    case T.BinaryData: {
      const b = v as Uint8Array;
      target[o] = b.length >> 8;
      target[o + 1] = b.length & 0xff;
      target.set(b, o + 2);
      return o + 2 + b.length;
    }
    default: {
      const pair = v as [string, string];
      return writeString(pair[1], target, writeString(pair[0], target, o));
    }
  }
}

/**
 * Writes the property list `props` (without its length prefix) at
 * target[offset..] and returns the offset past it. The caller must have
 * validated `props` with `propertiesLength` for the same packet and made
 * room for that many bytes.
 */
export function writeProperties(props: Properties | undefined, target: Uint8Array, offset: number): number {
  if (props === undefined || props === null) return offset;
  let o = offset;
  for (let i = 0; i < PROPERTIES.length; i++) {
    const p = PROPERTIES[i];
    const v = (props as Record<string, unknown>)[p.key];
    if (v === undefined) continue;
    if (p.type === T.Utf8StringPair || (p.id === PropertyId.SubscriptionIdentifier && Array.isArray(v))) {
      const list = v as unknown[];
      for (let j = 0; j < list.length; j++) o = writeValue(p, list[j], target, o);
    } else {
      o = writeValue(p, v, target, o);
    }
  }
  return o;
}

// ---------------------------------------------------------------- decoding

function malformed(message: string): MqttError {
  return new MqttError(ErrorCode.MalformedPacket, message, "remote");
}

function protocolError(message: string): MqttError {
  return new MqttError(ErrorCode.ProtocolError, message, "remote");
}

/**
 * Decodes the property list whose entries occupy `bytes[start..end)` (the
 * length prefix already read) in a packet of type `packetType`
 * (`WILL_PROPERTIES` for Will Properties). Returns undefined for an empty
 * list. Binary values are views into `bytes`.
 *
 * Throws MqttError: MalformedPacket for an unknown identifier, a property
 * not allowed in the packet, a value overrunning the list, or bad UTF-8;
 * ProtocolError for a duplicate or an out-of-range value.
 */
export function decodeProperties(bytes: Uint8Array, start: number, end: number, packetType: number): Properties | undefined {
  if (start === end) return undefined;
  const bit = 1 << packetType;
  const props: Record<string, unknown> = {};
  // seen[] as two 32-bit masks: identifiers 0..31 and 32..63
  let seenLow = 0;
  let seenHigh = 0;
  let p = start;
  while (p < end) {
    const id = bytes[p++];
    // Identifiers are Variable Byte Integers, all one byte long in MQTT 5.0.
    const desc = id <= 0x2a ? BY_ID[id] : null;
    if (!desc) throw malformed(`unknown property identifier 0x${id.toString(16)} (MQTT 5.0 §2.2.2.2)`);
    if ((desc.packets & bit) === 0) {
      throw malformed(`property ${desc.key} (0x${id.toString(16)}) is not allowed in ${PACKET_NAMES[packetType]} (MQTT 5.0 §2.2.2.2)`);
    }
    const mask = 1 << (id & 31);
    const seen = id < 32 ? seenLow & mask : seenHigh & mask;
    if (seen !== 0) {
      if (desc.type !== T.Utf8StringPair && !(id === PropertyId.SubscriptionIdentifier && packetType === PacketType.PUBLISH)) {
        throw protocolError(`property ${desc.key} appears more than once (MQTT 5.0 §2.2.2.2)`);
      }
    } else if (id < 32) seenLow |= mask;
    else seenHigh |= mask;

    let value: unknown;
    switch (desc.type) {
      case T.Byte:
        if (p + 1 > end) throw overrun(desc);
        value = bytes[p];
        p += 1;
        break;
      case T.TwoByteInteger:
        if (p + 2 > end) throw overrun(desc);
        value = (bytes[p] << 8) | bytes[p + 1];
        p += 2;
        break;
      case T.FourByteInteger:
        if (p + 4 > end) throw overrun(desc);
        value = ((bytes[p] << 24) >>> 0) + ((bytes[p + 1] << 16) | (bytes[p + 2] << 8) | bytes[p + 3]);
        p += 4;
        break;
      case T.VariableByteInteger: {
        const v = readVbi(bytes, p, end);
        if (v < 0) throw overrun(desc);
        value = v;
        p += vbiLength(v);
        break;
      }
      case T.Utf8String:
      case T.BinaryData: {
        if (p + 2 > end) throw overrun(desc);
        const n = (bytes[p] << 8) | bytes[p + 1];
        p += 2;
        if (p + n > end) throw overrun(desc);
        value = desc.type === T.Utf8String ? decodeUtf8(bytes, p, p + n) : bytes.subarray(p, p + n);
        p += n;
        break;
      }
      default: {
        if (p + 2 > end) throw overrun(desc);
        const n1 = (bytes[p] << 8) | bytes[p + 1];
        p += 2;
        if (p + n1 + 2 > end) throw overrun(desc);
        const name = decodeUtf8(bytes, p, p + n1);
        p += n1;
        const n2 = (bytes[p] << 8) | bytes[p + 1];
        p += 2;
        if (p + n2 > end) throw overrun(desc);
        const text = decodeUtf8(bytes, p, p + n2);
        p += n2;
        const list = props.userProperties as Array<[string, string]> | undefined;
        if (list) list.push([name, text]);
        else props.userProperties = [[name, text]];
        continue;
      }
    }
    if (desc.check === 1 && (value as number) > 1) {
      throw protocolError(`property ${desc.key} must be 0 or 1, got ${value as number}`);
    }
    if (desc.check === 2 && value === 0) {
      throw protocolError(`property ${desc.key} must not be 0`);
    }
    if (seen !== 0) {
      // a second Subscription Identifier in a PUBLISH
      const prev = props.subscriptionIdentifier;
      if (Array.isArray(prev)) prev.push(value as number);
      else props.subscriptionIdentifier = [prev as number, value as number];
    } else {
      props[desc.key] = value;
    }
  }
  return props as Properties;
}

function overrun(desc: PropertyDescriptor): MqttError {
  return malformed(`property ${desc.key} overruns the property length (MQTT 5.0 §2.2.2.1)`);
}
