/**
 * Mosquitto 2.x as a test fixture: started on a free 127.0.0.1 port with a
 * generated configuration in a temporary directory, stopped and restarted
 * on the same port with the same persistence, log captured for failure
 * messages. Node-only test support.
 *
 * Lifecycle: `startMosquitto()` -> running -> `stop()` (SIGTERM: Mosquitto
 * writes its persistence database on a clean shutdown) -> `start()` or
 * `restart()` again (same ports, same directory) -> `dispose()` (stop and
 * delete the directory). `kill()` simulates a crash (SIGKILL: nothing is
 * saved unless `autosaveInterval` already did it). Every broker still
 * running is SIGKILLed when the Node process exits, and a small watchdog
 * shell kills it within a second if the Node process is itself killed.
 *
 * Quirk (ARCHITECTURE.md "Known broker and platform quirks"): Mosquitto
 * 2.0.11 silently drops QoS 2 messages when one client has more than 20 in
 * flight with the default `max_inflight_messages` (20) over MQTT 3.1.1.
 * Tests that keep more than 20 QoS 2 messages in flight must pass
 * `maxInflightMessages: 0` (unlimited) or keep their window at 20 or less;
 * count what arrives either way.
 */
import { spawn, execFileSync } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { generatePki } from "./certs";
import type { TestPki } from "./certs";
import { canConnect, delay, freePort } from "./net-util";

/** Where the binary is looked for when `MOSQUITTO` is not set in the environment. */
const CANDIDATES = ["/usr/sbin/mosquitto", "/usr/bin/mosquitto", "/usr/local/sbin/mosquitto", "/usr/local/bin/mosquitto"];

/** Options of {@link startMosquitto}. Every option has a default that makes a plain anonymous broker. */
export interface MosquittoOptions {
  /** Keep sessions, retained and queued messages across `restart()`. Default `false`. */
  persistence?: boolean;
  /** Seconds between automatic database saves (`autosave_interval`); default Mosquitto's (1800). */
  autosaveInterval?: number;
  /** Users and passwords for a password file (`mosquitto_passwd -b`). Turns anonymous access off unless `allowAnonymous`. */
  users?: Record<string, string>;
  /** `allow_anonymous`; default `true` without `users`, `false` with them. */
  allowAnonymous?: boolean;
  /** ACL file content, lines such as `user alice` / `topic readwrite alice/#` / `pattern read %c/#`. */
  acl?: string;
  /** Add a TLS listener with a generated CA and server certificate (CN/SAN 127.0.0.1, localhost). Default `false`. */
  tls?: boolean;
  /** With `tls`: require a client certificate signed by the generated CA. Default `false`. */
  requireCertificate?: boolean;
  /** `max_inflight_messages` (QoS 1/2 in flight per client, 0 = unlimited). Mosquitto's default is 20. */
  maxInflightMessages?: number;
  /** `max_queued_messages` per offline/busy client (0 = unlimited). Mosquitto's default is 1000. */
  maxQueuedMessages?: number;
  /** `max_keepalive` seconds (v5 Server Keep Alive). */
  maxKeepalive?: number;
  /** Extra configuration lines, appended last (global section). */
  extra?: string[];
  /** Path of the binary; default `$MOSQUITTO` or the first of the usual paths that exists. */
  binary?: string;
  /** Milliseconds to wait for the port to accept connections. Default 5000. */
  startTimeout?: number;
}

/** A running (or stopped) Mosquitto fixture. */
export interface MosquittoBroker {
  /** Plain MQTT port on 127.0.0.1. */
  readonly port: number;
  /** TLS port on 127.0.0.1 when `tls` was requested. */
  readonly tlsPort: number | undefined;
  /** `mqtt://127.0.0.1:<port>` */
  readonly url: string;
  /** `mqtts://127.0.0.1:<tlsPort>` when `tls` was requested. */
  readonly tlsUrl: string | undefined;
  /** The generated PKI when `tls` was requested (CA to trust, client certificate for mutual TLS). */
  readonly pki: TestPki | undefined;
  /** The temporary directory with the config, password/ACL files, certificates and database. */
  readonly dir: string;
  /** Path of the generated configuration file. */
  readonly configPath: string;
  /** Whether the process is running. */
  readonly running: boolean;
  /** Everything Mosquitto logged so far (all runs), for failure messages. */
  log(): string;
  /** Starts it again after `stop()`/`kill()` on the same ports and directory; resolves once it accepts connections. */
  start(): Promise<void>;
  /** SIGTERM and wait for exit (Mosquitto saves its database); SIGKILL after 3 s. */
  stop(): Promise<void>;
  /** SIGKILL and wait for exit (a crash: no database save). */
  kill(): Promise<void>;
  /** `stop()` then `start()`. */
  restart(): Promise<void>;
  /** Stops the broker and removes its directory. */
  dispose(): Promise<void>;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const child of live) child.kill("SIGKILL");
  });
}

/** The Mosquitto binary, or throws with how to install it. */
export function findMosquitto(): string {
  const fromEnv = process.env.MOSQUITTO;
  if (fromEnv) return fromEnv;
  for (const path of CANDIDATES) if (existsSync(path)) return path;
  throw new Error("mosquitto not found: install it (Debian/Ubuntu: apt-get install mosquitto) or set MOSQUITTO=/path/to/mosquitto");
}

/**
 * A detached shell that SIGKILLs Mosquitto and removes its directory if
 * this Node process dies without running its exit hook (e.g. the test
 * runner's SIGKILL on a timeout). It polls twice a second and ends with
 * Mosquitto.
 */
function startWatchdog(pid: number, dir: string): ChildProcess {
  const parent = process.pid;
  const script =
    `while kill -0 ${parent} 2>/dev/null && kill -0 ${pid} 2>/dev/null; do sleep 0.5; done; ` +
    `if ! kill -0 ${parent} 2>/dev/null; then kill -9 ${pid} 2>/dev/null; rm -rf "$1"; fi`;
  const watchdog = spawn("sh", ["-c", script, "sh", dir], { detached: true, stdio: "ignore" });
  watchdog.unref();
  return watchdog;
}

function passwordFile(path: string, users: Record<string, string>): void {
  let first = true;
  for (const [user, password] of Object.entries(users)) {
    execFileSync("mosquitto_passwd", first ? ["-b", "-c", path, user, password] : ["-b", path, user, password], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    first = false;
  }
}

function configText(options: MosquittoOptions, dir: string, port: number, tlsPort: number | undefined, pki: TestPki | undefined): string {
  const lines = [
    "# generated by test/support/mosquitto.ts",
    "per_listener_settings false",
    // Running as root, Mosquitto switches to user "mosquitto" unless told
    // otherwise; that user cannot read this private temporary directory.
    `user ${userInfo().username}`,
    "log_dest stderr",
    "log_type all",
    "connection_messages true",
    `listener ${port} 127.0.0.1`,
  ];
  if (tlsPort !== undefined && pki !== undefined) {
    lines.push(
      `listener ${tlsPort} 127.0.0.1`,
      `cafile ${pki.caCertPath}`,
      `certfile ${pki.serverCertPath}`,
      `keyfile ${pki.serverKeyPath}`,
      `require_certificate ${options.requireCertificate ? "true" : "false"}`,
    );
  }
  const anonymous = options.allowAnonymous ?? options.users === undefined;
  lines.push(`allow_anonymous ${anonymous ? "true" : "false"}`);
  if (options.users !== undefined) {
    const path = join(dir, "passwd");
    passwordFile(path, options.users);
    lines.push(`password_file ${path}`);
  }
  if (options.acl !== undefined) {
    const path = join(dir, "acl");
    writeFileSync(path, `${options.acl.trim()}\n`);
    lines.push(`acl_file ${path}`);
  }
  if (options.persistence) {
    const data = join(dir, "data");
    mkdirSync(data, { recursive: true });
    lines.push("persistence true", `persistence_location ${data}/`);
    if (options.autosaveInterval !== undefined) lines.push(`autosave_interval ${options.autosaveInterval}`);
  } else {
    lines.push("persistence false");
  }
  if (options.maxInflightMessages !== undefined) lines.push(`max_inflight_messages ${options.maxInflightMessages}`);
  if (options.maxQueuedMessages !== undefined) lines.push(`max_queued_messages ${options.maxQueuedMessages}`);
  if (options.maxKeepalive !== undefined) lines.push(`max_keepalive ${options.maxKeepalive}`);
  lines.push(...(options.extra ?? []));
  return `${lines.join("\n")}\n`;
}

/**
 * Starts Mosquitto with a generated configuration; resolves once its
 * ports accept TCP connections. Rejects with the captured log if it exits
 * or does not listen within `startTimeout`. A port taken between choosing
 * and binding is retried with new ports (three attempts).
 */
export async function startMosquitto(options: MosquittoOptions = {}): Promise<MosquittoBroker> {
  const binary = options.binary ?? findMosquitto();
  const dir = mkdtempSync(join(tmpdir(), "mqtt-xs-mosquitto-"));
  const pki = options.tls ? generatePki(join(dir, "pki")) : undefined;
  const configPath = join(dir, "mosquitto.conf");
  const logLines: string[] = [];
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let port = 0;
  let tlsPort: number | undefined;

  const launch = async (): Promise<void> => {
    const proc = spawn(binary, ["-c", configPath], { stdio: ["ignore", "pipe", "pipe"] });
    child = proc;
    live.add(proc);
    installExitHook();
    const watchdog = proc.pid === undefined ? undefined : startWatchdog(proc.pid, dir);
    const append = (chunk: Buffer): void => {
      logLines.push(chunk.toString());
      if (logLines.length > 2000) logLines.splice(0, logLines.length - 2000);
    };
    proc.stdout?.on("data", append);
    proc.stderr?.on("data", append);
    let hasExited = false;
    exited = new Promise<void>((resolve) => {
      proc.once("exit", (code, signal) => {
        hasExited = true;
        watchdog?.kill("SIGKILL");
        live.delete(proc);
        logLines.push(`[fixture] mosquitto exited (${code ?? signal})\n`);
        if (child === proc) child = undefined;
        resolve();
      });
    });
    proc.once("error", (error) => logLines.push(`[fixture] spawn error: ${error.message}\n`));
    const deadline = Date.now() + (options.startTimeout ?? 5000);
    for (;;) {
      if (hasExited) throw new Error(`mosquitto exited during start:\n${logLines.join("")}`);
      const ready = (await canConnect(port)) && (tlsPort === undefined || (await canConnect(tlsPort)));
      if (ready) return;
      if (Date.now() > deadline) {
        proc.kill("SIGKILL");
        throw new Error(`mosquitto did not listen on ${port} within ${options.startTimeout ?? 5000} ms:\n${logLines.join("")}`);
      }
      await delay(20);
    }
  };

  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    tlsPort = options.tls ? await freePort() : undefined;
    writeFileSync(configPath, configText(options, dir, port, tlsPort, pki));
    try {
      await launch();
      break;
    } catch (error) {
      const inUse = logLines.join("").includes("Address already in use");
      await exited;
      if (!inUse || attempt === 3) {
        rmSync(dir, { recursive: true, force: true });
        throw error;
      }
    }
  }

  const waitExit = async (signal: NodeJS.Signals): Promise<void> => {
    const proc = child;
    if (proc === undefined) return;
    proc.kill(signal);
    const timer = setTimeout(() => proc.kill("SIGKILL"), 3000);
    await exited;
    clearTimeout(timer);
  };

  const broker: MosquittoBroker = {
    get port() {
      return port;
    },
    get tlsPort() {
      return tlsPort;
    },
    get url() {
      return `mqtt://127.0.0.1:${port}`;
    },
    get tlsUrl() {
      return tlsPort === undefined ? undefined : `mqtts://127.0.0.1:${tlsPort}`;
    },
    pki,
    dir,
    configPath,
    get running() {
      return child !== undefined;
    },
    log: () => logLines.join(""),
    start: async () => {
      if (child !== undefined) return;
      await launch();
    },
    stop: () => waitExit("SIGTERM"),
    kill: () => waitExit("SIGKILL"),
    restart: async () => {
      await waitExit("SIGTERM");
      await launch();
    },
    dispose: async () => {
      await waitExit("SIGTERM");
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return broker;
}
