/**
 * thermostat: the Moddable entry of the thermostat sample node (board or
 * simulator). It builds the IO (the SHT4x and the relay from the platform
 * module: ECMA-419 I²C and Digital on a board, simulated buses on the
 * desktop simulator; the TCP socket, Moddable's timer and clock) and hands
 * it to the portable node (`./node.ts`), which does everything else.
 *
 * Settings come from `mc/config` (manifest.json "config", overridden on the
 * mcconfig command line, e.g. `broker=mqtt://192.168.1.10:1883 node=living-room`):
 * - broker:     broker URL, `mqtt://host[:port]`;
 * - node:       node id = MQTT client id = Home Assistant node id;
 * - topic:      base topic; empty: the node id;
 * - setpoint:   initial setpoint, °C; hysteresis: half band, °C;
 * - protocol:   "4" (MQTT 3.1.1) or "5";
 * - interval:   sampling/control interval, ms; period: telemetry period, ms;
 * - homeassistant: "1" to publish discovery, "0" not to;
 * - sda, scl:   I²C pins of the SHT4x; relay: GPIO of the relay;
 *   relayActiveLow: "1" for relay boards that switch on a low input.
 * Wi-Fi (`ssid`, `password`) is joined by Moddable's network setup before
 * this module runs.
 */
import config from "mc/config";
import { TelemetryNode } from "mqtt-xs/telemetry/telemetry-node";
import { parseBrokerUrl } from "mqtt-xs/mqtt/compat";
import { Transport, createClock, moddableTimer } from "mqtt-xs/moddable";
import { Thermostat } from "./node";
import { createHardware, platformName } from "./platform";

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
const id = setting("node", "thermostat-1");
const topic = setting("topic", "");
const where = parseBrokerUrl(broker);
if (where.protocol !== "mqtt" && where.protocol !== "tcp") throw new TypeError(`thermostat: plain mqtt:// brokers only (got ${broker}); see README for TLS`);

const { sensor, relay } = createHardware({
  sda: numberSetting("sda", 21),
  scl: numberSetting("scl", 22),
  relay: numberSetting("relay", 26),
  relayActiveLow: setting("relayActiveLow", "0") === "1",
});

const thermostat = new Thermostat(
  {
    id,
    baseTopic: topic === "" ? undefined : topic,
    setpoint: numberSetting("setpoint", 21),
    hysteresis: numberSetting("hysteresis", 0.3),
    sampleInterval: numberSetting("interval", 10_000),
    period: numberSetting("period", 60_000),
    homeAssistant: setting("homeassistant", "1") === "1",
  },
  {
    sensor,
    relay,
    createNode: (description, options) => new TelemetryNode(description, options),
    options: {
      socket: { io: Transport, host: where.host ?? "127.0.0.1", port: where.port ?? 1883 },
      timer: moddableTimer,
      now: createClock(),
      protocolVersion: setting("protocol", "4") === "5" ? 5 : 4,
      keepalive: 30,
      onConnect: (sessionPresent) => trace(`thermostat: connected to ${broker} (session present: ${sessionPresent})\n`),
      onClose: (error) => trace(`thermostat: connection closed${error === undefined ? "" : `: ${error.message}`}\n`),
      onState: (_state, payload) => trace(`thermostat: state ${payload}\n`),
      onCommand: (name, value, error) => trace(`thermostat: command ${name} ${error === undefined ? `= ${String(value)}` : `refused: ${error}`}\n`),
      onError: (error) => trace(`thermostat: error ${(error as Error)?.message ?? String(error)}\n`),
    },
  },
);
trace(`thermostat ${id} (${platformName}): broker ${where.host ?? "localhost"}:${where.port ?? 1883}, setpoint ${thermostat.setpoint} °C ± ${thermostat.hysteresis}\n`);
thermostat.start();
