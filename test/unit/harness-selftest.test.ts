/**
 * Self-test of the test harness.
 *
 * Runs in both tiers: on Node against npm tape, inside XS against
 * test/xs/tape-shim.ts. The first group pins the assertion semantics the two
 * must share (so a unit test means the same thing in both places). The
 * second group drives the shim's `Test` directly to prove that it counts
 * failures, including exceptions thrown by a test; the end-to-end proof that
 * the runner turns failures into a failing tier is the "selftest" tier of
 * test/run.mjs (fixtures in test/xs/fixtures/).
 */
import test from "tape";
import { Test, deepEqual, inspect } from "../xs/tape-shim";

test("equal compares with Object.is, as tape 5 does", (t) => {
  t.equal(NaN, NaN, "NaN equals NaN");
  t.notEqual(0, -0, "0 and -0 differ");
  t.notEqual("1", 1, "no coercion");
  t.end();
});

test("deepEqual compares typed arrays, arrays and plain objects by content", (t) => {
  t.deepEqual(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 3]));
  t.deepEqual({ a: [1, { b: new Uint16Array([7]) }] }, { a: [1, { b: new Uint16Array([7]) }] });
  t.deepEqual([undefined], [undefined]);
  t.end();
});

test("throws accepts an Error class or a predicate", (t) => {
  t.throws(() => {
    throw new RangeError("out of range");
  }, RangeError);
  t.throws(
    () => {
      throw new TypeError("bad type");
    },
    (error: unknown) => error instanceof TypeError && error.message === "bad type",
    "predicate returning true passes",
  );
  t.doesNotThrow(() => 1 + 1);
  t.end();
});

test("async test functions end when their promise resolves", async (t) => {
  const value = await Promise.resolve(42);
  await null;
  t.equal(value, 42);
});

test("a synchronous test may call t.end() from a later promise job", (t) => {
  Promise.resolve().then(() => {
    t.pass("ended asynchronously");
    t.end();
  });
});

test("shim deepEqual rejects what tape's strict deepEqual rejects", (t) => {
  t.notOk(deepEqual(new Uint8Array([1, 2]), new Uint8Array([1, 3])), "different bytes");
  t.notOk(deepEqual(new Uint8Array([1]), new Int8Array([1])), "different typed array types");
  t.notOk(deepEqual(new Uint8Array([1]), [1]), "typed array vs array");
  t.notOk(deepEqual({ a: 1 }, { a: 1, b: undefined }), "extra key");
  t.notOk(deepEqual([1, 2], [1, 2, 3]), "different lengths");
  t.notOk(deepEqual({ a: "1" }, { a: 1 }), "no coercion");
  t.notOk(deepEqual(0, -0), "0 and -0 differ");
  t.ok(deepEqual(new Map([["k", [1]]]), new Map([["k", [1]]])), "maps by content");
  t.end();
});

test("shim counts failed assertions and exceptions", (t) => {
  const probe = new Test("probe");
  probe.equal(1, 2, "equal fails");
  probe.deepEqual(new Uint8Array([1]), new Uint8Array([2]), "deepEqual fails");
  probe.ok(0, "ok fails");
  probe.notOk(1, "notOk fails");
  probe.throws(() => undefined, "throws fails when nothing is thrown");
  probe.throws(() => {
    throw new TypeError("x");
  }, RangeError, "throws fails on the wrong class");
  probe.throws(
    () => {
      throw new TypeError("x");
    },
    () => false,
    "throws fails when the predicate is false",
  );
  probe.doesNotThrow(() => {
    throw new Error("y");
  }, "doesNotThrow fails");
  probe.fail("fail fails");
  probe.threw(new Error("boom"), "test function threw");
  probe.pass("pass passes");
  probe.end();
  probe.end();
  t.equal(probe.failed, 11, "nine failed assertions, one exception and a second end() all count");
  t.equal(probe.passed, 1);
  const last = probe.lines[probe.lines.length - 1];
  t.ok(last !== undefined && "ok" in last && !last.ok && last.name === ".end() already called");
  t.end();
});

test("shim inspect renders values readably and bounded", (t) => {
  t.equal(inspect(new Uint8Array([1, 255])), "Uint8Array(2) [ 1, 255 ]");
  t.equal(inspect({ a: "x", b: [1n] }), '{ a: "x", b: [ 1n ] }');
  t.equal(inspect(-0), "-0");
  t.ok(inspect(new Uint8Array(5000)).includes("... 4936 more"));
  t.end();
});
