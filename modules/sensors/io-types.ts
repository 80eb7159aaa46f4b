/**
 * The ECMA-419 IO contracts the sensor and actuator drivers accept (types
 * only; this module has no runtime code).
 *
 * Theory of operation
 * -------------------
 * A driver never imports `embedded:io/i2c`, `embedded:io/analog` or
 * `embedded:io/digital`. Like every class of the Peripheral and Sensor Class
 * Patterns (ECMA-419 2nd ed. §12.1, §13.1), it is given an IO
 * *specification*: an object whose `io` property is an IO class and whose
 * other properties are that class's constructor options. It constructs the
 * connection the way Annex A "Peripheral Class Pattern", `constructor` step
 * 2.1.4 does (`Construct(ioConstructor, ioOptions)`), adding its own
 * defaults under the caller's properties:
 *
 * ```ts
 * new options.sensor.io({ hz: 400_000, address: 0x44, ...options.sensor })
 * ```
 *
 * So on a board the same driver runs over Moddable's built-in IO
 * (`device.io.I2C`), and on a desktop or in a test over the simulated buses
 * in `hosts/sim` that record every byte. An IO class ignores properties it
 * does not know (§8.2) and the `io` property itself (§9.3), so a
 * specification may carry extra fields for a simulator.
 *
 * The types below are structural and list only what the drivers use.
 * Section numbers refer to ECMA-419 2nd edition (June 2023).
 *
 * Differences between the text and Moddable's implementation that the
 * drivers allow for:
 * - §9.4 says `read(buffer)` returns the number of bytes read; Moddable's
 *   I2C returns the buffer. The drivers ignore the return value.
 * - §10.5: a read or write the peripheral does not acknowledge (NACK) throws
 *   (Moddable: `Error("read failed")` / `Error("write failed")`).
 * - §10.1 (2nd ed.) has no `activeLow` or `initialValue` options for
 *   Digital; the 3rd edition adds them. The relay driver inverts in
 *   software and passes `initialValue` for hosts that honour it.
 *
 * The constructor types take `options: any` and `close` is optional so that
 * classes typed by @moddable/typings 5.6.0 (`embedded:io/*`), which declare
 * narrower options and omit `close` on Analog and I2C, type-check as
 * specifications; the drivers still pass the options described here and
 * call `close?.()`.
 */

/** A pin specifier (§9.1): host-dependent, usually a GPIO number. */
export type PinSpecifier = number | string | object;

/** A port specifier (§9.2): host-dependent. */
export type PortSpecifier = number | string;

/** A byte buffer (§6.11: ArrayBuffer, SharedArrayBuffer, Uint8Array, Int8Array or DataView); the drivers pass Uint8Array. */
export type ByteBuffer = ArrayBuffer | Uint8Array | Int8Array | DataView;

/** Constructor options of the synchronous I²C class (§10.5). */
export interface I2COptions {
  /** Pin specifier of SDA. Required by the spec; the host may supply a default bus. */
  data?: PinSpecifier;
  /** Pin specifier of SCL. */
  clock?: PinSpecifier;
  /** Bus speed in hertz. */
  hz?: number;
  /** 7-bit address of the peripheral, 0..127. */
  address?: number;
  /** Port specifier. */
  port?: PortSpecifier;
  /** Other properties are passed through to the IO class, which ignores what it does not know. */
  [extra: string]: unknown;
}

/** An instance of the synchronous I²C class (§10.5). */
export interface I2CInstance {
  /**
   * Reads into `buffer` (fills all of it) or allocates `byteLength` bytes.
   * Throws when the peripheral does not acknowledge its address.
   */
  read(buffer: ByteBuffer | number, stop?: boolean): unknown;
  /** Writes all of `buffer` or throws (NACK, bus error). */
  write(buffer: ByteBuffer, stop?: boolean): unknown;
  /** Required by §8.3; optional here only because @moddable/typings 5.6.0 omits it. Drivers call `close?.()`. */
  close?(): void;
}

/**
 * The synchronous I²C class (§10.5), e.g. `device.io.I2C` or `SimI2C`. The
 * driver passes an `I2COptions`; the parameter is typed `any` because host
 * typings declare narrower options (e.g. @moddable/typings: numeric,
 * required pins), and a class typed that way must still be accepted.
 */
export type I2CConstructor = new (options: any) => I2CInstance;

/** An I²C specification: an `io` class plus its constructor options (§13.1). */
export interface I2CSpec extends I2COptions {
  io: I2CConstructor;
}

/** Constructor options of the Analog input class (§10.3). */
export interface AnalogOptions {
  /** Pin specifier of the analog input. */
  pin?: PinSpecifier;
  /** Requested resolution in bits; the host may choose another (read `resolution`). */
  resolution?: number;
  [extra: string]: unknown;
}

/** An instance of the Analog input class (§10.3). */
export interface AnalogInstance {
  /** An integer from 0 to 2^resolution - 1. */
  read(): number;
  /** Bits of resolution of the values `read` returns (read-only). */
  readonly resolution: number;
  /** Required by §8.3; optional here only because @moddable/typings 5.6.0 omits it. Drivers call `close?.()`. */
  close?(): void;
}

/** The Analog input class (§10.3), e.g. `device.io.Analog` or `SimAnalog`; receives an `AnalogOptions` (`any`: see `I2CConstructor`). */
export type AnalogConstructor = new (options: any) => AnalogInstance;

/** An Analog specification: an `io` class plus its constructor options. */
export interface AnalogSpec extends AnalogOptions {
  io: AnalogConstructor;
}

/** Constructor options of the Digital class (§10.1). */
export interface DigitalOptions {
  /** Pin specifier. */
  pin?: PinSpecifier;
  /** A mode constant of the Digital class, e.g. `Digital.Output`; the values are host-defined. */
  mode?: unknown;
  /** 3rd edition: level of an output at construction, 0 or 1. Ignored by 2nd-edition hosts. */
  initialValue?: number;
  /** 3rd edition: invert the pin in the IO. The relay driver always passes `false`. */
  activeLow?: boolean;
  [extra: string]: unknown;
}

/** An instance of the Digital class (§10.1). An output does not implement `read`. */
export interface DigitalInstance {
  write(value: number): void;
  read?(): number;
  close(): void;
}

/**
 * The Digital class (§10.1), e.g. `device.io.Digital` or `SimDigital`. The
 * mode constants are static properties whose values the host defines.
 */
export interface DigitalConstructor {
  /** Receives a `DigitalOptions` (`any`: see `I2CConstructor`). */
  new (options: any): DigitalInstance;
  readonly Output?: unknown;
  readonly OutputOpenDrain?: unknown;
}

/** A Digital specification: an `io` class plus its constructor options. */
export interface DigitalSpec extends DigitalOptions {
  io: DigitalConstructor;
}
