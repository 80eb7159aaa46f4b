/**
 * ECMA-419 TCP socket (`embedded:io/socket/tcp`) over Node's `node:net`, for
 * running mqtt-xs on Node and for testing the client against real brokers
 * with the same socket contract a board provides (see
 * `modules/io/tcp-types.ts` for the contract and its sources).
 *
 * Theory of operation
 * -------------------
 * States: `connecting` -> `open` (Node's `connect`, or `secureConnect` for
 * TLS) -> `failed` (error, or the peer closed) -> `closed` (`close()`;
 * reachable from every state). Callbacks are delivered by one `service()`
 * step that runs from Node's socket events, or on a later turn
 * (`setImmediate`) when a method made something deliverable, so a callback
 * never runs inside a method of this instance (ECMA-419 §8 Callbacks).
 * `service()` delivers in the order Moddable's lwIP socket does: readable
 * first; then, if the connection failed, `onError` only once the receive
 * queue has been read empty (the peer's last bytes are never lost);
 * otherwise `onWritable`.
 *
 * Output: `write()` copies the bytes into one staging buffer per socket,
 * allocated with the socket; at the end of the turn (`process.nextTick`)
 * the bytes staged in that turn go to Node in one `write` (one system
 * call, one TCP segment with `noDelay`), as Moddable's socket coalesces
 * writes made within one turn. Nothing is allocated per `write()`. When
 * Node keeps the staged bytes queued (the kernel did not take them at
 * once), that buffer stays Node's until its write completes and the next
 * turn stages into a spare one, so no queued byte is ever overwritten.
 * The writable count is `writeHighWaterMark` minus Node's `writableLength`
 * (bytes Node accepted but has not yet handed to the kernel) minus the
 * bytes staged this turn. `onWritable` is reported after each flush to the
 * kernel, at most once per turn.
 *
 * Input: received chunks are queued as they arrive (no copy);
 * `onReadable(count)` reports the total queued. When `readHighWaterMark`
 * bytes are queued unread, the socket is paused, so TCP flow control
 * pushes back on the peer the way an unread lwIP receive window does.
 *
 * Node-only (uses `node:net`); never part of a board build.
 */
import net from "node:net";
import type {
  ByteBuffer,
  SocketError,
  SocketFormat,
  TcpSocket,
  TcpSocketOptions,
  TcpWriteOptions,
} from "../../modules/io/tcp-types";

/**
 * Default writable budget in bytes: Node's own default
 * `writableHighWaterMark` for `net.Socket` (16 KiB), so `write()` refusing
 * more and Node's `write()` returning `false` happen at the same point.
 * It is measured against Node's user-space queue (`writableLength`), not
 * the kernel's send buffer (several hundred KiB to MiB on Linux loopback),
 * which sits behind it. A board's lwIP send buffer is smaller: Moddable's
 * ESP32 build sets `CONFIG_LWIP_TCP_SND_BUF_DEFAULT=8192`; pass
 * `writeHighWaterMark: 8192` to mimic it.
 */
export const DEFAULT_WRITE_HIGH_WATER_MARK = 16384;

/**
 * Largest staging buffer in bytes: the staging buffer is
 * `min(writeHighWaterMark, MAX_STAGING)`; a turn that writes more hands
 * Node the staged bytes early (inside `write()`) and goes on staging.
 */
export const MAX_STAGING = 65536;

/**
 * Default bytes queued unread before the socket is paused: 64 KiB, the
 * size of one libuv read (so one full read never pauses by itself).
 */
export const DEFAULT_READ_HIGH_WATER_MARK = 65536;

/**
 * Default time in milliseconds that `close()` lets already-written bytes
 * drain (a graceful FIN, as lwIP's `tcp_close`) before the socket is
 * destroyed.
 */
export const DEFAULT_LINGER = 2000;

/** Node-host extensions of the ECMA-419 TCP options. */
export interface NodeTcpOptions extends TcpSocketOptions {
  /** Writable budget in bytes (positive integer). Default {@link DEFAULT_WRITE_HIGH_WATER_MARK}. */
  writeHighWaterMark?: number;
  /** Unread bytes before reading pauses (positive integer). Default {@link DEFAULT_READ_HIGH_WATER_MARK}. */
  readHighWaterMark?: number;
  /** Milliseconds `close()` waits for queued output before destroying. Default {@link DEFAULT_LINGER}. */
  linger?: number;
}

type State = "connecting" | "open" | "failed" | "closed";

type Callback = ((...args: never[]) => void) | null;

function callbackOption(options: object, name: string): Callback {
  const value = (options as Record<string, unknown>)[name];
  if (value === undefined || value === null) return null;
  if (typeof value !== "function") {
    throw new TypeError(`${name}: must be a function or null (ECMA-419 §8 Callbacks)`);
  }
  return value as Callback;
}

function positiveIntegerOption(options: object, name: string, fallback: number): number {
  const value = (options as Record<string, unknown>)[name];
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
    throw new RangeError(`${name}: must be a positive integer, got ${String(value)}`);
  }
  return value;
}

/**
 * A view of the bytes of a Byte Buffer (ECMA-419 §6 Byte Buffer), or
 * `undefined` when `data` is not one. The view aliases the caller's memory.
 */
export function bytesOf(data: unknown): Uint8Array | undefined {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (typeof SharedArrayBuffer !== "undefined" && data instanceof SharedArrayBuffer) {
    return new Uint8Array(data);
  }
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return undefined;
}

/** Builds the error passed to `onError` (see `SocketError` in tcp-types). */
export function socketError(
  message: string,
  code: string | undefined,
  layer: SocketError["layer"],
  cause?: unknown,
): SocketError {
  const error = new Error(message, cause === undefined ? undefined : { cause }) as SocketError;
  error.name = "SocketError";
  if (code !== undefined) error.code = code;
  if (layer !== undefined) error.layer = layer;
  return error;
}

/**
 * ECMA-419 TCP socket over `node:net`.
 *
 * Options: the ECMA-419 ones (`address` or, as an extension, `host`;
 * `port`; `noDelay` (also read as Moddable's `nodelay`), **default `true`
 * here** (the standard's default is `false`; MQTT wants Nagle off);
 * `keepAlive` ms; `format`; `target`; callbacks) plus
 * {@link NodeTcpOptions}. `from` is not supported (there is no Listener
 * on this host): it throws `RangeError`.
 *
 * Throws from the constructor (nothing is allocated then): `TypeError` for
 * a missing or non-object options bag, a missing/non-IP `address` without
 * `host`, a non-number `port`, a non-function callback; `RangeError` for a
 * port outside 0..65535, an unknown `format`, a bad high-water mark.
 * Connection failures (refused, DNS, reset) arrive later through `onError`.
 *
 * Re-entrancy: callbacks run on Node's event loop, never inside a method of
 * the same instance; a callback may call any method, `close()` included.
 */
export class TCP implements TcpSocket {
  /** The `target` option (ECMA-419 §8 `target`). */
  target?: unknown;

  private state: State = "connecting";
  private fmt: SocketFormat;
  private socket: net.Socket;
  private readonly writeHighWaterMark: number;
  private readonly readHighWaterMark: number;
  private readonly linger: number;
  private onReadable: Callback;
  private onWritable: Callback;
  private onError: Callback;
  /** Received chunks not yet read; the first is consumed from `rxOffset`. */
  private rx: Buffer[] = [];
  private rxOffset = 0;
  private rxAvailable = 0;
  private rxPaused = false;
  private readablePending = false;
  private writablePending = false;
  private failure: SocketError | undefined;
  private errorDelivered = false;
  /** Bytes written in this turn, not yet handed to Node (`staging[0, staged)`). */
  private staging: Buffer;
  private staged = 0;
  private flushScheduled = false;
  /**
   * One entry per Node write not yet completed, in order (Node completes
   * writes in order): the staging buffer Node still holds, or `null` when
   * the kernel took the bytes at once and the buffer was reused.
   */
  private readonly nodeWrites: Array<Buffer | null> = [];
  /** Staging buffers returned by completed writes, ready for reuse (at most two kept). */
  private readonly spare: Buffer[] = [];
  private readonly flushBound: () => void;
  private readonly afterWriteBound: (error?: Error | null) => void;
  private inService = false;
  private immediate: NodeJS.Immediate | undefined;
  /** Whether TCP itself connected (for TLS: before the handshake ended). */
  protected tcpConnected = false;

  constructor(options: NodeTcpOptions) {
    if (options === null || typeof options !== "object") {
      throw new TypeError("TCP: options object required (ECMA-419 §8 constructor)");
    }
    if (options.from !== undefined) {
      throw new RangeError("TCP: `from` is not supported by the Node host (no Listener)");
    }
    const address = options.address;
    const host = options.host;
    if (address !== undefined) {
      if (typeof address !== "string" || net.isIP(address) === 0) {
        throw new TypeError(
          `TCP: address must be an IP address string (ECMA-419 §10 TCP socket), got ${String(address)}`,
        );
      }
    } else if (typeof host !== "string" || host.length === 0) {
      throw new TypeError("TCP: address (or host) required (ECMA-419 §10 TCP socket)");
    }
    const port = options.port;
    if (typeof port !== "number") {
      throw new TypeError("TCP: port required, a number (ECMA-419 §10 TCP socket)");
    }
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new RangeError(`TCP: port must be an integer in 0..65535 (ECMA-419 Annex A), got ${port}`);
    }
    const format = options.format ?? "buffer";
    if (format !== "buffer" && format !== "number") {
      throw new RangeError(`TCP: format must be "buffer" or "number" (ECMA-419 §10), got ${String(format)}`);
    }
    let noDelay = true;
    if (options.noDelay !== undefined) noDelay = Boolean(options.noDelay);
    else if (options.nodelay !== undefined) noDelay = Boolean(options.nodelay);
    const keepAlive = options.keepAlive;
    if (keepAlive !== undefined && (typeof keepAlive !== "number" || !Number.isInteger(keepAlive) || keepAlive < 1)) {
      throw new RangeError(`TCP: keepAlive must be a positive integer of ms (ECMA-419 Annex A), got ${String(keepAlive)}`);
    }
    this.onReadable = callbackOption(options, "onReadable");
    this.onWritable = callbackOption(options, "onWritable");
    this.onError = callbackOption(options, "onError");
    this.writeHighWaterMark = positiveIntegerOption(options, "writeHighWaterMark", DEFAULT_WRITE_HIGH_WATER_MARK);
    this.readHighWaterMark = positiveIntegerOption(options, "readHighWaterMark", DEFAULT_READ_HIGH_WATER_MARK);
    const linger = options.linger ?? DEFAULT_LINGER;
    if (typeof linger !== "number" || !(linger >= 0)) {
      throw new RangeError(`TCP: linger must be a non-negative number of ms, got ${String(linger)}`);
    }
    this.linger = linger;
    this.fmt = format;
    if ("target" in options) this.target = options.target;

    // Everything above validates; from here on resources are allocated.
    this.staging = Buffer.allocUnsafeSlow(Math.min(this.writeHighWaterMark, MAX_STAGING));
    this.flushBound = () => {
      this.flushScheduled = false;
      this.flush();
    };
    this.afterWriteBound = (error?: Error | null) => this.afterWrite(error);
    const socket = this.openSocket(options, (address ?? host) as string, port);
    this.socket = socket;
    socket.setNoDelay(noDelay);
    if (keepAlive !== undefined) socket.setKeepAlive(true, keepAlive);
    socket.on("connect", () => {
      this.tcpConnected = true;
    });
    socket.on(this.readyEvent(), () => this.handleReady());
    socket.on("data", (chunk: Buffer) => this.handleData(chunk));
    socket.on("end", () => this.handleFailure(socketError("connection closed by peer", "EOF", "tcp")));
    socket.on("error", (error: Error & { code?: string; syscall?: string }) => this.handleNodeError(error));
    socket.on("close", () => this.handleFailure(socketError("connection closed", "EOF", "tcp")));
  }

  /**
   * Creates and starts connecting the Node socket. Subclasses (TLS)
   * override it; it runs inside the constructor after validation.
   */
  protected openSocket(options: NodeTcpOptions, host: string, port: number): net.Socket {
    void options;
    return net.connect({ host, port, allowHalfOpen: false });
  }

  /** The Node event that means "ready for application data". */
  protected readyEvent(): "connect" | "secureConnect" {
    return "connect";
  }

  /** Which layer a Node error belongs to. */
  protected errorLayer(error: Error & { code?: string; syscall?: string }): SocketError["layer"] {
    return error.syscall === "getaddrinfo" ? "dns" : "tcp";
  }

  /** The data format (ECMA-419 §9 `format`). Setting an unknown value throws `RangeError`. */
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

  /** Remote IP address once connected, else `undefined` (ECMA-419 §10). */
  get remoteAddress(): string | undefined {
    this.checkNotClosed();
    return this.socket.remoteAddress;
  }

  /** Remote port once connected, else `undefined` (ECMA-419 §10). */
  get remotePort(): number | undefined {
    this.checkNotClosed();
    return this.socket.remotePort;
  }

  /**
   * Non-blocking read (ECMA-419 §9 `read`, §10 TCP socket `read`):
   * - `read()`: all queued bytes as a new `ArrayBuffer` (`"buffer"`), or the
   *   next byte (`"number"`);
   * - `read(count)`: up to `count` bytes (positive integer, else `RangeError`);
   * - `read(view)`: copies up to `view.byteLength` bytes into the view,
   *   returns how many.
   * Returns `undefined` when nothing is queued. Returned buffers belong to
   * the caller.
   */
  read(): ArrayBuffer | number | undefined;
  read(count: number): ArrayBuffer | undefined;
  read(buffer: ByteBuffer): number | undefined;
  read(option?: number | ByteBuffer): ArrayBuffer | number | undefined {
    this.checkNotClosed();
    if (this.fmt === "number") {
      if (option !== undefined) {
        throw new TypeError('TCP: read takes no argument in "number" format (ECMA-419 Annex A, IO read step 7)');
      }
      if (this.rxAvailable === 0) return undefined;
      const one = this.rx[0]![this.rxOffset];
      this.take(undefined, 1);
      return one;
    }
    let result: ArrayBuffer | number;
    if (option === undefined) {
      if (this.rxAvailable === 0) return undefined;
      const out = new Uint8Array(this.rxAvailable);
      this.take(out, out.byteLength);
      result = out.buffer;
    } else if (typeof option === "number") {
      if (!Number.isInteger(option) || option < 1) {
        throw new RangeError(`TCP: read count must be a positive integer (ECMA-419 Annex A), got ${option}`);
      }
      if (this.rxAvailable === 0) return undefined;
      const out = new Uint8Array(Math.min(option, this.rxAvailable));
      this.take(out, out.byteLength);
      result = out.buffer;
    } else {
      // A Uint8Array (a Node Buffer is one) is filled as it is: no view per read.
      const view = option instanceof Uint8Array ? option : bytesOf(option);
      if (view === undefined) {
        throw new TypeError("TCP: read argument must be a count or a Byte Buffer (ECMA-419 §9 read)");
      }
      if (this.rxAvailable === 0) return undefined;
      const n = Math.min(view.byteLength, this.rxAvailable);
      this.take(view, n);
      result = n;
    }
    return result;
  }

  /**
   * Queues `data` for sending (ECMA-419 §9 `write`): a Byte Buffer in
   * `"buffer"` format, a byte 0..255 in `"number"` format. The bytes are
   * copied before it returns. Returns the writable count left.
   *
   * Throws `Error` before the connection is ready (before the first
   * `onWritable`) and when `data` exceeds the writable count — then nothing
   * is sent (§9: "If all the data cannot be output, write must not output
   * any data"). After the connection failed it sends nothing and returns 0:
   * the failure is reported by `onError` (Moddable behaves the same).
   * `options` (3rd ed. `more`/`byteLength`) is accepted and ignored; writes
   * of one turn are coalesced anyway.
   */
  write(data: ByteBuffer | number, options?: TcpWriteOptions): number {
    this.checkNotClosed();
    void options;
    let bytes: Uint8Array | undefined;
    let byte = 0;
    if (this.fmt === "number") {
      if (typeof data !== "number") {
        throw new TypeError('TCP: write takes a byte value in "number" format (ECMA-419 §10 TCP socket write)');
      }
      if (!Number.isInteger(data) || data < 0 || data > 255) {
        throw new RangeError(`TCP: byte value must be an integer in 0..255, got ${data}`);
      }
      byte = data;
    } else {
      // A Uint8Array (a Node Buffer is one) is used as it is: no view per write.
      bytes = data instanceof Uint8Array ? data : bytesOf(data);
      if (bytes === undefined) {
        throw new TypeError('TCP: write takes a Byte Buffer in "buffer" format (ECMA-419 §9 write)');
      }
    }
    if (this.state === "connecting") {
      throw new Error("TCP: not connected; write after the first onWritable (ECMA-419 §10 TCP socket)");
    }
    if (this.state === "failed" || this.failure !== undefined) return 0;
    const length = bytes === undefined ? 1 : bytes.byteLength;
    const writable = this.writableCount();
    if (length > writable) {
      throw new Error(
        `TCP: write of ${length} bytes exceeds the writable count ${writable}; nothing written (ECMA-419 §9 write)`,
      );
    }
    if (length === 0) return writable;
    if (this.staged + length > this.staging.byteLength) {
      // More than the staging buffer holds in one turn: hand Node what is
      // staged now and stage into a fresh buffer (only with a large budget).
      this.flush();
      if (length > this.staging.byteLength) {
        this.nodeWrite(Buffer.from(bytes!), false);
        return this.writableCount();
      }
    }
    if (bytes === undefined) this.staging[this.staged] = byte;
    else this.staging.set(bytes, this.staged);
    this.staged += length;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      process.nextTick(this.flushBound);
    }
    return this.writableCount();
  }

  /**
   * Closes the socket (ECMA-419 §8 `close`): synchronous, idempotent; no
   * callback runs afterwards and every other method throws `TypeError`.
   * Bytes already written are still sent (graceful FIN) for up to `linger`
   * ms; a socket still connecting or already failed is destroyed at once.
   */
  close(): void {
    if (this.state === "closed") return;
    const wasOpen = this.state === "open" && this.failure === undefined;
    this.state = "closed";
    this.onReadable = this.onWritable = this.onError = null;
    if (this.immediate !== undefined) clearImmediate(this.immediate);
    this.immediate = undefined;
    this.rx = [];
    this.rxAvailable = 0;
    // The listeners stay: each returns early once closed, and the `error`
    // listener keeps a late error from becoming an uncaught exception.
    const socket = this.socket;
    if (!wasOpen) {
      socket.destroy();
      return;
    }
    this.flush();
    socket.end();
    socket.resume();
    const timer = setTimeout(() => socket.destroy(), this.linger);
    timer.unref();
    socket.once("close", () => clearTimeout(timer));
  }

  private checkNotClosed(): void {
    if (this.state === "closed") {
      throw new TypeError("TCP: socket is closed (ECMA-419 §8 close)");
    }
  }

  private writableCount(): number {
    const free = this.writeHighWaterMark - this.socket.writableLength - this.staged;
    return free > 0 ? free : 0;
  }

  /** Hands the staged bytes to Node in one write (end of the turn, `close()`, or a full staging buffer). */
  private flush(): void {
    const n = this.staged;
    if (n === 0) return;
    this.staged = 0;
    if (this.failure !== undefined || this.socket.destroyed) return;
    this.nodeWrite(this.staging.subarray(0, n), true);
  }

  /**
   * One Node write. When Node still holds the bytes after `write` returns
   * (queued behind earlier bytes, or the kernel took only part of them),
   * a staging buffer becomes Node's until the write completes; staging
   * goes on in a spare buffer.
   */
  private nodeWrite(chunk: Buffer, fromStaging: boolean): void {
    const socket = this.socket;
    socket.write(chunk, this.afterWriteBound);
    if (fromStaging && socket.writableLength > 0) {
      this.nodeWrites.push(this.staging);
      this.staging = this.spare.pop() ?? Buffer.allocUnsafeSlow(this.staging.byteLength);
    } else {
      this.nodeWrites.push(null);
    }
  }

  /** A Node write completed (in order): recycle its buffer, announce writable space. */
  private afterWrite(error?: Error | null): void {
    const held = this.nodeWrites.shift();
    if (held != null && this.spare.length < 2 && held.byteLength === this.staging.byteLength) this.spare.push(held);
    if (error || this.state !== "open") return;
    this.writablePending = true;
    this.schedule();
  }

  /** Moves `length` queued bytes (at most `rxAvailable`) into `out[0, length)`, or discards them when `out` is undefined. */
  private take(out: Uint8Array | undefined, length: number): void {
    let filled = 0;
    while (filled < length) {
      const chunk = this.rx[0]!;
      const n = Math.min(chunk.byteLength - this.rxOffset, length - filled);
      if (out !== undefined) chunk.copy(out, filled, this.rxOffset, this.rxOffset + n);
      filled += n;
      this.rxOffset += n;
      if (this.rxOffset === chunk.byteLength) {
        this.rx.shift();
        this.rxOffset = 0;
      }
    }
    this.rxAvailable -= filled;
    if (this.rxPaused && this.rxAvailable < this.readHighWaterMark) {
      this.rxPaused = false;
      this.socket.resume();
    }
    if (this.rxAvailable === 0 && this.failure !== undefined) this.schedule();
  }

  private handleReady(): void {
    if (this.state !== "connecting") return;
    this.state = "open";
    this.writablePending = true;
    this.service();
  }

  private handleData(chunk: Buffer): void {
    if (this.state === "closed") return;
    this.rx.push(chunk);
    this.rxAvailable += chunk.byteLength;
    if (this.rxAvailable >= this.readHighWaterMark && !this.rxPaused) {
      this.rxPaused = true;
      this.socket.pause();
    }
    this.readablePending = true;
    this.service();
  }

  private handleNodeError(error: Error & { code?: string; syscall?: string }): void {
    this.handleFailure(socketError(error.message, error.code, this.errorLayer(error), error));
  }

  private handleFailure(error: SocketError): void {
    if (this.state === "closed" || this.failure !== undefined) return;
    this.failure = error;
    this.writablePending = false;
    this.staged = 0;
    this.socket.destroy();
    this.service();
  }

  /** Runs `service()` on a later turn (from inside a method). */
  private schedule(): void {
    if (this.immediate !== undefined || this.state === "closed") return;
    this.immediate = setImmediate(() => {
      this.immediate = undefined;
      this.service();
    });
  }

  /** Delivers whatever is pending: readable, then error (once drained) or writable. */
  private service(): void {
    if (this.inService) {
      this.schedule();
      return;
    }
    this.inService = true;
    try {
      if (this.readablePending) {
        this.readablePending = false;
        if (this.rxAvailable > 0 && this.onReadable !== null) {
          (this.onReadable as (this: TCP, count: number) => void).call(this, this.rxAvailable);
        }
        if (this.state === "closed") return;
      }
      if (this.failure !== undefined) {
        if (this.errorDelivered) return;
        if (this.rxAvailable > 0 && this.onReadable !== null) return;
        this.errorDelivered = true;
        this.state = "failed";
        if (this.onError !== null) {
          (this.onError as (this: TCP, error?: SocketError) => void).call(this, this.failure);
        }
        return;
      }
      if (this.writablePending && this.state === "open") {
        this.writablePending = false;
        const count = this.writableCount();
        if (count > 0 && this.onWritable !== null) {
          (this.onWritable as (this: TCP, count: number) => void).call(this, count);
        }
      }
    } finally {
      this.inService = false;
    }
  }
}
