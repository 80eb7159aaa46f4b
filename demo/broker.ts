/**
 * The demo's embedded broker: aedes (npm, MQTT 3.1/3.1.1 only) behind a
 * `net` server on a free 127.0.0.1 port. `close()` drops every client
 * (abruptly: the demo stops its nodes gracefully before) and closes the
 * listener and the broker. Node-only demo tooling.
 */
import net from "node:net";
import { Aedes } from "aedes";

/** A running embedded broker. */
export interface EmbeddedBroker {
  readonly port: number;
  /** `mqtt://127.0.0.1:<port>` */
  readonly url: string;
  close(): Promise<void>;
}

/** Starts aedes on 127.0.0.1 (`port` 0: a free one). */
export async function startEmbeddedBroker(port = 0): Promise<EmbeddedBroker> {
  const broker = await Aedes.createBroker();
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    // A client that vanishes mid-packet must not take the demo down.
    socket.on("error", () => socket.destroy());
    broker.handle(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  const actual = (server.address() as net.AddressInfo).port;
  return {
    port: actual,
    url: `mqtt://127.0.0.1:${actual}`,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await new Promise<void>((resolve) => broker.close(() => resolve()));
    },
  };
}
