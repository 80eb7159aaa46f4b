/**
 * mqtt-xs on Moddable: the platform half of the client for a board or the
 * Moddable simulator. Module `mqtt-xs/moddable` (modules/io/manifest.json).
 *
 * ```ts
 * import { connect } from "mqtt-xs/moddable";
 * const client = connect("mqtt://192.168.1.10:1883", { clientId: "node-7" });
 * client.on("message", (topic, payload) => trace(`${topic}\n`));
 * ```
 *
 * Theory of operation
 * -------------------
 * The client core (`mqtt-xs/mqtt/client`, `mqtt-xs/mqtt/compat`) touches no platform
 * API; it is given a socket class, one timer and a clock (`CompatHost`).
 * This module supplies them from Moddable:
 *
 * - the socket class is `mqtt-xs/transport`, which the manifest maps to one
 *   of two implementations: Moddable's ECMA-419 TCP socket with name
 *   resolution (`resolving-tcp.ts`, the default) or the native lwIP host
 *   module (`native-tcp-socket.ts`, build variable `MQTTXS_TRANSPORT=native`).
 *   `transportName` says which one was built in;
 * - the timer is Moddable's `timer` module (`Timer.set`/`Timer.clear`);
 * - the clock is `Time.ticks` made monotonic: ticks are a 32-bit
 *   millisecond counter that wraps (about every 49.7 days), so each host
 *   accumulates `Time.delta` between readings instead of using ticks
 *   directly. `Date.now()` is not used: it jumps when SNTP sets the time.
 *
 * TLS (`mqtts:`) needs an ECMA-419 TLS socket class, which Moddable ships as
 * an example module (`embedded:io/socket/tcp/tls`, Moddable SDK
 * `examples/io/tcp/tlssocket`) that pulls in the TLS stack. It is not part
 * of this SDK's manifest: an app that wants TLS includes it and passes the
 * class, `moddableHost({ TLS })`. The TLS socket runs over `mqtt-xs/transport`.
 *
 * Preload: the module body only creates frozen objects; every host (and so
 * every clock state) is created by a call.
 */
import Timer from "timer";
import Time from "time";
import Transport, { transportName } from "mqtt-xs/transport";
import { connect as compatConnect, connectAsync as compatConnectAsync } from "mqtt-xs/mqtt/compat";
import type { CompatHost, ConnectAsyncFunction, ConnectFunction, IClientOptions, MqttClient } from "mqtt-xs/mqtt/compat";
import type { ClientTimer } from "mqtt-xs/mqtt/client";
import type { TcpSocketClass, TlsSocketOptions } from "../tcp-types";

export { Transport, transportName };

/**
 * The client's one timer on Moddable. `set(callback, ms)` returns the
 * Moddable timer; `clear` accepts it (or `undefined`). One-shot only.
 */
export const moddableTimer: ClientTimer = Object.freeze({
  set(callback: () => void, ms: number): unknown {
    return Timer.set(callback, ms);
  },
  clear(id: unknown): void {
    Timer.clear(id as Timer | undefined);
  },
});

/**
 * A new monotonic clock in milliseconds, starting at 0 when created. Each
 * call returns the time elapsed since creation, accumulated from
 * `Time.ticks` with wraparound-safe `Time.delta`; read it at least once
 * per wrap period (the client reads it on every timer and socket event).
 */
export function createClock(): () => number {
  let last = Time.ticks;
  let elapsed = 0;
  return (): number => {
    const ticks = Time.ticks;
    elapsed += Time.delta(last, ticks);
    last = ticks;
    return elapsed;
  };
}

/** Options of {@link moddableHost}. */
export interface ModdableHostOptions {
  /**
   * ECMA-419 TLS socket class for `mqtts:`/`ssl:`/`tls:` URLs, e.g.
   * `embedded:io/socket/tcp/tls`. Absent: those URLs throw TypeError.
   */
  TLS?: TcpSocketClass<TlsSocketOptions>;
  /**
   * Extra socket options given to every socket (e.g. `maximumPacketSize`
   * for the native transport, `secure` for Moddable's TLS socket).
   */
  socket?: Record<string, unknown>;
}

/**
 * A `CompatHost` for Moddable: `mqtt-xs/transport` for `mqtt:`/`tcp:`, the
 * given TLS class (running over `mqtt-xs/transport`) for `mqtts:`,
 * `moddableTimer`, and a fresh clock from `createClock()`. Inbound payloads
 * reach listeners as `Uint8Array` copies. Returns a frozen object.
 */
export function moddableHost(options: ModdableHostOptions = {}): CompatHost {
  const host: CompatHost = {
    TCP: Transport,
    timer: moddableTimer,
    now: createClock(),
    socket: { TCP: { io: Transport }, ...options.socket },
  };
  if (options.TLS !== undefined) host.TLS = options.TLS;
  return Object.freeze(host);
}

/**
 * MQTT.js `connect(url, options)` / `connect(options)` on Moddable, over a
 * new `moddableHost()` (plain TCP only; for TLS use
 * `connect` from `mqtt-xs/mqtt/compat` with `moddableHost({ TLS })`). The broker
 * URL is split by `parseBrokerUrl` (`mqtt-xs/mqtt/compat`): `mqtt://host:1883`
 * gives host and port; the host may be a name (resolved on the device) or
 * an IP address. Connects on the next turn; see `MqttClient`.
 */
export const connect: ConnectFunction = ((brokerUrl?: string | IClientOptions, options?: IClientOptions): MqttClient =>
  compatConnect(moddableHost(), brokerUrl, options)) as ConnectFunction;

/** MQTT.js `connectAsync(url, options, allowRetries)` on Moddable, over a new `moddableHost()`. */
export const connectAsync: ConnectAsyncFunction = ((
  brokerUrl?: string | IClientOptions,
  options?: IClientOptions | boolean,
  allowRetries?: boolean,
): Promise<MqttClient> => compatConnectAsync(moddableHost(), brokerUrl, options, allowRetries)) as ConnectAsyncFunction;
