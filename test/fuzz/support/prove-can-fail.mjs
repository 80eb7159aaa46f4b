#!/usr/bin/env node
// Proof that the fuzz harness can fail: plants one known bug at a time
// (a "mutant") in a scratch copy of the sources, runs the fuzzer that should
// catch it for the usual time budget, and reports which invariant fired and
// how long it took. The working tree is never touched: each mutant is built
// from .tmp/fuzz-proof/<mutant>/, a copy of modules/ and test/.
//
//   node test/fuzz/support/prove-can-fail.mjs [mutant-name...]
//
// Environment: FUZZ_SECONDS (budget per run, default 10), FUZZ_SEED (default
// 0x5eed1234, the same for the baseline and every mutant, so a run is
// repeatable). The regression corpus files (*regressions*) are left out of
// the copies: they fail on purpose while their bug is open, which would
// prove nothing about a mutant.
//
// Exit status 0 when the unmutated baseline passes and every mutant is
// caught by one of the invariants listed for it; 1 otherwise. If a mutant's
// text is not found (the source changed), it is reported as STALE and
// counts as a failure: update the mutant.

import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const WORK = join(ROOT, ".tmp", "fuzz-proof");
const SECONDS = process.env.FUZZ_SECONDS ?? "10";
const SEED = process.env.FUZZ_SEED ?? "0x5eed1234";

/** Each mutant: the fuzzer that must catch it, the edit, and the invariants allowed to report it. */
const MUTANTS = [
  {
    name: "decoder-accepts-qos3",
    target: "decoder",
    file: "modules/mqtt/codec/decoder.ts",
    find: 'if (qos === 3) throw malformed("PUBLISH with QoS 3 [MQTT-3.3.1-4]");',
    replace: "",
    expect: ["round-trip", "valid-decodes"],
  },
  {
    name: "decoder-typeerror-on-short-property",
    target: "decoder",
    file: "modules/mqtt/codec/properties.ts",
    find: "if (p + 2 > end) throw overrun(desc);",
    replace: 'if (p + 2 > end) throw new TypeError("short property");',
    expect: ["only-mqtt-error"],
  },
  {
    name: "decoder-skips-size-check-in-chunk",
    target: "decoder",
    file: "modules/mqtt/codec/decoder.ts",
    find: "    if (total > this.maximumPacketSize) throw this.tooLarge(total);\n    if (start + total > end) {",
    replace: "    if (start + total > end) {",
    expect: ["max-size", "valid-decodes", "split-invariance"],
  },
  {
    name: "decoder-error-not-sticky",
    target: "decoder",
    file: "modules/mqtt/codec/decoder.ts",
    find: "    if (this.failure) throw this.failure;\n    try {",
    replace: "    if (this.failure) {\n      const f = this.failure;\n      this.failure = undefined;\n      throw f;\n    }\n    try {",
    expect: ["sticky-error"],
  },
  {
    name: "decoder-string-overruns-packet",
    target: "decoder",
    file: "modules/mqtt/codec/decoder.ts",
    find: "    const n = this.u16(what);\n    this.need(n, what);\n    const p = this.p;\n    this.p = p + n;\n    return decodeUtf8(",
    replace: "    const n = this.u16(what);\n    const p = this.p;\n    this.p = p + n;\n    return decodeUtf8(",
    expect: ["round-trip", "split-invariance", "valid-decodes", "max-size", "view-lifetime", "only-mqtt-error"],
  },
  {
    name: "decoder-keeps-every-chunk",
    target: "decoder",
    file: "modules/mqtt/codec/decoder.ts",
    find: "    if (this.failure) return;\n    const left",
    replace:
      "    ((this as unknown as { kept?: Uint8Array[] }).kept ??= []).push(chunk.slice());\n    if (this.failure) return;\n    const left",
    expect: ["memory"],
  },
  {
    name: "session-puback-not-reported",
    target: "session",
    file: "modules/mqtt/session.ts",
    find: "    this.inflight -= 1;\n    this.emitPublished(p, 1);",
    replace: "    this.inflight -= 1;",
    expect: ["no-loss", "reconnect"],
  },
  {
    name: "session-receive-lets-errors-escape",
    target: "session",
    file: "modules/mqtt/session.ts",
    find: '        this.fail(e instanceof MqttError ? e : new MqttError(ErrorCode.MalformedPacket, String(e), "remote"), true);\n        return;',
    replace: "        throw e;",
    expect: ["no-throw"],
  },
  {
    name: "outbox-ignores-ids-in-use",
    target: "session",
    file: "modules/mqtt/outbox.ts",
    find: "if (this.lookup(id) === NONE && (inUse === undefined || !inUse(id))) return id;",
    replace: "if (this.lookup(id) === NONE) return id;",
    expect: ["packet-ids"],
  },
  {
    name: "session-delivers-qos2-twice",
    target: "session",
    file: "modules/mqtt/session.ts",
    find: "    if (p.qos === 2 && this.held.has(packetId)) {",
    replace: "    if (p.qos === 2 && this.held.has(packetId) && false) {",
    expect: ["exactly-once"],
  },
  {
    name: "session-ping-timer-spins",
    target: "session",
    file: "modules/mqtt/session.ts",
    find: "      t[T_PING] = now + this.pingWindow();",
    replace: "      t[T_PING] = now;",
    expect: ["timer"],
  },
];

function copyTree(dest) {
  rmSync(dest, { recursive: true, force: true });
  mkdirSync(dest, { recursive: true });
  cpSync(join(ROOT, "modules"), join(dest, "modules"), { recursive: true });
  cpSync(join(ROOT, "test", "fuzz"), join(dest, "test", "fuzz"), { recursive: true });
  cpSync(join(ROOT, "test", "support"), join(dest, "test", "support"), { recursive: true });
  for (const f of ["package.json", "tsconfig.json"]) cpSync(join(ROOT, f), join(dest, f));
  const corpus = join(dest, "test", "fuzz", "corpus");
  for (const f of readdirSync(corpus)) if (f.includes("regression")) rmSync(join(corpus, f));
}

async function run(dir, target) {
  const outfile = join(dir, ".build", `${target}.mjs`);
  await esbuild.build({
    entryPoints: [join(dir, "test", "fuzz", `${target}.fuzz.ts`)],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    logLevel: "silent",
  });
  const started = Date.now();
  const child = spawnSync(process.execPath, [outfile], {
    cwd: dir,
    env: { ...process.env, FUZZ_SECONDS: SECONDS, FUZZ_SEED: SEED, FUZZ_CORPUS: join(dir, "test", "fuzz", "corpus") },
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  const out = `${child.stdout}${child.stderr}`;
  const fails = [...out.matchAll(/^FAIL \S+ (?:case \d+ \(case seed \S+\) after ([\d.]+) s|corpus .*?|after \d+ cases \(([\d.]+) s\)|at the end of the run): ([\w-]+)$/gm)].map((m) => ({
    invariant: m[3],
    at: m[1] ?? m[2] ?? (/corpus/.test(m[0]) ? "corpus" : "end"),
  }));
  const counts = [...out.matchAll(/^(\d+) passed, (\d+) failed$/gm)].pop();
  const messages = [...out.matchAll(/^\s+(?:InvariantError: )?\[([\w-]+)\] (.*)$/gm)].map((m) => ({ invariant: m[1], text: m[2] }));
  return { code: child.status, out, fails, messages, counts: counts ? counts[0] : "(no count line)", ms: Date.now() - started };
}

const only = process.argv.slice(2);
const chosen = only.length ? MUTANTS.filter((m) => only.includes(m.name)) : MUTANTS;
let ok = true;
console.log(`prove-can-fail: FUZZ_SEED=${SEED}, FUZZ_SECONDS=${SECONDS}, regression corpus files left out`);

for (const target of [...new Set(chosen.map((m) => m.target))]) {
  const dir = join(WORK, `baseline-${target}`);
  copyTree(dir);
  const r = await run(dir, target);
  const pass = r.code === 0;
  ok &&= pass;
  console.log(`${pass ? "ok    " : "FAILED"} baseline ${target}: exit ${r.code}, ${r.counts}${pass ? "" : `, found ${r.fails.map((f) => f.invariant).join(", ") || "?"}`}`);
  if (!pass) console.log(r.out.split("\n").filter((l) => /^FAIL|Invariant|reproducer/.test(l)).slice(0, 10).join("\n"));
}

for (const m of chosen) {
  const dir = join(WORK, m.name);
  copyTree(dir);
  const path = join(dir, m.file);
  const text = readFileSync(path, "utf8");
  if (!text.includes(m.find)) {
    ok = false;
    console.log(`STALE  ${m.name}: the text to change was not found in ${m.file}`);
    continue;
  }
  writeFileSync(path, text.replace(m.find, m.replace));
  const r = await run(dir, m.target);
  const hit = r.fails.find((f) => m.expect.includes(f.invariant));
  const caught = r.code !== 0 && hit !== undefined;
  ok &&= caught;
  const where = hit ? `${hit.invariant} ${hit.at === "corpus" ? "while replaying the corpus" : hit.at === "end" ? "at the end of the run" : `after ${hit.at} s`}` : "";
  const others = r.fails.filter((f) => f !== hit).map((f) => f.invariant);
  console.log(
    `${caught ? "caught" : "MISSED"} ${m.name} (${m.file}): ${caught ? `by ${where}` : `exit ${r.code}, found [${r.fails.map((f) => f.invariant).join(", ")}], expected one of [${m.expect.join(", ")}]`}` +
      `${others.length ? `; also ${[...new Set(others)].join(", ")}` : ""}; ${r.counts}`,
  );
  const message = hit && r.messages.find((x) => x.invariant === hit.invariant);
  if (message) console.log(`       ${message.text.length > 200 ? `${message.text.slice(0, 200)}...` : message.text}`);
}
if (existsSync(WORK) && process.env.FUZZ_KEEP !== "1") rmSync(WORK, { recursive: true, force: true });
console.log(ok ? "prove-can-fail: every mutant was caught" : "prove-can-fail: NOT every mutant was caught (see above)");
process.exitCode = ok ? 0 : 1;
