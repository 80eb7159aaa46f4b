/**
 * mqtt-basic: the smallest useful mqtt-xs app for a Moddable board or
 * simulator. It connects with a Last Will ("offline", retained), announces
 * itself ("online", retained), subscribes to its topic tree, publishes a
 * greeting and then a counter every `interval` ms, and prints every message
 * that arrives (its own included: the broker echoes them back).
 *
 * Settings come from `mc/config` (manifest.json "config", overridden on the
 * mcconfig command line, e.g. `broker=mqtt://192.168.1.10:1883`):
 * - broker:   broker URL, `mqtt://host[:port]` (host: name or IP address).
 * - topic:    topic prefix; the app uses `<topic>/status`, `<topic>/hello`,
 *             `<topic>/count` and subscribes to `<topic>/#`.
 * - clientId: MQTT client identifier; empty: a random `mqttxs_…` one.
 * - protocol: "4" (MQTT 3.1.1) or "5" (MQTT 5.0).
 * - interval: milliseconds between counter messages; "0": none.
 * - count:    stop (clean DISCONNECT) after this many counter messages; "0": never.
 * Wi-Fi (`ssid`, `password`) is handled by Moddable's network setup before
 * this module runs.
 */
import config from "mc/config";
import Timer from "timer";
import { connect, transportName } from "mqtt-xs/moddable";
import { parseBrokerUrl } from "mqtt-xs/mqtt/compat";

function setting(name: string, fallback: string): string {
  const value: unknown = config[name];
  return typeof value === "string" || typeof value === "number" ? String(value) : fallback;
}

function text(payload: Uint8Array): string {
  try {
    return String.fromArrayBuffer(payload.slice().buffer);
  } catch {
    return `<${payload.byteLength} bytes, not UTF-8>`;
  }
}

const broker = setting("broker", "mqtt://127.0.0.1:1883");
const topic = setting("topic", "mqtt-xs/basic");
const clientId = setting("clientId", "");
const protocolVersion = setting("protocol", "4") === "5" ? 5 : 4;
const interval = Number(setting("interval", "5000"));
const stopAfter = Number(setting("count", "0"));

const where = parseBrokerUrl(broker);
trace(`mqtt-basic: broker ${where.host ?? "localhost"} port ${where.port ?? 1883}, MQTT ${protocolVersion === 5 ? "5.0" : "3.1.1"}, transport ${transportName}\n`);

const client = connect(broker, {
  clientId: clientId === "" ? undefined : clientId,
  protocolVersion,
  keepalive: 30,
  will: { topic: `${topic}/status`, payload: "offline", qos: 1, retain: true },
});

let counter = 0;
let repeat: Timer | undefined;

client.on("connect", () => {
  trace(`connected as ${String(client.options.clientId)}\n`);
  client.publish(`${topic}/status`, "online", { qos: 1, retain: true });
  client.subscribe(`${topic}/#`, { qos: 1 }, (error) => {
    if (error) {
      trace(`subscribe failed: ${error.message}\n`);
      return;
    }
    trace(`subscribed to ${topic}/#\n`);
    client.publish(`${topic}/hello`, `hello from ${String(client.options.clientId)}`, { qos: 1 });
  });
});

client.on("message", (name: string, payload: Uint8Array) => {
  trace(`message ${name}: ${text(payload)}\n`);
});

client.on("offline", () => trace("offline\n"));
client.on("reconnect", () => trace("reconnecting\n"));
client.on("error", (error: Error) => trace(`error: ${error.message}\n`));
client.on("end", () => trace("ended\n"));

if (interval > 0) {
  repeat = Timer.repeat(() => {
    if (!client.connected) return;
    counter += 1;
    client.publish(`${topic}/count`, String(counter), { qos: 1 });
    if (stopAfter > 0 && counter >= stopAfter) {
      Timer.clear(repeat);
      repeat = undefined;
      client.end(false, () => trace(`done after ${counter} messages\n`));
    }
  }, interval);
}
