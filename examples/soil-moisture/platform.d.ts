/**
 * The soil-moisture node's platform glue on Moddable: the manifest maps the
 * module "platform" to one file per platform (`platform/esp32.js` +
 * `platform/esp32.c`, `platform/esp.ts`, `platform/sim.ts`). This
 * declaration is their common shape, for `main.ts`. The simulator has no
 * ADC: there the same `SoilMoisture` driver reads a simulated Analog input
 * (`hosts/sim`) from a pot that dries slowly.
 */
import type { Store } from "../../modules/persist/store";
import type { SampleSource } from "../../modules/telemetry/description";

/** "esp32", "esp8266" or "simulator". */
export declare const platformName: string;

/**
 * The store that keeps unacknowledged readings across deep sleep: ESP32
 * NVS (`preference`), the ESP8266's flash "storage" partition (`flash`),
 * the simulator's preferences. No I/O until used.
 */
export declare function createStore(): Store;

/**
 * Enters deep sleep for `ms` milliseconds; the chip then reboots into
 * `main`. Returns false, at once, where there is no deep sleep (the
 * simulator): the caller waits with a timer instead. Throws RangeError when
 * `ms` exceeds what the platform can sleep.
 */
export declare function deepSleep(ms: number): boolean;

/** Probe settings read from mc/config by `main.ts`. */
export interface ProbeSettings {
  /** ADC pin (ESP32: a GPIO of ADC1, e.g. 34; ESP8266: ignored, A0). */
  pin: number;
  /** Raw reading in dry air. */
  dry: number;
  /** Raw reading in water. */
  wet: number;
}

/** The probe: a `SoilMoisture` driver on the platform's Analog input. */
export declare function createProbe(settings: ProbeSettings): SampleSource;
