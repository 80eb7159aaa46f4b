// SHT4x driver against the simulated I²C bus and the command-level SHT4x model
// (hosts/sim): exact bytes on the bus for every operation, waiting (delay and
// polling), CRC failures, serial number, conversions at the datasheet's
// extremes, option validation and the ECMA-419 lifecycle.
//
// CRC vectors: CRC(0xBEEF) = 0x92 is the datasheet's example ("Checksum
// Calculation"); the others were computed with an independent bitwise
// CRC-8 in Python (poly 0x31, init 0xFF, no reflection, final XOR 0).
import test from "tape";
import { Sht4x, crc8, convertHumidity, convertTemperature, Sht4xCommand } from "../../modules/sensors/sht4x";
import type { Sht4xOptions } from "../../modules/sensors/sht4x";
import type { I2COptions } from "../../modules/sensors/io-types";
import { SensorError, SensorErrorCode } from "../../modules/sensors/sensor-error";
import { SimClock } from "../../hosts/sim/clock";
import { SimI2C } from "../../hosts/sim/i2c";
import type { SimI2CModel } from "../../hosts/sim/i2c";
import { Sht4xModel } from "../../hosts/sim/sht4x-model";

/** SimI2C that remembers the options it was constructed with and whether it was closed. */
class SpyI2C extends SimI2C {
  static constructed: I2COptions[] = [];
  static closed = 0;
  constructor(options: I2COptions) {
    super(options);
    SpyI2C.constructed.push(options);
  }
  override close(): void {
    SpyI2C.closed++;
    super.close();
  }
}

function resetSpy(): void {
  SpyI2C.constructed = [];
  SpyI2C.closed = 0;
}

interface Rig {
  clock: SimClock;
  model: Sht4xModel;
  delays: number[];
  sht: Sht4x;
}

/** A driver on a fresh model; `withDelay` gives it a delay that advances the sim clock and is recorded. */
function rig(withDelay: boolean, extra: Partial<Sht4xOptions> = {}, modelAddress = 0x44): Rig {
  const clock = new SimClock();
  const model = new Sht4xModel({ clock, address: modelAddress, temperature: 25, humidity: 50, logLimit: 4096 });
  const delays: number[] = [];
  const options: Sht4xOptions = { sensor: { io: SimI2C, data: 21, clock: 22, model }, ...extra };
  if (withDelay) {
    options.delay = (ms: number) => {
      delays.push(ms);
      clock.advance(ms);
    };
  }
  const sht = new Sht4x(options);
  return { clock, model, delays, sht };
}

/** The transactions as [op, bytes, ack] triples. */
function wire(model: Sht4xModel): Array<[string, number[], boolean]> {
  return model.transactions.map((t) => [t.op, t.bytes, t.ack] as [string, number[], boolean]);
}

function isSensorError(code: number): (err: unknown) => boolean {
  return (err) => err instanceof SensorError && err.code === code;
}

function near(a: number, b: number): boolean {
  return Math.abs(a - b) < 1e-9;
}

test("crc8 matches the datasheet example CRC(0xBEEF) = 0x92 and independent vectors", (t) => {
  t.equal(crc8(0xbe, 0xef), 0x92, "datasheet example");
  t.equal(crc8(0x00, 0x00), 0x81);
  t.equal(crc8(0xff, 0xff), 0xac);
  t.equal(crc8(0x66, 0x66), 0x93);
  t.equal(crc8(0x72, 0xb0), 0xdc);
  t.equal(crc8(0x80, 0x00), 0xa2);
  t.end();
});

test("conversion formulas at the datasheet's extremes 0x0000 and 0xFFFF", (t) => {
  t.equal(convertTemperature(0x0000), -45, "S_T = 0 -> -45 °C");
  t.equal(convertTemperature(0xffff), 130, "S_T = 0xFFFF -> 130 °C");
  t.equal(convertHumidity(0x0000), 0, "S_RH = 0 -> -6 %RH, cropped to 0");
  t.equal(convertHumidity(0xffff), 100, "S_RH = 0xFFFF -> 119 %RH, cropped to 100");
  t.ok(near(convertHumidity(0x8000), -6 + (125 * 0x8000) / 65535), "mid-scale is not cropped");
  t.ok(near(convertHumidity(3146), 0.000610360875868), "just above the lower crop point (3145.68)");
  t.equal(convertHumidity(3145), 0, "just below it");
  t.end();
});

test("constructor opens I2C with defaults 0x44 / 400 kHz under the caller's properties and soft-resets (0x94)", (t) => {
  resetSpy();
  const clock = new SimClock();
  const model = new Sht4xModel({ clock });
  const sensor = Object.freeze({ io: SpyI2C, data: 21, clock: 22, port: 1, model });
  const sht = new Sht4x({ sensor });
  t.equal(SpyI2C.constructed.length, 1, "one I2C instance");
  const o = SpyI2C.constructed[0];
  t.equal(o.address, 0x44, "default address");
  t.equal(o.hz, 400_000, "default hz");
  t.equal(o.data, 21, "data passed through");
  t.equal(o.clock, 22, "clock pin passed through");
  t.equal(o.port, 1, "port passed through");
  t.equal(o.model, model, "simulator field passed through");
  t.deepEqual(wire(model), [["write", [0x94], true]], "exactly one soft reset on the bus");
  t.equal(model.transactions[0].address, 0x44);
  t.equal(model.resets, 1);
  t.ok(near(clock.now(), (20 * 1000) / 400_000), "the write took 20 bit times at 400 kHz");
  sht.close();
  t.end();
});

test("caller's address and hz override the defaults", (t) => {
  resetSpy();
  const model = new Sht4xModel({ address: 0x45 });
  const sht = new Sht4x({ sensor: { io: SpyI2C, data: 21, clock: 22, model, address: 0x45, hz: 100_000 } });
  t.equal(SpyI2C.constructed[0].address, 0x45);
  t.equal(SpyI2C.constructed[0].hz, 100_000);
  t.deepEqual(wire(model), [["write", [0x94], true]]);
  t.equal(model.transactions[0].address, 0x45);
  sht.close();
  t.end();
});

test("sample with delay: 0xFD, wait 9 ms, read 6 bytes; values from the datasheet formulas", (t) => {
  const { clock, model, delays, sht } = rig(true);
  model.clearTransactions();
  const start = clock.now();
  const s = sht.sample();
  // 25 °C -> S_T = round(70 * 65535 / 175) = 26214 = 0x6666; 50 %RH -> S_RH = round(56 * 65535 / 125) = 29360 = 0x72B0
  t.deepEqual(
    wire(model),
    [
      ["write", [0xfd], true],
      ["read", [0x66, 0x66, 0x93, 0x72, 0xb0, 0xdc], true],
    ],
    "command, then T word + CRC, RH word + CRC",
  );
  t.deepEqual(delays, [1, 9], "1 ms after the constructor's reset, 9 ms (ceil 8.3) for the measurement");
  t.ok(model.transactions[1].time - model.transactions[0].time >= 8.3, "read issued after the 8.3 ms maximum");
  t.ok(near(s.thermometer.temperature, -45 + (175 * 0x6666) / 65535), `temperature ${s.thermometer.temperature}`);
  t.ok(near(s.hygrometer.humidity, -6 + (125 * 0x72b0) / 65535), `humidity ${s.hygrometer.humidity}`);
  t.ok(Math.abs(s.thermometer.temperature - 25) < 0.01 && Math.abs(s.hygrometer.humidity - 50) < 0.01);
  t.deepEqual(Object.keys(s).sort(), ["hygrometer", "thermometer"], "ECMA-419 §14.1 compound sample");
  t.ok(clock.now() - start >= 9, "sample took the wait");
  sht.close();
  t.end();
});

test("sample returns a new object on every call (ECMA-419 §13.3)", (t) => {
  const { sht } = rig(true);
  const a = sht.sample();
  const b = sht.sample();
  t.notEqual(a, b);
  t.notEqual(a.thermometer, b.thermometer);
  t.notEqual(a.hygrometer, b.hygrometer);
  sht.close();
  t.end();
});

test("precision medium and low send 0xF6 / 0xE0 and wait 5 / 2 ms", (t) => {
  const { model, delays, sht } = rig(true, { precision: "medium" });
  model.clearTransactions();
  sht.sample();
  t.deepEqual(model.transactions[0].bytes, [0xf6]);
  t.equal(delays[delays.length - 1], 5);
  sht.configure({ precision: "low" });
  model.clearTransactions();
  sht.sample();
  t.deepEqual(model.transactions[0].bytes, [0xe0]);
  t.equal(delays[delays.length - 1], 2);
  t.equal(model.transactions[1].ack, true, "2 ms covers the 1.7 ms maximum: no NACK");
  sht.configure({ precision: "high" });
  model.clearTransactions();
  sht.sample();
  t.deepEqual(model.transactions[0].bytes, [0xfd]);
  t.equal(delays[delays.length - 1], 9);
  t.equal(Sht4xCommand.MeasureHighPrecision, 0xfd);
  sht.close();
  t.end();
});

test("without delay: writes retried through the reset, reads polled through the measurement", (t) => {
  const { clock, model, sht } = rig(false);
  const resetTime = model.transactions[0].time;
  model.clearTransactions();
  const s = sht.sample();
  const tx = model.transactions;
  const writes = tx.filter((x) => x.op === "write");
  const reads = tx.filter((x) => x.op === "read");
  t.ok(writes.length > 1, `command NACKed while the sensor restarts (${writes.length} writes)`);
  t.ok(writes.slice(0, -1).every((x) => !x.ack && x.bytes[0] === 0xfd), "every early write is the command, NACKed");
  const accepted = writes[writes.length - 1];
  t.ok(accepted.ack && accepted.time - resetTime >= 1, "accepted only after the 1 ms reset time");
  t.ok(reads.length > 1, `reads NACKed while measuring (${reads.length} reads)`);
  t.ok(reads.slice(0, -1).every((x) => !x.ack && x.bytes.length === 0), "NACKed reads carry no data");
  const done = reads[reads.length - 1];
  t.ok(done.ack && done.time - accepted.time >= 8.3, "data read only after 8.3 ms");
  t.deepEqual(done.bytes, [0x66, 0x66, 0x93, 0x72, 0xb0, 0xdc]);
  t.ok(reads.length < 665, "within the attempt bound");
  t.ok(Math.abs(s.thermometer.temperature - 25) < 0.01);
  t.ok(clock.now() > 9);
  sht.close();
  t.end();
});

test("a sensor that never answers a read: SensorError Bus after the computed bound (665 at 400 kHz, high precision)", (t) => {
  let writes = 0;
  let reads = 0;
  const deaf: SimI2CModel = {
    transfer(op) {
      if (op === "write") {
        writes++;
        return true;
      }
      reads++;
      return false;
    },
  };
  const sht = new Sht4x({ sensor: { io: SimI2C, data: 1, clock: 2, model: deaf } });
  t.equal(writes, 1, "reset acknowledged");
  let caught: unknown;
  try {
    sht.sample();
  } catch (error) {
    caught = error;
  }
  t.ok(caught instanceof SensorError && caught.code === SensorErrorCode.Bus, "Bus error");
  t.ok(caught instanceof SensorError && caught.cause instanceof Error, "cause is the IO's error");
  t.equal(reads, Math.ceil((2 * 8300 * 400_000) / 10_000_000) + 1, "ceil(2 × 8.3 ms / 25 µs) + 1 attempts");
  t.equal(reads, 665);
  sht.close();
  t.end();
});

test("maxAttempts bounds the attempts; a missing sensor fails the constructor, which closes the I2C", (t) => {
  resetSpy();
  const model = new Sht4xModel({ address: 0x45 });
  t.throws(
    () => new Sht4x({ sensor: { io: SpyI2C, data: 1, clock: 2, model }, maxAttempts: 3 }),
    isSensorError(SensorErrorCode.Bus),
    "no acknowledge at 0x44",
  );
  t.deepEqual(
    wire(model),
    [
      ["write", [0x94], false],
      ["write", [0x94], false],
      ["write", [0x94], false],
    ],
    "three NACKed attempts (the model saw the wrong address)",
  );
  t.ok(model.transactions.every((x) => x.address === 0x44));
  t.equal(SpyI2C.closed, 1, "the I2C instance was closed");
  t.end();
});

test("with delay, a late sensor gets 2 more reads 1 ms apart, then Bus", (t) => {
  let reads = 0;
  const delays: number[] = [];
  const deaf: SimI2CModel = {
    transfer(op) {
      if (op === "write") return true;
      reads++;
      return false;
    },
  };
  const sht = new Sht4x({ sensor: { io: SimI2C, data: 1, clock: 2, model: deaf }, delay: (ms) => delays.push(ms) });
  delays.length = 0;
  t.throws(() => sht.sample(), isSensorError(SensorErrorCode.Bus));
  t.equal(reads, 3);
  t.deepEqual(delays, [9, 1, 1]);
  sht.close();
  t.end();
});

test("a CRC mismatch in either word throws Checksum and returns no value; the next sample is fine", (t) => {
  const { model, sht } = rig(true);
  model.corruptNextCrc(0);
  model.clearTransactions();
  let result: unknown = "untouched";
  t.throws(
    () => {
      result = sht.sample();
    },
    isSensorError(SensorErrorCode.Checksum),
    "temperature CRC",
  );
  t.equal(result, "untouched", "no value returned");
  t.deepEqual(model.transactions[1].bytes, [0x66, 0x66, 0x92, 0x72, 0xb0, 0xdc], "the corrupted byte was on the bus");
  model.corruptNextCrc(1);
  t.throws(() => sht.sample(), isSensorError(SensorErrorCode.Checksum), "humidity CRC");
  const s = sht.sample();
  t.ok(Math.abs(s.hygrometer.humidity - 50) < 0.01, "recovers");
  sht.close();
  t.end();
});

test("serial number: 0x89, two words each with CRC, first word high", (t) => {
  const { model, sht } = rig(true);
  model.clearTransactions();
  t.equal(sht.readSerialNumber(), 0x1a2b3c4d);
  t.deepEqual(wire(model), [
    ["write", [0x89], true],
    ["read", [0x1a, 0x2b, 0x6d, 0x3c, 0x4d, 0xf6], true],
  ]);
  model.serialNumber = 0xffffffff;
  t.equal(sht.readSerialNumber(), 4294967295, "unsigned 32-bit");
  model.serialNumber = 0x80000000;
  t.equal(sht.readSerialNumber(), 2147483648, "top bit set stays positive");
  model.corruptNextCrc(1);
  t.throws(() => sht.readSerialNumber(), isSensorError(SensorErrorCode.Checksum));
  sht.close();
  t.end();
});

test("serial number without delay", (t) => {
  const { model, sht } = rig(false);
  t.equal(sht.readSerialNumber(), 0x1a2b3c4d);
  t.ok(model.transactions.filter((x) => x.op === "read" && x.ack).length === 1);
  sht.close();
  t.end();
});

test("raw words 0x0000 and 0xFFFF on the bus give -45 °C / 0 %RH and 130 °C / 100 %RH", (t) => {
  const { model, sht } = rig(true);
  model.setRaw(0x0000, 0x0000);
  model.clearTransactions();
  const low = sht.sample();
  t.deepEqual(model.transactions[1].bytes, [0x00, 0x00, 0x81, 0x00, 0x00, 0x81]);
  t.equal(low.thermometer.temperature, -45);
  t.equal(low.hygrometer.humidity, 0);
  model.setRaw(0xffff, 0xffff);
  model.clearTransactions();
  const high = sht.sample();
  t.deepEqual(model.transactions[1].bytes, [0xff, 0xff, 0xac, 0xff, 0xff, 0xac]);
  t.equal(high.thermometer.temperature, 130);
  t.equal(high.hygrometer.humidity, 100);
  sht.close();
  t.end();
});

test("reset() sends 0x94 and drops a pending measurement", (t) => {
  const { model, sht } = rig(true);
  model.clearTransactions();
  sht.reset();
  t.deepEqual(wire(model), [["write", [0x94], true]]);
  t.equal(model.resets, 2);
  sht.close();
  t.end();
});

test("constructor validates every option before opening the bus", (t) => {
  resetSpy();
  const model = new Sht4xModel();
  const sensor = { io: SpyI2C, data: 1, clock: 2, model };
  t.throws(() => new Sht4x(undefined as unknown as Sht4xOptions), TypeError, "no options");
  t.throws(() => new Sht4x({} as Sht4xOptions), TypeError, "no sensor");
  t.throws(() => new Sht4x({ sensor: { data: 1 } } as unknown as Sht4xOptions), TypeError, "no io");
  t.throws(() => new Sht4x({ sensor: { ...sensor, address: 128 } }), RangeError, "address 128");
  t.throws(() => new Sht4x({ sensor: { ...sensor, address: 68.5 } }), RangeError, "fractional address");
  t.throws(() => new Sht4x({ sensor: { ...sensor, hz: 0 } }), RangeError, "hz 0");
  t.throws(() => new Sht4x({ sensor, precision: "ultra" as "high" }), RangeError, "precision");
  t.throws(() => new Sht4x({ sensor, delay: 5 as unknown as (ms: number) => void }), TypeError, "delay");
  t.throws(() => new Sht4x({ sensor, maxAttempts: 0 }), RangeError, "maxAttempts 0");
  t.throws(() => new Sht4x({ sensor, maxAttempts: 1.5 }), RangeError, "maxAttempts 1.5");
  t.equal(SpyI2C.constructed.length, 0, "no I2C instance was opened");
  t.equal(model.transactions.length, 0, "nothing on the bus");
  t.end();
});

test("configure validates and changes nothing on error", (t) => {
  const { model, sht } = rig(true, { precision: "low" });
  t.throws(() => sht.configure(null as unknown as object), TypeError);
  t.throws(() => sht.configure({ precision: "ultra" as "high" }), RangeError);
  sht.configure({ unrelated: true } as object);
  model.clearTransactions();
  sht.sample();
  t.deepEqual(model.transactions[0].bytes, [0xe0], "still low precision");
  sht.close();
  t.end();
});

test("close releases the I2C once; every method then throws Closed (ECMA-419 §8.3)", (t) => {
  resetSpy();
  const model = new Sht4xModel();
  const sht = new Sht4x({ sensor: { io: SpyI2C, data: 1, clock: 2, model }, delay: () => {}, target: "tag" });
  t.equal(sht.target, "tag", "target kept (ECMA-419 §8.4)");
  sht.close();
  sht.close();
  t.equal(SpyI2C.closed, 1);
  t.throws(() => sht.sample(), isSensorError(SensorErrorCode.Closed));
  t.throws(() => sht.readSerialNumber(), isSensorError(SensorErrorCode.Closed));
  t.throws(() => sht.reset(), isSensorError(SensorErrorCode.Closed));
  t.throws(() => sht.configure({}), isSensorError(SensorErrorCode.Closed));
  t.end();
});
