// Soil-moisture driver against the simulated Analog input (hosts/sim):
// two-point calibration in both orientations with clamping, the median
// filter against spikes, option validation and the ECMA-419 lifecycle.
import test from "tape";
import { SoilMoisture } from "../../modules/sensors/soil-moisture";
import type { SoilMoistureOptions } from "../../modules/sensors/soil-moisture";
import type { AnalogOptions } from "../../modules/sensors/io-types";
import { SensorError, SensorErrorCode } from "../../modules/sensors/sensor-error";
import { SimAnalog } from "../../hosts/sim/analog";

/** SimAnalog that remembers its instances and options. */
class SpyAnalog extends SimAnalog {
  static instances: SpyAnalog[] = [];
  static options: AnalogOptions[] = [];
  constructor(options: AnalogOptions) {
    super(options);
    SpyAnalog.instances.push(this);
    SpyAnalog.options.push(options);
  }
}

function resetSpy(): void {
  SpyAnalog.instances = [];
  SpyAnalog.options = [];
}

/** A source that returns `values` in turn, cycling. */
function script(values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length];
}

function probe(values: number[], options: Partial<SoilMoistureOptions> = {}, resolution = 12): { soil: SoilMoisture; io: SpyAnalog } {
  resetSpy();
  const soil = new SoilMoisture({ sensor: { io: SpyAnalog, pin: 34, resolution, source: script(values) }, ...options });
  return { soil, io: SpyAnalog.instances[0] };
}

function near(a: number, b: number): boolean {
  return Math.abs(a - b) < 1e-12;
}

test("capacitive probe (dry > wet): linear between the points, clamped outside", (t) => {
  const { soil } = probe([2100], { dry: 3000, wet: 1200, samples: 1 });
  const s = soil.sample();
  t.deepEqual(s, { moisture: 0.5, percent: 50, raw: 2100 }, "half way");
  const { soil: dryer } = probe([3500], { dry: 3000, wet: 1200, samples: 1 });
  t.deepEqual(dryer.sample(), { moisture: 0, percent: 0, raw: 3500 }, "drier than dry -> 0");
  const { soil: wetter } = probe([1000], { dry: 3000, wet: 1200, samples: 1 });
  t.deepEqual(wetter.sample(), { moisture: 1, percent: 100, raw: 1000 }, "wetter than wet -> 1");
  const { soil: quarter } = probe([2550], { dry: 3000, wet: 1200, samples: 1 });
  t.ok(near(quarter.sample().moisture, 0.25), "(3000 - 2550) / 1800 = 0.25");
  soil.close();
  dryer.close();
  wetter.close();
  quarter.close();
  t.end();
});

test("reversed probe (dry < wet): the same formula, clamped outside", (t) => {
  const cases: Array<[number, number]> = [
    [2000, 0.5],
    [1000, 0],
    [500, 0],
    [3000, 1],
    [4000, 1],
    [1500, 0.25],
  ];
  for (const [raw, moisture] of cases) {
    const { soil } = probe([raw], { dry: 1000, wet: 3000, samples: 1 });
    const s = soil.sample();
    t.ok(near(s.moisture, moisture), `raw ${raw} -> ${moisture} (got ${s.moisture})`);
    t.ok(near(s.percent, moisture * 100), `percent ${s.percent}`);
    t.equal(s.raw, raw);
    soil.close();
  }
  t.end();
});

test("median of 5 rejects two spikes a mean would follow", (t) => {
  const { soil, io } = probe([2000, 4095, 2010, 0, 1990], { dry: 3000, wet: 1000 });
  const s = soil.sample();
  t.equal(io.reads, 5, "default: 5 readings per sample");
  t.equal(s.raw, 2000, "median of 0, 1990, 2000, 2010, 4095");
  t.ok(near(s.moisture, 0.5));
  const mean = (2000 + 4095 + 2010 + 0 + 1990) / 5;
  t.notEqual(mean, 2000, "a mean would have been pulled off");
  soil.close();
  t.end();
});

test("median is order-independent: ascending, descending and spikes first", (t) => {
  for (const values of [
    [1, 2, 3, 4, 5],
    [5, 4, 3, 2, 1],
    [4095, 4095, 3, 0, 3],
    [3, 3, 3, 3, 3],
  ]) {
    const { soil } = probe(values, { dry: 4000, wet: 0 });
    t.equal(soil.sample().raw, 3, `median of ${values.join(",")}`);
    soil.close();
  }
  t.end();
});

test("samples: 1 reads once; configure to 9 reads nine times and takes the 5th smallest", (t) => {
  const { soil, io } = probe([100, 900, 200, 800, 300, 700, 400, 600, 500], { dry: 1000, wet: 0, samples: 1 });
  t.equal(soil.sample().raw, 100);
  t.equal(io.reads, 1);
  soil.configure({ samples: 9 });
  t.equal(soil.sample().raw, 500, "median of 900, 200, ..., 100 (nine values)");
  t.equal(io.reads, 10);
  soil.configure({ samples: 3 });
  t.equal(soil.sample().raw, 800, "median of 900, 200, 800 (the source cycles on)");
  t.equal(io.reads, 13);
  soil.close();
  t.end();
});

test("default calibration: 80 % and 40 % of the input's full scale", (t) => {
  const { soil } = probe([512], {}, 10);
  t.deepEqual(soil.configuration, { dry: 818, wet: 409, samples: 5 }, "10-bit: round(1023 × 0.8), round(1023 × 0.4)");
  t.equal(soil.resolution, 10);
  soil.close();
  t.end();
});

test("the Analog specification is passed through unchanged", (t) => {
  resetSpy();
  const sensor = Object.freeze({ io: SpyAnalog, pin: 34, resolution: 12, value: 2000 });
  const soil = new SoilMoisture({ sensor, dry: 3000, wet: 1000 });
  t.equal(SpyAnalog.options[0], sensor, "the same object (§12.1 Construct(ioConstructor, ioOptions))");
  t.equal(soil.sample().raw, 2000);
  soil.close();
  t.end();
});

test("configure validates every value and changes nothing on error", (t) => {
  const { soil } = probe([2000], { dry: 3000, wet: 1000, samples: 5 });
  const before = soil.configuration;
  t.throws(() => soil.configure({ samples: 4 }), RangeError, "even");
  t.throws(() => soil.configure({ samples: 0 }), RangeError, "zero");
  t.throws(() => soil.configure({ samples: 65 }), RangeError, "above 63");
  t.throws(() => soil.configure({ samples: 2.5 }), RangeError, "fractional");
  t.throws(() => soil.configure({ dry: 1000 }), RangeError, "dry equal to wet");
  t.throws(() => soil.configure({ dry: 4096 }), RangeError, "dry above 12-bit full scale");
  t.throws(() => soil.configure({ wet: -1 }), RangeError, "negative");
  t.throws(() => soil.configure({ wet: 10.5 }), RangeError, "fractional");
  t.throws(() => soil.configure({ dry: 2000, samples: 4 }), RangeError, "one bad value rejects the whole call");
  t.throws(() => soil.configure(null as unknown as object), TypeError, "missing options");
  t.deepEqual(soil.configuration, before, "unchanged");
  soil.configure({ dry: 1000, wet: 3000, samples: 7 });
  t.deepEqual(soil.configuration, { dry: 1000, wet: 3000, samples: 7 }, "valid values applied together");
  soil.close();
  t.end();
});

test("constructor validates options; a bad calibration closes the opened input", (t) => {
  resetSpy();
  const sensor = { io: SpyAnalog, pin: 34, resolution: 10 };
  t.throws(() => new SoilMoisture(undefined as unknown as SoilMoistureOptions), TypeError);
  t.throws(() => new SoilMoisture({} as SoilMoistureOptions), TypeError);
  t.throws(() => new SoilMoisture({ sensor, samples: 6 }), RangeError);
  t.throws(() => new SoilMoisture({ sensor, dry: -5 }), RangeError);
  t.equal(SpyAnalog.instances.length, 0, "nothing opened for options that fail on their own");
  t.throws(() => new SoilMoisture({ sensor, dry: 2000, wet: 100 }), RangeError, "2000 exceeds 10-bit full scale");
  t.throws(() => new SoilMoisture({ sensor, dry: 300, wet: 300 }), RangeError, "equal points");
  t.equal(SpyAnalog.instances.length, 2);
  t.ok(
    SpyAnalog.instances.every((io) => {
      try {
        io.read();
        return false;
      } catch {
        return true;
      }
    }),
    "both inputs were closed",
  );
  t.end();
});

test("close releases the input once; every method then throws Closed", (t) => {
  const { soil, io } = probe([2000], { dry: 3000, wet: 1000, target: 7 });
  t.equal(soil.target, 7);
  soil.close();
  soil.close();
  t.throws(() => io.read(), Error, "input closed");
  const closed = (err: unknown) => err instanceof SensorError && err.code === SensorErrorCode.Closed;
  t.throws(() => soil.sample(), closed);
  t.throws(() => soil.configure({}), closed);
  t.end();
});

test("each sample is a new object (ECMA-419 §13.3)", (t) => {
  const { soil } = probe([2000], { dry: 3000, wet: 1000 });
  const a = soil.sample();
  const b = soil.sample();
  t.notEqual(a, b);
  t.deepEqual(a, b);
  soil.close();
  t.end();
});
