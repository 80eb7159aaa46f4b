/**
 * A simulated clock for the simulated buses: time in milliseconds that moves
 * only when something advances it.
 *
 * The simulated I²C bus advances it by the time each transaction occupies
 * the wires (see `SimI2C`), device models read it to know whether a
 * measurement has finished, and a driver's `delay` option can be this
 * clock's `delay`, which advances it instead of blocking. So a test that
 * polls, waits or times out does it in simulated time, deterministically
 * and instantly, on Node and inside XS alike.
 */
export class SimClock {
  private time: number;

  /** Bound: pass it as a driver's `delay` option. Advances the clock by `ms`. */
  readonly delay: (ms: number) => void;

  /** @param start initial time in ms (default 0) */
  constructor(start = 0) {
    if (!Number.isFinite(start)) throw new RangeError("SimClock: start must be a finite number of ms");
    this.time = start;
    this.delay = (ms: number) => this.advance(ms);
  }

  /** Current simulated time in ms (fractional: bus transactions last microseconds). */
  now(): number {
    return this.time;
  }

  /** Moves time forward by `ms` (≥ 0). */
  advance(ms: number): void {
    if (!(ms >= 0) || !Number.isFinite(ms)) throw new RangeError("SimClock: advance takes a finite ms >= 0");
    this.time += ms;
  }
}
