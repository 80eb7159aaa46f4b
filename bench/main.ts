/**
 * `npm run bench`: mqtt-xs against MQTT.js and a raw-socket ceiling on one
 * private Mosquitto, plus XS engine meters. See bench/README.md for the
 * method; this file only orchestrates.
 *
 * Order of a run: start Mosquitto (generated config, free loopback port);
 * peak RSS of idle processes; per round, per QoS, one throughput job per
 * implementation in rotating order; per round, per QoS, one latency job per
 * implementation; bytes on the wire; XS meters; the client's CPU per
 * operation on Node without sockets; then the table on stdout,
 * bench/results.json and bench/RESULTS.md.
 *
 * Environment: BENCH_ROUNDS (default 3), BENCH_QUICK=1 (a tenth of the
 * messages and one round: a smoke test, figures not comparable),
 * BENCH_ONLY=rss,throughput,latency,bytes,xs,micro (subset), BENCH_NO_WRITE=1
 * (print only, leave results.json and RESULTS.md alone), BENCH_EXTRA_IMPLS
 * (diagnostic implementations run in every round, logged and kept in
 * results.json only: ours-nopkt, ours-wide, mqttjs-window).
 *
 * Node-only.
 */
import { cpus, loadavg, totalmem, release, platform } from "node:os";
import { readFileSync, writeFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { BROKER_SETTINGS, startBenchBroker } from "./broker";
import type { MosquittoBroker } from "../test/support/mosquitto";
import { RawConnection } from "./raw-mqtt";
import { runJob } from "./spawn-job";
import type { JobResult } from "./spawn-job";
import type { Job } from "./node-worker";
import type { QoS } from "../modules/mqtt/codec/packets";
import { measureXs } from "./xs-meters";
import { measureNodeMicro } from "./node-micro";
import { evaluateTargets, renderMarkdown, renderText } from "./report";
import { NODE_DEFAULTS } from "../hosts/node/mqtt";
import type { Results } from "./report";

export const TOPIC = "bench/site-01/node-0042/temperature";
export const PAYLOAD_SIZE = 32;

interface RunContext {
  root: string;
  workerPath: string;
  xsEntryPath: string;
  xsnapWorkerPath: string;
}

const QUICK = process.env.BENCH_QUICK === "1";
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? (QUICK ? 1 : 3));
const ONLY = new Set((process.env.BENCH_ONLY ?? "rss,throughput,latency,bytes,xs,micro").split(","));
const COUNTS: Record<QoS, number> = QUICK ? { 0: 5000, 1: 2000, 2: 1000 } : { 0: 50000, 1: 20000, 2: 10000 };
/** Publishes outstanding for ours: the Node entry's default outbox record slots (the worker reads them from the client too). */
const OURS_WINDOW = NODE_DEFAULTS.outboxMessages as number;
/** In-flight window of the raw ceiling for QoS 1/2 (see README: the broker's capacity, not a client limit). */
const CEILING_WINDOW = Number(process.env.BENCH_CEILING_WINDOW ?? 1000);
const LATENCY_RATE = 500;
const LATENCY_COUNT = QUICK ? 200 : 1000;
const LATENCY_WARMUP = QUICK ? 20 : 100;
/** The table's implementations come first; BENCH_EXTRA_IMPLS (comma list, e.g. ours-nopkt) adds diagnostic ones to the rounds. */
const EXTRA_IMPLS = (process.env.BENCH_EXTRA_IMPLS ?? "").split(",").filter((x) => x !== "");
const THROUGHPUT_IMPLS = ["ours", "mqttjs", "ceiling", "ceiling-window", ...EXTRA_IMPLS.filter((x) => x !== "mqttjs-nodelay")];
/** ours' default in-flight window on the Node entry, by QoS (maxInflight; maxInflightQos2 for QoS 2); the `ceiling-window` job uses it. */
const OURS_INFLIGHT: Record<1 | 2, number> = { 1: NODE_DEFAULTS.maxInflight as number, 2: NODE_DEFAULTS.maxInflightQos2 as number };
const LATENCY_IMPLS = ["ours", "mqttjs", "ceiling", "mqttjs-nodelay", ...EXTRA_IMPLS.filter((x) => x !== "ours-wide" && x !== "mqttjs-window")];

function log(text: string): void {
  process.stderr.write(`${text}\n`);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  if (n === 0) return NaN;
  return n % 2 === 1 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
}

/** Nearest-rank percentile (p in 0..100). */
function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1];
}

function epochNow(): number {
  return performance.timeOrigin + performance.now();
}

/** Rotates `items` left by `by` (each round starts with another implementation). */
function rotate<T>(items: T[], by: number): T[] {
  const k = by % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

/**
 * The QoS 0 end-to-end subscriber: a raw connection in this (otherwise
 * idle) process, subscribed at QoS 0 only while a QoS 0 job runs, so the
 * QoS 1/2 jobs publish with no subscriber attached.
 */
async function qos0Subscriber(port: number, expected: number): Promise<{ arm(): Promise<number>; close(): Promise<void> }> {
  const raw = await RawConnection.open({ port, clientId: `bench-sub-${process.pid}-${Date.now()}` });
  let count = 0;
  let lastAt = 0;
  let done: ((at: number) => void) | undefined;
  raw.onPacket = (first) => {
    if (first >> 4 !== 3) return;
    count += 1;
    if (count === expected) {
      lastAt = epochNow();
      done?.(lastAt);
    }
  };
  await raw.subscribe(TOPIC, 0);
  return {
    arm() {
      count = 0;
      return new Promise<number>((resolve, reject) => {
        done = resolve;
        // Lost messages would never complete the count: give up after 3 s without progress.
        let seen = -1;
        const watch = setInterval(() => {
          if (count >= expected) return clearInterval(watch);
          if (count === seen) {
            clearInterval(watch);
            reject(new Error(`QoS 0 subscriber stalled at ${count} of ${expected} messages`));
          }
          seen = count;
        }, 3000);
      });
    },
    close: () => raw.close(),
  };
}

interface ThroughputRound {
  ours: number;
  mqttjs: number;
  ceiling: number;
  ratio: number;
  rssKb: Record<string, number>;
  cpuUs: Record<string, number>;
  /** Diagnostic implementations (BENCH_EXTRA_IMPLS): msg/s and CPU us per message. */
  extra: Record<string, { rate: number; cpuUs: number }>;
}

async function throughputJob(ctx: RunContext, broker: MosquittoBroker, impl: string, qos: QoS, window?: number): Promise<{ rate: number; rssKb: number; cpuUs: number }> {
  const count = COUNTS[qos];
  const job: Job = { kind: "throughput", impl, port: broker.port, topic: TOPIC, payloadSize: PAYLOAD_SIZE, qos, count };
  if (window !== undefined) job.window = window;
  else if (impl === "ceiling") job.window = CEILING_WINDOW;
  else if (impl === "ceiling-window") job.window = OURS_INFLIGHT[qos === 2 ? 2 : 1];
  else if (impl === "ours-wide") job.window = 2000;
  else if (impl !== "mqttjs") job.window = OURS_WINDOW;
  if (qos === 0) {
    const sub = await qos0Subscriber(broker.port, count);
    try {
      const result = await runJob(ctx.workerPath, job, sub);
      const elapsed = result.endAt! - result.startedAt!;
      return { rate: (count / elapsed) * 1000, rssKb: result.maxRssKb, cpuUs: (result.cpuMs * 1000) / count };
    } finally {
      await sub.close();
    }
  }
  const result = await runJob(ctx.workerPath, job);
  return { rate: (count / result.elapsedMs) * 1000, rssKb: result.maxRssKb, cpuUs: (result.cpuMs * 1000) / count };
}

async function throughput(ctx: RunContext, broker: MosquittoBroker): Promise<Results["throughput"]> {
  const out: Record<string, any> = {};
  const rounds: Record<number, ThroughputRound[]> = { 0: [], 1: [], 2: [] };
  // Warm-up (not reported): the broker's first connections and allocations.
  await throughputJob(ctx, broker, "ceiling", 1);
  for (let r = 0; r < ROUNDS; r++) {
    for (const qos of [0, 1, 2] as QoS[]) {
      const rates: Record<string, number> = {};
      const rss: Record<string, number> = {};
      const cpu: Record<string, number> = {};
      for (const impl of rotate(THROUGHPUT_IMPLS, r + qos)) {
        if (impl === "ceiling-window" && qos === 0) continue; // no window at QoS 0
        const { rate, rssKb, cpuUs } = await throughputJob(ctx, broker, impl, qos);
        rates[impl] = rate;
        rss[impl] = rssKb;
        cpu[impl] = cpuUs;
      }
      const extra: ThroughputRound["extra"] = {};
      const notes: string[] = [];
      for (const impl of ["ceiling-window", ...EXTRA_IMPLS]) {
        if (rates[impl] === undefined) continue;
        extra[impl] = { rate: rates[impl], cpuUs: cpu[impl] };
        notes.push(`  (diagnostic) ${impl}: ${rates[impl].toFixed(0)}/s, CPU us/msg ${cpu[impl].toFixed(1)}`);
      }
      const round: ThroughputRound = { ours: rates.ours, mqttjs: rates.mqttjs, ceiling: rates.ceiling, ratio: rates.ours / rates.mqttjs, rssKb: rss, cpuUs: cpu, extra };
      rounds[qos].push(round);
      log(
        `throughput round ${r + 1} QoS ${qos}: ours ${rates.ours.toFixed(0)}/s, MQTT.js ${rates.mqttjs.toFixed(0)}/s, ` +
          `ceiling ${rates.ceiling.toFixed(0)}/s, ratio ${round.ratio.toFixed(2)}; CPU us/msg ours ${cpu.ours.toFixed(1)}, ` +
          `MQTT.js ${cpu.mqttjs.toFixed(1)}, ceiling ${cpu.ceiling.toFixed(1)}`,
      );
      for (const note of notes) log(note);
    }
  }
  for (const qos of [0, 1, 2] as QoS[]) {
    const list = rounds[qos];
    const ours = median(list.map((x) => x.ours));
    const mqttjs = median(list.map((x) => x.mqttjs));
    const ceiling = median(list.map((x) => x.ceiling));
    out[`qos${qos}`] = {
      ours,
      mqttjs,
      ceiling,
      ratio: ours / mqttjs,
      messages: COUNTS[qos],
      oursOfCeiling: ours / ceiling,
      mqttjsOfCeiling: mqttjs / ceiling,
      ratioMedianOfRounds: median(list.map((x) => x.ratio)),
      oursOfCeilingMedianOfRounds: median(list.map((x) => x.ours / x.ceiling)),
      mqttjsOfCeilingMedianOfRounds: median(list.map((x) => x.mqttjs / x.ceiling)),
      rounds: list.map((x) => ({
        ours: x.ours,
        mqttjs: x.mqttjs,
        ceiling: x.ceiling,
        ratio: x.ratio,
        oursOfCeiling: x.ours / x.ceiling,
        mqttjsOfCeiling: x.mqttjs / x.ceiling,
        cpuUsPerMessage: x.cpuUs,
        extra: x.extra,
      })),
      ...(qos === 0
        ? {}
        : {
            ceilingWithOursWindow: {
              window: OURS_INFLIGHT[qos === 2 ? 2 : 1],
              rate: median(list.map((x) => x.extra["ceiling-window"].rate)),
              cpuUsPerMessage: median(list.map((x) => x.extra["ceiling-window"].cpuUs)),
              oursOfItMedianOfRounds: median(list.map((x) => x.ours / x.extra["ceiling-window"].rate)),
            },
          }),
      cpuUsPerMessage: {
        ours: median(list.map((x) => x.cpuUs.ours)),
        mqttjs: median(list.map((x) => x.cpuUs.mqttjs)),
        ceiling: median(list.map((x) => x.cpuUs.ceiling)),
      },
      peakRssKb: {
        ours: Math.max(...list.map((x) => x.rssKb.ours)),
        mqttjs: Math.max(...list.map((x) => x.rssKb.mqttjs)),
        ceiling: Math.max(...list.map((x) => x.rssKb.ceiling)),
      },
    };
  }
  return out as Results["throughput"];
}

async function latency(ctx: RunContext, broker: MosquittoBroker): Promise<Results["latency"]> {
  const samples: Record<string, number[]> = {};
  const perRound: Record<string, Array<{ p50: number; p99: number }>> = {};
  const lost: Record<string, number> = {};
  const rss: Record<string, number> = {};
  for (let r = 0; r < ROUNDS; r++) {
    for (const qos of [0, 1, 2] as QoS[]) {
      for (const impl of rotate(LATENCY_IMPLS, r + qos)) {
        const job: Job = {
          kind: "latency",
          impl,
          port: broker.port,
          topic: TOPIC,
          payloadSize: PAYLOAD_SIZE,
          qos,
          count: LATENCY_COUNT,
          warmup: LATENCY_WARMUP,
          rate: LATENCY_RATE,
        };
        const result: JobResult = await runJob(ctx.workerPath, job);
        const key = `${qos}/${impl}`;
        (samples[key] ??= []).push(...result.samples);
        (perRound[key] ??= []).push({ p50: percentile(result.samples, 50), p99: percentile(result.samples, 99) });
        lost[key] = (lost[key] ?? 0) + result.lost;
        rss[key] = Math.max(rss[key] ?? 0, result.maxRssKb);
        log(`latency round ${r + 1} QoS ${qos} ${impl}: p50 ${percentile(result.samples, 50).toFixed(3)} ms, p99 ${percentile(result.samples, 99).toFixed(3)} ms${result.lost ? `, lost ${result.lost}` : ""}`);
      }
    }
  }
  const out: Record<string, any> = {};
  for (const qos of [0, 1, 2] as QoS[]) {
    const entry: Record<string, any> = {};
    for (const impl of LATENCY_IMPLS) {
      const key = `${qos}/${impl}`;
      entry[impl] = {
        p50: percentile(samples[key], 50),
        p99: percentile(samples[key], 99),
        samples: samples[key].length,
        lost: lost[key],
        rounds: perRound[key],
        peakRssKb: rss[key],
      };
    }
    entry.p50VsCeiling = entry.ours.p50 / entry.ceiling.p50;
    entry.p99VsCeiling = entry.ours.p99 / entry.ceiling.p99;
    // Paired per round (the four implementations of a round run within seconds of each other).
    const ours = perRound[`${qos}/ours`];
    const ceiling = perRound[`${qos}/ceiling`];
    entry.p50VsCeilingMedianOfRounds = median(ours.map((x, i) => x.p50 / ceiling[i].p50));
    entry.p99VsCeilingMedianOfRounds = median(ours.map((x, i) => x.p99 / ceiling[i].p99));
    out[`qos${qos}`] = entry;
  }
  return out as Results["latency"];
}

async function bytesOnWire(ctx: RunContext, broker: MosquittoBroker): Promise<Results["bytes"]> {
  const cases: Array<{ name: string; impl: string; version: 4 | 5; alias?: boolean }> = [
    { name: "ours 3.1.1", impl: "ours", version: 4 },
    { name: "ours 5.0 (no alias)", impl: "ours", version: 5, alias: false },
    { name: "ours 5.0 (default: alias)", impl: "ours", version: 5 },
    { name: "MQTT.js 3.1.1", impl: "mqttjs", version: 4 },
    { name: "MQTT.js 5.0", impl: "mqttjs", version: 5 },
    { name: "MQTT.js 5.0 autoAssignTopicAlias", impl: "mqttjs", version: 5, alias: true },
  ];
  const count = 1000;
  const rows: Array<Record<string, any>> = [];
  for (const c of cases) {
    const job: Job = { kind: "bytes", impl: c.impl, port: broker.port, topic: TOPIC, payloadSize: PAYLOAD_SIZE, qos: 1, count, version: c.version };
    if (c.alias !== undefined) job.alias = c.alias;
    const result = await runJob(ctx.workerPath, job);
    const row = {
      name: c.name,
      impl: c.impl,
      version: c.version === 4 ? "3.1.1" : "5.0",
      firstUp: result.first.up,
      firstDown: result.first.down,
      upPerMessage: result.rest.up / count,
      downPerMessage: result.rest.down / count,
      totalPerMessage: (result.rest.up + result.rest.down) / count,
    };
    rows.push(row);
    log(`bytes ${c.name}: first message ${row.firstUp} up + ${row.firstDown} down, then ${row.upPerMessage} up + ${row.downPerMessage} down per message`);
  }
  const ours311 = rows[0].upPerMessage;
  const oursAlias = rows[2].upPerMessage;
  // 3.1.1 minimum: fixed header (1) + Remaining Length (1) + topic length (2) + topic + packet id (2) + payload.
  const minimum311 = 1 + 1 + 2 + TOPIC.length + 2 + PAYLOAD_SIZE;
  return {
    qos: 1,
    messages: count,
    protocolMinimum311: minimum311,
    rows,
    aliasSaving: 1 - oursAlias / ours311,
    aliasSavingVs50: 1 - oursAlias / rows[1].upPerMessage,
  } as Results["bytes"];
}

async function idleRss(ctx: RunContext, broker: MosquittoBroker): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const load of ["none", "ours", "mqttjs"]) {
    const job: Job = { kind: "idle", impl: load, load, port: broker.port, topic: TOPIC, payloadSize: PAYLOAD_SIZE, qos: 0, count: 0 };
    const result = await runJob(ctx.workerPath, job);
    out[load] = result.maxRssKb;
    log(`idle process (${load === "none" ? "empty" : `${load}, one client connected`}): peak RSS ${(result.maxRssKb / 1024).toFixed(1)} MB`);
  }
  return out;
}

function versionOf(root: string, pkg: string): string {
  try {
    return JSON.parse(readFileSync(join(root, "node_modules", pkg, "package.json"), "utf8")).version;
  } catch {
    return "unknown";
  }
}

/** The commit the run measured, and which files under modules/ and hosts/ differed from it (uncommitted work). */
function gitState(root: string): { commit: string; uncommitted: string[] } {
  try {
    const commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    const status = execFileSync("git", ["status", "--porcelain", "--", "modules", "hosts"], { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    const uncommitted = status
      .split("\n")
      .filter((line) => line.trim() !== "")
      .map((line) => line.slice(3));
    return { commit, uncommitted };
  } catch {
    return { commit: "unknown", uncommitted: [] };
  }
}

function mosquittoVersion(binary: string): string {
  try {
    const text = execFileSync(binary, ["-h"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    return /mosquitto version (\S+)/.exec(text)?.[1] ?? "unknown";
  } catch (error: any) {
    const text = `${error?.stdout ?? ""}${error?.stderr ?? ""}`;
    return /mosquitto version (\S+)/.exec(text)?.[1] ?? "unknown";
  }
}

export async function main(ctx: RunContext): Promise<void> {
  const started = performance.now();
  const broker = await startBenchBroker();
  const results: Results = {
    date: new Date().toISOString(),
    environment: {
      node: process.version,
      xs: "XS 13.3 (xsnap-worker from @agoric/xsnap " + versionOf(ctx.root, "@agoric/xsnap") + ")",
      mqttjs: versionOf(ctx.root, "mqtt"),
      mosquitto: mosquittoVersion(process.env.MOSQUITTO ?? "/usr/sbin/mosquitto"),
      cpu: cpus()[0]?.model ?? "unknown",
      cores: cpus().length,
      memoryMb: Math.round(totalmem() / 1048576),
      os: `${platform()} ${release()}`,
      loadAverage: { start: loadavg(), end: [] },
      git: gitState(ctx.root),
    },
    config: {
      topic: TOPIC,
      payloadBytes: PAYLOAD_SIZE,
      rounds: ROUNDS,
      quick: QUICK,
      messages: { qos0: COUNTS[0], qos1: COUNTS[1], qos2: COUNTS[2] },
      oursWindow: OURS_WINDOW,
      ceilingWindow: CEILING_WINDOW,
      latency: { rate: LATENCY_RATE, messagesPerRound: LATENCY_COUNT, warmupPerRound: LATENCY_WARMUP },
      mosquitto: BROKER_SETTINGS.join(", "),
      protocol: "MQTT 3.1.1 unless stated",
    },
  } as Results;
  try {
    if (ONLY.has("rss")) results.rssIdleKb = await idleRss(ctx, broker);
    if (ONLY.has("throughput")) results.throughput = await throughput(ctx, broker);
    if (ONLY.has("latency")) results.latency = await latency(ctx, broker);
    if (ONLY.has("bytes")) results.bytes = await bytesOnWire(ctx, broker);
  } finally {
    await broker.dispose();
  }
  results.environment.loadAverage!.end = loadavg();
  if (results.throughput !== undefined) {
    const peak = (impl: "ours" | "mqttjs" | "ceiling"): number => {
      let kb = Math.max(...(["qos0", "qos1", "qos2"] as const).map((q) => results.throughput![q].peakRssKb[impl]));
      if (results.latency !== undefined) kb = Math.max(kb, ...(["qos0", "qos1", "qos2"] as const).map((q) => results.latency![q][impl].peakRssKb));
      if (impl !== "ceiling" && results.rssIdleKb !== undefined) kb = Math.max(kb, results.rssIdleKb[impl]);
      return kb / 1024;
    };
    results.rss = {
      oursPeakMb: peak("ours"),
      mqttjsPeakMb: peak("mqttjs"),
      ceilingPeakMb: peak("ceiling"),
      emptyNodeMb: (results.rssIdleKb?.none ?? NaN) / 1024,
      method: "process.resourceUsage().maxRSS of the child process that ran the workload; one child per workload and implementation",
    };
  }
  if (ONLY.has("xs")) {
    log("XS meters (xsnap-worker, in-memory transport) ...");
    results.xs = await measureXs(ctx.xsEntryPath, ctx.xsnapWorkerPath);
  }
  if (ONLY.has("micro")) {
    log("client CPU per operation on Node (in-memory socket) ...");
    results.nodeMicro = await measureNodeMicro(ctx.xsEntryPath);
  }
  results.targets = evaluateTargets(results);
  results.durationS = (performance.now() - started) / 1000;
  const text = renderText(results);
  process.stdout.write(text);
  if (process.env.BENCH_NO_WRITE !== "1") {
    writeFileSync(join(ctx.root, "bench", "results.json"), `${JSON.stringify(results, null, 2)}\n`);
    writeFileSync(join(ctx.root, "bench", "RESULTS.md"), renderMarkdown(results));
    log("wrote bench/results.json and bench/RESULTS.md");
  }
}
