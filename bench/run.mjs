#!/usr/bin/env node
// `npm run bench`: bundles the benchmark (bench/main.ts and the worker it
// forks for every workload, bench/node-worker.ts, for Node; bench/xs-entry.ts
// for the XS engine) with esbuild into .tmp/bench/run-<pid>/ and runs it.
// See bench/README.md. Not part of `npm test`.
//
// `node bench/run.mjs --profile <impl> <qos> [throughput|latency]` instead runs
// one workload under `node --cpu-prof` and prints where its time went
// (bench/profile.ts); impl: ours, ours-nopkt, mqttjs, mqttjs-window, ceiling.
//
// Environment: BENCH_ROUNDS, BENCH_QUICK=1, BENCH_ONLY=rss,throughput,latency,bytes,xs,
// BENCH_NO_WRITE=1, BENCH_EXTRA_IMPLS=ours-nopkt,ours-wide,mqttjs-window (diagnostics),
// BENCH_CEILING_WINDOW, BENCH_KEEP=1 (keep the bundles), MOSQUITTO=/path/to/mosquitto.

import { mkdirSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import * as esbuild from "esbuild";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const OUT = join(ROOT, ".tmp", "bench", `run-${process.pid}`);

async function bundle(entry, outfile, platform) {
  await esbuild.build({
    entryPoints: [join(ROOT, entry)],
    outfile,
    bundle: true,
    platform,
    ...(platform === "node"
      ? { format: "esm", target: "node20", packages: "external", sourcemap: true }
      : { format: "iife", target: "es2022", mainFields: ["module", "main"] }),
    absWorkingDir: ROOT,
    logLevel: "warning",
  });
}

async function run() {
  mkdirSync(OUT, { recursive: true });
  try {
    const ctx = {
      root: ROOT,
      workerPath: join(OUT, "node-worker.mjs"),
      xsEntryPath: join(OUT, "xs-entry.js"),
      xsnapWorkerPath: join(OUT, "xsnap-worker.mjs"),
    };
    const args = process.argv.slice(2);
    if (args[0] === "--profile") {
      await Promise.all([bundle("bench/profile.ts", join(OUT, "profile.mjs"), "node"), bundle("bench/node-worker.ts", ctx.workerPath, "node")]);
      const { profile } = await import(pathToFileURL(join(OUT, "profile.mjs")).href);
      await profile(ctx, args[1] ?? "ours", Number(args[2] ?? 1), args[3] ?? "throughput");
      return;
    }
    if (args.length > 0) throw new Error(`unknown arguments: ${args.join(" ")} (see the header of bench/run.mjs)`);
    await Promise.all([
      bundle("bench/main.ts", join(OUT, "main.mjs"), "node"),
      bundle("bench/node-worker.ts", ctx.workerPath, "node"),
      bundle("bench/xs-entry.ts", ctx.xsEntryPath, "neutral"),
      bundle("hosts/xsnap/xsnap-worker.ts", ctx.xsnapWorkerPath, "node"),
    ]);
    const { main } = await import(pathToFileURL(join(OUT, "main.mjs")).href);
    await main(ctx);
  } finally {
    if (process.env.BENCH_KEEP !== "1") rmSync(OUT, { recursive: true, force: true });
  }
}

run().catch((error) => {
  process.stderr.write(`bench: ${error?.stack ?? error}\n`);
  process.exitCode = 1;
});
