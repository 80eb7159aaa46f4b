/**
 * The native mqtt-xs transport on Moddable: the C host module
 * `mqtt-xs/native-tcp` (lwIP on ESP32/ESP8266, POSIX sockets in the Linux
 * simulator; `hosts/native`) dressed as an ECMA-419 TCP socket, so the
 * client drives it exactly like `embedded:io/socket/tcp`. Registered as the
 * module `mqtt-xs/transport` by `modules/io/manifest_native.json`.
 *
 * Theory of operation
 * -------------------
 * The host module frames MQTT in C: `onReadable(length)` fires once per
 * complete packet and `read(buffer)` hands over that whole packet. The
 * ECMA-419 contract the client relies on (`../tcp-types`) lets a reader take
 * fewer bytes than announced, so this adapter keeps one pending packet:
 *
 *   idle --native onReadable(length)--> pending(length) --reads total length--> idle
 *
 * - `read(view)` with room for the whole packet copies it straight from C
 *   into the caller's memory (no allocation).
 * - A smaller `view` (the client's receive chunk is smaller than the
 *   packet) takes the packet from C as one new ArrayBuffer and serves it in
 *   pieces; this is the only allocation, once per such packet.
 * - The next packet is announced by C only after this one was taken.
 *
 * Errors: the host module's numeric codes become `SocketError`s with Node
 * style `code` strings where one exists (`"EOF"` for a clean close by the
 * broker, so the client treats it as orderly; `"ECONNREFUSED"`,
 * `"ECONNRESET"`, `"ETIMEDOUT"`, `"ENOTFOUND"`, `"EHOSTUNREACH"`), else the
 * host module's name (`"PacketTooLarge"`, `"Malformed"`, ...).
 *
 * Maximum packet size: C allocates one receive buffer of
 * `maximumPacketSize` bytes (default: the manifest define
 * `mqtt_tcp.maximum_packet_size`: ESP32 4096, ESP8266 1024, simulator
 * 65536) and closes the connection on a larger packet. Announce the same
 * limit to an MQTT 5 broker (CONNECT property `maximumPacketSize`) so it
 * never sends one.
 */
import MqttTcp, { TransportError } from "mqtt-xs/native-tcp";
import type { TransportErrorCode } from "mqtt-xs/native-tcp";
import type { ByteBuffer, SocketError, SocketFormat, TcpSocket, TcpSocketOptions, TcpWriteOptions } from "../tcp-types";

/** Which transport `mqtt-xs/transport` is in this build: `"native"` here, `"ecma-419"` in resolving-tcp.ts. */
export const transportName = "native";

/** Options: the ECMA-419 TCP options plus the host module's receive limit. */
export interface NativeTcpOptions extends TcpSocketOptions {
  /**
   * Largest inbound packet in bytes, fixed header included. Default: the
   * manifest define `mqtt_tcp.maximum_packet_size` of the platform.
   */
  maximumPacketSize?: number;
}

/** `code` string and layer for each host-module code (index = code). */
const ERROR_CODES = Object.freeze([
  "",
  "WouldBlock",
  "Argument",
  "State",
  "ENOMEM",
  "EADDRNOTAVAIL",
  "ENOTFOUND",
  "EHOSTUNREACH",
  "ECONNREFUSED",
  "ETIMEDOUT",
  "ECONNRESET",
  "EOF",
  "PacketTooLarge",
  "Malformed",
  "Internal",
] as const);

/** The `SocketError` for a host-module code. */
function socketError(code: TransportErrorCode): SocketError {
  const name = code > 0 && code < ERROR_CODES.length ? ERROR_CODES[code] : "Internal";
  const error = new Error(`native transport: ${name} (${code})`) as SocketError;
  error.code = name;
  error.layer = code === TransportError.Dns ? "dns" : "tcp";
  return error;
}

function closedError(): Error {
  return new Error("socket closed");
}

/**
 * ECMA-419 TCP socket over the native host module. Options as
 * `TcpSocketOptions` (`address` or `host` — the host module resolves names
 * itself —, `port`, callbacks, `noDelay`/`nodelay`, default on) plus
 * `maximumPacketSize`. Only the `"buffer"` format exists. Throws what the
 * host module's constructor throws (TypeError, RangeError, Error).
 */
export default class NativeTcpSocket implements TcpSocket {
  /** The `target` constructor option (ECMA-419 §8). */
  target?: unknown;
  private native: MqttTcp | undefined;
  private closed = false;
  /** Bytes of the announced packet not yet read (0: none pending). */
  private pending = 0;
  /** The pending packet once taken from C for piecewise reads. */
  private staged: Uint8Array | undefined = undefined;
  private stagedOffset = 0;
  private readonly remote: string | undefined;
  private readonly port: number;

  constructor(options: NativeTcpOptions) {
    if (options === null || typeof options !== "object") throw new TypeError("TCP options must be an object");
    this.target = options.target;
    this.remote = options.address ?? options.host;
    this.port = options.port;
    if (options.format !== undefined && options.format !== "buffer") {
      throw new RangeError(`the native transport supports only format "buffer", got ${String(options.format)}`);
    }
    const onReadable = options.onReadable;
    const onWritable = options.onWritable;
    const onError = options.onError;
    const settings: {
      address?: string;
      host?: string;
      port: number;
      noDelay: boolean;
      maximumPacketSize?: number;
      onReadable: (length: number) => void;
      onWritable: (count: number) => void;
      onError: (code: TransportErrorCode) => void;
    } = {
      port: options.port,
      noDelay: options.noDelay ?? options.nodelay ?? true,
      onReadable: (length: number): void => {
        if (this.closed) return;
        this.pending = length;
        onReadable?.call(this, length);
      },
      onWritable: (count: number): void => {
        if (!this.closed) onWritable?.call(this, count);
      },
      onError: (code: TransportErrorCode): void => {
        if (!this.closed) onError?.call(this, socketError(code));
      },
    };
    if (options.address !== undefined) settings.address = options.address;
    if (options.host !== undefined) settings.host = options.host;
    if (options.maximumPacketSize !== undefined) settings.maximumPacketSize = options.maximumPacketSize;
    this.native = new MqttTcp(settings);
  }

  read(): ArrayBuffer | number | undefined;
  read(count: number): ArrayBuffer | undefined;
  read(buffer: ByteBuffer): number | undefined;
  read(what?: number | ByteBuffer): ArrayBuffer | number | undefined {
    const native = this.native;
    if (native === undefined) throw closedError();
    if (this.pending === 0) return undefined;
    if (what === undefined) return this.take(this.pending);
    if (typeof what === "number") {
      if (!(what > 0)) throw new RangeError(`read count must be positive, got ${String(what)}`);
      return this.take(what);
    }
    const view = ArrayBuffer.isView(what)
      ? new Uint8Array(what.buffer, what.byteOffset, what.byteLength)
      : new Uint8Array(what);
    if (this.staged === undefined && view.byteLength >= this.pending) {
      const got = native.read(view);
      this.pending = 0;
      return got;
    }
    const staged = this.stage(native);
    const n = Math.min(view.byteLength, this.pending);
    view.set(staged.subarray(this.stagedOffset, this.stagedOffset + n));
    this.consume(n);
    return n;
  }

  /** Up to `count` bytes of the pending packet as a new ArrayBuffer. */
  private take(count: number): ArrayBuffer {
    const native = this.native!;
    if (this.staged === undefined && count >= this.pending) {
      const whole = native.read();
      this.pending = 0;
      return whole ?? new ArrayBuffer(0);
    }
    const staged = this.stage(native);
    const n = Math.min(count, this.pending);
    const part = staged.slice(this.stagedOffset, this.stagedOffset + n).buffer;
    this.consume(n);
    return part;
  }

  private stage(native: MqttTcp): Uint8Array {
    if (this.staged === undefined) {
      const whole = native.read();
      this.staged = whole === undefined ? new Uint8Array(0) : new Uint8Array(whole);
      this.stagedOffset = 0;
    }
    return this.staged;
  }

  private consume(n: number): void {
    this.stagedOffset += n;
    this.pending -= n;
    if (this.pending <= 0) {
      this.pending = 0;
      this.staged = undefined;
      this.stagedOffset = 0;
    }
  }

  write(data: ByteBuffer | number, _options?: TcpWriteOptions): number {
    const native = this.native;
    if (native === undefined) throw closedError();
    if (typeof data === "number") throw new TypeError("the native transport writes buffers only");
    return native.write(data as ArrayBuffer | ArrayBufferView);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    const native = this.native;
    this.native = undefined;
    this.staged = undefined;
    this.pending = 0;
    native?.close();
  }

  get format(): SocketFormat {
    return "buffer";
  }

  set format(value: SocketFormat) {
    if (value !== "buffer") throw new RangeError(`the native transport supports only format "buffer", got ${String(value)}`);
  }

  get remoteAddress(): string | undefined {
    return this.native === undefined ? undefined : this.remote;
  }

  get remotePort(): number | undefined {
    return this.native === undefined ? undefined : this.port;
  }
}
