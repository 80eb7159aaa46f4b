/**
 * `npm start`: the two sample nodes live, inside the XS engine, against a
 * broker, with a terminal view fed by an MQTT subscription.
 *
 * What it does:
 * 1. broker: `MQTT_URL` when set, else an embedded aedes on a free
 *    127.0.0.1 port; the URL and a `mosquitto_sub` line are printed;
 * 2. nodes: the thermostat and the soil-moisture node
 *    (`examples/*\/node.ts`), each in its own XS worker (`XsNode`), on
 *    simulated hardware whose readings drift (`demo/sim-nodes.ts`);
 * 3. view: our own Node client subscribes to the nodes' topics; the view
 *    (`demo/view.ts`) shows status, telemetry and events;
 * 4. failure: every `--kill-every` seconds (and on the key `k`) the
 *    thermostat's XS worker is SIGKILLed; the broker publishes its will
 *    ("offline"); a few seconds later a new worker starts it again and its
 *    birth says "online";
 * 5. Ctrl-C (or `q`, or the end of a bounded run): the nodes stop
 *    gracefully ("offline", DISCONNECT), the observer and the broker close,
 *    exit status 0.
 *
 * Options (also as environment variables):
 *   --once                 bounded run of DEMO_SECONDS (default 15) seconds
 *   --seconds N            bounded run of N seconds (env DEMO_SECONDS=N)
 *   --kill-every S         seconds between kills (env DEMO_KILL_EVERY; default 20)
 *   --no-kill              never kill
 *   --host xs|node         where the nodes run (default xs; node = in this process, no kills)
 *   --protocol 4|5         MQTT version of the nodes (env DEMO_PROTOCOL; default 4; aedes is 3.1.1 only)
 *   --ha / --no-ha         Home Assistant discovery (default on with the embedded broker, off with MQTT_URL)
 *   --plain                plain lines even on a terminal
 *   MQTT_URL=mqtt://host:port   use that broker
 *
 * Node-only demo tooling; `demo/start.mjs` bundles and runs it.
 */
import { connect } from "../hosts/node/mqtt";
import type { MqttClient } from "../hosts/node/mqtt";
import { TCP } from "../hosts/node/tcp";
import { now as nodeNow } from "../hosts/node/timer";
import { nodeTimer } from "../hosts/node/mqtt";
import { MemoryStore } from "../modules/persist/memory-store";
import { parseBrokerUrl } from "../modules/mqtt/compat";
import { startEmbeddedBroker } from "./broker";
import type { EmbeddedBroker } from "./broker";
import { DemoView } from "./view";
import type { NodeRow } from "./view";
import { XsNode } from "./xs-node";
import type { NodeSpec } from "./xs-node";
import { startSoil, startThermostat } from "./sim-nodes";
import type { HostServices, NodeEvent, SimSoil, SimThermostat } from "./sim-nodes";

/** The topic prefix of the demo nodes. */
export const PREFIX = "mqtt-xs-demo";

interface Options {
  seconds: number | undefined;
  killEvery: number | undefined;
  host: "xs" | "node";
  protocol: 4 | 5;
  ha: boolean | undefined;
  plain: boolean;
  help: boolean;
}

const USAGE = `usage: npm start -- [--once | --seconds N] [--kill-every S | --no-kill] [--host xs|node] [--protocol 4|5] [--ha|--no-ha] [--plain]
  MQTT_URL=mqtt://host:port   use that broker instead of the embedded one
  DEMO_SECONDS=N              bounded run (same as --seconds N)
  DEMO_KILL_EVERY=S           seconds between kills of the thermostat's XS worker (default 20)`;

function parseArgs(argv: string[], env: NodeJS.ProcessEnv): Options {
  const options: Options = {
    seconds: env.DEMO_SECONDS ? Number(env.DEMO_SECONDS) : undefined,
    killEvery: env.DEMO_KILL_EVERY ? Number(env.DEMO_KILL_EVERY) : 20,
    host: "xs",
    protocol: env.DEMO_PROTOCOL === "5" ? 5 : 4,
    ha: undefined,
    plain: false,
    help: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new TypeError(`${arg} needs a value\n${USAGE}`);
      return v;
    };
    if (arg === "--once") options.seconds ??= 15;
    else if (arg === "--seconds") options.seconds = Number(value());
    else if (arg === "--kill-every") options.killEvery = Number(value());
    else if (arg === "--no-kill") options.killEvery = undefined;
    else if (arg === "--host") {
      const host = value();
      if (host !== "xs" && host !== "node") throw new TypeError(`--host xs|node, got ${host}`);
      options.host = host;
    } else if (arg === "--protocol") options.protocol = value() === "5" ? 5 : 4;
    else if (arg === "--ha") options.ha = true;
    else if (arg === "--no-ha") options.ha = false;
    else if (arg === "--plain") options.plain = true;
    else if (arg === "--help" || arg === "-h") options.help = true;
    else throw new TypeError(`unknown option ${arg}\n${USAGE}`);
  }
  if (options.seconds !== undefined && !(options.seconds > 0)) throw new RangeError(`DEMO_SECONDS / --seconds must be a positive number`);
  if (options.killEvery !== undefined && !(options.killEvery > 0)) throw new RangeError(`--kill-every must be a positive number of seconds`);
  return options;
}

/** What the demo needs of a running node, on either host. */
interface Runner {
  readonly id: string;
  readonly pid: number | undefined;
  readonly running: boolean;
  readonly starts: number;
  start(): Promise<unknown>;
  stop(): Promise<void>;
  kill(): Promise<void>;
  meters(): { heap: number; compute: number } | undefined;
}

/** A node run by `XsNode` in its own XS worker. */
function xsRunner(spec: NodeSpec, root: string, onEvent: (event: NodeEvent) => void, onProblem: (text: string) => void): Runner {
  const node = new XsNode(spec, root);
  node.on("node", onEvent);
  node.on("fault", (error: Error) => onProblem(`${spec.config.id}: XS fault: ${error.message}`));
  node.on("exit", (error: Error) => onProblem(`${spec.config.id}: XS worker exited: ${error.message}`));
  node.on("print", (text: string) => onProblem(`${spec.config.id}: xs: ${String(text).trimEnd()}`));
  return {
    get id() {
      return node.id;
    },
    get pid() {
      return node.pid;
    },
    get running() {
      return node.running;
    },
    get starts() {
      return node.starts;
    },
    start: () => node.start(),
    stop: () => node.stop(),
    kill: () => node.kill(),
    meters: () => {
      const m = node.meters();
      return m === undefined || m.last === undefined ? undefined : { heap: m.last.currentHeapCount, compute: m.compute };
    },
  };
}

/** A node run in this Node process (`--host node`): the same code over `hosts/node` sockets and timers. */
function nodeRunner(spec: NodeSpec, onEvent: (event: NodeEvent) => void): Runner {
  let sim: SimThermostat | SimSoil | undefined;
  let starts = 0;
  const store = new MemoryStore();
  const services: HostServices = { TCP: TCP as never, timer: nodeTimer, now: nodeNow, emit: onEvent };
  return {
    id: spec.config.id,
    pid: undefined,
    get running() {
      return sim !== undefined;
    },
    get starts() {
      return starts;
    },
    start: async () => {
      starts++;
      sim = spec.kind === "thermostat" ? startThermostat(spec.config, services) : startSoil(spec.config, services, store);
    },
    stop: () =>
      new Promise<void>((resolve) => {
        const s = sim;
        sim = undefined;
        if (s === undefined) resolve();
        else s.stop(resolve);
      }),
    kill: async () => {
      throw new Error("kills need an XS worker (--host xs)");
    },
    meters: () => undefined,
  };
}

function brokerHint(url: string): string {
  const where = parseBrokerUrl(url);
  return `mosquitto_sub -h ${where.host ?? "127.0.0.1"} -p ${where.port ?? 1883} -t '${PREFIX}/#' -v`;
}

/** Runs the demo until Ctrl-C, `q` or the end of a bounded run; resolves to the exit status. */
export async function main(argv: string[], root: string): Promise<number> {
  let options: Options;
  try {
    options = parseArgs(argv, process.env);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    return 2;
  }
  if (options.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const tty = process.stdout.isTTY === true && !options.plain;
  const view = new DemoView(process.stdout, tty);
  // Whatever happens, leave the terminal as we found it.
  process.once("exit", () => view.close());
  const externalUrl = process.env.MQTT_URL;
  let broker: EmbeddedBroker | undefined;
  const url = externalUrl ?? (broker = await startEmbeddedBroker()).url;
  const ha = options.ha ?? externalUrl === undefined;
  const kills = options.host === "xs" ? options.killEvery : undefined;

  // ---- nodes -------------------------------------------------------------
  const rows: Record<string, NodeRow> = {};
  const problem = (text: string): void => view.event(text);
  const onEvent = (event: NodeEvent): void => {
    const row = rows[event.node];
    if (row === undefined) return;
    switch (event.type) {
      case "wake":
        row.phase = "awake";
        row.cycle = event.cycle;
        if (!tty) view.event(`${event.node} wake #${event.cycle}`);
        return;
      case "sleep":
        row.phase = "asleep";
        view.event(`${event.node} sleeps ${(event.ms / 1000).toFixed(0)} s after wake #${event.cycle}${event.pending ? ` (${event.pending} readings kept for the next wake)` : ""}`);
        return;
      case "timeout":
        view.event(`${event.node} broker unreachable: reading queued in the persisted outbox`);
        return;
      case "restore":
        if (event.messages > 0) view.event(`${event.node} restored ${event.messages} unacknowledged readings from its store`);
        return;
      case "command":
        view.event(`${event.node} command ${event.name}${event.value === undefined ? "" : ` = ${String(event.value)}`}${event.error ? ` refused: ${event.error}` : ""}`);
        return;
      case "error":
        view.event(`${event.node} error: ${event.message}`);
        return;
      default:
        return;
    }
  };
  const base = { url, protocolVersion: options.protocol, homeAssistant: ha } as const;
  const specs: NodeSpec[] = [
    { kind: "thermostat", config: { ...base, id: "thermostat-1", baseTopic: `${PREFIX}/thermostat-1`, seed: 0x7e57 } },
    { kind: "soil", config: { ...base, id: "soil-1", baseTopic: `${PREFIX}/soil-1`, seed: 0x5011, sleepMs: 5000, awakeMs: 8000 } },
  ];
  const runners: Runner[] = specs.map((spec) => (options.host === "xs" ? xsRunner(spec, root, onEvent, problem) : nodeRunner(spec, onEvent)));
  for (const spec of specs) rows[spec.config.id] = view.add(spec.config.id, spec.kind);
  const thermostat = runners[0];
  const thermostatSpec = specs[0] as Extract<NodeSpec, { kind: "thermostat" }>;

  // ---- observer (our own Node client) ------------------------------------
  const observer: MqttClient = connect(url, { clientId: `${PREFIX}-view-${process.pid}`, reconnectPeriod: 1000, keepalive: 30 });
  observer.on("error", (error: Error) => view.event(`observer: ${error.message}`));
  observer.on("message", (topic: string, payload: Uint8Array, packet: { retain?: boolean }) => {
    const parts = topic.split("/");
    if (parts.length !== 3 || parts[0] !== PREFIX) return;
    const row = rows[parts[1]];
    if (row === undefined) return;
    const text = Buffer.from(payload).toString("utf8");
    const kind = parts[2];
    if (kind === "status") {
      if (packet.retain) {
        // What the broker kept from before this run (an external broker).
        if (row.status === undefined) row.status = text;
        view.event(`${row.id} status ${text} (retained)`);
        return;
      }
      row.status = text;
      row.statusAt = Date.now();
      if (text === "online") row.online++;
      else if (text === "offline") row.offline++;
      let note = "";
      if (text === "offline" && row.killed) {
        row.wills++;
        note = " (will: the broker saw the connection die)";
      } else if (text === "offline" && row.stopping) note = " (graceful shutdown)";
      else if (text === "online") note = row.kind === "soil" ? ` (birth, wake #${row.cycle})` : row.online > 1 ? " (birth after restart)" : " (birth)";
      view.event(`${row.id} status ${text}${note}`);
    } else if (kind === "state") {
      try {
        row.state = JSON.parse(text) as Record<string, unknown>;
      } catch {
        row.state = { raw: text };
      }
      row.stateAt = Date.now();
      row.states++;
      if (!tty) view.event(`${row.id} state ${text}`);
    } else if (kind === "mode") {
      row.mode = text;
      if (!tty) view.event(`${row.id} mode ${text}`);
    } else if (kind === "error") {
      view.event(`${row.id} error reply ${text}`);
    }
  });
  // Subscribed before the nodes start, so the view sees their first birth and state.
  const subscribed = new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      view.event(`observer: no SUBACK from ${url} within 5 s; starting the nodes anyway`);
      resolve();
    }, 5000);
    observer.subscribe([`${PREFIX}/+/status`, `${PREFIX}/+/state`, `${PREFIX}/+/mode`, `${PREFIX}/+/error`], { qos: 1 }, (error: Error | null) => {
      clearTimeout(timer);
      if (error) view.event(`observer: subscribe failed: ${error.message}`);
      resolve();
    });
  });

  const where = options.host === "xs" ? "in the XS engine (one xsnap worker each)" : "in this Node process";
  view.begin({
    title: `mqtt-xs demo: thermostat-1 and soil-1 ${where}, MQTT ${options.protocol === 5 ? "5.0" : "3.1.1"}`,
    broker: `${url}${broker ? " (embedded aedes)" : " (MQTT_URL)"}`,
    subscribe: brokerHint(url),
    keys: `keys: ${kills !== undefined || options.host === "xs" ? "k kill thermostat · " : ""}q quit (Ctrl-C)${options.seconds ? `    bounded run: ${options.seconds}s` : ""}`,
  });

  const refresh = (): void => {
    for (const runner of runners) {
      const row = rows[runner.id];
      row.pid = runner.pid;
      row.starts = runner.starts;
      const m = runner.meters();
      if (m !== undefined) {
        row.heap = m.heap;
        row.compute = m.compute;
      }
    }
  };
  await subscribed;
  for (const runner of runners) {
    await runner.start();
    view.event(`${runner.id} started ${options.host === "xs" ? `in XS worker pid ${runner.pid}` : "on Node"}`);
  }
  refresh();
  const meterTimer = setInterval(refresh, 1000);

  // ---- kills -------------------------------------------------------------
  let stopping = false;
  let killTimer: NodeJS.Timeout | undefined;
  let restartTimer: NodeJS.Timeout | undefined;
  let nextKillAt = 0;
  // MQTT 5: the node's will has a 5 s Will Delay (a quick reconnect does not
  // flap the status); restart after it, so the demo still shows the will.
  const restartDelay = options.protocol === 5 ? 7000 : 3000;
  const kill = async (): Promise<void> => {
    if (stopping || options.host !== "xs" || !thermostat.running) return;
    const row = rows[thermostat.id];
    const pid = thermostat.pid;
    row.killed = true;
    // The room does not cool down because its thermostat crashed: the new
    // worker starts from the last temperature seen.
    const last = row.state?.temperature;
    if (typeof last === "number") thermostatSpec.config.initialTemperature = last;
    view.event(`${thermostat.id} KILL: XS worker pid ${pid} killed with SIGKILL (no DISCONNECT)`);
    try {
      await thermostat.kill();
    } catch (error) {
      view.event(`${thermostat.id} kill: ${(error as Error).message}`);
    }
    refresh();
    restartTimer = setTimeout(() => {
      restartTimer = undefined;
      if (stopping) return;
      view.event(`${thermostat.id} restart: new XS worker`);
      thermostat.start().then(
        () => {
          row.killed = false;
          refresh();
          view.event(`${thermostat.id} started in XS worker pid ${thermostat.pid}`);
        },
        (error: Error) => view.event(`${thermostat.id} restart failed: ${error.message}`),
      );
    }, restartDelay);
  };
  const scheduleKill = (delaySeconds: number): void => {
    if (kills === undefined || stopping) return;
    nextKillAt = Date.now() + delaySeconds * 1000;
    killTimer = setTimeout(() => {
      killTimer = undefined;
      void kill().then(() => scheduleKill(kills));
    }, delaySeconds * 1000);
  };
  if (kills !== undefined) {
    // In a bounded run the first kill comes early enough to see the comeback.
    const first = options.seconds !== undefined ? Math.min(kills, Math.max(3, options.seconds * 0.3)) : kills;
    scheduleKill(first);
  }
  const footerTimer = tty
    ? setInterval(() => {
        const parts: string[] = [];
        if (killTimer !== undefined) parts.push(`next kill of thermostat-1 in ${Math.max(0, Math.ceil((nextKillAt - Date.now()) / 1000))}s`);
        if (restartTimer !== undefined) parts.push("thermostat-1 restarts in a moment");
        view.setFooter(parts.join(" · "));
      }, 250)
    : undefined;

  // ---- end ---------------------------------------------------------------
  return new Promise<number>((resolveExit) => {
    let boundedTimer: NodeJS.Timeout | undefined;
    const stdin = process.stdin;
    const keys = tty && stdin.isTTY === true;
    const onKey = (data: Buffer): void => {
      const key = data.toString();
      if (key === "k") void kill();
      else if (key === "q" || key === "\u0003") void shutdown("quit");
    };
    const onSigint = (): void => {
      if (stopping) process.exit(130); // a second Ctrl-C: leave now
      void shutdown("Ctrl-C");
    };
    const shutdown = async (why: string): Promise<void> => {
      if (stopping) return;
      stopping = true;
      clearTimeout(killTimer);
      clearTimeout(restartTimer);
      clearTimeout(boundedTimer);
      view.event(`${why}: stopping the nodes gracefully (status "offline", then DISCONNECT)`);
      for (const row of Object.values(rows)) row.stopping = true;
      await Promise.all(runners.map((runner) => runner.stop()));
      // Let the observer see the last "offline"s.
      const deadline = Date.now() + 1500;
      while (Date.now() < deadline && Object.values(rows).some((row) => row.status !== "offline")) await new Promise((r) => setTimeout(r, 50));
      clearInterval(meterTimer);
      if (footerTimer !== undefined) clearInterval(footerTimer);
      await new Promise<void>((resolve) => observer.end(false, () => resolve()));
      if (broker !== undefined) await broker.close();
      process.off("SIGINT", onSigint);
      process.off("SIGTERM", onSigint);
      if (keys) {
        stdin.off("data", onKey);
        stdin.setRawMode(false);
        stdin.pause();
      }
      view.close();
      const summary = Object.values(rows)
        .map((r) => `${r.id} online×${r.online} offline×${r.offline} (will×${r.wills}) states×${r.states}`)
        .join("; ");
      view.line(`summary: ${summary}`);
      view.line("stopped cleanly");
      resolveExit(0);
    };
    process.on("SIGINT", onSigint);
    process.on("SIGTERM", onSigint);
    if (keys) {
      stdin.setRawMode(true);
      stdin.resume();
      stdin.on("data", onKey);
    }
    if (options.seconds !== undefined) boundedTimer = setTimeout(() => void shutdown(`bounded run of ${options.seconds}s over`), options.seconds * 1000);
  });
}
