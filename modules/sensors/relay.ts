/**
 * A relay, heater, valve or any other on/off load driven by an ECMA-419
 * Digital output, in the Peripheral Class Pattern (ECMA-419 2nd ed. §12).
 *
 * Theory of operation
 * -------------------
 * The driver keeps one boolean, "on", and the pin level that expresses it:
 * active-high (default) drives 1 for on; active-low drives 0 for on, as
 * most opto-isolated relay boards and transistor-to-ground drivers need.
 * The inversion is done here, not by the IO, because the 2nd edition
 * Digital class has no `activeLow` option (the 3rd adds one); the driver
 * passes `activeLow: false` so a 3rd-edition IO never inverts a second time.
 *
 * Safe initial state: the load is off from the moment the pin becomes an
 * output. The driver passes `initialValue` = the off level (honoured by
 * 3rd-edition hosts, ignored by 2nd-edition ones) and writes the off level
 * right after construction. On a 2nd-edition host the pin may show the
 * MCU's default output level (usually 0) for the microseconds in between;
 * with an active-low board that is a glitch toward "on": see README.md for
 * the wiring that avoids it.
 *
 * `read()` returns the last state written, never the pin: a Digital output
 * does not implement `read` (§10.1 Notes), and "what did I command" is
 * what a controller needs anyway.
 *
 * The mode is `options.sensor.mode` when given (e.g. `Digital.OutputOpenDrain`
 * for a board with its own pull-up), else the IO class's `Output` constant
 * (§10.1: `Digital.Output`). The values of these constants are host-defined,
 * which is why the driver takes them from the injected class and never
 * imports `embedded:io/digital` (absent on Node).
 *
 * States: open (load off until written), closed. `close()` switches the
 * load off before releasing the pin, so a closed relay is never left on.
 * No callbacks; each method runs to completion.
 */
import type { DigitalInstance, DigitalSpec } from "./io-types";
import { SensorError, SensorErrorCode } from "./sensor-error";

/** Options of the `Relay` constructor. The object is not modified and not kept. */
export interface RelayOptions {
  /**
   * The Digital specification: `io` (an ECMA-419 Digital class) plus its
   * constructor options (`pin`, optional `mode`), passed through with
   * `mode`, `initialValue` and `activeLow: false` set by the driver.
   * Required.
   */
  sensor: DigitalSpec;
  /** Drive the pin low for "on". Default false (active-high). */
  activeLow?: boolean;
  /** Opaque value for the caller (ECMA-419 §8.4). */
  target?: unknown;
}

export class Relay {
  /** Opaque value for the caller (ECMA-419 §8.4). */
  target: unknown;
  /** True when the pin is driven low for "on". Fixed at construction. */
  readonly activeLow: boolean;

  private io: DigitalInstance | null = null;
  private on = false;

  /**
   * Opens the pin as an output with the load off.
   *
   * @throws TypeError when `sensor` or its `io` is missing, when neither
   *   `sensor.mode` nor `sensor.io.Output` gives a mode, or `activeLow` is not
   *   a boolean
   */
  constructor(options: RelayOptions) {
    if (options === null || typeof options !== "object") throw new TypeError("Relay: options object required (ECMA-419 §8.2)");
    const spec = options.sensor;
    if (spec === null || typeof spec !== "object" || typeof spec.io !== "function") {
      throw new TypeError("Relay: options.sensor must be a Digital specification with an io constructor (ECMA-419 §12.1)");
    }
    const mode = spec.mode ?? spec.io.Output;
    if (mode === undefined) {
      throw new TypeError("Relay: no output mode: give options.sensor.mode or an io class with a static Output (ECMA-419 §10.1)");
    }
    const activeLow = options.activeLow ?? false;
    if (typeof activeLow !== "boolean") throw new TypeError("Relay: options.activeLow must be a boolean");
    this.activeLow = activeLow;
    this.target = options.target;
    const off = activeLow ? 1 : 0;
    const io = new spec.io({ ...spec, mode, initialValue: off, activeLow: false });
    this.io = io;
    try {
      io.write(off);
    } catch (error) {
      this.io = null;
      io.close();
      throw error;
    }
  }

  /**
   * Switches the load on (`true`) or off (`false`). Writes the pin every
   * time, even when the state does not change, so a pin disturbed from
   * outside is put right by the next command.
   *
   * @throws TypeError when `on` is not a boolean; SensorError `Closed` after `close`
   */
  write(on: boolean): void {
    const io = this.check();
    if (typeof on !== "boolean") throw new TypeError("Relay: write takes a boolean (true = on)");
    io.write(on !== this.activeLow ? 1 : 0);
    this.on = on;
  }

  /**
   * The last state written: true = on. False until the first `write(true)`.
   *
   * @throws SensorError `Closed` after `close`
   */
  read(): boolean {
    this.check();
    return this.on;
  }

  /**
   * Peripheral configuration (§12.3). The relay has no configurable
   * properties; the call only checks its argument.
   *
   * @throws TypeError when `options` is missing; SensorError `Closed` after `close`
   */
  configure(options: object): void {
    this.check();
    if (options === null || typeof options !== "object") throw new TypeError("Relay: configure needs an options object");
  }

  /**
   * Switches the load off and releases the pin (§12.2). Calling it again
   * does nothing; every other method then throws.
   */
  close(): void {
    const io = this.io;
    if (io === null) return;
    this.io = null;
    this.on = false;
    try {
      io.write(this.activeLow ? 1 : 0);
    } finally {
      io.close();
    }
  }

  private check(): DigitalInstance {
    const io = this.io;
    if (io === null) throw new SensorError(SensorErrorCode.Closed, "Relay: closed");
    return io;
  }
}
