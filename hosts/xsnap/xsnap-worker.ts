/**
 * Node-side driver of the XS engine built by the npm package `@agoric/xsnap`.
 *
 * Theory of operation
 * -------------------
 * `@agoric/xsnap` compiles Moddable's XS (13.3) into a small program,
 * `xsnap-worker`, that runs one XS machine and is driven over two pipes:
 * the parent writes netstrings (`<decimal length>:<bytes>,`) on the child's
 * fd 3 and reads netstrings from the child's fd 4. We spawn that binary
 * directly instead of using the package's JS API, because that API locks
 * down (SES) the Node realm it runs in.
 *
 * Requests (parent -> worker), one at a time:
 * - `e<code>`  evaluate `code` as a sloppy-mode script with global `eval`;
 * - `s<path>`  run a script file (errors go to the worker's stderr only);
 * - `?<bytes>` call `globalThis.handleCommand(arrayBuffer)`;
 * - `q`        quit.
 *
 * Replies (worker -> parent):
 * - `.` + meter JSON + byte 0x01 + result bytes: the request completed. The
 *   result bytes are the value of the evaluation (or its `.result` property)
 *   when that value is an ArrayBuffer, else empty;
 * - `!<message>`: the request threw (message = `String(exception)`);
 * - `?<bytes>`: the XS side called `issueCommand(arrayBuffer)` while the
 *   request runs; the parent must answer `/<bytes>` before anything else,
 *   and the bytes become the return value of `issueCommand`.
 *
 * After the request's own code returns, the worker drains the XS run loop
 * (promise jobs and `setImmediate` callbacks) before it replies, so an async
 * chain that never waits on the host completes within one request.
 *
 * States: `running` (child alive, requests allowed), `closed` (after
 * `close()` or the child's exit; every pending and later request rejects).
 * Requests are queued and sent strictly one after the other; `onCommand`
 * runs while its request is outstanding and may be async.
 *
 * Globals inside the worker: `print` (to the worker's stdout), `gc`,
 * `issueCommand`, `setImmediate`, `performance.now`, `TextEncoder`,
 * `TextDecoder`, `harden`, `currentMeterLimit`, `resetMeter`. There is no
 * `setTimeout`: timers and I/O are the host's job, bridged with
 * `issueCommand`/`handleCommand`.
 *
 * This file is a Node host tool (it uses `child_process`); it never runs on
 * a microcontroller.
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import type { Readable, Writable } from "node:stream";

/** Meters the worker reports with every completed request. */
export interface XsnapMeters {
  /**
   * Deterministic XS computation steps ("meter index") used by this request,
   * run loop included. Stable across runs of the same code and engine build.
   */
  compute: number;
  /** Heap slots in use at the end of the request (live and not yet collected). */
  currentHeapCount: number;
  /** Bytes of chunk space (strings, ArrayBuffer data, ...) allocated by the machine so far. */
  allocate: number;
  /** Wall-clock timestamps (seconds since the epoch) the worker recorded; diagnostic only. */
  timestamps: number[];
}

/** Result of one completed request. */
export interface XsnapResult {
  /** Meters reported for the request. */
  meters: XsnapMeters;
  /**
   * The ArrayBuffer result of the evaluation or `handleCommand` call (empty
   * when the value was not an ArrayBuffer). A fresh copy owned by the caller.
   */
  result: Uint8Array;
}

/** Handler for `issueCommand(bytes)` from XS; its return value becomes the XS-side result. */
export type XsnapCommandHandler = (bytes: Uint8Array) => Uint8Array | Promise<Uint8Array>;

/** Options for {@link XsnapWorker}. */
export interface XsnapWorkerOptions {
  /** Path of the `xsnap-worker` binary. Default: {@link XsnapWorker.defaultBinaryPath}. */
  binary?: string;
  /** Extra command-line arguments, e.g. `["-l", "100000000"]` for a per-request compute limit. */
  args?: string[];
  /** Working directory of the worker (relative `s<path>` requests resolve from it). Default: `process.cwd()`. */
  cwd?: string;
  /** Answers `issueCommand`. Default: a handler that throws, which fails the request. */
  onCommand?: XsnapCommandHandler;
  /** Receives the worker's stdout (`print` output). Default: copied to `process.stdout`. */
  onStdout?: (text: string) => void;
  /** Receives the worker's stderr. Default: copied to `process.stderr`. Always also kept in {@link XsnapWorker.stderrTail}. */
  onStderr?: (text: string) => void;
}

/** Error for a request the worker rejected, or a worker that died. */
export class XsnapError extends Error {
  /** `"exception"`: XS threw; `"exit"`: the worker exited or was closed; `"protocol"`: malformed traffic; `"command"`: `onCommand` failed. */
  readonly kind: "exception" | "exit" | "protocol" | "command";
  /** Exit code of the worker, when `kind` is `"exit"` and it exited by itself. */
  readonly exitCode: number | null;
  constructor(kind: XsnapError["kind"], message: string, exitCode: number | null = null) {
    super(message);
    this.name = "XsnapError";
    this.kind = kind;
    this.exitCode = exitCode;
  }
}

/** Meaning of the worker's exit codes (xsnap-worker.c `ExitCode`). */
export const XsnapExitCode: Readonly<Record<number, string>> = Object.freeze({
  1: "bad usage",
  2: "I/O error",
  11: "not enough memory",
  12: "stack overflow",
  15: "unhandled exception",
  16: "no more keys",
  17: "too much computation",
});

interface Pending {
  frame: Uint8Array;
  resolve: (result: XsnapResult) => void;
  reject: (error: Error) => void;
}

const COLON = 0x3a;
const COMMA = 0x2c;
const STDERR_TAIL = 4096;

/**
 * One XS machine in a child process. Create, send requests, `close()`.
 *
 * Not re-entrant per request: requests issued while another is outstanding
 * are queued, so `onCommand` must not await a request on the same worker
 * (that would deadlock); it may start requests on other workers.
 */
export class XsnapWorker {
  /** Process id of the worker. */
  readonly pid: number;
  /** Last few kilobytes the worker wrote to stderr (diagnostics for failures). */
  stderrTail = "";

  private readonly child: ChildProcess;
  private readonly toWorker: Writable;
  private readonly onCommand: XsnapCommandHandler;
  private readonly queue: Pending[] = [];
  private current: Pending | null = null;
  private input: Buffer = Buffer.alloc(0);
  private closedError: XsnapError | null = null;
  private readonly exited: Promise<number | null>;

  /**
   * Path of `xsnap-worker` as built by the `@agoric/xsnap` install step, for
   * this OS (`lin` or `mac`, release build). Throws if it is missing.
   */
  static defaultBinaryPath(): string {
    const os = process.platform === "darwin" ? "mac" : "lin";
    const tail = join("xsnap-native", "xsnap", "build", "bin", os, "release", "xsnap-worker");
    const candidates: string[] = [];
    try {
      const require = createRequire(join(process.cwd(), "package.json"));
      candidates.push(join(dirname(require.resolve("@agoric/xsnap/package.json")), tail));
    } catch {
      // Not resolvable from the working directory: only the usual layout below is tried.
    }
    candidates.push(resolve(process.cwd(), "node_modules", "@agoric", "xsnap", tail));
    for (const path of candidates) if (existsSync(path)) return path;
    throw new Error(
      `xsnap-worker binary not found (looked at ${candidates.join(", ")}); run \`npm ci\` (its install step builds XS)`,
    );
  }

  /** Spawns the worker. Throws if the binary is missing. */
  constructor(options: XsnapWorkerOptions = {}) {
    const binary = options.binary ?? XsnapWorker.defaultBinaryPath();
    this.onCommand =
      options.onCommand ??
      (() => {
        throw new Error("issueCommand called but the XsnapWorker has no onCommand handler");
      });
    const onStdout = options.onStdout ?? ((text: string) => process.stdout.write(text));
    const onStderr = options.onStderr ?? ((text: string) => process.stderr.write(text));
    if (!existsSync(binary)) throw new Error(`xsnap-worker binary not found: ${binary}`);
    this.child = spawn(binary, options.args ?? [], {
      cwd: options.cwd ?? process.cwd(),
      stdio: ["ignore", "pipe", "pipe", "pipe", "pipe"],
    });
    if (this.child.pid === undefined) {
      this.child.on("error", () => {}); // reported by the throw below
      throw new Error(`cannot spawn ${binary}`);
    }
    this.pid = this.child.pid;
    this.toWorker = this.child.stdio[3] as Writable;
    const fromWorker = this.child.stdio[4] as Readable;
    this.child.stdout!.setEncoding("utf8").on("data", onStdout);
    this.child.stderr!.setEncoding("utf8").on("data", (text: string) => {
      this.stderrTail = (this.stderrTail + text).slice(-STDERR_TAIL);
      onStderr(text);
    });
    fromWorker.on("data", (chunk: Buffer) => this.receive(chunk));
    // EPIPE after the worker died is reported through the exit path.
    this.toWorker.on("error", () => {});
    this.exited = new Promise((resolveExit) => {
      this.child.on("error", (error) => {
        this.fail(new XsnapError("exit", `xsnap-worker: ${error.message}`));
        resolveExit(null);
      });
      this.child.on("close", (code, signal) => {
        const meaning = code !== null ? XsnapExitCode[code] : undefined;
        const how =
          code !== null ? `exited with code ${code}${meaning ? ` (${meaning})` : ""}` : `was killed by ${signal}`;
        const tail = this.stderrTail.trim();
        this.fail(new XsnapError("exit", `xsnap-worker ${how}${tail ? `; stderr: ${tail}` : ""}`, code));
        resolveExit(code);
      });
    });
  }

  /** True once the worker exited or `close()` was called. */
  get closed(): boolean {
    return this.closedError !== null;
  }

  /**
   * Evaluates `code` as a script in the global scope (indirect `eval`), then
   * drains the run loop. Rejects with an {@link XsnapError} of kind
   * `"exception"` carrying `String(exception)` if it throws.
   */
  evaluate(code: string): Promise<XsnapResult> {
    return this.request("e", Buffer.from(code, "utf8"));
  }

  /**
   * Runs the script file at `path` (resolved by the worker from its cwd).
   * XS reports the exception only on the worker's stderr; the rejection's
   * message includes the stderr tail.
   */
  runFile(path: string): Promise<XsnapResult> {
    return this.request("s", Buffer.from(path, "utf8"));
  }

  /** Calls `globalThis.handleCommand(arrayBuffer)` in XS with a copy of `bytes`. */
  command(bytes: Uint8Array): Promise<XsnapResult> {
    return this.request("?", bytes);
  }

  /**
   * Asks the worker to quit and waits for it to exit. Pending requests
   * reject. Resolves to the exit code (null if killed). Idempotent.
   * If the worker has not exited after `graceMs` milliseconds (default 2000)
   * it is killed with SIGKILL.
   */
  async close(graceMs = 2000): Promise<number | null> {
    if (!this.closedError) {
      this.fail(new XsnapError("exit", "xsnap-worker closed"));
      this.toWorker.end(Buffer.from("1:q,"));
    }
    const timer = setTimeout(() => this.child.kill("SIGKILL"), graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Kills the worker at once (e.g. after a wall-clock timeout). Pending requests reject. */
  kill(): void {
    this.fail(new XsnapError("exit", "xsnap-worker killed"));
    this.child.kill("SIGKILL");
  }

  private request(prefix: string, body: Uint8Array): Promise<XsnapResult> {
    return new Promise((resolveRequest, rejectRequest) => {
      if (this.closedError) {
        rejectRequest(this.closedError);
        return;
      }
      this.queue.push({ frame: frame(prefix, body), resolve: resolveRequest, reject: rejectRequest });
      this.pump();
    });
  }

  private pump(): void {
    if (this.current || this.closedError) return;
    const next = this.queue.shift();
    if (!next) return;
    this.current = next;
    this.toWorker.write(next.frame);
  }

  private fail(error: XsnapError): void {
    if (!this.closedError) this.closedError = error;
    const pending = this.current ? [this.current, ...this.queue] : [...this.queue];
    this.current = null;
    this.queue.length = 0;
    for (const request of pending) request.reject(error);
  }

  private receive(chunk: Buffer): void {
    this.input = this.input.length ? Buffer.concat([this.input, chunk]) : chunk;
    for (;;) {
      const colon = this.input.indexOf(COLON);
      if (colon < 0) {
        if (this.input.length > 12) this.protocolError("netstring length prefix too long");
        return;
      }
      const digits = this.input.subarray(0, colon).toString("latin1");
      if (!/^\d{1,10}$/.test(digits)) {
        this.protocolError(`bad netstring length ${JSON.stringify(digits)}`);
        return;
      }
      const length = Number(digits);
      const end = colon + 1 + length;
      if (this.input.length < end + 1) return;
      if (this.input[end] !== COMMA) {
        this.protocolError("netstring not terminated by ','");
        return;
      }
      const message = this.input.subarray(colon + 1, end);
      this.input = this.input.subarray(end + 1);
      this.dispatch(message);
    }
  }

  private protocolError(text: string): void {
    this.fail(new XsnapError("protocol", `xsnap-worker protocol: ${text}`));
    this.child.kill("SIGKILL");
  }

  private dispatch(message: Buffer): void {
    const request = this.current;
    if (!request) {
      this.protocolError(`unexpected message ${JSON.stringify(message.subarray(0, 40).toString())}`);
      return;
    }
    const kind = message[0];
    if (kind === 0x3f /* ? */) {
      const bytes = new Uint8Array(message.subarray(1));
      Promise.resolve()
        .then(() => this.onCommand(bytes))
        .then(
          (reply) => {
            if (!this.closedError) this.toWorker.write(frame("/", reply ?? new Uint8Array(0)));
          },
          (error: unknown) => {
            // The worker blocks until it gets a reply; without one it cannot go on.
            const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
            this.fail(new XsnapError("command", `onCommand failed: ${text}`));
            this.child.kill("SIGKILL");
          },
        );
      return;
    }
    this.current = null;
    if (kind === 0x2e /* . */) {
      const separator = message.indexOf(1);
      if (separator < 0) {
        request.reject(new XsnapError("protocol", "reply without meter separator"));
      } else {
        const meters = JSON.parse(message.subarray(1, separator).toString("utf8")) as XsnapMeters;
        request.resolve({ meters, result: new Uint8Array(message.subarray(separator + 1)) });
      }
    } else if (kind === 0x21 /* ! */) {
      let text = message.subarray(1).toString("utf8");
      if (!text) {
        const tail = this.stderrTail.trim().split("\n").slice(-5).join("\n");
        text = tail ? `(see worker stderr) ${tail}` : "(no message)";
      }
      request.reject(new XsnapError("exception", text));
    } else {
      request.reject(new XsnapError("protocol", `unknown reply kind ${JSON.stringify(String.fromCharCode(kind ?? 0))}`));
    }
    this.pump();
  }
}

function frame(prefix: string, body: Uint8Array): Buffer {
  const head = Buffer.from(`${body.length + Buffer.byteLength(prefix)}:${prefix}`, "utf8");
  return Buffer.concat([head, body, Buffer.from(",")]);
}
