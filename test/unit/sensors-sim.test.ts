// The simulated buses and devices themselves (hosts/sim): SimI2C's checks and
// bus timing, the SHT4x model's state machine, SimAnalog, SimDigital, and the
// seeded drift used by demos. The drivers' tests rely on these behaving like
// the hardware, so they are pinned here.
import test from "tape";
import { SimClock } from "../../hosts/sim/clock";
import { SimI2C } from "../../hosts/sim/i2c";
import { Sht4xModel } from "../../hosts/sim/sht4x-model";
import { SimAnalog } from "../../hosts/sim/analog";
import { SimDigital } from "../../hosts/sim/digital";
import { Drift, Prng } from "../../hosts/sim/drift";

function near(a: number, b: number): boolean {
  return Math.abs(a - b) < 1e-9;
}

test("SimI2C requires data, clock, hz, address and a model, as a board does (ECMA-419 §10.5)", (t) => {
  const model = new Sht4xModel();
  const ok = { data: 1, clock: 2, hz: 100_000, address: 0x44, model };
  t.doesNotThrow(() => new SimI2C(ok));
  t.throws(() => new SimI2C({ ...ok, data: undefined }), RangeError, "data");
  t.throws(() => new SimI2C({ ...ok, clock: undefined }), RangeError, "clock");
  t.throws(() => new SimI2C({ ...ok, hz: undefined }), RangeError, "hz");
  t.throws(() => new SimI2C({ ...ok, address: 128 }), RangeError, "address");
  t.throws(() => new SimI2C({ ...ok, model: undefined }), TypeError, "model");
  t.end();
});

test("SimI2C advances the model's clock by the bus time: 10 + 9n + 1 bits, 11 for a NACK", (t) => {
  const clock = new SimClock();
  const model = new Sht4xModel({ clock });
  const i2c = new SimI2C({ data: 1, clock: 2, hz: 100_000, address: 0x44, model });
  i2c.write(new Uint8Array([0x89]));
  t.ok(near(clock.now(), 0.2), "20 bits at 100 kHz = 0.2 ms");
  const buffer = new Uint8Array(6);
  t.equal(i2c.read(buffer), 6, "read(buffer) returns the count (ECMA-419 §9.4)");
  t.ok(near(clock.now(), 0.2 + 0.65), "65 bits");
  t.throws(() => i2c.read(6), Error, "nothing pending: NACK throws");
  t.ok(near(clock.now(), 0.85 + 0.11), "11 bits");
  t.deepEqual(
    model.transactions.map((x) => [x.op, x.ack, x.stop]),
    [
      ["write", true, true],
      ["read", true, true],
      ["read", false, true],
    ],
  );
  i2c.close();
  t.throws(() => i2c.write(new Uint8Array([0x94])), Error, "closed");
  t.end();
});

test("SimI2C read(count) returns a new ArrayBuffer; write copies the caller's bytes", (t) => {
  const model = new Sht4xModel({ serialNumber: 0x01020304 });
  const i2c = new SimI2C({ data: 1, clock: 2, hz: 400_000, address: 0x44, model });
  const cmd = new Uint8Array([0x00, 0x89, 0x00]).subarray(1, 2);
  i2c.write(cmd);
  cmd[0] = 0xff;
  t.deepEqual(model.transactions[0].bytes, [0x89], "the view's byte, copied at write time");
  const result = i2c.read(8);
  t.ok(result instanceof ArrayBuffer);
  t.deepEqual(Array.from(new Uint8Array(result as ArrayBuffer)), [0x01, 0x02, 0x17, 0x03, 0x04, 0x68, 0xff, 0xff], "bytes past the response read 0xFF");
  t.end();
});

test("SHT4x model: NACKs while measuring, answers after the maximum time, then goes idle", (t) => {
  const clock = new SimClock();
  const model = new Sht4xModel({ clock });
  const i2c = new SimI2C({ data: 1, clock: 2, hz: 1_000_000, address: 0x44, model });
  i2c.write(new Uint8Array([0xe0]));
  t.equal(model.busy, true);
  t.throws(() => i2c.read(6), Error, "measuring: NACK");
  t.throws(() => i2c.write(new Uint8Array([0x89])), Error, "measuring: commands NACKed too");
  clock.advance(1.7);
  t.equal(model.busy, false);
  t.doesNotThrow(() => i2c.read(6), "after 1.7 ms");
  t.throws(() => i2c.read(6), Error, "response consumed: NACK");
  t.equal(model.measurements, 1);
  t.end();
});

test("SHT4x model: soft reset drops the response and is busy 1 ms; unknown and 2-byte commands NACK; empty write probes", (t) => {
  const clock = new SimClock();
  const model = new Sht4xModel({ clock });
  const i2c = new SimI2C({ data: 1, clock: 2, hz: 1_000_000, address: 0x44, model });
  i2c.write(new Uint8Array([0x89]));
  i2c.write(new Uint8Array([0x94]));
  t.throws(() => i2c.write(new Uint8Array(0)), Error, "resetting: even a probe is NACKed");
  clock.advance(1);
  t.throws(() => i2c.read(6), Error, "the serial response was dropped by the reset");
  t.doesNotThrow(() => i2c.write(new Uint8Array(0)), "probe acknowledged");
  t.throws(() => i2c.write(new Uint8Array([0x77])), Error, "unknown command");
  t.throws(() => i2c.write(new Uint8Array([0xfd, 0x00])), Error, "two bytes");
  t.equal(model.resets, 1);
  t.equal(model.measurements, 0);
  t.end();
});

test("SHT4x model: temperature and humidity become the datasheet's raw words, clamped", (t) => {
  const model = new Sht4xModel({ temperature: 200, humidity: -50 });
  const i2c = new SimI2C({ data: 1, clock: 2, hz: 1_000_000, address: 0x44, model });
  i2c.write(new Uint8Array([0xfd]));
  model.clock.advance(8.3);
  const b = new Uint8Array(i2c.read(6) as ArrayBuffer);
  t.deepEqual(Array.from(b), [0xff, 0xff, 0xac, 0x00, 0x00, 0x81], "200 °C -> 0xFFFF, -50 %RH -> 0x0000");
  t.end();
});

test("SHT4x model: the transaction log keeps the newest logLimit entries", (t) => {
  const model = new Sht4xModel({ logLimit: 2 });
  const i2c = new SimI2C({ data: 1, clock: 2, hz: 1_000_000, address: 0x44, model });
  i2c.write(new Uint8Array([0x89]));
  i2c.read(6);
  i2c.write(new Uint8Array([0x94]));
  t.deepEqual(
    model.transactions.map((x) => x.op),
    ["read", "write"],
  );
  t.deepEqual(model.transactions[1].bytes, [0x94]);
  t.end();
});

test("SimAnalog rounds and clamps to the resolution and counts reads", (t) => {
  const values = [-3, 12.4, 12.6, 5000];
  let i = 0;
  const a = new SimAnalog({ pin: 1, resolution: 12, source: () => values[i++] });
  t.equal(a.resolution, 12);
  t.deepEqual([a.read(), a.read(), a.read(), a.read()], [0, 12, 13, 4095]);
  t.equal(a.reads, 4);
  const b = new SimAnalog({ pin: 1, value: 7 });
  t.equal(b.read(), 7, "value when there is no source");
  b.value = 9;
  t.equal(b.read(), 9);
  t.throws(() => new SimAnalog({}), RangeError, "pin required");
  t.throws(() => new SimAnalog({ pin: 1, resolution: 0 }), RangeError);
  b.close();
  t.throws(() => b.read(), Error);
  t.end();
});

test("SimDigital: outputs record writes and refuse read; inputs refuse write", (t) => {
  const out = new SimDigital({ pin: 2, mode: SimDigital.Output, initialValue: 1, logLimit: 3 });
  t.equal(out.level, 1);
  out.write(0);
  out.write(1);
  out.write(0);
  out.write(0);
  t.deepEqual(out.writes, [1, 0, 0], "newest 3");
  t.equal(out.writeCount, 4);
  t.throws(() => out.read(), Error);
  t.throws(() => out.write(2), RangeError);
  const inverted = new SimDigital({ pin: 3, mode: SimDigital.Output, activeLow: true });
  t.equal(inverted.level, 1, "value 0 is level 1 when activeLow (3rd ed.)");
  const input = new SimDigital({ pin: 4, mode: SimDigital.InputPullUp });
  input.input = 1;
  t.equal(input.read(), 1);
  t.throws(() => input.write(1), Error);
  t.throws(() => new SimDigital({ pin: 4 }), RangeError, "mode required");
  t.throws(() => new SimDigital({ pin: 4, mode: 99 }), RangeError);
  t.end();
});

test("Prng is Marsaglia's xorshift32: seed 1 gives 270369 first", (t) => {
  const p = new Prng(1);
  t.equal(p.nextUint32(), 270369);
  t.equal(p.nextUint32(), 67634689);
  const zero = new Prng(0);
  t.notEqual(zero.nextUint32(), 0, "seed 0 is replaced, never stuck at 0");
  t.end();
});

test("Drift: same seed, same walk; stays within bounds; reverts toward the mean", (t) => {
  const options = { seed: 0x5eed, min: 15, max: 30, initial: 21, sigma: 0.5, reversion: 0.05 };
  const a = new Drift(options);
  const b = new Drift(options);
  const c = new Drift({ ...options, seed: 0x5eee });
  let same = true;
  let differs = false;
  let inside = true;
  let sum = 0;
  for (let i = 0; i < 5000; i++) {
    const x = a.next();
    same &&= x === b.next();
    differs ||= x !== c.next();
    inside &&= x >= 15 && x <= 30;
    sum += x;
  }
  t.ok(same, "replayable from the seed");
  t.ok(differs, "another seed, another walk");
  t.ok(inside, "never outside [15, 30]");
  t.ok(Math.abs(sum / 5000 - 21) < 1, `long-run mean ${sum / 5000} near 21`);
  t.throws(() => new Drift({ seed: 1, min: 5, max: 5 }), RangeError);
  t.throws(() => new Drift({ seed: 1, min: 0, max: 1, initial: 2 }), RangeError);
  t.end();
});

test("Drift.at takes one step per stepMs of caller time", (t) => {
  const d = new Drift({ seed: 7, min: 0, max: 100, stepMs: 1000 });
  const twin = new Drift({ seed: 7, min: 0, max: 100, stepMs: 1000 });
  t.equal(d.at(50_000), 50, "first call sets the reference, no step");
  t.equal(d.at(50_999), 50, "less than one step");
  d.at(53_500);
  twin.next();
  twin.next();
  twin.next();
  t.equal(d.value, twin.value, "3 steps");
  d.at(54_000);
  twin.next();
  t.equal(d.value, twin.value, "the half step left over counts");
  t.equal(d.at(10_000), d.value, "time going backwards takes no step");
  t.end();
});
