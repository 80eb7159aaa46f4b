/**
 * A small tape-compatible test harness for the XS engine.
 *
 * Theory of operation
 * -------------------
 * Test files are written against npm `tape` (`import test from "tape"`).
 * For the XS tier, esbuild aliases `tape` to this module, so the same files
 * register their tests here when the bundle is evaluated. Nothing runs at
 * registration; the host then calls {@link run}, which runs the tests one
 * after the other. Only the subset of tape that the project allows exists:
 * `test(name, fn)` and, on `t`: `equal, notEqual, deepEqual, ok, notOk,
 * throws, doesNotThrow, pass, fail, comment, end`. There is deliberately no
 * `test.skip`, `test.only`, `t.plan` or `t.todo`.
 *
 * A test ends when `t.end()` is called, or when the promise its function
 * returned settles (a rejection is a failure, as in tape). A synchronous
 * exception thrown by the test function is a failure carrying the error's
 * message and stack, and ends the test. Assertions after the end, and a
 * second `t.end()`, are failures.
 *
 * XS has no `setTimeout`; the harness never waits on a clock. If a test
 * neither ends nor has any pending job, the XS run loop empties while the
 * test waits. The host sees that (its request returned without a "done"
 * event) and calls {@link abandonCurrentTest}, which fails the test and lets
 * the run go on with the next one.
 *
 * The harness is host-neutral: everything it reports goes through a
 * {@link Reporter} given to {@link run}; the default one prints TAP with
 * `print` (xsnap, xst) or `trace` (Moddable).
 *
 * Semantics follow tape 5: `equal` uses `Object.is`; `deepEqual` is tape's
 * strict deep equality (same prototypes, `Object.is` on primitives, typed
 * arrays of the same type element by element, ArrayBuffers byte by byte,
 * Dates by time, Errors by name and message, Maps and Sets by content).
 */

/** A test function: synchronous (calls `t.end()`) or async (returns a promise). */
export type TestFn = (t: Test) => void | Promise<unknown>;

/** One assertion outcome as reported to the host. */
export interface AssertionRecord {
  ok: boolean;
  name: string;
  /** Present on failures. */
  operator?: string;
  /** Present on failures: inspected values (strings, truncated). */
  expected?: string;
  actual?: string;
  /** Present on failures: XS stack lines where the assertion was made (raw, unmapped). */
  stack?: string;
}

/** Events the harness emits, in order. */
export type HarnessEvent =
  | { type: "file"; file: string }
  | { type: "start"; index: number; file: string; name: string }
  | {
      type: "end";
      index: number;
      file: string;
      name: string;
      passed: number;
      failed: number;
      /** Every assertion and comment of the test, in order. */
      lines: Array<AssertionRecord | { comment: string }>;
    }
  | { type: "done"; tests: number; passed: number; failed: number };

/** Receives harness events; must not throw. */
export interface Reporter {
  report(event: HarnessEvent): void;
}

interface Registered {
  name: string;
  fn: TestFn;
  file: string;
}

const registered: Registered[] = [];
let currentFile = "";
let activeReporter: Reporter | null = null;
let abandon: ((reason: string) => void) | null = null;
let running = false;

/**
 * Registers a test. Runs nothing; {@link run} does. Only the `(name, fn)`
 * form exists.
 */
export default function test(name: string, fn: TestFn): void {
  if (typeof name !== "string" || typeof fn !== "function" || arguments.length !== 2) {
    throw new TypeError("XS tape shim: only test(name, fn) is supported (no options, no unnamed tests)");
  }
  if (running) throw new TypeError("XS tape shim: nested or late test() calls are not supported");
  registered.push({ name, fn, file: currentFile });
}

/**
 * Marks the test file whose tests register next (called by generated code
 * in the bundle before each file's module body).
 */
export function setFile(file: string): void {
  currentFile = file;
  activeReporter?.report({ type: "file", file });
}

/** Installs the reporter before the test files are evaluated, so load-time "file" events reach the host. */
export function setReporter(reporter: Reporter): void {
  activeReporter = reporter;
}

/** Number of tests registered so far. */
export function registeredCount(): number {
  return registered.length;
}

/**
 * Fails the test that is waiting to end and lets the run continue. Returns
 * false when no test is waiting. Called by the host once the run loop is
 * empty while a test is still open.
 */
export function abandonCurrentTest(reason: string): boolean {
  if (!abandon) return false;
  const finish = abandon;
  abandon = null;
  finish(reason);
  return true;
}

/**
 * Runs every registered test once, in registration order, reporting through
 * `reporter` (default: TAP on `print`/`trace`). Resolves after the "done"
 * event. Call once.
 */
export async function run(reporter: Reporter = activeReporter ?? tapReporter()): Promise<void> {
  if (running) throw new TypeError("XS tape shim: run() called twice");
  running = true;
  activeReporter = reporter;
  let passed = 0;
  let failed = 0;
  for (let index = 0; index < registered.length; index++) {
    const entry = registered[index]!;
    reporter.report({ type: "start", index, file: entry.file, name: entry.name });
    const t = new Test(entry.name);
    await runOne(entry, t);
    passed += t.passed;
    failed += t.failed;
    reporter.report({
      type: "end",
      index,
      file: entry.file,
      name: entry.name,
      passed: t.passed,
      failed: t.failed,
      lines: t.lines,
    });
  }
  reporter.report({ type: "done", tests: registered.length, passed, failed });
}

async function runOne(entry: Registered, t: Test): Promise<void> {
  let returned: unknown;
  try {
    returned = entry.fn(t);
  } catch (error) {
    t.threw(error, "test function threw");
    t.finish();
    return;
  }
  if (isThenable(returned)) {
    try {
      await returned;
    } catch (error) {
      t.threw(error, "test function's promise rejected");
    }
    if (!t.ended) t.finish();
    return;
  }
  if (t.ended) return;
  await new Promise<void>((resolve) => {
    t.onEnd = resolve;
    abandon = (reason) => {
      t.failWithoutLocation(`test did not end: ${reason}`);
      t.finish();
    };
  });
  abandon = null;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === "object" || typeof value === "function") &&
    value !== null &&
    typeof (value as { then?: unknown }).then === "function"
  );
}

/** The `t` object handed to test functions. */
export class Test {
  /** Name given to `test()`. */
  readonly name: string;
  passed = 0;
  failed = 0;
  ended = false;
  readonly lines: Array<AssertionRecord | { comment: string }> = [];
  /** @internal resolves the runner's wait for `t.end()`. */
  onEnd: (() => void) | null = null;

  constructor(name: string) {
    this.name = name;
  }

  equal(actual: unknown, expected: unknown, msg?: string): void {
    this.record(Object.is(actual, expected), msg ?? "should be strictly equal", "equal", expected, actual);
  }

  notEqual(actual: unknown, expected: unknown, msg?: string): void {
    this.record(!Object.is(actual, expected), msg ?? "should not be strictly equal", "notEqual", expected, actual);
  }

  deepEqual(actual: unknown, expected: unknown, msg?: string): void {
    this.record(deepEqual(actual, expected), msg ?? "should be deeply equivalent", "deepEqual", expected, actual);
  }

  ok(value: unknown, msg?: string): void {
    this.record(!!value, msg ?? "should be truthy", "ok", true, value);
  }

  notOk(value: unknown, msg?: string): void {
    this.record(!value, msg ?? "should be falsy", "notOk", false, value);
  }

  pass(msg?: string): void {
    this.record(true, msg ?? "(unnamed assert)", "pass");
  }

  fail(msg?: string): void {
    this.record(false, msg ?? "(unnamed assert)", "fail");
  }

  comment(msg: string): void {
    this.lines.push({ comment: String(msg) });
  }

  /**
   * Passes if `fn` throws and the error matches `expected`: an Error class
   * (`instanceof`), or a predicate that must return exactly `true`. A string
   * in `expected`'s place is the message, as in tape.
   */
  throws(fn: () => unknown, expected?: unknown, msg?: string): void {
    if (typeof expected === "string") {
      msg = expected;
      expected = undefined;
    }
    if (expected !== undefined && typeof expected !== "function") {
      throw new TypeError("XS tape shim: t.throws expects an Error class or a predicate function");
    }
    let caught: { error: unknown } | undefined;
    try {
      fn();
    } catch (error) {
      caught = { error };
    }
    let passed = caught !== undefined;
    if (caught && typeof expected === "function") {
      const check = expected as { prototype?: unknown; call(thisArg: unknown, error: unknown): unknown };
      if (check.prototype !== undefined && caught.error instanceof (expected as new () => unknown)) passed = true;
      else if (check === Error || (check.prototype !== undefined && check.prototype instanceof Error)) passed = false;
      else passed = check.call({}, caught.error) === true;
    }
    this.record(
      passed,
      msg ?? "should throw",
      "throws",
      expected === undefined ? "(any exception)" : expected,
      caught ? caught.error : "(nothing thrown)",
    );
  }

  doesNotThrow(fn: () => unknown, msg?: string): void {
    let caught: { error: unknown } | undefined;
    try {
      fn();
    } catch (error) {
      caught = { error };
    }
    this.record(!caught, msg ?? "should not throw", "doesNotThrow", "(no exception)", caught?.error, caught?.error);
  }

  /** Ends the test; `end(err)` with a truthy `err` first records it as a failure (tape's `ifError`). */
  end(err?: unknown): void {
    if (err) this.threw(err, "t.end() received an error");
    if (this.ended) {
      this.record(false, ".end() already called", "end");
      return;
    }
    this.finish();
  }

  /** @internal */
  finish(): void {
    this.ended = true;
    const resolve = this.onEnd;
    this.onEnd = null;
    if (resolve) resolve();
  }

  /** @internal a failure that has no useful source location (e.g. a test that never ended). */
  failWithoutLocation(name: string): void {
    this.failed++;
    this.lines.push({ ok: false, name, operator: "end" });
  }

  /** @internal a failure for an exception escaping the test. */
  threw(error: unknown, what: string): void {
    const name = `${what}: ${errorText(error)}`;
    this.record(false, name, "error", undefined, error, error);
  }

  /** @internal every assertion funnels through here. */
  record(ok: boolean, name: string, operator: string, expected?: unknown, actual?: unknown, error?: unknown): void {
    if (this.ended && operator !== "end") {
      ok = false;
      name = `assertion after the test ended: ${name}`;
    }
    if (ok) {
      this.passed++;
      this.lines.push({ ok: true, name });
      return;
    }
    this.failed++;
    const where = error instanceof Error && typeof error.stack === "string" ? error.stack : new Error().stack;
    const record: AssertionRecord = { ok: false, name: String(name), operator };
    if (operator === "error") {
      if (!(actual instanceof Error)) record.actual = inspect(actual);
    }
    else if (operator !== "pass" && operator !== "fail" && operator !== "end") {
      record.expected = inspect(expected);
      record.actual = inspect(actual);
    }
    if (typeof where === "string") record.stack = where;
    this.lines.push(record);
  }
}

// tape methods the project does not allow (HELPERS "Tests"): calling one
// fails the test with a clear message instead of XS's "no function".
const UNSUPPORTED = Object.freeze([
  "plan", "skip", "todo", "teardown", "timeoutAfter", "test", "error", "ifError", "ifErr", "iferror",
  "assert", "strictEqual", "strictEquals", "isEqual", "is", "equals", "notStrictEqual", "isNotEqual",
  "isNot", "not", "doesNotEqual", "isInequal", "looseEqual", "notLooseEqual", "deepLooseEqual",
  "notDeepLooseEqual", "notDeepEqual", "same", "notSame", "isEquivalent", "match", "doesNotMatch",
  "capture", "captureFn", "intercept", "rejects", "doesNotReject",
]);
for (const name of UNSUPPORTED) {
  Object.defineProperty(Test.prototype, name, {
    value() {
      throw new TypeError(
        `t.${name} is not supported by the XS tape shim; use equal, notEqual, deepEqual, ok, notOk, throws, doesNotThrow, pass, fail, comment, end`,
      );
    },
  });
}

function errorText(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return inspect(error);
}

// ---------------------------------------------------------------- deepEqual

type Seen = Array<[unknown, unknown]>;

/** tape 5 strict deep equality (the subset described in the header). */
export function deepEqual(a: unknown, b: unknown, seen: Seen = []): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  for (const [x, y] of seen) if (x === a && y === b) return true;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  if (Object.prototype.toString.call(a) !== Object.prototype.toString.call(b)) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  seen.push([a, b]);
  try {
    return objectsEqual(a, b, seen);
  } finally {
    seen.pop();
  }
}

function objectsEqual(a: object, b: object, seen: Seen): boolean {
  if (a instanceof Error && (a.name !== (b as Error).name || a.message !== (b as Error).message)) return false;
  if (a instanceof Date) return a.getTime() === (b as Date).getTime();
  if (a instanceof RegExp) return a.source === (b as RegExp).source && a.flags === (b as RegExp).flags;
  if (ArrayBuffer.isView(a)) {
    if (a instanceof DataView) return bytesEqual(a, b as DataView);
    const x = a as unknown as ArrayLike<unknown>;
    const y = b as unknown as ArrayLike<unknown>;
    if (x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
    return true;
  }
  if (a instanceof ArrayBuffer) return bytesEqual(new Uint8Array(a), new Uint8Array(b as ArrayBuffer));
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  if (ka.length !== kb.length) return false;
  for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i]) return false;
  for (const key of ka) {
    if (!deepEqual((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key], seen)) return false;
  }
  if (a instanceof Map) {
    const m = b as Map<unknown, unknown>;
    if (a.size !== m.size) return false;
    for (const [key, value] of a) if (!m.has(key) || !deepEqual(value, m.get(key), seen)) return false;
  } else if (a instanceof Set) {
    const s = b as Set<unknown>;
    if (a.size !== s.size) return false;
    for (const value of a) if (!s.has(value)) return false;
  }
  return true;
}

function bytesEqual(a: ArrayBufferView, b: ArrayBufferView): boolean {
  if (a.byteLength !== b.byteLength) return false;
  const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

// ------------------------------------------------------------------ inspect

const MAX_TEXT = 2000;
const MAX_ITEMS = 64;

/** A readable, bounded rendering of any value (for failure reports). */
export function inspect(value: unknown): string {
  const text = render(value, 0, []);
  return text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT)}... (${text.length} chars)` : text;
}

function render(value: unknown, depth: number, stack: unknown[]): string {
  switch (typeof value) {
    case "string":
      return JSON.stringify(value);
    case "number":
      return Object.is(value, -0) ? "-0" : String(value);
    case "bigint":
      return `${value}n`;
    case "symbol":
      return value.toString();
    case "function":
      return `[Function${value.name ? `: ${value.name}` : ""}]`;
    case "undefined":
      return "undefined";
    case "boolean":
      return String(value);
  }
  if (value === null) return "null";
  const object = value as object;
  if (stack.includes(object)) return "[Circular]";
  if (object instanceof Error) return `[${object.name}: ${object.message}]`;
  if (object instanceof Date) return `Date(${object.getTime()})`;
  if (object instanceof RegExp) return String(object);
  if (depth > 4) return Array.isArray(object) ? "[Array]" : "[Object]";
  stack.push(object);
  try {
    if (ArrayBuffer.isView(object) && !(object instanceof DataView)) {
      const items = object as unknown as ArrayLike<number | bigint>;
      return `${object.constructor.name}(${items.length}) [${list(items.length, (i) => render(items[i], depth + 1, stack))}]`;
    }
    if (object instanceof DataView || object instanceof ArrayBuffer) {
      const bytes =
        object instanceof DataView
          ? new Uint8Array(object.buffer, object.byteOffset, object.byteLength)
          : new Uint8Array(object);
      return `${object.constructor.name}(${bytes.length}) <${list(bytes.length, (i) => bytes[i]!.toString(16).padStart(2, "0"), " ")}>`;
    }
    if (Array.isArray(object)) return `[${list(object.length, (i) => render(object[i], depth + 1, stack))}]`;
    if (object instanceof Map) {
      const entries = [...object];
      return `Map(${entries.length}) {${list(entries.length, (i) => `${render(entries[i]![0], depth + 1, stack)} => ${render(entries[i]![1], depth + 1, stack)}`)}}`;
    }
    if (object instanceof Set) {
      const items = [...object];
      return `Set(${items.length}) {${list(items.length, (i) => render(items[i], depth + 1, stack))}}`;
    }
    const proto = Object.getPrototypeOf(object) as { constructor?: { name?: string } } | null;
    const prefix = proto === null ? "[Object: null prototype] " : proto === Object.prototype ? "" : `${proto.constructor?.name ?? "?"} `;
    const keys = Object.keys(object);
    const record = object as Record<string, unknown>;
    return `${prefix}{${list(keys.length, (i) => `${keys[i]}: ${render(record[keys[i]!], depth + 1, stack)}`)}}`;
  } finally {
    stack.pop();
  }
}

function list(length: number, item: (index: number) => string, separator = ", "): string {
  const shown = Math.min(length, MAX_ITEMS);
  const parts: string[] = [];
  for (let i = 0; i < shown; i++) parts.push(item(i));
  if (length > shown) parts.push(`... ${length - shown} more`);
  return length === 0 ? "" : separator === " " ? parts.join(" ") : ` ${parts.join(separator)} `;
}

// ------------------------------------------------------------ TAP reporter

declare const print: ((...args: unknown[]) => void) | undefined;
declare const trace: ((text: string) => void) | undefined;

/** A reporter that writes TAP lines with `print` (xsnap) or `trace` (Moddable). */
export function tapReporter(): Reporter {
  const out =
    typeof print === "function"
      ? (line: string) => print(line)
      : typeof trace === "function"
        ? (line: string) => trace(`${line}\n`)
        : () => {};
  let count = 0;
  return {
    report(event) {
      if (event.type === "start") out(`# ${event.name}`);
      else if (event.type === "end") {
        for (const line of event.lines) {
          if ("comment" in line) out(`# ${line.comment}`);
          else {
            count++;
            out(`${line.ok ? "ok" : "not ok"} ${count} ${line.name}`);
            if (!line.ok) {
              out("  ---");
              out(`    operator: ${line.operator}`);
              if (line.expected !== undefined) out(`    expected: ${line.expected}`);
              if (line.actual !== undefined) out(`    actual:   ${line.actual}`);
              if (line.stack) out(`    stack: |-\n      ${line.stack.split("\n").join("\n      ")}`);
              out("  ...");
            }
          }
        }
      } else if (event.type === "done") {
        out(`\n1..${count}\n# tests ${count}\n# pass  ${event.passed}\n# fail  ${event.failed}`);
      }
    },
  };
}
