/**
 * Telemetry node: will and birth, report cadence (period, deadband), sensor
 * failures, flattening of ECMA-419 samples, local control while offline,
 * graceful shutdown, MQTT 5 will delay. Fake clock and fake socket; the
 * harness plays the broker. Runs on Node and inside XS.
 */
import test from "tape";
import type { ConnectPacket, PublishPacket } from "../../modules/mqtt/codec/packets";
import { NodeState } from "../../modules/telemetry/telemetry-node";
import type { NodeDescription } from "../../modules/telemetry/description";
import { Sht4x } from "../../modules/sensors/sht4x";
import { SimClock, SimI2C, Sht4xModel } from "../../hosts/sim";
import { FakeSwitch, Harness, ScriptedSensor, text } from "./support/telemetry-harness";

/** A t.throws predicate: the error message matches `pattern`. */
function message(pattern: RegExp): (error: unknown) => boolean {
  return (error) => error instanceof Error && pattern.test(error.message);
}

function basic(sensor: ScriptedSensor, extra: Partial<NodeDescription> = {}): NodeDescription {
  return {
    id: "node-1",
    baseTopic: "home/node-1",
    sensors: [{ sensor, fields: [{ name: "temperature", deadband: 0.5 }] }],
    sampleInterval: 1000,
    period: 10000,
    ...extra,
  };
}

test("connects with client id = node id and the will <base>/status = offline, QoS 1, retained", (t) => {
  const h = new Harness(basic(new ScriptedSensor({ temperature: 20 })));
  h.node.start();
  const connect = h.accept();
  t.equal(connect.clientId, "node-1");
  t.equal(connect.will?.topic, "home/node-1/status");
  t.equal(text(connect.will!.payload), "offline", "will payload exactly 'offline'");
  t.equal(connect.will?.qos, 1);
  t.equal(connect.will?.retain, true);
  t.equal(connect.clean, true, "3.1.1 without a store: clean session");
  t.deepEqual(h.errors, []);
  t.end();
});

test("after CONNACK: SUBSCRIBE (if any), birth 'online' QoS 1 retained, then the state", (t) => {
  const sw = new FakeSwitch();
  const h = new Harness(basic(new ScriptedSensor({ temperature: 20 }), { actuators: [{ name: "relay", type: "switch", apply: sw.apply, read: sw.read }] }));
  h.node.start();
  h.accept();
  const types = h.typesSince(1);
  t.deepEqual(types, [8, 3, 3], "SUBSCRIBE, PUBLISH birth, PUBLISH state");
  const [birth, state] = h.publishes();
  t.equal(birth.packet.topic, "home/node-1/status");
  t.equal(birth.text, "online", "birth payload exactly 'online'");
  t.equal(birth.packet.qos, 1);
  t.equal(birth.packet.retain, true);
  t.equal(state.packet.topic, "home/node-1/state");
  t.deepEqual(JSON.parse(state.text), { temperature: 20, relay: false });
  t.equal(state.packet.qos, 0, "default telemetry QoS 0");
  t.equal(state.packet.retain, false, "state not retained by default");
  t.equal(h.node.state, NodeState.Running);
  t.end();
});

test("the birth is published again after every reconnect (status never stays 'offline')", (t) => {
  const h = new Harness(basic(new ScriptedSensor({ temperature: 20 })));
  h.node.start();
  h.accept();
  for (let round = 0; round < 3; round++) {
    h.drop();
    const sockets = h.net.sockets.length;
    for (let i = 0; i < 100 && h.net.sockets.length === sockets; i++) h.advance(100);
    t.equal(h.net.sockets.length, sockets + 1, `reconnect ${round + 1} opened a socket`);
    h.accept();
  }
  const births = h.publishes("home/node-1/status").map((p) => `${p.text}/${p.packet.qos}/${p.packet.retain}`);
  t.deepEqual(births, ["online/1/true", "online/1/true", "online/1/true", "online/1/true"], "one birth per CONNACK");
  t.equal(h.connects.length, 4);
  t.ok(h.connects.every((c) => c.will !== undefined && text(c.will.payload) === "offline"), "every CONNECT carries the will");
  t.end();
});

test("period: with no change the state goes out every period (10 s), not every sample", (t) => {
  const sensor = new ScriptedSensor({ temperature: 20 });
  const h = new Harness(basic(sensor));
  h.node.start();
  h.accept();
  const start = h.clock.t;
  h.advance(35000);
  const times = h.publishes("home/node-1/state").map((p) => p.at - start);
  t.deepEqual(times, [0, 10000, 20000, 30000], "at connect, then every 10 s");
  t.ok(sensor.calls >= 35, `sampled every second (${sensor.calls} samples)`);
  t.end();
});

test("deadband: a change beyond it is reported at the next sample; within it (or exactly at it) only with the period", (t) => {
  const sensor = new ScriptedSensor({ temperature: 20 });
  const h = new Harness(basic(sensor));
  h.node.start();
  h.accept();
  const start = h.clock.t;
  sensor.value = { temperature: 20.3 }; // |Δ| 0.3 <= 0.5
  h.advance(1000);
  sensor.value = { temperature: 20.5 }; // |Δ| exactly 0.5: not beyond
  h.advance(1000);
  sensor.value = { temperature: 20.6 }; // 0.6 > 0.5: report
  h.advance(1000);
  sensor.value = { temperature: 21.0 }; // vs the last REPORTED 20.6: 0.4
  h.advance(1000);
  sensor.value = { temperature: 20.0 }; // vs 20.6: 0.6, downwards
  h.advance(1000);
  const states = h.publishes("home/node-1/state").map((p) => [p.at - start, JSON.parse(p.text).temperature]);
  t.deepEqual(states, [[0, 20], [3000, 20.6], [5000, 20]]);
  h.advance(10000);
  const last = h.publishes("home/node-1/state").map((p) => p.at - start);
  t.equal(last[last.length - 1], 15000, "the period restarts at the last report");
  t.end();
});

test("a field without deadband goes out only with the period; an actuator change is reported at once", (t) => {
  const sensor = new ScriptedSensor({ level: 1 });
  const sw = new FakeSwitch();
  const h = new Harness({
    id: "n2",
    sensors: [{ sensor, fields: ["level"] }],
    actuators: [{ name: "pump", type: "switch", apply: sw.apply, read: sw.read }],
    sampleInterval: 1000,
    period: 10000,
  });
  h.node.start();
  h.accept();
  const start = h.clock.t;
  sensor.value = { level: 50 };
  h.advance(3000);
  t.equal(h.publishes("n2/state").length, 1, "a big change of a field without deadband is not reported by exception");
  sw.on = true; // changed locally (e.g. a button)
  h.advance(1000);
  const states = h.publishes("n2/state").map((p) => [p.at - start, p.text]);
  t.deepEqual(states[1], [4000, '{"level":50,"pump":true}'], "actuator change reported at the next sample");
  t.end();
});

test("booleans report on any change when they have a deadband; precision rounds numbers", (t) => {
  const sensor = new ScriptedSensor({ door: false, t: 21.23456 });
  const h = new Harness({
    id: "n3",
    sensors: [{ sensor, fields: [{ name: "door", deadband: 0 }, { name: "t", precision: 2 }] }],
    sampleInterval: 1000,
    period: 60000,
  });
  h.node.start();
  h.accept();
  sensor.value = { door: true, t: 21.23456 };
  h.advance(1000);
  t.deepEqual(h.publishes("n3/state").map((p) => p.text), ['{"door":false,"t":21.23}', '{"door":true,"t":21.23}']);
  t.end();
});

test("a sensor that throws: its fields are absent (never stale), the error is reported, other sensors still go out", (t) => {
  const a = new ScriptedSensor({ x: 1 });
  const b = new ScriptedSensor({ y: 2 });
  const h = new Harness({ id: "n4", sensors: [{ sensor: a, fields: [{ name: "x", deadband: 0 }] }, { sensor: b, fields: [{ name: "y", deadband: 0 }] }], sampleInterval: 1000, period: 60000 });
  h.node.start();
  h.accept();
  a.fail = new Error("checksum");
  b.value = { y: 3 };
  h.advance(1000);
  const states = h.publishes("n4/state").map((p) => p.text);
  t.deepEqual(states, ['{"x":1,"y":2}', '{"y":3}']);
  t.equal(h.errors.length, 1);
  t.equal((h.errors[0] as Error).message, "checksum");
  t.equal(h.node.values.x, undefined);
  t.end();
});

test("flattens nested ECMA-419 samples: SHT4x (real driver on the simulated bus) without a field list", (t) => {
  const sim = new SimClock();
  const model = new Sht4xModel({ clock: sim, temperature: 22.5, humidity: 48 });
  const sht = new Sht4x({ sensor: { io: SimI2C, data: 21, clock: 22, model }, delay: sim.delay });
  const h = new Harness({ id: "n5", sensors: [{ sensor: sht }], sampleInterval: 1000, period: 60000 });
  h.node.start();
  h.accept();
  const state = JSON.parse(h.publishes("n5/state")[0].text);
  t.deepEqual(Object.keys(state), ["temperature", "humidity"], "thermometer.temperature and hygrometer.humidity flattened to their keys");
  t.ok(Math.abs(state.temperature - 22.5) < 0.05, `temperature ${state.temperature}`);
  t.ok(Math.abs(state.humidity - 48) < 0.05, `humidity ${state.humidity}`);
  t.end();
});

test("flattening names clashing leaves after their whole path", (t) => {
  const sensor = new ScriptedSensor({ a: { value: 1 }, b: { value: 2 }, c: { other: true, list: [1, 2] } });
  const h = new Harness({ id: "n6", sensors: [{ sensor }], sampleInterval: 1000, period: 60000 });
  h.node.start();
  h.accept();
  t.deepEqual(JSON.parse(h.publishes("n6/state")[0].text), { a_value: 1, b_value: 2, other: true });
  t.end();
});

test("local control: the thermostat keeps regulating while offline; no QoS 0 state is queued; the reconnect reports the new state", (t) => {
  const sensor = new ScriptedSensor({ thermometer: { temperature: 19 } });
  const heater = new FakeSwitch();
  let controls = 0;
  const h = new Harness({
    id: "thermo",
    sensors: [{ sensor, fields: [{ name: "temperature", path: "thermometer.temperature", deadband: 0.2 }] }],
    actuators: [{ name: "heater", type: "switch", apply: heater.apply, read: heater.read }],
    sampleInterval: 1000,
    period: 10000,
    control: (values) => {
      controls += 1;
      const temp = values.temperature;
      if (typeof temp !== "number") heater.on = false; // fail safe
      else if (temp < 20) heater.on = true;
      else if (temp > 21) heater.on = false;
    },
  });
  h.node.start();
  t.equal(heater.on, true, "the first sample (before any connection) already regulates");
  h.accept();
  h.drop(); // broker gone
  const before = h.publishes().length;
  sensor.value = { thermometer: { temperature: 21.5 } };
  h.advance(1000);
  t.equal(heater.on, false, "heater switched off while offline");
  sensor.value = { thermometer: { temperature: 19.5 } };
  h.advance(1000);
  t.equal(heater.on, true, "and on again");
  t.ok(controls >= 3, "control ran on every sample");
  t.equal(h.publishes().length, before, "nothing published while offline");
  t.equal(h.node.client.outbox.counters.queued, 0, "QoS 0 states were not queued");
  for (let i = 0; i < 100 && h.socket.closed; i++) h.advance(100);
  h.accept();
  const last = h.publishes("thermo/state").pop()!;
  t.deepEqual(JSON.parse(last.text), { temperature: 19.5, heater: true }, "fresh state after the reconnect");
  t.end();
});

test("graceful stop: 'offline' (QoS 1, retained), then DISCONNECT only after its PUBACK; then Stopped", (t) => {
  const h = new Harness(basic(new ScriptedSensor({ temperature: 20 })));
  h.node.start();
  h.accept();
  h.autoAck = false;
  const mark = h.sent.length;
  let stopped = 0;
  h.node.stop(undefined, () => stopped++);
  h.pump();
  t.equal(h.node.state, NodeState.Stopping);
  t.deepEqual(h.typesSince(mark), [3], "only the offline PUBLISH so far");
  const offline = h.sent[mark].packet as PublishPacket;
  t.equal(offline.topic, "home/node-1/status");
  t.equal(text(offline.payload), "offline");
  t.equal(offline.qos, 1);
  t.equal(offline.retain, true);
  t.equal(stopped, 0);
  h.puback(offline.packetId!);
  t.deepEqual(h.typesSince(mark), [3, 14], "DISCONNECT after the PUBACK");
  t.equal(h.socket.closed, true);
  t.equal(stopped, 1, "stop callback");
  t.equal(h.node.state, NodeState.Stopped);
  const samples = h.publishes().length;
  h.advance(30000);
  t.equal(h.publishes().length, samples, "no traffic after stop");
  t.equal(h.clock.armed, 0, "no timer left armed");
  t.end();
});

test("stop timeout: without an acknowledgement the connection is dropped (no DISCONNECT: the will says offline)", (t) => {
  const h = new Harness(basic(new ScriptedSensor({ temperature: 20 })), { stopTimeout: 3000 });
  h.node.start();
  h.accept();
  h.autoAck = false;
  const mark = h.sent.length;
  h.node.stop();
  h.advance(2999);
  t.equal(h.node.state, NodeState.Stopping);
  h.advance(1);
  t.equal(h.node.state, NodeState.Stopped);
  t.deepEqual(h.typesSince(mark), [3], "no DISCONNECT");
  t.equal(h.socket.closed, true);
  t.end();
});

test("stop while offline ends at once and publishes nothing", (t) => {
  const h = new Harness(basic(new ScriptedSensor({ temperature: 20 })));
  h.node.start();
  h.accept();
  h.drop();
  const mark = h.sent.length;
  let stopped = false;
  h.node.stop(undefined, () => (stopped = true));
  t.equal(stopped, true);
  t.equal(h.node.state, NodeState.Stopped);
  t.deepEqual(h.typesSince(mark), []);
  t.end();
});

test("MQTT 5: will with Will Delay Interval, Session Expiry >= the delay, Clean Start 0 (a quick reconnect does not flap the status)", (t) => {
  const h = new Harness(basic(new ScriptedSensor({ temperature: 20 }), { willDelay: 7 }), {}, 5);
  h.node.start();
  const connect: ConnectPacket = h.accept();
  t.equal(connect.protocolVersion, 5);
  t.equal(connect.will?.properties?.willDelayInterval, 7);
  t.equal(connect.properties?.sessionExpiryInterval, 7, "session expiry raised to the will delay (MQTT 5.0 §3.1.3.2.2)");
  t.equal(connect.clean, false, "Clean Start 0: a new connection resumes the session, so the delayed will is cancelled");
  t.end();
});

test("MQTT 5: a longer session expiry given by the caller is kept; graceful stop sends DISCONNECT reason 0x00", (t) => {
  const h = new Harness(basic(new ScriptedSensor({ temperature: 20 })), { properties: { sessionExpiryInterval: 3600 } }, 5);
  h.node.start();
  const connect = h.accept();
  t.equal(connect.properties?.sessionExpiryInterval, 3600);
  t.equal(connect.will?.properties?.willDelayInterval, 5, "default will delay 5 s");
  const mark = h.sent.length;
  h.node.stop();
  h.pump();
  const types = h.typesSince(mark);
  t.deepEqual(types, [3, 14]);
  t.equal((h.sent[h.sent.length - 1].packet as { reasonCode: number }).reasonCode, 0, "normal disconnection: the broker discards the will");
  t.end();
});

test("MQTT 3.1.1 with a store: persistent session (clean false)", (t) => {
  const store = { load: () => undefined, save: () => undefined, clear: () => undefined };
  const h = new Harness(basic(new ScriptedSensor({ temperature: 20 })), { store });
  h.node.start();
  t.equal(h.accept().clean, false);
  t.end();
});

test("rejects bad descriptions with the rule in the message", (t) => {
  const s = new ScriptedSensor({ x: 1 });
  const make = (d: Partial<NodeDescription>) => () => new Harness({ id: "ok", sensors: [{ sensor: s, fields: ["x"] }], ...d });
  t.throws(make({ id: "bad id" }), message(/A-Za-z0-9_-/));
  t.throws(make({ baseTopic: "a/+/b" }), TypeError);
  t.throws(make({ baseTopic: "a/b/" }), message(/trailing/));
  t.throws(make({ qos: 3 as never }), message(/MQTT-3.3.1-4/));
  t.throws(make({ period: 0 }), RangeError);
  t.throws(make({ actuators: [{ name: "x", type: "switch", apply: () => {}, read: () => false }] }), message(/already used/));
  t.throws(make({ sensors: [{ sensor: {} as never }] }), message(/sample\(\)/));
  t.throws(make({ willDelay: -1 }), message(/3.1.3.2.2/));
  t.doesNotThrow(make({}));
  t.end();
});

test("start() after stop(): connects again, birth again, no duplicate SUBSCRIBE", (t) => {
  const sw = new FakeSwitch();
  const h = new Harness(basic(new ScriptedSensor({ temperature: 20 }), { actuators: [{ name: "relay", type: "switch", apply: sw.apply, read: sw.read }] }));
  h.node.start();
  h.accept();
  h.node.stop();
  h.pump();
  t.equal(h.node.state, NodeState.Stopped);
  const mark = h.sent.length;
  h.node.start();
  h.accept();
  t.equal(h.node.state, NodeState.Running);
  const types = h.typesSince(mark);
  t.equal(types[0], 1, "CONNECT");
  t.equal(types.filter((x) => x === 8).length, 1, "one SUBSCRIBE (the client's resubscribe), not two");
  t.deepEqual(h.publishes("home/node-1/status").map((p) => p.text), ["online", "offline", "online"]);
  t.end();
});

test("a sensor whose first samples fail: its auto-flattened fields are announced to HA as soon as they are known", (t) => {
  const sensor = new ScriptedSensor({ a: { x: 1 } });
  sensor.fail = new Error("not ready");
  const h = new Harness({ id: "late", sensors: [{ sensor }], sampleInterval: 1000, period: 60000, homeAssistant: true });
  h.node.start();
  h.accept();
  t.equal(h.publishes().filter((p) => p.packet.topic.endsWith("/config")).length, 0, "nothing to announce yet");
  sensor.fail = undefined;
  h.advance(1000);
  t.deepEqual(h.publishes().filter((p) => p.packet.topic.endsWith("/config")).map((p) => p.packet.topic), ["homeassistant/sensor/late/x/config"]);
  t.end();
});

test("without onError a sensor error is rethrown from the timer callback, after the node re-armed its timer (never swallowed)", (t) => {
  const sensor = new ScriptedSensor({ temperature: 20 });
  const h = new Harness(basic(sensor), { onError: undefined });
  h.node.start();
  h.accept();
  sensor.fail = new Error("bus stuck");
  t.throws(() => h.clock.advance(1000), message(/bus stuck/));
  t.ok(h.clock.armed >= 1, "timer armed again");
  sensor.fail = undefined;
  sensor.value = { temperature: 30 };
  h.advance(1000);
  t.equal(JSON.parse(h.publishes("home/node-1/state").pop()!.text).temperature, 30, "still sampling and reporting");
  t.end();
});
