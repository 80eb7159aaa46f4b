/**
 * Session options: the public `SessionOptions` shape, its defaults, and the
 * checks that turn it into the resolved form the session runs on (private
 * helper of `session.ts`; the types are re-exported there).
 *
 * Everything is checked once, at construction: a `Session` either starts
 * with valid options or its constructor throws (TypeError/RangeError naming
 * the rule).
 */
import type { Properties, ProtocolVersion, QoS, Will } from "./codec/packets";
import type { Outbox, OutboxOptions } from "./outbox";
import { assertTopicName } from "./topic";
import { encodeUtf8Into, utf8Length } from "./codec/utf8";

/** The Last Will, as given by the caller. */
export interface WillOptions {
  /** Topic name, validated like a PUBLISH topic. */
  topic: string;
  /** Bytes, or a string sent as UTF-8. */
  payload: Uint8Array | string;
  /** Default 0. */
  qos?: QoS;
  /** Default false. */
  retain?: boolean;
  /** Will properties (v5 only; ignored for 3.1.1), e.g. `willDelayInterval` in seconds. */
  properties?: Properties;
}

/** Options of `new Session(options)`. Every field is optional. */
export interface SessionOptions {
  /** 4 (MQTT 3.1.1) or 5 (MQTT 5.0). Default 4. */
  protocolVersion?: ProtocolVersion;
  /**
   * Client Identifier. Default "" (the server assigns one). With 3.1.1 an
   * empty id requires `clean: true` [MQTT-3.1.3-7]. With 5.0, an id the
   * server assigns (CONNACK Assigned Client Identifier) is used by later
   * `connect()` calls, so that a kept session can be resumed.
   */
  clientId?: string;
  /** Clean Session (3.1.1) / Clean Start (5.0). Default true. */
  clean?: boolean;
  /** Keep Alive in seconds, 0..65535; 0 disables. Default 60. The v5 Server Keep Alive overrides it. */
  keepalive?: number;
  /** User Name. */
  username?: string;
  /** Password: bytes, or a string sent as UTF-8. 3.1.1 needs a username with it [MQTT-3.1.2-22]. */
  password?: Uint8Array | string;
  /** Last Will, published by the server if the connection ends without DISCONNECT 0x00. */
  will?: WillOptions;
  /**
   * v5 CONNECT properties (ignored for 3.1.1): sessionExpiryInterval,
   * requestResponseInformation, requestProblemInformation, userProperties,
   * authenticationMethod/authenticationData, ... The three limits below, when
   * given as options, replace the same-named properties.
   */
  properties?: Properties;
  /**
   * OUR inbound limit: QoS 1/2 PUBLISH packets the server may send without
   * our acknowledgement (1..65535, default 16). Sent in the v5 CONNECT; for
   * a v5 server exceeding it [MQTT-3.3.4-9] see `enforceReceiveMaximum`.
   * Also the initial size of the inbound QoS 2 id table.
   */
  receiveMaximum?: number;
  /**
   * OUR limit for inbound packets in bytes, whole packet (1..268435460,
   * default 16384). The decoder allocates its staging buffer at this size.
   * Sent in the v5 CONNECT; a larger packet closes with 0x95 PacketTooLarge.
   */
  maximumPacketSize?: number;
  /** OUR inbound topic alias table size (0..65535, default 8; v5; 0 disables). */
  topicAliasMaximum?: number;
  /** Use topic aliases on outbound PUBLISH packets when the server allows them (v5). Default true. */
  outboundTopicAliases?: boolean;
  /** Outbound alias slots allocated at construction (0..65535, default 8); the server's Topic Alias Maximum limits them further. */
  outboundTopicAliasCapacity?: number;
  /**
   * Outbound QoS 1/2 messages in flight at most (1..65535, default 32);
   * further limited by the server's Receive Maximum [MQTT-4.9.0-2].
   */
  maxInflight?: number;
  /**
   * Outbound QoS 2 messages the server may hold at once, within
   * `maxInflight` (1..65535, default 16): from their PUBLISH until we send
   * their PUBREL (it leaves before any later PUBLISH, so the server has
   * released the message by then; the window still counts it until its
   * PUBCOMP). Mosquitto 2.0.x at its default `max_inflight_messages 20`
   * holds each incoming QoS 2 message until its PUBREL and silently drops
   * (while still acknowledging) any QoS 1/2 PUBLISH that arrives while it
   * holds 20; over MQTT 3.1.1 nothing tells the client (docs/interop.md).
   * 16 keeps below that with a margin; raise it for brokers that take more.
   */
  maxInflightQos2?: number;
  /**
   * What to do when the server sends more unacknowledged QoS 1/2 PUBLISH
   * packets than our Receive Maximum allows (v5) [MQTT-3.3.4-9]. false
   * (default): accept, deliver and acknowledge them as over MQTT 3.1.1, and
   * count them (`Session.receiveMaximumExceeded`); Mosquitto 2.0.11 does
   * this routinely under load (docs/interop.md), and a disconnect would lose
   * a clean session's messages and loop. true: DISCONNECT with 0x93
   * (Receive Maximum exceeded), as MQTT 5.0 §4.9 describes.
   */
  enforceReceiveMaximum?: boolean;
  /** An Outbox to use (e.g. one restored from a snapshot), or options for a new one. Default `new Outbox()`. */
  outbox?: Outbox | OutboxOptions;
  /** Milliseconds to wait for CONNACK after `connect()`. Default 30000. */
  connectTimeout?: number;
  /** Milliseconds to wait for PINGRESP after PINGREQ (never more than the keep alive). Default 10000. */
  pingTimeout?: number;
  /** Queue `packetsend`/`packetreceive` events (allocates per packet; for the MQTT.js-compatible layer). Default false. */
  packetEvents?: boolean;
  /** SUBSCRIBE/UNSUBSCRIBE awaiting their acknowledgement at once (1..65535, default 8). */
  maxPendingRequests?: number;
  /**
   * Initial size of the control-packet transmit ring in bytes (default 128:
   * 24 acknowledgements of 5 bytes plus a PINGREQ and a DISCONNECT). It
   * doubles if the owner feeds input without draining `pollTransmit`.
   */
  txRingSize?: number;
}

/** Options after defaults and checks. */
export interface ResolvedOptions {
  protocolVersion: ProtocolVersion;
  clientId: string;
  clean: boolean;
  keepalive: number;
  username: string | undefined;
  password: Uint8Array | undefined;
  will: Will | undefined;
  /** v5 CONNECT properties including our limits; undefined for 3.1.1. */
  connectProperties: Properties | undefined;
  receiveMaximum: number;
  maximumPacketSize: number;
  topicAliasMaximum: number;
  outboundTopicAliasCapacity: number;
  maxInflight: number;
  maxInflightQos2: number;
  enforceReceiveMaximum: boolean;
  connectTimeout: number;
  pingTimeout: number;
  packetEvents: boolean;
  maxPendingRequests: number;
  txRingSize: number;
  /** Session Expiry Interval sent in CONNECT (seconds; 0 when absent). */
  sessionExpiryInterval: number;
  /** Authentication Method sent in CONNECT, if any (enables AUTH from the server). */
  authenticationMethod: string | undefined;
  /** False when CONNECT sent Request Problem Information 0 (MQTT 5.0 §3.1.2.11.7). */
  problemInformation: boolean;
}

/** Largest packet MQTT can express: 268,435,455 remaining + 5 header bytes. */
export const MAX_PACKET_SIZE = 268435460;

function integer(value: unknown, name: string, min: number, max: number, fallback: number, rule = ""): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer from ${min} to ${max}${rule}, got ${String(value)}`);
  }
  return value;
}

function milliseconds(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !(value > 0) || value === Infinity) {
    throw new RangeError(`${name} must be a positive number of milliseconds, got ${String(value)}`);
  }
  return value;
}

function checkQos(qos: unknown, what: string): QoS {
  if (qos === undefined) return 0;
  if (qos !== 0 && qos !== 1 && qos !== 2) throw new RangeError(`${what} QoS must be 0, 1 or 2 [MQTT-3.3.1-4], got ${String(qos)}`);
  return qos;
}

/** Checks `options` and applies the defaults. Throws TypeError/RangeError. */
export function resolveOptions(options: SessionOptions): ResolvedOptions {
  if (options === null || typeof options !== "object") throw new TypeError("Session options must be an object");
  const protocolVersion = options.protocolVersion ?? 4;
  if (protocolVersion !== 4 && protocolVersion !== 5) {
    throw new RangeError(`protocolVersion must be 4 (MQTT 3.1.1) or 5 (MQTT 5.0), got ${String(protocolVersion)}`);
  }
  const v5 = protocolVersion === 5;
  const clientId = options.clientId ?? "";
  if (typeof clientId !== "string") throw new TypeError("clientId must be a string");
  const clean = options.clean ?? true;
  if (typeof clean !== "boolean") throw new TypeError("clean must be a boolean");
  if (!v5 && clientId === "" && !clean) {
    throw new TypeError("an empty clientId needs clean: true with MQTT 3.1.1 [MQTT-3.1.3-7]");
  }
  const keepalive = integer(options.keepalive, "keepalive", 0, 65535, 60, " seconds (MQTT 5.0 §3.1.2.10)");
  const username = options.username;
  if (username !== undefined && typeof username !== "string") throw new TypeError("username must be a string");
  let password: Uint8Array | undefined;
  if (options.password !== undefined) {
    if (!v5 && username === undefined) throw new TypeError("a password needs a username with MQTT 3.1.1 [MQTT-3.1.2-22]");
    password = toBytes(options.password, "password");
  }
  let will: Will | undefined;
  if (options.will !== undefined) {
    const w = options.will;
    if (w === null || typeof w !== "object") throw new TypeError("will must be an object");
    assertTopicName(w.topic);
    will = {
      topic: w.topic,
      payload: toBytes(w.payload, "will payload"),
      qos: checkQos(w.qos, "will"),
      retain: w.retain === true,
    };
    if (v5 && w.properties !== undefined) will.properties = w.properties;
  }
  const props = options.properties;
  if (props !== undefined && (props === null || typeof props !== "object")) throw new TypeError("properties must be an object");
  const receiveMaximum = integer(
    options.receiveMaximum ?? props?.receiveMaximum,
    "receiveMaximum",
    1,
    65535,
    16,
    " (0 is a protocol error, MQTT 5.0 §3.1.2.11.3)",
  );
  const maximumPacketSize = integer(
    options.maximumPacketSize ?? props?.maximumPacketSize,
    "maximumPacketSize",
    16,
    MAX_PACKET_SIZE,
    16384,
    " bytes (MQTT 5.0 §3.1.2.11.4)",
  );
  const topicAliasMaximum = integer(options.topicAliasMaximum ?? props?.topicAliasMaximum, "topicAliasMaximum", 0, 65535, 8);
  const outboundEnabled = options.outboundTopicAliases ?? true;
  const outboundTopicAliasCapacity = outboundEnabled
    ? integer(options.outboundTopicAliasCapacity, "outboundTopicAliasCapacity", 0, 65535, 8)
    : 0;
  let connectProperties: Properties | undefined;
  let sessionExpiryInterval = 0;
  let authenticationMethod: string | undefined;
  if (v5) {
    connectProperties = { ...props, receiveMaximum, maximumPacketSize };
    if (topicAliasMaximum > 0) connectProperties.topicAliasMaximum = topicAliasMaximum;
    else delete connectProperties.topicAliasMaximum;
    sessionExpiryInterval = connectProperties.sessionExpiryInterval ?? 0;
    authenticationMethod = connectProperties.authenticationMethod;
    if (connectProperties.authenticationData !== undefined && authenticationMethod === undefined) {
      throw new TypeError("authenticationData needs authenticationMethod (MQTT 5.0 §3.1.2.11.10)");
    }
  }
  return {
    protocolVersion,
    clientId,
    clean,
    keepalive,
    username,
    password,
    will,
    connectProperties,
    receiveMaximum,
    maximumPacketSize,
    topicAliasMaximum: v5 ? topicAliasMaximum : 0,
    outboundTopicAliasCapacity: v5 ? outboundTopicAliasCapacity : 0,
    maxInflight: integer(options.maxInflight, "maxInflight", 1, 65535, 32),
    maxInflightQos2: integer(options.maxInflightQos2, "maxInflightQos2", 1, 65535, 16),
    enforceReceiveMaximum: options.enforceReceiveMaximum === true,
    connectTimeout: milliseconds(options.connectTimeout, "connectTimeout", 30000),
    pingTimeout: milliseconds(options.pingTimeout, "pingTimeout", 10000),
    packetEvents: options.packetEvents === true,
    maxPendingRequests: integer(options.maxPendingRequests, "maxPendingRequests", 1, 65535, 8),
    txRingSize: integer(options.txRingSize, "txRingSize", 16, 1 << 20, 128),
    sessionExpiryInterval,
    authenticationMethod,
    problemInformation: connectProperties?.requestProblemInformation !== 0,
  };
}

/**
 * A payload/password given as bytes (returned as is) or as a string (its
 * UTF-8 bytes, allocated). A payload is binary data, not an MQTT string, so
 * U+0000 is allowed in it: the codec's strict string encoder (which rejects
 * U+0000 [MQTT-1.5.4-2]) runs on the parts between the U+0000 characters. A
 * lone surrogate has no UTF-8 encoding and throws TypeError.
 */
export function toBytes(value: unknown, what: string): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (typeof value !== "string") throw new TypeError(`${what} must be a Uint8Array or a string`);
  if (value.indexOf("\u0000") < 0) {
    const out = new Uint8Array(utf8Length(value));
    encodeUtf8Into(value, out, 0);
    return out;
  }
  const parts = value.split("\u0000");
  let n = parts.length - 1;
  for (const part of parts) n += utf8Length(part);
  const out = new Uint8Array(n);
  let pos = 0;
  for (let i = 0; i < parts.length; i++) {
    if (i > 0) out[pos++] = 0;
    pos += encodeUtf8Into(parts[i], out, pos);
  }
  return out;
}
