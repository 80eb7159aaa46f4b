/**
 * Slowly drifting values for demos: a bounded, mean-reverting random walk
 * driven by a seeded PRNG, so a simulated sensor's readings look like a
 * room or a flower pot (small steps, slow trends, no jumps) and a run can
 * be replayed exactly from its seed.
 *
 * Each step (one per `stepMs` of the caller's time) moves the value by
 * `reversion × (mean - value)` plus a normally distributed step of standard
 * deviation `sigma`; a value that would leave [min, max] is reflected back
 * inside. Time is passed in (`at(now)`); nothing here reads a clock.
 *
 * The PRNG is Marsaglia's xorshift32 (shifts 13, 17, 5): 32-bit state, period
 * 2^32 - 1, plenty for a demo and cheap on XS (integer operations only).
 * Normal deviates come from the Box–Muller transform.
 */

/** A seeded 32-bit xorshift PRNG. */
export class Prng {
  private state: number;

  /** @param seed any 32-bit integer except 0 (0 is replaced by a fixed non-zero constant) */
  constructor(seed: number) {
    this.state = seed >>> 0 || 0x9e3779b9;
  }

  /** Next unsigned 32-bit integer. */
  nextUint32(): number {
    let x = this.state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.state = x >>> 0;
    return this.state;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Standard normal deviate (mean 0, standard deviation 1). */
  normal(): number {
    const u = 1 - this.next(); // (0, 1]: log(u) is finite
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
}

export interface DriftOptions {
  /** PRNG seed (32-bit integer). Required, so every run states its seed. */
  seed: number;
  /** Lower bound of the value. */
  min: number;
  /** Upper bound of the value. */
  max: number;
  /** Starting value. Default: the middle of [min, max]. */
  initial?: number;
  /** Value the walk drifts back toward. Default: `initial`. */
  mean?: number;
  /** Standard deviation of one step. Default: 0.2 % of (max - min). */
  sigma?: number;
  /** Fraction of the distance to `mean` recovered per step, 0..1. Default 0.01. */
  reversion?: number;
  /** Caller time (ms) per step for `at`. Default 1000. */
  stepMs?: number;
}

/** Largest number of steps one `at` call takes, so a long pause costs bounded time. */
const MAX_CATCH_UP_STEPS = 10_000;

export class Drift {
  /** The current value. */
  value: number;
  readonly min: number;
  readonly max: number;

  private readonly prng: Prng;
  private readonly mean: number;
  private readonly sigma: number;
  private readonly reversion: number;
  private readonly stepMs: number;
  private last = NaN;

  constructor(options: DriftOptions) {
    const { min, max } = options;
    if (!Number.isFinite(min) || !Number.isFinite(max) || !(min < max)) throw new RangeError("Drift: min < max, both finite");
    const initial = options.initial ?? (min + max) / 2;
    if (!(initial >= min && initial <= max)) throw new RangeError("Drift: initial must lie in [min, max]");
    const sigma = options.sigma ?? (max - min) * 0.002;
    const reversion = options.reversion ?? 0.01;
    const stepMs = options.stepMs ?? 1000;
    if (!(sigma >= 0)) throw new RangeError("Drift: sigma >= 0");
    if (!(reversion >= 0 && reversion <= 1)) throw new RangeError("Drift: reversion in 0..1");
    if (!(stepMs > 0)) throw new RangeError("Drift: stepMs > 0");
    this.min = min;
    this.max = max;
    this.value = initial;
    this.mean = options.mean ?? initial;
    this.sigma = sigma;
    this.reversion = reversion;
    this.stepMs = stepMs;
    this.prng = new Prng(options.seed);
  }

  /** Takes one step and returns the new value. */
  next(): number {
    let v = this.value + this.reversion * (this.mean - this.value) + this.sigma * this.prng.normal();
    if (v > this.max) v = 2 * this.max - v;
    if (v < this.min) v = 2 * this.min - v;
    this.value = v < this.min ? this.min : v > this.max ? this.max : v;
    return this.value;
  }

  /**
   * The value at caller time `now` (ms): takes one step per `stepMs`
   * elapsed since the previous call (at most 10 000). The first call only
   * sets the reference time. Time going backwards takes no step.
   */
  at(now: number): number {
    if (Number.isNaN(this.last)) {
      this.last = now;
      return this.value;
    }
    let steps = Math.floor((now - this.last) / this.stepMs);
    if (steps <= 0) return this.value;
    this.last += steps * this.stepMs;
    if (steps > MAX_CATCH_UP_STEPS) steps = MAX_CATCH_UP_STEPS;
    for (let i = 0; i < steps; i++) this.next();
    return this.value;
  }
}
