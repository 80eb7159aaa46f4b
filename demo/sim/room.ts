/**
 * A heated room for the simulated thermostat: the air temperature follows
 * Newton's law of cooling toward an ambient temperature that itself drifts
 * (a seeded `Drift`), plus a constant heating rate while the heater is on.
 *
 *   dT/dt = heat · [heater on] − (T − ambient(t)) / tau
 *
 * integrated in steps of at most `stepMs` of the caller's time. With the
 * defaults (ambient ≈ 18.5 °C, heat 0.08 °C/s, tau 120 s) the heater can
 * lift the room about 9.6 °C above ambient; near 21 °C the room warms about
 * 0.06 °C/s with the heater on and cools about 0.02 °C/s without, so a
 * thermostat at 21 ± 0.3 °C cycles roughly every 40 s: slow enough to look
 * like a room, fast enough for a demo.
 *
 * `fixed` pins the temperature (tests): the heater then has no effect.
 * No clock is read: time comes in as `now` (ms). Runs on Node and in XS.
 */
import { Drift } from "../../hosts/sim/drift";

/** Options of {@link RoomModel}. */
export interface RoomOptions {
  /** PRNG seed of the ambient drift. */
  seed: number;
  /** Initial room temperature, °C. Default 20.2. */
  initial?: number;
  /** Mean ambient temperature, °C. Default 18.5. */
  ambient?: number;
  /** Heating rate while the heater is on, °C/s. Default 0.08. */
  heat?: number;
  /** Time constant of the heat loss, s. Default 120. */
  tau?: number;
  /** Integration step, ms. Default 500. */
  stepMs?: number;
  /** Pin the temperature (°C): no dynamics. */
  fixed?: number;
}

/** The simulated room (see the module header). */
export class RoomModel {
  /** Current air temperature, °C (settable: tests and demos may jump it). */
  temperature: number;
  /** When set, `at` always returns it. */
  fixed: number | undefined;
  private readonly ambient: Drift;
  private readonly heat: number;
  private readonly tau: number;
  private readonly stepMs: number;
  private last = NaN;

  constructor(options: RoomOptions) {
    const ambient = options.ambient ?? 18.5;
    this.temperature = options.fixed ?? options.initial ?? 20.2;
    this.fixed = options.fixed;
    this.heat = options.heat ?? 0.08;
    this.tau = options.tau ?? 120;
    this.stepMs = options.stepMs ?? 500;
    if (!(this.tau > 0) || !(this.stepMs > 0) || !(this.heat >= 0)) throw new RangeError("RoomModel: tau > 0, stepMs > 0, heat >= 0");
    this.ambient = new Drift({ seed: options.seed, min: ambient - 2, max: ambient + 2, initial: ambient, sigma: 0.05, reversion: 0.02, stepMs: 5000 });
  }

  /** The temperature at caller time `now` (ms), given whether the heater has been on since the last call. */
  at(now: number, heaterOn: boolean): number {
    if (this.fixed !== undefined) {
      this.temperature = this.fixed;
      this.last = now;
      return this.fixed;
    }
    if (Number.isNaN(this.last) || now <= this.last) {
      if (Number.isNaN(this.last)) this.last = now;
      return this.temperature;
    }
    let t = this.temperature;
    // Bounded work after a long pause (e.g. a host that slept): at most one simulated hour.
    let from = now - this.last > 3_600_000 ? now - 3_600_000 : this.last;
    while (from < now) {
      const dt = Math.min(this.stepMs, now - from);
      const ambient = this.ambient.at(from);
      t += (dt / 1000) * ((heaterOn ? this.heat : 0) - (t - ambient) / this.tau);
      from += dt;
    }
    this.last = now;
    this.temperature = t;
    return t;
  }
}
