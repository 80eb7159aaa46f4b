/**
 * ECMA-419 sensor and actuator drivers: SHT4x temperature/humidity (I²C),
 * capacitive soil moisture (Analog), relay/heater output (Digital). Each
 * takes its bus as `options.sensor.io`; see README.md.
 */
export { Sht4x, crc8, convertTemperature, convertHumidity, Sht4xCommand, Sht4xMaxDurationUs, SHT4X_DEFAULT_ADDRESS, SHT4X_DEFAULT_HZ } from "./sht4x";
export type { Sht4xOptions, Sht4xConfiguration, Sht4xSample, Sht4xPrecision } from "./sht4x";
export {
  SoilMoisture,
  SOIL_MOISTURE_DEFAULT_SAMPLES,
  SOIL_MOISTURE_MAX_SAMPLES,
  SOIL_MOISTURE_DEFAULT_DRY_FRACTION,
  SOIL_MOISTURE_DEFAULT_WET_FRACTION,
} from "./soil-moisture";
export type { SoilMoistureOptions, SoilMoistureConfiguration, SoilMoistureSample } from "./soil-moisture";
export { Relay } from "./relay";
export type { RelayOptions } from "./relay";
export { SensorError, SensorErrorCode } from "./sensor-error";
export type { SensorErrorCodeValue } from "./sensor-error";
export type {
  PinSpecifier,
  PortSpecifier,
  ByteBuffer,
  I2COptions,
  I2CInstance,
  I2CConstructor,
  I2CSpec,
  AnalogOptions,
  AnalogInstance,
  AnalogConstructor,
  AnalogSpec,
  DigitalOptions,
  DigitalInstance,
  DigitalConstructor,
  DigitalSpec,
} from "./io-types";
