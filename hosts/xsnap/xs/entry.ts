/**
 * Entry of the XS test host bundle: esbuild bundles this file (and what it
 * imports: the sockets, timers, dispatcher, RPC and the MQTT client) into
 * one IIFE script that `XsHost` evaluates first in a fresh xsnap worker.
 *
 * It installs three globals:
 * - `handleCommand(buffer)`: the dispatcher the host drives (`dispatch.ts`);
 * - `device`: an ECMA-419 host provider object, as on a board
 *   (`device.io.TCP`, `device.network.mqtt.socket`,
 *   `device.network.mqtts.socket`, plus `device.timer`, Moddable-`Timer`-shaped);
 * - `xsnapHost`: what bundles loaded later (`XsHost.loadBundle`) use to
 *   reach this host: see {@link XsnapHostGlobal}.
 *
 * Bundles loaded later must take their IO from these globals, not import
 * `hosts/xsnap/xs/*` themselves: a second copy of those modules would have
 * its own socket and timer tables, which the dispatcher does not know.
 */
import { handleCommand } from "./dispatch";
import { now } from "./bridge";
import { emit, register } from "./rpc";
import { TCP, TLSSocket } from "./tcp";
import { clearTimer, setTimer, timer, timerCount } from "./timer";
import { registerMqttRpc, xsCompatHost } from "./mqtt-rpc";
import { bindHost } from "../../../modules/mqtt/compat";
import type { CompatHost, ConnectAsyncFunction, ConnectFunction } from "../../../modules/mqtt/compat";

/** The `xsnapHost` global: the XS test host's services for bundles loaded later. */
export interface XsnapHostGlobal {
  /** ECMA-419 TCP socket class (bridged to `node:net`). */
  TCP: typeof TCP;
  /** ECMA-419 TLS Client socket class (bridged to `node:tls`). */
  TLSSocket: typeof TLSSocket;
  /** Moddable-`Timer`-shaped timers: `set(cb, ms, interval?)`, `repeat(cb, interval)`, `clear(id)`. */
  timer: typeof timer;
  setTimer: typeof setTimer;
  clearTimer: typeof clearTimer;
  /** The host clock, ms; frozen while one batch of host events is handled. */
  now: () => number;
  /** The `CompatHost` for `modules/mqtt/compat.ts` (`bindHost(xsnapHost.compatHost)`). */
  compatHost: CompatHost;
  /** MQTT.js-compatible `connect` over this host. */
  connect: ConnectFunction;
  /** MQTT.js-compatible `connectAsync` over this host. */
  connectAsync: ConnectAsyncFunction;
  /** Registers an RPC method that Node calls with `xsHost.call(name, ...args)`; it may return a promise. */
  register: (name: string, method: (...args: any[]) => unknown) => void;
  /** Sends `value` to Node, where `XsHost` emits `("emit", name, value)`. */
  emit: (name: string, value?: unknown) => void;
}

const bound = bindHost(xsCompatHost);

const host: XsnapHostGlobal = Object.freeze({
  TCP,
  TLSSocket,
  timer,
  setTimer,
  clearTimer,
  now,
  compatHost: xsCompatHost,
  connect: bound.connect,
  connectAsync: bound.connectAsync,
  register,
  emit,
});

const device = Object.freeze({
  io: Object.freeze({ TCP }),
  network: Object.freeze({
    mqtt: Object.freeze({ port: 1883, socket: Object.freeze({ io: TCP }) }),
    mqtts: Object.freeze({ port: 8883, socket: Object.freeze({ io: TLSSocket }) }),
    tls: Object.freeze({ client: Object.freeze({ io: TLSSocket }) }),
  }),
  timer,
});

registerMqttRpc();
register("host.ping", (value: unknown) => value);
register("host.stats", () => ({ sockets: TCP.count(), timers: timerCount() }));

const g = globalThis as Record<string, unknown>;
g.handleCommand = handleCommand;
g.device = device;
g.xsnapHost = host;
