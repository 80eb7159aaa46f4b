#!/usr/bin/env node
// Turns the verbose output of the interop tier into the results table of
// docs/interop.md: one row per scenario, one column per broker and host,
// each cell "pass (n)" or "FAIL (k of n)" with n the assertions counted,
// "–" where the combination does not apply.
//
//   TEST_VERBOSE=1 node test/run.mjs interop > .tmp/interop-run.txt
//   node test/interop/support/results-table.mjs < .tmp/interop-run.txt
//
// It reads the TAP the runner prints for each file (test names
// "[host] broker: scenario"); tests of other shapes (broker and host
// start/stop, files with their own test names) are summed per file below
// the table.

import { readFileSync } from "node:fs";

const input = readFileSync(0, "utf8").split("\n");
const rows = new Map(); // file + scenario -> { file, scenario, cells: Map("broker\u0000host" -> { pass, fail }) }
const others = new Map(); // file -> { pass, fail }
const brokers = [];
const hosts = [];
let file = "";
let current = null;

function remember(list, value) {
  if (!list.includes(value)) list.push(value);
}

for (const raw of input) {
  const fileLine = /^\s+(?:ok|FAIL)\s+(\S+\.test\.ts)\s/.exec(raw);
  if (fileLine) {
    file = fileLine[1];
    current = null;
    continue;
  }
  const line = raw.trim();
  const title = /^# (.*)$/.exec(line);
  if (title && !/^(tests|pass|fail|ok)\b/.test(title[1])) {
    const named = /^\[(\w+)\] ([^:]+): (.*)$/.exec(title[1]);
    if (named) {
      const [, host, broker, scenario] = named;
      remember(hosts, host);
      remember(brokers, broker);
      const key = `${file}\u0000${scenario}`;
      if (!rows.has(key)) rows.set(key, { file, scenario, cells: new Map() });
      const cells = rows.get(key).cells;
      const cellKey = `${broker}\u0000${host}`;
      if (!cells.has(cellKey)) cells.set(cellKey, { pass: 0, fail: 0 });
      current = cells.get(cellKey);
    } else {
      if (!others.has(file)) others.set(file, { pass: 0, fail: 0 });
      current = others.get(file);
    }
    continue;
  }
  if (current === null) continue;
  if (/^ok \d+/.test(line)) current.pass += 1;
  else if (/^not ok \d+/.test(line)) current.fail += 1;
}

const columns = brokers.flatMap((broker) => hosts.map((host) => ({ broker, host })));
const cell = (result) => {
  if (result === undefined) return "–";
  const n = result.pass + result.fail;
  return result.fail === 0 ? `pass (${n})` : `**FAIL** (${result.fail} of ${n})`;
};
const out = [];
out.push(`| file | scenario | ${columns.map((c) => `${c.broker}, ${c.host}`).join(" | ")} |`);
out.push(`| --- | --- | ${columns.map(() => "---").join(" | ")} |`);
for (const row of rows.values()) {
  const cells = columns.map((c) => cell(row.cells.get(`${c.broker}\u0000${c.host}`)));
  out.push(`| ${row.file.replace(/\.test\.ts$/, "")} | ${row.scenario} | ${cells.join(" | ")} |`);
}
if (others.size > 0) {
  out.push("");
  out.push("Other tests, summed per file (broker and host start/stop; files with their own test names):");
  out.push("");
  for (const [name, result] of others) out.push(`- ${name}: ${cell(result)}`);
}
console.log(out.join("\n"));
