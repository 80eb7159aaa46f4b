/**
 * Sensirion SHT4x (SHT40/41/43/45) relative humidity and temperature sensor
 * on ECMA-419 I²C, in the Sensor Class Pattern (ECMA-419 2nd ed. §13) as a
 * compound Temperature + Humidity sensor (§14.1, §14.9, §14.21).
 *
 * Theory of operation
 * -------------------
 * The SHT4x has no registers: every operation is a one-byte command written
 * to the sensor, optionally followed by a read of 16-bit words, each word
 * followed by its CRC-8 (Datasheet SHT4x, "Command Overview" and
 * "Checksum Calculation"). This driver uses:
 *
 * | command | meaning                          | answer                        | max duration |
 * | ------- | -------------------------------- | ----------------------------- | ------------ |
 * | 0xFD    | measure T & RH, high precision   | T, CRC, RH, CRC (6 bytes)     | 8.3 ms       |
 * | 0xF6    | measure T & RH, medium precision | 6 bytes                       | 4.5 ms       |
 * | 0xE0    | measure T & RH, low precision    | 6 bytes                       | 1.7 ms       |
 * | 0x89    | read serial number               | 2 words, each + CRC (6 bytes) | —            |
 * | 0x94    | soft reset                       | none                          | 1 ms         |
 *
 * (Durations: the datasheet's timing table. Its section numbers differ
 * between revisions and could not be checked against the PDF; see
 * modules/sensors/README.md for what was verified and how.)
 *
 * The SHT4x does not stretch the clock: while it measures (or resets) it
 * does not acknowledge its address, so a read issued too early is NACKed,
 * and an ECMA-419 I²C `read` throws (§10.5). ECMA-419 `sample()` is
 * synchronous and a driver may not assume a timer, so the driver waits in
 * one of two ways:
 *
 * - with `options.delay` (e.g. Moddable's `Timer.delay`): it writes the
 *   command, calls `delay(ceil(max duration))` (9, 5 or 2 ms), then reads;
 *   a NACK after that is retried up to 2 more times, 1 ms apart;
 * - without it: it polls, issuing the read again each time it is NACKed.
 *   Every NACKed read costs at least 10 bit times on the bus (start,
 *   7-bit address, R/W bit, the NACK clock), so
 *   `ceil(2 × max duration / (10 / hz)) + 1` attempts cover at least twice
 *   the maximum duration at any bus speed (665 at 400 kHz for high
 *   precision). `options.maxAttempts` overrides the count.
 *
 * Command writes are retried the same way (for up to 8.3 ms, the longest
 * time the sensor can be busy), because a write during a reset or a
 * measurement is NACKed too. When every attempt fails, `SensorError` with
 * code `Bus` is thrown, its `cause` the last IO error.
 *
 * Every received word is checked against its CRC-8 (polynomial 0x31, init
 * 0xFF, no reflection, final XOR 0; datasheet "Checksum Calculation",
 * example CRC(0xBEEF) = 0x92). A mismatch throws `SensorError` with code
 * `Checksum`: a sample never carries a value that failed its check.
 *
 * States: open (after the constructor) and closed (after `close`). The
 * constructor soft-resets the sensor (§13.1: reset to a consistent initial
 * state); if the sensor does not answer, it closes the I²C instance and
 * throws. No state survives between calls: each `sample()` is a complete
 * single-shot measurement.
 *
 * Memory: a 1-byte command buffer and a 6-byte receive buffer allocated at
 * construction; `sample()` allocates only the three result objects that
 * §13.3 requires ("a different object on each invocation").
 *
 * Re-entrancy: no callbacks; methods run to completion on the caller's
 * stack. Not safe to call from inside the injected `delay`.
 */
import type { I2CInstance, I2CSpec } from "./io-types";
import { SensorError, SensorErrorCode } from "./sensor-error";

/** Default 7-bit address: the -AD1B parts (SHT40/41/45); SHT40-BD1B answers at 0x45, SHT40-CD1B at 0x46. */
export const SHT4X_DEFAULT_ADDRESS = 0x44;
/**
 * Default bus speed when the specification gives none, in hertz: 400 kHz
 * (I²C fast mode; the SHT4x supports up to 1 MHz). Give `sensor.hz` for
 * another speed, e.g. 100 kHz on long wires.
 */
export const SHT4X_DEFAULT_HZ = 400_000;

/** SHT4x command bytes (datasheet "Command Overview"). */
export const Sht4xCommand = Object.freeze({
  MeasureHighPrecision: 0xfd,
  MeasureMediumPrecision: 0xf6,
  MeasureLowPrecision: 0xe0,
  ReadSerialNumber: 0x89,
  SoftReset: 0x94,
});

/** Measurement precision (repeatability): `"high"` (default), `"medium"` or `"low"`. */
export type Sht4xPrecision = "high" | "medium" | "low";

/** Maximum durations in microseconds (datasheet timing table): measurements by precision, and soft reset. */
export const Sht4xMaxDurationUs = Object.freeze({
  high: 8300,
  medium: 4500,
  low: 1700,
  softReset: 1000,
});

/** Options of the `Sht4x` constructor. The object is not modified and not kept. */
export interface Sht4xOptions {
  /**
   * The I²C specification (§13.1): `io` (an ECMA-419 synchronous I²C class)
   * plus its constructor options. `address` defaults to 0x44, `hz` to
   * 400 000; every other property (`data`, `clock`, `port`, simulator
   * fields) is passed through unchanged. Required.
   */
  sensor: I2CSpec;
  /** Measurement precision. Default `"high"`. Can be changed with `configure`. */
  precision?: Sht4xPrecision;
  /**
   * A blocking wait in milliseconds, e.g. Moddable's `Timer.delay`. When
   * given, the driver waits the maximum measurement time instead of
   * polling. Called with whole milliseconds only.
   */
  delay?: (ms: number) => void;
  /**
   * Without `delay`: how many times a NACKed read or write is tried before
   * `SensorError` `Bus` is thrown. Default: computed from `hz` to cover
   * twice the operation's maximum duration (see the module comment).
   * Positive integer.
   */
  maxAttempts?: number;
  /** Opaque value for the caller (ECMA-419 §8.4). */
  target?: unknown;
}

/** Options of `Sht4x.configure`. Unknown properties are ignored. */
export interface Sht4xConfiguration {
  precision?: Sht4xPrecision;
}

/**
 * A sample (§14.1 compound sensor): `thermometer.temperature` in °C
 * (§14.21) and `hygrometer.humidity` in %RH, 0..100 (§14.9). A new object
 * on every call; the caller may keep or modify it.
 */
export interface Sht4xSample {
  thermometer: { temperature: number };
  hygrometer: { humidity: number };
}

/**
 * Sensirion CRC-8 of one 16-bit word given as its two bytes (datasheet
 * "Checksum Calculation": polynomial 0x31 = x^8 + x^5 + x^4 + 1, init 0xFF,
 * no reflection, final XOR 0x00). `crc8(0xbe, 0xef) === 0x92`.
 */
export function crc8(msb: number, lsb: number): number {
  let crc = 0xff ^ (msb & 0xff);
  for (let bit = 0; bit < 8; bit++) crc = crc & 0x80 ? ((crc << 1) ^ 0x31) & 0xff : (crc << 1) & 0xff;
  crc ^= lsb & 0xff;
  for (let bit = 0; bit < 8; bit++) crc = crc & 0x80 ? ((crc << 1) ^ 0x31) & 0xff : (crc << 1) & 0xff;
  return crc;
}

/** Temperature in °C from the raw word S_T (datasheet "Conversion of Signal Output"): -45 + 175 × S_T / 65535. */
export function convertTemperature(ticks: number): number {
  return -45 + (175 * ticks) / 65535;
}

/**
 * Relative humidity in %RH from the raw word S_RH (datasheet "Conversion of
 * Signal Output"): -6 + 125 × S_RH / 65535, cropped to 0..100 (the
 * formula spans -6..119 %RH; values outside 0..100 are not physical).
 */
export function convertHumidity(ticks: number): number {
  const rh = -6 + (125 * ticks) / 65535;
  return rh < 0 ? 0 : rh > 100 ? 100 : rh;
}

/** Command, max duration (µs) and whole-millisecond wait of each precision. */
const PRECISION = Object.freeze({
  high: Object.freeze({ command: Sht4xCommand.MeasureHighPrecision, durationUs: Sht4xMaxDurationUs.high, waitMs: 9 }),
  medium: Object.freeze({ command: Sht4xCommand.MeasureMediumPrecision, durationUs: Sht4xMaxDurationUs.medium, waitMs: 5 }),
  low: Object.freeze({ command: Sht4xCommand.MeasureLowPrecision, durationUs: Sht4xMaxDurationUs.low, waitMs: 2 }),
});

/** The longest the sensor can be busy (high-precision measurement), µs: bounds command-write retries. */
const MAX_BUSY_US = Sht4xMaxDurationUs.high;
/** Bit times a NACKed transfer occupies at least: start, 7 address bits, R/W, the acknowledge clock. */
const NACK_BITS = 10;
/** With `delay`: extra read attempts, 1 ms apart, after the full wait (tolerates a slow clock). */
const DELAYED_RETRY_US = 2000;
/**
 * Without `delay`: how long to poll for the serial number, µs. No duration
 * for 0x89 was found in the sources checked (README.md); 1 ms (the reset
 * time) is a margin, not a datasheet figure.
 */
const SERIAL_POLL_US = 1000;

function isPrecision(value: unknown): value is Sht4xPrecision {
  return value === "high" || value === "medium" || value === "low";
}

export class Sht4x {
  /** Opaque value for the caller (ECMA-419 §8.4). */
  target: unknown;

  private io: I2CInstance | null = null;
  private readonly tx = new Uint8Array(1);
  private readonly rx = new Uint8Array(6);
  private readonly delay: ((ms: number) => void) | undefined;
  private readonly hz: number;
  private readonly maxAttempts: number;
  private command = 0xfd;
  private durationUs = 8300;
  private waitMs = 9;

  /**
   * Opens the I²C connection and soft-resets the sensor.
   *
   * @throws TypeError / RangeError for invalid options (before any IO is opened)
   * @throws SensorError `Bus` when the sensor does not acknowledge the reset (the I²C instance is closed again)
   */
  constructor(options: Sht4xOptions) {
    if (options === null || typeof options !== "object") throw new TypeError("SHT4x: options object required (ECMA-419 §8.2)");
    const spec = options.sensor;
    if (spec === null || typeof spec !== "object" || typeof spec.io !== "function") {
      throw new TypeError("SHT4x: options.sensor must be an I2C specification with an io constructor (ECMA-419 §13.1)");
    }
    const address = spec.address ?? SHT4X_DEFAULT_ADDRESS;
    if (!Number.isInteger(address) || address < 0 || address > 127) {
      throw new RangeError("SHT4x: options.sensor.address must be a 7-bit address, 0..127");
    }
    const hz = spec.hz ?? SHT4X_DEFAULT_HZ;
    if (typeof hz !== "number" || !(hz > 0)) throw new RangeError("SHT4x: options.sensor.hz must be a positive number");
    const precision = options.precision ?? "high";
    if (!isPrecision(precision)) throw new RangeError('SHT4x: precision must be "high", "medium" or "low"');
    if (options.delay !== undefined && typeof options.delay !== "function") {
      throw new TypeError("SHT4x: options.delay must be a function (ms) => void");
    }
    const maxAttempts = options.maxAttempts ?? 0;
    if (options.maxAttempts !== undefined && (!Number.isInteger(maxAttempts) || maxAttempts < 1)) {
      throw new RangeError("SHT4x: options.maxAttempts must be a positive integer");
    }
    this.delay = options.delay;
    this.hz = hz;
    this.maxAttempts = maxAttempts;
    this.target = options.target;
    this.setPrecision(precision);

    this.io = new spec.io({ ...spec, hz, address });
    try {
      this.reset();
    } catch (error) {
      this.close();
      throw error;
    }
  }

  /**
   * Changes how the sensor operates (§13.2). Supported: `precision`. Only
   * the properties present are changed; unknown ones are ignored.
   *
   * @throws TypeError when `options` is missing; RangeError for an invalid value (nothing is changed)
   * @throws SensorError `Closed` after `close`
   */
  configure(options: Sht4xConfiguration): void {
    this.check();
    if (options === null || typeof options !== "object") throw new TypeError("SHT4x: configure needs an options object");
    if (options.precision !== undefined) {
      if (!isPrecision(options.precision)) throw new RangeError('SHT4x: precision must be "high", "medium" or "low"');
      this.setPrecision(options.precision);
    }
  }

  /**
   * Performs one single-shot measurement at the configured precision and
   * returns it (§13.3). Blocks for up to the measurement time (9 ms at
   * high precision, see the module comment).
   *
   * @throws SensorError `Bus` when the sensor does not answer; `Checksum` when a word fails its CRC (no value is returned)
   * @throws SensorError `Closed` after `close`
   */
  sample(): Sht4xSample {
    this.check();
    this.tx[0] = this.command;
    this.transfer(false, MAX_BUSY_US);
    if (this.delay) this.delay(this.waitMs);
    this.transfer(true, this.delay ? DELAYED_RETRY_US : this.durationUs);
    const rx = this.rx;
    this.verify("temperature", "humidity");
    return {
      thermometer: { temperature: convertTemperature((rx[0] << 8) | rx[1]) },
      hygrometer: { humidity: convertHumidity((rx[3] << 8) | rx[4]) },
    };
  }

  /**
   * Reads the 32-bit serial number (command 0x89): the first word is the
   * high half. Both words are CRC-checked.
   *
   * @returns an unsigned integer, 0..0xFFFFFFFF
   * @throws SensorError `Bus` or `Checksum`; `Closed` after `close`
   */
  readSerialNumber(): number {
    this.check();
    this.tx[0] = Sht4xCommand.ReadSerialNumber;
    this.transfer(false, MAX_BUSY_US);
    if (this.delay) this.delay(1);
    this.transfer(true, this.delay ? DELAYED_RETRY_US : SERIAL_POLL_US);
    const rx = this.rx;
    this.verify("serial number high", "serial number low");
    return ((rx[0] << 8) | rx[1]) * 0x10000 + ((rx[3] << 8) | rx[4]);
  }

  /**
   * Soft reset (command 0x94): the sensor restarts within 1 ms. With
   * `delay`, waits that millisecond; without, the next command is retried
   * until the sensor acknowledges it. The constructor calls this.
   *
   * @throws SensorError `Bus` when the sensor does not acknowledge; `Closed` after `close`
   */
  reset(): void {
    this.check();
    this.tx[0] = Sht4xCommand.SoftReset;
    this.transfer(false, MAX_BUSY_US);
    if (this.delay) this.delay(1);
  }

  /** Closes the I²C connection (§12.2). Calling it again does nothing; every other method then throws. */
  close(): void {
    const io = this.io;
    if (io === null) return;
    this.io = null;
    io.close?.();
  }

  private check(): void {
    if (this.io === null) throw new SensorError(SensorErrorCode.Closed, "SHT4x: closed");
  }

  private setPrecision(precision: Sht4xPrecision): void {
    const entry = PRECISION[precision];
    this.command = entry.command;
    this.durationUs = entry.durationUs;
    this.waitMs = entry.waitMs;
  }

  /**
   * One write of `tx` or read into `rx`, retried while it throws: with
   * `delay`, for `budgetUs` in 1 ms steps; without, back to back for
   * `maxAttempts` or the count that covers twice `budgetUs` on the bus.
   */
  private transfer(read: boolean, budgetUs: number): void {
    const io = this.io as I2CInstance;
    const delay = this.delay;
    let attempts: number;
    if (delay) attempts = Math.ceil(budgetUs / 1000) + 1;
    else if (this.maxAttempts > 0) attempts = this.maxAttempts;
    else attempts = Math.ceil((2 * budgetUs * this.hz) / (NACK_BITS * 1_000_000)) + 1;
    let last: unknown;
    for (let attempt = 0; attempt < attempts; attempt++) {
      try {
        if (read) io.read(this.rx);
        else io.write(this.tx);
        return;
      } catch (error) {
        last = error;
        if (delay && attempt + 1 < attempts) delay(1);
      }
    }
    throw new SensorError(
      SensorErrorCode.Bus,
      `SHT4x: no acknowledge to ${read ? "read" : "command 0x" + this.tx[0].toString(16)} after ${attempts} attempts`,
      last,
    );
  }

  /** Checks the CRC of both words in `rx`; the names only go into the error message. */
  private verify(first: string, second: string): void {
    const rx = this.rx;
    if (crc8(rx[0], rx[1]) !== rx[2]) throw new SensorError(SensorErrorCode.Checksum, `SHT4x: CRC mismatch in ${first} word`);
    if (crc8(rx[3], rx[4]) !== rx[5]) throw new SensorError(SensorErrorCode.Checksum, `SHT4x: CRC mismatch in ${second} word`);
  }
}
