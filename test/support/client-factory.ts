/**
 * One interop scenario, two clients: a factory makes an MQTT.js-compatible
 * client either on Node (`hosts/node/mqtt.ts`) or inside the XS engine
 * (`hosts/xsnap/host.ts`, the client running in an xsnap worker with its
 * sockets and timers bridged to Node). A scenario written against
 * {@link MqttClientLike} and {@link ClientFactory} runs on both:
 *
 * ```ts
 * for (const factory of await clientFactories()) {
 *   test(`${factory.name}: QoS 1 round trip`, async (t) => {
 *     const c = await factory.connectAsync(url, { protocolVersion: 5 });
 *     ...
 *   });
 * }
 * test("close factories", async () => { for (const f of factories) await f.close(); });
 * ```
 *
 * Differences a scenario must allow for: on XS, methods are asynchronous
 * calls (they return at once; their callbacks, promises and the flags
 * `connected`/`reconnecting` settle when XS reports), and an exception
 * inside XS fails the test process loudly (XsHost "fault") unless the
 * scenario listens for faults on `factory.xs`. Payloads are Buffers on both.
 *
 * Node-only test support.
 */
import { connect as nodeConnect, connectAsync as nodeConnectAsync } from "../../hosts/node/mqtt";
import { XsHost } from "../../hosts/xsnap/host";
import type { XsHostOptions } from "../../hosts/xsnap/host";
import type {
  CompatPacket,
  CompatProperties,
  IClientOptions,
  IClientPublishOptions,
  IClientSubscribeOptions,
  ISubscriptionGrant,
} from "../../modules/mqtt/compat";
import type { QoS } from "../../modules/mqtt/codec/packets";

type Listener = (...args: any[]) => void;

/** The MQTT.js surface a scenario may use; both the Node client and the XS proxy have it. */
export interface MqttClientLike {
  readonly connected: boolean;
  readonly reconnecting: boolean;
  readonly disconnecting: boolean;
  readonly disconnected: boolean;
  on(event: string, listener: Listener): this;
  once(event: string, listener: Listener): this;
  off(event: string, listener: Listener): this;
  removeListener(event: string, listener: Listener): this;
  removeAllListeners(event?: string): this;
  listenerCount(event: string): number;
  publish(topic: string, message: string | Uint8Array, opts?: IClientPublishOptions, callback?: Listener): this;
  publishAsync(topic: string, message: string | Uint8Array, opts?: IClientPublishOptions): Promise<CompatPacket | undefined>;
  subscribe(
    topicObject: string | string[] | { [topic: string]: IClientSubscribeOptions | QoS },
    opts?: IClientSubscribeOptions,
    callback?: Listener,
  ): this;
  subscribeAsync(
    topicObject: string | string[] | { [topic: string]: IClientSubscribeOptions | QoS },
    opts?: IClientSubscribeOptions,
  ): Promise<ISubscriptionGrant[]>;
  unsubscribe(topic: string | string[], opts?: { properties?: CompatProperties }, callback?: Listener): this;
  unsubscribeAsync(topic: string | string[], opts?: { properties?: CompatProperties }): Promise<CompatPacket | undefined>;
  end(force?: boolean, opts?: object, callback?: Listener): this;
  endAsync(force?: boolean, opts?: { reasonCode?: number; properties?: CompatProperties }): Promise<void>;
  reconnect(): this;
}

/** Makes clients on one host. */
export interface ClientFactory {
  /** "node" or "xs": put it in test names. */
  readonly name: "node" | "xs";
  /** The XS host behind an "xs" factory (faults, meters, `load`); undefined for "node". */
  readonly xs: XsHost | undefined;
  /** MQTT.js `connect`: returns at once; add listeners in the same tick to see every event. */
  connect(url: string, options?: IClientOptions): MqttClientLike;
  /** MQTT.js `connectAsync`: resolves once connected, rejects on the first error. */
  connectAsync(url: string, options?: IClientOptions): Promise<MqttClientLike>;
  /**
   * Resolves once the host has caught up: on XS, every call made so far
   * has been handled inside XS (so, e.g., a subscription's listener is in
   * place); on Node at once.
   */
  settle(): Promise<void>;
  /** Releases the host (the XS worker). Idempotent. */
  close(): Promise<void>;
}

/** The factory for clients on Node (`hosts/node/mqtt.ts`). */
export function nodeFactory(): ClientFactory {
  return Object.freeze({
    name: "node" as const,
    xs: undefined,
    connect: (url: string, options?: IClientOptions) => nodeConnect(url, options) as unknown as MqttClientLike,
    connectAsync: async (url: string, options?: IClientOptions) => (await nodeConnectAsync(url, options)) as unknown as MqttClientLike,
    settle: async () => {},
    close: async () => {},
  });
}

/** The factory for clients inside XS: starts one `XsHost` (one xsnap worker) shared by its clients. */
export async function xsFactory(options?: XsHostOptions): Promise<ClientFactory> {
  const xs = await XsHost.start(options);
  return Object.freeze({
    name: "xs" as const,
    xs,
    connect: (url: string, opts?: IClientOptions) => xs.connect(url, opts) as unknown as MqttClientLike,
    connectAsync: async (url: string, opts?: IClientOptions) => (await xs.connectAsync(url, opts)) as unknown as MqttClientLike,
    settle: () => xs.sync(),
    close: () => xs.close(),
  });
}

/** Both factories, Node first. Close them at the end of the file (`for (const f of fs) await f.close()`). */
export async function clientFactories(options?: XsHostOptions): Promise<ClientFactory[]> {
  return [nodeFactory(), await xsFactory(options)];
}
