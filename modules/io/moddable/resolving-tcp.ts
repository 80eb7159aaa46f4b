/**
 * The default mqtt-xs transport on Moddable (board and simulator):
 * Moddable's ECMA-419 TCP socket (`embedded:io/socket/tcp`) with host-name
 * resolution in front of it. Registered as the module `mqtt-xs/transport`
 * by `modules/io/manifest_tcp.json`.
 *
 * Theory of operation
 * -------------------
 * Moddable's TCP sockets (lwIP on ESP32/ESP8266, POSIX in the simulators)
 * accept only a numeric `address` (Moddable SDK `modules/io/socket/lwip/tcp.c`,
 * `lin/tcp.c`), while a broker URL usually names a host. This class takes
 * the ECMA-419 TCP options plus `host` (see `TcpSocketOptions` in
 * `../tcp-types`):
 *
 *   constructed --address given, or host is an IP or "localhost"--> open (inner socket made at once)
 *   constructed --host is a name--> resolving --Net.resolve answers--> open
 *                                              \--no address--> failed (onError once)
 *   any --close()--> closed (no callback afterwards)
 *
 * Once open, every method and callback is the inner socket's, with `this`
 * set to this object. Name resolution uses Moddable's `net` module
 * (`Net.resolve`: lwIP DNS on a device, GLib's resolver in the Linux
 * simulator; IPv4 only), which every Moddable network build has.
 *
 * ECMA-419 rules kept: callbacks never run inside the constructor or a
 * method (resolution and the inner socket both answer on later turns);
 * `close()` is synchronous and idempotent; after it every other method
 * throws. A failed resolution is reported as `onError` with a
 * `SocketError` whose `code` is `"ENOTFOUND"` and `layer` `"dns"`; a
 * connection that could not be made, with `code` `"ECONNFAILED"`.
 *
 * Memory: one options copy and one inner socket per connection; nothing per
 * read or write beyond what the inner socket does.
 */
import TCP from "embedded:io/socket/tcp";
import Net from "net";
import type { ByteBuffer, SocketError, SocketFormat, TcpSocket, TcpSocketOptions, TcpWriteOptions } from "../tcp-types";

/** Which transport `mqtt-xs/transport` is in this build: `"ecma-419"` here, `"native"` in native-tcp-socket.ts. */
export const transportName = "ecma-419";

const IPV4 = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;

/**
 * "localhost" is the loopback address without asking a resolver (RFC 6761
 * §6.3). Asked anyway, GLib answers ::1 first, which Moddable's Linux
 * `Net.resolve` (IPv4 only, first answer only) turns into a failure.
 */
const LOOPBACK = "127.0.0.1";

/** Options of Moddable's TCP constructor, as its typings declare them. */
type InnerOptions = ConstructorParameters<typeof TCP>[0];

/** True for a dotted IPv4 address or anything with a colon (IPv6). */
function isNumericAddress(host: string): boolean {
  return IPV4.test(host) || host.indexOf(":") >= 0;
}

/**
 * Moddable's sockets call `onError` without saying why. Before the first
 * `onWritable` the connection was never made (refused, unreachable, timed
 * out): report that as an error, code `"ECONNFAILED"`. Afterwards the
 * reason is unknown (a close by the peer or a reset) and is passed on as
 * `undefined`, which the client treats as the end of the connection.
 */
function connectError(address: string, port: number): SocketError {
  const error = new Error(`cannot connect to ${address} port ${port}`) as SocketError;
  error.code = "ECONNFAILED";
  error.layer = "tcp";
  return error;
}

function closedError(): Error {
  return new Error("socket closed");
}

/**
 * An ECMA-419 TCP socket that also accepts a host name (`host`) and
 * resolves it before connecting. Options: those of `TcpSocketOptions`;
 * `address` (numeric) wins over `host`; `port` 0..65535 is required.
 * Unknown options are passed on to Moddable's socket, which ignores them.
 *
 * Throws `TypeError` without `address`/`host`, `RangeError` for a bad port,
 * and whatever Moddable's socket or `Net.resolve` throws synchronously
 * (e.g. the lwIP DNS queue is full: "resolve queue full").
 */
export default class ResolvingTcp implements TcpSocket {
  /** The `target` constructor option (ECMA-419 §8). */
  target?: unknown;
  private socket: TCP | undefined = undefined;
  private closed = false;
  /** Set by the first onWritable (ECMA-419: that is "connected"). */
  private connected = false;
  private dataFormat: SocketFormat = "buffer";
  private readonly settings: TcpSocketOptions;

  constructor(options: TcpSocketOptions) {
    if (options === null || typeof options !== "object") throw new TypeError("TCP options must be an object");
    const port = options.port;
    if (typeof port !== "number" || !Number.isInteger(port) || port < 0 || port > 65535) {
      throw new RangeError(`TCP port must be an integer from 0 to 65535, got ${String(port)}`);
    }
    this.settings = { ...options };
    this.target = options.target;
    if (options.format !== undefined) this.format = options.format;
    const address = options.address;
    const host = options.host;
    if (typeof address === "string") this.open(address);
    else if (typeof host === "string" && isNumericAddress(host)) this.open(host);
    else if (typeof host === "string" && host.toLowerCase() === "localhost") this.open(LOOPBACK);
    else if (typeof host === "string" && host !== "") this.resolve(host);
    else throw new TypeError("TCP options need address (an IP address) or host (a name)");
  }

  private resolve(host: string): void {
    Net.resolve(host, (_name: string, address?: string) => {
      if (this.closed) return;
      if (typeof address !== "string" || address === "") {
        const error = new Error(`cannot resolve "${host}"`) as SocketError;
        error.code = "ENOTFOUND";
        error.layer = "dns";
        this.settings.onError?.call(this, error);
        return;
      }
      try {
        this.open(address);
      } catch (caught) {
        const error = (caught instanceof Error ? caught : new Error(String(caught))) as SocketError;
        error.layer = "tcp";
        this.settings.onError?.call(this, error);
      }
    });
  }

  private open(address: string): void {
    const settings = this.settings;
    const options = {
      ...settings,
      address,
      format: this.dataFormat,
      onReadable: (count: number): void => {
        if (!this.closed) settings.onReadable?.call(this, count);
      },
      onWritable: (count: number): void => {
        this.connected = true;
        if (!this.closed) settings.onWritable?.call(this, count);
      },
      onError: (): void => {
        if (this.closed) return;
        settings.onError?.call(this, this.connected ? undefined : connectError(address, settings.port));
      },
    };
    this.socket = new TCP(options as InnerOptions);
  }

  read(): ArrayBuffer | number | undefined;
  read(count: number): ArrayBuffer | undefined;
  read(buffer: ByteBuffer): number | undefined;
  read(what?: number | ByteBuffer): ArrayBuffer | number | undefined {
    if (this.closed) throw closedError();
    const socket = this.socket;
    if (socket === undefined) return undefined;
    if (what === undefined) return socket.read();
    if (typeof what === "number") return socket.read(what) as ArrayBuffer | undefined;
    return socket.read(what as ArrayBuffer) as unknown as number | undefined;
  }

  write(data: ByteBuffer | number, _options?: TcpWriteOptions): number | undefined {
    if (this.closed) throw closedError();
    const socket = this.socket;
    if (socket === undefined) throw new Error("socket not connected yet: wait for onWritable");
    return socket.write(data as ArrayBuffer) as unknown as number | undefined;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    const socket = this.socket;
    this.socket = undefined;
    socket?.close();
  }

  get format(): SocketFormat {
    return this.dataFormat;
  }

  set format(value: SocketFormat) {
    if (value !== "buffer" && value !== "number") throw new RangeError(`format must be "buffer" or "number", got ${String(value)}`);
    if (this.socket !== undefined) this.socket.format = value;
    this.dataFormat = value;
  }

  get remoteAddress(): string | undefined {
    return this.socket?.remoteAddress;
  }

  get remotePort(): number | undefined {
    return this.socket?.remotePort;
  }
}
