/**
 * Capacitive soil-moisture probe (e.g. the common "Capacitive Soil Moisture
 * Sensor v1.2/v2.0" boards and DFRobot SEN0193) on an ECMA-419 Analog input,
 * in the Sensor Class Pattern (ECMA-419 2nd ed. §13) as a Soil Moisture
 * sensor (§14.19).
 *
 * Theory of operation
 * -------------------
 * The probe outputs a voltage that falls as the soil gets wetter (the
 * probe's capacitance rises); some probes and resistive sensors do the
 * opposite. Two-point calibration maps a raw reading to a fraction:
 *
 *     moisture = (dry - raw) / (dry - wet), clamped to 0..1
 *
 * where `dry` is the raw reading in dry air (or bone-dry soil) and `wet` the
 * reading in water (or saturated soil). The sign of `dry - wet` carries the
 * orientation, so the same formula serves probes whose reading falls with
 * moisture (dry > wet, capacitive) and those whose reading rises (dry < wet).
 *
 * Oversampling: each `sample()` takes `samples` readings (odd, default 5)
 * and uses their median, which ignores up to (samples - 1) / 2 outliers
 * (ADC spikes from Wi-Fi transmit bursts on the ESP32 are the usual cause)
 * where a mean would be pulled by them. The readings go into a buffer
 * allocated at construction (and again only when `configure` asks for more
 * samples than it holds), kept sorted by insertion as they arrive; the
 * median is its middle element. Nothing is allocated per reading.
 *
 * `sample()` returns `{ moisture, percent, raw }`: `moisture` is the
 * ECMA-419 Soil Moisture property (0 = driest, 1 = wettest), `percent` the
 * same value × 100 for display and telemetry, `raw` the median reading the
 * two were computed from (for calibration).
 *
 * States: open, closed (after `close`). No callbacks: each method runs to
 * completion on the caller's stack.
 */
import type { AnalogInstance, AnalogSpec } from "./io-types";
import { SensorError, SensorErrorCode } from "./sensor-error";

/** Default number of readings per sample. */
export const SOIL_MOISTURE_DEFAULT_SAMPLES = 5;
/**
 * Largest `samples` accepted. The insertion sort costs O(samples²)
 * comparisons; 63 readings take well under a millisecond on an ESP32 and
 * reject up to 31 spikes, far more than a probe sees.
 */
export const SOIL_MOISTURE_MAX_SAMPLES = 63;
/**
 * Default `dry` and `wet` as fractions of full scale, used when the caller
 * gives no calibration. They are placeholders that keep an uncalibrated
 * probe inside 0..1, not measurements: readings depend on the probe, its
 * supply, the cable and the ADC's attenuation. Calibrate every probe (see
 * README.md).
 */
export const SOIL_MOISTURE_DEFAULT_DRY_FRACTION = 0.8;
/** See `SOIL_MOISTURE_DEFAULT_DRY_FRACTION`. */
export const SOIL_MOISTURE_DEFAULT_WET_FRACTION = 0.4;

/** Options of the `SoilMoisture` constructor. The object is not modified and not kept. */
export interface SoilMoistureOptions {
  /**
   * The Analog specification (§13.1): `io` (an ECMA-419 Analog input class)
   * plus its constructor options (`pin`, optional `resolution`), passed
   * through unchanged. Required.
   */
  sensor: AnalogSpec;
  /** Raw reading in dry air / dry soil. Default 80 % of full scale. Integer, 0..2^resolution - 1. */
  dry?: number;
  /** Raw reading in water / saturated soil. Default 40 % of full scale. Must differ from `dry`. */
  wet?: number;
  /** Readings per sample, odd, 1..63. Default 5. */
  samples?: number;
  /** Opaque value for the caller (ECMA-419 §8.4). */
  target?: unknown;
}

/** Options of `SoilMoisture.configure`; only the properties present change. Unknown properties are ignored. */
export interface SoilMoistureConfiguration {
  dry?: number;
  wet?: number;
  samples?: number;
}

/** A sample. A new object on every call; the caller may keep or modify it. */
export interface SoilMoistureSample {
  /** ECMA-419 §14.19: relative soil moisture, 0 (driest) to 1 (wettest), clamped. */
  moisture: number;
  /** `moisture` × 100: percent, 0..100, clamped. */
  percent: number;
  /** The median raw Analog reading, 0..2^resolution - 1. */
  raw: number;
}

export class SoilMoisture {
  /** Opaque value for the caller (ECMA-419 §8.4). */
  target: unknown;

  private io: AnalogInstance | null = null;
  private readonly maxRaw: number;
  private readonly bits: number;
  private dry: number;
  private wet: number;
  private samples: number;
  private buffer: Float64Array;

  /**
   * Opens the Analog input.
   *
   * @throws TypeError / RangeError for invalid options; a calibration point
   *   outside the input's range is detected after the input is opened, which
   *   is then closed again
   */
  constructor(options: SoilMoistureOptions) {
    if (options === null || typeof options !== "object") throw new TypeError("SoilMoisture: options object required (ECMA-419 §8.2)");
    const spec = options.sensor;
    if (spec === null || typeof spec !== "object" || typeof spec.io !== "function") {
      throw new TypeError("SoilMoisture: options.sensor must be an Analog specification with an io constructor (ECMA-419 §13.1)");
    }
    const samples = options.samples ?? SOIL_MOISTURE_DEFAULT_SAMPLES;
    checkSamples(samples);
    if (options.dry !== undefined) checkInteger("dry", options.dry);
    if (options.wet !== undefined) checkInteger("wet", options.wet);
    this.target = options.target;
    this.samples = samples;
    this.buffer = new Float64Array(samples);

    const io = new spec.io(spec);
    this.io = io;
    try {
      const resolution = io.resolution;
      if (!Number.isInteger(resolution) || resolution < 1 || resolution > 32) {
        throw new RangeError(`SoilMoisture: the Analog input reports resolution ${resolution}, expected 1..32 bits`);
      }
      this.bits = resolution;
      this.maxRaw = 2 ** resolution - 1;
      const dry = options.dry ?? Math.round(this.maxRaw * SOIL_MOISTURE_DEFAULT_DRY_FRACTION);
      const wet = options.wet ?? Math.round(this.maxRaw * SOIL_MOISTURE_DEFAULT_WET_FRACTION);
      this.checkCalibration(dry, wet);
      this.dry = dry;
      this.wet = wet;
    } catch (error) {
      this.close();
      throw error;
    }
  }

  /** Bits of resolution of the Analog input (its `resolution`). */
  get resolution(): number {
    return this.bits;
  }

  /**
   * Changes the calibration or the oversampling (§13.2). Every value is
   * checked before anything changes. Asking for more `samples` than ever
   * before allocates a larger buffer here (never in `sample`).
   *
   * @throws TypeError when `options` is missing; RangeError when `dry`/`wet`
   *   are not integers within the input's range or equal, or `samples` is not
   *   odd in 1..63
   * @throws SensorError `Closed` after `close`
   */
  configure(options: SoilMoistureConfiguration): void {
    this.check();
    if (options === null || typeof options !== "object") throw new TypeError("SoilMoisture: configure needs an options object");
    const dry = options.dry ?? this.dry;
    const wet = options.wet ?? this.wet;
    const samples = options.samples ?? this.samples;
    checkSamples(samples);
    this.checkCalibration(dry, wet);
    this.dry = dry;
    this.wet = wet;
    if (samples > this.buffer.length) this.buffer = new Float64Array(samples);
    this.samples = samples;
  }

  /** The current calibration and oversampling, as a new object. */
  get configuration(): { dry: number; wet: number; samples: number } {
    return { dry: this.dry, wet: this.wet, samples: this.samples };
  }

  /**
   * Reads the input `samples` times and returns the calibrated median
   * (§13.3). Takes as long as `samples` Analog reads.
   *
   * @throws SensorError `Closed` after `close`; whatever the Analog `read` throws
   */
  sample(): SoilMoistureSample {
    this.check();
    const io = this.io as AnalogInstance;
    const buffer = this.buffer;
    const count = this.samples;
    for (let filled = 0; filled < count; filled++) {
      const value = io.read();
      let at = filled;
      while (at > 0 && buffer[at - 1] > value) {
        buffer[at] = buffer[at - 1];
        at--;
      }
      buffer[at] = value;
    }
    const raw = buffer[count >> 1];
    let moisture = (this.dry - raw) / (this.dry - this.wet);
    if (!(moisture > 0)) moisture = 0;
    else if (moisture > 1) moisture = 1;
    return { moisture, percent: moisture * 100, raw };
  }

  /** Closes the Analog input (§12.2). Calling it again does nothing; every other method then throws. */
  close(): void {
    const io = this.io;
    if (io === null) return;
    this.io = null;
    io.close?.();
  }

  private check(): void {
    if (this.io === null) throw new SensorError(SensorErrorCode.Closed, "SoilMoisture: closed");
  }

  private checkCalibration(dry: number, wet: number): void {
    checkInteger("dry", dry);
    checkInteger("wet", wet);
    if (dry > this.maxRaw || wet > this.maxRaw) {
      throw new RangeError(`SoilMoisture: dry and wet must be raw readings within 0..${this.maxRaw}`);
    }
    if (dry === wet) throw new RangeError("SoilMoisture: dry and wet must differ (two-point calibration)");
  }
}

function checkSamples(samples: number): void {
  if (!Number.isInteger(samples) || samples < 1 || samples > SOIL_MOISTURE_MAX_SAMPLES || samples % 2 === 0) {
    throw new RangeError(`SoilMoisture: samples must be an odd integer in 1..${SOIL_MOISTURE_MAX_SAMPLES} (a median needs an odd count)`);
  }
}

function checkInteger(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 0) throw new RangeError(`SoilMoisture: ${name} must be a non-negative integer raw reading`);
}
