/**
 * Platform glue of the soil-moisture node for the ESP8266. See
 * `../platform.d.ts`.
 *
 * Probe: the single ADC (A0, 10 bits; 0–1 V on the bare chip, 0–3.3 V on
 * boards with a divider such as the NodeMCU and the D1 mini).
 *
 * Store: the flash "storage" partition (Moddable's `flash` module opens the
 * SPIFFS area under that name), wear-spread by `FlashStore`. The ESP8266's
 * preferences hold only 63 bytes per value, too little for an outbox.
 *
 * Deep sleep: Moddable's `System.deepSleep(microseconds)` (the global that
 * its IO manifest's "system" module installs; ESP8266 only). It converts
 * its argument to a 32-bit integer, so one sleep is at most 2 147 483 ms
 * (about 35 minutes). The chip wakes by pulling RST low from GPIO16 (D0):
 * wire GPIO16 to RST, or it sleeps forever.
 */
import Flash from "flash";
import device from "embedded:provider/builtin";
import { FlashStore } from "mqtt-xs/persist/flash-store";
import type { Store } from "mqtt-xs/persist/store";
import { SoilMoisture } from "mqtt-xs/sensors/soil-moisture";
import type { SampleSource } from "mqtt-xs/telemetry/description";
import type { ProbeSettings } from "../platform";

/** Longest sleep through `System.deepSleep`, ms (int32 microseconds). */
const MAX_SLEEP_MS = 2_147_483;

export const platformName = "esp8266";

export function createStore(): Store {
  return new FlashStore(new Flash("storage"));
}

export function deepSleep(ms: number): boolean {
  if (!(ms >= 0) || ms > MAX_SLEEP_MS) throw new RangeError(`ESP8266 deep sleep: 0..${MAX_SLEEP_MS} ms, got ${ms}`);
  const system = (globalThis as unknown as { System?: { deepSleep(us: number): void } }).System;
  if (system === undefined) throw new Error("ESP8266 deep sleep needs Moddable's \"system\" module (included by its IO manifest)");
  system.deepSleep(Math.round(ms * 1000));
  return true;
}

export function createProbe(settings: ProbeSettings): SampleSource {
  return new SoilMoisture({ sensor: { io: device.io.Analog, pin: settings.pin }, dry: settings.dry, wet: settings.wet, samples: 7 });
}
