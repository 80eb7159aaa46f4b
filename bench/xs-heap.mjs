#!/usr/bin/env node
// xs-heap: what one object costs in the XS engine, measured, not guessed.
//
// Usage:
//   node bench/xs-heap.mjs <entry.ts> [--runs N] [--json]
//
// <entry.ts> is a small module bundled for XS (esbuild, IIFE, ES2022) that
// defines one or both of:
//
//   globalThis.measure = () => new Outbox({ capacity: 4096 });  // constructs one object
//   globalThis.step = () => session.receive(bytes, 0);          // one repetition of a hot operation
//
// for example (TypeScript):
//
//   import { Outbox } from "../modules/mqtt/outbox";
//   (globalThis as any).measure = () => new Outbox({ capacity: 4096 });
//
// Everything at module level (imports, fixtures) is evaluated first and is
// part of the baseline, so only what `measure()` allocates and returns is
// counted. The tool runs the bundle in a fresh xsnap-worker (XS 13.3 from
// @agoric/xsnap, default creation settings) and prints:
//
// - heap slots live after a gc(), before and after `measure()` (its result
//   is kept alive), and the difference: the slots the object holds;
// - ArrayBuffer bytes and Array elements reachable from the result (own
//   properties, arrays, typed arrays, Maps, Sets): XS keeps ArrayBuffer data
//   and the element storage of Arrays (one slot size per element) in
//   "chunks", which the worker's meters do not report, so the tool finds them
//   by walking the object; each chunk also costs a header (8 bytes on 32-bit,
//   16 on 64-bit) and rounding to the word size (xsMemory.c
//   fxAdjustChunkSize). Strings are chunks too and are not counted. A 32-bit
//   total is estimated from all of that.
// - with `step`: XS compute steps per call (the worker's deterministic
//   `compute` meter, loop overhead subtracted; stable run to run) and heap
//   slots allocated per call (live or garbage, over --runs calls after a gc).
//
// One XS slot is 16 bytes on 32-bit targets (ESP32, ESP8266) and 32 bytes on
// 64-bit hosts (xsAll.h: txSlot = next pointer + kind/flag/ID + txValue, a
// union of two pointers). Slot counts are the same on both, so state RAM in
// module READMEs as "N slots (N*16 bytes on ESP32) + M ArrayBuffer bytes".

import { readFile } from "node:fs/promises";
import { mkdirSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import * as esbuild from "esbuild";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const OUT = join(ROOT, ".tmp", "bench", `xs-heap-${process.pid}`);
const SLOT_BYTES_32 = 16;
const SLOT_BYTES_64 = 32;

function parseArgs(argv) {
  const options = { entry: null, runs: 1000, json: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--runs") options.runs = Number(argv[++i]);
    else if (arg === "--json") options.json = true;
    else if (arg === "-h" || arg === "--help") options.entry = null;
    else if (!options.entry) options.entry = arg;
    else throw new Error(`unexpected argument ${arg}`);
  }
  if (!options.entry || !(options.runs > 0)) {
    process.stdout.write("usage: node bench/xs-heap.mjs <entry.ts> [--runs N] [--json]\n");
    process.exit(2);
  }
  return options;
}

async function build(entry, outfile, platform) {
  await esbuild.build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform,
    ...(platform === "node"
      ? { format: "esm", target: "node20", packages: "external" }
      : { format: "iife", target: "es2022", mainFields: ["module", "main"] }),
    absWorkingDir: ROOT,
    logLevel: "warning",
  });
}

// Runs inside XS before the entry. Each request to the worker leaves about
// one slot behind, so counts are only compared between workers that ran the
// same sequence of requests (differing only in data such as `count`).
const HARNESS = `
globalThis.__heap = {
  keep: [undefined, undefined],
  empty() {},
  build(count) { for (let i = 0; i < count; i++) this.keep[i] = globalThis.measure(); gc(); },
  loop(fn, n) { for (let i = 0; i < n; i++) fn(); },
  bytes(root) {
    const seen = new Set();
    const buffers = new Set();
    let arrays = 0;
    let elements = 0;
    const visit = (value, depth) => {
      if (value === null || (typeof value !== "object" && typeof value !== "function") || seen.has(value) || depth > 64) return;
      seen.add(value);
      if (value instanceof ArrayBuffer) { buffers.add(value); return; }
      if (ArrayBuffer.isView(value)) { buffers.add(value.buffer); return; }
      if (Array.isArray(value)) { arrays++; elements += value.length; }
      if (value instanceof Map) for (const [k, v] of value) { visit(k, depth + 1); visit(v, depth + 1); }
      if (value instanceof Set) for (const v of value) visit(v, depth + 1);
      for (const key of Reflect.ownKeys(value)) {
        const d = Object.getOwnPropertyDescriptor(value, key);
        if (d && "value" in d) visit(d.value, depth + 1);
      }
    };
    visit(root, 0);
    let total = 0;
    for (const b of buffers) total += b.byteLength;
    return { buffers: buffers.size, bytes: total, arrays, elements };
  },
  out(value) { return new TextEncoder().encode(JSON.stringify(value)).buffer; },
};
`;

// xsnap-worker.c creation settings: initialHeapCount 256 K slots. A loop that
// stays below it cannot have triggered a collection.
const INITIAL_HEAP_COUNT = 256 * 1024;

async function main() {
  const options = parseArgs(process.argv.slice(2));
  mkdirSync(OUT, { recursive: true });
  try {
    await build(join(ROOT, "hosts", "xsnap", "xsnap-worker.ts"), join(OUT, "xsnap-worker.mjs"), "node");
    const { XsnapWorker } = await import(pathToFileURL(join(OUT, "xsnap-worker.mjs")).href);
    const bundlePath = join(OUT, "entry.js");
    await build(resolve(options.entry), bundlePath, "neutral");
    const bundle = await readFile(bundlePath, "utf8");

    const printed = [];
    const decoder = new TextDecoder();
    const spawnWorker = async () => {
      const worker = new XsnapWorker({ onStdout: (text) => printed.push(text) });
      await worker.evaluate(HARNESS);
      await worker.evaluate(bundle);
      return worker;
    };
    const ask = async (worker, code) => JSON.parse(decoder.decode((await worker.evaluate(code)).result));
    const heapAfter = async (worker, code) => (await worker.evaluate(code)).meters.currentHeapCount;
    const workers = [];
    try {
      const probe = await spawnWorker();
      workers.push(probe);
      const has = await ask(probe, "__heap.out({ measure: typeof globalThis.measure, step: typeof globalThis.step })");
      if (has.measure !== "function" && has.step !== "function") {
        throw new Error("the entry defines neither globalThis.measure nor globalThis.step");
      }
      const report = { entry: options.entry, slotBytes: { "32-bit": SLOT_BYTES_32, "64-bit": SLOT_BYTES_64 } };

      if (has.measure === "function") {
        // Three fresh machines run the same requests and keep 0, 1 and 2 instances.
        const counts = [];
        let reach = null;
        for (const count of [0, 1, 2]) {
          const worker = await spawnWorker();
          workers.push(worker);
          await worker.evaluate(`__heap.build(${count});`);
          counts.push(await heapAfter(worker, "gc();"));
          if (count === 1) reach = await ask(worker, "__heap.out(__heap.bytes(__heap.keep[0]))");
        }
        const perInstance = counts[2] - counts[1];
        const firstTime = counts[1] - counts[0] - perInstance;
        report.measure = {
          heapSlots: { keep0: counts[0], keep1: counts[1], keep2: counts[2] },
          slots: perInstance,
          firstTimeSlots: firstTime,
          bytes32: perInstance * SLOT_BYTES_32,
          bytes64: perInstance * SLOT_BYTES_64,
          arrayBuffers: reach.buffers,
          arrayBufferBytes: reach.bytes,
          arrays: reach.arrays,
          arrayElements: reach.elements,
        };
        // 32-bit estimate: slots, ArrayBuffer data rounded to 4 bytes plus an 8-byte chunk header each,
        // array elements (one slot each, in a chunk with a header).
        const roundedBuffers = reach.buffers * 8 + Math.ceil(reach.bytes / 4) * 4;
        report.measure.totalBytes32 =
          perInstance * SLOT_BYTES_32 + roundedBuffers + reach.elements * SLOT_BYTES_32 + reach.arrays * 8;
      }

      if (has.step === "function") {
        const runs = options.runs;
        const worker = probe;
        await worker.evaluate("globalThis.step(); gc();"); // warm-up: lazy initialisation is not per call
        const loopEmpty = `__heap.loop(__heap.empty, ${runs});`;
        const loopStep = `__heap.loop(globalThis.step, ${runs});`;
        const emptyBase = await heapAfter(worker, "gc();");
        const empty = (await worker.evaluate(loopEmpty)).meters;
        const stepBase = await heapAfter(worker, "gc();");
        const full = (await worker.evaluate(loopStep)).meters;
        const repeat = (await worker.evaluate(loopStep)).meters;
        const grown = full.currentHeapCount - stepBase - (empty.currentHeapCount - emptyBase);
        const collected = full.currentHeapCount < stepBase || full.currentHeapCount >= INITIAL_HEAP_COUNT;
        report.step = {
          runs,
          computePerCall: (full.compute - empty.compute) / runs,
          deterministic: full.compute === repeat.compute,
          slotsAllocatedPerCall: collected ? null : grown / runs,
        };
      }

      if (options.json) {
        process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      } else {
        process.stdout.write(`entry: ${options.entry} (XS 13.3 in xsnap-worker, default creation settings)\n`);
        if (report.measure) {
          const m = report.measure;
          process.stdout.write(
            `heap slots after gc with 0, 1, 2 instances kept: ${m.heapSlots.keep0}, ${m.heapSlots.keep1}, ${m.heapSlots.keep2}\n` +
              `measure(): ${m.slots} slots per instance = ${m.bytes32} bytes on 32-bit (ESP32/ESP8266), ${m.bytes64} bytes on 64-bit\n` +
              `  + ${m.arrayBufferBytes} ArrayBuffer bytes in ${m.arrayBuffers} chunk(s) (not in the slot count)\n` +
              `  + ${m.arrayElements} array elements in ${m.arrays} array chunk(s), one slot size each (not in the slot count)\n` +
              `  = about ${m.totalBytes32} bytes on 32-bit, strings not counted\n` +
              `first construction only: ${m.firstTimeSlots} more slots (state shared by all instances)\n`,
          );
        }
        if (report.step) {
          const s = report.step;
          process.stdout.write(
            `step(): ${s.computePerCall} compute per call over ${s.runs} calls` +
              `${s.deterministic ? "" : " (NOT deterministic between two runs)"}; ` +
              `${s.slotsAllocatedPerCall === null ? "a gc ran during the loop, slots per call unknown (try fewer --runs)" : `${s.slotsAllocatedPerCall} heap slots allocated per call`}\n`,
          );
        }
      }
      if (printed.length) process.stderr.write(`(print output from XS)\n${printed.join("")}`);
    } finally {
      await Promise.all(workers.map((worker) => worker.close()));
    }
  } finally {
    rmSync(OUT, { recursive: true, force: true });
  }
}

main().catch((error) => {
  process.stderr.write(`xs-heap: ${error?.stack ?? error}\n`);
  process.exitCode = 1;
});
