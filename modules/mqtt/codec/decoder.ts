/**
 * Incremental decoder: a byte stream split anywhere -> packet objects.
 *
 * Theory of operation. The decoder holds at most one chunk from the caller
 * (`push`) and one staging buffer of `maximumPacketSize` bytes, allocated
 * once in the constructor. `next()` parses packets straight out of the
 * chunk while they are whole in it (no copy: PUBLISH payloads and binary
 * properties are views of the chunk). The tail of a chunk that holds only
 * the beginning of a packet stays where it is until the next `push()`,
 * which copies it into the staging buffer; later `next()` calls complete
 * the packet there from the following chunks, then decode it from the
 * staging buffer (views of the staging buffer).
 *
 * States: idle (nothing buffered); partial (a packet prefix in the chunk
 * tail or in the staging buffer); failed (sticky until `reset()`).
 *
 * Invariants:
 * - the Remaining Length is checked against `maximumPacketSize` as soon as
 *   the fixed header is complete, before any byte of the body is copied
 *   (PacketTooLarge 0x95); so the staging buffer never overflows;
 * - the staging buffer holds at most one packet prefix, always from its
 *   first byte;
 * - the first byte (type and flags) is checked as soon as it arrives.
 *
 * Checks, with the error code (MqttError, source "remote"):
 * - MalformedPacket 0x81: reserved type 0 (and 15 in 3.1.1); reserved
 *   flag bits [MQTT-2.1.3-1] (3.1.1 [MQTT-2.2.2-2]); PUBLISH QoS 3
 *   [MQTT-3.3.1-4] and DUP with QoS 0 [MQTT-3.3.1-2]; a Variable Byte
 *   Integer over 4 bytes or not minimal; a field or property overrunning
 *   the Remaining Length or the property length; the Remaining Length not
 *   consumed exactly; ill-formed UTF-8 or U+0000 [MQTT-1.5.4-1..2];
 *   unknown property or property not allowed in the packet (MQTT 5.0
 *   §2.2.2.2); reserved subscription option bits ([MQTT-3.8.3-4] in 3.1.1,
 *   [MQTT-3.8.3-5] in 5.0); a reason code not defined for the packet;
 *   CONNECT reserved flag [MQTT-3.1.2-3], Will flags [MQTT-3.1.2-11..15],
 *   password without user name in 3.1.1 [MQTT-3.1.2-22].
 * - ProtocolError 0x82: a duplicate property, or a property value outside
 *   its range (MQTT 5.0 §2.2.2.2 and §3); packet identifier 0
 *   [MQTT-2.3.1-1]; wildcards in a PUBLISH Topic Name [MQTT-3.3.2-2];
 *   an empty Topic Name (without Topic Alias in 5.0) or Topic Filter
 *   [MQTT-4.7.3-1]; SUBSCRIBE/UNSUBSCRIBE without entries [MQTT-3.8.3-3]
 *   [MQTT-3.10.3-2]; SUBACK/UNSUBACK without reason codes; 5.0 subscription
 *   QoS 3, Retain Handling 3, No Local on a shared subscription
 *   [MQTT-3.8.3-4]; CONNACK with Session Present and a refusal
 *   [MQTT-3.2.2-4].
 * - UnsupportedProtocolVersion 0x84: CONNECT whose protocol name is not
 *   "MQTT" or whose level is not 4 or 5 [MQTT-3.1.2-1, MQTT-3.1.2-2].
 * - PacketTooLarge 0x95: whole packet larger than `maximumPacketSize`.
 *
 * Versions: packets are decoded per `protocolVersion`, except CONNECT,
 * whose level is read from the packet; decoding a CONNECT also sets
 * `protocolVersion` to that level (what a server wants for the rest of the
 * connection). A 3.1.1-style CONNACK (Remaining Length 2) received while
 * decoding 5.0 is accepted when it refuses the connection, as 3.1.1
 * brokers answer a 5.0 CONNECT that way; its return code is mapped to the
 * matching 5.0 reason code (1 -> 0x84, 2 -> 0x85, 3 -> 0x88, 4 -> 0x86,
 * 5 -> 0x87).
 *
 * RAM: one Uint8Array of max(maximumPacketSize, 5) bytes plus a few slots;
 * per packet, only the returned objects, strings and views.
 *
 * Re-entrancy: one decoder serves one byte stream; its methods must not be
 * called from inside another of its calls (they never call user code).
 */
import { ErrorCode, MqttError } from "../errors";
import type {
  AckPacket,
  AuthPacket,
  ConnackPacket,
  ConnectPacket,
  DisconnectPacket,
  Packet,
  Properties,
  ProtocolVersion,
  PublishPacket,
  QoS,
  SubackPacket,
  SubscribePacket,
  Subscription,
  UnsubackPacket,
  Will,
} from "./packets";
import { PacketType } from "./packets";
import { WILL_PROPERTIES, decodeProperties } from "./properties";
import { isReasonCodeAllowed } from "./reason-codes";
import { decodeUtf8 } from "./utf8";
import { readVbi, vbiLength } from "./vbi";

export interface DecoderOptions {
  /** Version to decode with; 4 (3.1.1) or 5. Default 4. Can be changed later via the property. */
  protocolVersion?: ProtocolVersion;
  /**
   * Largest whole packet accepted, in bytes (fixed header included). A
   * remaining length that would exceed it fails with PacketTooLarge (0x95)
   * before any of the body is buffered. Default 16384; 2..268,435,460.
   * The staging buffer for packets split across pushes is allocated once,
   * at this size: pick the size of the largest packet the application must
   * receive (on an ESP8266, 2048..4096 is typical).
   */
  maximumPacketSize?: number;
}

/** Default `maximumPacketSize`, bytes. */
export const DEFAULT_MAXIMUM_PACKET_SIZE = 16384;
/** Largest possible MQTT packet: 1 + 4 + 268,435,455 bytes. */
const MAXIMUM_PACKET_SIZE_LIMIT = 268435460;

/** Called through `call`: a method call on a primitive string allocates a wrapper in XS. */
const indexOf = String.prototype.indexOf;

/** Packet types whose fixed-header flags must be 0b0010 [MQTT-2.1.3-1]. */
const FLAGS_0010 = (1 << PacketType.PUBREL) | (1 << PacketType.SUBSCRIBE) | (1 << PacketType.UNSUBSCRIBE);

const PACKET_NAMES: readonly string[] = Object.freeze([
  "reserved", "CONNECT", "CONNACK", "PUBLISH", "PUBACK", "PUBREC", "PUBREL", "PUBCOMP",
  "SUBSCRIBE", "SUBACK", "UNSUBSCRIBE", "UNSUBACK", "PINGREQ", "PINGRESP", "DISCONNECT", "AUTH",
]);

/** 5.0 reason code for each refusing 3.1.1 CONNACK return code 1..5. */
const V4_REFUSAL_TO_V5: readonly number[] = Object.freeze([0, 0x84, 0x85, 0x88, 0x86, 0x87]);

function malformed(message: string): MqttError {
  return new MqttError(ErrorCode.MalformedPacket, message, "remote");
}

function protocolError(message: string): MqttError {
  return new MqttError(ErrorCode.ProtocolError, message, "remote");
}

/**
 * Incremental decoder.
 *
 *   push(chunk): hand over the next bytes from the stream (any split).
 *   next(): the next complete packet, or undefined when more bytes are needed.
 *           Throws MqttError (0x81 MalformedPacket, 0x82 ProtocolError,
 *           0x84 UnsupportedProtocolVersion for a CONNECT, 0x95
 *           PacketTooLarge); after that the decoder stays failed and next()
 *           throws the same error until reset().
 *   reset(): forget buffered bytes and any failure (new connection).
 *
 * Views (PUBLISH payload, password, Will payload, binary properties) point
 * into the pushed chunk or into the staging buffer; they stay valid until
 * the next push() or reset(). A chunk must not be modified by the caller
 * until the next push() or reset(): views point into it, and the next
 * push() copies a trailing partial packet out of it. Copy what must live
 * longer.
 */
export class Decoder {
  /** Version used for every packet but CONNECT; 4 or 5. Set it when the connection's version is known. */
  protocolVersion: ProtocolVersion;
  /** Largest whole packet accepted, bytes. Fixed at construction. */
  readonly maximumPacketSize: number;

  private readonly stage: Uint8Array;
  private stageLength = 0;
  /** Total size of the staged packet once its header is complete, else 0. */
  private stageTotal = 0;
  private chunk: Uint8Array;
  private pos = 0;
  /** Total size of the partial packet left at chunk[pos..] (0 while its header is incomplete). */
  private pendingTotal = 0;
  /** next() has returned undefined since the last push(). */
  private drained = true;
  private failure: MqttError | undefined = undefined;
  // cursor over the packet being decoded
  private b: Uint8Array;
  private p = 0;
  private e = 0;

  /**
   * RangeError for a protocolVersion other than 4 or 5, or a
   * maximumPacketSize outside 2..268,435,460.
   */
  constructor(options: DecoderOptions = {}) {
    const version = options.protocolVersion ?? 4;
    if (version !== 4 && version !== 5) throw new RangeError(`protocolVersion must be 4 or 5, got ${String(version)}`);
    const max = options.maximumPacketSize ?? DEFAULT_MAXIMUM_PACKET_SIZE;
    if (typeof max !== "number" || max >>> 0 !== max || max < 2 || max > MAXIMUM_PACKET_SIZE_LIMIT) {
      throw new RangeError(`maximumPacketSize must be an integer in 2..${MAXIMUM_PACKET_SIZE_LIMIT}, got ${String(max)}`);
    }
    this.protocolVersion = version;
    this.maximumPacketSize = max;
    // 5 bytes at least: a fixed header split across pushes is staged too.
    this.stage = new Uint8Array(max > 5 ? max : 5);
    this.chunk = this.stage.subarray(0, 0);
    this.b = this.chunk;
  }

  /**
   * Hands over the next bytes of the stream. The decoder keeps a reference
   * to `chunk` (no copy) until the following push() or reset(), which is
   * when the caller may reuse it; a trailing partial packet is copied into
   * the staging buffer then. Call next() until it returns undefined before
   * pushing again (TypeError otherwise). After a failure the bytes are
   * ignored (next() keeps throwing).
   */
  push(chunk: Uint8Array): void {
    if (!(chunk instanceof Uint8Array)) throw new TypeError("Decoder.push() needs a Uint8Array");
    if (this.failure) return;
    const left = this.chunk.length - this.pos;
    if (left > 0) {
      if (!this.drained) {
        throw new TypeError("Decoder.push() called while packets are still waiting: call next() until it returns undefined first");
      }
      // The tail is the prefix of one packet, no larger than maximumPacketSize
      // (next() checked its header if it was complete).
      this.stage.set(this.pos === 0 ? this.chunk : this.chunk.subarray(this.pos), 0);
      this.stageLength = left;
      this.stageTotal = this.pendingTotal;
    }
    this.chunk = chunk;
    this.pos = 0;
    this.drained = chunk.length === 0;
  }

  /**
   * True when every byte pushed so far was handed out as packets, so
   * `next()` would return undefined: the caller may push again without
   * calling it. Cheap (no parsing).
   */
  get exhausted(): boolean {
    return this.pos >= this.chunk.length && this.stageLength === 0 && this.failure === undefined;
  }

  /**
   * The next complete packet, or undefined when more bytes are needed.
   * Throws MqttError on a malformed, forbidden or too large packet; the
   * error then sticks until reset().
   */
  next(): Packet | undefined {
    if (this.failure) throw this.failure;
    try {
      const packet = this.stageLength > 0 ? this.nextStaged() : this.nextInChunk();
      if (packet === undefined) this.drained = true;
      return packet;
    } catch (err) {
      if (err instanceof MqttError) this.failure = err;
      throw err;
    }
  }

  /** Forgets buffered bytes and any failure (for a new connection). Keeps `protocolVersion`. */
  reset(): void {
    this.stageLength = 0;
    this.stageTotal = 0;
    this.chunk = this.stage.subarray(0, 0);
    this.pos = 0;
    this.pendingTotal = 0;
    this.drained = true;
    this.failure = undefined;
    this.b = this.chunk;
    this.p = 0;
    this.e = 0;
  }

  // ------------------------------------------------------------ framing

  /** Checks the type and flags in the first byte of a fixed header. */
  private checkFirstByte(first: number): void {
    const type = first >> 4;
    const flags = first & 0x0f;
    if (type === PacketType.PUBLISH) {
      const qos = (flags >> 1) & 3;
      if (qos === 3) throw malformed("PUBLISH with QoS 3 [MQTT-3.3.1-4]");
      if (qos === 0 && flags & 0x08) throw malformed("PUBLISH with DUP set and QoS 0 [MQTT-3.3.1-2]");
      return;
    }
    if (type === 0) throw malformed("reserved packet type 0 (MQTT 5.0 §2.1.2)");
    if (type === PacketType.AUTH && this.protocolVersion !== 5) throw malformed("packet type 15 is reserved in MQTT 3.1.1 (§2.2.1)");
    if (flags !== ((FLAGS_0010 >> type) & 1) << 1) {
      throw malformed(`${PACKET_NAMES[type]} with reserved flags 0x${flags.toString(16)} [MQTT-2.1.3-1]`);
    }
  }

  private tooLarge(total: number): MqttError {
    return new MqttError(
      ErrorCode.PacketTooLarge,
      `packet of ${total} bytes exceeds maximumPacketSize ${this.maximumPacketSize}`,
      "remote",
    );
  }

  private nextInChunk(): Packet | undefined {
    const chunk = this.chunk;
    const start = this.pos;
    const end = chunk.length;
    if (start >= end) return undefined;
    const first = chunk[start];
    this.checkFirstByte(first);
    let rl: number;
    let bodyStart: number;
    if (start + 1 < end && chunk[start + 1] < 0x80) {
      // one-byte Remaining Length, the common case
      rl = chunk[start + 1];
      bodyStart = start + 2;
    } else {
      rl = readVbi(chunk, start + 1, end);
      if (rl < 0) {
        this.pendingTotal = 0;
        return undefined;
      }
      bodyStart = start + 1 + vbiLength(rl);
    }
    const total = bodyStart - start + rl;
    if (total > this.maximumPacketSize) throw this.tooLarge(total);
    if (start + total > end) {
      this.pendingTotal = total;
      return undefined;
    }
    this.pos = start + total;
    return this.decode(chunk, first, bodyStart, start + total);
  }

  private nextStaged(): Packet | undefined {
    const stage = this.stage;
    const chunk = this.chunk;
    if (this.stageTotal === 0) {
      // Complete the fixed header one byte at a time (at most 4 more bytes).
      this.checkFirstByte(stage[0]);
      for (;;) {
        const rl = readVbi(stage, 1, this.stageLength);
        if (rl >= 0) {
          const total = 1 + vbiLength(rl) + rl;
          if (total > this.maximumPacketSize) throw this.tooLarge(total);
          this.stageTotal = total;
          break;
        }
        if (this.pos >= chunk.length) return undefined;
        stage[this.stageLength++] = chunk[this.pos++];
      }
    }
    const need = this.stageTotal - this.stageLength;
    const available = chunk.length - this.pos;
    const n = need < available ? need : available;
    if (n > 0) {
      stage.set(n === chunk.length ? chunk : chunk.subarray(this.pos, this.pos + n), this.stageLength);
      this.pos += n;
      this.stageLength += n;
    }
    if (this.stageLength < this.stageTotal) return undefined;
    const total = this.stageTotal;
    this.stageLength = 0;
    this.stageTotal = 0;
    const rl = readVbi(stage, 1, total);
    return this.decode(stage, stage[0], 1 + vbiLength(rl), total);
  }

  // ------------------------------------------------------------ fields

  private need(n: number, what: string): void {
    if (this.p + n > this.e) throw malformed(`${what} overruns the remaining length`);
  }

  private u8(what: string): number {
    this.need(1, what);
    return this.b[this.p++];
  }

  private u16(what: string): number {
    this.need(2, what);
    const b = this.b;
    const p = this.p;
    this.p = p + 2;
    return (b[p] << 8) | b[p + 1];
  }

  private str(what: string): string {
    const n = this.u16(what);
    this.need(n, what);
    const p = this.p;
    this.p = p + n;
    return decodeUtf8(this.b, p, p + n);
  }

  private bin(what: string): Uint8Array {
    const n = this.u16(what);
    this.need(n, what);
    const p = this.p;
    this.p = p + n;
    return this.b.subarray(p, p + n);
  }

  private packetId(what: string): number {
    const id = this.u16(what);
    if (id === 0) throw protocolError(`${what} with packet identifier 0 [MQTT-2.3.1-1]`);
    return id;
  }

  private props(packetType: number): Properties | undefined {
    const n = readVbi(this.b, this.p, this.e);
    if (n < 0) throw malformed("property length overruns the remaining length (MQTT 5.0 §2.2.2.1)");
    const start = this.p + vbiLength(n);
    if (start + n > this.e) throw malformed("property length overruns the remaining length (MQTT 5.0 §2.2.2.1)");
    this.p = start + n;
    return decodeProperties(this.b, start, start + n, packetType);
  }

  private done(type: number): void {
    if (this.p !== this.e) {
      throw malformed(`${PACKET_NAMES[type]}: ${this.e - this.p} bytes left over in the remaining length`);
    }
  }

  private reasonCode(type: number): number {
    const code = this.u8(PACKET_NAMES[type]);
    if (!isReasonCodeAllowed(type, code)) {
      throw malformed(`reason code 0x${code.toString(16)} is not valid in ${PACKET_NAMES[type]} (MQTT 5.0 §2.4)`);
    }
    return code;
  }

  // ------------------------------------------------------------ packets

  private decode(buffer: Uint8Array, first: number, bodyStart: number, end: number): Packet {
    this.b = buffer;
    this.p = bodyStart;
    this.e = end;
    const type = first >> 4;
    const v5 = this.protocolVersion === 5;
    // Literal cases (values of PacketType): no table lookups on the hot path.
    switch (type) {
      case 3:
        return this.publish(first, v5);
      case 4: // PUBACK
      case 5: // PUBREC
      case 6: // PUBREL
      case 7: {
        // PUBCOMP
        if (end - bodyStart === 2) {
          // Packet id only (every 3.1.1 ack, and a v5 Success without
          // properties): the general path below, written out.
          const id = (buffer[bodyStart] << 8) | buffer[bodyStart + 1];
          if (id === 0) throw protocolError(`${PACKET_NAMES[type]} with packet identifier 0 [MQTT-2.3.1-1]`);
          this.p = end;
          const short: AckPacket = { type: type as AckPacket["type"], packetId: id, reasonCode: 0 };
          return short;
        }
        const packetId = this.packetId(PACKET_NAMES[type]);
        let reasonCode = 0;
        let properties: Properties | undefined;
        if (v5) {
          if (this.p < this.e) reasonCode = this.reasonCode(type);
          if (this.p < this.e) properties = this.props(type);
        }
        this.done(type);
        const ack: AckPacket = { type: type as AckPacket["type"], packetId, reasonCode };
        if (properties) ack.properties = properties;
        return ack;
      }
      case 1:
        return this.connect();
      case 2:
        return this.connack(v5);
      case 8:
        return this.subscribe(v5);
      case 9: // SUBACK
      case 11: // UNSUBACK
        return this.subackOrUnsuback(type, v5);
      case 10: {
        // UNSUBSCRIBE
        const packetId = this.packetId("UNSUBSCRIBE");
        const properties = v5 ? this.props(type) : undefined;
        const topics: string[] = [];
        while (this.p < this.e) {
          const topic = this.str("UNSUBSCRIBE topic filter");
          if (topic === "") throw protocolError("empty topic filter [MQTT-4.7.3-1]");
          topics.push(topic);
        }
        if (topics.length === 0) throw protocolError("UNSUBSCRIBE without topic filters [MQTT-3.10.3-2]");
        return properties ? { type, packetId, topics, properties } : { type, packetId, topics };
      }
      case 12: // PINGREQ
      case 13: // PINGRESP
        this.done(type);
        return { type };
      default: {
        // DISCONNECT, AUTH (AUTH in 3.1.1 was refused with the first byte)
        let reasonCode = 0;
        let properties: Properties | undefined;
        if (v5) {
          if (this.p < this.e) reasonCode = this.reasonCode(type);
          if (this.p < this.e) properties = this.props(type);
        }
        this.done(type);
        const packet: DisconnectPacket | AuthPacket = { type: type as 14 | 15, reasonCode };
        if (properties) packet.properties = properties;
        return packet;
      }
    }
  }

  private publish(first: number, v5: boolean): Packet {
    const qos = ((first >> 1) & 3) as QoS;
    // this.str() written out: the hot path
    const b = this.b;
    let p = this.p;
    if (p + 2 > this.e) throw malformed("PUBLISH topic overruns the remaining length");
    const n = (b[p] << 8) | b[p + 1];
    p += 2;
    if (p + n > this.e) throw malformed("PUBLISH topic overruns the remaining length");
    const topic = decodeUtf8(b, p, p + n);
    this.p = p + n;
    let packetId = 0;
    if (qos !== 0) packetId = this.packetId("PUBLISH");
    const properties = v5 ? this.props(PacketType.PUBLISH) : undefined;
    if (topic === "") {
      if (!v5) throw protocolError("PUBLISH with an empty topic [MQTT-4.7.3-1]");
      if (!properties || properties.topicAlias === undefined) {
        throw protocolError("PUBLISH with an empty topic and no Topic Alias (MQTT 5.0 §3.3.2.1)");
      }
    } else if (indexOf.call(topic, "+") >= 0 || indexOf.call(topic, "#") >= 0) {
      throw protocolError("PUBLISH topic contains a wildcard [MQTT-3.3.2-2]");
    }
    const packet: PublishPacket = {
      type: PacketType.PUBLISH,
      topic,
      payload: this.b.subarray(this.p, this.e),
      qos,
      retain: (first & 1) !== 0,
      dup: (first & 8) !== 0,
    };
    if (qos !== 0) packet.packetId = packetId;
    if (properties) packet.properties = properties;
    return packet;
  }

  private connect(): ConnectPacket {
    // Protocol Name must be "MQTT" (§3.1.2.1); anything else is not a protocol we speak.
    const name = this.str("CONNECT protocol name");
    if (name !== "MQTT") {
      throw new MqttError(ErrorCode.UnsupportedProtocolVersion, `CONNECT protocol name "${name}" is not "MQTT" [MQTT-3.1.2-1]`, "remote");
    }
    const level = this.u8("CONNECT protocol level");
    if (level !== 4 && level !== 5) {
      throw new MqttError(ErrorCode.UnsupportedProtocolVersion, `CONNECT protocol level ${level} is not 4 or 5 [MQTT-3.1.2-2]`, "remote");
    }
    const flags = this.u8("CONNECT flags");
    if (flags & 0x01) throw malformed("CONNECT reserved flag is set [MQTT-3.1.2-3]");
    const willFlag = (flags & 0x04) !== 0;
    const willQos = (flags >> 3) & 3;
    const willRetain = (flags & 0x20) !== 0;
    if (!willFlag && willQos !== 0) throw malformed("CONNECT Will QoS without Will Flag [MQTT-3.1.2-13]");
    if (!willFlag && willRetain) throw malformed("CONNECT Will Retain without Will Flag [MQTT-3.1.2-15]");
    if (willQos === 3) throw malformed("CONNECT Will QoS 3 [MQTT-3.1.2-14]");
    const hasUsername = (flags & 0x80) !== 0;
    const hasPassword = (flags & 0x40) !== 0;
    if (level === 4 && hasPassword && !hasUsername) throw malformed("CONNECT password without user name [MQTT-3.1.2-22]");
    const keepalive = this.u16("CONNECT keep alive");
    const properties = level === 5 ? this.props(PacketType.CONNECT) : undefined;
    const clientId = this.str("CONNECT client identifier");
    let will: Will | undefined;
    if (willFlag) {
      const willProperties = level === 5 ? this.props(WILL_PROPERTIES) : undefined;
      const topic = this.str("Will topic");
      if (topic === "") throw protocolError("empty Will topic [MQTT-4.7.3-1]");
      if (indexOf.call(topic, "+") >= 0 || indexOf.call(topic, "#") >= 0) throw protocolError("Will topic contains a wildcard [MQTT-3.3.2-2]");
      will = { topic, payload: this.bin("Will payload"), qos: willQos as QoS, retain: willRetain };
      if (willProperties) will.properties = willProperties;
    }
    const username = hasUsername ? this.str("CONNECT user name") : undefined;
    const password = hasPassword ? this.bin("CONNECT password") : undefined;
    this.done(PacketType.CONNECT);
    this.protocolVersion = level as ProtocolVersion;
    const packet: ConnectPacket = { type: PacketType.CONNECT, protocolVersion: level as ProtocolVersion, clientId, clean: (flags & 0x02) !== 0, keepalive };
    if (username !== undefined) packet.username = username;
    if (password !== undefined) packet.password = password;
    if (will) packet.will = will;
    if (properties) packet.properties = properties;
    return packet;
  }

  private connack(v5: boolean): ConnackPacket {
    const flags = this.u8("CONNACK flags");
    if (flags & 0xfe) throw malformed("CONNACK reserved flag bits are set [MQTT-3.2.2-1]");
    const sessionPresent = flags === 1;
    let reasonCode = this.u8("CONNACK reason code");
    let properties: Properties | undefined;
    if (!v5) {
      if (reasonCode > 5) throw malformed(`CONNACK return code ${reasonCode} is reserved (MQTT 3.1.1 §3.2.2.3)`);
    } else if (this.e - this.p === 0 && reasonCode >= 1 && reasonCode <= 5) {
      // A 3.1.1 server refusing our 5.0 CONNECT answers in 3.1.1 form.
      reasonCode = V4_REFUSAL_TO_V5[reasonCode];
    } else {
      if (!isReasonCodeAllowed(PacketType.CONNACK, reasonCode)) {
        throw malformed(`reason code 0x${reasonCode.toString(16)} is not valid in CONNACK (MQTT 5.0 §2.4)`);
      }
      properties = this.props(PacketType.CONNACK);
    }
    this.done(PacketType.CONNACK);
    if (sessionPresent && reasonCode !== 0) throw protocolError("CONNACK refuses the connection but sets Session Present [MQTT-3.2.2-4]");
    const packet: ConnackPacket = { type: PacketType.CONNACK, sessionPresent, reasonCode };
    if (properties) packet.properties = properties;
    return packet;
  }

  private subscribe(v5: boolean): Packet {
    const packetId = this.packetId("SUBSCRIBE");
    const properties = v5 ? this.props(PacketType.SUBSCRIBE) : undefined;
    const subscriptions: Subscription[] = [];
    while (this.p < this.e) {
      const topic = this.str("SUBSCRIBE topic filter");
      const options = this.u8("SUBSCRIBE options");
      if (topic === "") throw protocolError("empty topic filter [MQTT-4.7.3-1]");
      const qos = options & 3;
      if (!v5) {
        if (options & 0xfc) throw malformed("SUBSCRIBE reserved option bits are set [MQTT-3.8.3-4]");
        if (qos === 3) throw malformed("SUBSCRIBE with QoS 3 [MQTT-3.8.3-4]");
        subscriptions.push({ topic, qos: qos as QoS });
        continue;
      }
      if (options & 0xc0) throw malformed("SUBSCRIBE reserved option bits 6-7 are set [MQTT-3.8.3-5]");
      if (qos === 3) throw protocolError("SUBSCRIBE with QoS 3 (MQTT 5.0 §3.8.3.1)");
      const retainHandling = (options >> 4) & 3;
      if (retainHandling === 3) throw protocolError("SUBSCRIBE with Retain Handling 3 (MQTT 5.0 §3.8.3.1)");
      const noLocal = (options & 0x04) !== 0;
      if (noLocal && topic.startsWith("$share/")) throw protocolError("No Local on a shared subscription [MQTT-3.8.3-4]");
      subscriptions.push({
        topic,
        qos: qos as QoS,
        noLocal,
        retainAsPublished: (options & 0x08) !== 0,
        retainHandling: retainHandling as 0 | 1 | 2,
      });
    }
    if (subscriptions.length === 0) throw protocolError("SUBSCRIBE without subscriptions [MQTT-3.8.3-3]");
    const packet: SubscribePacket = { type: PacketType.SUBSCRIBE, packetId, subscriptions };
    if (properties) packet.properties = properties;
    return packet;
  }

  private subackOrUnsuback(type: number, v5: boolean): Packet {
    const name = PACKET_NAMES[type];
    const packetId = this.packetId(name);
    const reasonCodes: number[] = [];
    if (!v5 && type === PacketType.UNSUBACK) {
      this.done(type);
      return { type: PacketType.UNSUBACK, packetId, reasonCodes };
    }
    const properties = v5 ? this.props(type) : undefined;
    const b = this.b;
    const e = this.e;
    for (let p = this.p; p < e; p++) {
      const code = b[p];
      if (v5 ? !isReasonCodeAllowed(type, code) : code > 2 && code !== 0x80) {
        throw malformed(`reason code 0x${code.toString(16)} is not valid in ${name} (MQTT 5.0 §2.4, MQTT 3.1.1 §3.9.3)`);
      }
      reasonCodes.push(code);
    }
    this.p = e;
    if (reasonCodes.length === 0) throw protocolError(`${name} without reason codes (MQTT 5.0 §3.${type === PacketType.SUBACK ? 9 : 11}.3)`);
    const packet: SubackPacket | UnsubackPacket = { type: type as 9 | 11, packetId, reasonCodes };
    if (properties) packet.properties = properties;
    return packet;
  }
}
