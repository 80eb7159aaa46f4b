/**
 * ECMA-419 TCP and TLS Client sockets for code running inside the XS test
 * host (the `@agoric/xsnap` worker), bridged to real Node sockets
 * (`hosts/node/tcp.ts`, `hosts/node/tls.ts`) in the parent process. Same
 * contract as `modules/io/tcp-types.ts`, so the MQTT client runs over it
 * unchanged.
 *
 * Theory of operation
 * -------------------
 * States: `connecting` -> `open` (first writable event from the host) ->
 * `failed` (the host reported an error or a close by the peer) ->
 * `closed` (`close()`, from any state).
 *
 * Methods are synchronous calls into the host (`issue`, see `bridge.ts`):
 * the constructor opens the Node socket (`XsOp.Open`; the host's
 * TypeError/RangeError for bad options is thrown here), `write` hands the
 * bytes over (`XsOp.Write`; the reply is the writable count left), `close`
 * closes it (`XsOp.Close`). Callbacks run only from the dispatcher
 * (`dispatch.ts`, one host event each), never inside a method of the same
 * socket (ECMA-419 §8 Callbacks).
 *
 * Input: the host pushes received bytes (`HostOp.Readable`); they are
 * queued here as views of the host's batch (no copy) and `onReadable`
 * reports the total queued, once per arrival. `read` copies out. The host
 * stops pushing while more than its window (64 KiB by default) is queued
 * unread here; the dispatcher reports the queued count back after each
 * batch ({@link takeBufferLevels}).
 *
 * Errors: `onError` is delivered once the queue has been read empty, as
 * Moddable's lwIP socket does, so the peer's last bytes are never lost. A
 * read that empties the queue while an error waits schedules the delivery
 * on a promise job (never inside `read`).
 *
 * Allocation: one ArrayBuffer per `write` (the command frame: xsnap takes
 * whole ArrayBuffers) and one per `read()`/`read(count)` (the standard's
 * result); `read(view)` copies into the caller's memory.
 */
import type { ByteBuffer, SocketError, SocketFormat, TcpSocket, TcpWriteOptions } from "../../../modules/io/tcp-types";
import { issue } from "./bridge";
import { XsOp, decodeValue, encodeValue, getU32, putU32 } from "./wire";

type State = "connecting" | "open" | "failed" | "closed";

const sockets: Map<number, TCP> = new Map();
const changed: Set<TCP> = new Set();
let nextId = 1;

function viewOf(data: unknown): Uint8Array | undefined {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return undefined;
}

function callbackOption(options: Record<string, unknown>, name: string): ((...args: any[]) => void) | null {
  const value = options[name];
  if (value === undefined || value === null) return null;
  if (typeof value !== "function") throw new TypeError(`${name}: must be a function or null (ECMA-419 §8 Callbacks)`);
  return value as (...args: any[]) => void;
}

/** Option names passed to the host; the rest (callbacks, `target`, `TCP`, `io`) stay in XS. */
const HOST_OPTIONS = Object.freeze([
  "address",
  "host",
  "port",
  "noDelay",
  "nodelay",
  "keepAlive",
  "tls",
  "secure",
  "writeHighWaterMark",
  "readHighWaterMark",
  "linger",
]);

/**
 * ECMA-419 TCP socket inside the XS test host. Options as
 * `modules/io/tcp-types.ts` `TcpSocketOptions` (`address` or `host`,
 * `port`, `noDelay`/`nodelay` (default true on this host, as the Node
 * host), `keepAlive`, `format`, `target`, callbacks) plus the Node host's
 * extensions (`writeHighWaterMark`, `readHighWaterMark`, `linger`), which
 * are passed to the Node socket.
 *
 * Throws from the constructor: `TypeError`/`RangeError` for bad options
 * (the Node socket's checks, reported back), nothing allocated then.
 * Connection failures arrive later through `onError` with a
 * `SocketError` (`code` such as "ECONNREFUSED" or "EOF", `layer`).
 */
export class TCP implements TcpSocket {
  /** The `target` option (ECMA-419 §8). */
  target?: unknown;

  /** Host-side id of this socket (for diagnostics). */
  readonly id: number;
  private state: State = "connecting";
  private fmt: SocketFormat;
  private onReadable: ((this: TCP, count: number) => void) | null;
  private onWritable: ((this: TCP, count: number) => void) | null;
  private onError: ((this: TCP, error?: SocketError) => void) | null;
  private readonly chunks: Uint8Array[] = [];
  private chunkOffset = 0;
  private buffered = 0;
  /** Buffered count last reported to the host (flow control). */
  reported = 0;
  private failure: SocketError | undefined = undefined;
  private errorScheduled = false;

  constructor(options: Record<string, unknown>) {
    if (options === null || typeof options !== "object") throw new TypeError("TCP: options object required (ECMA-419 §8 constructor)");
    const format = options.format ?? "buffer";
    if (format !== "buffer" && format !== "number") {
      throw new RangeError(`TCP: format must be "buffer" or "number" (ECMA-419 §10), got ${String(format)}`);
    }
    if (options.from !== undefined) throw new RangeError("TCP: `from` is not supported by the XS test host (no Listener)");
    this.onReadable = callbackOption(options, "onReadable");
    this.onWritable = callbackOption(options, "onWritable");
    this.onError = callbackOption(options, "onError");
    this.fmt = format;
    if ("target" in options) this.target = options.target;
    const forHost: Record<string, unknown> = {};
    for (const name of HOST_OPTIONS) if (options[name] !== undefined) forHost[name] = options[name];
    const id = nextId;
    nextId = nextId === 0xffffffff ? 1 : nextId + 1;
    this.id = id;
    const value = encodeValue(forHost);
    const frame = new Uint8Array(6 + value.byteLength);
    frame[0] = XsOp.Open;
    putU32(frame, 1, id);
    frame[5] = this.secure() ? 1 : 0;
    frame.set(value, 6);
    issue(frame);
    sockets.set(id, this);
  }

  /** True for the TLS subclass. */
  protected secure(): boolean {
    return false;
  }

  /** Current data format (ECMA-419 §9 `format`). */
  get format(): SocketFormat {
    this.checkNotClosed();
    return this.fmt;
  }

  set format(value: SocketFormat) {
    this.checkNotClosed();
    if (value !== "buffer" && value !== "number") {
      throw new RangeError(`TCP: format must be "buffer" or "number" (ECMA-419 §9 format), got ${String(value)}`);
    }
    this.fmt = value;
  }

  /** Remote address once connected (asks the host). */
  get remoteAddress(): string | undefined {
    return this.info().remoteAddress;
  }

  /** Remote port once connected (asks the host). */
  get remotePort(): number | undefined {
    return this.info().remotePort;
  }

  /**
   * Non-blocking read (ECMA-419 §9 `read`): `read()` everything queued (a
   * new ArrayBuffer) or, in `"number"` format, the next byte;
   * `read(count)` up to `count` bytes; `read(view)` copies into the view
   * and returns the count. `undefined` when nothing is queued.
   */
  read(): ArrayBuffer | number | undefined;
  read(count: number): ArrayBuffer | undefined;
  read(buffer: ByteBuffer): number | undefined;
  read(option?: number | ByteBuffer): ArrayBuffer | number | undefined {
    this.checkNotClosed();
    if (this.fmt === "number") {
      if (option !== undefined) throw new TypeError('TCP: read takes no argument in "number" format (ECMA-419 Annex A)');
      if (this.buffered === 0) return undefined;
      const one = new Uint8Array(1);
      this.take(one);
      return one[0];
    }
    if (option === undefined) {
      if (this.buffered === 0) return undefined;
      const out = new Uint8Array(this.buffered);
      this.take(out);
      return out.buffer;
    }
    if (typeof option === "number") {
      if (!Number.isInteger(option) || option < 1) {
        throw new RangeError(`TCP: read count must be a positive integer (ECMA-419 Annex A), got ${option}`);
      }
      if (this.buffered === 0) return undefined;
      const out = new Uint8Array(option < this.buffered ? option : this.buffered);
      this.take(out);
      return out.buffer;
    }
    const view = viewOf(option);
    if (view === undefined) throw new TypeError("TCP: read argument must be a count or a Byte Buffer (ECMA-419 §9 read)");
    if (this.buffered === 0) return undefined;
    const n = view.byteLength < this.buffered ? view.byteLength : this.buffered;
    this.take(n === view.byteLength ? view : view.subarray(0, n));
    return n;
  }

  /**
   * Sends `data` (all of it, or throws and sends nothing: ECMA-419 §9
   * `write`). Returns the writable count left. Throws before the first
   * `onWritable` ("not connected") and when `data` exceeds the writable
   * count (the host's message). After a failure it sends nothing and
   * returns 0; `onError` reports the failure. `options` is ignored.
   */
  write(data: ByteBuffer | number, options?: TcpWriteOptions): number {
    this.checkNotClosed();
    void options;
    let bytes: Uint8Array;
    if (this.fmt === "number") {
      if (typeof data !== "number") throw new TypeError('TCP: write takes a byte value in "number" format (ECMA-419 §10)');
      if (!Number.isInteger(data) || data < 0 || data > 255) throw new RangeError(`TCP: byte value must be an integer in 0..255, got ${data}`);
      bytes = Uint8Array.of(data);
    } else {
      const view = viewOf(data);
      if (view === undefined) throw new TypeError('TCP: write takes a Byte Buffer in "buffer" format (ECMA-419 §9 write)');
      bytes = view;
    }
    if (this.state === "connecting") throw new Error("TCP: not connected; write after the first onWritable (ECMA-419 §10 TCP socket)");
    if (this.state === "failed" || this.failure !== undefined) return 0;
    const frame = new Uint8Array(5 + bytes.byteLength);
    frame[0] = XsOp.Write;
    putU32(frame, 1, this.id);
    frame.set(bytes, 5);
    const reply = issue(frame);
    return getU32(reply, 0);
  }

  /** Closes the socket (ECMA-419 §8 `close`): synchronous, idempotent, no callback afterwards. */
  close(): void {
    if (this.state === "closed") return;
    this.state = "closed";
    this.onReadable = this.onWritable = this.onError = null;
    this.chunks.length = 0;
    this.buffered = 0;
    sockets.delete(this.id);
    changed.delete(this);
    const frame = new Uint8Array(5);
    frame[0] = XsOp.Close;
    putU32(frame, 1, this.id);
    issue(frame);
  }

  // ---- host events (called by the dispatcher only) ----------------------

  /** Bytes arrived: queue the view (it stays valid: the batch buffer is XS's) and report the total. */
  receive(bytes: Uint8Array): void {
    if (this.state === "closed" || bytes.byteLength === 0) return;
    this.chunks.push(bytes);
    this.buffered += bytes.byteLength;
    changed.add(this);
    if (this.onReadable !== null) this.onReadable.call(this, this.buffered);
    this.deliverErrorIfDrained();
  }

  /** The host socket can take `count` bytes; the first one means connected. */
  writable(count: number): void {
    if (this.state === "closed" || this.state === "failed" || this.failure !== undefined) return;
    this.state = "open";
    if (this.onWritable !== null && count > 0) this.onWritable.call(this, count);
  }

  /** The connection failed or the peer closed it. */
  fail(error: SocketError): void {
    if (this.state === "closed" || this.failure !== undefined) return;
    this.failure = error;
    this.deliverErrorIfDrained();
  }

  /** Queued-count changes since the last report, for the host's flow control. */
  static takeBufferLevels(report: (id: number, buffered: number) => void): void {
    for (const socket of changed) {
      socket.reported = socket.buffered;
      report(socket.id, socket.buffered);
    }
    changed.clear();
  }

  /** The open socket with host id `id`, if any. */
  static byId(id: number): TCP | undefined {
    return sockets.get(id);
  }

  /** Number of sockets open (not closed). */
  static count(): number {
    return sockets.size;
  }

  private info(): { remoteAddress?: string; remotePort?: number } {
    this.checkNotClosed();
    const frame = new Uint8Array(5);
    frame[0] = XsOp.Info;
    putU32(frame, 1, this.id);
    const reply = issue(frame);
    return decodeValue(reply, 0, reply.length) as { remoteAddress?: string; remotePort?: number };
  }

  private deliverErrorIfDrained(): void {
    if (this.failure === undefined || this.state === "failed" || this.state === "closed") return;
    if (this.buffered > 0 && this.onReadable !== null) return;
    this.state = "failed";
    if (this.onError !== null) this.onError.call(this, this.failure);
  }

  private checkNotClosed(): void {
    if (this.state === "closed") throw new TypeError("TCP: socket is closed (ECMA-419 §8 close)");
  }

  private take(out: Uint8Array): void {
    let filled = 0;
    const chunks = this.chunks;
    while (filled < out.byteLength) {
      const chunk = chunks[0];
      const left = chunk.byteLength - this.chunkOffset;
      const want = out.byteLength - filled;
      const n = left < want ? left : want;
      out.set(n === chunk.byteLength ? chunk : chunk.subarray(this.chunkOffset, this.chunkOffset + n), filled);
      filled += n;
      this.chunkOffset += n;
      if (this.chunkOffset === chunk.byteLength) {
        chunks.shift();
        this.chunkOffset = 0;
      }
    }
    this.buffered -= filled;
    changed.add(this);
    if (this.buffered === 0 && this.failure !== undefined && !this.errorScheduled) {
      this.errorScheduled = true;
      Promise.resolve().then(() => this.deliverErrorIfDrained());
    }
  }
}

/**
 * ECMA-419 TLS Client socket inside the XS test host: the TCP socket above
 * with TLS done by the Node host (`hosts/node/tls.ts`). Takes the
 * standard's `tls` bag or Moddable's `secure` bag (Node's names accepted
 * there: `ca`, `cert`, `key`, `passphrase`, `rejectUnauthorized`,
 * `servername`); certificates as strings (PEM) or bytes (PEM or DER).
 * TLS failures reach `onError` with `layer: "tls"`.
 */
export class TLSSocket extends TCP {
  protected override secure(): boolean {
    return true;
  }
}
