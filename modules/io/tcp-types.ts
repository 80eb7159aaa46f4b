/**
 * The ECMA-419 TCP and TLS socket contract that mqtt-xs accepts as its
 * transport (types only; this module has no runtime code).
 *
 * Theory of operation
 * -------------------
 * The MQTT client never opens a socket itself. Like an ECMA-419 network
 * client (ECMA-419 2nd ed. §25 MQTT Client class pattern, `socket` option:
 * "an object containing a TCP Class constructor options object"), it is
 * given a socket *specification*: an object whose `io` property is a socket
 * class (the host provider convention, §26 Host provider instance, "IO
 * classes") and whose other properties are extra constructor options. It
 * constructs the socket the way Annex A "TCP Client Class Pattern"
 * (`#resolveCallback`, step 4) does: copy the specification, set
 * `address`, `port`, the three callbacks and `target`, and construct:
 *
 * ```ts
 * new spec.io({ ...spec, address, host, port, onReadable, onWritable, onError })
 * ```
 *
 * and from then on only shuttles bytes: it reads in `onReadable`, writes at
 * most the announced writable count, and treats `onError` as the end of the
 * connection. The same code then runs over Moddable's built-in
 * `embedded:io/socket/tcp` on a board, over the Node host (`hosts/node`),
 * and over any other conforming implementation.
 *
 * Section numbers below refer to ECMA-419 2nd edition (June 2023), the
 * edition the client targets; "3rd ed." marks the additions of the 3rd
 * edition (June 2025) that a caller may use only when present. Where
 * Moddable's implementation (the one on the board) differs from the text,
 * the difference is stated, and the client must work with both.
 *
 * Rules a portable caller follows (each comes from the cited section):
 * - Callbacks never run inside a method call of the same instance,
 *   constructor included (§8 Callbacks). Work that a method triggers is
 *   reported on a later turn.
 * - The first `onWritable(count)` means "connected" (§10 TCP socket,
 *   Callbacks). Writing before it throws on Moddable ("not ready").
 * - `write(data)` writes all of `data` or nothing and throws (§9 `write`:
 *   "If all the data cannot be output, write must not output any data and
 *   instead must throw an exception"). So never write more than the last
 *   `onWritable` count minus what was written since (Moddable throws
 *   "would block").
 * - `read()` never waits (§10 TCP socket, `read`); it returns `undefined`
 *   when nothing is buffered (§9 `read`, Annex A IO Class Pattern `read`
 *   step 4). `read(count)` returns *up to* `count` bytes (§9 `read`; Annex A
 *   step 6.3.3 clamps to what is available) but Moddable throws when
 *   `count` exceeds what is available: ask for at most the `onReadable`
 *   count.
 * - `onReadable(count)` fires once per arrival with the total buffered, and
 *   not again until more data arrives (§9 onReadable). Unread bytes stay
 *   buffered; read them or the peer's window closes.
 * - `onError` ends the connection; only `close` may follow (§9 onError, §10
 *   TCP socket onError). A clean remote close is reported the same way.
 *   Moddable delivers `onError` only after the receive buffer has been read
 *   empty, so the last bytes (e.g. a DISCONNECT) are never lost.
 * - `close()` is synchronous: no callback runs after it returns, calling it
 *   twice is harmless, every other method then throws (§8 `close`).
 *
 * Lifetime: `read()` and `read(count)` return a new `ArrayBuffer` the caller
 * owns (§9 `format`: "Implementations always allocate ArrayBuffer instances
 * for return values"). `read(view)` copies into the caller's memory. `write`
 * copies (or sends) the bytes before it returns, so the caller may reuse its
 * buffer at once.
 */

/**
 * A Byte Buffer (§6 Byte Buffer): an `ArrayBuffer`, `SharedArrayBuffer`,
 * `Uint8Array`, `Int8Array` or `DataView`. A view's `byteOffset` and
 * `byteLength` restrict the bytes accessed (§9 `format`, `"buffer"`).
 * Implementations (Moddable, the Node host) also accept other typed arrays.
 */
export type ByteBuffer = ArrayBuffer | SharedArrayBuffer | ArrayBufferView;

/**
 * Data formats of a TCP socket (§10 TCP socket, Data format): `"buffer"`
 * (default) or `"number"` (one byte per `read`/`write`). Setting any other
 * value throws and keeps the old one (§9 `format`).
 */
export type SocketFormat = "buffer" | "number";

/**
 * The error detail a host may pass to `onError`. ECMA-419 defines no
 * argument ("Reporting the error type is an area for future work", §10 TCP
 * socket, onError; §9 onError allows type-specific arguments), and Moddable
 * passes none, so a portable caller must accept `undefined`.
 */
export interface SocketError extends Error {
  /**
   * Host-specific code. The Node host uses Node's codes (`"ECONNREFUSED"`,
   * `"ECONNRESET"`, `"ENOTFOUND"`, `"ETIMEDOUT"`, TLS verification codes
   * such as `"UNABLE_TO_VERIFY_LEAF_SIGNATURE"`) and `"EOF"` for a clean
   * close by the peer.
   */
  code?: string;
  /** Which layer failed, when the host knows: name resolution, TCP, or TLS. */
  layer?: "dns" | "tcp" | "tls";
}

/**
 * Options of `write` (3rd ed. §10 TCP socket, "Properties of write options
 * object"). Hosts of the 2nd edition ignore the argument, so it is a hint,
 * never a requirement.
 */
export interface TcpWriteOptions {
  /** `true` when at least one more fragment of the same message follows. Default `false`. */
  more?: boolean;
  /** Total bytes of the message written across a `more: true` sequence. */
  byteLength?: number;
}

/**
 * Callbacks of a TCP socket (§9 Callbacks, §10 TCP socket Callbacks). Each
 * runs with `this` set to the socket (§8 Callbacks), on its own turn.
 */
export interface TcpSocketCallbacks {
  /**
   * Data arrived; `count` is the total number of bytes buffered now
   * (§10 TCP socket, `onReadable(bytes)`).
   */
  onReadable?: ((this: TcpSocket, count: number) => void) | null;
  /**
   * Space in the output buffers: `count` is the total number of bytes that
   * may be written now without overflowing them. First called once the
   * connection is established (§10 TCP socket, `onWritable(bytes)`). It is
   * a minimum: buffers may drain while the callback runs (Moddable's test
   * `onWritable-overflow`).
   */
  onWritable?: ((this: TcpSocket, count: number) => void) | null;
  /**
   * The connection failed or the peer closed it; the socket is no longer
   * usable and only `close` may be called (§9 onError, §10 TCP socket).
   * `error` is a host extension and may be `undefined`.
   */
  onError?: ((this: TcpSocket, error?: SocketError) => void) | null;
}

/**
 * Constructor options of an ECMA-419 TCP socket (§10 TCP socket,
 * "Properties of constructor options object"; Annex A "TCP socket").
 * The constructor neither modifies nor keeps the object (§8 constructor)
 * and ignores unknown properties, so one object can carry options for
 * several layers (e.g. a TLS socket's `tls` and its nested `TCP`).
 */
export interface TcpSocketOptions extends TcpSocketCallbacks {
  /**
   * IP address (v4 dotted or v6) of the remote endpoint. Required by the
   * standard (§10); Moddable accepts only a numeric address.
   */
  address?: string;
  /**
   * Host name of the remote endpoint. Not an ECMA-419 TCP option: the Node
   * host resolves it when `address` is absent; TLS sockets use it as the
   * default server name (SNI) — Moddable's `embedded:io/socket/tcp/tls`
   * example does so. On a board resolve names with a DNS resolver first.
   */
  host?: string;
  /** Remote port, 0..65535 (§10; Annex A range "16-bit unsigned integer"). Required. */
  port: number;
  /**
   * Disable Nagle's algorithm (`TCP_NODELAY`); the standard's default is
   * `false` (§10). MQTT wants `true` (see ARCHITECTURE.md, "Nagle's
   * algorithm dominates QoS 1/2 latency").
   */
  noDelay?: boolean;
  /**
   * Moddable's spelling of `noDelay`: its lwIP, Linux and macOS sockets
   * read `nodelay` and ignore `noDelay` (Moddable SDK
   * `modules/io/socket/lwip/tcp.c`, `documentation/io/io.md`). A portable
   * caller sets both.
   */
  nodelay?: boolean;
  /** TCP keep-alive interval in milliseconds; absent: keep-alive off (§10). */
  keepAlive?: number;
  /**
   * An existing socket (from a TCP Listener) whose native socket the new
   * instance takes over; `address` and `port` are then ignored (§10).
   */
  from?: TcpSocket;
  /** Initial data format; default `"buffer"` (§10 Data format). */
  format?: SocketFormat;
  /** Opaque value copied to the instance's `target` property (§8 `target`). */
  target?: unknown;
}

/**
 * An ECMA-419 TCP socket instance (§9 IO Class Pattern, §10 TCP socket).
 * Every method throws once `close` has been called, except `close` (§8).
 */
export interface TcpSocket {
  /**
   * In `"buffer"` format: everything buffered as a new `ArrayBuffer` (one
   * or more bytes, §10 TCP socket `read`), or `undefined` when nothing is
   * buffered. In `"number"` format: the next byte (0..255) or `undefined`.
   */
  read(): ArrayBuffer | number | undefined;
  /**
   * Up to `count` bytes (a positive integer) as a new `ArrayBuffer`, or
   * `undefined` when nothing is buffered (§9 `read`). Portable callers keep
   * `count` at or below the last `onReadable` count (Moddable throws
   * beyond it).
   */
  read(count: number): ArrayBuffer | undefined;
  /**
   * Copies up to `buffer.byteLength` buffered bytes into `buffer` (at its
   * `byteOffset`) and returns how many were copied, or `undefined` when
   * nothing is buffered (§9 `read`).
   */
  read(buffer: ByteBuffer): number | undefined;
  /**
   * Queues all of `data` (a Byte Buffer in `"buffer"` format, a byte value
   * in `"number"` format) or throws without sending anything when it does
   * not fit (§9 `write`). Returns the writable count left (3rd ed. §10 TCP
   * socket `write`; 2nd ed. §10 TLS Client socket `write`); 2nd-edition TCP
   * hosts may return `undefined`.
   */
  write(data: ByteBuffer | number, options?: TcpWriteOptions): number | undefined;
  /** Releases the socket; synchronous, idempotent; no callback after it (§8 `close`). */
  close(): void;
  /** Current data format; setting an unsupported value throws (§9 `format`). */
  format: SocketFormat;
  /** Remote IP address, or `undefined` when not (yet) known (§10 `remoteAddress`). */
  readonly remoteAddress: string | undefined;
  /** Remote port, or `undefined` when not (yet) known (§10 `remotePort`). */
  readonly remotePort: number | undefined;
  /** The `target` constructor option (§8 `target`). */
  target?: unknown;
}

/** A TCP socket class: what a socket specification's `io` holds. */
export interface TcpSocketClass<O extends TcpSocketOptions = TcpSocketOptions> {
  new (options: O): TcpSocket;
}

/** TLS protocol version strings (§10 TLS Client socket). */
export type TlsVersion = "TLSv1.3" | "TLSv1.2" | "TLSv1.1";

/**
 * The standard's TLS options: the `tls` property of a TLS Client socket's
 * options (§10 TLS Client socket, "Properties of constructor options
 * object"). Certificates and keys are DER (§10: "All certificate and key
 * data uses DER (binary) format, not PEM"); the Node host also accepts PEM.
 */
export interface TlsOptions {
  /** Server name for SNI. Required by the standard; hosts default it to `host`. */
  host?: string;
  /** Minimum acceptable version; default implementation-dependent. */
  minimumVersion?: TlsVersion;
  /** Maximum acceptable version; default implementation-dependent. */
  maximumVersion?: TlsVersion;
  /** ALPN protocol name(s), e.g. `"mqtt"`. */
  applicationLayerProtocol?: string | ByteBuffer | Array<string | ByteBuffer>;
  /** Maximum fragment length to negotiate, bytes (RFC 6066). */
  maximumFragmentLength?: number;
  /** Trusted certificate(s). Absent: the host's certificate store. */
  ca?: ByteBuffer | ByteBuffer[];
  /** Client private key(s) for mutual TLS. */
  clientKey?: ByteBuffer | ByteBuffer[];
  /** Client certificate(s) for mutual TLS. */
  clientCertificate?: ByteBuffer | ByteBuffer[];
}

/**
 * Moddable's TLS options: the `secure` dictionary of its `SecureSocket`
 * (Moddable SDK `documentation/network/securesocket.md`) which its
 * `embedded:io/socket/tcp/tls` (`examples/io/tcp/tlssocket`) passes to the
 * TLS session. Moddable deviates from the standard here (`secure` instead
 * of `tls`, different names); a host may support either or both. The Node
 * host accepts both bags plus Node's own names (`cert`, `key`, `passphrase`,
 * `rejectUnauthorized`, `servername`) as extensions.
 */
export interface SecureOptions {
  /** Server name for SNI; Moddable defaults it to the socket's `host`. */
  serverName?: string;
  /** Trusted CA certificate, DER. */
  certificate?: ByteBuffer;
  /** Client private key, DER. */
  clientKey?: ByteBuffer;
  /** Client certificate chain, DER. */
  clientCertificates?: ByteBuffer[];
  /** `false` skips verification of the server's chain (debugging only). Default `true`. */
  verify?: boolean;
  /** Minimum TLS version as a number: 0x303 = TLS 1.2, 0x304 = TLS 1.3. */
  protocolVersion?: number;
  /** ALPN protocol name(s). */
  applicationLayerProtocolNegotiation?: string | ByteBuffer | Array<string | ByteBuffer>;
  /** Requested maximum fragment length, bytes. */
  tls_max_fragment_length?: number;
  /** Moddable-only: trace the TLS stack. */
  trace?: boolean;
}

/**
 * Constructor options of a TLS Client socket, `embedded:io/socket/tcp/tls`
 * (§10 TLS Client socket: "a logical subclass of the TCP class"; it "extends
 * the TCP socket's options object with a required `tls` property").
 * Moddable's implementation instead takes `secure` and the TCP class to run
 * over as `TCP.io` (`examples/io/tcp/mqttsclient/config.js`).
 */
export interface TlsSocketOptions extends TcpSocketOptions {
  /** The standard's TLS options (§10). */
  tls?: TlsOptions;
  /** Moddable's TLS options. */
  secure?: SecureOptions;
  /** Moddable: the TCP socket class to run TLS over, as `{ io: TCP }`. */
  TCP?: { io: TcpSocketClass };
}

/**
 * A socket specification, as a client receives it in its `socket` option:
 * the class in `io` plus extra constructor options (e.g. `noDelay`,
 * `secure`, `tls`). The client adds `address`/`host`, `port` and the three
 * callbacks and constructs `new spec.io({ ...spec, ... })` (Annex A, TCP
 * Client Class Pattern). The shape follows the host provider convention
 * (§26, e.g. `device.network.mqtt`; Moddable's
 * `device.network.mqtts.socket = { io: TLSSocket, TCP: { io: TCP } }`).
 */
export type SocketSpec<O extends TcpSocketOptions = TlsSocketOptions> = {
  io: TcpSocketClass<O>;
} & Partial<Omit<O, "onReadable" | "onWritable" | "onError">>;
