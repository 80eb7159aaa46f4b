/**
 * MQTT 5.0 reason codes (§2.4, Table 2-6) and MQTT 3.1.1 CONNACK return
 * codes (§3.2.2.3, Table 3.1), with the packets each v5 code may appear in.
 *
 * Frozen tables only: safe to preload (they stay in flash).
 */
import { ErrorReasonCode } from "../errors";
import { PacketType } from "./packets";

/**
 * MQTT 5.0 reason codes by name. 0x00 has three names (Success, Normal
 * disconnection, Granted QoS 0) and so has three keys here.
 */
export const ReasonCode = Object.freeze({
  Success: 0x00,
  NormalDisconnection: 0x00,
  GrantedQoS0: 0x00,
  GrantedQoS1: 0x01,
  GrantedQoS2: 0x02,
  DisconnectWithWillMessage: 0x04,
  NoMatchingSubscribers: 0x10,
  NoSubscriptionExisted: 0x11,
  ContinueAuthentication: 0x18,
  ReAuthenticate: 0x19,
  // 0x80 and up: the error reason codes, defined once in ../errors
  ...ErrorReasonCode,
} as const);

/** MQTT 3.1.1 CONNACK return codes (§3.2.2.3). 6..255 are reserved. */
export const ConnectReturnCode = Object.freeze({
  Accepted: 0,
  UnacceptableProtocolVersion: 1,
  IdentifierRejected: 2,
  ServerUnavailable: 3,
  BadUserNameOrPassword: 4,
  NotAuthorized: 5,
});

// One bit per packet type (1 << type).
const CA = 1 << PacketType.CONNACK;
const PA = 1 << PacketType.PUBACK;
const RC = 1 << PacketType.PUBREC;
const RL = 1 << PacketType.PUBREL;
const CP = 1 << PacketType.PUBCOMP;
const SA = 1 << PacketType.SUBACK;
const UA = 1 << PacketType.UNSUBACK;
const DC = 1 << PacketType.DISCONNECT;
const AU = 1 << PacketType.AUTH;

/** Packets allowed to carry each code 0x80..0xA2 (Table 2-6), indexed by code - 0x80. */
const ERROR_CODE_PACKETS: readonly number[] = Object.freeze([
  CA | PA | RC | SA | UA | DC, // 0x80 Unspecified error
  CA | DC, // 0x81 Malformed Packet
  CA | DC, // 0x82 Protocol Error
  CA | PA | RC | SA | UA | DC, // 0x83 Implementation specific error
  CA, // 0x84 Unsupported Protocol Version
  CA, // 0x85 Client Identifier not valid
  CA, // 0x86 Bad User Name or Password
  CA | PA | RC | SA | UA | DC, // 0x87 Not authorized
  CA, // 0x88 Server unavailable
  CA | DC, // 0x89 Server busy
  CA, // 0x8A Banned
  DC, // 0x8B Server shutting down
  CA | DC, // 0x8C Bad authentication method
  DC, // 0x8D Keep Alive timeout
  DC, // 0x8E Session taken over
  SA | UA | DC, // 0x8F Topic Filter invalid
  CA | PA | RC | DC, // 0x90 Topic Name invalid
  PA | RC | SA | UA, // 0x91 Packet Identifier in use
  RL | CP, // 0x92 Packet Identifier not found
  DC, // 0x93 Receive Maximum exceeded
  DC, // 0x94 Topic Alias invalid
  CA | DC, // 0x95 Packet too large
  DC, // 0x96 Message rate too high
  CA | PA | RC | SA | DC, // 0x97 Quota exceeded
  DC, // 0x98 Administrative action
  CA | PA | RC | DC, // 0x99 Payload format invalid
  CA | DC, // 0x9A Retain not supported
  CA | DC, // 0x9B QoS not supported
  CA | DC, // 0x9C Use another server
  CA | DC, // 0x9D Server moved
  SA | DC, // 0x9E Shared Subscriptions not supported
  CA | DC, // 0x9F Connection rate exceeded
  DC, // 0xA0 Maximum connect time
  SA | DC, // 0xA1 Subscription Identifiers not supported
  SA | DC, // 0xA2 Wildcard Subscriptions not supported
]);

/** Packets allowed to carry each code below 0x80 (Table 2-6). */
function successCodePackets(code: number): number {
  switch (code) {
    case 0x00:
      return CA | PA | RC | RL | CP | SA | UA | DC | AU;
    case 0x01:
    case 0x02:
      return SA;
    case 0x04:
      return DC;
    case 0x10:
      return PA | RC;
    case 0x11:
      return UA;
    case 0x18:
    case 0x19:
      return AU;
    default:
      return 0;
  }
}

/**
 * True when `code` is a valid MQTT 5.0 reason code for a packet of type
 * `packetType` (MQTT 5.0 §2.4, Table 2-6). For SUBACK, 0x00..0x02 are the
 * granted QoS values. Packets without reason codes answer false.
 */
export function isReasonCodeAllowed(packetType: number, code: number): boolean {
  const bit = 1 << packetType;
  if (code >= 0x80) return code <= 0xa2 && (ERROR_CODE_PACKETS[code - 0x80] & bit) !== 0;
  return (successCodePackets(code) & bit) !== 0;
}

const NAMES: { readonly [code: number]: string } = (() => {
  const names: { [code: number]: string } = {};
  for (const key of Object.keys(ReasonCode) as (keyof typeof ReasonCode)[]) {
    const code = ReasonCode[key];
    if (names[code] === undefined) names[code] = key;
  }
  return Object.freeze(names);
})();

/**
 * A readable name for a v5 reason code. With `packetType`, 0x00 is named for
 * that packet ("NormalDisconnection" for DISCONNECT, "GrantedQoS0" for SUBACK,
 * otherwise "Success"). Unknown codes give "Unknown(0x..)".
 */
export function reasonCodeName(code: number, packetType?: number): string {
  if (code === 0x00 && packetType === PacketType.DISCONNECT) return "NormalDisconnection";
  if (code === 0x00 && packetType === PacketType.SUBACK) return "GrantedQoS0";
  return NAMES[code] ?? `Unknown(0x${code.toString(16)})`;
}
