/**
 * The thermostat's hardware on Moddable: the manifest maps the module
 * "platform" to `platform/board.ts` on ESP32/ESP8266 (ECMA-419 I²C and
 * Digital from `embedded:provider/builtin`) and to `platform/sim.ts` on the
 * desktop simulator, which has no I²C or GPIO (the same drivers over the
 * simulated buses of `hosts/sim`, with a room that warms while the heater
 * is on). This declaration is their common shape, for `main.ts`.
 */
import type { SampleSource } from "../../modules/telemetry/description";
import type { RelayOutput } from "./node";

/** "board" or "simulator". */
export declare const platformName: string;

/** Pins and options read from mc/config by `main.ts`. */
export interface PinSettings {
  /** I²C SDA pin. */
  sda: number;
  /** I²C SCL pin. */
  scl: number;
  /** Relay GPIO. */
  relay: number;
  /** The relay board switches on a low input. */
  relayActiveLow: boolean;
}

/** The SHT4x (a `Sht4x` driver) and the heater relay (a `Relay` driver). */
export declare function createHardware(pins: PinSettings): { sensor: SampleSource; relay: RelayOutput };
