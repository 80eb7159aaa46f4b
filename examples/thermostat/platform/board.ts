/**
 * The thermostat's hardware on a board (ESP32, ESP8266): the SHT4x on the
 * ECMA-419 I²C bus, the relay on an ECMA-419 Digital output, both from
 * Moddable's built-in host provider. See `../platform.d.ts`.
 */
import Timer from "timer";
import device from "embedded:provider/builtin";
import { Sht4x } from "mqtt-xs/sensors/sht4x";
import { Relay } from "mqtt-xs/sensors/relay";
import type { SampleSource } from "mqtt-xs/telemetry/description";
import type { PinSettings } from "../platform";
import type { RelayOutput } from "../node";

export const platformName = "board";

export function createHardware(pins: PinSettings): { sensor: SampleSource; relay: RelayOutput } {
  // Blocking wait of the measurement time (≤ 9 ms) instead of polling the bus.
  const sensor = new Sht4x({ sensor: { io: device.io.I2C, data: pins.sda, clock: pins.scl }, delay: Timer.delay });
  const relay = new Relay({ sensor: { io: device.io.Digital, pin: pins.relay }, activeLow: pins.relayActiveLow });
  return { sensor, relay };
}
