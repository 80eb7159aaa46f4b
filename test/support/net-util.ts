/**
 * Small loopback helpers shared by the broker fixtures and the transport
 * tests: find a free port, wait until a port accepts connections, wait for
 * a condition. Everything stays on 127.0.0.1. Node-only test support.
 */
import net from "node:net";

/** A TCP port on 127.0.0.1 that was free a moment ago (bind to 0, read, release). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once one TCP connection to 127.0.0.1:`port` succeeds, or true/false without throwing. */
export function canConnect(port: number, host = "127.0.0.1"): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => {
      socket.destroy();
      resolve(false);
    });
  });
}

/**
 * Polls `check` every `intervalMs` until it returns true; rejects with
 * `message` (plus `detail()` when given) after `timeoutMs`.
 */
export async function waitUntil(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  message: string,
  detail?: () => string,
  intervalMs = 10,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) {
      throw new Error(detail === undefined ? message : `${message}\n${detail()}`);
    }
    await delay(intervalMs);
  }
}

/** Resolves after `ms` milliseconds. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
