/**
 * The MQTT.js-compatible client (`modules/mqtt/compat.ts`) inside the XS
 * test host, driven from Node over RPC. The Node proxy
 * (`hosts/xsnap/xs-mqtt-client.ts`) allocates client and callback ids and
 * calls the `mqtt.*` methods registered here; events the proxy listens to
 * and operation callbacks come back as `Emit` records (see `rpc.ts`).
 *
 * Every forwarded event and callback carries the client's flags
 * ({@link flagsOf}) as they were when it fired, so the proxy's
 * `connected`/`reconnecting` mirror the XS client's.
 *
 * Payloads: the XS client runs with `payloadViews: true` (no copy for the
 * forwarder); the codec copies the view into the Emit frame while the
 * listener runs, which is within the view's lifetime.
 */
import { connect } from "../../../modules/mqtt/compat";
import type { CompatHost, IClientOptions, MqttClient } from "../../../modules/mqtt/compat";
import { now } from "./bridge";
import { register, send } from "./rpc";
import { TCP, TLSSocket } from "./tcp";
import { timer } from "./timer";

/** The XS test host as the compatible API sees it. */
export const xsCompatHost: CompatHost = Object.freeze({
  TCP,
  TLS: TLSSocket,
  timer: Object.freeze({ set: (callback: () => void, ms: number) => timer.set(callback, ms), clear: timer.clear }),
  now,
});

interface Entry {
  client: MqttClient;
  listeners: Map<string, (...args: unknown[]) => void>;
}

const clients: Map<number, Entry> = new Map();

/** Flag bits: 1 connected, 2 reconnecting, 4 disconnecting, 8 disconnected. */
export function flagsOf(client: MqttClient): number {
  return (client.connected ? 1 : 0) | (client.reconnecting ? 2 : 0) | (client.disconnecting ? 4 : 0) | (client.disconnected ? 8 : 0);
}

function entry(id: number): Entry {
  const e = clients.get(id);
  if (e === undefined) throw new RangeError(`xsnap mqtt: no client ${id}`);
  return e;
}

function listen(id: number, event: string): void {
  const e = entry(id);
  if (e.listeners.has(event)) return;
  const client = e.client;
  const forward = (...args: unknown[]): void => send({ k: "event", c: id, e: event, a: args, f: flagsOf(client) });
  e.listeners.set(event, forward);
  client.on(event, forward);
}

function callback(id: number, cb: number): ((...args: unknown[]) => void) | undefined {
  if (cb === 0) return undefined;
  const client = entry(id).client;
  return (...args: unknown[]) => send({ k: "callback", id: cb, c: id, a: args, f: flagsOf(client) });
}

/** Registers the `mqtt.*` RPC methods. Called once by the bundle entry. */
export function registerMqttRpc(): void {
  /** `(id, url, options, events)`: creates client `id` and listens to `events` before it connects. */
  register("mqtt.connect", (id: number, url: string | undefined, options: IClientOptions | undefined, events: string[]) => {
    if (clients.has(id)) throw new RangeError(`xsnap mqtt: client ${id} exists`);
    const opts: IClientOptions = { ...(options ?? {}), payloadViews: true };
    const client = connect(xsCompatHost, url ?? opts, url === undefined ? undefined : opts);
    clients.set(id, { client, listeners: new Map() });
    for (const event of events) listen(id, event);
    return flagsOf(client);
  });
  register("mqtt.listen", (id: number, event: string) => listen(id, event));
  register("mqtt.unlisten", (id: number, event: string) => {
    const e = entry(id);
    const forward = e.listeners.get(event);
    if (forward === undefined) return;
    e.listeners.delete(event);
    e.client.off(event, forward);
  });
  register("mqtt.publish", (id: number, topic: string, message: string | Uint8Array, opts: object | undefined, cb: number) => {
    entry(id).client.publish(topic, message, opts as never, callback(id, cb) as never);
  });
  register("mqtt.subscribe", (id: number, topic: unknown, opts: object | undefined, cb: number) => {
    entry(id).client.subscribe(topic as never, opts as never, callback(id, cb) as never);
  });
  register("mqtt.unsubscribe", (id: number, topic: string | string[], opts: object | undefined, cb: number) => {
    entry(id).client.unsubscribe(topic, opts as never, callback(id, cb) as never);
  });
  register("mqtt.end", (id: number, force: boolean, opts: object | undefined, cb: number) => {
    const client = entry(id).client;
    const done = callback(id, cb);
    client.end(force, (opts ?? {}) as never, (error?: Error | null) => {
      if (done !== undefined) done(error ?? null);
    });
    return flagsOf(client);
  });
  register("mqtt.reconnect", (id: number) => {
    const client = entry(id).client;
    client.reconnect();
    return flagsOf(client);
  });
  /** State for tests and benchmarks: flags, client state, outbox counters. */
  register("mqtt.inspect", (id: number) => {
    const client = entry(id).client;
    const c = client.client.outbox.counters;
    return {
      flags: flagsOf(client),
      state: client.client.state,
      attempt: client.client.attempt,
      outbox: { queued: c.queued, inflight: c.inflight, dropped: c.dropped, expired: c.expired, bytesUsed: c.bytesUsed },
      subscriptions: Array.from(client.client.subscriptions.keys()),
    };
  });
  /** Forgets client `id` (ending it first, forced, if still running). */
  register("mqtt.dispose", (id: number) => {
    const e = clients.get(id);
    if (e === undefined) return;
    for (const [event, forward] of e.listeners) e.client.off(event, forward);
    if (!e.client.disconnected) e.client.end(true);
    clients.delete(id);
  });
}
