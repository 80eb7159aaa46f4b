/**
 * aedes (npm, 1.x) as a test fixture: an in-process MQTT 3.1/3.1.1 broker
 * on a free 127.0.0.1 port, with optional authentication and authorization
 * hooks. aedes refuses MQTT 5 CONNECTs (ARCHITECTURE.md quirks): use it for
 * the 3.1.1 tiers. Sessions live in memory only; `stop()` drops them.
 * Node-only test support.
 */
import net from "node:net";
import { Aedes } from "aedes";
import type { AedesOptions } from "aedes";

/** Options of {@link startAedes}: any aedes option (hooks included) plus the port. */
export interface AedesFixtureOptions extends AedesOptions {
  /** Port on 127.0.0.1; default 0 (a free one). */
  port?: number;
}

/** A running aedes fixture. */
export interface AedesBroker {
  readonly port: number;
  /** `mqtt://127.0.0.1:<port>` */
  readonly url: string;
  /** The aedes instance, for events (`client`, `publish`, `subscribe`, ...) and `publish()`. */
  readonly broker: Aedes;
  /** Number of TCP connections currently open. */
  connections(): number;
  /** Destroys every client connection (abrupt), closes the listener and the broker. */
  stop(): Promise<void>;
}

/**
 * Starts aedes behind a `net` server on 127.0.0.1. Hooks take aedes's
 * signatures, e.g. `authenticate(client, username, password, done)` with
 * `done(null, true)` to accept or `done(error, false)` where
 * `error.returnCode` is the CONNACK code (4 = bad user name or password).
 */
export async function startAedes(options: AedesFixtureOptions = {}): Promise<AedesBroker> {
  const { port: wanted = 0, ...aedesOptions } = options;
  const broker = await Aedes.createBroker(aedesOptions);
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    broker.handle(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(wanted, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    broker,
    connections: () => sockets.size,
    stop: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await new Promise<void>((resolve) => broker.close(() => resolve()));
    },
  };
}
