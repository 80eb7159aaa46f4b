/**
 * Stores for the persisted session: FlashStore on a simulated NOR flash
 * partition (round trip, wear spread over the slots, power cut at every
 * step of a save, torn headers, a corrupted copy falling back to the older
 * one, NOR programming and alignment rules), PreferenceStore on a fake
 * Moddable Preference, MemoryStore. Runs on Node and inside XS.
 */
import test from "tape";
import { FlashStore } from "../../modules/persist/flash-store";
import { MemoryStore } from "../../modules/persist/memory-store";
import { PreferenceStore } from "../../modules/persist/preference-store";
import { FakeFlash, FakePreference } from "./support/fake-flash";

/** A t.throws predicate: the error message matches `pattern`. */
function message(pattern: RegExp): (error: unknown) => boolean {
  return (error) => error instanceof Error && pattern.test(error.message);
}

function blob(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (seed * 31 + i * 7) & 0xff;
  return out;
}

test("FlashStore: empty partition loads undefined; save/load round trip of sizes 0..slot capacity", (t) => {
  const flash = new FakeFlash(4 * 4096, 4096);
  const store = new FlashStore(flash);
  t.equal(store.load(), undefined);
  t.equal(store.maxBytes, 4096 - 16);
  for (const n of [0, 1, 3, 4, 5, 100, 4080]) {
    store.save(blob(n, n));
    t.deepEqual(Array.from(store.load()!), Array.from(blob(n, n)), `${n} bytes`);
    t.deepEqual(Array.from(new FlashStore(flash).load()!), Array.from(blob(n, n)), `${n} bytes, new instance (after a reboot)`);
  }
  t.ok(flash.writes.every(([o, l]) => o % 4 === 0 && l % 4 === 0), "every write 4-byte aligned (ESP8266 spi_flash_write)");
  t.end();
});

test("FlashStore: saves rotate through the slots (wear spread), never erasing the slot with the current copy", (t) => {
  const flash = new FakeFlash(4 * 4096, 4096);
  const store = new FlashStore(flash);
  for (let i = 0; i < 40; i++) store.save(blob(64, i));
  t.deepEqual(flash.erases, [10, 10, 10, 10], "40 saves over 4 blocks: 10 erases each");
  t.deepEqual(Array.from(new FlashStore(flash).load()!), Array.from(blob(64, 39)));
  t.end();
});

test("FlashStore: a power cut at any step of a save leaves the previous copy (or the new one) loadable, never a mix", (t) => {
  // One save = erase + blob write + header write; torn writes stop after 5 bytes.
  let checked = 0;
  for (let step = 0; step < 3; step++) {
    for (const torn of [0, 5, 12]) {
      const flash = new FakeFlash(3 * 4096, 4096);
      const store = new FlashStore(flash);
      store.save(blob(200, 1));
      store.save(blob(300, 2));
      flash.cutAfter(step, torn);
      t.throws(() => store.save(blob(250, 3)), message(/power/));
      flash.restore();
      const got = Array.from(new FlashStore(flash).load()!);
      t.deepEqual(got, Array.from(blob(300, 2)), `cut at step ${step} after ${torn} bytes: previous copy`);
      checked++;
    }
  }
  const flash = new FakeFlash(3 * 4096, 4096);
  const store = new FlashStore(flash);
  store.save(blob(300, 2));
  flash.cutAfter(3);
  store.save(blob(250, 3));
  flash.restore();
  t.deepEqual(Array.from(new FlashStore(flash).load()!), Array.from(blob(250, 3)), "a save that completed before the cut is the one loaded");
  t.equal(checked, 9);
  t.end();
});

test("FlashStore: a copy whose blob is corrupted falls back to the next older copy", (t) => {
  const flash = new FakeFlash(4 * 4096, 4096);
  const store = new FlashStore(flash);
  store.save(blob(100, 1));
  store.save(blob(100, 2));
  store.save(blob(100, 3));
  flash.bytes[2 * 4096 + 16 + 10] &= 0x0f; // a bit flip inside the newest blob (slot 2)
  t.deepEqual(Array.from(new FlashStore(flash).load()!), Array.from(blob(100, 2)));
  const next = new FlashStore(flash);
  next.load();
  next.save(blob(10, 4));
  t.deepEqual(Array.from(new FlashStore(flash).load()!), Array.from(blob(10, 4)), "the next save outranks the damaged copy");
  t.end();
});

test("FlashStore: clear() forgets every copy; saving afterwards works", (t) => {
  const flash = new FakeFlash(4 * 4096, 4096);
  const store = new FlashStore(flash);
  store.save(blob(10, 1));
  store.save(blob(10, 2));
  store.clear();
  t.equal(store.load(), undefined);
  t.equal(new FlashStore(flash).load(), undefined, "after a reboot too");
  const erasesAfterClear = flash.erases.slice();
  store.clear();
  t.deepEqual(flash.erases, erasesAfterClear, "clearing an empty store erases nothing");
  store.save(blob(10, 3));
  t.deepEqual(Array.from(new FlashStore(flash).load()!), Array.from(blob(10, 3)));
  t.end();
});

test("FlashStore: multi-block slots, size and geometry checks", (t) => {
  const flash = new FakeFlash(8 * 4096, 4096);
  const store = new FlashStore(flash, { slotSize: 8192 });
  t.equal(store.slots, 4);
  store.save(blob(6000, 5));
  t.deepEqual(Array.from(new FlashStore(flash, { slotSize: 8192 }).load()!), Array.from(blob(6000, 5)));
  t.throws(() => store.save(new Uint8Array(8192 - 15)), RangeError, "one byte over the capacity");
  t.throws(() => new FlashStore(new FakeFlash(4096, 4096)), message(/at least two slots/));
  t.throws(() => new FlashStore(flash, { slotSize: 5000 }), message(/multiple of the block size/));
  t.throws(() => new FlashStore({} as never), TypeError);
  t.end();
});

test("PreferenceStore: round trip as an ArrayBuffer value; NVS limits checked", (t) => {
  const pref = new FakePreference();
  const store = new PreferenceStore(pref);
  t.equal(store.load(), undefined);
  store.save(blob(500, 1));
  t.ok(pref.values.get("mqttxs/session") instanceof ArrayBuffer, "stored under domain mqttxs, key session, as an ArrayBuffer");
  t.deepEqual(Array.from(store.load()!), Array.from(blob(500, 1)));
  t.throws(() => store.save(new Uint8Array(4001)), message(/4000/));
  t.deepEqual(Array.from(store.load()!), Array.from(blob(500, 1)), "a refused save changes nothing");
  store.clear();
  t.equal(store.load(), undefined);
  pref.set("mqttxs", "session", "not binary");
  t.equal(store.load(), undefined, "a non-binary value is not a blob");
  t.throws(() => new PreferenceStore(pref, { key: "a-very-long-key-name" }), message(/15/));
  t.throws(() => new PreferenceStore({} as never), TypeError);
  t.end();
});

test("MemoryStore: copies in and out, counts saves and clears", (t) => {
  const store = new MemoryStore({ maxBytes: 8 });
  const bytes = blob(4, 1);
  store.save(bytes);
  bytes[0] ^= 0xff;
  t.deepEqual(Array.from(store.load()!), Array.from(blob(4, 1)), "kept a copy");
  const out = store.load()!;
  out[1] ^= 0xff;
  t.deepEqual(Array.from(store.load()!), Array.from(blob(4, 1)), "hands out copies");
  t.throws(() => store.save(new Uint8Array(9)), RangeError);
  store.clear();
  t.equal(store.load(), undefined);
  t.deepEqual([store.saves, store.clears], [1, 1]);
  t.end();
});
