/**
 * The Node package entry of mqtt-xs: what `import { connect } from
 * "mqtt-xs"` and `require("mqtt-xs")` give.
 *
 * It binds the MQTT.js-compatible API (`modules/mqtt/compat.ts`) to the
 * Node host: ECMA-419 TCP and TLS sockets over `node:net`/`node:tls`
 * (`./tcp`, `./tls`) and one-shot timers with a monotonic clock
 * (`./timer`). Inbound payloads are handed to `message` listeners as Node
 * `Buffer` copies, as MQTT.js does (the session's view is only valid
 * during the listener, so a copy is needed anyway).
 *
 * ```js
 * import mqtt from "mqtt-xs";            // or: import { connect } from "mqtt-xs"
 * const client = mqtt.connect("mqtt://127.0.0.1:1883", { protocolVersion: 5 });
 * client.on("message", (topic, payload) => console.log(topic, payload.toString()));
 * ```
 *
 * The core API is exported too: `Client` (one session, one socket, one
 * timer, reconnect) with `nodeTimer` and the socket classes, `Session`,
 * `Outbox`, `MqttError`, `ErrorCode`.
 */
import { Buffer } from "node:buffer";
import { TCP } from "./tcp";
import { TLSSocket } from "./tls";
import { clearTimer, now, setTimer } from "./timer";
import type { TimerHandle } from "./timer";
import { MqttClient, bindHost, parseBrokerUrl } from "../../modules/mqtt/compat";
import type { CompatHost } from "../../modules/mqtt/compat";
import type { ClientTimer } from "../../modules/mqtt/client";
import { Client, ClientState, isOrderlyClose } from "../../modules/mqtt/client";
import { ErrorCode, MqttError, errorName } from "../../modules/mqtt/errors";
import { Session, SessionState } from "../../modules/mqtt/session";
import { Outbox, RecordState } from "../../modules/mqtt/outbox";

/** The client's one-timer API over the Node host's timers (callback first, as Moddable's `Timer.set`). */
export const nodeTimer: ClientTimer = Object.freeze({
  set: (callback: () => void, ms: number): unknown => setTimer(ms, callback),
  clear: (id: unknown): void => clearTimer(id as TimerHandle),
});

/** The Node host as the compatible API sees it. */
export const nodeHost: CompatHost = Object.freeze({
  TCP,
  TLS: TLSSocket,
  timer: nodeTimer,
  now,
  payload: (view: Uint8Array): Uint8Array => Buffer.from(view),
});

const bound = bindHost(nodeHost);

/** MQTT.js `connect(url, options)` / `connect(options)` on Node. */
export const connect = bound.connect;
/** MQTT.js `connectAsync(url, options, allowRetries)` on Node. */
export const connectAsync = bound.connectAsync;

export {
  MqttClient,
  parseBrokerUrl,
  Client,
  ClientState,
  isOrderlyClose,
  Session,
  SessionState,
  Outbox,
  RecordState,
  MqttError,
  ErrorCode,
  errorName,
  TCP,
  TLSSocket,
  now,
};
export type {
  CompatHost,
  CompatPacket,
  CompatProperties,
  CompatWill,
  IClientOptions,
  IClientPublishOptions,
  IClientSubscribeOptions,
  ISubscriptionGrant,
  UserProperties,
} from "../../modules/mqtt/compat";
export type {
  ClientOptions,
  ClientStateValue,
  ClientTimer,
  EndOptions,
  PublishCallback,
  PublishOptions,
  PublishResult,
  RequestCallback,
  SubscriptionRecord,
} from "../../modules/mqtt/client";
export type { SessionOptions, SessionEvent } from "../../modules/mqtt/session";
export type { OutboxOptions, OutboxCounters } from "../../modules/mqtt/outbox";
export type { Packet, Properties, PublishPacket, ConnackPacket, Subscription, QoS } from "../../modules/mqtt/codec/packets";

/** Default export in the shape of MQTT.js's (`mqtt.connect(...)`). */
const mqtt = Object.freeze({
  connect,
  connectAsync,
  MqttClient,
  Client,
  MqttError,
  ErrorCode,
});
export default mqtt;
