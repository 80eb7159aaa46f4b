/**
 * The sample nodes inside the XS engine: a bundle that `XsHost` loads after
 * its own (`hosts/xsnap/xs/entry.ts`). It takes sockets, timers and the
 * clock from the `xsnapHost` global (never by importing `hosts/xsnap/xs/*`,
 * whose tables belong to the host bundle) and registers RPC methods the
 * Node side calls with `xs.call(...)`:
 *
 * | method | args | result |
 * | --- | --- | --- |
 * | `demo.thermostat` | `ThermostatConfig` | `inspect()` snapshot |
 * | `demo.soil` | `SoilConfig`, stored bytes or null | `inspect()` snapshot |
 * | `demo.set` | id, values (`{ temperature }`, `{ moisture }`, ...) | snapshot |
 * | `demo.inspect` | id | snapshot |
 * | `demo.stop` | id | resolves once the node stopped gracefully |
 *
 * Events reach Node as `xs.on("emit", (name, value) => ...)`:
 * - `"node"`: a `NodeEvent` (see `demo/sim-nodes.ts`);
 * - `"store"`: `{ node, bytes }` whenever the soil node's store is saved
 *   (`bytes` a Uint8Array) or cleared (`bytes` null). The Node side keeps
 *   the latest bytes and hands them to the next `demo.soil` after a worker
 *   restart: the outbox survives the worker's death like flash survives a
 *   power cut.
 */
import type { XsnapHostGlobal } from "../../hosts/xsnap/xs/entry";
import type { Store } from "../../modules/persist/store";
import { startSoil, startThermostat } from "../sim-nodes";
import type { HostServices, NodeEvent, SimSoil, SimThermostat, SoilConfig, ThermostatConfig } from "../sim-nodes";

declare const xsnapHost: XsnapHostGlobal;

/** A `Store` whose saves go to the Node host (as `"store"` events); `load` returns the last saved copy. */
class HostStore implements Store {
  private bytes: Uint8Array | undefined;
  constructor(
    private readonly node: string,
    initial: Uint8Array | undefined,
  ) {
    this.bytes = initial === undefined ? undefined : initial.slice();
  }
  load(): Uint8Array | undefined {
    return this.bytes === undefined ? undefined : this.bytes.slice();
  }
  save(bytes: Uint8Array): void {
    this.bytes = bytes.slice();
    xsnapHost.emit("store", { node: this.node, bytes: this.bytes });
  }
  clear(): void {
    this.bytes = undefined;
    xsnapHost.emit("store", { node: this.node, bytes: null });
  }
}

const running: Map<string, SimThermostat | SimSoil> = new Map();

const services: HostServices = {
  TCP: xsnapHost.TCP as never,
  timer: { set: (callback, ms) => xsnapHost.timer.set(callback, ms), clear: (id) => xsnapHost.timer.clear(id) },
  now: xsnapHost.now,
  random: Math.random,
  emit: (event: NodeEvent) => xsnapHost.emit("node", event),
};

function find(id: string): SimThermostat | SimSoil {
  const node = running.get(id);
  if (node === undefined) throw new RangeError(`no node ${JSON.stringify(id)} in this XS worker`);
  return node;
}

function claim(id: string): void {
  if (running.has(id)) throw new RangeError(`node ${JSON.stringify(id)} is already running in this XS worker`);
}

xsnapHost.register("demo.thermostat", (config: ThermostatConfig) => {
  claim(config.id);
  const node = startThermostat(config, services);
  running.set(config.id, node);
  return node.inspect();
});

xsnapHost.register("demo.soil", (config: SoilConfig, stored: Uint8Array | null | undefined) => {
  claim(config.id);
  const store = new HostStore(config.id, stored === null || stored === undefined ? undefined : new Uint8Array(stored));
  const node = startSoil(config, services, store);
  running.set(config.id, node);
  return node.inspect();
});

xsnapHost.register("demo.set", (id: string, values: Record<string, number | null>) => {
  const node = find(id);
  node.set(values);
  return node.inspect();
});

xsnapHost.register("demo.inspect", (id: string) => find(id).inspect());

xsnapHost.register(
  "demo.stop",
  (id: string) =>
    new Promise<Record<string, unknown>>((resolve) => {
      const node = find(id);
      node.stop(() => {
        running.delete(id);
        resolve(node.inspect());
      });
    }),
);
