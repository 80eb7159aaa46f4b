/*
 * Platform glue of the soil-moisture node for the ESP32. See
 * `../platform.d.ts`. JavaScript rather than TypeScript because it binds a
 * native function (`@ "..."`, XS syntax), implemented in `esp32.c`.
 *
 * Probe: an ADC1 input (GPIO 32–39; ADC2 cannot be read while Wi-Fi is on),
 * 12 bits, Moddable's default 12 dB attenuation (about 0–2.45 V usable).
 *
 * Store: ESP-IDF NVS through Moddable's `preference` module (atomic and
 * wear-levelled; up to 4000 bytes per value).
 *
 * Deep sleep: the Moddable SDK has no deep-sleep call for the ESP32, so
 * `esp32.c` calls ESP-IDF's `esp_sleep_enable_timer_wakeup` and
 * `esp_deep_sleep_start` (after stopping Wi-Fi). The chip reboots into main.
 */
import Preference from "preference";
import device from "embedded:provider/builtin";
import { PreferenceStore } from "mqtt-xs/persist/preference-store";
import { SoilMoisture } from "mqtt-xs/sensors/soil-moisture";

function sleepMicroseconds(us) @ "xs_mqttxs_deep_sleep";

/** Longest sleep accepted, ms: one day. The RTC timer can do far more; a longer sleep is more likely a mistake. */
const MAX_SLEEP_MS = 86_400_000;

export const platformName = "esp32";

export function createStore() {
	return new PreferenceStore(Preference, { domain: "soil", key: "outbox" });
}

export function deepSleep(ms) {
	if (!(ms >= 0) || ms > MAX_SLEEP_MS)
		throw new RangeError(`ESP32 deep sleep: 0..${MAX_SLEEP_MS} ms, got ${ms}`);
	sleepMicroseconds(Math.round(ms * 1000));
	return true;
}

export function createProbe(settings) {
	return new SoilMoisture({ sensor: { io: device.io.Analog, pin: settings.pin }, dry: settings.dry, wet: settings.wet, samples: 7 });
}
