/**
 * A simulated Analog input shaped like the ECMA-419 `Analog` class
 * (ECMA-419 2nd ed. §10.3), for desktop hosts and tests.
 *
 * Its readings come from `source`, a function called once per `read()`
 * (e.g. a `Drift` for a demo, or a scripted list for a test), or from the
 * settable `value` when no source is given. Each reading is rounded and
 * clamped to 0..2^resolution - 1, as an ADC's would be. `reads` counts the
 * calls, so a test can check how many readings a driver took.
 */

export interface SimAnalogOptions {
  /** Pin specifier; required, as on a board (§10.3). */
  pin?: unknown;
  /** Bits of resolution, 1..16. Default 12 (the ESP32 ADC; the ESP8266's is 10). */
  resolution?: number;
  /** Raw reading per call. Default: the `value` property. */
  source?: () => number;
  /** Initial `value`. Default 0. */
  value?: number;
  [extra: string]: unknown;
}

export class SimAnalog {
  /** Opaque value for the caller (ECMA-419 §8.4). */
  target: unknown;
  /** Bits of resolution of the values `read` returns (§10.3, read-only). */
  readonly resolution: number;
  /** The reading returned when there is no `source`. */
  value: number;
  /** Number of `read` calls so far. */
  reads = 0;

  private readonly source: (() => number) | undefined;
  private readonly max: number;
  private closed = false;

  constructor(options: SimAnalogOptions) {
    if (options === null || typeof options !== "object") throw new TypeError("SimAnalog: options object required");
    if (options.pin === undefined) throw new RangeError("SimAnalog: pin required (ECMA-419 §10.3)");
    const resolution = options.resolution ?? 12;
    if (!Number.isInteger(resolution) || resolution < 1 || resolution > 16) throw new RangeError("SimAnalog: resolution 1..16 bits");
    if (options.source !== undefined && typeof options.source !== "function") throw new TypeError("SimAnalog: source must be a function");
    this.resolution = resolution;
    this.max = 2 ** resolution - 1;
    this.source = options.source;
    this.value = options.value ?? 0;
    this.target = options.target;
  }

  /** Always `"number"` (§10.3 Data format). */
  get format(): "number" {
    return "number";
  }

  set format(value: "number") {
    if (value !== "number") throw new Error('SimAnalog: format must be "number"');
  }

  /** The next reading, an integer in 0..2^resolution - 1. */
  read(): number {
    if (this.closed) throw new Error("SimAnalog: closed");
    this.reads++;
    const raw = Math.round(this.source ? this.source() : this.value);
    return raw > 0 ? (raw < this.max ? raw : this.max) : 0;
  }

  /** Releases the instance (§8.3). Calling it again does nothing. */
  close(): void {
    this.closed = true;
  }
}
