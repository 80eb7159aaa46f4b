/**
 * Random VALID packets of every type, for both protocol versions, encoded
 * with our encoder: the raw material the fuzzers mutate.
 *
 * "Valid" means what our encoder accepts; a generated object the encoder
 * refuses (a combination the generator does not rule out, e.g. a v3.1.1
 * password without user name) is simply drawn again, and `encodeRandom`
 * counts those retries so the summary can show the generator stays useful.
 *
 * Field values favour the boundaries: empty and long strings, multi-byte
 * UTF-8, payloads around the one/two/three-byte Remaining Length limits
 * (127, 16383), every property allowed in the packet (MQTT 5.0 §2.2.2.2)
 * with boundary values, every reason code the packet allows (§2.4).
 */
import { encode } from "../../../modules/mqtt/codec/encoder";
import type {
  AuthPacket,
  DisconnectPacket,
  Packet,
  Properties,
  ProtocolVersion,
  QoS,
  SubackPacket,
  Subscription,
  UnsubackPacket,
} from "../../../modules/mqtt/codec/packets";
import { PROPERTIES, PropertyType, WILL_PROPERTIES } from "../../../modules/mqtt/codec/properties";
import { isReasonCodeAllowed } from "../../../modules/mqtt/codec/reason-codes";
import type { Rng } from "./fuzz-kit";

const WORDS = ["a", "b", "sensors", "t1", "room/1", "$SYS", "é", "€uro", "日本", "😀", "x y", "-", "_", "A".repeat(40)];

/** A string without U+0000 or lone surrogates (what MQTT strings allow). */
export function randomString(rng: Rng, maxParts = 4): string {
  const r = rng.int(20);
  if (r === 0) return "";
  if (r === 1) return "s".repeat(rng.pick([127, 128, 300, 1000]));
  if (r === 2) {
    // random code points (no U+0000, no surrogates)
    let s = "";
    const n = rng.range(1, 8);
    for (let i = 0; i < n; i++) {
      let cp = rng.pick([rng.range(1, 0x7f), rng.range(0x80, 0x7ff), rng.range(0x800, 0xd7ff), rng.range(0xe000, 0xffff), rng.range(0x10000, 0x10ffff)]);
      if (cp >= 0xd800 && cp <= 0xdfff) cp = 0x41;
      s += String.fromCodePoint(cp);
    }
    return s;
  }
  const parts: string[] = [];
  const n = rng.range(1, maxParts);
  for (let i = 0; i < n; i++) parts.push(rng.pick(WORDS));
  return parts.join(rng.chance(0.7) ? "/" : "");
}

/** A Topic Name: non-empty, no wildcards. */
export function randomTopicName(rng: Rng): string {
  let s = randomString(rng);
  s = s.replace(/[+#]/g, "x");
  return s === "" ? "t" : s;
}

/** A Topic Filter: non-empty, may hold wildcards or be a shared subscription. */
export function randomTopicFilter(rng: Rng): string {
  const r = rng.int(8);
  if (r === 0) return "#";
  if (r === 1) return `${randomTopicName(rng)}/+/x`;
  if (r === 2) return `${randomTopicName(rng)}/#`;
  if (r === 3) return `$share/g/${randomTopicName(rng)}`;
  return randomTopicName(rng);
}

export function randomPayload(rng: Rng): Uint8Array {
  const r = rng.int(24);
  if (r === 0) return rng.bytes(rng.pick([120, 121, 122, 123, 124, 125, 126, 127, 128]));
  if (r === 1) return rng.bytes(rng.range(16370, 16400));
  if (r === 2) return rng.bytes(rng.range(200, 3000));
  return rng.bytes(rng.smallLength(64));
}

function randomPacketId(rng: Rng): number {
  return rng.pick([1, 2, 3, 0xff, 0x100, 0x7fff, 0xfffe, 0xffff, rng.range(1, 0xffff)]);
}

function randomU32(rng: Rng): number {
  return rng.pick([0, 1, 0x7f, 0x80, 0xffff, 0x10000, 0xffffffff, rng.u32()]);
}

/** A valid Properties object for `packetType` (WILL_PROPERTIES for Will Properties), or undefined. */
export function randomProperties(rng: Rng, packetType: number, extra?: Properties): Properties | undefined {
  if (rng.chance(0.35) && extra === undefined) return undefined;
  const bit = 1 << packetType;
  const props: Record<string, unknown> = { ...extra };
  const density = rng.pick([0.1, 0.3, 0.6]);
  for (const d of PROPERTIES) {
    if ((d.packets & bit) === 0 || !rng.chance(density)) continue;
    if (d.key === "topicAlias") continue; // added by the PUBLISH generator when it wants one
    let v: unknown;
    switch (d.type) {
      case PropertyType.Byte:
        v = d.check === 1 ? rng.int(2) : rng.byte();
        break;
      case PropertyType.TwoByteInteger:
        v = rng.pick([1, 2, 10, 0xff, 0xffff, rng.range(1, 0xffff)]);
        if (d.check !== 2 && rng.chance(0.2)) v = 0;
        break;
      case PropertyType.FourByteInteger:
        v = randomU32(rng);
        if (d.check === 2 && v === 0) v = 1;
        break;
      case PropertyType.VariableByteInteger:
        v = rng.pick([1, 127, 128, 16383, 16384, 2097151, 2097152, 268435455, rng.range(1, 268435455)]);
        if (d.key === "subscriptionIdentifier" && packetType === 3 && rng.chance(0.3)) v = [v, rng.range(1, 1000)];
        break;
      case PropertyType.Utf8String:
        v = randomString(rng);
        break;
      case PropertyType.BinaryData:
        v = rng.bytes(rng.smallLength(40));
        break;
      default: {
        const pairs: Array<[string, string]> = [];
        const n = rng.range(1, 3);
        for (let i = 0; i < n; i++) pairs.push([randomString(rng, 2), randomString(rng, 2)]);
        v = pairs;
      }
    }
    props[d.key] = v;
  }
  return Object.keys(props).length === 0 ? undefined : (props as Properties);
}

/** Reason codes allowed in each v5 packet type (index = type). */
const REASON_CODES: readonly (readonly number[])[] = Object.freeze(
  Array.from({ length: 16 }, (_, type) => Object.freeze(Array.from({ length: 256 }, (_, c) => c).filter((c) => isReasonCodeAllowed(type, c)))),
);

function reasonCode(rng: Rng, type: number): number {
  const codes = REASON_CODES[type];
  if (codes.length === 0 || rng.chance(0.4)) return 0;
  return rng.pick(codes);
}

/** Every packet type a v3.1.1 / v5 stream may hold. */
export const TYPES_V4: readonly number[] = Object.freeze([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]);
export const TYPES_V5: readonly number[] = Object.freeze([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
/** Packet types a server sends to a client. */
export const SERVER_TYPES_V4: readonly number[] = Object.freeze([2, 3, 4, 5, 6, 7, 9, 11, 13]);
export const SERVER_TYPES_V5: readonly number[] = Object.freeze([2, 3, 4, 5, 6, 7, 9, 11, 13, 14, 15]);

export interface PacketHints {
  /** Packet ids to favour (e.g. ids the session has in flight). */
  ids?: readonly number[];
  /** Number of reason codes to favour in SUBACK/UNSUBACK. */
  codes?: number;
  /** QoS to favour for PUBLISH. */
  qos?: QoS;
}

/** A random packet object of `type` that our encoder should accept in `version`. */
export function randomPacket(rng: Rng, type: number, version: ProtocolVersion, hints: PacketHints = {}): Packet {
  const v5 = version === 5;
  const id = () => (hints.ids && hints.ids.length > 0 && rng.chance(0.8) ? rng.pick(hints.ids) : randomPacketId(rng));
  switch (type) {
    case 1: {
      const clean = rng.chance(0.6);
      let clientId = rng.chance(0.2) ? "" : randomString(rng, 2);
      if (!v5 && clientId === "" && !clean) clientId = "c";
      const p: Packet = { type: 1, protocolVersion: version, clientId, clean, keepalive: rng.pick([0, 1, 60, 65535, rng.range(0, 65535)]) };
      if (rng.chance(0.4)) p.username = randomString(rng, 2);
      if (rng.chance(0.3) && (v5 || p.username !== undefined)) p.password = rng.bytes(rng.smallLength(20));
      if (rng.chance(0.4)) {
        p.will = { topic: randomTopicName(rng), payload: randomPayload(rng), qos: rng.int(3) as QoS, retain: rng.chance(0.5) };
        if (v5) {
          const wp = randomProperties(rng, WILL_PROPERTIES);
          if (wp) p.will.properties = wp;
        }
      }
      if (v5) {
        const props = randomProperties(rng, 1);
        if (props) p.properties = props;
      }
      return p;
    }
    case 2: {
      const code = v5 ? reasonCode(rng, 2) : rng.chance(0.7) ? 0 : rng.range(1, 5);
      const p: Packet = { type: 2, sessionPresent: code === 0 && rng.chance(0.3), reasonCode: code };
      if (v5) {
        const props = randomProperties(rng, 2);
        if (props) p.properties = props;
      }
      return p;
    }
    case 3: {
      const qos = hints.qos ?? (rng.int(3) as QoS);
      let props = v5 ? randomProperties(rng, 3) : undefined;
      let topic = randomTopicName(rng);
      if (v5 && rng.chance(0.25)) {
        props = { ...props, topicAlias: rng.pick([1, 2, 3, 0xffff, rng.range(1, 20)]) };
        if (rng.chance(0.5)) topic = "";
      }
      const p: Packet = { type: 3, topic, payload: randomPayload(rng), qos, retain: rng.chance(0.3), dup: qos > 0 && rng.chance(0.3) };
      if (qos > 0) p.packetId = id();
      if (props) p.properties = props;
      return p;
    }
    case 4:
    case 5:
    case 6:
    case 7: {
      const p: Packet = { type: type as 4 | 5 | 6 | 7, packetId: id(), reasonCode: v5 ? reasonCode(rng, type) : 0 };
      if (v5) {
        const props = randomProperties(rng, type);
        if (props) p.properties = props;
      }
      return p;
    }
    case 8: {
      const subscriptions: Subscription[] = [];
      const n = rng.range(1, 4);
      for (let i = 0; i < n; i++) {
        const s: Subscription = { topic: randomTopicFilter(rng), qos: rng.int(3) as QoS };
        if (v5) {
          s.noLocal = !s.topic.startsWith("$share/") && rng.chance(0.3);
          s.retainAsPublished = rng.chance(0.3);
          s.retainHandling = rng.int(3) as 0 | 1 | 2;
        }
        subscriptions.push(s);
      }
      const p: Packet = { type: 8, packetId: id(), subscriptions };
      if (v5) {
        const props = randomProperties(rng, 8);
        if (props) p.properties = props;
      }
      return p;
    }
    case 9:
    case 11: {
      const n = hints.codes !== undefined && rng.chance(0.8) ? hints.codes : rng.range(1, 4);
      const reasonCodes: number[] = [];
      for (let i = 0; i < n; i++) {
        reasonCodes.push(v5 ? reasonCode(rng, type) : type === 9 ? rng.pick([0, 1, 2, 0x80]) : 0);
      }
      const p: SubackPacket | UnsubackPacket = { type: type as 9 | 11, packetId: id(), reasonCodes: !v5 && type === 11 ? [] : reasonCodes };
      if (v5) {
        const props = randomProperties(rng, type);
        if (props) p.properties = props;
      }
      return p;
    }
    case 10: {
      const topics: string[] = [];
      const n = rng.range(1, 4);
      for (let i = 0; i < n; i++) topics.push(randomTopicFilter(rng));
      const p: Packet = { type: 10, packetId: id(), topics };
      if (v5) {
        const props = randomProperties(rng, 10);
        if (props) p.properties = props;
      }
      return p;
    }
    case 12:
    case 13:
      return { type: type as 12 | 13 };
    default: {
      // 14 DISCONNECT, 15 AUTH (v5 only)
      const p: DisconnectPacket | AuthPacket = { type: type as 14 | 15, reasonCode: v5 ? reasonCode(rng, type) : 0 };
      if (v5) {
        const props = randomProperties(rng, type);
        if (props) p.properties = props;
      }
      return p;
    }
  }
}

/** Generator statistics: objects the encoder refused (drawn again). */
export const genStats = { encoded: 0, refused: 0 };

/**
 * A random packet of one of `types`, encoded with our encoder. Draws again
 * when the encoder refuses the object (at most 20 times, then PINGRESP).
 */
export function encodeRandom(rng: Rng, types: readonly number[], version: ProtocolVersion, hints?: PacketHints): { packet: Packet; bytes: Uint8Array } {
  for (let attempt = 0; attempt < 20; attempt++) {
    const packet = randomPacket(rng, rng.pick(types), version, hints);
    try {
      const bytes = encode(packet, version);
      genStats.encoded++;
      return { packet, bytes };
    } catch (error) {
      if (!(error instanceof TypeError || error instanceof RangeError)) throw error;
      genStats.refused++;
    }
  }
  return { packet: { type: 13 }, bytes: new Uint8Array([0xd0, 0x00]) };
}
