/**
 * Type-level check (no runtime): Moddable's own storage modules, as typed
 * by @moddable/typings (npm, 5.6.0), fit the persistence stores as they
 * are: `import Flash from "flash"` is a `FlashPartition`, `import
 * Preference from "preference"` is a `PreferenceApi`. Checked by
 * `npm run typecheck` (tsconfig includes test/**); never bundled or run.
 * The Moddable SDK itself is not installed here, so this is as far as the
 * flash and preference stores can be checked off the device.
 */
/// <reference types="@moddable/typings/flash" />
/// <reference types="@moddable/typings/preference" />
import Flash from "flash";
import Preference from "preference";
import { FlashStore } from "../../modules/persist/flash-store";
import type { FlashPartition } from "../../modules/persist/flash-store";
import { PreferenceStore } from "../../modules/persist/preference-store";
import type { PreferenceApi } from "../../modules/persist/preference-store";
import type { Store } from "../../modules/persist/store";

/** ESP32: a data partition labelled "mqttxs" in the app's partitions.csv. */
export function esp32FlashStore(): Store {
  const partition: FlashPartition = new Flash("mqttxs");
  return new FlashStore(partition);
}

/** ESP8266: an explicit offset and length (the legacy module's second constructor form). */
export function esp8266FlashStore(offset: number, byteLength: number): Store {
  return new FlashStore(new Flash(offset, byteLength));
}

/** ESP32 NVS through Moddable's preference module. */
export function preferenceStore(): Store {
  const api: PreferenceApi = Preference;
  return new PreferenceStore(api, { domain: "mqttxs", key: "session" });
}
