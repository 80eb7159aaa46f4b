/**
 * The one error class of the sensor and actuator drivers.
 *
 * A driver throws `SensorError` when the hardware lets it down: the
 * peripheral does not answer, or its data fails a checksum. Misuse of the
 * API (bad options, bad arguments) throws `TypeError` or `RangeError` with
 * the rule in the message, as everywhere in mqtt-xs. The drivers do not use
 * `MqttError`: they are a layer of their own and work without the MQTT
 * client.
 *
 * A `SensorError` never comes with a value: a sample either returns
 * readings that passed every check, or throws.
 */

/** Why a driver failed. Values are stable; compare with these names. */
export const SensorErrorCode = Object.freeze({
  /** The peripheral did not acknowledge (I²C NACK) or the bus failed, after every allowed attempt. */
  Bus: 1,
  /** Received data failed its checksum (e.g. Sensirion CRC-8); the data was discarded. */
  Checksum: 2,
  /** A method other than `close` was called after `close` (ECMA-419 2nd ed. §8.3). */
  Closed: 3,
});

export type SensorErrorCodeValue = (typeof SensorErrorCode)[keyof typeof SensorErrorCode];

const names = Object.freeze(["", "Bus", "Checksum", "Closed"]);

export class SensorError extends Error {
  /** A value of `SensorErrorCode`. */
  readonly code: number;
  /** The error thrown by the IO instance, when there was one (the last one, after retries). */
  override readonly cause?: unknown;

  /**
   * @param code a value of `SensorErrorCode`
   * @param message what failed, e.g. "SHT4x: CRC mismatch in temperature word"
   * @param cause the underlying IO error, if any
   */
  constructor(code: number, message: string, cause?: unknown) {
    super(`${names[code] ?? "Unknown"}: ${message}`);
    // Moddable freezes Error.prototype after preload: define an own `name`.
    Object.defineProperty(this, "name", { value: "SensorError", writable: true, configurable: true });
    this.code = code;
    if (cause !== undefined) this.cause = cause;
  }
}
