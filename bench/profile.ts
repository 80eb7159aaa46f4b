/**
 * `node bench/run.mjs --profile <impl> <qos> [kind]`: runs one benchmark
 * workload (default kind "throughput") under `node --cpu-prof` against a
 * private Mosquitto and prints where the worker's CPU time went: self time
 * per function (mapped back to the TypeScript source through the bundle's
 * source map) and inclusive time of the hot functions of our modules. The
 * raw .cpuprofile stays in .tmp/bench/profiles/ for Chrome DevTools.
 *
 * Node-only.
 */
import { mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { SourceMap } from "node:module";
import { join, relative } from "node:path";
import { startBenchBroker } from "./broker";
import { RawConnection } from "./raw-mqtt";
import { runJob } from "./spawn-job";
import type { Job } from "./node-worker";
import type { QoS } from "../modules/mqtt/codec/packets";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  hitCount: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Per-function self and inclusive time (ms) of a .cpuprofile, keyed by "name (file:line)". */
export function summarize(profile: CpuProfile, map: SourceMap | undefined, root: string): { self: Map<string, number>; total: Map<string, number>; wallMs: number } {
  const byId = new Map<number, ProfileNode>();
  for (const node of profile.nodes) byId.set(node.id, node);
  // Time per sample: the delta that follows it (the V8 convention).
  const selfById = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = (profile.timeDeltas[i + 1] ?? 0) / 1000;
    selfById.set(profile.samples[i], (selfById.get(profile.samples[i]) ?? 0) + dt);
  }
  const label = (node: ProfileNode): string => {
    const f = node.callFrame;
    const name = f.functionName || "(anonymous)";
    if (f.url === "") return name;
    if (map !== undefined && f.url.endsWith(".mjs")) {
      const entry = map.findEntry(f.lineNumber, f.columnNumber) as { originalSource?: string; originalLine?: number };
      if (entry?.originalSource) return `${name} (${relative(root, entry.originalSource.replace(/^file:\/\//, ""))}:${(entry.originalLine ?? 0) + 1})`;
    }
    const file = f.url.replace(/^file:\/\//, "");
    return `${name} (${file.includes("node_modules") ? file.slice(file.indexOf("node_modules")) : relative(root, file)}:${f.lineNumber + 1})`;
  };
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  const inclusive = (node: ProfileNode, stack: Set<string>): number => {
    let t = selfById.get(node.id) ?? 0;
    const key = label(node);
    self.set(key, (self.get(key) ?? 0) + t);
    const fresh = !stack.has(key);
    if (fresh) stack.add(key);
    for (const child of node.children ?? []) t += inclusive(byId.get(child)!, stack);
    if (fresh) {
      stack.delete(key);
      total.set(key, (total.get(key) ?? 0) + t);
    }
    return t;
  };
  inclusive(profile.nodes[0], new Set());
  return { self, total, wallMs: (profile.endTime - profile.startTime) / 1000 };
}

function top(map: Map<string, number>, n: number, filter: (key: string) => boolean = () => true): Array<[string, number]> {
  return [...map.entries()].filter(([key]) => filter(key)).sort((a, b) => b[1] - a[1]).slice(0, n);
}

export async function profile(ctx: { root: string; workerPath: string }, impl: string, qos: QoS, kind: "throughput" | "latency" = "throughput"): Promise<void> {
  const dir = join(ctx.root, ".tmp", "bench", "profiles");
  mkdirSync(dir, { recursive: true });
  const before = new Set(readdirSync(dir));
  const broker = await startBenchBroker();
  const topic = "bench/site-01/node-0042/temperature";
  const count = kind === "latency" ? 1000 : ({ 0: 50000, 1: 20000, 2: 10000 } as const)[qos];
  const job: Job = { kind, impl, port: broker.port, topic, payloadSize: 32, qos, count, window: impl === "ceiling" ? 1000 : 64, rate: 500, warmup: 100 };
  try {
    let hook;
    let sub: RawConnection | undefined;
    if (kind === "throughput" && qos === 0) {
      sub = await RawConnection.open({ port: broker.port, clientId: `prof-sub-${process.pid}` });
      let n = 0;
      let done: (at: number) => void = () => {};
      sub.onPacket = (first) => {
        if (first >> 4 === 3 && ++n === count) done(performance.timeOrigin + performance.now());
      };
      await sub.subscribe(topic, 0);
      hook = { arm: () => new Promise<number>((resolve) => ((n = 0), (done = resolve))) };
    }
    const result = await runJob(ctx.workerPath, job, hook, ["--cpu-prof", `--cpu-prof-dir=${dir}`]);
    await sub?.close();
    const elapsed = result.endAt !== undefined ? result.endAt - result.startedAt! : result.elapsedMs;
    process.stdout.write(`${kind} ${impl} QoS ${qos}: ${count} messages, ${elapsed?.toFixed(0)} ms in the measured part\n`);
  } finally {
    await broker.dispose();
  }
  const fresh = readdirSync(dir).filter((f) => f.endsWith(".cpuprofile") && !before.has(f));
  fresh.sort((a, b) => statSync(join(dir, b)).mtimeMs - statSync(join(dir, a)).mtimeMs);
  if (fresh.length === 0) throw new Error("no .cpuprofile written");
  const file = join(dir, fresh[0]);
  const data = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  let map: SourceMap | undefined;
  try {
    map = new SourceMap(JSON.parse(readFileSync(`${ctx.workerPath}.map`, "utf8")));
  } catch {
    map = undefined;
  }
  const { self, total, wallMs } = summarize(data, map, ctx.root);
  const busy = [...self.entries()].filter(([k]) => k !== "(idle)").reduce((a, [, v]) => a + v, 0);
  const out: string[] = [`profile: ${relative(ctx.root, file)} (${wallMs.toFixed(0)} ms recorded, ${busy.toFixed(0)} ms not idle)`, "", "self time, top 30:"];
  for (const [key, ms] of top(self, 30)) out.push(`  ${ms.toFixed(1).padStart(8)} ms  ${((ms / busy) * 100).toFixed(1).padStart(5)}%  ${key}`);
  out.push("", "inclusive time of our modules (modules/, hosts/), top 30:");
  for (const [key, ms] of top(total, 30, (k) => k.includes("modules/") || k.includes("hosts/"))) {
    out.push(`  ${ms.toFixed(1).padStart(8)} ms  ${((ms / busy) * 100).toFixed(1).padStart(5)}%  ${key}`);
  }
  process.stdout.write(`${out.join("\n")}\n`);
}
