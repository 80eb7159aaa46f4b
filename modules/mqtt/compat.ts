/**
 * The MQTT.js-compatible surface: `connect(url, options)` returns an event
 * emitter with `publish`, `subscribe`, `unsubscribe`, `end` and their
 * `*Async` forms, so a program written against MQTT.js (npm `mqtt`, v5)
 * within this subset runs unchanged after swapping the import.
 *
 * Theory of operation
 * -------------------
 * `MqttClient` wraps one `Client` (client.ts) and translates: MQTT.js
 * options into client/session options, our packet objects into MQTT.js's
 * shapes (`cmd`, `messageId`, `returnCode`, `granted`, user properties as an
 * object), and client callbacks into events. Everything MQTT-related
 * (queueing, retries, reconnect, resubscribe) is the client's.
 *
 * Where the platform comes from: this module touches no host API. A
 * `CompatHost` names the socket classes (TCP for `mqtt:`/`tcp:`, TLS for
 * `mqtts:`/`ssl:`/`tls:`), the timer and clock, and how inbound payloads
 * are handed to listeners. `bindHost(host)` returns `connect` and
 * `connectAsync` for that host; the Node entry (`hosts/node/mqtt.ts`) binds
 * the Node host and is what `import { connect } from "mqtt-xs"` gives.
 *
 * Payloads: strings and Uint8Arrays (a Node Buffer is one) are accepted.
 * The `message` event gets `host.payload(view)`: by default a Uint8Array
 * copy (the session's view dies when the listener returns); the Node entry
 * gives a Buffer copy, as MQTT.js does. Option `payloadViews: true` skips
 * the copy (listeners must then copy what they keep).
 *
 * Known differences from MQTT.js (see README-client.md): errors are
 * `MqttError`s (`code` is an `ErrorCode`, the broker's reason code is in
 * `reasonCode`); a refused CONNACK is retried with backoff unless
 * `reconnectOnConnackError: false`; `reconnectPeriod` is the first backoff
 * ceiling (full jitter, doubling up to `backoffMax`), not a fixed period;
 * subscribe/unsubscribe requests interrupted by a lost connection are sent
 * again after the reconnect instead of failing with "Connection closed";
 * `end()` while offline ends at once (messages stay in the outbox); no
 * WebSocket, no `servers` list, no custom stores.
 */
import { EventEmitter } from "./event-emitter";
import { Client, ClientState, isOrderlyClose } from "./client";
import type { ClientOptions, ClientTimer, PublishOptions, PublishResult } from "./client";
import { ErrorCode, MqttError } from "./errors";
import { isValidTopicFilter } from "./topic";
import type { OutboxOptions } from "./outbox";
import type {
  ConnackPacket,
  DisconnectPacket,
  Packet,
  Properties,
  PublishPacket,
  QoS,
  Subscription,
} from "./codec/packets";
import type { SocketSpec, TcpSocketClass } from "../io/tcp-types";

/** What a platform provides to the compatible API. */
export interface CompatHost {
  /** ECMA-419 TCP socket class, for `mqtt:` and `tcp:`. */
  TCP: TcpSocketClass<any>;
  /** ECMA-419 TLS socket class, for `mqtts:`, `ssl:`, `tls:`. Absent: those protocols throw. */
  TLS?: TcpSocketClass<any>;
  /** The one-timer API (Moddable `Timer` shape). */
  timer: ClientTimer;
  /** Clock in ms. Default `Date.now`. */
  now?: () => number;
  /** Random numbers in [0, 1) (client id, backoff jitter). Default `Math.random`. */
  random?: () => number;
  /**
   * Turns an inbound binary view (valid only during the call) into the
   * value listeners get (payloads, correlation/authentication data). Must
   * copy. Default: `view.slice()`. The Node entry returns a Buffer.
   */
  payload?: (view: Uint8Array) => Uint8Array;
  /** Extra socket options merged into every socket specification (e.g. the Node host's `writeHighWaterMark`). */
  socket?: Record<string, unknown>;
}

/** MQTT.js-style user properties: a name maps to a value or several. */
export type UserProperties = { [name: string]: string | string[] };

/** Properties as MQTT.js takes and gives them (`userProperties` as an object). */
export type CompatProperties = Omit<Properties, "userProperties"> & { userProperties?: UserProperties };

/** `will` option (MQTT.js shape). */
export interface CompatWill {
  topic: string;
  payload: string | Uint8Array;
  /** Default 0. */
  qos?: QoS;
  /** Default false. */
  retain?: boolean;
  properties?: CompatProperties;
}

/**
 * Options of `connect` (MQTT.js `IClientOptions` subset, plus ours). Units:
 * `keepalive` seconds; `reconnectPeriod`, `connectTimeout` and the backoff
 * settings milliseconds.
 */
export interface IClientOptions {
  /** `mqtt`, `tcp` (plain) or `mqtts`, `ssl`, `tls` (TLS). From the URL when one is given. */
  protocol?: string;
  /** Broker host name or address. Default "localhost". */
  host?: string;
  /** Takes precedence over `host` (MQTT.js). */
  hostname?: string;
  /** Default 1883, or 8883 for TLS. */
  port?: number;
  /** Ignored (WebSocket path). */
  path?: string;
  /** "user:password", as in a URL. */
  auth?: string;
  /** Parsed URL query (MQTT.js reads `clientId` from it). */
  query?: { [key: string]: string };
  /** Default `mqttxs_` + 8 random hex digits. Required with `clean: false`. */
  clientId?: string;
  username?: string;
  password?: string | Uint8Array;
  /** Seconds, 0..65535; 0 disables. Default 60. */
  keepalive?: number;
  /** Default true. */
  clean?: boolean;
  /** 4 (MQTT 3.1.1, default) or 5. 3 (MQTT 3.1) is not supported. */
  protocolVersion?: 4 | 5;
  /**
   * Milliseconds before the first reconnect attempt (the first backoff
   * ceiling; later attempts double it up to `backoffMax`, with full
   * jitter). 0 disables reconnecting. Default 1000.
   */
  reconnectPeriod?: number;
  /** Milliseconds to wait for CONNACK. Default 30000. */
  connectTimeout?: number;
  will?: CompatWill;
  /** v5 CONNECT properties (receiveMaximum, maximumPacketSize, topicAliasMaximum, sessionExpiryInterval, userProperties, ...). */
  properties?: CompatProperties;
  /** Queue QoS 0 messages published while offline. Default true. */
  queueQoSZero?: boolean;
  /** Subscribe again after a reconnect when the broker kept no session. Default true. */
  resubscribe?: boolean;
  /** Do not connect in the constructor; call `connect()` (our `reconnect()`). Default false. */
  manualConnect?: boolean;
  /**
   * Keep reconnecting (with backoff) after the broker refused the CONNECT.
   * Default true (MQTT.js: false, it stops). false: report and stop.
   */
  reconnectOnConnackError?: boolean;
  // TLS (Node names; passed to the TLS socket's `secure` options)
  ca?: string | Uint8Array | Array<string | Uint8Array>;
  cert?: string | Uint8Array | Array<string | Uint8Array>;
  key?: string | Uint8Array;
  passphrase?: string;
  /** Default true. */
  rejectUnauthorized?: boolean;
  /** SNI name; default the host when it is a name. */
  servername?: string;
  // ours
  /** Outbox ring size in bytes (queued + in-flight messages, encoded). Default 16384 (the Node entry: 131072). */
  outboxBytes?: number;
  /** Outbox record slots (messages queued or in flight at once). Default 64 (the Node entry: 512). */
  outboxMessages?: number;
  /** Outbound QoS 1/2 messages in flight at most. Default 32 (the Node entry: see NODE_DEFAULTS in hosts/node/mqtt.ts). */
  maxInflight?: number;
  /** Outbound QoS 2 messages the broker may hold at once (PUBLISH until our PUBREL), within `maxInflight`. Default 16 (session option `maxInflightQos2`). */
  maxInflightQos2?: number;
  /** Largest backoff ceiling, ms. Default 60000. */
  backoffMax?: number;
  /** A connection up this long (ms) resets the backoff. Default 10000. */
  backoffResetAfter?: number;
  /** Give `message` listeners the session's payload view instead of a copy (valid only during the listener). Default false. */
  payloadViews?: boolean;
  /**
   * Emit `packetsend`/`packetreceive`. Default true. They cost something
   * (allocations per packet; every PUBLISH sent is decoded again) only while
   * a listener for one of them is attached.
   */
  packetEvents?: boolean;
  /** Milliseconds to wait for PINGRESP. Default 10000. */
  pingTimeout?: number;
  /** Socket read chunk / write coalescing buffers, bytes. Default 1024 each. */
  rxBufferSize?: number;
  txBufferSize?: number;
  [key: string]: unknown;
}

/** `publish` options (MQTT.js `IClientPublishOptions` subset). */
export interface IClientPublishOptions {
  /** Default 0. */
  qos?: QoS;
  /** Default false. */
  retain?: boolean;
  /** Ignored: the session sets DUP on resends itself. */
  dup?: boolean;
  properties?: CompatProperties;
}

/** Per-filter subscription options (MQTT.js names). */
export interface IClientSubscribeOptions {
  qos?: QoS;
  /** No Local (v5). */
  nl?: boolean;
  /** Retain As Published (v5). */
  rap?: boolean;
  /** Retain Handling 0..2 (v5). */
  rh?: 0 | 1 | 2;
  properties?: CompatProperties;
}

/** One entry of the list a subscribe callback gets; `qos` is the granted QoS or the failure code (>= 0x80). */
export interface ISubscriptionGrant {
  topic: string;
  qos: number;
  nl?: boolean;
  rap?: boolean;
  rh?: number;
  properties?: CompatProperties;
}

/** A packet in MQTT.js's shape: `cmd` names the type; fields follow mqtt-packet. */
export type CompatPacket = { cmd: string; [field: string]: unknown };

export type ErrorCallback = (error?: Error | null) => void;
export type PacketCallback = (error?: Error | null, packet?: CompatPacket) => void;
export type SubscribeCallback = (error: Error | null, granted?: ISubscriptionGrant[], packet?: CompatPacket) => void;

/** Publish options without retain or properties, by QoS (frozen: shared by every call). */
const PLAIN_PUBLISH_OPTIONS: readonly PublishOptions[] = Object.freeze([
  Object.freeze({ qos: 0 as QoS }),
  Object.freeze({ qos: 1 as QoS }),
  Object.freeze({ qos: 2 as QoS }),
]);

const CMD = Object.freeze([
  "reserved",
  "connect",
  "connack",
  "publish",
  "puback",
  "pubrec",
  "pubrel",
  "pubcomp",
  "subscribe",
  "suback",
  "unsubscribe",
  "unsuback",
  "pingreq",
  "pingresp",
  "disconnect",
  "auth",
]);

const URL_PATTERN = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(?:([^@/?#]*)@)?(\[[^\]]*\]|[^:/?#]*)(?::(\d*))?([^?#]*)(?:\?([^#]*))?/;
const IP_ADDRESS = /^(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}|.*:.*)$/;

function noop(): void {}

function defer(fn: () => void): void {
  Promise.resolve().then(fn);
}

function decode(s: string): string {
  return decodeURIComponent(s.replace(/\+/g, " "));
}

/**
 * Splits a broker URL (`mqtt://user:pass@host:1883/path?clientId=x`) into
 * MQTT.js option names: protocol (without ":"), host, port, auth, path,
 * query. Throws TypeError for a string that is not a URL.
 */
export function parseBrokerUrl(url: string): IClientOptions {
  const m = URL_PATTERN.exec(url);
  if (m === null) throw new TypeError(`invalid broker URL: ${url}`);
  const parsed: IClientOptions = { protocol: m[1].toLowerCase() };
  let host = m[3];
  if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1);
  if (host !== "") parsed.host = host;
  if (m[4] !== undefined && m[4] !== "") parsed.port = Number(m[4]);
  if (m[2] !== undefined) parsed.auth = decode(m[2]);
  if (m[5] !== undefined && m[5] !== "") parsed.path = m[5];
  if (m[6] !== undefined && m[6] !== "") {
    const query: { [key: string]: string } = {};
    for (const pair of m[6].split("&")) {
      if (pair === "") continue;
      const eq = pair.indexOf("=");
      if (eq < 0) query[decode(pair)] = "";
      else query[decode(pair.slice(0, eq))] = decode(pair.slice(eq + 1));
    }
    parsed.query = query;
  }
  return parsed;
}

/** MQTT.js user properties object -> wire order pairs. */
function userPropertiesIn(value: unknown): Array<[string, string]> | undefined {
  if (value === undefined || value === null) return undefined;
  if (Array.isArray(value)) return value as Array<[string, string]>;
  const pairs: Array<[string, string]> = [];
  for (const name of Object.keys(value as object)) {
    const v = (value as UserProperties)[name];
    if (Array.isArray(v)) for (const item of v) pairs.push([name, String(item)]);
    else pairs.push([name, String(v)]);
  }
  return pairs;
}

/** Properties from a caller (MQTT.js shape) -> ours. Returns the same object when no conversion is needed. */
export function propertiesIn(properties: CompatProperties | Properties | undefined): Properties | undefined {
  if (properties === undefined || properties === null) return undefined;
  const up = (properties as { userProperties?: unknown }).userProperties;
  if (up === undefined || Array.isArray(up)) return properties as Properties;
  const out: Properties = { ...(properties as Properties) };
  out.userProperties = userPropertiesIn(up);
  return out;
}

/**
 * The MQTT.js-style client: an event emitter over one `Client`.
 *
 * Events (MQTT.js names and arguments): `connect` (CONNACK packet),
 * `message` (topic, payload, publish packet), `reconnect`, `offline`,
 * `close`, `error` (Error), `end`, `disconnect` (v5 DISCONNECT packet),
 * `packetsend`/`packetreceive` (packet). On a lost connection the order is
 * `error` (unless the peer closed cleanly), `offline` (first loss only,
 * when a reconnect is scheduled), `close`.
 *
 * Listeners run synchronously from the client's entry points, never from
 * inside the parser; methods may be called from any listener. `message`
 * payloads are copies (see `CompatHost.payload`) unless `payloadViews`.
 */
export class MqttClient extends EventEmitter {
  /** The resolved options (MQTT.js exposes them too). */
  readonly options: IClientOptions;
  /** The client underneath (session, outbox, state). */
  readonly client: Client;
  /** True between CONNACK and the connection's end. */
  connected = false;
  /** True while offline and about to reconnect. */
  reconnecting = false;
  /** True from `end()` on. */
  disconnecting = false;
  /** True once `end()` has finished. */
  disconnected = false;

  private readonly wrap: (view: Uint8Array) => Uint8Array;
  private readonly payloadViews: boolean;
  private readonly protocolVersion: 4 | 5;
  private readonly defaultErrorListener: (error: unknown) => void;
  /** The `packetEvents` option: packet events may be produced at all. */
  private packetEventsAllowed = false;
  private deferredReconnect = false;
  /** The broker's DISCONNECT was just reported as 'disconnect': the close that follows is not an 'error' (MQTT.js). */
  private serverDisconnect = false;

  /**
   * Creates the client for `host` and, unless `manualConnect`, starts
   * connecting on the next microtask (so listeners added right after this
   * call see every event). Throws TypeError/RangeError for invalid options.
   */
  constructor(host: CompatHost, options: IClientOptions = {}) {
    super();
    const random = host.random ?? Math.random;
    const opts: IClientOptions = { ...options };
    let protocol = (opts.protocol ?? "mqtt").replace(/:$/, "").toLowerCase();
    if (opts.cert !== undefined && opts.key !== undefined && (protocol === "mqtt" || protocol === "tcp")) protocol = "mqtts";
    const secure = protocol === "mqtts" || protocol === "ssl" || protocol === "tls";
    if (!secure && protocol !== "mqtt" && protocol !== "tcp") {
      throw new TypeError(`unsupported protocol "${protocol}" (mqtt-xs speaks mqtt:, tcp:, mqtts:, ssl:, tls:)`);
    }
    const io = secure ? host.TLS : host.TCP;
    if (io === undefined) throw new TypeError(`this host has no TLS socket for "${protocol}:"`);
    opts.protocol = protocol;
    const hostname = opts.hostname ?? opts.host ?? "localhost";
    opts.host = hostname;
    opts.port = opts.port ?? (secure ? 8883 : 1883);
    if (typeof opts.clientId !== "string") {
      if (opts.clean === false) throw new Error("Missing clientId for unclean clients");
      opts.clientId = "mqttxs_" + Math.floor(random() * 0x100000000).toString(16).padStart(8, "0");
    }
    const protocolVersion = opts.protocolVersion ?? 4;
    if (protocolVersion !== 4 && protocolVersion !== 5) {
      throw new RangeError(`protocolVersion must be 4 (MQTT 3.1.1) or 5 (MQTT 5.0), got ${String(protocolVersion)}`);
    }
    opts.protocolVersion = protocolVersion;
    this.options = opts;
    this.protocolVersion = protocolVersion;
    this.wrap = host.payload ?? ((view: Uint8Array) => view.slice());
    this.payloadViews = opts.payloadViews === true;

    const socket: Record<string, unknown> = { ...host.socket, io, host: hostname, port: opts.port };
    if (secure) {
      const s: Record<string, unknown> = { rejectUnauthorized: opts.rejectUnauthorized !== false };
      if (opts.ca !== undefined) s.ca = opts.ca;
      if (opts.cert !== undefined) s.cert = opts.cert;
      if (opts.key !== undefined) s.key = opts.key;
      if (opts.passphrase !== undefined) s.passphrase = opts.passphrase;
      if (opts.servername !== undefined) s.servername = opts.servername;
      else if (!IP_ADDRESS.test(hostname)) s.servername = hostname;
      socket.secure = s;
    }

    const outbox: OutboxOptions = { qos0Offline: opts.queueQoSZero === false ? "discard" : "queue" };
    if (opts.outboxBytes !== undefined) outbox.capacity = opts.outboxBytes;
    if (opts.outboxMessages !== undefined) outbox.maxMessages = opts.outboxMessages;

    const self = this;
    const packetEvents = opts.packetEvents !== false;
    const clientOptions: ClientOptions = {
      socket: socket as SocketSpec,
      timer: host.timer,
      now: host.now,
      random,
      protocolVersion,
      clientId: opts.clientId,
      clean: opts.clean ?? true,
      keepalive: opts.keepalive ?? 60,
      properties: protocolVersion === 5 ? propertiesIn(opts.properties) : undefined,
      connectTimeout: opts.connectTimeout ?? 30000,
      outbox,
      reconnect: opts.reconnectPeriod !== 0,
      reconnectOnRefusal: opts.reconnectOnConnackError !== false,
      backoffInitial: opts.reconnectPeriod === undefined || opts.reconnectPeriod === 0 ? 1000 : opts.reconnectPeriod,
      resubscribe: opts.resubscribe !== false,
      onConnect(connack) {
        self.handleConnect(connack);
      },
      onMessage(packet) {
        self.handleMessage(packet);
      },
      onClose(error) {
        self.handleClose(error);
      },
      onReconnect() {
        self.emit("reconnect");
      },
      onError(error) {
        self.handleClientError(error);
      },
      onDisconnect(packet) {
        self.serverDisconnect = true;
        self.emit("disconnect", self.toCompat(packet));
      },
      onEnd() {
        self.handleEnd();
      },
    };
    if (opts.username !== undefined) clientOptions.username = opts.username;
    if (opts.password !== undefined) clientOptions.password = opts.password;
    if (opts.will !== undefined) {
      const w = opts.will;
      clientOptions.will = { topic: w.topic, payload: w.payload, qos: w.qos ?? 0, retain: w.retain === true };
      if (w.properties !== undefined) clientOptions.will.properties = propertiesIn(w.properties);
    }
    if (opts.maxInflight !== undefined) clientOptions.maxInflight = opts.maxInflight;
    if (opts.maxInflightQos2 !== undefined) clientOptions.maxInflightQos2 = opts.maxInflightQos2;
    if (opts.backoffMax !== undefined) clientOptions.backoffMax = opts.backoffMax;
    if (opts.backoffResetAfter !== undefined) clientOptions.backoffResetAfter = opts.backoffResetAfter;
    if (opts.pingTimeout !== undefined) clientOptions.pingTimeout = opts.pingTimeout;
    if (opts.rxBufferSize !== undefined) clientOptions.rxBufferSize = opts.rxBufferSize;
    if (opts.txBufferSize !== undefined) clientOptions.txBufferSize = opts.txBufferSize;
    if (packetEvents) {
      clientOptions.onPacketSend = (packet) => {
        if (self.listenerCount("packetsend") > 0) self.emit("packetsend", self.toCompat(packet));
      };
      clientOptions.onPacketReceive = (packet) => {
        if (self.listenerCount("packetreceive") > 0) self.emit("packetreceive", self.toCompat(packet));
      };
    }
    this.client = new Client(clientOptions);
    this.packetEventsAllowed = packetEvents;
    this.syncPacketEvents();
    this.defaultErrorListener = noop;
    if (opts.manualConnect !== true) defer(() => this.startIfIdle());
  }

  // Listener bookkeeping: the session produces packet events (and decodes
  // every PUBLISH it sends again for them) only while someone listens to
  // `packetsend` or `packetreceive`. Every way to add or remove a listener
  // goes through these (`removeListener` calls `off`, a `once` wrapper too).

  override on(event: string | symbol, listener: (...args: any[]) => void): this {
    super.on(event, listener);
    this.syncPacketEvents();
    return this;
  }

  override addListener(event: string | symbol, listener: (...args: any[]) => void): this {
    super.addListener(event, listener);
    this.syncPacketEvents();
    return this;
  }

  override prependListener(event: string | symbol, listener: (...args: any[]) => void): this {
    super.prependListener(event, listener);
    this.syncPacketEvents();
    return this;
  }

  override once(event: string | symbol, listener: (...args: any[]) => void): this {
    super.once(event, listener);
    this.syncPacketEvents();
    return this;
  }

  override off(event: string | symbol, listener: (...args: any[]) => void): this {
    super.off(event, listener);
    this.syncPacketEvents();
    return this;
  }

  override removeAllListeners(event?: string | symbol): this {
    super.removeAllListeners(event);
    this.syncPacketEvents();
    return this;
  }

  /** Turns the session's packet events on while `packetsend`/`packetreceive` have listeners (and the option allows them). */
  private syncPacketEvents(): void {
    const client = this.client as Client | undefined; // undefined while the constructor runs
    if (client === undefined) return;
    client.session.packetEvents =
      this.packetEventsAllowed && (this.listenerCount("packetsend") > 0 || this.listenerCount("packetreceive") > 0);
  }

  /**
   * Publishes. `message` is a string (sent as UTF-8) or bytes. The callback
   * gets `(error)` for QoS 0 once written (or queued offline and written
   * after the reconnect), `(error, ack)` for QoS 1/2 on PUBACK/PUBCOMP.
   * Errors without a callback are emitted as `error`.
   */
  publish(topic: string, message: string | Uint8Array, opts?: IClientPublishOptions | PacketCallback, callback?: PacketCallback): this {
    if (typeof opts === "function") {
      callback = opts;
      opts = undefined;
    }
    if (this.checkDisconnecting(callback)) return this;
    const o = opts ?? {};
    const done =
      callback === undefined
        ? undefined
        : (error: MqttError | undefined, result?: PublishResult) => {
            if (error !== undefined) callback!(error);
            else if (result === undefined || result.qos === 0) callback!();
            else callback!(null, this.ackPacket(result));
          };
    try {
      const qos = o.qos ?? 0;
      const retain = o.retain === true;
      const plain = !retain && (qos === 0 || qos === 1 || qos === 2) && (this.protocolVersion !== 5 || o.properties === undefined);
      if (plain) {
        // The common case needs no options object of its own (nothing per call).
        this.client.publish(topic, message, PLAIN_PUBLISH_OPTIONS[qos], done);
        return this;
      }
      const publishOptions: { qos: QoS; retain: boolean; properties?: Properties } = { qos, retain };
      if (this.protocolVersion === 5 && o.properties !== undefined) {
        // MQTT.js lets the caller pick a Topic Alias; here the session assigns them itself.
        const properties = { ...propertiesIn(o.properties) };
        delete properties.topicAlias;
        publishOptions.properties = properties;
      }
      this.client.publish(topic, message, publishOptions, done);
    } catch (error) {
      this.fail(error, callback);
    }
    return this;
  }

  /** Promise form of `publish`: resolves with the acknowledgement packet (QoS 1/2) or undefined (QoS 0). */
  publishAsync(topic: string, message: string | Uint8Array, opts?: IClientPublishOptions): Promise<CompatPacket | undefined> {
    return new Promise((resolve, reject) => {
      this.publish(topic, message, opts, (error, packet) => (error ? reject(error) : resolve(packet)));
    });
  }

  /**
   * Subscribes to a filter, a list of filters (all with `opts`), or an
   * object mapping filters to their options. Works offline (sent after the
   * CONNACK). A filter already subscribed with the same or a higher QoS is
   * skipped, as MQTT.js does. The callback gets `(error, granted)` where
   * `granted` is `[{ topic, qos }]` with the granted QoS or failure code.
   */
  subscribe(
    topicObject: string | string[] | { [topic: string]: IClientSubscribeOptions | QoS },
    opts?: IClientSubscribeOptions | SubscribeCallback,
    callback?: SubscribeCallback,
  ): this {
    if (typeof opts === "function") {
      callback = opts;
      opts = undefined;
    }
    const cb: SubscribeCallback = callback ?? noop;
    const base: IClientSubscribeOptions = opts ?? {};
    let topics: string[];
    let perTopic: { [topic: string]: IClientSubscribeOptions | QoS } | undefined;
    if (typeof topicObject === "string") topics = [topicObject];
    else if (Array.isArray(topicObject)) topics = topicObject;
    else if (topicObject !== null && typeof topicObject === "object") {
      perTopic = topicObject;
      topics = Object.keys(topicObject).filter((t) => t !== "resubscribe");
    } else topics = [];
    for (const topic of topics) {
      if (typeof topic !== "string" || !isValidTopicFilter(topic)) {
        defer(() => cb(new Error(`Invalid topic ${String(topic)}`)));
        return this;
      }
    }
    if (topics.length === 0) {
      defer(() => cb(new Error("Invalid topic undefined")));
      return this;
    }
    if (this.checkDisconnecting(cb)) return this;
    const v5 = this.protocolVersion === 5;
    const dedupe = this.options.resubscribe !== false && this.options.reconnectPeriod !== 0;
    const subs: Subscription[] = [];
    for (const topic of topics) {
      const entry = perTopic !== undefined ? perTopic[topic] : base;
      const so: IClientSubscribeOptions = typeof entry === "number" ? { qos: entry } : (entry ?? {});
      const qos = (so.qos ?? base.qos ?? 0) as QoS;
      const existing = this.client.subscriptions.get(topic);
      if (dedupe && existing !== undefined && existing.subscription.qos >= qos) continue;
      const s: Subscription = { topic, qos };
      if (v5) {
        s.noLocal = so.nl === true;
        s.retainAsPublished = so.rap === true;
        s.retainHandling = so.rh ?? 0;
      }
      subs.push(s);
    }
    if (subs.length === 0) {
      cb(null, []);
      return this;
    }
    const properties = v5 ? propertiesIn(base.properties) : undefined;
    try {
      this.client.subscribe(subs, properties, (error, reasonCodes, ackProperties, packetId) => {
        const granted: ISubscriptionGrant[] = subs.map((s, i) => {
          const g: ISubscriptionGrant = { topic: s.topic, qos: reasonCodes[i] ?? s.qos };
          if (v5) {
            g.nl = s.noLocal;
            g.rap = s.retainAsPublished;
            g.rh = s.retainHandling;
            if (base.properties !== undefined) g.properties = base.properties;
          }
          return g;
        });
        const packet: CompatPacket = { cmd: "suback", messageId: packetId, granted: reasonCodes };
        if (ackProperties !== undefined) packet.properties = this.propertiesOut(ackProperties);
        cb(error ?? null, granted, packet);
      });
    } catch (error) {
      this.fail(error, cb);
    }
    return this;
  }

  /** Promise form of `subscribe`: resolves with the granted list, rejects on any failure code. */
  subscribeAsync(
    topicObject: string | string[] | { [topic: string]: IClientSubscribeOptions | QoS },
    opts?: IClientSubscribeOptions,
  ): Promise<ISubscriptionGrant[]> {
    return new Promise((resolve, reject) => {
      this.subscribe(topicObject, opts, (error, granted) => (error ? reject(error) : resolve(granted ?? [])));
    });
  }

  /** Unsubscribes from one filter or several. The callback gets `(error, unsuback)`. */
  unsubscribe(topic: string | string[], opts?: { properties?: CompatProperties } | PacketCallback, callback?: PacketCallback): this {
    if (typeof opts === "function") {
      callback = opts;
      opts = undefined;
    }
    const cb: PacketCallback = callback ?? noop;
    const topics = typeof topic === "string" ? [topic] : topic;
    if (!Array.isArray(topics) || topics.length === 0) {
      defer(() => cb(new Error(`Invalid topic ${String(topic)}`)));
      return this;
    }
    for (const t of topics) {
      if (typeof t !== "string" || !isValidTopicFilter(t)) {
        defer(() => cb(new Error(`Invalid topic ${String(t)}`)));
        return this;
      }
    }
    if (this.checkDisconnecting(cb)) return this;
    const properties = this.protocolVersion === 5 && opts !== undefined ? propertiesIn(opts.properties) : undefined;
    try {
      this.client.unsubscribe(topics, properties, (error, reasonCodes, ackProperties, packetId) => {
        const packet: CompatPacket = { cmd: "unsuback", messageId: packetId };
        if (this.protocolVersion === 5) packet.granted = reasonCodes;
        if (ackProperties !== undefined) packet.properties = this.propertiesOut(ackProperties);
        // MQTT.js reports UNSUBACK reason codes in the packet, never as an error.
        const failedCodes = error instanceof MqttError && error.code === ErrorCode.SubscribeFailed;
        cb(failedCodes ? null : (error ?? null), packet);
      });
    } catch (error) {
      this.fail(error, cb);
    }
    return this;
  }

  /** Promise form of `unsubscribe`. */
  unsubscribeAsync(topic: string | string[], opts?: { properties?: CompatProperties }): Promise<CompatPacket | undefined> {
    return new Promise((resolve, reject) => {
      this.unsubscribe(topic, opts, (error, packet) => (error ? reject(error) : resolve(packet)));
    });
  }

  /**
   * Closes the client. `force` true: close the socket at once, no
   * DISCONNECT (the broker publishes the Will). Otherwise wait for
   * in-flight messages and requests to be acknowledged, then DISCONNECT
   * (`opts.reasonCode`, `opts.properties` for v5). Emits `close` (if
   * connected) then `end`, then calls `cb`. Argument forms as MQTT.js:
   * `end()`, `end(cb)`, `end(force)`, `end(force, cb)`, `end(force, opts, cb)`,
   * `end(opts, cb)`.
   */
  end(force?: boolean | { reasonCode?: number; properties?: CompatProperties } | ErrorCallback, opts?: any, cb?: ErrorCallback): this {
    if (force === null || force === undefined || typeof force !== "boolean") {
      cb = cb ?? opts;
      opts = force;
      force = false;
    }
    if (typeof opts !== "object" || opts === null) {
      cb = cb ?? opts;
      opts = undefined;
    }
    const done: ErrorCallback = typeof cb === "function" ? cb : noop;
    if (this.disconnecting) {
      done();
      return this;
    }
    this.disconnecting = true;
    const endOptions: { force: boolean; drain: boolean; reasonCode?: number; properties?: Properties } = {
      force: force === true,
      drain: force !== true,
    };
    if (opts !== undefined && typeof opts.reasonCode === "number") endOptions.reasonCode = opts.reasonCode;
    if (opts !== undefined && opts.properties !== undefined) endOptions.properties = propertiesIn(opts.properties);
    this.client.end(endOptions, () => {
      // The client calls onEnd only when something was running (then `disconnected` is already
      // true here); MQTT.js emits 'end' on every end().
      if (!this.disconnected) this.handleEnd();
      done();
    });
    return this;
  }

  /** Promise form of `end`. */
  endAsync(force?: boolean, opts?: { reasonCode?: number; properties?: CompatProperties }): Promise<void> {
    return new Promise((resolve, reject) => {
      this.end(force === true, opts ?? {}, (error) => (error ? reject(error) : resolve()));
    });
  }

  /**
   * Connects again, emitting `reconnect` (as MQTT.js): after `end()` (once
   * it has finished; called earlier, it waits for that), or at once
   * instead of waiting for the backoff. While connected it ends the
   * connection first (no drain).
   */
  reconnect(): this {
    if (this.disconnecting && !this.disconnected) {
      this.deferredReconnect = true;
      return this;
    }
    this.disconnecting = false;
    this.disconnected = false;
    const state = this.client.state;
    if (state === ClientState.Connected || state === ClientState.Connecting) {
      // As MQTT.js: end() waits for in-flight messages, then connects again.
      this.client.end({ drain: true }, () => {
        this.disconnected = false;
        this.emit("reconnect");
        this.client.connect();
      });
    } else if (state === ClientState.Waiting) {
      this.client.connect(); // the client reports it through onReconnect
    } else {
      this.emit("reconnect");
      this.client.connect();
    }
    return this;
  }

  /** Starts connecting (for `manualConnect`, or after `end()`), without a `reconnect` event. */
  connect(): this {
    if (this.disconnecting && !this.disconnected) return this;
    this.disconnecting = false;
    this.disconnected = false;
    this.client.connect();
    return this;
  }

  // ---- event translation ---------------------------------------------

  private startIfIdle(): void {
    if (this.client.state === ClientState.Idle && !this.disconnecting) this.client.connect();
  }

  private handleConnect(connack: ConnackPacket): void {
    this.connected = true;
    this.reconnecting = false;
    this.emit("connect", this.toCompat(connack));
  }

  private handleMessage(packet: PublishPacket): void {
    if (this.listenerCount("message") === 0) return;
    const payload = this.payloadViews ? packet.payload : this.wrap(packet.payload);
    this.emit("message", packet.topic, payload, this.publishPacket(packet, payload));
  }

  /** Order as MQTT.js: `error` (unless an orderly close), `offline` (when a reconnect is scheduled, once), `close`. */
  private handleClose(error: MqttError | undefined): void {
    this.connected = false;
    const afterDisconnect = this.serverDisconnect;
    this.serverDisconnect = false;
    if (error !== undefined && !isOrderlyClose(error) && !afterDisconnect) this.emit("error", error);
    if (this.client.state === ClientState.Waiting && !this.reconnecting) {
      this.reconnecting = true;
      this.emit("offline");
    }
    this.emit("close");
  }

  private handleEnd(): void {
    this.disconnected = true;
    this.reconnecting = false;
    this.emit("end");
    if (this.deferredReconnect) {
      this.deferredReconnect = false;
      defer(() => this.reconnect());
    }
  }

  /**
   * Errors from the client that belong to no operation (a listener threw,
   * a resubscribe was refused). With a listener of the user's: emitted.
   * With only the default no-op listener that `connect()` installs: thrown
   * (the client rethrows it to the socket/timer callback that was running),
   * so a throwing `message` listener is not silently lost.
   */
  private handleClientError(error: unknown): void {
    const listeners = this.listeners("error");
    if (listeners.length === 0 || (listeners.length === 1 && listeners[0] === this.defaultErrorListener)) throw error;
    this.emit("error", error);
  }

  /** Installs the no-op `error` listener MQTT.js's `connect()` adds. */
  installDefaultErrorListener(): void {
    this.on("error", this.defaultErrorListener);
  }

  private checkDisconnecting(callback: ((error: Error) => void) | undefined): boolean {
    if (!this.disconnecting) return false;
    const error = new MqttError(ErrorCode.Closed, "client disconnecting");
    if (callback !== undefined && callback !== noop) callback(error);
    else this.emit("error", error);
    return true;
  }

  private fail(error: unknown, callback: ((error: Error) => void) | undefined): void {
    const e = error instanceof Error ? error : new Error(String(error));
    if (callback !== undefined && callback !== noop) defer(() => callback(e));
    else this.emit("error", e);
  }

  private ackPacket(result: PublishResult): CompatPacket {
    const packet: CompatPacket = { cmd: result.qos === 1 ? "puback" : "pubcomp", messageId: result.packetId, reasonCode: result.reasonCode };
    if (result.properties !== undefined) packet.properties = this.propertiesOut(result.properties);
    return packet;
  }

  private publishPacket(packet: PublishPacket, payload: Uint8Array): CompatPacket {
    const out: CompatPacket = {
      cmd: "publish",
      topic: packet.topic,
      payload,
      qos: packet.qos,
      retain: packet.retain,
      dup: packet.dup,
    };
    if (packet.packetId !== undefined) out.messageId = packet.packetId;
    if (packet.properties !== undefined) out.properties = this.propertiesOut(packet.properties);
    return out;
  }

  /** Any packet of ours in MQTT.js's shape (shallow; binary fields copied). */
  toCompat(packet: Packet): CompatPacket {
    const p = packet as unknown as { [field: string]: unknown };
    const out: CompatPacket = { cmd: CMD[packet.type] ?? "unknown" };
    for (const key of Object.keys(p)) {
      if (key === "type") continue;
      const value = p[key];
      if (key === "packetId") out.messageId = value;
      else if (key === "properties") out.properties = this.propertiesOut(value as Properties);
      else if (key === "payload" && value instanceof Uint8Array) out.payload = this.wrap(value);
      else out[key] = value;
    }
    if (packet.type === 2) out.returnCode = (packet as ConnackPacket).reasonCode;
    else if (packet.type === 9) out.granted = (packet as { reasonCodes: number[] }).reasonCodes;
    else if (packet.type === 8) {
      out.subscriptions = (packet as { subscriptions: Subscription[] }).subscriptions.map((s) => ({
        topic: s.topic,
        qos: s.qos,
        nl: s.noLocal,
        rap: s.retainAsPublished,
        rh: s.retainHandling,
      }));
    } else if (packet.type === 10) out.unsubscriptions = (packet as { topics: string[] }).topics;
    return out;
  }

  /** Our properties -> MQTT.js shape (user properties as an object, binary data copied). */
  private propertiesOut(properties: Properties): CompatProperties {
    const out: { [name: string]: unknown } = { ...properties };
    if (properties.userProperties !== undefined) {
      const up: UserProperties = {};
      for (const [name, value] of properties.userProperties) {
        const prev = up[name];
        if (prev === undefined) up[name] = value;
        else if (Array.isArray(prev)) prev.push(value);
        else up[name] = [prev, value];
      }
      out.userProperties = up;
    }
    if (properties.correlationData !== undefined) out.correlationData = this.wrap(properties.correlationData);
    if (properties.authenticationData !== undefined) out.authenticationData = this.wrap(properties.authenticationData);
    return out as CompatProperties;
  }
}

/** `connect` for one host: MQTT.js signatures. */
export interface ConnectFunction {
  (brokerUrl: string, options?: IClientOptions): MqttClient;
  (options: IClientOptions): MqttClient;
}

/** `connectAsync` for one host: resolves on `connect`, rejects on the first `error`. */
export interface ConnectAsyncFunction {
  (brokerUrl: string, options?: IClientOptions, allowRetries?: boolean): Promise<MqttClient>;
  (options: IClientOptions, allowRetries?: boolean): Promise<MqttClient>;
}

/**
 * `connect(url, options)` / `connect(options)` for `host`, as MQTT.js:
 * options override the URL's parts; `auth` "user:pass" and the URL query's
 * `clientId` are applied; the returned client has a no-op `error` listener
 * (MQTT.js adds one), and connects on the next microtask.
 */
export function connect(host: CompatHost, brokerUrl?: string | IClientOptions, options?: IClientOptions): MqttClient {
  let opts: IClientOptions;
  if (typeof brokerUrl === "object" && brokerUrl !== null) {
    opts = { ...brokerUrl };
  } else {
    opts = { ...(options ?? {}) };
    if (typeof brokerUrl === "string" && brokerUrl !== "") {
      const parsed = parseBrokerUrl(brokerUrl);
      opts = { ...parsed, ...opts };
    }
  }
  if (typeof opts.auth === "string") {
    const colon = opts.auth.indexOf(":");
    if (colon > 0 && colon < opts.auth.length - 1) {
      if (opts.username === undefined) opts.username = opts.auth.slice(0, colon);
      if (opts.password === undefined) opts.password = opts.auth.slice(colon + 1);
    } else if (opts.username === undefined && opts.auth !== "") opts.username = opts.auth;
  }
  if (opts.query !== undefined && typeof opts.query.clientId === "string") opts.clientId = opts.query.clientId;
  const client = new MqttClient(host, opts);
  client.installDefaultErrorListener();
  return client;
}

/** Promise form of `connect` (MQTT.js `connectAsync`). With `allowRetries` false, the first `close` rejects. */
export function connectAsync(
  host: CompatHost,
  brokerUrl?: string | IClientOptions,
  options?: IClientOptions | boolean,
  allowRetries = true,
): Promise<MqttClient> {
  if (typeof brokerUrl === "object" && typeof options === "boolean") {
    allowRetries = options;
    options = undefined;
  }
  return new Promise((resolve, reject) => {
    const client = connect(host, brokerUrl, options as IClientOptions | undefined);
    const listeners: { [event: string]: (...args: any[]) => void } = {
      connect: () => {
        remove();
        resolve(client);
      },
      end: () => {
        remove();
        resolve(client);
      },
      error: (error: Error) => {
        remove();
        client.end();
        reject(error);
      },
    };
    if (allowRetries === false) {
      listeners.close = () => listeners.error(new Error("Couldn't connect to server"));
    }
    const remove = (): void => {
      for (const event of Object.keys(listeners)) client.off(event, listeners[event]);
    };
    for (const event of Object.keys(listeners)) client.on(event, listeners[event]);
  });
}

/** `connect` and `connectAsync` bound to one host: what a host entry exports. */
export function bindHost(host: CompatHost): { connect: ConnectFunction; connectAsync: ConnectAsyncFunction } {
  return Object.freeze({
    connect: ((brokerUrl?: string | IClientOptions, options?: IClientOptions) => connect(host, brokerUrl, options)) as ConnectFunction,
    connectAsync: ((brokerUrl?: string | IClientOptions, options?: IClientOptions | boolean, allowRetries?: boolean) =>
      connectAsync(host, brokerUrl, options, allowRetries)) as ConnectAsyncFunction,
  });
}
