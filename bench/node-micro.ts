/**
 * The client's own CPU cost per operation on Node (V8), without sockets:
 * the XS entry (bench/xs-entry.ts: core Client and compatible API over an
 * in-memory socket) evaluated in this process's own realm (a separate
 * `node:vm` context would slow every access to a built-in global), each step
 * timed over 100,000 calls after 20,000 warm-up calls, five times; the
 * median of the five CPU times (user + system) per call is reported.
 *
 * Set against the throughput jobs' CPU per message, it shows how much of a
 * message's cost on Node is the client and how much is the socket path.
 *
 * Node-only.
 */
import { readFile } from "node:fs/promises";
import vm from "node:vm";

/** Nanoseconds of CPU per call, by step. */
export type NodeMicroFigures = Record<string, { nsPerCall: number; runs: number[] }>;

const STEPS: Array<[string, string, string]> = [
  ["qos0Publish", "connected", "qos0Publish"],
  ["qos1PublishAck", "connected", "qos1PublishAck"],
  ["rxQos0", "connected", "rxQos0"],
  ["compatQos0Publish", "compat", "compatQos0Publish"],
  ["compatQos1PublishAck", "compat", "compatQos1PublishAck"],
  ["compatRxQos0", "compat", "compatRxQos0"],
];

const WARMUP = 20_000;
const CALLS = 100_000;
const RUNS = 5;

export async function measureNodeMicro(entryPath: string): Promise<NodeMicroFigures> {
  const code = await readFile(entryPath, "utf8");
  const global = globalThis as { __bench?: { setup(kind: string): void; loop(name: string, n: number): void } };
  vm.runInThisContext(code, { filename: entryPath });
  const bench = global.__bench!;
  delete global.__bench;
  const out: NodeMicroFigures = {};
  for (const [name, setup, step] of STEPS) {
    const runs: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      bench.setup(setup);
      bench.loop(step, WARMUP);
      const before = process.cpuUsage();
      bench.loop(step, CALLS);
      const used = process.cpuUsage(before);
      runs.push(((used.user + used.system) * 1000) / CALLS);
    }
    const sorted = [...runs].sort((a, b) => a - b);
    out[name] = { nsPerCall: sorted[Math.floor(RUNS / 2)], runs };
  }
  return out;
}
