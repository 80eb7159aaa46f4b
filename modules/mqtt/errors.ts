/**
 * One error type for the whole SDK.
 *
 * Every failure that is not plain API misuse is an `MqttError` whose `code`
 * comes from the single frozen table `ErrorCode`. Codes 0x80..0xA2 are the
 * MQTT 5.0 reason codes (MQTT 5.0 §2.4), so a violation found while decoding
 * can be sent to the peer as-is in a v5 DISCONNECT. Codes from 0x100 up are
 * local: they never appear on the wire.
 *
 * `source` says who caused it:
 * - `local`: this side (bad state, full outbox, timeout);
 * - `remote`: the peer (malformed packet, refused CONNECT, DISCONNECT with an
 *   error reason);
 * - `transport`: the socket or TLS layer.
 *
 * Misuse of the API (wrong argument types, invalid topic passed by the
 * caller) throws `TypeError`/`RangeError` instead, with the rule in the
 * message.
 */

/**
 * The MQTT 5.0 reason codes that report an error (0x80 and up, MQTT 5.0
 * §2.4, Table 2-6). Written once here; the codec's `ReasonCode` table and
 * `ErrorCode` below both include it.
 */
export const ErrorReasonCode = Object.freeze({
  UnspecifiedError: 0x80,
  MalformedPacket: 0x81,
  ProtocolError: 0x82,
  ImplementationSpecificError: 0x83,
  UnsupportedProtocolVersion: 0x84,
  ClientIdentifierNotValid: 0x85,
  BadUserNameOrPassword: 0x86,
  NotAuthorized: 0x87,
  ServerUnavailable: 0x88,
  ServerBusy: 0x89,
  Banned: 0x8a,
  ServerShuttingDown: 0x8b,
  BadAuthenticationMethod: 0x8c,
  KeepAliveTimeout: 0x8d,
  SessionTakenOver: 0x8e,
  TopicFilterInvalid: 0x8f,
  TopicNameInvalid: 0x90,
  PacketIdentifierInUse: 0x91,
  PacketIdentifierNotFound: 0x92,
  ReceiveMaximumExceeded: 0x93,
  TopicAliasInvalid: 0x94,
  PacketTooLarge: 0x95,
  MessageRateTooHigh: 0x96,
  QuotaExceeded: 0x97,
  AdministrativeAction: 0x98,
  PayloadFormatInvalid: 0x99,
  RetainNotSupported: 0x9a,
  QoSNotSupported: 0x9b,
  UseAnotherServer: 0x9c,
  ServerMoved: 0x9d,
  SharedSubscriptionsNotSupported: 0x9e,
  ConnectionRateExceeded: 0x9f,
  MaximumConnectTime: 0xa0,
  SubscriptionIdentifiersNotSupported: 0xa1,
  WildcardSubscriptionsNotSupported: 0xa2,
} as const);

export const ErrorCode = Object.freeze({
  // MQTT 5.0 reason codes used as error codes, so a decoding error can be sent as-is in a v5 DISCONNECT
  ...ErrorReasonCode,

  // Local codes (never on the wire)
  /** The outbox has no room for this QoS 1/2 message, or no free packet id. */
  OutboxFull: 0x100,
  /** The operation needs a connected session. */
  NotConnected: 0x101,
  /** No CONNACK within the connect timeout. */
  ConnectTimeout: 0x102,
  /** No PINGRESP (or any packet) within the keepalive grace time. */
  PingTimeout: 0x103,
  /** The transport reported an error or closed. */
  ConnectionLost: 0x104,
  /** The session or client was closed by its owner. */
  Closed: 0x105,
  /** The queued message expired (v5 Message Expiry) before it could be sent. */
  MessageExpired: 0x106,
  /** A stored snapshot is corrupt (bad version or CRC). */
  SnapshotInvalid: 0x107,
  /** The v3.1.1 CONNACK return code refused the connection (see `reasonCode`). */
  ConnectionRefused: 0x108,
  /** TLS handshake or certificate failure. */
  TlsError: 0x109,
  /** A SUBSCRIBE/UNSUBSCRIBE got a failure reason code for one or more entries. */
  SubscribeFailed: 0x10a,
} as const);

export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];
export type ErrorSource = "local" | "remote" | "transport";

const names: { [code: number]: string } = {};
for (const key of Object.keys(ErrorCode) as (keyof typeof ErrorCode)[]) names[ErrorCode[key]] = key;
Object.freeze(names);

/** The table's name for a code, e.g. `errorName(0x81) === "MalformedPacket"`. */
export function errorName(code: number): string {
  return names[code] ?? `Unknown(0x${code.toString(16)})`;
}

export class MqttError extends Error {
  /** A value of `ErrorCode`. */
  readonly code: number;
  /** Who caused it. */
  readonly source: ErrorSource;
  /**
   * For `ConnectionRefused`, the v3.1.1 CONNACK return code (1..5); for
   * remote errors, the reason code the peer sent. Otherwise undefined.
   */
  readonly reasonCode?: number;

  constructor(code: number, message: string, source: ErrorSource = "local", reasonCode?: number) {
    super(`${errorName(code)}: ${message}`);
    // Moddable freezes Error.prototype after preload, so a plain assignment
    // to the inherited `name` would throw there: define an own property.
    Object.defineProperty(this, "name", { value: "MqttError", writable: true, configurable: true });
    this.code = code;
    this.source = source;
    if (reasonCode !== undefined) this.reasonCode = reasonCode;
  }
}
