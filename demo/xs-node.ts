/**
 * One sample node in its own XS worker, seen from Node: starts an `XsHost`
 * (the XS engine with sockets and timers bridged to Node), loads the nodes
 * bundle (`xs/nodes-entry.ts`) and starts one simulated node in it. Used by
 * the demo (`demo/main.ts`) and the interop tests.
 *
 * Lifecycle: `start()` → running → `stop()` (graceful: the node publishes
 * "offline" and disconnects, then the worker quits) or `kill()` (the worker
 * is SIGKILLed mid-flight; its sockets, which live in this Node process,
 * are then closed without an MQTT DISCONNECT, as the OS closes a dead
 * process's sockets, so the broker publishes the node's will). A killed or
 * stopped runner can be started again (a new worker; the soil node's store
 * bytes are kept here and handed over, so its outbox survives).
 *
 * Events: `"node"` (`NodeEvent` from XS), `"store"` (`{ node, bytes }`),
 * `"fault"` (an exception inside XS, `XsError`), `"exit"` (the worker died
 * on its own), `"print"` (XS `print` output).
 *
 * Node-only demo and test tooling.
 */
import { EventEmitter } from "node:events";
import { join } from "node:path";
import { XsHost, buildXsBundle, findRoot } from "../hosts/xsnap/host";
import type { XsBundle, XsHostMeters } from "../hosts/xsnap/host";
import type { NodeEvent, SoilConfig, ThermostatConfig } from "./sim-nodes";

/** Which sample node, with its settings. */
export type NodeSpec = { kind: "thermostat"; config: ThermostatConfig } | { kind: "soil"; config: SoilConfig };

const bundles: Map<string, Promise<XsBundle>> = new Map();

/** The nodes bundle (`demo/xs/nodes-entry.ts`), built once per process. */
export function nodesBundle(root: string = findRoot()): Promise<XsBundle> {
  let bundle = bundles.get(root);
  if (bundle === undefined) {
    bundle = buildXsBundle(join(root, "demo", "xs", "nodes-entry.ts"), root);
    bundles.set(root, bundle);
  }
  return bundle;
}

/** One node in one XS worker (see the module header). */
export class XsNode extends EventEmitter {
  readonly spec: NodeSpec;
  /** Latest bytes of the soil node's store (null: empty). */
  stored: Uint8Array | null = null;
  /** Number of workers started so far. */
  starts = 0;
  private host: XsHost | undefined;
  private readonly root: string;

  constructor(spec: NodeSpec, root: string = findRoot()) {
    super();
    this.spec = spec;
    this.root = root;
  }

  /** The node id. */
  get id(): string {
    return this.spec.config.id;
  }

  /** Whether a worker is running. */
  get running(): boolean {
    return this.host !== undefined;
  }

  /** The worker's pid, when running. */
  get pid(): number | undefined {
    return this.host?.worker.pid;
  }

  /** The XS meters of the current worker. */
  meters(): XsHostMeters | undefined {
    return this.host?.meters();
  }

  /** Spawns a worker, loads the bundles and starts the node. Resolves with the node's first snapshot. */
  async start(): Promise<Record<string, unknown>> {
    if (this.host !== undefined) throw new Error(`${this.id}: already running`);
    const host = await XsHost.start({
      root: this.root,
      onStdout: (text) => this.emit("print", text),
      onStderr: (text) => this.emit("print", text),
    });
    this.host = host;
    this.starts += 1;
    host.on("fault", (error: Error) => this.emit("fault", error));
    host.on("exit", (error: Error) => {
      if (this.host !== host) return;
      this.host = undefined;
      void host.close();
      this.emit("exit", error);
    });
    host.on("emit", (name: string, value: unknown) => {
      if (name === "node") this.emit("node", value as NodeEvent);
      else if (name === "store") {
        const { bytes } = value as { node: string; bytes: Uint8Array | null };
        this.stored = bytes === null ? null : new Uint8Array(bytes);
        this.emit("store", value);
      }
    });
    try {
      await host.load(await nodesBundle(this.root));
      const spec = this.spec;
      return (spec.kind === "thermostat" ? await host.call("demo.thermostat", spec.config) : await host.call("demo.soil", spec.config, this.stored)) as Record<
        string,
        unknown
      >;
    } catch (error) {
      this.host = undefined;
      await host.close();
      throw error;
    }
  }

  /** Calls an RPC method of the nodes bundle with the node id first. */
  async call(method: "demo.set" | "demo.inspect", ...args: unknown[]): Promise<Record<string, unknown>> {
    const host = this.host;
    if (host === undefined) throw new Error(`${this.id}: not running`);
    return (await host.call(method, this.id, ...args)) as Record<string, unknown>;
  }

  /**
   * Kills the worker abruptly (SIGKILL) and closes its sockets without a
   * DISCONNECT: the broker publishes the will.
   */
  async kill(): Promise<void> {
    const host = this.host;
    if (host === undefined) return;
    this.host = undefined;
    host.worker.kill();
    await host.close();
  }

  /**
   * Graceful stop: the node publishes "offline" and disconnects (within
   * `timeoutMs`; otherwise the worker is closed anyway), then the worker
   * quits.
   */
  async stop(timeoutMs = 6000): Promise<void> {
    const host = this.host;
    if (host === undefined) return;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        host.call("demo.stop", this.id),
        new Promise((resolve) => {
          timer = setTimeout(resolve, timeoutMs);
        }),
      ]);
    } catch (error) {
      this.emit("fault", error);
    } finally {
      clearTimeout(timer);
      this.host = undefined;
      await host.close();
    }
  }
}
