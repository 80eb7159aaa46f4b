#!/usr/bin/env node
// mqtt-xs test runner.
//
//   node test/run.mjs                 every tier in order (npm test); checks for mosquitto first
//   node test/run.mjs <tier> [match…] one tier; optional substrings select test files by name
//   node test/run.mjs --list          list the tiers
//
// Environment:
//   TEST_VERBOSE=1       print every assertion (full TAP for Node, all XS results)
//   TEST_KEEP=1          keep the bundles in .tmp/test/run-<pid>/ after the run
//   TEST_TIMEOUT_S=N     wall-clock limit per Node test file and for the whole XS run (default 300)
//   FUZZ_SECONDS=N       total time budget of the fuzz tier, split across files (default 20)
//   FUZZ_SEED=0x…        passed through to fuzz files
//
// Output: one line per file, the details of every failure, a count line per
// tier ("<tier>: N files, N passed, N failed (T s)") and, last, a line of its
// own: "N passed, N failed" summed over the tiers (a tier error counts as one
// failure). Exit status 0 only when nothing failed and no tier errored.
//
// Counts are assertions (tape's "# pass"/"# fail"), except in the fuzz tier,
// where each file reports its own counts.
//
// Adding a tier: append an entry to TIERS below: { name, description, needs,
// run(ctx) } where run resolves to { files, passed, failed, errors: string[] }
// and prints its own per-file lines with ctx.log. ctx also has out (a
// scratch directory for the tier), match (file-name filters from the command
// line), verbose, and mosquitto (path of the broker binary, or null).
// `needs: ["mosquitto"]` makes a single-tier run of it check for mosquitto.
//
// Fuzz convention (tier "fuzz"): every test/fuzz/*.ts file (shared code goes
// in subfolders) is one fuzz target. It is bundled for Node and run as a
// child process with env FUZZ_SECONDS (its share of the budget, a number of
// seconds it must stay within) and FUZZ_SEED when given. It must exit 0 only
// if it found nothing, print the seed it used so a failure can be replayed,
// and print as its last count line "N passed, N failed" (e.g. cases run).

import { spawn } from "node:child_process";
import { existsSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import { SourceMap } from "node:module";
import { availableParallelism } from "node:os";
import { basename, delimiter, dirname, join, relative, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import * as esbuild from "esbuild";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const UNIT_DIR = join(ROOT, "test", "unit");
const FUZZ_DIR = join(ROOT, "test", "fuzz");
const INTEROP_DIR = join(ROOT, "test", "interop");
const SHIM = join(ROOT, "test", "xs", "tape-shim.ts");
const XS_ENTRY = join(ROOT, "test", "xs", "xsnap-entry.ts");
const OUT = join(ROOT, ".tmp", "test", `run-${process.pid}`);
const VERBOSE = process.env.TEST_VERBOSE === "1";
const TIMEOUT_MS = Number(process.env.TEST_TIMEOUT_S ?? 300) * 1000;
const INSTALL_MOSQUITTO = "sudo apt-get update && sudo apt-get install -y mosquitto mosquitto-clients";

/** The tiers, in the order a full run executes them. */
const TIERS = [
  {
    name: "selftest",
    description: "the runner itself: fixtures in test/xs/fixtures/ must give the counts they declare",
    needs: [],
    run: runSelftestTier,
  },
  {
    name: "types",
    description: "tsc strict: tsconfig.json (Node, tests, hosts) and tsconfig.moddable.json (Moddable-facing code against @moddable/typings)",
    needs: [],
    run: runTypesTier,
  },
  {
    name: "node",
    description: "test/unit/*.test.ts (incl. *.node.test.ts), bundled with esbuild, run with tape on Node",
    needs: [],
    run: runNodeTier,
  },
  {
    name: "xs",
    description: "test/unit/*.test.ts except *.node.test.ts, one bundle run inside the XS engine (xsnap-worker)",
    needs: [],
    run: runXsTier,
  },
  {
    name: "interop",
    description: "test/interop/*.test.ts: real brokers (Mosquitto, aedes) on 127.0.0.1, clients on Node and inside XS",
    needs: ["mosquitto"],
    run: (ctx) => runNodeTier({ ...ctx, files: ctx.files ?? listFiles(INTEROP_DIR, (name) => name.endsWith(".test.ts"), ctx.match) }),
  },
  {
    name: "native",
    description: "hosts/native: C framing + lwIP transport against Debian's real lwIP and POSIX sockets (plain and ASan/UBSan), Xtensa compile check",
    needs: ["native"],
    run: runNativeTier,
  },
  {
    name: "fuzz",
    description: "test/fuzz/*.ts, each a time-bounded Node child process (FUZZ_SECONDS split across files)",
    needs: [],
    run: runFuzzTier,
  },
];

// ------------------------------------------------------------------ main

let stdoutClosed = false;
process.stdout.on("error", (error) => {
  // A closed pipe (e.g. `| head`) only stops the output; the run and its exit status go on.
  if (error.code === "EPIPE") stdoutClosed = true;
  else throw error;
});

function log(line = "") {
  if (!stdoutClosed) process.stdout.write(`${line}\n`);
}

function usage() {
  log("usage: node test/run.mjs [--list] [<tier> [file-substring...]]");
  log(`tiers: ${TIERS.map((tier) => tier.name).join(", ")}`);
}

async function main(argv) {
  if (argv.includes("--help") || argv.includes("-h")) {
    usage();
    return 0;
  }
  if (argv.includes("--list")) {
    for (const tier of TIERS) log(`${tier.name.padEnd(8)} ${tier.description}`);
    return 0;
  }
  let tiers = TIERS;
  let match = [];
  if (argv.length > 0) {
    const tier = TIERS.find((candidate) => candidate.name === argv[0]);
    if (!tier) {
      log(`unknown tier ${JSON.stringify(argv[0])}`);
      usage();
      return 2;
    }
    tiers = [tier];
    match = argv.slice(1);
  }
  const full = argv.length === 0;
  const needs = new Set(full ? ["mosquitto", "native"] : tiers.flatMap((tier) => tier.needs));
  const mosquitto = findMosquitto();
  if (needs.has("native") && !nativeToolsPresent()) {
    log("ERROR: the native C tier needs Debian's lwIP and the Xtensa cross compiler. Install them with:");
    log(`  ${INSTALL_NATIVE}`);
    return 1;
  }
  if (needs.has("mosquitto")) {
    if (!mosquitto) {
      log("ERROR: mosquitto is not installed (looked on PATH and at /usr/sbin/mosquitto).");
      log("The interop tiers run the Mosquitto broker. Install it with:");
      log(`  ${INSTALL_MOSQUITTO}`);
      log("Single tiers that do not need it can still run: node test/run.mjs node|xs|fuzz");
      return 1;
    }
  }

  await mkdir(OUT, { recursive: true });
  let passed = 0;
  let failed = 0;
  let errored = false;
  try {
    for (const tier of tiers) {
      log(`== ${tier.name}: ${tier.description}`);
      const started = Date.now();
      let result;
      try {
        result = await tier.run({ log, out: join(OUT, tier.name), match, verbose: VERBOSE, mosquitto });
      } catch (error) {
        result = { files: 0, passed: 0, failed: 0, errors: [`tier crashed: ${error?.stack ?? error}`] };
      }
      for (const error of result.errors) log(`  ERROR ${indent(error, "        ").trimStart()}`);
      if (result.errors.length > 0) errored = true;
      passed += result.passed;
      failed += result.failed + result.errors.length;
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      const errors = result.errors.length ? `, ${result.errors.length} tier error(s)` : "";
      log(`${tier.name}: ${result.files} files, ${result.passed} passed, ${result.failed} failed${errors} (${seconds} s)`);
      log();
    }
  } finally {
    if (process.env.TEST_KEEP !== "1") rmSync(OUT, { recursive: true, force: true });
  }
  log(`${passed} passed, ${failed} failed`);
  return failed > 0 || errored ? 1 : 0;
}

/** Path of the mosquitto binary, or null. */
function findMosquitto() {
  const dirs = (process.env.PATH ?? "").split(delimiter).filter(Boolean);
  for (const dir of [...dirs, "/usr/sbin", "/usr/local/sbin"]) {
    const path = join(dir, "mosquitto");
    try {
      if (statSync(path).isFile()) return path;
    } catch {
      // not in this directory
    }
  }
  return null;
}

// ------------------------------------------------------------ helpers

function listFiles(dir, accept, match) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => accept(name) && statSync(join(dir, name)).isFile())
    .filter((name) => match.length === 0 || match.some((part) => name.includes(part)))
    .sort()
    .map((name) => join(dir, name));
}

function seconds(ms) {
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

function rel(path) {
  return relative(ROOT, path);
}

function indent(text, prefix) {
  return String(text)
    .split("\n")
    .map((line) => prefix + line)
    .join("\n");
}

function formatBuildErrors(errors) {
  return errors
    .map((error) => {
      const at = error.location ? `${error.location.file}:${error.location.line}:${error.location.column}: ` : "";
      return `${at}${error.text}`;
    })
    .join("\n");
}

/** Runs a child process; resolves to { code, signal, stdout, stderr, timedOut }. */
function runChild(command, args, { env = {}, timeoutMs = TIMEOUT_MS } = {}) {
  return new Promise((resolveRun) => {
    const child = spawn(command, args, {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    child.stdout.setEncoding("utf8").on("data", (text) => (stdout += text));
    child.stderr.setEncoding("utf8").on("data", (text) => (stderr += text));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolveRun({ code, signal, stdout, stderr, timedOut });
    });
  });
}

/** Maps over items with at most `limit` promises in flight; results keep the input order. */
async function mapLimit(items, limit, fn) {
  const results = new Array(items.length);
  let next = 0;
  async function lane() {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index], index);
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return results;
}

async function buildForNode(entry, outfile) {
  await esbuild.build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    packages: "external",
    sourcemap: "linked",
    absWorkingDir: ROOT,
    logLevel: "silent",
  });
}

/** Bundles a TypeScript module for Node into the run directory and imports it. */
async function importTs(path) {
  const outfile = join(OUT, "lib", `${basename(path, ".ts")}.mjs`);
  await buildForNode(path, outfile);
  return import(pathToFileURL(outfile).href);
}

const FORBIDDEN = /\b(?:test|t)\s*\.\s*(skip|only|todo|plan|timeoutAfter|teardown)\b|\{\s*(?:skip|todo)\s*:/;

/** Rejects tape features the project does not allow (they would not run on XS either). */
function lintTestFile(file) {
  const lines = readFileSync(file, "utf8").split("\n");
  for (let i = 0; i < lines.length; i++) {
    const hit = FORBIDDEN.exec(lines[i]);
    if (hit) return `${rel(file)}:${i + 1}: tape feature not allowed here (${hit[0].trim()}); see HELPERS "Tests"`;
  }
  return null;
}

// ----------------------------------------------------------- tier: types

/** Each TypeScript project must type-check with no error; one "test" per project. */
async function runTypesTier(ctx) {
  const projects = ["tsconfig.json", "tsconfig.moddable.json"];
  const result = { files: projects.length, passed: 0, failed: 0, errors: [] };
  const tsc = join(ROOT, "node_modules", "typescript", "bin", "tsc");
  for (const project of projects) {
    const run = await runChild(process.execPath, [tsc, "-p", project, "--noEmit"]);
    const errors = run.stdout.split("\n").filter((line) => /error TS\d+/.test(line));
    if (run.code === 0 && errors.length === 0) {
      result.passed++;
      ctx.log(`  ok   ${project}`);
    } else {
      result.failed++;
      ctx.log(`  FAIL ${project}: ${errors.length} error(s)`);
      ctx.log(indent((run.stdout + run.stderr).trimEnd().split("\n").slice(0, 60).join("\n"), "       "));
    }
  }
  return result;
}

// ---------------------------------------------------------- tier: native

const INSTALL_NATIVE = "sudo apt-get update && sudo apt-get install -y liblwip-dev gcc-xtensa-lx106 picolibc-xtensa-lx106-elf pkg-config";

/** True when the lwIP headers and the Xtensa compiler the native tier needs are installed. */
function nativeToolsPresent() {
  return existsSync("/usr/include/lwip/lwip/tcp.h") && existsSync("/usr/bin/xtensa-lx106-elf-gcc") && existsSync("/usr/lib/xtensa-lx106-elf/picolibc.specs");
}

/** Runs hosts/native/run-tests.sh; its last line is "N passed, N failed". */
async function runNativeTier(ctx) {
  const result = { files: 1, passed: 0, failed: 0, errors: [] };
  const run = await runChild("bash", [join(ROOT, "hosts", "native", "run-tests.sh")]);
  const lines = run.stdout.trimEnd().split("\n");
  for (const line of lines) if (/^\S.*: \d+ passed, \d+ failed/.test(line) || /FAIL/.test(line)) ctx.log(`  ${line}`);
  const last = /^(\d+) passed, (\d+) failed$/.exec(lines[lines.length - 1] ?? "");
  if (last) {
    result.passed = Number(last[1]);
    result.failed = Number(last[2]);
  }
  if (run.timedOut) result.errors.push(`timed out after ${TIMEOUT_MS / 1000} s`);
  else if (!last) result.errors.push(`no "N passed, N failed" line (exit ${run.code ?? run.signal})`);
  else if (run.code !== 0 && result.failed === 0) result.errors.push(`exited with ${run.code ?? run.signal} although no test failed`);
  if (result.errors.length || result.failed) {
    ctx.log(indent(run.stdout.trimEnd().split("\n").slice(-60).join("\n"), "       "));
    if (run.stderr.trim()) ctx.log(indent(`stderr:\n${run.stderr.trimEnd().split("\n").slice(-40).join("\n")}`, "       "));
  }
  return result;
}

// ------------------------------------------------------------ tier: node

/** Counts a tape TAP stream; returns failing blocks with the test they belong to. */
function parseTap(text) {
  const lines = text.split("\n");
  let passed = 0;
  let failed = 0;
  let plan = null;
  let test = "";
  const failures = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (/^ok \d+/.test(line)) passed++;
    else if (/^not ok \d+/.test(line)) {
      failed++;
      const block = [line];
      if (lines[i + 1] === "  ---") {
        while (++i < lines.length) {
          block.push(lines[i]);
          if (lines[i] === "  ...") break;
        }
      }
      failures.push({ test, block: block.join("\n") });
    } else if (/^1\.\.\d+$/.test(line)) plan = Number(line.slice(3));
    else if (/^# /.test(line) && !/^# (tests|pass|fail|ok)\b/.test(line)) test = line.slice(2);
  }
  return { passed, failed, plan, failures };
}

/** Drops tape's and Node's own frames from the stack of a TAP failure block. */
function trimTapStack(block) {
  return block
    .split("\n")
    .filter((line) => !/^\s+at .*(node_modules[\\/]tape[\\/]|\(node:|node:internal)/.test(line))
    .join("\n");
}

async function runNodeTier(ctx) {
  const files = ctx.files ?? listFiles(UNIT_DIR, (name) => name.endsWith(".test.ts"), ctx.match);
  const result = { files: files.length, passed: 0, failed: 0, errors: [], perFile: new Map() };
  if (files.length === 0) {
    if (ctx.match.length) result.errors.push(`no test file matches ${ctx.match.join(" ")}`);
    return result;
  }
  const outcomes = await mapLimit(files, Math.max(2, availableParallelism()), async (file) => {
    const name = basename(file);
    const lint = lintTestFile(file);
    if (lint) return { name, passed: 0, failed: 1, details: [lint] };
    const outfile = join(ctx.out, name.replace(/\.ts$/, ".mjs"));
    try {
      await buildForNode(file, outfile);
    } catch (error) {
      return { name, passed: 0, failed: 1, details: [`build failed:\n${formatBuildErrors(error.errors ?? [error])}`] };
    }
    const started = Date.now();
    const run = await runChild(process.execPath, ["--enable-source-maps", outfile]);
    const ms = Date.now() - started;
    const tap = parseTap(run.stdout);
    const details = tap.failures.map((failure) => `# ${failure.test}\n${ctx.verbose ? failure.block : trimTapStack(failure.block)}`);
    let failed = tap.failed;
    const problem = run.timedOut
      ? `timed out after ${TIMEOUT_MS / 1000} s`
      : run.code !== 0 && tap.failed === 0
        ? `exited with ${run.code ?? run.signal} although no assertion failed`
        : tap.plan === null
          ? "tape did not finish (no plan line): a test crashed or never ended"
          : tap.plan !== tap.passed + tap.failed
            ? `tape plan 1..${tap.plan} but ${tap.passed + tap.failed} results`
            : tap.passed + tap.failed === 0
              ? "no assertion ran"
              : null;
    if (problem) {
      failed++;
      details.push(problem);
    }
    if (failed > 0 && run.stderr.trim()) details.push(`stderr:\n${run.stderr.trimEnd()}`);
    return { name, passed: tap.passed, failed, details, tap: run.stdout, ms };
  });
  for (const outcome of outcomes) {
    result.perFile.set(outcome.name, { passed: outcome.passed, failed: outcome.failed });
    result.passed += outcome.passed;
    result.failed += outcome.failed;
    const status = outcome.failed ? "FAIL" : "ok  ";
    const time = outcome.ms === undefined ? "" : `  ${seconds(outcome.ms)}`;
    ctx.log(`  ${status} ${outcome.name}  ${outcome.passed} passed${outcome.failed ? `, ${outcome.failed} failed` : ""}${time}`);
    if (ctx.verbose && outcome.tap) ctx.log(indent(outcome.tap.trimEnd(), "       "));
    else for (const detail of outcome.details) ctx.log(indent(detail, "       "));
  }
  return result;
}

// -------------------------------------------------------------- tier: xs

/** esbuild plugin: fast-check reads `setTimeout` at module load; XS has none. Shadow it inside fast-check only. */
const fastCheckWithoutTimers = {
  name: "xs-fast-check-without-timers",
  setup(build) {
    build.onLoad({ filter: /[\\/]node_modules[\\/]fast-check[\\/].*\.js$/ }, async (args) => {
      const source = await readFile(args.path, "utf8");
      if (!/\b(?:setTimeout|clearTimeout)\b/.test(source)) return undefined;
      const prelude =
        'const setTimeout = globalThis.setTimeout ?? function () { throw new Error("setTimeout is not available inside XS"); };\n' +
        "const clearTimeout = globalThis.clearTimeout ?? function () {};\n";
      return { contents: prelude + source, loader: "js" };
    });
  },
};

/** esbuild plugin: `xs-mark:<file>` modules call setFile(<file>) before that file's module body runs. */
const fileMarkers = {
  name: "xs-file-markers",
  setup(build) {
    build.onResolve({ filter: /^xs-mark:/ }, (args) => ({ path: args.path.slice(8), namespace: "xs-mark" }));
    build.onLoad({ filter: /.*/, namespace: "xs-mark" }, (args) => ({
      contents: `import { setFile } from ${JSON.stringify(SHIM)};\nsetFile(${JSON.stringify(args.path)});\n`,
      loader: "js",
      resolveDir: ROOT,
    }));
  },
};

/** Bundles the XS entry and `files` into one IIFE script for XS; returns { code, map } or throws esbuild's error. */
async function buildForXs(files, outfile) {
  const contents = [
    `import ${JSON.stringify(XS_ENTRY)};`,
    ...files.flatMap((file) => [`import "xs-mark:${basename(file)}";`, `import ${JSON.stringify(file)};`]),
  ].join("\n");
  await esbuild.build({
    stdin: { contents, resolveDir: ROOT, sourcefile: "xs-tests-entry.js", loader: "js" },
    outfile,
    bundle: true,
    platform: "neutral",
    mainFields: ["module", "main"],
    format: "iife",
    target: "es2022",
    alias: { tape: SHIM },
    plugins: [fileMarkers, fastCheckWithoutTimers],
    sourcemap: "external",
    absWorkingDir: ROOT,
    logLevel: "silent",
  });
  return { code: await readFile(outfile, "utf8"), map: JSON.parse(await readFile(`${outfile}.map`, "utf8")) };
}

/** Maps XS stack frames "(#0:<line>)" of the first evaluation (the bundle) back to sources. */
function stackMapper(bundle, outfile) {
  const map = new SourceMap(bundle.map);
  const lines = bundle.code.split("\n");
  const dir = dirname(outfile);
  const locate = (line) => {
    const text = lines[line - 1] ?? "";
    const column = text.length - text.trimStart().length;
    const entry = map.findEntry(line - 1, column);
    if (!entry || !entry.originalSource || entry.generatedLine !== line - 1) return null;
    const source = entry.originalSource.startsWith("file://")
      ? fileURLToPath(entry.originalSource)
      : resolve(dir, entry.originalSource);
    return `${rel(source)}:${entry.originalLine + 1}`;
  };
  return {
    /** Rewrites every "(#0:N)" in `text`. */
    rewrite(text) {
      return String(text).replace(/\(#0:(\d+)\)/g, (whole, line) => `(${locate(Number(line)) ?? `bundle:${line}`})`);
    },
    /** First frame outside the shim, as "file:line". */
    at(stack) {
      for (const match of String(stack).matchAll(/\(#0:(\d+)\)/g)) {
        const where = locate(Number(match[1]));
        if (where && !where.startsWith(rel(SHIM))) return where;
      }
      return null;
    },
  };
}

const decoder = new TextDecoder();

/**
 * One attempt at running the XS bundle. Resolves to
 * { loadError?, crashedFile?, events, stderr, errors } (errors: strings).
 */
async function runXsBundle(XsnapWorker, bundle, ctx) {
  const events = [];
  const printed = [];
  let lastFile = null;
  let current = null;
  let done = null;
  let stderr = "";
  const worker = new XsnapWorker({
    onCommand(bytes) {
      const event = JSON.parse(decoder.decode(bytes));
      event.at = Date.now();
      if (event.type === "file") lastFile = event.file;
      else if (event.type === "start") current = event;
      else if (event.type === "end") current = null;
      else if (event.type === "done") done = event;
      events.push(event);
      return new Uint8Array(0);
    },
    onStdout: (text) => printed.push(text),
    onStderr: (text) => (stderr += text),
  });
  const errors = [];
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    errors.push(`XS run timed out after ${TIMEOUT_MS / 1000} s${current ? ` in test "${current.name}" (${current.file})` : ""}`);
    worker.kill();
  }, TIMEOUT_MS);
  try {
    try {
      // The wrapper keeps line numbers (it adds nothing before the first line) and keeps the stack of a load-time exception.
      await worker.evaluate(
        `(function () { "use strict"; try { ${bundle.code}\n} catch (error) { globalThis.__xsLoadError = error; throw error; } })();`,
      );
    } catch (error) {
      let loadError = error.message;
      if (error.kind === "exception" && !/^SyntaxError/.test(loadError)) {
        const stack = await worker
          .evaluate("new TextEncoder().encode(String(globalThis.__xsLoadError?.stack ?? '')).buffer")
          .then((reply) => decoder.decode(reply.result), () => "");
        if (stack) loadError = stack;
      }
      return { loadError, crashedFile: lastFile, events, stderr, errors, printed };
    }
    const count = Number(decoder.decode((await worker.evaluate("new TextEncoder().encode(String(__xsTape.count())).buffer")).result));
    if (!(count > 0)) {
      errors.push("the XS bundle registered 0 tests");
      return { events, stderr, errors, printed };
    }
    await worker.evaluate("__xsTape.run()");
    // The request returns once the XS run loop is empty. If a test is still open then, nothing can end it.
    for (let guard = 0; !done && guard <= count; guard++) {
      if (!current) break;
      const reason = "t.end() was never called and no promise job or callback was left to call it";
      await worker.evaluate(`__xsTape.abandon(${JSON.stringify(reason)})`);
    }
    if (!done) errors.push(`the XS run stopped before the end${current ? ` (in test "${current.name}", ${current.file})` : ""}`);
  } catch (error) {
    if (!timedOut) errors.push(`XS run failed${current ? ` in test "${current.name}" (${current.file})` : ""}: ${error.message}`);
  } finally {
    clearTimeout(timer);
    const code = await worker.close();
    if (code !== 0 && code !== null) errors.push(`xsnap-worker exited with code ${code}`);
  }
  for (const line of stderr.split("\n")) {
    if (/unhandled exception/i.test(line)) errors.push(`XS reported: ${line.trim()}`);
  }
  return { events, stderr, errors, printed, done, unfinished: done ? null : current };
}

/** Parses each file's bundle without running it, to find which one XS cannot parse. */
async function findUnparsable(XsnapWorker, files, ctx) {
  const bad = [];
  for (const file of files) {
    const outfile = join(ctx.out, "parse-check", `${basename(file, ".ts")}.js`);
    const bundle = await buildForXs([file], outfile);
    const worker = new XsnapWorker({ onStdout: () => {}, onStderr: () => {} });
    try {
      await worker.evaluate(`(function () {\n${bundle.code}\n})`);
    } catch (error) {
      bad.push({ file, message: error.message });
    } finally {
      await worker.close();
    }
  }
  return bad;
}

async function runXsTier(ctx) {
  const all =
    ctx.files ?? listFiles(UNIT_DIR, (name) => name.endsWith(".test.ts") && !name.endsWith(".node.test.ts"), ctx.match);
  const result = { files: all.length, passed: 0, failed: 0, errors: [], perFile: new Map() };
  if (all.length === 0) {
    if (ctx.match.length) result.errors.push(`no test file matches ${ctx.match.join(" ")}`);
    return result;
  }
  const { XsnapWorker } = await importTs(join(ROOT, "hosts", "xsnap", "xsnap-worker.ts"));
  const excluded = new Map(); // file -> reason; each counts one failure
  let files = all;
  let outcome = null;
  let mapper = null;
  const outfile = join(ctx.out, "xs-tests.js");
  for (let attempt = 0; attempt <= all.length && files.length > 0; attempt++) {
    let bundle;
    try {
      bundle = await buildForXs(files, outfile);
    } catch (error) {
      // Find the test files that do not build on their own (the error may sit in a module they import).
      const message = formatBuildErrors(error.errors ?? [error]);
      const culprits = [];
      for (const file of files) {
        try {
          await buildForXs([file], join(ctx.out, "build-check", `${basename(file, ".ts")}.js`));
        } catch (fileError) {
          culprits.push(file);
          excluded.set(file, `build failed:\n${formatBuildErrors(fileError.errors ?? [fileError])}`);
        }
      }
      if (culprits.length === 0 || culprits.length === files.length) {
        result.errors.push(`XS bundle build failed:\n${message}`);
        return result;
      }
      files = files.filter((file) => !excluded.has(file));
      continue;
    }
    mapper = stackMapper(bundle, outfile);
    outcome = await runXsBundle(XsnapWorker, bundle, ctx);
    if (!outcome.loadError) break;
    // The bundle did not load: find the file responsible, drop it, try again with the others.
    const message = mapper.rewrite(outcome.loadError);
    let culprits = [];
    if (/^SyntaxError/.test(outcome.loadError)) {
      const bad = await findUnparsable(XsnapWorker, files, ctx);
      if (bad.length === files.length) {
        result.errors.push(`XS cannot parse the bundle (shared code, every file fails): ${message}`);
        return result;
      }
      const hint = "XS reports no line; look for syntax newer than ES2022 that esbuild passes through (e.g. regular expression features)";
      for (const { file, message: why } of bad) excluded.set(file, `XS cannot parse it: ${why} (${hint})`);
      culprits = bad.map((entry) => entry.file);
    } else if (outcome.crashedFile) {
      const file = files.find((candidate) => basename(candidate) === outcome.crashedFile);
      if (file) {
        excluded.set(file, `threw while loading in XS: ${message}`);
        culprits = [file];
      }
    }
    if (culprits.length === 0) {
      result.errors.push(`the XS bundle failed to load: ${message}`);
      return result;
    }
    files = files.filter((file) => !excluded.has(file));
    outcome = null;
  }

  const perFile = new Map(all.map((file) => [basename(file), { passed: 0, failed: 0, tests: 0, details: [], verbose: [] }]));
  for (const [file, reason] of excluded) {
    const entry = perFile.get(basename(file));
    entry.failed++;
    entry.details.push(reason);
  }
  if (outcome) {
    let startedAt = 0;
    for (const event of outcome.events) {
      if (event.type === "start") startedAt = event.at;
      if (event.type === "harness-error") outcome.errors.push(`harness error: ${mapper.rewrite(event.message)}`);
      if (event.type !== "end") continue;
      const entry = perFile.get(event.file) ?? { passed: 0, failed: 0, tests: 0, details: [], verbose: [] };
      perFile.set(event.file, entry);
      entry.tests++;
      entry.ms = (entry.ms ?? 0) + (event.at - startedAt);
      entry.passed += event.passed;
      entry.failed += event.failed;
      entry.verbose.push(`# ${event.name}`);
      for (const line of event.lines) {
        if ("comment" in line) {
          entry.verbose.push(`# ${line.comment}`);
          continue;
        }
        entry.verbose.push(`${line.ok ? "ok" : "not ok"} ${line.name}`);
        if (line.ok) continue;
        const block = [`# ${event.name}`, `not ok ${line.name}`, "  ---", `    operator: ${line.operator}`];
        if (line.expected !== undefined) block.push(`    expected: ${line.expected}`);
        if (line.actual !== undefined) block.push(`    actual:   ${line.actual}`);
        const at = line.stack ? mapper.at(line.stack) : null;
        if (at) block.push(`    at: ${at}`);
        if (line.operator === "error" && line.stack) {
          const frames = mapper
            .rewrite(line.stack)
            .split("\n")
            .filter((frame) => !/\(test[\\/]xs[\\/]|\(#\d+:\d+\)|at eval \(\)/.test(frame));
          block.push(`    stack: |-\n${indent(frames.join("\n"), "      ")}`);
        }
        block.push("  ...");
        entry.details.push(block.join("\n"));
        entry.verbose.push(...block.slice(2));
      }
    }
    if (outcome.unfinished) {
      const entry = perFile.get(outcome.unfinished.file);
      if (entry) {
        entry.tests++;
        entry.failed++;
        entry.details.push(`# ${outcome.unfinished.name}\nnot ok: the test did not finish (see the tier error below)`);
      }
    }
    result.errors.push(...outcome.errors.map((error) => mapper.rewrite(error)));
    const printed = outcome.printed.join("");
    if (printed.trim() && (ctx.verbose || outcome.errors.length)) ctx.log(indent(`print output:\n${printed.trimEnd()}`, "  "));
  }
  for (const [name, entry] of perFile) {
    if (entry.tests > 0 && entry.passed + entry.failed === 0) {
      entry.failed++;
      entry.details.push("no assertion ran");
    }
    if (entry.tests === 0 && entry.failed === 0) {
      entry.failed++;
      entry.details.push("no test of this file ran in XS");
    }
    result.perFile.set(name, { passed: entry.passed, failed: entry.failed });
    result.passed += entry.passed;
    result.failed += entry.failed;
    const status = entry.failed ? "FAIL" : "ok  ";
    const tests = `${entry.tests} test${entry.tests === 1 ? "" : "s"}`;
    const time = entry.ms === undefined ? "" : `  ${seconds(entry.ms)}`;
    ctx.log(`  ${status} ${name}  (${tests}) ${entry.passed} passed${entry.failed ? `, ${entry.failed} failed` : ""}${time}`);
    const lines = ctx.verbose ? [...entry.verbose, ...entry.details.filter((d) => !d.startsWith("# "))] : entry.details;
    for (const detail of lines) ctx.log(indent(detail, "       "));
  }
  return result;
}

// -------------------------------------------------------- tier: selftest

/**
 * Runs the node and xs tiers over test/xs/fixtures/*.fixture.ts, whose
 * headers declare the counts each tier must report ("expect xs: 3 passed, 6
 * failed"), and checks them. Proves that failures, exceptions, tests that
 * never end, files that throw while loading and syntax XS cannot parse all
 * end up as failures rather than as silent passes.
 */
async function runSelftestTier(ctx) {
  const dir = join(ROOT, "test", "xs", "fixtures");
  const fixtures = listFiles(dir, (name) => name.endsWith(".fixture.ts"), []).map((file) => {
    const expect = {};
    for (const match of readFileSync(file, "utf8").matchAll(/expect (\w+): (\d+) passed, (\d+) failed/g)) {
      expect[match[1]] = { passed: Number(match[2]), failed: Number(match[3]) };
    }
    return { file, name: basename(file), expect };
  });
  const result = { files: fixtures.length, passed: 0, failed: 0, errors: [] };
  if (fixtures.length === 0) {
    result.errors.push(`no fixtures in ${rel(dir)}`);
    return result;
  }
  for (const [tier, run] of [
    ["node", runNodeTier],
    ["xs", runXsTier],
  ]) {
    const chosen = fixtures.filter((fixture) => fixture.expect[tier]);
    const output = [];
    const outcome = await run({ ...ctx, out: join(ctx.out, tier), files: chosen.map((f) => f.file), log: (line) => output.push(line) });
    let ok = outcome.errors.length === 0;
    const lines = [];
    for (const fixture of chosen) {
      const want = fixture.expect[tier];
      const got = outcome.perFile.get(fixture.name) ?? { passed: 0, failed: 0 };
      const same = got.passed === want.passed && got.failed === want.failed;
      ok &&= same;
      lines.push(
        `${same ? "ok  " : "FAIL"} ${tier} ${fixture.name}: ${got.passed} passed, ${got.failed} failed` +
          (same ? "" : ` (expected ${want.passed} passed, ${want.failed} failed)`),
      );
    }
    if (ok) result.passed++;
    else result.failed++;
    for (const line of lines) ctx.log(`  ${line}`);
    if (!ok || ctx.verbose) {
      for (const error of outcome.errors) ctx.log(`       tier error: ${error}`);
      ctx.log(indent(`${tier} tier output:\n${output.join("\n")}`, "       "));
    }
  }
  return result;
}

// ------------------------------------------------------------ tier: fuzz

async function runFuzzTier(ctx) {
  const files = listFiles(FUZZ_DIR, (name) => name.endsWith(".ts") && !name.endsWith(".d.ts"), ctx.match);
  const result = { files: files.length, passed: 0, failed: 0, errors: [] };
  if (files.length === 0) {
    if (ctx.match.length) result.errors.push(`no fuzz file matches ${ctx.match.join(" ")}`);
    ctx.log("  0 files");
    return result;
  }
  const total = Number(process.env.FUZZ_SECONDS ?? 20);
  const share = Math.max(1, Math.floor(total / files.length));
  ctx.log(`  budget ${total} s, ${share} s per file${process.env.FUZZ_SEED ? `, FUZZ_SEED=${process.env.FUZZ_SEED}` : ""}`);
  for (const file of files) {
    const name = basename(file);
    const outfile = join(ctx.out, name.replace(/\.ts$/, ".mjs"));
    try {
      await buildForNode(file, outfile);
    } catch (error) {
      result.failed++;
      ctx.log(`  FAIL ${name}  build failed`);
      ctx.log(indent(formatBuildErrors(error.errors ?? [error]), "       "));
      continue;
    }
    const run = await runChild(process.execPath, ["--enable-source-maps", outfile], {
      env: { FUZZ_SECONDS: String(share) },
      timeoutMs: share * 3000 + 30_000,
    });
    const counts = [...run.stdout.matchAll(/^(\d+) passed, (\d+) failed$/gm)].pop();
    const passed = counts ? Number(counts[1]) : 0;
    let failed = counts ? Number(counts[2]) : 0;
    const problems = [];
    if (run.timedOut) problems.push(`timed out (budget ${share} s)`);
    if (!counts) problems.push('no "N passed, N failed" line in its output');
    if (run.code !== 0 && failed === 0) problems.push(`exited with ${run.code ?? run.signal}`);
    failed += problems.length;
    result.passed += passed;
    result.failed += failed;
    ctx.log(`  ${failed ? "FAIL" : "ok  "} ${name}  ${passed} passed${failed ? `, ${failed} failed` : ""}`);
    if (failed || ctx.verbose) {
      for (const problem of problems) ctx.log(`       ${problem}`);
      const output = `${run.stdout}${run.stderr}`.trimEnd();
      if (output) ctx.log(indent(output.split("\n").slice(-60).join("\n"), "       "));
    }
  }
  return result;
}

process.exitCode = await main(process.argv.slice(2));
