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
import { MqttClient, parseBrokerUrl, connect as compatConnect, connectAsync as compatConnectAsync } from "../../modules/mqtt/compat";
import type { CompatHost, ConnectAsyncFunction, ConnectFunction, IClientOptions } from "../../modules/mqtt/compat";
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

/**
 * QoS 2 messages in flight at most, Node entry: 16. Mosquitto 2.0.11 at
 * its default `max_inflight_messages 20` holds an incoming QoS 2 message
 * until its PUBREL and silently drops (while still acknowledging) any
 * QoS 1 or 2 PUBLISH that arrives while it holds 20; over MQTT 3.1.1
 * nothing tells the client. Measured here against a default-config
 * Mosquitto over 3.1.1: 300 QoS 2 messages with 32 in flight, 247
 * delivered; with 20, all; QoS 2 capped at 20 interleaved with unbounded
 * QoS 1, 1 to 3 of 400 QoS 1 messages lost; capped at 19, none. 16 keeps
 * a margin below 19.
 */
export const NODE_MAX_INFLIGHT_QOS2 = 16;

/**
 * Option defaults of the Node entry (`connect`, `connectAsync`), applied
 * under the caller's options. The core defaults (`modules/mqtt`) are sized
 * for a microcontroller's RAM (outbox 16 KiB / 64 records, 32 in flight,
 * 1 KiB socket buffers); on a desktop or gateway a wider window and a
 * larger outbox cost little memory and carry far more messages per
 * round trip and per system call:
 *
 * - `maxInflight` 256 QoS 1/2 messages in flight, of which at most
 *   `maxInflightQos2` {@link NODE_MAX_INFLIGHT_QOS2} QoS 2 (what a default
 *   Mosquitto takes without loss over 3.1.1). Over MQTT 5 the broker's
 *   Receive Maximum lowers the window further (Mosquitto announces 20).
 *   Against a default Mosquitto over 3.1.1, 1000 QoS 1 messages with 256
 *   and with 1000 in flight all arrived.
 * - `outboxMessages` 512 records and `outboxBytes` 128 KiB: twice the
 *   window, so a publisher that paces itself on completions keeps the
 *   window full while acknowledgements come back; about 135 KiB allocated
 *   once per client.
 *
 * The socket buffers (`txBufferSize`, `rxBufferSize`) keep the core's
 * 1 KiB: the socket coalesces a turn's writes anyway, and 16 KiB measured
 * no faster here.
 */
export const NODE_DEFAULTS: Readonly<IClientOptions> = Object.freeze({
  maxInflight: 256,
  maxInflightQos2: NODE_MAX_INFLIGHT_QOS2,
  outboxMessages: 512,
  outboxBytes: 128 * 1024,
});

/**
 * MQTT.js `connect(url, options)` / `connect(options)` on Node, with
 * {@link NODE_DEFAULTS} under the caller's options.
 */
export const connect: ConnectFunction = ((brokerUrl?: string | IClientOptions, options?: IClientOptions) =>
  typeof brokerUrl === "object" && brokerUrl !== null
    ? compatConnect(nodeHost, { ...NODE_DEFAULTS, ...brokerUrl })
    : compatConnect(nodeHost, brokerUrl, { ...NODE_DEFAULTS, ...options })) as ConnectFunction;

/**
 * MQTT.js `connectAsync(url, options, allowRetries)` on Node, with
 * {@link NODE_DEFAULTS} under the caller's options.
 */
export const connectAsync: ConnectAsyncFunction = ((
  brokerUrl?: string | IClientOptions,
  options?: IClientOptions | boolean,
  allowRetries?: boolean,
) =>
  typeof brokerUrl === "object" && brokerUrl !== null
    ? compatConnectAsync(nodeHost, { ...NODE_DEFAULTS, ...brokerUrl }, options, allowRetries)
    : compatConnectAsync(nodeHost, brokerUrl, { ...NODE_DEFAULTS, ...(options as IClientOptions | undefined) }, allowRetries)) as ConnectAsyncFunction;

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
