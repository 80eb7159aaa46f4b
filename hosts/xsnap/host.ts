/**
 * The XS test host, Node side: `XsHost` owns one xsnap worker (the XS
 * engine from `@agoric/xsnap`, driven by `./xsnap-worker.ts`), loads the
 * XS-side bundle (`./xs/entry.ts`) into it, and serves that bundle's
 * sockets and timers with real Node ones (`hosts/node/tcp.ts`,
 * `hosts/node/tls.ts`, `hosts/node/timer.ts`). Code inside XS, the MQTT
 * client included, thus talks to real brokers through the same ECMA-419
 * socket contract it uses on a board.
 *
 * Theory of operation
 * -------------------
 * Two directions over xsnap's one synchronous channel (layouts in
 * `./xs/wire.ts`):
 *
 * - XS -> host: `issueCommand` (open/write/close a socket, set/clear a
 *   timer, emit an event). {@link XsHost} answers at once, synchronously,
 *   inside `onCommand`: it never waits for Node I/O there, and it never
 *   sends XS a request while one is outstanding (the worker is blocked).
 * - host -> XS: events (bytes read, writable counts, socket errors, timer
 *   firings, RPC calls) are queued as records and sent as one batch
 *   (`handleCommand`) when no request is outstanding; whatever arrives in
 *   the meantime goes in the next batch. Each batch carries the host
 *   clock, which is XS's clock (`./xs/bridge.ts`).
 *
 * Flow control: per socket, the host pushes received bytes into XS only
 * while XS holds less than `window` bytes unread (XS reports its unread
 * count in each batch result); beyond that, bytes stay in the Node
 * socket, which pauses reading, so TCP pushes back on the peer.
 *
 * Errors: an exception thrown inside XS by a callback (socket, timer, RPC
 * method), or one the worker reports as "Unhandled exception" (a promise
 * job), is a *fault*: it is emitted as `"fault"` with the XS message and
 * the XS stack mapped to the TypeScript sources; without a `"fault"`
 * listener it is thrown as an uncaught exception, so nothing inside XS
 * fails silently. A worker that dies rejects every pending call.
 *
 * Node-only test and demo tooling; never part of a board build.
 */
import { EventEmitter } from "node:events";
import { existsSync } from "node:fs";
import { SourceMap } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { TCP } from "../node/tcp";
import { TLSSocket } from "../node/tls";
import { clearTimer, setTimer } from "../node/timer";
import type { TimerHandle } from "../node/timer";
import type { SocketError } from "../../modules/io/tcp-types";
import { MqttError } from "../../modules/mqtt/errors";
import type { ErrorSource } from "../../modules/mqtt/errors";
import type { IClientOptions } from "../../modules/mqtt/compat";
import { XsnapWorker } from "./xsnap-worker";
import type { XsnapMeters, XsnapResult, XsnapWorkerOptions } from "./xsnap-worker";
import { XsMqttClient } from "./xs-mqtt-client";
import type { XsClientPort } from "./xs-mqtt-client";
import {
  BATCH_HEADER,
  HostOp,
  RECORD_HEAD,
  ResultOp,
  Status,
  XsOp,
  concat,
  decodeValue,
  encodeValue,
  getF64,
  getU32,
  putF64,
  putU32,
  record,
} from "./xs/wire";
import type { ErrorFields } from "./xs/wire";

/** Default bytes XS may hold unread per socket before the host stops pushing (one libuv read). */
export const DEFAULT_WINDOW = 65536;

/** Options of {@link XsHost.start}. */
export interface XsHostOptions {
  /** Repository root (where `hosts/xsnap/xs/entry.ts` is). Default: found from `process.cwd()` upwards. */
  root?: string;
  /** Prebuilt XS bundle (code of `xs/entry.ts` bundled as an IIFE). Default: built with esbuild at start. */
  bundle?: XsBundle;
  /** Worker options (binary, args such as `["-l", "<compute limit>"]`, cwd). `onCommand` is the host's. */
  worker?: Omit<XsnapWorkerOptions, "onCommand" | "onStdout" | "onStderr">;
  /** Unread bytes per socket XS may hold (flow control). Default {@link DEFAULT_WINDOW}. */
  window?: number;
  /** Extra options for every Node socket (e.g. `writeHighWaterMark: 8192` to mimic an ESP32's lwIP send buffer). */
  socket?: Record<string, unknown>;
  /** XS `print` output. Default: each line written to stdout as a TAP comment (`# xs: ...`). */
  onStdout?: (text: string) => void;
  /** The worker's stderr. Default: copied to stderr. */
  onStderr?: (text: string) => void;
}

/** A bundled script and its source map (for XS stack traces). */
export interface XsBundle {
  code: string;
  /** Source map (v3) of `code`; optional. */
  map?: object;
  /** Directory the map's sources are relative to. */
  mapDir?: string;
  /** Name for diagnostics. */
  name?: string;
}

/** Meters of the XS machine (see `XsnapMeters`). */
export interface XsHostMeters {
  /** Meters of the last completed request. */
  last: XsnapMeters | undefined;
  /** Requests completed (evaluations and batches). */
  requests: number;
  /** Sum of `compute` over all requests: XS steps executed since start. */
  compute: number;
  /** Largest `currentHeapCount` seen (heap slots). */
  peakHeapCount: number;
}

/** An exception inside XS, reported by {@link XsHost} as a fault. */
export class XsError extends Error {
  /** Where it was caught: the host event being handled, or "promise job" for an unhandled one. */
  readonly where: string;
  constructor(message: string, where: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = "XsError";
    this.where = where;
  }
}

interface HostSocket {
  id: number;
  tcp: TCP;
  /** Bytes the Node socket holds unread. */
  nodeAvailable: number;
  /** Bytes XS holds unread (reported) plus bytes pushed since. */
  xsUnread: number;
  /** Bytes in Readable records queued and not yet sent. */
  queuedBytes: number;
  /** A Writable record queued and not yet sent (its count is updated in place). */
  writableRecord: Uint8Array | undefined;
  closed: boolean;
}

interface PendingCall {
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
  method: string;
}

const HOST_OP_NAMES: Readonly<Record<number, string>> = Object.freeze({
  [HostOp.Readable]: "socket readable event",
  [HostOp.Writable]: "socket writable event",
  [HostOp.Error]: "socket error event",
  [HostOp.Timer]: "timer callback",
  [HostOp.Call]: "rpc call",
});

/** Finds the repository root: the first directory upwards from `from` holding `hosts/xsnap/xs/entry.ts`. */
export function findRoot(from: string = process.cwd()): string {
  let dir = resolve(from);
  for (;;) {
    if (existsSync(join(dir, "hosts", "xsnap", "xs", "entry.ts"))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`hosts/xsnap/xs/entry.ts not found above ${from}; pass options.root`);
    dir = parent;
  }
}

/**
 * Bundles `entry` (a TypeScript or JavaScript file) for the XS worker: one
 * IIFE script, ES2022, no Node built-ins, with a source map. Uses esbuild
 * (a dev dependency).
 */
export async function buildXsBundle(entry: string, root: string = findRoot()): Promise<XsBundle> {
  const esbuild = await import("esbuild");
  const outfile = join(root, ".tmp", "xsnap", `${relative(root, entry).replace(/[\\/]/g, "_")}.js`);
  const result = await esbuild.build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    write: false,
    platform: "neutral",
    mainFields: ["module", "main"],
    format: "iife",
    target: "es2022",
    sourcemap: "external",
    absWorkingDir: root,
    logLevel: "silent",
  });
  let code = "";
  let map: object | undefined;
  for (const file of result.outputFiles) {
    if (file.path.endsWith(".map")) map = JSON.parse(file.text) as object;
    else code = file.text;
  }
  return { code, map, mapDir: dirname(outfile), name: relative(root, entry) };
}

const bundleCache: Map<string, Promise<XsBundle>> = new Map();

/** {@link buildXsBundle} of the host's own entry, built once per process. */
export function hostBundle(root: string = findRoot()): Promise<XsBundle> {
  let cached = bundleCache.get(root);
  if (cached === undefined) {
    cached = buildXsBundle(join(root, "hosts", "xsnap", "xs", "entry.ts"), root);
    bundleCache.set(root, cached);
  }
  return cached;
}

function tapComments(text: string): void {
  const lines = text.replace(/\n$/, "").split("\n");
  process.stdout.write(lines.map((line) => `# xs: ${line}\n`).join(""));
}

/**
 * One XS machine with bridged sockets and timers. Create with
 * {@link XsHost.start}; `close()` when done (closes sockets, timers and the
 * worker).
 *
 * Events: `"fault"` `(error: XsError)` for exceptions inside XS (see the
 * module comment); `"emit"` `(name, value)` for `xsnapHost.emit` in XS;
 * `"exit"` `(error)` when the worker dies.
 */
export class XsHost extends EventEmitter implements XsClientPort {
  /** The worker (for `evaluate`, meters, pid). */
  readonly worker: XsnapWorker;
  /** Faults reported so far (also emitted). */
  readonly faults: XsError[] = [];

  private readonly window: number;
  private readonly socketDefaults: Record<string, unknown>;
  private readonly sockets: Map<number, HostSocket> = new Map();
  private readonly timers: Map<number, TimerHandle> = new Map();
  private readonly calls: Map<number, PendingCall> = new Map();
  private readonly callbacks: Map<number, (...args: any[]) => void> = new Map();
  private readonly clients: Map<number, XsMqttClient> = new Map();
  private readonly maps: Map<number, { map: SourceMap; lines: string[]; dir: string }> = new Map();
  private queue: Uint8Array[] = [];
  private busy = false;
  private flushScheduled = false;
  private closing = false;
  private evaluations = 0;
  private nextCall = 1;
  private nextCallback = 1;
  private nextClient = 1;
  private stderrLine = "";
  private readonly inbox: Array<() => void> = [];
  private readonly meterTotals: XsHostMeters = { last: undefined, requests: 0, compute: 0, peakHeapCount: 0 };

  /** Spawns a worker, loads the host bundle and synchronizes the clock. */
  static async start(options: XsHostOptions = {}): Promise<XsHost> {
    const bundle = options.bundle ?? (await hostBundle(options.root ?? findRoot()));
    const host = new XsHost(options);
    try {
      await host.load(bundle);
    } catch (error) {
      await host.close();
      throw error;
    }
    return host;
  }

  private constructor(options: XsHostOptions) {
    super();
    this.window = options.window ?? DEFAULT_WINDOW;
    if (!Number.isInteger(this.window) || this.window < 1) throw new RangeError(`window must be a positive integer, got ${this.window}`);
    this.socketDefaults = { ...(options.socket ?? {}) };
    const onStderr = options.onStderr ?? ((text: string) => process.stderr.write(text));
    this.worker = new XsnapWorker({
      ...(options.worker ?? {}),
      onCommand: (bytes) => this.onCommand(bytes),
      onStdout: options.onStdout ?? tapComments,
      onStderr: (text) => {
        this.watchStderr(text);
        onStderr(text);
      },
    });
  }

  // ---- public API ------------------------------------------------------

  /**
   * Evaluates a bundle (or plain code) in the worker as a script, keeps its
   * source map for stack traces, then sends an empty batch so the clock
   * and buffer levels are current. Rejects with the XS exception (message
   * and mapped stack when available).
   */
  async load(bundle: XsBundle | string): Promise<XsnapResult> {
    const b: XsBundle = typeof bundle === "string" ? { code: bundle } : bundle;
    const index = this.evaluations++;
    if (b.map !== undefined) {
      this.maps.set(index, { map: new SourceMap(b.map as never), lines: b.code.split("\n"), dir: b.mapDir ?? process.cwd() });
    }
    const code = `(function () { try {\n${b.code}\n} catch (error) { globalThis.__xsnapLoadError = error; throw error; } })();`;
    let result: XsnapResult;
    try {
      result = await this.worker.evaluate(code);
    } catch (error) {
      this.drainInbox();
      this.evaluations++; // the evaluation below, queued now, keeps the numbering in request order
      const detail = await this.worker
        .evaluate(
          "(function () { const e = globalThis.__xsnapLoadError; globalThis.__xsnapLoadError = undefined; " +
            "return new TextEncoder().encode(String((e && e.stack) || '')).buffer; })()",
        )
        .then((r) => new TextDecoder().decode(r.result), () => "");
      const message = `loading ${b.name ?? "script"} in XS failed: ${(error as Error).message}${detail ? `\n${this.mapStack(detail)}` : ""}`;
      throw new XsError(message, "load", error);
    }
    this.meter(result.meters);
    this.drainInbox();
    await this.sync();
    return result;
  }

  /** Bundles `entry` with esbuild (see {@link buildXsBundle}) and loads it. Use the `xsnapHost` global inside. */
  async loadBundle(entry: string, root: string = findRoot()): Promise<void> {
    await this.load(await buildXsBundle(resolve(root, entry), root));
  }

  /** Calls RPC method `method` in XS (registered with `xsnapHost.register`). */
  call(method: string, ...args: unknown[]): Promise<unknown> {
    return new Promise((resolveCall, rejectCall) => {
      if (this.closing || this.worker.closed) {
        rejectCall(new Error(`XsHost is closed (call ${method})`));
        return;
      }
      const id = this.nextCall++;
      const value = encodeValue({ m: method, a: args });
      const out = record(HostOp.Call, 4 + value.byteLength);
      putU32(out, RECORD_HEAD, id);
      out.set(value, RECORD_HEAD + 4);
      this.calls.set(id, { resolve: resolveCall, reject: rejectCall, method });
      this.enqueue(out);
    });
  }

  /** Registers a one-shot callback that XS calls back by id (for the client proxies). */
  callback(fn: (...args: any[]) => void): number {
    const id = this.nextCallback++;
    this.callbacks.set(id, fn);
    return id;
  }

  /** Forgets a registered callback. */
  dropCallback(id: number): void {
    this.callbacks.delete(id);
  }

  /**
   * MQTT.js `connect(url, options)` / `connect(options)` for a client that
   * runs inside XS. Returns the proxy at once; the client connects from XS.
   */
  connect(brokerUrl: string | IClientOptions, options: IClientOptions = {}): XsMqttClient {
    const id = this.nextClient++;
    const url = typeof brokerUrl === "string" ? brokerUrl : undefined;
    const opts = typeof brokerUrl === "string" ? options : brokerUrl;
    const client = new XsMqttClient(this, id, url, opts);
    this.clients.set(id, client);
    return client;
  }

  /**
   * MQTT.js `connectAsync`: resolves on `connect` (or `end`), rejects on the
   * first `error` (and ends the client). With `allowRetries` false, the
   * first `close` rejects too.
   */
  connectAsync(brokerUrl: string | IClientOptions, options: IClientOptions = {}, allowRetries = true): Promise<XsMqttClient> {
    return new Promise((resolveConnect, rejectConnect) => {
      const client = this.connect(brokerUrl, options);
      const listeners: Record<string, (...args: any[]) => void> = {
        connect: () => {
          remove();
          resolveConnect(client);
        },
        end: () => {
          remove();
          resolveConnect(client);
        },
        error: (error: Error) => {
          remove();
          client.end();
          rejectConnect(error);
        },
      };
      if (!allowRetries) listeners.close = () => listeners.error(new Error("Couldn't connect to server"));
      const remove = (): void => {
        for (const event of Object.keys(listeners)) client.off(event, listeners[event]);
      };
      for (const event of Object.keys(listeners)) client.on(event, listeners[event]);
    });
  }

  /** Meters: the last request's, and totals since start. */
  meters(): XsHostMeters {
    return { ...this.meterTotals };
  }

  /** Number of Node sockets and timers currently held for XS. */
  resources(): { sockets: number; timers: number } {
    return { sockets: this.sockets.size, timers: this.timers.size };
  }

  /** Resolves once every event queued so far has been handled by XS. */
  async sync(): Promise<void> {
    await this.call("host.ping", 0);
  }

  /** Closes every socket and timer and the worker. Pending calls reject. Idempotent. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    for (const handle of this.timers.values()) clearTimer(handle);
    this.timers.clear();
    for (const socket of this.sockets.values()) {
      socket.closed = true;
      socket.tcp.close();
    }
    this.sockets.clear();
    const closed = new Error("XsHost closed");
    for (const call of this.calls.values()) call.reject(closed);
    this.calls.clear();
    this.queue = [];
    await this.worker.close();
  }

  // ---- host -> XS -------------------------------------------------------

  private enqueue(rec: Uint8Array): void {
    this.queue.push(rec);
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.busy || this.closing) return;
    this.flushScheduled = true;
    queueMicrotask(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    if (this.busy || this.closing || this.queue.length === 0) return;
    const batch = concat(this.queue, BATCH_HEADER);
    putF64(batch, 0, performance.now());
    this.queue = [];
    for (const socket of this.sockets.values()) {
      socket.queuedBytes = 0;
      socket.writableRecord = undefined;
    }
    this.busy = true;
    this.worker.command(batch).then(
      (result) => {
        this.busy = false;
        this.meter(result.meters);
        this.handleResult(result.result);
        this.drainInbox();
        this.scheduleFlush();
      },
      (error: Error) => {
        this.busy = false;
        this.workerFailed(error);
      },
    );
  }

  private handleResult(bytes: Uint8Array): void {
    let offset = 0;
    while (offset + RECORD_HEAD <= bytes.length) {
      const op = bytes[offset];
      const start = offset + RECORD_HEAD;
      const end = start + getU32(bytes, offset + 1);
      offset = end;
      if (op === ResultOp.Buffered) {
        const socket = this.sockets.get(getU32(bytes, start));
        if (socket === undefined) continue;
        socket.xsUnread = getU32(bytes, start + 4) + socket.queuedBytes;
        this.pull(socket);
      } else if (op === ResultOp.Return) {
        const id = getU32(bytes, start);
        const ok = bytes[start + 4];
        if (ok === 2) continue; // settled later by an Emit "return"
        const value = this.decode(bytes, start + 5, end);
        this.settle(id, ok === 1, value);
      } else if (op === ResultOp.Fault) {
        const where = HOST_OP_NAMES[bytes[start]] ?? `host op ${bytes[start]}`;
        this.fault(this.decode(bytes, start + 1, end), where);
      }
    }
  }

  private settle(id: number, ok: boolean, value: unknown): void {
    const call = this.calls.get(id);
    if (call === undefined) return;
    this.calls.delete(id);
    this.deliver(() => (ok ? call.resolve(value) : call.reject(value)));
  }

  // ---- XS -> host (issueCommand) -----------------------------------------

  private onCommand(bytes: Uint8Array): Uint8Array {
    try {
      switch (bytes[0]) {
        case XsOp.Open:
          this.open(getU32(bytes, 1), bytes[5] === 1, this.decode(bytes, 6, bytes.length) as Record<string, unknown>);
          return Uint8Array.of(Status.Ok);
        case XsOp.Write: {
          const count = this.socket(getU32(bytes, 1)).tcp.write(bytes.subarray(5));
          const reply = new Uint8Array(5);
          putU32(reply, 1, count);
          return reply;
        }
        case XsOp.Close:
          this.closeSocket(getU32(bytes, 1));
          return Uint8Array.of(Status.Ok);
        case XsOp.Info: {
          const tcp = this.socket(getU32(bytes, 1)).tcp;
          return concat([Uint8Array.of(Status.Ok), encodeValue({ remoteAddress: tcp.remoteAddress, remotePort: tcp.remotePort })]);
        }
        case XsOp.TimerSet:
          this.setTimer(getU32(bytes, 1), getF64(bytes, 5), getF64(bytes, 13));
          return Uint8Array.of(Status.Ok);
        case XsOp.TimerClear: {
          const id = getU32(bytes, 1);
          clearTimer(this.timers.get(id));
          this.timers.delete(id);
          return Uint8Array.of(Status.Ok);
        }
        case XsOp.Emit:
          this.emitted(this.decode(bytes, 1, bytes.length) as Record<string, unknown>);
          return Uint8Array.of(Status.Ok);
        default:
          throw new RangeError(`XsHost: unknown XS op ${bytes[0]}`);
      }
    } catch (error) {
      const e = error instanceof Error ? error : new Error(String(error));
      const fields: Record<string, unknown> = { name: e.name, message: e.message };
      const code = (e as { code?: unknown }).code;
      if (typeof code === "string" || typeof code === "number") fields.code = code;
      return concat([Uint8Array.of(Status.Error), encodeValue(Object.assign(new Error(e.message), fields))]);
    }
  }

  private socket(id: number): HostSocket {
    const socket = this.sockets.get(id);
    if (socket === undefined || socket.closed) throw new Error(`XsHost: socket ${id} is not open`);
    return socket;
  }

  private open(id: number, secure: boolean, options: Record<string, unknown>): void {
    if (this.sockets.has(id)) throw new RangeError(`XsHost: socket ${id} already open`);
    const socket: HostSocket = {
      id,
      tcp: undefined as unknown as TCP,
      nodeAvailable: 0,
      xsUnread: 0,
      queuedBytes: 0,
      writableRecord: undefined,
      closed: false,
    };
    const settings = {
      ...this.socketDefaults,
      ...options,
      format: "buffer" as const,
      onReadable: (count: number) => {
        if (socket.closed) return;
        socket.nodeAvailable = count;
        this.pull(socket);
      },
      onWritable: (count: number) => {
        if (socket.closed) return;
        if (socket.writableRecord !== undefined) {
          putU32(socket.writableRecord, RECORD_HEAD + 4, count);
          return;
        }
        const out = record(HostOp.Writable, 8);
        putU32(out, RECORD_HEAD, id);
        putU32(out, RECORD_HEAD + 4, count);
        socket.writableRecord = out;
        this.enqueue(out);
      },
      onError: (error?: SocketError) => {
        if (socket.closed) return;
        const value = encodeValue({
          name: error?.name ?? "SocketError",
          message: error?.message ?? "connection closed",
          code: error?.code,
          layer: error?.layer,
        });
        const out = record(HostOp.Error, 4 + value.byteLength);
        putU32(out, RECORD_HEAD, id);
        out.set(value, RECORD_HEAD + 4);
        this.enqueue(out);
      },
    };
    socket.tcp = secure ? new TLSSocket(settings as never) : new TCP(settings as never);
    this.sockets.set(id, socket);
  }

  /** Moves bytes from the Node socket into XS while XS's window has room. */
  private pull(socket: HostSocket): void {
    while (!socket.closed && socket.nodeAvailable > 0 && socket.xsUnread < this.window) {
      const room = this.window - socket.xsUnread;
      const n = socket.nodeAvailable < room ? socket.nodeAvailable : room;
      const out = record(HostOp.Readable, 4 + n);
      putU32(out, RECORD_HEAD, socket.id);
      const got = socket.tcp.read(out.subarray(RECORD_HEAD + 4)) as number | undefined;
      if (got === undefined || got === 0) {
        socket.nodeAvailable = 0;
        return;
      }
      const rec = got === n ? out : out.slice(0, RECORD_HEAD + 4 + got);
      if (got !== n) putU32(rec, 1, 4 + got);
      socket.nodeAvailable -= got;
      socket.xsUnread += got;
      socket.queuedBytes += got;
      this.enqueue(rec);
    }
  }

  private closeSocket(id: number): void {
    const socket = this.sockets.get(id);
    if (socket === undefined) return;
    socket.closed = true;
    this.sockets.delete(id);
    socket.tcp.close();
  }

  private setTimer(id: number, ms: number, interval: number): void {
    const fire = (): void => {
      if (interval > 0) this.timers.set(id, setTimer(interval, fire));
      else this.timers.delete(id);
      const out = record(HostOp.Timer, 4);
      putU32(out, RECORD_HEAD, id);
      this.enqueue(out);
    };
    clearTimer(this.timers.get(id));
    this.timers.set(id, setTimer(ms, fire));
  }

  private emitted(value: Record<string, unknown>): void {
    switch (value.k) {
      case "event": {
        const client = this.clients.get(value.c as number);
        if (client === undefined) return;
        const args = value.a as unknown[];
        const flags = value.f as number;
        this.deliver(() => client.deliver(value.e as string, args, flags));
        return;
      }
      case "callback": {
        const fn = this.callbacks.get(value.id as number);
        if (fn === undefined) return;
        this.callbacks.delete(value.id as number);
        const client = this.clients.get(value.c as number);
        const args = value.a as unknown[];
        this.deliver(() => {
          if (client !== undefined && typeof value.f === "number") client.setFlags(value.f);
          fn(...args);
        });
        return;
      }
      case "return":
        this.settle(value.id as number, value.ok === true, value.v);
        return;
      case "emit":
        this.deliver(() => this.emit("emit", value.n, value.v));
        return;
      default:
        throw new RangeError(`XsHost: unknown emit kind ${String(value.k)}`);
    }
  }

  /**
   * Queues a Node-side delivery (listener, callback, promise settlement).
   * Deliveries run in order once the XS request that produced them has
   * completed ({@link drainInbox}), so Node code never observes XS in the
   * middle of a turn, and never runs inside `onCommand` (a throwing
   * listener must not break the worker channel).
   */
  private deliver(fn: () => void): void {
    this.inbox.push(fn);
  }

  /** Runs the queued deliveries; a listener that throws is rethrown as an uncaught exception after the others ran. */
  private drainInbox(): void {
    while (this.inbox.length > 0) {
      const next = this.inbox.shift()!;
      try {
        next();
      } catch (error) {
        setImmediate(() => {
          throw error;
        });
      }
    }
  }

  // ---- errors, meters, stacks -------------------------------------------

  private decode(bytes: Uint8Array, start: number, end: number): unknown {
    return decodeValue(bytes, start, end, {
      bytes: (view) => Buffer.from(view),
      error: (fields) => this.reviveError(fields),
    });
  }

  /** An error from XS, in its class (MqttError keeps code/source/reasonCode), with the XS stack mapped. */
  private reviveError(fields: ErrorFields): Error {
    let error: Error & Record<string, unknown>;
    if (fields.name === "MqttError" && typeof fields.code === "number") {
      error = new MqttError(fields.code, "", (fields.source ?? "local") as ErrorSource, fields.reasonCode) as never;
      error.message = fields.message;
    } else {
      const Class = fields.name === "TypeError" ? TypeError : fields.name === "RangeError" ? RangeError : Error;
      error = new Class(fields.message) as never;
      if (error.name !== fields.name) error.name = fields.name;
      if (fields.code !== undefined) error.code = fields.code;
      if (fields.layer !== undefined) error.layer = fields.layer;
      if (fields.source !== undefined) error.source = fields.source;
      if (fields.reasonCode !== undefined) error.reasonCode = fields.reasonCode;
    }
    if (fields.cause !== undefined) error.cause = fields.cause;
    const xsStack = fields.stack ? this.mapStack(fields.stack) : "";
    error.stack = `${fields.name}: ${fields.message}\n    (inside XS)${xsStack ? `\n${xsStack.replace(/^[^\n]*\n?/, "")}` : ""}`;
    return error;
  }

  /** Rewrites XS frames `(#N:line)` of evaluations with a source map to `(file:line)`. */
  mapStack(stack: string): string {
    return stack.replace(/\(#(\d+):(\d+)\)/g, (whole, n: string, line: string) => {
      const entry = this.maps.get(Number(n));
      if (entry === undefined) return whole;
      // The loader wraps each script in one extra line.
      const generated = Number(line) - 2;
      const text = entry.lines[generated] ?? "";
      const column = text.length - text.trimStart().length;
      const found = entry.map.findEntry(generated, column) as {
        originalSource?: string;
        originalLine?: number;
      };
      if (!found || found.originalSource === undefined || found.originalLine === undefined) return whole;
      const source = found.originalSource.startsWith("file://") ? fileURLToPath(found.originalSource) : resolve(entry.dir, found.originalSource);
      return `(${relative(process.cwd(), source)}:${found.originalLine + 1})`;
    });
  }

  private fault(error: unknown, where: string): void {
    const inner = error instanceof Error ? error : new Error(String(error));
    const fault = new XsError(`exception inside XS (${where}): ${inner.name}: ${inner.message}`, where, inner);
    if (inner.stack) fault.stack = `${fault.name}: ${fault.message}\n${inner.stack.replace(/^[^\n]*\n?/, "")}`;
    this.faults.push(fault);
    this.deliver(() => {
      if (this.listenerCount("fault") > 0) this.emit("fault", fault);
      else throw fault;
    });
  }

  private watchStderr(text: string): void {
    const lines = (this.stderrLine + text).split("\n");
    this.stderrLine = lines.pop() ?? "";
    for (const line of lines) {
      const m = /^Unhandled exception (.*)$/.exec(line.trim());
      if (m) {
        this.fault(new Error(m[1]), "promise job");
        // Printed while or after a request ran: deliver on the next turn if no request will drain it.
        setImmediate(() => {
          if (!this.busy) this.drainInbox();
        });
      }
    }
  }

  private workerFailed(error: Error): void {
    if (this.closing) return;
    for (const call of this.calls.values()) call.reject(error);
    this.calls.clear();
    if (this.listenerCount("exit") > 0) this.deliver(() => this.emit("exit", error));
    else this.fault(error, "worker");
    this.drainInbox();
  }

  private meter(meters: XsnapMeters): void {
    const t = this.meterTotals;
    t.last = meters;
    t.requests += 1;
    t.compute += meters.compute;
    if (meters.currentHeapCount > t.peakHeapCount) t.peakHeapCount = meters.currentHeapCount;
  }
}
