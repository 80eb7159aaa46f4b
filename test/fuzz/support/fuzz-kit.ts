/**
 * Shared machinery of the fuzz targets in test/fuzz/*.fuzz.ts (Node only).
 *
 * - `Rng`: a small seeded generator (sfc32, seeded through splitmix32), so a
 *   32-bit seed replays a case exactly. Every case gets its own seed derived
 *   from the run seed and the case number: case N of run seed S is the same
 *   on every machine, however many cases ran before it.
 * - `Fuzzer`: the run loop. Reads FUZZ_SECONDS (time budget, default 10),
 *   FUZZ_SEED (hex or decimal run seed; default random) and FUZZ_CASE (run
 *   only that case number of that seed), prints the seed first so a failure
 *   can be replayed, stops at the budget, prints the iteration count and,
 *   last, "N passed, N failed" (cases), and sets the exit status (0 only if
 *   nothing failed), as test/run.mjs's fuzz convention asks.
 * - `check`/`InvariantError`: a broken invariant names itself; the Fuzzer
 *   groups failures by invariant, shrinks the first example of each and
 *   prints it.
 * - Hex and corpus helpers: corpus files (test/fuzz/corpus/*.hex) hold one
 *   packet or stream per line in hex, spaces marking chunk boundaries, each
 *   preceded by `#` comment lines naming it.
 * - `deepEqual`/`clone` for packet objects (Uint8Array compared by content,
 *   keys holding `undefined` treated as absent).
 * - `heap`: heap bytes after a forced GC, for the memory invariants.
 */
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

// ------------------------------------------------------------------ random

/** splitmix32: spreads a 32-bit seed (also used to derive per-case seeds). */
export function mix32(x: number): number {
  x = (x + 0x9e3779b9) | 0;
  let z = x;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** Seed of case `index` in a run seeded with `runSeed`. */
export function caseSeed(runSeed: number, index: number): number {
  return mix32((runSeed ^ mix32(index + 0x51ed)) >>> 0);
}

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    this.a = mix32(seed);
    this.b = mix32(this.a ^ 0x6a09e667);
    this.c = mix32(this.b ^ 0xbb67ae85);
    this.d = 1;
    for (let i = 0; i < 12; i++) this.u32();
  }

  /** Uniform 32-bit unsigned integer (sfc32). */
  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Integer in 0..n-1 (n >= 1). */
  int(n: number): number {
    return n <= 1 ? 0 : Math.floor((this.u32() / 4294967296) * n);
  }

  /** Integer in lo..hi, both included. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.u32() / 4294967296 < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  byte(): number {
    return this.u32() & 0xff;
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    let i = 0;
    for (; i + 4 <= n; i += 4) {
      const r = this.u32();
      out[i] = r;
      out[i + 1] = r >>> 8;
      out[i + 2] = r >>> 16;
      out[i + 3] = r >>> 24;
    }
    for (; i < n; i++) out[i] = this.u32();
    return out;
  }

  /** A length favouring small values: 0..max (uniform below a cap picked from 1, 4, 16, 64, 256, max). */
  smallLength(max: number): number {
    const cap = this.pick([1, 4, 16, 64, 256, max]);
    return this.int(Math.min(cap, max) + 1);
  }
}

// --------------------------------------------------------------------- hex

export function toHex(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += bytes[i].toString(16).padStart(2, "0");
  return s;
}

export function fromHex(hex: string): Uint8Array {
  const clean = hex.replace(/\s+/g, "");
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(clean)) throw new Error(`not hex: ${JSON.stringify(hex.slice(0, 40))}`);
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function hex32(n: number): string {
  return `0x${(n >>> 0).toString(16).padStart(8, "0")}`;
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

// ------------------------------------------------------------------ corpus

/** One corpus line: its chunks (split where the line has spaces) and the comment naming it. */
export interface CorpusEntry {
  file: string;
  line: number;
  name: string;
  chunks: Uint8Array[];
}

/** The corpus directory: FUZZ_CORPUS, else test/fuzz/corpus in the working directory or the nearest parent holding one. */
export function corpusDir(): string {
  if (process.env.FUZZ_CORPUS) return process.env.FUZZ_CORPUS;
  let dir = process.cwd();
  for (;;) {
    const candidate = join(dir, "test", "fuzz", "corpus");
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) return join(process.cwd(), "test", "fuzz", "corpus");
    dir = parent;
  }
}

/**
 * Reads every `<prefix>*.hex` file of the corpus directory. Blank lines are
 * skipped; `#` lines are comments, the last one before an entry names it.
 */
export function readCorpus(prefix: string): CorpusEntry[] {
  const dir = corpusDir();
  if (!existsSync(dir)) throw new Error(`corpus directory ${dir} not found (run from the repository root or set FUZZ_CORPUS)`);
  const entries: CorpusEntry[] = [];
  for (const file of readdirSync(dir).filter((f) => f.startsWith(prefix) && f.endsWith(".hex")).sort()) {
    const lines = readFileSync(join(dir, file), "utf8").split("\n");
    let name = "";
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i].trim();
      if (line === "") continue;
      if (line.startsWith("#")) {
        name = line.slice(1).trim();
        continue;
      }
      const chunks = line.split(/\s+/).map(fromHex);
      entries.push({ file, line: i + 1, name: name || `${file}:${i + 1}`, chunks });
      name = "";
    }
  }
  return entries;
}

// --------------------------------------------------------------- equality

function isUndefinedKey(o: Record<string, unknown>, k: string): boolean {
  return o[k] === undefined;
}

/** Structural equality for packets: Uint8Array by content, arrays in order, `undefined` keys ignored. */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    if (!(a instanceof Uint8Array && b instanceof Uint8Array) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], b[i])) return false;
    return true;
  }
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object") return false;
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const ak = Object.keys(ao).filter((k) => !isUndefinedKey(ao, k));
  const bk = Object.keys(bo).filter((k) => !isUndefinedKey(bo, k));
  if (ak.length !== bk.length) return false;
  for (const k of ak) if (!Object.prototype.hasOwnProperty.call(bo, k) || !deepEqual(ao[k], bo[k])) return false;
  return true;
}

/** A deep copy that no longer shares bytes with any buffer (Uint8Array sliced). */
export function clone<T>(value: T): T {
  if (value instanceof Uint8Array) return value.slice() as unknown as T;
  if (Array.isArray(value)) return value.map((v) => clone(v)) as unknown as T;
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value as object)) out[k] = clone((value as Record<string, unknown>)[k]);
    return out as T;
  }
  return value;
}

/** Compact text of a packet for messages (bytes as hex). */
export function show(value: unknown): string {
  return JSON.stringify(value, (_k, v) => (v instanceof Uint8Array ? `<${toHex(v)}>` : v));
}

// -------------------------------------------------------------- invariants

/** A broken invariant; `invariant` is its short name (used to group and shrink failures). */
export class InvariantError extends Error {
  readonly invariant: string;
  constructor(invariant: string, message: string, options?: { cause?: unknown }) {
    super(`[${invariant}] ${message}`, options);
    this.name = "InvariantError";
    this.invariant = invariant;
  }
}

export function check(condition: unknown, invariant: string, message: string | (() => string)): asserts condition {
  if (!condition) throw new InvariantError(invariant, typeof message === "function" ? message() : message);
}

/** Name of the invariant a thrown value breaks (anything but an InvariantError is a harness crash). */
export function invariantOf(error: unknown): string {
  return error instanceof InvariantError ? error.invariant : "harness-crash";
}

/** The error's stack, or its text. */
export function stackOf(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as { cause?: unknown }).cause;
    const own = error.stack ?? String(error);
    return cause instanceof Error ? `${own}\ncaused by: ${cause.stack ?? String(cause)}` : own;
  }
  return String(error);
}

// -------------------------------------------------------------------- heap

let gcFunction: (() => void) | undefined;

/** Heap bytes in use after a full garbage collection (V8's gc exposed at run time). */
export function heap(): number {
  if (gcFunction === undefined) {
    setFlagsFromString("--expose-gc");
    gcFunction = runInNewContext("gc") as () => void;
  }
  gcFunction();
  gcFunction();
  return process.memoryUsage().heapUsed;
}

export function mib(bytes: number): string {
  return `${(bytes / 1048576).toFixed(1)} MiB`;
}

// ------------------------------------------------------------------ runner

export interface FuzzSpec<I> {
  /** Target name printed in every line, e.g. "decoder". */
  name: string;
  /** Replays the corpus; returns the number of entries run. Each failure is reported through `fail`. */
  corpus(fail: (label: string, error: unknown, repro?: string) => void): number;
  /** Builds the input of one case from its seed. */
  generate(rng: Rng, index: number): I;
  /** Runs one input; throws an InvariantError (or anything, a crash) when an invariant breaks. */
  run(input: I): void;
  /** Smaller variants of an input, most promising first (for shrinking). */
  shrink(input: I): Iterable<I>;
  /** Text that reproduces an input (hex), printed with a failure. */
  describe(input: I): string;
  /** Called about every 200 ms with the elapsed ms (memory sampling etc.); may throw an InvariantError. */
  tick?(elapsedMs: number, cases: number): void;
  /** Called once at the end of the budget; may throw an InvariantError (e.g. heap growth). */
  finish?(cases: number): void;
  /** Extra lines for the summary (coverage counters). */
  summary?(): string[];
}

interface Finding {
  invariant: string;
  caseIndex: number;
  seed: number;
  error: unknown;
  repro: string;
  atMs: number;
}

function envSeconds(): number {
  const raw = process.env.FUZZ_SECONDS;
  const n = raw === undefined || raw === "" ? 10 : Number(raw);
  if (!(n > 0)) throw new Error(`FUZZ_SECONDS must be a positive number, got ${raw}`);
  return n;
}

function envSeed(): { seed: number; given: boolean } {
  const raw = process.env.FUZZ_SEED;
  if (raw === undefined || raw === "") {
    const buf = new Uint32Array(1);
    crypto.getRandomValues(buf);
    return { seed: buf[0], given: false };
  }
  const n = Number(raw.trim());
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new Error(`FUZZ_SEED must be a 32-bit number such as 0x1234abcd, got ${raw}`);
  return { seed: n >>> 0, given: true };
}

/** Shrinks `input` greedily while `fails` keeps saying yes, within `budgetMs`. */
function shrinkInput<I>(spec: FuzzSpec<I>, input: I, invariant: string, budgetMs: number): { input: I; steps: number } {
  const until = Date.now() + budgetMs;
  let best = input;
  let steps = 0;
  let improved = true;
  while (improved && Date.now() < until) {
    improved = false;
    for (const candidate of spec.shrink(best)) {
      if (Date.now() >= until) break;
      let broke = "";
      try {
        spec.run(candidate);
      } catch (error) {
        broke = invariantOf(error);
      }
      if (broke === invariant) {
        best = candidate;
        steps++;
        improved = true;
        break;
      }
    }
  }
  return { input: best, steps };
}

/**
 * Runs a fuzz target: corpus first, then generated cases until the budget
 * is spent. Prints the seed, progress, failures (shrunk, with a replay
 * command) and the final count line; sets process.exitCode.
 */
export function runFuzzer<I>(spec: FuzzSpec<I>): void {
  const seconds = envSeconds();
  const { seed, given } = envSeed();
  const only = process.env.FUZZ_CASE === undefined || process.env.FUZZ_CASE === "" ? undefined : Number(process.env.FUZZ_CASE);
  const started = Date.now();
  const deadline = started + seconds * 1000;
  const log = (line: string) => process.stdout.write(`${line}\n`);
  log(`${spec.name} fuzz: seed ${hex32(seed)}${given ? " (FUZZ_SEED)" : " (random)"}, budget ${seconds} s` +
    (only !== undefined ? `, only case ${only}` : ""));
  log(`${spec.name} fuzz: replay with FUZZ_SEED=${hex32(seed)}`);

  let passed = 0;
  let failed = 0;
  // Stack capture dominates the cost of the many expected MqttErrors; stacks
  // are switched back on to re-run a failing case for its report.
  const stackLimit = Error.stackTraceLimit;
  const fast = () => (Error.stackTraceLimit = 0);
  const full = () => (Error.stackTraceLimit = Math.max(stackLimit, 30));
  const findings = new Map<string, Finding>();
  const MAX_FINDINGS = 4;

  // 1. the corpus (regression seeds first)
  if (only === undefined) {
    let corpusFailures = 0;
    const ran = spec.corpus((label, error, repro) => {
      corpusFailures++;
      const invariant = invariantOf(error);
      log(`FAIL ${spec.name} corpus ${label}: ${invariant}`);
      log(indent(stackOf(error)));
      if (repro) log(indent(`reproducer: ${repro}`));
    });
    failed += corpusFailures;
    passed += ran - corpusFailures;
    log(`${spec.name} fuzz: corpus ${ran} entries, ${corpusFailures} failed`);
  }

  // 2. generated cases
  let index = only ?? 0;
  let cases = 0;
  let lastTick = Date.now();
  for (;;) {
    if (only !== undefined && cases === 1) break;
    if (only === undefined && (Date.now() >= deadline || findings.size >= MAX_FINDINGS)) break;
    const s = caseSeed(seed, index);
    fast();
    const input = spec.generate(new Rng(s), index);
    try {
      spec.run(input);
      passed++;
    } catch (error) {
      failed++;
      const invariant = invariantOf(error);
      if (!findings.has(invariant)) {
        findings.set(invariant, { invariant, caseIndex: index, seed: s, error, repro: "", atMs: Date.now() - started });
        // Shrinking uses what is left of the budget (at least 0.5 s, at most 3 s; 20 s when replaying one case).
        const left = deadline - Date.now();
        const shrunk = shrinkInput(spec, input, invariant, only !== undefined ? 20_000 : Math.min(3000, Math.max(500, left)));
        let finalError = error;
        full();
        try {
          spec.run(shrunk.input);
        } catch (e) {
          finalError = e;
        }
        const finding = findings.get(invariant) as Finding;
        finding.error = finalError;
        finding.repro = `${spec.describe(shrunk.input)}  (shrunk in ${shrunk.steps} steps)`;
        log(`FAIL ${spec.name} case ${index} (case seed ${hex32(s)}) after ${(finding.atMs / 1000).toFixed(2)} s: ${invariant}`);
        log(indent(stackOf(finalError)));
        log(indent(`reproducer: ${finding.repro}`));
        log(indent(`replay: FUZZ_SEED=${hex32(seed)} FUZZ_CASE=${index} node <bundle of test/fuzz/${spec.name}.fuzz.ts>`));
      }
    }
    cases++;
    index++;
    const now = Date.now();
    if (spec.tick && now - lastTick >= 200) {
      lastTick = now;
      try {
        spec.tick(now - started, cases);
      } catch (error) {
        failed++;
        const invariant = invariantOf(error);
        if (!findings.has(invariant)) {
          findings.set(invariant, { invariant, caseIndex: index, seed, error, repro: "", atMs: now - started });
          log(`FAIL ${spec.name} after ${cases} cases (${((now - started) / 1000).toFixed(2)} s): ${invariant}`);
          log(indent(stackOf(error)));
        }
      }
    }
  }
  full();
  if (spec.finish && only === undefined) {
    try {
      spec.finish(cases);
    } catch (error) {
      failed++;
      log(`FAIL ${spec.name} at the end of the run: ${invariantOf(error)}`);
      log(indent(stackOf(error)));
    }
  }
  const elapsed = (Date.now() - started) / 1000;
  log(`${spec.name} fuzz: ${cases} cases in ${elapsed.toFixed(1)} s (${Math.round(cases / Math.max(elapsed, 0.001))}/s), seed ${hex32(seed)}`);
  for (const line of spec.summary?.() ?? []) log(`${spec.name} fuzz: ${line}`);
  if (failed > 0) log(`${spec.name} fuzz: FOUND ${findings.size || failed} problem(s); replay with FUZZ_SEED=${hex32(seed)}`);
  log(`${passed} passed, ${failed} failed`);
  process.exitCode = failed > 0 ? 1 : 0;
}

export function indent(text: string, prefix = "    "): string {
  return text
    .split("\n")
    .map((line) => prefix + line)
    .join("\n");
}
