/**
 * ECMA-419 TLS Client socket (`embedded:io/socket/tcp/tls`) over Node's
 * `node:tls`: the TCP socket contract of `./tcp` with the connection
 * secured before the first `onWritable` (ECMA-419 2nd ed. §10 TLS Client
 * socket: "a logical subclass of the TCP class").
 *
 * TLS options come in either of the two shapes found in the ECMA-419 world
 * (see `modules/io/tcp-types.ts`): the standard's `tls` bag (`host`, `ca`,
 * `clientCertificate`, `clientKey`, `minimumVersion`, `maximumVersion`,
 * `applicationLayerProtocol`) or Moddable's `secure` bag (`serverName`,
 * `certificate`, `clientCertificates`, `clientKey`, `verify`,
 * `protocolVersion`, `applicationLayerProtocolNegotiation`). The `secure`
 * bag also takes Node's names (`ca`, `cert`, `key`, `passphrase`,
 * `rejectUnauthorized`, `servername`, `ALPNProtocols`). When both bags set
 * the same thing, `tls` wins. Certificates and keys may be DER (the
 * standard's format) or PEM, as Byte Buffers or strings.
 *
 * Server name (SNI and certificate check): `tls.host`, else
 * `secure.serverName`/`servername`, else the `host` option when it is a
 * name. With none of them, Node checks the certificate against the address
 * (an IP subjectAltName). TLS errors reach `onError` with `layer: "tls"`
 * and Node's code (`UNABLE_TO_VERIFY_LEAF_SIGNATURE`,
 * `SELF_SIGNED_CERT_IN_CHAIN`, `ERR_TLS_CERT_ALTNAME_INVALID`, ...).
 *
 * Writable accounting counts plaintext bytes, as the TCP socket does;
 * record overhead is the kernel's concern here. Node-only.
 */
import net from "node:net";
import tls from "node:tls";
import { X509Certificate, createPrivateKey } from "node:crypto";
import type { ByteBuffer, SecureOptions, SocketError, TlsOptions, TlsSocketOptions } from "../../modules/io/tcp-types";
import { TCP, bytesOf } from "./tcp";
import type { NodeTcpOptions } from "./tcp";

/** Node's names, accepted in the `secure` bag as extensions. */
export interface NodeSecureOptions extends SecureOptions {
  /** Trusted CA certificate(s), PEM or DER. */
  ca?: ByteBuffer | string | Array<ByteBuffer | string>;
  /** Client certificate chain, PEM or DER. */
  cert?: ByteBuffer | string | Array<ByteBuffer | string>;
  /** Client private key, PEM or DER (PKCS#8, PKCS#1 or SEC1). */
  key?: ByteBuffer | string;
  /** Passphrase of an encrypted `key`/`clientKey`. */
  passphrase?: string;
  /** `false` skips server verification (debugging only). Default `true`. */
  rejectUnauthorized?: boolean;
  /** Server name (SNI), Node spelling. */
  servername?: string;
  /** ALPN protocols, Node spelling. */
  ALPNProtocols?: string[];
}

/** Options of the Node host's TLS socket. */
export interface NodeTlsSocketOptions extends NodeTcpOptions, Omit<TlsSocketOptions, "secure"> {
  secure?: NodeSecureOptions;
}

type Material = ByteBuffer | string;

function asList<T>(value: T | T[] | undefined): T[] | undefined {
  if (value === undefined) return undefined;
  return Array.isArray(value) ? value : [value];
}

function toBuffer(value: Material, what: string): Buffer {
  if (typeof value === "string") return Buffer.from(value, "utf8");
  const view = bytesOf(value);
  if (view === undefined) throw new TypeError(`TLSSocket: ${what} must be a Byte Buffer or a string`);
  return Buffer.from(view);
}

function isPem(bytes: Buffer): boolean {
  return bytes.subarray(0, 64).toString("latin1").includes("-----BEGIN");
}

/** PEM of one certificate given as PEM or DER. */
function certificatePem(value: Material, what: string): string | Buffer {
  const bytes = toBuffer(value, what);
  if (isPem(bytes)) return bytes;
  try {
    return new X509Certificate(bytes).toString();
  } catch (error) {
    throw new TypeError(`TLSSocket: ${what} is neither PEM nor a DER certificate`, { cause: error });
  }
}

/** PEM of one private key given as PEM or DER (PKCS#8, PKCS#1 or SEC1). */
function keyPem(value: Material, passphrase: string | undefined, what: string): string | Buffer {
  const bytes = toBuffer(value, what);
  if (isPem(bytes)) return bytes;
  let lastError: unknown;
  for (const type of ["pkcs8", "pkcs1", "sec1"] as const) {
    try {
      const key = createPrivateKey({ key: bytes, format: "der", type, passphrase });
      return key.export({ format: "pem", type: "pkcs8" }) as string;
    } catch (error) {
      lastError = error;
    }
  }
  throw new TypeError(`TLSSocket: ${what} is neither PEM nor a DER private key`, { cause: lastError });
}

function versionName(protocolVersion: number | undefined): tls.SecureVersion | undefined {
  switch (protocolVersion) {
    case undefined:
      return undefined;
    case 0x301:
      return "TLSv1";
    case 0x302:
      return "TLSv1.1";
    case 0x303:
      return "TLSv1.2";
    case 0x304:
      return "TLSv1.3";
    default:
      throw new RangeError(`TLSSocket: secure.protocolVersion must be 0x301..0x304, got ${protocolVersion}`);
  }
}

function checkVersion(value: string | undefined, what: string): tls.SecureVersion | undefined {
  if (value === undefined) return undefined;
  if (value !== "TLSv1.3" && value !== "TLSv1.2" && value !== "TLSv1.1") {
    throw new RangeError(`TLSSocket: ${what} must be "TLSv1.3", "TLSv1.2" or "TLSv1.1" (ECMA-419 §10), got ${value}`);
  }
  return value;
}

function alpnList(value: Material | Material[] | undefined): Array<string | Buffer> | undefined {
  const list = asList(value);
  return list?.map((item) => (typeof item === "string" ? item : toBuffer(item, "ALPN protocol")));
}

/**
 * Translates the `tls`/`secure` bags into Node's connect options
 * (validation only: throws `TypeError`/`RangeError`, allocates nothing
 * outside the returned object).
 */
export function nodeTlsOptions(options: NodeTlsSocketOptions): tls.ConnectionOptions {
  const t: TlsOptions = options.tls ?? {};
  const s: NodeSecureOptions = options.secure ?? {};
  if (typeof t !== "object" || typeof s !== "object") {
    throw new TypeError("TLSSocket: tls and secure must be objects (ECMA-419 §10 TLS Client socket)");
  }
  const passphrase = s.passphrase;
  const result: tls.ConnectionOptions = {};
  const ca = asList<Material>(t.ca) ?? asList<Material>(s.ca) ?? asList<Material>(s.certificate);
  if (ca !== undefined) result.ca = ca.map((item, i) => certificatePem(item, `ca[${i}]`));
  const cert =
    asList<Material>(t.clientCertificate) ?? asList<Material>(s.cert) ?? asList<Material>(s.clientCertificates);
  if (cert !== undefined) {
    // Node takes one chain as concatenated PEM.
    result.cert = cert.map((item, i) => certificatePem(item, `certificate[${i}]`).toString()).join("\n");
  }
  const key = asList<Material>(t.clientKey) ?? asList<Material>(s.key) ?? asList<Material>(s.clientKey);
  if (key !== undefined) result.key = key.map((item, i) => keyPem(item, passphrase, `key[${i}]`));
  if (passphrase !== undefined) result.passphrase = passphrase;
  const reject = s.rejectUnauthorized ?? s.verify;
  result.rejectUnauthorized = reject === undefined ? true : Boolean(reject);
  const minVersion = checkVersion(t.minimumVersion, "tls.minimumVersion") ?? versionName(s.protocolVersion);
  if (minVersion !== undefined) result.minVersion = minVersion;
  const maxVersion = checkVersion(t.maximumVersion, "tls.maximumVersion");
  if (maxVersion !== undefined) result.maxVersion = maxVersion;
  const alpn =
    alpnList(t.applicationLayerProtocol) ??
    alpnList(s.ALPNProtocols) ??
    alpnList(s.applicationLayerProtocolNegotiation);
  if (alpn !== undefined) result.ALPNProtocols = alpn.map((p) => (typeof p === "string" ? p : p.toString("latin1")));
  let servername = t.host ?? s.servername ?? s.serverName;
  if (servername === undefined && typeof options.host === "string" && net.isIP(options.host) === 0) {
    servername = options.host;
  }
  if (servername !== undefined) {
    if (typeof servername !== "string" || servername.length === 0) {
      throw new TypeError("TLSSocket: server name must be a non-empty string");
    }
    // RFC 6066 §3: SNI carries host names only, never addresses.
    if (net.isIP(servername) === 0) result.servername = servername;
  }
  return result;
}

const TLS_CODE = /^(ERR_(TLS|SSL)_|ERR_OSSL_)|CERT|SIGNATURE|SELF_SIGNED|UNABLE_TO_/;

/**
 * ECMA-419 TLS Client socket over `node:tls`. Same options, behaviour and
 * defaults as {@link TCP} (including `noDelay` on by default), plus the
 * TLS bags described in this module's header. `onWritable` first fires
 * after the handshake and certificate check succeed. Invalid TLS material
 * throws `TypeError` from the constructor; a failed handshake or
 * verification arrives through `onError` with `layer: "tls"`.
 */
export class TLSSocket extends TCP {
  private handshakeDone = false;

  constructor(options: NodeTlsSocketOptions) {
    super(options);
  }

  protected override openSocket(options: NodeTcpOptions, host: string, port: number): net.Socket {
    const secure = nodeTlsOptions(options as NodeTlsSocketOptions);
    const socket = tls.connect({ ...secure, host, port });
    socket.once("secureConnect", () => {
      this.handshakeDone = true;
    });
    return socket;
  }

  protected override readyEvent(): "connect" | "secureConnect" {
    return "secureConnect";
  }

  protected override errorLayer(error: Error & { code?: string; syscall?: string }): SocketError["layer"] {
    if (error.syscall === "getaddrinfo") return "dns";
    if (this.tcpConnected && !this.handshakeDone) return "tls";
    return typeof error.code === "string" && TLS_CODE.test(error.code) ? "tls" : "tcp";
  }
}
