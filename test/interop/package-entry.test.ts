/**
 * The Node package entry: `npm run build` makes dist/, and the package's
 * `exports` let Node code `import { connect } from "mqtt-xs"` (ESM) and
 * `require("mqtt-xs")` (CJS). Each form is run in its own Node process
 * (package self-reference resolves "mqtt-xs" through `exports`) and does a
 * QoS 1 round trip with an aedes broker on 127.0.0.1.
 */
import test from "tape";
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { startAedes } from "../support/aedes";

const ROOT = process.cwd();

function roundTrip(loader: string, port: number): string {
  return `${loader}
const client = connect("mqtt://127.0.0.1:${port}", { clientId: "pkg-entry", reconnectPeriod: 0 });
client.on("connect", () => {
  client.subscribe("pkg/entry", { qos: 1 }, (err) => {
    if (err) { console.log("subscribe failed", err.message); process.exit(1); }
    client.publish("pkg/entry", "hello", { qos: 1 });
  });
});
client.on("message", (topic, payload) => {
  console.log("got", topic, payload.toString(), Buffer.isBuffer(payload));
  client.end(false, {}, () => process.exit(0));
});
setTimeout(() => { console.log("timeout"); process.exit(2); }, 10000);
`;
}

/** Runs a child Node process without blocking this one (the broker lives here). */
function runNode(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: ROOT });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (status) => resolve({ status, stdout, stderr }));
  });
}

test("npm run build makes the ESM and CJS bundles and their declarations", (t) => {
  const run = spawnSync(process.execPath, ["scripts/build.mjs"], { cwd: ROOT, encoding: "utf8" });
  t.equal(run.status, 0, `build exits 0 ${run.stderr}`);
  for (const file of ["dist/mqtt-xs.js", "dist/mqtt-xs.cjs", "dist/types/hosts/node/mqtt.d.ts", "dist/types-cjs/hosts/node/mqtt.d.cts"]) {
    t.ok(existsSync(`${ROOT}/${file}`), `${file} exists`);
  }
  t.end();
});

test('import { connect } from "mqtt-xs" and require("mqtt-xs") both round-trip a QoS 1 message', async (t) => {
  const broker = await startAedes();
  try {
    const esm = await runNode(["--input-type=module", "-e", roundTrip('import { connect } from "mqtt-xs";', broker.port)]);
    t.equal(esm.status, 0, `ESM process exits 0 (${esm.stderr.trim()})`);
    t.equal(esm.stdout.trim(), "got pkg/entry hello true", "ESM: message arrives as a Buffer");
    const cjs = await runNode(["-e", roundTrip('const { connect } = require("mqtt-xs");', broker.port)]);
    t.equal(cjs.status, 0, `CJS process exits 0 (${cjs.stderr.trim()})`);
    t.equal(cjs.stdout.trim(), "got pkg/entry hello true", "CJS: message arrives as a Buffer");
  } finally {
    await broker.stop();
  }
});
