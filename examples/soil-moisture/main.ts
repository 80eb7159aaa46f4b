/**
 * soil-moisture: the Moddable entry of the soil-moisture sample node (board
 * or simulator). Every boot is one wake: build the IO (the probe on the
 * platform's Analog input, the TCP socket, Moddable's timer and clock, the
 * platform's store: see `platform.d.ts`), run one cycle of the portable node (`./node.ts`:
 * sample, publish at QoS 1, wait for the broker's acknowledgement), then
 * deep sleep, which ends in a reboot into this module again. On the
 * simulator there is no deep sleep: a timer wakes the node instead.
 *
 * Settings come from `mc/config` (manifest.json "config", overridden on the
 * mcconfig command line, e.g. `broker=mqtt://192.168.1.10:1883 node=basil`):
 * - broker:   broker URL, `mqtt://host[:port]`;
 * - node:     node id = MQTT client id (fixed: the broker keeps the session
 *             under it across sleeps) = Home Assistant node id;
 * - topic:    base topic; empty: the node id;
 * - sleep:    seconds of deep sleep between wakes;
 * - awake:    longest time awake per wake, seconds;
 * - dry, wet: raw ADC readings of the probe in dry air and in water
 *             (calibration, see README.md);
 * - probe:    the ADC pin (ESP32: a GPIO of ADC1, e.g. 34; ESP8266: A0, any value);
 * - protocol: "4" (MQTT 3.1.1) or "5";
 * - homeassistant: "1" to publish discovery at every wake, "0" not to.
 * Wi-Fi (`ssid`, `password`) is joined by Moddable's network setup before
 * this module runs.
 */
import config from "mc/config";
import Timer from "timer";
import { TelemetryNode } from "mqtt-xs/telemetry/telemetry-node";
import { parseBrokerUrl } from "mqtt-xs/mqtt/compat";
import { Transport, createClock, moddableTimer } from "mqtt-xs/moddable";
import { SoilMoistureNode } from "./node";
import { createProbe, createStore, deepSleep, platformName } from "./platform";

function setting(name: string, fallback: string): string {
  const value: unknown = config[name];
  return typeof value === "string" || typeof value === "number" ? String(value) : fallback;
}

function numberSetting(name: string, fallback: number): number {
  const value = Number(setting(name, String(fallback)));
  if (!Number.isFinite(value)) throw new RangeError(`config ${name} must be a number`);
  return value;
}

const broker = setting("broker", "mqtt://127.0.0.1:1883");
const id = setting("node", "soil-1");
const topic = setting("topic", "");
const where = parseBrokerUrl(broker);
if (where.protocol !== "mqtt" && where.protocol !== "tcp") throw new TypeError(`soil-moisture: plain mqtt:// brokers only (got ${broker}); see README for TLS`);

const probe = createProbe({ pin: numberSetting("probe", 34), dry: numberSetting("dry", 3000), wet: numberSetting("wet", 1300) });

const soil = new SoilMoistureNode(
  {
    id,
    baseTopic: topic === "" ? undefined : topic,
    sleepMs: numberSetting("sleep", 300) * 1000,
    awakeMs: numberSetting("awake", 20) * 1000,
    homeAssistant: setting("homeassistant", "1") === "1",
  },
  {
    probe,
    createNode: (description, options) => new TelemetryNode(description, options),
    options: {
      socket: { io: Transport, host: where.host ?? "127.0.0.1", port: where.port ?? 1883 },
      timer: moddableTimer,
      now: createClock(),
      protocolVersion: setting("protocol", "4") === "5" ? 5 : 4,
      keepalive: 60,
      store: createStore(),
      // Save at once: the next thing after a wake's stop is power-off.
      saveDelay: 100,
      onState: (_state, payload) => trace(`soil: state ${payload}\n`),
      onError: (error) => trace(`soil: error ${(error as Error)?.message ?? String(error)}\n`),
    },
    sleep: (ms, wake) => {
      if (deepSleep(ms)) return; // the chip reboots into main; nothing after this runs
      const id = Timer.set(wake, ms);
      return () => Timer.clear(id);
    },
    onEvent: (event) => {
      if (event.type === "wake") trace(`soil ${platformName}: wake #${event.cycle}, broker ${where.host ?? "localhost"}:${where.port ?? 1883}\n`);
      else if (event.type === "restore" && event.messages > 0) trace(`soil: ${event.messages} unacknowledged readings restored\n`);
      else if (event.type === "timeout") trace("soil: no broker; the reading waits in the store\n");
      else if (event.type === "sleep") trace(`soil: sleeping ${event.ms / 1000} s\n`);
    },
  },
);
soil.wake();
