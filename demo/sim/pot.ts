/**
 * A flower pot for the simulated soil-moisture probe: the soil dries at a
 * steady rate with some seeded wobble (a `Drift` around the trend) and is
 * watered back up when it gets dry, and a capacitive probe turns the
 * moisture into raw ADC counts with noise and an occasional spike (the
 * kind of ESP32 ADC glitch the driver's median filter is there for).
 *
 * Raw counts follow the driver's two-point calibration: `dry` counts at 0 %,
 * `wet` counts at 100 % (a capacitive probe reads lower when wetter), so the
 * driver configured with the same `dry`/`wet` reports the model's moisture
 * back, give or take the noise.
 *
 * Time comes in as `now` (ms); nothing reads a clock. Runs on Node and in XS.
 */
import { Drift, Prng } from "../../hosts/sim/drift";

/** Options of {@link PotModel}. */
export interface PotOptions {
  /** PRNG seed. */
  seed: number;
  /** Initial moisture, %. Default 48. */
  initial?: number;
  /** Drying rate, % per second. Default 0.04 (a demo's hours in minutes). */
  drying?: number;
  /** Watered back to this, %. Default 62. */
  wateredTo?: number;
  /** Watered when the soil gets below this, %. Default 28. */
  waterBelow?: number;
  /** Raw counts at 0 % (dry). Default 3000 (12-bit ADC). */
  dry?: number;
  /** Raw counts at 100 % (in water). Default 1300. */
  wet?: number;
  /** Standard deviation of the reading noise, counts. Default 6. */
  noise?: number;
  /** Probability of a spike per reading, 0..1. Default 0.02. */
  spikes?: number;
  /** Pin the moisture (%): no dynamics, no noise (tests). */
  fixed?: number;
}

/** The simulated pot and probe (see the module header). */
export class PotModel {
  /** Current moisture, % (settable). */
  percent: number;
  /** When set, the moisture stays here and readings are exact. */
  fixed: number | undefined;
  readonly dry: number;
  readonly wet: number;
  private readonly wobble: Drift;
  private readonly prng: Prng;
  private readonly drying: number;
  private readonly wateredTo: number;
  private readonly waterBelow: number;
  private readonly noise: number;
  private readonly spikes: number;
  private trend: number;
  private last = NaN;

  constructor(options: PotOptions) {
    this.trend = options.fixed ?? options.initial ?? 48;
    this.percent = this.trend;
    this.fixed = options.fixed;
    this.drying = options.drying ?? 0.04;
    this.wateredTo = options.wateredTo ?? 62;
    this.waterBelow = options.waterBelow ?? 28;
    this.dry = options.dry ?? 3000;
    this.wet = options.wet ?? 1300;
    this.noise = options.noise ?? 6;
    this.spikes = options.spikes ?? 0.02;
    this.wobble = new Drift({ seed: options.seed, min: -3, max: 3, initial: 0, mean: 0, sigma: 0.15, reversion: 0.05, stepMs: 1000 });
    this.prng = new Prng((options.seed ^ 0x5eed) >>> 0);
  }

  /** The moisture (%) at caller time `now` (ms). */
  at(now: number): number {
    if (this.fixed !== undefined) return (this.percent = this.fixed);
    if (Number.isNaN(this.last)) this.last = now;
    if (now > this.last) {
      this.trend -= ((now - this.last) / 1000) * this.drying;
      if (this.trend < this.waterBelow) this.trend = this.wateredTo;
      this.last = now;
    }
    const p = this.trend + this.wobble.at(now);
    this.percent = p < 0 ? 0 : p > 100 ? 100 : p;
    return this.percent;
  }

  /** One raw ADC reading of the probe at `now` (noise and spikes included, unless fixed). */
  read(now: number): number {
    const percent = this.at(now);
    let raw = this.dry - ((this.dry - this.wet) * percent) / 100;
    if (this.fixed === undefined) {
      raw += this.noise * this.prng.normal();
      if (this.prng.next() < this.spikes) raw += 400;
    }
    return Math.round(raw);
  }
}
