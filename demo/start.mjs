#!/usr/bin/env node
// `npm start`: bundles demo/main.ts for Node with esbuild (a dev dependency,
// so this works on a fresh clone after `npm ci`, with no build step) and runs
// it. Arguments after `npm start --` are passed on; see demo/main.ts or
// `npm start -- --help`.
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import * as esbuild from "esbuild";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const outfile = join(ROOT, ".tmp", "demo", `main-${process.pid}.mjs`);

await esbuild.build({
  entryPoints: [join(ROOT, "demo", "main.ts")],
  outfile,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  packages: "external",
  sourcemap: "inline",
  absWorkingDir: ROOT,
  logLevel: "warning",
});

let code = 1;
try {
  const { main } = await import(pathToFileURL(outfile).href);
  code = await main(process.argv.slice(2), ROOT);
} finally {
  const { rmSync } = await import("node:fs");
  rmSync(outfile, { force: true });
}
// Every socket, timer and worker is closed by now; exit explicitly anyway so
// a stray handle cannot keep a finished demo alive.
process.exit(code);
