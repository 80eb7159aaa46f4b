/**
 * Packet shapes shared by the encoder, the decoder and the session.
 *
 * One plain object per control packet, discriminated by `type` (a value of
 * `PacketType`). The same shapes serve MQTT 3.1.1 (`protocolVersion` 4) and
 * 5.0 (`protocolVersion` 5): fields that exist only in v5 (properties, most
 * reason codes) are ignored when encoding v3.1.1 and absent when decoding it.
 *
 * Binary fields (payload, password, correlation/authentication data) are
 * `Uint8Array`. When the decoder returns them they are views into its input
 * or its staging buffer: see `Decoder` for how long they stay valid.
 */

export const PacketType = Object.freeze({
  CONNECT: 1,
  CONNACK: 2,
  PUBLISH: 3,
  PUBACK: 4,
  PUBREC: 5,
  PUBREL: 6,
  PUBCOMP: 7,
  SUBSCRIBE: 8,
  SUBACK: 9,
  UNSUBSCRIBE: 10,
  UNSUBACK: 11,
  PINGREQ: 12,
  PINGRESP: 13,
  DISCONNECT: 14,
  AUTH: 15,
} as const);

export type ProtocolVersion = 4 | 5;
export type QoS = 0 | 1 | 2;

/** MQTT 5.0 properties (§2.2.2.2), named as in the specification. */
export interface Properties {
  payloadFormatIndicator?: number; // 0x01 byte
  messageExpiryInterval?: number; // 0x02 four byte integer, seconds
  contentType?: string; // 0x03
  responseTopic?: string; // 0x08
  correlationData?: Uint8Array; // 0x09
  /** 0x0B variable byte integer. More than one only in a PUBLISH sent by the server. */
  subscriptionIdentifier?: number | number[];
  sessionExpiryInterval?: number; // 0x11 four byte integer, seconds
  assignedClientIdentifier?: string; // 0x12
  serverKeepAlive?: number; // 0x13 two byte integer, seconds
  authenticationMethod?: string; // 0x15
  authenticationData?: Uint8Array; // 0x16
  requestProblemInformation?: number; // 0x17 byte
  willDelayInterval?: number; // 0x18 four byte integer, seconds
  requestResponseInformation?: number; // 0x19 byte
  responseInformation?: string; // 0x1A
  serverReference?: string; // 0x1C
  reasonString?: string; // 0x1F
  receiveMaximum?: number; // 0x21 two byte integer
  topicAliasMaximum?: number; // 0x22 two byte integer
  topicAlias?: number; // 0x23 two byte integer
  maximumQoS?: number; // 0x24 byte
  retainAvailable?: number; // 0x25 byte
  /** 0x26 string pairs, in wire order; a name may repeat (MQTT 5.0 §3.1.2.11.8). */
  userProperties?: Array<[string, string]>;
  maximumPacketSize?: number; // 0x27 four byte integer
  wildcardSubscriptionAvailable?: number; // 0x28 byte
  subscriptionIdentifiersAvailable?: number; // 0x29 byte
  sharedSubscriptionAvailable?: number; // 0x2A byte
}

export interface Will {
  topic: string;
  payload: Uint8Array;
  qos: QoS;
  retain: boolean;
  /** Will properties (v5 only, §3.1.3.2). */
  properties?: Properties;
}

export interface ConnectPacket {
  type: 1;
  protocolVersion: ProtocolVersion;
  /** May be "" (the server assigns one; with v3.1.1 only together with `clean`). */
  clientId: string;
  /** Clean Session (3.1.1) / Clean Start (5.0). */
  clean: boolean;
  /** Keep Alive, seconds, 0..65535; 0 disables. */
  keepalive: number;
  username?: string;
  password?: Uint8Array;
  will?: Will;
  properties?: Properties;
}

export interface ConnackPacket {
  type: 2;
  sessionPresent: boolean;
  /** v5 reason code, or the v3.1.1 return code (0..5). */
  reasonCode: number;
  properties?: Properties;
}

export interface PublishPacket {
  type: 3;
  topic: string;
  payload: Uint8Array;
  qos: QoS;
  retain: boolean;
  dup: boolean;
  /** Present when qos > 0. */
  packetId?: number;
  properties?: Properties;
}

/** PUBACK, PUBREC, PUBREL and PUBCOMP share one shape. */
export interface AckPacket {
  type: 4 | 5 | 6 | 7;
  packetId: number;
  /** v5 reason code; 0 (Success) when absent on the wire and always 0 in v3.1.1. */
  reasonCode: number;
  properties?: Properties;
}

export interface Subscription {
  topic: string;
  qos: QoS;
  /** v5 subscription options (§3.8.3.1); default false/false/0. */
  noLocal?: boolean;
  retainAsPublished?: boolean;
  retainHandling?: 0 | 1 | 2;
}

export interface SubscribePacket {
  type: 8;
  packetId: number;
  subscriptions: Subscription[];
  properties?: Properties;
}

export interface SubackPacket {
  type: 9;
  packetId: number;
  /** One per subscription: granted QoS (0..2) or a failure code (0x80 and up). */
  reasonCodes: number[];
  properties?: Properties;
}

export interface UnsubscribePacket {
  type: 10;
  packetId: number;
  topics: string[];
  properties?: Properties;
}

export interface UnsubackPacket {
  type: 11;
  packetId: number;
  /** v5: one per topic filter. v3.1.1: empty (the packet has no payload). */
  reasonCodes: number[];
  properties?: Properties;
}

export interface PingreqPacket {
  type: 12;
}

export interface PingrespPacket {
  type: 13;
}

export interface DisconnectPacket {
  type: 14;
  /** v5 reason code; 0 when absent on the wire and in v3.1.1. */
  reasonCode: number;
  properties?: Properties;
}

export interface AuthPacket {
  type: 15;
  /** v5 only. 0 Success, 0x18 Continue authentication, 0x19 Re-authenticate. */
  reasonCode: number;
  properties?: Properties;
}

export type Packet =
  | ConnectPacket
  | ConnackPacket
  | PublishPacket
  | AckPacket
  | SubscribePacket
  | SubackPacket
  | UnsubscribePacket
  | UnsubackPacket
  | PingreqPacket
  | PingrespPacket
  | DisconnectPacket
  | AuthPacket;
