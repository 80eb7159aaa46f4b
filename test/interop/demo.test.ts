/**
 * Smoke test of `npm start` (demo/start.mjs), run as a child process with
 * stdout piped (so the demo prints plain lines):
 * - bounded run (DEMO_SECONDS) with the embedded broker: prints the broker
 *   URL, both nodes come online and publish telemetry, the thermostat's XS
 *   worker is killed and the broker's will says "offline", it comes back
 *   "online", the run ends by itself with exit status 0;
 * - MQTT_URL pointing at Mosquitto, MQTT 5, stopped with SIGINT (Ctrl-C):
 *   uses that broker, exits 0, and both nodes left a retained "offline".
 *
 * Node-only (spawns node, xsnap workers, Mosquitto).
 */
import test from "tape";
import { spawn } from "node:child_process";
import { connectAsync } from "../../hosts/node/mqtt";
import { startMosquitto } from "../support/mosquitto";
import { waitUntil } from "../support/net-util";

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: () => string;
  err: () => string;
  done: Promise<void>;
  child: ReturnType<typeof spawn>;
}

function startDemo(args: string[], env: Record<string, string | undefined>): Run {
  const merged: NodeJS.ProcessEnv = { ...process.env, ...env };
  for (const key of Object.keys(env)) if (env[key] === undefined) delete merged[key];
  const child = spawn(process.execPath, ["demo/start.mjs", ...args], { env: merged, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout!.setEncoding("utf8").on("data", (text: string) => (out += text));
  child.stderr!.setEncoding("utf8").on("data", (text: string) => (err += text));
  const run: Run = {
    code: null,
    signal: null,
    out: () => out,
    err: () => err,
    child,
    done: new Promise<void>((resolve) => {
      child.on("close", (code, signal) => {
        run.code = code;
        run.signal = signal;
        resolve();
      });
    }),
  };
  return run;
}

/** Index of the first line matching `pattern` at or after line `from`, or -1. */
function find(lines: string[], pattern: RegExp, from = 0): number {
  for (let i = from; i < lines.length; i++) if (pattern.test(lines[i])) return i;
  return -1;
}

test("npm start, bounded run with the embedded broker: URL printed, both nodes online with telemetry, a will 'offline' and a comeback, exit 0", async (t) => {
  const run = startDemo([], { DEMO_SECONDS: "14", MQTT_URL: undefined, DEMO_KILL_EVERY: undefined });
  const killer = setTimeout(() => run.child.kill("SIGKILL"), 45_000);
  await run.done;
  clearTimeout(killer);
  const lines = run.out().split("\n");
  t.equal(run.code, 0, `exit status 0${run.code === 0 ? "" : `\n${run.out()}\n${run.err()}`}`);
  t.ok(find(lines, /broker mqtt:\/\/127\.0\.0\.1:\d+ \(embedded aedes\)/) >= 0, "printed the embedded broker's URL");
  t.ok(find(lines, /mosquitto_sub -h 127\.0\.0\.1 -p \d+ -t 'mqtt-xs-demo\/#' -v/) >= 0, "printed how to subscribe");
  for (const id of ["thermostat-1", "soil-1"]) {
    t.ok(find(lines, new RegExp(`${id} status online`)) >= 0, `${id} came online`);
    t.ok(find(lines, new RegExp(`${id} state \\{.*\\}`)) >= 0, `${id} published telemetry`);
  }
  const thermo = lines.find((l) => /thermostat-1 state \{/.test(l))!;
  const state = JSON.parse(thermo.slice(thermo.indexOf("{"))) as Record<string, unknown>;
  t.deepEqual(Object.keys(state).sort(), ["heater", "heating", "humidity", "setpoint", "temperature"], "thermostat state fields");
  const soil = lines.find((l) => /soil-1 state \{/.test(l))!;
  t.deepEqual(Object.keys(JSON.parse(soil.slice(soil.indexOf("{")))).sort(), ["moisture", "raw"], "soil state fields");
  const kill = find(lines, /thermostat-1 KILL: XS worker pid \d+ killed/);
  t.ok(kill >= 0, "killed the thermostat's XS worker");
  const will = find(lines, /thermostat-1 status offline \(will/, kill);
  t.ok(will > kill, "then the broker published its will 'offline'");
  const back = find(lines, /thermostat-1 status online/, will);
  t.ok(back > will, "then it came back 'online'");
  const end = find(lines, /bounded run of 14s over/);
  t.ok(end > back, "the bounded run ended by itself");
  t.ok(find(lines, /thermostat-1 status offline \(graceful shutdown\)/, end) > end, "thermostat said 'offline' gracefully at the end");
  t.ok(find(lines, /soil-1 status offline \(graceful shutdown\)/, end) > end, "soil said 'offline' gracefully at the end");
  t.ok(find(lines, /stopped cleanly/) > end, "stopped cleanly");
  t.equal(run.err().replace(/npm warn.*\n/g, ""), "", "nothing on stderr");
});

test("npm start with MQTT_URL (Mosquitto, MQTT 5), stopped with Ctrl-C: uses that broker, retained 'offline' left behind, exit 0", async (t) => {
  const mosquitto = await startMosquitto();
  try {
    const run = startDemo(["--no-kill"], { MQTT_URL: mosquitto.url, DEMO_PROTOCOL: "5", DEMO_SECONDS: undefined });
    const killer = setTimeout(() => run.child.kill("SIGKILL"), 40_000);
    await waitUntil(
      () => /thermostat-1 state \{/.test(run.out()) && /soil-1 state \{/.test(run.out()),
      20_000,
      "both nodes publishing",
      () => `${run.out()}\n${run.err()}`,
    );
    run.child.kill("SIGINT");
    await run.done;
    clearTimeout(killer);
    const lines = run.out().split("\n");
    t.equal(run.code, 0, `exit status 0 after SIGINT${run.code === 0 ? "" : `\n${run.out()}\n${run.err()}`}`);
    t.ok(find(lines, new RegExp(`broker ${mosquitto.url.replace(/[./]/g, "\\$&")} \\(MQTT_URL\\)`)) >= 0, "used the broker in MQTT_URL");
    t.ok(find(lines, /MQTT 5\.0/) >= 0, "nodes on MQTT 5");
    t.ok(find(lines, /Ctrl-C: stopping the nodes gracefully/) >= 0, "Ctrl-C handled");
    t.ok(/Client thermostat-1 disconnected\./.test(mosquitto.log()), "the thermostat sent DISCONNECT");
    const observer = await connectAsync(mosquitto.url, { reconnectPeriod: 0 });
    const retained: Record<string, string> = {};
    observer.on("message", (topic: string, payload: Uint8Array) => (retained[topic] = Buffer.from(payload).toString()));
    await observer.subscribeAsync("mqtt-xs-demo/+/status", { qos: 1 });
    await waitUntil(() => Object.keys(retained).length >= 2, 3000, "retained statuses");
    t.deepEqual(retained, { "mqtt-xs-demo/thermostat-1/status": "offline", "mqtt-xs-demo/soil-1/status": "offline" }, "both nodes left 'offline'");
    await observer.endAsync();
  } finally {
    await mosquitto.dispose();
  }
});
