/**
 * The Node host: ECMA-419 sockets over `node:net`/`node:tls` and a timer,
 * shaped like a host provider (ECMA-419 2nd ed. §26 Host provider instance:
 * IO constructors on `io`, default client options on `network.*`).
 *
 * ```ts
 * import { device } from "../hosts/node";
 * const socket = { ...device.network.mqtt.socket };      // { io: TCP }
 * const secure = { ...device.network.mqtts.socket, secure: { ca } };
 * ```
 */
import { TCP } from "./tcp";
import { TLSSocket } from "./tls";
import { timer } from "./timer";

export { TCP, DEFAULT_WRITE_HIGH_WATER_MARK, DEFAULT_READ_HIGH_WATER_MARK, DEFAULT_LINGER, MAX_STAGING } from "./tcp";
export type { NodeTcpOptions } from "./tcp";
export { TLSSocket, nodeTlsOptions } from "./tls";
export type { NodeTlsSocketOptions, NodeSecureOptions } from "./tls";
export { setTimer, clearTimer, now, timer, MAX_TIMEOUT } from "./timer";
export type { TimerHandle } from "./timer";

/**
 * Host provider object for Node. `io.TCP` is the TCP socket class;
 * `network.mqtt.socket` / `network.mqtts.socket` are the socket
 * specifications (`{ io, ... }`) a client takes in its `socket` option for
 * `mqtt:` (port 1883) and `mqtts:` (port 8883); `network.tls.client` is the
 * TLS Client socket's default options. Frozen; spread to extend.
 */
export const device = Object.freeze({
  io: Object.freeze({ TCP }),
  network: Object.freeze({
    mqtt: Object.freeze({ port: 1883, socket: Object.freeze({ io: TCP }) }),
    mqtts: Object.freeze({ port: 8883, socket: Object.freeze({ io: TLSSocket }) }),
    tls: Object.freeze({ client: Object.freeze({ io: TLSSocket }) }),
  }),
  timer,
});
