/**
 * Node-side proxy of an MQTT.js-compatible client that lives inside the XS
 * test host (`modules/mqtt/compat.ts` running in the xsnap worker, see
 * `xs/mqtt-rpc.ts`). It has the same surface as the Node client
 * (`hosts/node/mqtt.ts`): `publish`, `subscribe`, `unsubscribe`, `end`,
 * `reconnect`, their `*Async` forms, `on(event, listener)`, and the
 * `connected`/`reconnecting`/`disconnecting`/`disconnected` flags.
 *
 * Theory of operation
 * -------------------
 * Every method is a call into XS, queued behind the host's other traffic
 * and answered later: methods return at once (`this`, as MQTT.js), their
 * callbacks and promises settle when XS reports. Listening is on demand:
 * the first listener for an event name asks XS to forward that event
 * (`mqtt.listen`); listeners added in the same tick as the proxy's
 * creation are forwarded from the first packet on, because the client is
 * created in XS on the next microtask with the list of names wanted.
 * Like MQTT.js's `connect()`, the proxy starts with a no-op `error`
 * listener, so XS errors are always forwarded and never thrown at random.
 *
 * Payloads and binary properties arrive as Node `Buffer` copies (the Node
 * client gives Buffers too). Errors keep their XS class (`MqttError` with
 * `code`, `reasonCode`, `source`; `TypeError`; ...) and carry the XS stack,
 * mapped to the TypeScript sources.
 *
 * Flags are updated from the snapshot that comes with every event and
 * callback, before listeners run; `disconnecting` is also set by `end()`
 * at once, as MQTT.js does.
 *
 * Node-only.
 */
import { EventEmitter } from "node:events";
import type {
  CompatPacket,
  CompatProperties,
  IClientOptions,
  IClientPublishOptions,
  IClientSubscribeOptions,
  ISubscriptionGrant,
} from "../../modules/mqtt/compat";
import type { QoS } from "../../modules/mqtt/codec/packets";

/** What the proxy needs from its host (`XsHost` implements it). */
export interface XsClientPort {
  /** Calls an RPC method in XS; resolves with its result, rejects with its exception. */
  call(method: string, ...args: unknown[]): Promise<unknown>;
  /** Registers a one-shot callback XS will call; returns its id (never 0). */
  callback(fn: (...args: any[]) => void): number;
  /** Forgets a callback registered with `callback` (when the call that would use it failed). */
  dropCallback(id: number): void;
}

/** State of the XS-side client, from `inspect()`. */
export interface XsClientInspection {
  flags: number;
  /** `ClientState` value of the XS client (`"connected"`, `"waiting"`, ...). */
  state: string;
  /** Failed connection attempts since the backoff was last reset. */
  attempt: number;
  outbox: { queued: number; inflight: number; dropped: number; expired: number; bytesUsed: number };
  /** Topic filters the client will restore on reconnect. */
  subscriptions: string[];
}

type Callback = (...args: any[]) => void;

const INTERNAL_EVENTS = new Set(["newListener", "removeListener"]);

function noop(): void {}

/** An MQTT.js-compatible client running inside XS; create it with `XsHost.connect`. */
export class XsMqttClient extends EventEmitter {
  /** Id of the client in the XS host. */
  readonly id: number;
  /** Options as given to `connect` (the URL's parts are applied in XS). */
  readonly options: IClientOptions;
  /** True between CONNACK and the connection's end (as last reported by XS). */
  connected = false;
  /** True while offline and about to reconnect. */
  reconnecting = false;
  /** True from `end()` on. */
  disconnecting = false;
  /** True once `end()` has finished. */
  disconnected = false;

  private readonly port: XsClientPort;
  private readonly listening = new Set<string>();
  private created = false;

  /** Use `XsHost.connect`. Creates the XS client on the next microtask. */
  constructor(port: XsClientPort, id: number, url: string | undefined, options: IClientOptions) {
    super();
    this.port = port;
    this.id = id;
    this.options = options;
    this.on("newListener", (event: string | symbol) => {
      if (typeof event !== "string" || INTERNAL_EVENTS.has(event) || this.listening.has(event)) return;
      this.listening.add(event);
      if (this.created) this.port.call("mqtt.listen", this.id, event).catch((error) => this.report(error));
    });
    this.on("removeListener", (event: string | symbol) => {
      if (typeof event !== "string" || INTERNAL_EVENTS.has(event) || !this.listening.has(event)) return;
      if (this.listenerCount(event) > 0) return;
      this.listening.delete(event);
      if (this.created) this.port.call("mqtt.unlisten", this.id, event).catch((error) => this.report(error));
    });
    this.on("error", noop);
    queueMicrotask(() => {
      this.created = true;
      this.port
        .call("mqtt.connect", this.id, url, options, Array.from(this.listening))
        .then((flags) => this.setFlags(flags as number), (error) => this.report(error));
    });
  }

  /** Applies a flag snapshot from XS (1 connected, 2 reconnecting, 4 disconnecting, 8 disconnected). */
  setFlags(flags: number): void {
    this.connected = (flags & 1) !== 0;
    this.reconnecting = (flags & 2) !== 0;
    this.disconnecting = this.disconnecting || (flags & 4) !== 0;
    this.disconnected = (flags & 8) !== 0;
    if (this.disconnected && (flags & 4) === 0) this.disconnecting = false;
  }

  /** Delivers an event forwarded by XS (called by the host). */
  deliver(event: string, args: unknown[], flags: number): void {
    this.setFlags(flags);
    this.emit(event, ...args);
  }

  /** Publishes (see `MqttClient.publish` in compat.ts). The callback gets `(error)` or `(null, ack)`. */
  publish(topic: string, message: string | Uint8Array, opts?: IClientPublishOptions | Callback, callback?: Callback): this {
    if (typeof opts === "function") {
      callback = opts;
      opts = undefined;
    }
    return this.invoke("mqtt.publish", [topic, message, opts], callback);
  }

  /** Promise form of `publish`: the acknowledgement packet (QoS 1/2) or undefined (QoS 0). */
  publishAsync(topic: string, message: string | Uint8Array, opts?: IClientPublishOptions): Promise<CompatPacket | undefined> {
    return new Promise((resolve, reject) => {
      this.publish(topic, message, opts, (error: Error | null | undefined, packet?: CompatPacket) => (error ? reject(error) : resolve(packet)));
    });
  }

  /** Subscribes (a filter, a list, or an object of filters to options). The callback gets `(error, granted, suback)`. */
  subscribe(
    topicObject: string | string[] | { [topic: string]: IClientSubscribeOptions | QoS },
    opts?: IClientSubscribeOptions | Callback,
    callback?: Callback,
  ): this {
    if (typeof opts === "function") {
      callback = opts;
      opts = undefined;
    }
    return this.invoke("mqtt.subscribe", [topicObject, opts], callback);
  }

  /** Promise form of `subscribe`: the granted list. */
  subscribeAsync(
    topicObject: string | string[] | { [topic: string]: IClientSubscribeOptions | QoS },
    opts?: IClientSubscribeOptions,
  ): Promise<ISubscriptionGrant[]> {
    return new Promise((resolve, reject) => {
      this.subscribe(topicObject, opts, (error: Error | null, granted?: ISubscriptionGrant[]) => (error ? reject(error) : resolve(granted ?? [])));
    });
  }

  /** Unsubscribes. The callback gets `(error, unsuback)`. */
  unsubscribe(topic: string | string[], opts?: { properties?: CompatProperties } | Callback, callback?: Callback): this {
    if (typeof opts === "function") {
      callback = opts;
      opts = undefined;
    }
    return this.invoke("mqtt.unsubscribe", [topic, opts], callback);
  }

  /** Promise form of `unsubscribe`. */
  unsubscribeAsync(topic: string | string[], opts?: { properties?: CompatProperties }): Promise<CompatPacket | undefined> {
    return new Promise((resolve, reject) => {
      this.unsubscribe(topic, opts, (error: Error | null, packet?: CompatPacket) => (error ? reject(error) : resolve(packet)));
    });
  }

  /**
   * Ends the client (MQTT.js forms: `end()`, `end(cb)`, `end(force)`,
   * `end(force, cb)`, `end(force, opts, cb)`, `end(opts, cb)`). `force`:
   * close the socket without DISCONNECT (the broker publishes the Will).
   */
  end(force?: boolean | { reasonCode?: number; properties?: CompatProperties } | Callback, opts?: any, callback?: Callback): this {
    if (typeof force === "function") {
      callback = force;
      force = false;
      opts = undefined;
    } else if (typeof force === "object" && force !== null) {
      callback = typeof opts === "function" ? opts : callback;
      opts = force;
      force = false;
    }
    if (typeof opts === "function") {
      callback = opts;
      opts = undefined;
    }
    this.disconnecting = true;
    return this.invoke("mqtt.end", [force === true, opts], callback);
  }

  /** Promise form of `end`. */
  endAsync(force?: boolean, opts?: { reasonCode?: number; properties?: CompatProperties }): Promise<void> {
    return new Promise((resolve, reject) => {
      this.end(force === true, opts ?? {}, (error?: Error | null) => (error ? reject(error) : resolve()));
    });
  }

  /** Connects again (after `end()`, or now instead of waiting for the backoff). */
  reconnect(): this {
    this.disconnecting = false;
    this.disconnected = false;
    this.port.call("mqtt.reconnect", this.id).then((flags) => this.setFlags(flags as number), (error) => this.report(error));
    return this;
  }

  /** Alias of `reconnect`. */
  connect(): this {
    return this.reconnect();
  }

  /** The XS client's state, outbox counters and remembered subscriptions. */
  inspect(): Promise<XsClientInspection> {
    return this.port.call("mqtt.inspect", this.id) as Promise<XsClientInspection>;
  }

  /** Forgets the client in XS (forcing an end when it still runs). Listeners here stay but will not fire again. */
  dispose(): Promise<void> {
    return this.port.call("mqtt.dispose", this.id).then(() => undefined);
  }

  private invoke(method: string, args: unknown[], callback: Callback | undefined): this {
    const cb = callback === undefined ? 0 : this.port.callback(callback);
    this.port.call(method, this.id, ...args, cb).catch((error) => {
      if (cb !== 0) {
        this.port.dropCallback(cb);
        callback!(error);
      } else {
        this.report(error);
      }
    });
    return this;
  }

  /** An RPC failure with no callback to tell: emitted as `error` (with the user's listeners) or rethrown. */
  private report(error: unknown): void {
    if (this.listeners("error").some((listener) => listener !== noop)) this.emit("error", error);
    else queueMicrotask(() => {
      throw error;
    });
  }
}
