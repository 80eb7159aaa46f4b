/**
 * Telemetry node commands: `<base>/set/<name>`, never retained (a retained
 * command is refused and cleared), bad payloads answered with an error and
 * the actuator untouched, the new state published after applying, MQTT 5
 * request/response. Plus `parseCommand` on its own. Runs on Node and in XS.
 */
import test from "tape";
import type { PublishPacket, SubscribePacket } from "../../modules/mqtt/codec/packets";
import { parseCommand } from "../../modules/telemetry/commands";
import type { ActuatorSpec, NodeDescription } from "../../modules/telemetry/description";
import { FakeSwitch, Harness, ScriptedSensor, text, utf8 } from "./support/telemetry-harness";

function setup(version: 4 | 5 = 4, control?: NodeDescription["control"]) {
  const relay = new FakeSwitch();
  let setpoint = 20;
  const setpoints: number[] = [];
  const sensor = new ScriptedSensor({ temperature: 19 });
  const h = new Harness(
    {
      id: "thermo",
      sensors: [{ sensor, fields: ["temperature"] }],
      actuators: [
        { name: "relay", type: "switch", apply: relay.apply, read: relay.read },
        {
          name: "setpoint",
          type: "number",
          min: 5,
          max: 30,
          apply: (v) => {
            setpoints.push(v as number);
            setpoint = v as number;
          },
          read: () => setpoint,
        },
      ],
      sampleInterval: 1000,
      period: 60000,
      control,
    },
    {},
    version,
  );
  h.node.start();
  h.accept();
  return { h, relay, setpoints, getSetpoint: () => setpoint };
}

function lastState(h: Harness): Record<string, unknown> {
  return JSON.parse(h.publishes("thermo/state").pop()!.text);
}

test("subscribes to <base>/set/+ at QoS 0 so the broker queues no command while the node is offline", (t) => {
  const { h } = setup(4);
  const sub = h.sent.find((s) => s.packet.type === 8)!.packet as SubscribePacket;
  t.deepEqual(sub.subscriptions.map((s) => [s.topic, s.qos]), [["thermo/set/+", 0]]);
  t.end();
});

test("MQTT 5: the command subscription uses No Local and Retain As Published", (t) => {
  const { h } = setup(5);
  const sub = h.sent.find((s) => s.packet.type === 8)!.packet as SubscribePacket;
  t.equal(sub.subscriptions[0].qos, 0);
  t.equal(sub.subscriptions[0].noLocal, true);
  t.equal(sub.subscriptions[0].retainAsPublished, true);
  t.end();
});

test("a switch command is applied, then the new state is published", (t) => {
  const { h, relay } = setup();
  h.deliver("thermo/set/relay", "ON");
  t.deepEqual(relay.applied, [true]);
  t.deepEqual(lastState(h), { temperature: 19, relay: true, setpoint: 20 });
  h.deliver("thermo/set/relay", " off ");
  t.deepEqual(relay.applied, [true, false], "case and white space are ignored");
  t.deepEqual(h.commands, [["relay", true, undefined], ["relay", false, undefined]]);
  t.equal(h.publishes("thermo/error").length, 0);
  t.end();
});

test("a retained command is ignored (no ghost switching), answered with an error, and cleared at the broker", (t) => {
  const { h, relay } = setup();
  const mark = h.sent.length;
  h.deliver("thermo/set/relay", "ON", { retain: true });
  t.deepEqual(relay.applied, [], "actuator untouched");
  t.equal(relay.on, false);
  const errors = h.publishes("thermo/error");
  t.equal(errors.length, 1);
  const body = JSON.parse(errors[0].text);
  t.equal(body.command, "relay");
  t.ok(/retained/.test(body.error), body.error);
  t.equal(errors[0].packet.retain, false, "error replies are not retained");
  const clears = h.sent.slice(mark).filter((s) => s.packet.type === 3 && (s.packet as PublishPacket).topic === "thermo/set/relay");
  t.equal(clears.length, 1, "one clear");
  const clear = clears[0].packet as PublishPacket;
  t.equal(clear.payload.length, 0, "empty payload deletes the retained message [MQTT-3.3.1-6]");
  t.equal(clear.retain, true);
  h.deliver("thermo/set/relay", "", {});
  t.equal(h.publishes("thermo/error").length, 1, "the echo of the clear (empty payload) is ignored silently");
  t.deepEqual(h.commands, [["relay", undefined, body.error]]);
  t.end();
});

test("a bad payload gets an error reply on <base>/error and leaves the actuator untouched", (t) => {
  const { h, relay, setpoints } = setup();
  const cases: Array<[string, string | Uint8Array, RegExp]> = [
    ["relay", "maybe", /ON, OFF/],
    ["setpoint", "warm", /number/],
    ["setpoint", "31", /maximum 30/],
    ["setpoint", "4.9", /minimum 5/],
    ["setpoint", "1e999", /finite|number/],
    ["setpoint", "0x10", /number/],
    ["setpoint", new Uint8Array([0x32, 0xff]), /UTF-8/],
    ["setpoint", "9".repeat(300), /longer than 256/],
    ["heater", "ON", /unknown actuator/],
  ];
  for (const [name, payload, pattern] of cases) {
    const before = h.publishes("thermo/error").length;
    h.deliver(`thermo/set/${name}`, payload);
    const errors = h.publishes("thermo/error");
    t.equal(errors.length, before + 1, `${name} ${String(payload).slice(0, 10)}: one error reply`);
    const body = JSON.parse(errors[errors.length - 1].text);
    t.equal(body.command, name);
    t.ok(pattern.test(body.error), `${body.error} matches ${pattern}`);
  }
  t.deepEqual(relay.applied, [], "relay never applied");
  t.deepEqual(setpoints, [], "setpoint never applied");
  t.equal(h.publishes("thermo/state").length, 1, "no state published for refused commands");
  t.end();
});

test("an actuator that refuses in apply(): error reply, state not republished", (t) => {
  const { h, relay } = setup();
  relay.refuse = "interlock open";
  h.deliver("thermo/set/relay", "ON");
  const body = JSON.parse(h.publishes("thermo/error").pop()!.text);
  t.ok(/interlock open/.test(body.error), body.error);
  t.equal(body.payload, "ON", "the payload is echoed");
  t.equal(relay.on, false);
  t.equal(h.publishes("thermo/state").length, 1);
  t.end();
});

test("after a command the control hook runs at once (a new setpoint switches the heater without waiting for a sample)", (t) => {
  let relayRef: FakeSwitch | undefined;
  let sp = 0;
  const { h, relay, getSetpoint } = setup(4, (values) => {
    sp = getSetpoint();
    if (relayRef !== undefined && typeof values.temperature === "number") relayRef.on = values.temperature < sp;
  });
  relayRef = relay;
  h.deliver("thermo/set/setpoint", "25");
  t.equal(sp, 25);
  t.equal(relay.on, true, "heater on for 19 < 25");
  t.deepEqual(lastState(h), { temperature: 19, relay: true, setpoint: 25 });
  t.end();
});

test("MQTT 5: replies go to the Response Topic with the Correlation Data (success and error)", (t) => {
  const { h, relay } = setup(5);
  const correlation = utf8("req-1");
  h.deliver("thermo/set/relay", "ON", { properties: { responseTopic: "app/replies", correlationData: correlation } });
  t.equal(relay.on, true);
  let replies = h.publishes("app/replies");
  t.equal(replies.length, 1);
  t.deepEqual(JSON.parse(replies[0].text), { command: "relay", value: true });
  t.equal(text(replies[0].packet.properties!.correlationData!), "req-1");
  h.deliver("thermo/set/setpoint", "99", { properties: { responseTopic: "app/replies", correlationData: utf8("req-2") } });
  replies = h.publishes("app/replies");
  t.equal(replies.length, 2);
  t.ok(/maximum/.test(JSON.parse(replies[1].text).error));
  t.equal(text(replies[1].packet.properties!.correlationData!), "req-2");
  t.equal(h.publishes("thermo/error").length, 0, "no copy on the error topic when a response topic was given");
  t.end();
});

test("MQTT 5: a live command published with the retain flag (Retain As Published) is refused too", (t) => {
  const { h, relay } = setup(5);
  h.deliver("thermo/set/relay", "ON", { retain: true });
  t.equal(relay.on, false);
  t.equal(h.publishes("thermo/error").length, 1);
  t.end();
});

test("messages on other topics go to onMessage, not to the actuators", (t) => {
  const got: string[] = [];
  const relay = new FakeSwitch();
  const h = new Harness(
    { id: "n", actuators: [{ name: "relay", type: "switch", apply: relay.apply, read: relay.read }] },
    { onMessage: (p) => got.push(`${p.topic}=${text(p.payload)}`) },
  );
  h.node.start();
  h.accept();
  h.node.client.subscribe([{ topic: "other/#", qos: 0 }]);
  h.pump();
  h.deliver("other/x", "ON");
  t.deepEqual(got, ["other/x=ON"]);
  t.deepEqual(relay.applied, []);
  t.end();
});

test("parseCommand: switch and number grammars", (t) => {
  let on = false;
  const sw: ActuatorSpec = { name: "s", type: "switch", apply: () => {}, read: () => on };
  const num: ActuatorSpec = { name: "n", type: "number", min: -10, max: 10, apply: () => {}, read: () => 0, validate: (v) => (v === 7 ? "seven is unlucky" : undefined) };
  const ok = (a: ActuatorSpec, s: string) => {
    const r = parseCommand(a, s);
    return r.ok ? r.value : `error: ${r.error}`;
  };
  t.deepEqual(["ON", "on", "true", "1", "OFF", "False", "0"].map((s) => ok(sw, s)), [true, true, true, true, false, false, false]);
  t.equal(ok(sw, "TOGGLE"), true, "toggle from off");
  on = true;
  t.equal(ok(sw, "toggle"), false, "toggle from on");
  t.ok(String(ok(sw, "yes")).startsWith("error"));
  t.deepEqual(["0", "-3", "2.5", "1e1", "-1E-1", "10", "-10"].map((s) => ok(num, s)), [0, -3, 2.5, 10, -0.1, 10, -10]);
  for (const bad of ["", "+1", "1.", ".5", "01", "NaN", "Infinity", "1,5", "11", "-11", "0x1"]) t.ok(String(ok(num, bad)).startsWith("error"), `refuses ${JSON.stringify(bad)}`);
  t.equal(ok(num, "7"), "error: seven is unlucky", "the actuator's own validate runs last");
  t.end();
});
