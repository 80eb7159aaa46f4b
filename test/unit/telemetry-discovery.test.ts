/**
 * Home Assistant discovery from the telemetry node: one retained QoS 1
 * config per entity at `<prefix>/<component>/<node_id>/<object_id>/config`
 * with availability, state topic and template, command topic, device
 * block, unique id; and the re-announcement (discovery + state) after HA's
 * birth, after the injected random delay. Runs on Node and inside XS.
 */
import test from "tape";
import type { SubscribePacket } from "../../modules/mqtt/codec/packets";
import type { NodeDescription } from "../../modules/telemetry/description";
import { FakeSwitch, Harness, ScriptedSensor, scriptedRandom } from "./support/telemetry-harness";

function description(extra: Partial<NodeDescription> = {}): NodeDescription {
  const relay = new FakeSwitch();
  let setpoint = 21;
  return {
    id: "thermo-1",
    name: "Living room thermostat",
    baseTopic: "house/thermo-1",
    device: { manufacturer: "mqtt-xs", model: "SHT40 + relay", swVersion: "0.1.0" },
    sensors: [
      {
        sensor: new ScriptedSensor({ thermometer: { temperature: 20.5 }, hygrometer: { humidity: 40 }, ok: true }),
        fields: [
          { name: "temperature", path: "thermometer.temperature", unit: "°C", deviceClass: "temperature", deadband: 0.1 },
          { name: "humidity", path: "hygrometer.humidity", unit: "%", deviceClass: "humidity", discovery: { icon: "mdi:water-percent" } },
          { name: "ok", deviceClass: "problem", label: "Sensor OK" },
        ],
      },
    ],
    actuators: [
      { name: "heater", type: "switch", apply: relay.apply, read: relay.read, deviceClass: "switch" },
      { name: "setpoint", type: "number", min: 5, max: 30, step: 0.5, unit: "°C", apply: (v) => (setpoint = v as number), read: () => setpoint },
    ],
    sampleInterval: 1000,
    period: 60000,
    homeAssistant: true,
    ...extra,
  };
}

function configs(h: Harness, prefix = "homeassistant") {
  return h.publishes().filter((p) => p.packet.topic.startsWith(`${prefix}/`) && p.packet.topic.endsWith("/config"));
}

const AVAILABILITY = { availability_topic: "house/thermo-1/status", payload_available: "online", payload_not_available: "offline" };
const DEVICE = { identifiers: ["thermo-1"], name: "Living room thermostat", manufacturer: "mqtt-xs", model: "SHT40 + relay", sw_version: "0.1.0" };

test("after the birth: one retained QoS 1 discovery config per entity, then the state", (t) => {
  const h = new Harness(description());
  h.node.start();
  h.accept();
  const topics = h.publishes().map((p) => p.packet.topic);
  t.deepEqual(topics, [
    "house/thermo-1/status",
    "homeassistant/sensor/thermo-1/temperature/config",
    "homeassistant/sensor/thermo-1/humidity/config",
    "homeassistant/binary_sensor/thermo-1/ok/config",
    "homeassistant/switch/thermo-1/heater/config",
    "homeassistant/number/thermo-1/setpoint/config",
    "house/thermo-1/state",
  ]);
  for (const c of configs(h)) {
    t.equal(c.packet.retain, true, `${c.packet.topic} retained`);
    t.equal(c.packet.qos, 1, `${c.packet.topic} QoS 1`);
  }
  t.end();
});

test("discovery payloads: sensor, binary_sensor, switch and number", (t) => {
  const h = new Harness(description());
  h.node.start();
  h.accept();
  const byTopic: Record<string, unknown> = {};
  for (const c of configs(h)) byTopic[c.packet.topic] = JSON.parse(c.text);
  t.deepEqual(byTopic["homeassistant/sensor/thermo-1/temperature/config"], {
    name: "temperature",
    unique_id: "thermo-1_temperature",
    state_topic: "house/thermo-1/state",
    ...AVAILABILITY,
    device: DEVICE,
    value_template: "{{ value_json.temperature }}",
    unit_of_measurement: "°C",
    state_class: "measurement",
    device_class: "temperature",
  });
  t.deepEqual(byTopic["homeassistant/sensor/thermo-1/humidity/config"], {
    name: "humidity",
    unique_id: "thermo-1_humidity",
    state_topic: "house/thermo-1/state",
    ...AVAILABILITY,
    device: DEVICE,
    value_template: "{{ value_json.humidity }}",
    unit_of_measurement: "%",
    state_class: "measurement",
    device_class: "humidity",
    icon: "mdi:water-percent",
  });
  t.deepEqual(byTopic["homeassistant/binary_sensor/thermo-1/ok/config"], {
    name: "Sensor OK",
    unique_id: "thermo-1_ok",
    state_topic: "house/thermo-1/state",
    ...AVAILABILITY,
    device: DEVICE,
    value_template: "{{ 'ON' if value_json.ok else 'OFF' }}",
    payload_on: "ON",
    payload_off: "OFF",
    device_class: "problem",
  });
  t.deepEqual(byTopic["homeassistant/switch/thermo-1/heater/config"], {
    name: "heater",
    unique_id: "thermo-1_heater",
    state_topic: "house/thermo-1/state",
    ...AVAILABILITY,
    device: DEVICE,
    command_topic: "house/thermo-1/set/heater",
    value_template: "{{ 'ON' if value_json.heater else 'OFF' }}",
    payload_on: "ON",
    payload_off: "OFF",
    device_class: "switch",
  });
  t.deepEqual(byTopic["homeassistant/number/thermo-1/setpoint/config"], {
    name: "setpoint",
    unique_id: "thermo-1_setpoint",
    state_topic: "house/thermo-1/state",
    ...AVAILABILITY,
    device: DEVICE,
    command_topic: "house/thermo-1/set/setpoint",
    value_template: "{{ value_json.setpoint }}",
    min: 5,
    max: 30,
    step: 0.5,
    unit_of_measurement: "°C",
  });
  t.end();
});

test("the switch's payloads match what the node accepts: HA's 'ON' command switches the heater", (t) => {
  const h = new Harness(description());
  h.node.start();
  h.accept();
  const sw = JSON.parse(configs(h).find((c) => c.packet.topic.includes("/switch/"))!.text);
  h.deliver(sw.command_topic, sw.payload_on);
  t.equal(JSON.parse(h.publishes("house/thermo-1/state").pop()!.text).heater, true);
  t.end();
});

test("subscribes to HA's birth topic <prefix>/status; a custom prefix is used everywhere", (t) => {
  const h = new Harness(description({ homeAssistant: { prefix: "ha" } }));
  h.node.start();
  h.accept();
  const sub = h.sent.find((s) => s.packet.type === 8)!.packet as SubscribePacket;
  t.deepEqual(sub.subscriptions.map((s) => s.topic), ["house/thermo-1/set/+", "ha/status"]);
  t.equal(configs(h, "ha").length, 5);
  t.equal(configs(h, "homeassistant").length, 0);
  t.end();
});

test("HA birth ('online' on homeassistant/status): discovery and state again after the injected random delay", (t) => {
  // random() = 0.25 of announceDelay 4000 ms = 1000 ms.
  const h = new Harness(description({ homeAssistant: { announceDelay: 4000 } }), { random: scriptedRandom(0.25) });
  h.node.start();
  h.accept();
  const before = configs(h).length;
  const statesBefore = h.publishes("house/thermo-1/state").length;
  h.deliver("homeassistant/status", "online");
  const bornAt = h.clock.t;
  h.advance(999);
  t.equal(configs(h).length, before, "nothing before the delay");
  h.advance(1);
  const again = configs(h).slice(before);
  t.equal(again.length, 5, "every entity announced again");
  t.ok(again.every((c) => c.at === bornAt + 1000), "exactly 1000 ms after HA's birth");
  t.equal(h.publishes("house/thermo-1/state").length, statesBefore + 1, "and the state");
  t.end();
});

test("a second HA birth within the delay does not double the announcement; 'offline' and retained births are ignored", (t) => {
  const h = new Harness(description({ homeAssistant: { announceDelay: 1000 } }), { random: scriptedRandom(0.5) });
  h.node.start();
  h.accept();
  const before = configs(h).length;
  h.deliver("homeassistant/status", "offline");
  h.deliver("homeassistant/status", "online", { retain: true });
  h.advance(5000);
  t.equal(configs(h).length, before, "offline / retained online: nothing");
  h.deliver("homeassistant/status", "online");
  h.advance(100);
  h.deliver("homeassistant/status", "online");
  h.advance(5000);
  t.equal(configs(h).length, before + 5, "one announcement");
  t.end();
});

test("discovery after every reconnect", (t) => {
  const h = new Harness(description());
  h.node.start();
  h.accept();
  h.drop();
  for (let i = 0; i < 100 && h.socket.closed; i++) h.advance(100);
  h.accept();
  t.equal(configs(h).length, 10);
  t.end();
});

test("discovery off: no config, no HA subscription", (t) => {
  const h = new Harness(description({ homeAssistant: false }));
  h.node.start();
  h.accept();
  t.equal(configs(h).length, 0);
  const sub = h.sent.find((s) => s.packet.type === 8)!.packet as SubscribePacket;
  t.deepEqual(sub.subscriptions.map((s) => s.topic), ["house/thermo-1/set/+"]);
  t.end();
});
