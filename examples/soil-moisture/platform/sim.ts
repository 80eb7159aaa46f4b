/**
 * Platform glue of the soil-moisture node for the Moddable simulator (mac,
 * lin, win): preferences as the store, no deep sleep (main.ts waits with a
 * timer and wakes the node again, as on the other desktop hosts), and, as
 * the simulator has no ADC, the real `SoilMoisture` driver over a simulated
 * Analog input whose moisture drifts around 45 % (`hosts/sim` `Drift`),
 * with a little reading noise for the median filter. See
 * `../platform.d.ts`.
 */
import Preference from "preference";
import Time from "time";
import { PreferenceStore } from "mqtt-xs/persist/preference-store";
import type { Store } from "mqtt-xs/persist/store";
import { SoilMoisture } from "mqtt-xs/sensors/soil-moisture";
import type { SampleSource } from "mqtt-xs/telemetry/description";
import { SimAnalog } from "mqtt-xs-sim/analog";
import { Drift } from "mqtt-xs-sim/drift";
import type { ProbeSettings } from "../platform";

export const platformName = "simulator";

export function createStore(): Store {
  return new PreferenceStore(Preference, { domain: "soil", key: "outbox" });
}

export function deepSleep(_ms: number): boolean {
  return false;
}

export function createProbe(settings: ProbeSettings): SampleSource {
  const moisture = new Drift({ seed: Time.ticks | 1, min: 15, max: 75, initial: 45, sigma: 0.3, reversion: 0.005, stepMs: 1000 });
  let noise = 0x2545f491;
  const source = (): number => {
    noise ^= noise << 13;
    noise ^= noise >>> 17;
    noise ^= noise << 5;
    const percent = moisture.at(Time.ticks);
    return settings.dry - ((settings.dry - settings.wet) * percent) / 100 + ((noise >>> 0) % 17) - 8;
  };
  return new SoilMoisture({ sensor: { io: SimAnalog as never, pin: settings.pin, resolution: 12, source }, dry: settings.dry, wet: settings.wet, samples: 7 });
}
