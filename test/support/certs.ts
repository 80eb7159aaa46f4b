/**
 * Test PKI generated at run time with the `openssl` command line: a CA, a
 * server certificate for 127.0.0.1 and localhost, and a client certificate
 * for mutual TLS. Keys are EC P-256 (milliseconds to generate, unlike RSA);
 * certificates are valid for 2 days. Node-only test support.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** Files and contents of one generated PKI. Paths are absolute; PEM is text, DER is bytes. */
export interface TestPki {
  dir: string;
  caCertPath: string;
  caKeyPath: string;
  caCertPem: string;
  caCertDer: Uint8Array;
  serverCertPath: string;
  serverKeyPath: string;
  serverCertPem: string;
  serverKeyPem: string;
  clientCertPath: string;
  clientKeyPath: string;
  clientCertPem: string;
  clientKeyPem: string;
  clientCertDer: Uint8Array;
  /** PKCS#8 DER. */
  clientKeyDer: Uint8Array;
}

function openssl(cwd: string, args: string[]): void {
  try {
    execFileSync("openssl", args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString() ?? "";
    throw new Error(`openssl ${args[0]} failed: ${stderr}`, { cause: error });
  }
}

const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

function issue(dir: string, name: string, subject: string, extensions: string): void {
  openssl(dir, ["req", "-new", ...EC, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", subject]);
  writeFileSync(join(dir, `${name}.ext`), extensions);
  openssl(dir, [
    "x509", "-req", "-in", `${name}.csr`, "-CA", "ca.crt", "-CAkey", "ca.key", "-set_serial",
    `0x${Date.now().toString(16)}${name.length}`, "-days", "2", "-sha256", "-extfile", `${name}.ext`, "-out", `${name}.crt`,
  ]);
}

/**
 * Generates a CA, a server certificate (CN 127.0.0.1, subjectAltName
 * IP:127.0.0.1, IP:::1, DNS:localhost) and a client certificate (CN
 * `clientName`) into `dir` (created if missing). `caName` names the CA, so
 * two PKIs can be told apart in errors. Synchronous; about 50 ms.
 */
export function generatePki(dir: string, caName = "mqtt-xs test CA", clientName = "mqtt-xs-client"): TestPki {
  mkdirSync(dir, { recursive: true });
  openssl(dir, [
    "req", "-x509", "-new", ...EC, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-sha256",
    "-subj", `/CN=${caName}`,
    "-addext", "basicConstraints=critical,CA:TRUE",
    "-addext", "keyUsage=critical,keyCertSign,cRLSign",
  ]);
  issue(
    dir,
    "server",
    "/CN=127.0.0.1",
    "subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\nbasicConstraints=CA:FALSE\n" +
      "keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
  );
  issue(
    dir,
    "client",
    `/CN=${clientName}`,
    "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n",
  );
  openssl(dir, ["x509", "-in", "ca.crt", "-outform", "DER", "-out", "ca.der"]);
  openssl(dir, ["x509", "-in", "client.crt", "-outform", "DER", "-out", "client.der"]);
  openssl(dir, ["pkcs8", "-topk8", "-nocrypt", "-in", "client.key", "-outform", "DER", "-out", "client.key.der"]);
  const path = (name: string): string => join(dir, name);
  const text = (name: string): string => readFileSync(path(name), "utf8");
  const bytes = (name: string): Uint8Array => new Uint8Array(readFileSync(path(name)));
  return {
    dir,
    caCertPath: path("ca.crt"),
    caKeyPath: path("ca.key"),
    caCertPem: text("ca.crt"),
    caCertDer: bytes("ca.der"),
    serverCertPath: path("server.crt"),
    serverKeyPath: path("server.key"),
    serverCertPem: text("server.crt"),
    serverKeyPem: text("server.key"),
    clientCertPath: path("client.crt"),
    clientKeyPath: path("client.key"),
    clientCertPem: text("client.crt"),
    clientKeyPem: text("client.key"),
    clientCertDer: bytes("client.der"),
    clientKeyDer: bytes("client.key.der"),
  };
}
