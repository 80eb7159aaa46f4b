/**
 * Moddable manifests (Node only: reads files; run from the repository root).
 * Guards the two Moddable build rules found with a real mcconfig/xsl build:
 * - module specifiers mirror the folders under modules/ ("mqtt-xs/<path>"),
 *   because XS resolves relative imports against the importing specifier
 *   (else xsl: `module "../mqtt/outbox" not found`);
 * - every TypeScript module is preloaded by name (mcconfig applies wildcard
 *   preload entries to .js files only).
 * The two adapters with bare imports only ("mqtt-xs/moddable",
 * "mqtt-xs/transport") are the exceptions.
 */
import test from "tape";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";

const ROOT = process.cwd();
const MODULES = join(ROOT, "modules");
const ALIASES: Record<string, string[]> = {
  "mqtt-xs/moddable": ["io/moddable/host"],
  "mqtt-xs/transport": ["io/moddable/resolving-tcp", "io/moddable/native-tcp-socket"],
};

function walk(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path, out);
    else out.push(path);
  }
  return out;
}

const manifests = walk(MODULES).filter((p) => /\/manifest[^/]*\.json$/.test(p));
const registered = new Map<string, string>(); // source (relative to modules/, no extension) -> specifier
const preloaded = new Set<string>();
for (const file of manifests) {
  const m = JSON.parse(readFileSync(file, "utf8")) as { modules?: Record<string, string>; preload?: string[] };
  const dir = relative(MODULES, join(file, ".."));
  for (const [specifier, source] of Object.entries(m.modules ?? {})) {
    if (source.startsWith("$(") || source.startsWith("../../")) continue;
    registered.set(join(dir, source), specifier);
  }
  for (const p of m.preload ?? []) preloaded.add(p);
}

test("every TypeScript module under modules/ is registered with a mirrored specifier and preloaded", (t) => {
  const sources = walk(MODULES).filter((p) => p.endsWith(".ts") && !p.endsWith(".d.ts"));
  for (const path of sources) {
    const rel = relative(MODULES, path).slice(0, -3);
    const specifier = registered.get(rel);
    const alias = Object.entries(ALIASES).find(([, files]) => files.includes(rel));
    const expected = alias ? alias[0] : `mqtt-xs/${rel}`;
    t.equal(specifier, expected, `${rel}.ts is registered as ${expected}`);
    t.ok(specifier !== undefined && preloaded.has(specifier), `${expected} is preloaded by name`);
  }
  t.end();
});
