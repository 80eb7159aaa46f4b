#!/usr/bin/env node
// Builds the Node package (npm run build):
//
//   dist/mqtt-xs.js        ESM bundle of hosts/node/mqtt.ts (esbuild, platform node)
//   dist/mqtt-xs.cjs       CJS bundle of the same entry
//   dist/types/**.d.ts     declarations from the sources (tsc -p tsconfig.build.json),
//                          relative specifiers rewritten to "./x.js" so that
//                          "moduleResolution": "node16"/"nodenext" consumers resolve them
//   dist/types-cjs/**.d.cts the same declarations for require() consumers
//                          (specifiers "./x.cjs"), since the package is "type": "module"
//
// The bundles have no runtime dependencies (node: builtins only). Sources
// keep extensionless imports (they are also compiled by mcconfig for XS).

import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const DIST = join(ROOT, "dist");
const ENTRY = join(ROOT, "hosts", "node", "mqtt.ts");

rmSync(DIST, { recursive: true, force: true });

const common = {
  entryPoints: [ENTRY],
  bundle: true,
  platform: "node",
  target: "node20",
  logLevel: "warning",
  legalComments: "none",
};
await esbuild.build({ ...common, format: "esm", outfile: join(DIST, "mqtt-xs.js") });
await esbuild.build({ ...common, format: "cjs", outfile: join(DIST, "mqtt-xs.cjs") });

const tsc = spawnSync(process.execPath, [join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", join(ROOT, "tsconfig.build.json")], {
  stdio: "inherit",
});
if (tsc.status !== 0) {
  console.error("build: tsc failed");
  process.exit(1);
}

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...walk(path));
    else out.push(path);
  }
  return out;
}

// from "./x" / import("./x") / declare module "./x"  ->  "./x.js" (or .cjs)
const SPECIFIER = /((?:from|import)\s*\(?\s*["'])(\.{1,2}\/[^"']*?)(["'])/g;

function rewrite(source, extension) {
  return source.replace(SPECIFIER, (match, head, spec, tail) => {
    if (/\.(m|c)?js$/.test(spec)) return match;
    return `${head}${spec}${extension}${tail}`;
  });
}

const TYPES = join(DIST, "types");
const TYPES_CJS = join(DIST, "types-cjs");
let files = 0;
for (const file of walk(TYPES)) {
  if (!file.endsWith(".d.ts")) continue;
  const source = readFileSync(file, "utf8");
  writeFileSync(file, rewrite(source, ".js"));
  const target = join(TYPES_CJS, relative(TYPES, file)).replace(/\.d\.ts$/, ".d.cts");
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, rewrite(source, ".cjs"));
  files += 1;
}
console.log(`build: dist/mqtt-xs.js, dist/mqtt-xs.cjs, ${files} declaration files (ESM and CJS)`);
