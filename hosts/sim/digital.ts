/**
 * A simulated Digital pin shaped like the ECMA-419 `Digital` class
 * (ECMA-419 2nd ed. §10.1), for desktop hosts and tests.
 *
 * As an output it records the values written (`writes`, the newest
 * `logLimit` of them; `writeCount` counts all) and exposes the
 * electrical `level`; as the spec requires, an output does not implement
 * `read` and an input does not implement `write` (§10.1 Notes): both throw.
 * An input reads `input`, which a test sets. The mode constants are this
 * class's own values (the spec leaves them to the host), so drivers must
 * take them from the injected class (`spec.io.Output`), never hard-code them.
 * The 3rd-edition options `initialValue` and `activeLow` are honoured.
 * Not modelled: `onReadable`/`edge` (no input callbacks).
 */

export interface SimDigitalOptions {
  /** Pin specifier; required (§10.1). */
  pin?: unknown;
  /** One of the static mode constants; required (§10.1). */
  mode?: unknown;
  /** 3rd edition: the output's value at construction, 0 or 1. Default 0. */
  initialValue?: number;
  /** 3rd edition: invert between value and level. Default false. */
  activeLow?: boolean;
  /** Values kept in `writes`; older ones are dropped. Default 256. */
  logLimit?: number;
  [extra: string]: unknown;
}

export class SimDigital {
  static readonly Input = 0;
  static readonly InputPullUp = 1;
  static readonly InputPullDown = 2;
  static readonly InputPullUpDown = 3;
  static readonly Output = 4;
  static readonly OutputOpenDrain = 5;
  static readonly Rising = 1;
  static readonly Falling = 2;

  /** Opaque value for the caller (ECMA-419 §8.4). */
  target: unknown;
  readonly pin: unknown;
  readonly mode: number;
  /** The values passed to `write`, oldest first (not the initial value); at most `logLimit`. */
  readonly writes: number[] = [];
  /** Number of `write` calls so far. */
  writeCount = 0;
  /** Output value at construction (`initialValue`, default 0). */
  readonly initialValue: number;
  /** The input's value as `read` returns it; tests set it. */
  input = 0;
  /** True after `close`. */
  closed = false;

  private readonly activeLow: boolean;
  private readonly logLimit: number;
  private value: number;

  constructor(options: SimDigitalOptions) {
    if (options === null || typeof options !== "object") throw new TypeError("SimDigital: options object required");
    if (options.pin === undefined) throw new RangeError("SimDigital: pin required (ECMA-419 §10.1)");
    const mode = options.mode;
    if (typeof mode !== "number" || !Number.isInteger(mode) || mode < SimDigital.Input || mode > SimDigital.OutputOpenDrain) {
      throw new RangeError("SimDigital: mode required, one of the SimDigital mode constants (ECMA-419 §10.1)");
    }
    const initialValue = options.initialValue ?? 0;
    if (initialValue !== 0 && initialValue !== 1) throw new RangeError("SimDigital: initialValue is 0 or 1");
    const logLimit = options.logLimit ?? 256;
    if (!Number.isInteger(logLimit) || logLimit < 0) throw new RangeError("SimDigital: logLimit must be an integer >= 0");
    this.logLimit = logLimit;
    this.pin = options.pin;
    this.mode = mode;
    this.activeLow = options.activeLow === true;
    this.initialValue = initialValue;
    this.value = initialValue;
    this.target = options.target;
  }

  /** Always `"number"` (§10.1 Data format). */
  get format(): "number" {
    return "number";
  }

  set format(value: "number") {
    if (value !== "number") throw new Error('SimDigital: format must be "number"');
  }

  /** True in `Output` and `OutputOpenDrain` modes. */
  get isOutput(): boolean {
    return this.mode >= SimDigital.Output;
  }

  /** The output's last value (0 or 1), as written. */
  get outputValue(): number {
    return this.value;
  }

  /** The electrical level of an output: its value, inverted when `activeLow`. */
  get level(): number {
    return this.activeLow ? 1 - this.value : this.value;
  }

  /** Reads an input (0 or 1). Throws for an output (§10.1 Notes) and after `close`. */
  read(): number {
    if (this.closed) throw new Error("SimDigital: closed");
    if (this.isOutput) throw new Error("SimDigital: an output does not implement read (ECMA-419 §10.1)");
    return this.input ? 1 : 0;
  }

  /** Drives an output to 0 or 1. Throws for an input (§10.1 Notes), for other values, and after `close`. */
  write(value: number): void {
    if (this.closed) throw new Error("SimDigital: closed");
    if (!this.isOutput) throw new Error("SimDigital: an input does not implement write (ECMA-419 §10.1)");
    if (value !== 0 && value !== 1) throw new RangeError("SimDigital: write takes 0 or 1 (ECMA-419 §10.1 Data format)");
    if (this.logLimit > 0) {
      if (this.writes.length >= this.logLimit) this.writes.shift();
      this.writes.push(value);
    }
    this.writeCount++;
    this.value = value;
  }

  /** Releases the pin (§8.3). Calling it again does nothing. */
  close(): void {
    this.closed = true;
  }
}
