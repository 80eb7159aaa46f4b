/**
 * FileStore (hosts/node/file-store.ts): round trip, missing file, atomic
 * replacement through a temp file, clear. Node-only (real files in a
 * temporary directory).
 */
import test from "tape";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileStore } from "../../hosts/node/file-store";
import { SessionPersistence } from "../../modules/persist/session-persistence";
import { Session } from "../../modules/mqtt/session";

test("FileStore: missing file loads undefined; save/load round trip; clear", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "mqtt-xs-store-"));
  try {
    const path = join(dir, "node.session");
    const store = new FileStore(path);
    t.equal(store.load(), undefined);
    store.save(new Uint8Array([1, 2, 3, 250]));
    t.deepEqual(Array.from(store.load()!), [1, 2, 3, 250]);
    t.deepEqual(readdirSync(dir), ["node.session"], "no temp file left behind");
    store.save(new Uint8Array([9]));
    t.deepEqual(Array.from(new FileStore(path).load()!), [9], "replaced");
    store.clear();
    t.equal(store.load(), undefined);
    t.equal(existsSync(path), false);
    store.clear();
    t.pass("clearing twice is fine");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  t.end();
});

test("FileStore: a stale temp file from a crash mid-save does not affect load, and the next save replaces it", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "mqtt-xs-store-"));
  try {
    const path = join(dir, "s");
    const store = new FileStore(path);
    store.save(new Uint8Array([1, 1]));
    writeFileSync(`${path}.tmp`, Buffer.from([7, 7, 7])); // crashed before the rename
    t.deepEqual(Array.from(store.load()!), [1, 1], "the old copy");
    store.save(new Uint8Array([2]));
    t.deepEqual(Array.from(store.load()!), [2]);
    t.deepEqual(readdirSync(dir), ["s"]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  t.end();
});

test("FileStore behind SessionPersistence: a session's QoS 1 message survives a simulated restart", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "mqtt-xs-store-"));
  try {
    const path = join(dir, "s");
    const a = new Session({ clientId: "f", clean: false });
    const pa = new SessionPersistence(new FileStore(path), { outbox: a.outbox, session: a });
    pa.restore(0);
    a.publish("t", "kept", { qos: 1 }, 0);
    pa.flush(0);
    const b = new Session({ clientId: "f", clean: false });
    const result = new SessionPersistence(new FileStore(path), { outbox: b.outbox, session: b }).restore(5);
    t.equal(result.restored, true);
    t.equal(b.outbox.counters.queued, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  t.end();
});

test("FileStore: constructor checks", (t) => {
  t.throws(() => new FileStore(""), TypeError);
  t.end();
});
