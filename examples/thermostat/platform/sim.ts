/**
 * The thermostat's hardware on the Moddable desktop simulator, which has no
 * I²C bus or GPIO: the real `Sht4x` and `Relay` drivers over the simulated
 * buses of `hosts/sim` (a command-level SHT4x model behind `SimI2C`, a
 * `SimDigital` pin), and a room whose temperature drifts around 18.5 °C and
 * rises 0.08 °C/s while the relay is on (heat loss with a 120 s time
 * constant). See `../platform.d.ts`.
 */
import Time from "time";
import { Sht4x } from "mqtt-xs/sensors/sht4x";
import { Relay } from "mqtt-xs/sensors/relay";
import type { SampleSource } from "mqtt-xs/telemetry/description";
import { SimClock } from "mqtt-xs-sim/clock";
import { SimI2C } from "mqtt-xs-sim/i2c";
import { Sht4xModel } from "mqtt-xs-sim/sht4x-model";
import { SimDigital } from "mqtt-xs-sim/digital";
import { Drift } from "mqtt-xs-sim/drift";
import type { PinSettings } from "../platform";
import type { RelayOutput } from "../node";

export const platformName = "simulator";

export function createHardware(pins: PinSettings): { sensor: SampleSource; relay: RelayOutput } {
  const relay = new Relay({ sensor: { io: SimDigital as never, pin: pins.relay }, activeLow: pins.relayActiveLow });
  const ambient = new Drift({ seed: Time.ticks | 1, min: 16.5, max: 20.5, initial: 18.5, sigma: 0.05, reversion: 0.02, stepMs: 5000 });
  const humidity = new Drift({ seed: (Time.ticks ^ 0x4d1d) | 1, min: 30, max: 65, initial: 46, sigma: 0.2, stepMs: 1000 });
  const busClock = new SimClock();
  const model = new Sht4xModel({ clock: busClock, temperature: 20.2, humidity: 46 });
  const driver = new Sht4x({ sensor: { io: SimI2C as never, data: pins.sda, clock: pins.scl, model }, delay: busClock.delay });
  let temperature = 20.2;
  let last = Time.ticks;
  const sensor = {
    sample(): unknown {
      const now = Time.ticks;
      const seconds = Time.delta(last, now) / 1000;
      last = now;
      // dT/dt = heat·[relay on] − (T − ambient)/tau, one step per sample.
      temperature += seconds * ((relay.read() ? 0.08 : 0) - (temperature - ambient.at(now)) / 120);
      model.temperature = temperature;
      model.humidity = humidity.at(now);
      return driver.sample();
    },
  };
  return { sensor, relay };
}
