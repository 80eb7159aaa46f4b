/**
 * Interop: both sample nodes (`examples/thermostat/node.ts`,
 * `examples/soil-moisture/node.ts`) running INSIDE the XS engine (one
 * xsnap worker each, `demo/xs-node.ts`) on simulated hardware, against a
 * real Mosquitto, observed by our Node client:
 * - thermostat: birth "online" retained; state JSON with the expected
 *   fields; mode topic; setpoint commands switch the relay per hysteresis
 *   (and not inside the band) and the state follows; control from samples;
 *   bad commands get an error reply and leave the relay untouched; local
 *   control goes on while the broker is unreachable; killing the XS worker
 *   makes the broker publish the will "offline", a new worker says "online";
 * - soil: QoS 1 state in a persistent session (clean session false, fixed
 *   client id; over MQTT 5 a Session Expiry Interval that outlives the
 *   sleep); a clean DISCONNECT before sleeping (no will); a wake that
 *   cannot reach the broker keeps its reading in the store, and the next
 *   wake delivers it (session present, restored from the store).
 *
 * Node-only (spawns Mosquitto and xsnap workers, real sockets on 127.0.0.1).
 */
import test from "tape";
import { connectAsync } from "../../hosts/node/mqtt";
import type { IClientOptions, MqttClient } from "../../hosts/node/mqtt";
import { XsNode } from "../../demo/xs-node";
import type { NodeEvent } from "../../demo/sim-nodes";
import { startMosquitto } from "../support/mosquitto";
import type { MosquittoBroker } from "../support/mosquitto";
import { startFaultProxy } from "../support/fault-proxy";
import type { FaultProxy } from "../support/fault-proxy";
import { delay, waitUntil } from "../support/net-util";

let mosquitto: MosquittoBroker | undefined;
let thermoProxy: FaultProxy | undefined;
let soilProxy: FaultProxy | undefined;
const observers: MqttClient[] = [];
const workers: XsNode[] = [];

interface Seen {
  topic: string;
  payload: string;
  qos: number;
  retain: boolean;
  dup: boolean;
}

async function observe(filters: string[], options: IClientOptions = {}): Promise<Seen[]> {
  const client = await connectAsync(mosquitto!.url, { reconnectPeriod: 0, ...options });
  observers.push(client);
  const seen: Seen[] = [];
  client.on("message", (topic: string, payload: Uint8Array, packet: { qos: number; retain: boolean; dup: boolean }) => {
    seen.push({ topic, payload: Buffer.from(payload).toString(), qos: packet.qos, retain: packet.retain, dup: packet.dup });
  });
  await client.subscribeAsync(filters, { qos: 1 });
  return seen;
}

function on(seen: Seen[], topic: string): Seen[] {
  return seen.filter((m) => m.topic === topic);
}

function states(seen: Seen[], topic: string): Array<Record<string, unknown>> {
  return on(seen, topic).map((m) => JSON.parse(m.payload) as Record<string, unknown>);
}

function xsNode(node: XsNode): { node: XsNode; events: NodeEvent[]; faults: unknown[] } {
  const events: NodeEvent[] = [];
  const faults: unknown[] = [];
  node.on("node", (event: NodeEvent) => events.push(event));
  node.on("fault", (error: unknown) => faults.push(error));
  workers.push(node);
  return { node, events, faults };
}

async function publish(topic: string, payload: string): Promise<void> {
  const client = observers[0];
  await client.publishAsync(topic, payload, { qos: 1 });
}

const T = "it-nodes/thermo";
const S = "it-nodes/soil";

test("start mosquitto and two fault proxies", async (t) => {
  mosquitto = await startMosquitto();
  thermoProxy = await startFaultProxy({ targetPort: mosquitto.port });
  soilProxy = await startFaultProxy({ targetPort: mosquitto.port });
  t.pass(`mosquitto :${mosquitto.port}, proxies :${thermoProxy.port} :${soilProxy.port}`);
});

let thermo: ReturnType<typeof xsNode>;
let seenT: Seen[];

test("thermostat in XS: birth 'online' retained, state JSON with the expected fields, mode 'heat', relay on below the band", async (t) => {
  seenT = await observe([`${T}/#`, "homeassistant/+/it-thermo/+/config"]);
  thermo = xsNode(
    new XsNode({
      kind: "thermostat",
      config: {
        url: `mqtt://127.0.0.1:${thermoProxy!.port}`,
        id: "it-thermo",
        baseTopic: T,
        setpoint: 21,
        hysteresis: 0.3,
        sampleInterval: 300,
        period: 60_000,
        fixedTemperature: 20,
        fixedHumidity: 41.5,
        backoffInitial: 200,
        backoffMax: 400,
      },
    }),
  );
  await thermo.node.start();
  await waitUntil(() => on(seenT, `${T}/status`).some((m) => m.payload === "online"), 8000, "birth", () => mosquitto!.log());
  await waitUntil(() => on(seenT, `${T}/state`).length > 0 && on(seenT, `${T}/mode`).length > 0, 5000, "state and mode");
  const state = states(seenT, `${T}/state`)[0];
  t.deepEqual(Object.keys(state).sort(), ["heater", "heating", "humidity", "setpoint", "temperature"], "state keys");
  t.equal(state.temperature, 20, "temperature from the simulated SHT4x, through its CRC-checked I2C frames");
  t.equal(state.humidity, 41.5, "humidity");
  t.equal(state.setpoint, 21);
  t.equal(state.heating, true, "mode heat");
  t.equal(state.heater, true, "20 °C <= 21 − 0.3: heater on");
  t.equal(on(seenT, `${T}/mode`)[0].payload, "heat");
  const late = await observe([`${T}/status`, `${T}/mode`]);
  await waitUntil(() => late.length >= 2, 3000, "retained status and mode");
  const status = late.find((m) => m.topic === `${T}/status`)!;
  t.deepEqual([status.payload, status.retain], ["online", true], "retained 'online'");
  t.equal(late.find((m) => m.topic === `${T}/mode`)!.retain, true, "mode retained");
  await waitUntil(() => seenT.some((m) => m.topic === "homeassistant/number/it-thermo/setpoint/config"), 3000, "discovery");
  const discovery = JSON.parse(seenT.find((m) => m.topic === "homeassistant/number/it-thermo/setpoint/config")!.payload);
  t.equal(discovery.command_topic, `${T}/set/setpoint`, "HA number entity commands the setpoint");
  const pin = await thermo.node.call("demo.inspect");
  t.equal(pin.pinLevel, 1, "relay pin driven high");
  t.deepEqual(thermo.faults, []);
});

test("setpoint commands switch the relay per hysteresis (not inside the band) and the state follows", async (t) => {
  const statesNow = (): Array<Record<string, unknown>> => states(seenT, `${T}/state`);
  // T = 20.0 °C fixed, h = 0.3.
  await publish(`${T}/set/setpoint`, "19.5"); // 20.0 >= 19.8: off
  await waitUntil(() => statesNow().some((s) => s.setpoint === 19.5), 5000, "state after setpoint 19.5");
  let s = statesNow().find((x) => x.setpoint === 19.5)!;
  t.equal(s.heater, false, "setpoint 19.5: heater off (20.0 >= 19.5 + 0.3), in the same report");
  t.equal((await thermo.node.call("demo.inspect")).pinLevel, 0, "relay pin low");

  await publish(`${T}/set/setpoint`, "20.2"); // inside the band 19.9..20.5: unchanged
  await waitUntil(() => statesNow().some((x) => x.setpoint === 20.2), 5000, "state after setpoint 20.2");
  s = statesNow().find((x) => x.setpoint === 20.2)!;
  t.equal(s.heater, false, "setpoint 20.2: 20.0 is inside 19.9..20.5, the heater stays off");

  await publish(`${T}/set/setpoint`, "20.4"); // 20.0 <= 20.1: on
  await waitUntil(() => statesNow().some((x) => x.setpoint === 20.4), 5000, "state after setpoint 20.4");
  s = statesNow().find((x) => x.setpoint === 20.4)!;
  t.equal(s.heater, true, "setpoint 20.4: heater on (20.0 <= 20.4 − 0.3)");
  t.equal((await thermo.node.call("demo.inspect")).pinLevel, 1, "relay pin high");

  // Control from samples: the room warms to 20.8 >= 20.7.
  const before = statesNow().length;
  await thermo.node.call("demo.set", { temperature: 20.8 });
  await waitUntil(() => statesNow().slice(before).some((x) => x.heater === false), 5000, "heater off after the room warmed");
  const warm = statesNow().slice(before).find((x) => x.heater === false)!;
  t.equal(warm.temperature, 20.8, "reported with the temperature that switched it");
  t.equal((await thermo.node.call("demo.inspect")).pinLevel, 0, "relay pin low");
  await thermo.node.call("demo.set", { temperature: 20 });
  await waitUntil(() => statesNow().slice(-1)[0].heater === true, 5000, "heater back on at 20.0");
  t.pass("heater back on when the room cooled to 20.0");
});

test("bad commands get an error reply on <base>/error and leave the relay and setpoint untouched", async (t) => {
  const before = await thermo.node.call("demo.inspect");
  const errorsBefore = on(seenT, `${T}/error`).length;
  await publish(`${T}/set/setpoint`, "hot");
  await publish(`${T}/set/setpoint`, "99");
  await publish(`${T}/set/heater`, "OFF"); // mode heat: the heater follows the thermostat
  await publish(`${T}/set/heating`, "maybe");
  await waitUntil(() => on(seenT, `${T}/error`).length >= errorsBefore + 4, 5000, "four error replies", () => JSON.stringify(on(seenT, `${T}/error`)));
  const replies = on(seenT, `${T}/error`).slice(errorsBefore).map((m) => JSON.parse(m.payload) as Record<string, string>);
  t.deepEqual(
    replies.map((r) => [r.command, r.payload]),
    [
      ["setpoint", "hot"],
      ["setpoint", "99"],
      ["heater", "OFF"],
      ["heating", "maybe"],
    ],
    "one reply per bad command, naming it and quoting the payload",
  );
  t.ok(/number/.test(replies[0].error), `not a number: ${replies[0].error}`);
  t.ok(/maximum 30/.test(replies[1].error), `out of range: ${replies[1].error}`);
  t.ok(/follows the thermostat/.test(replies[2].error), `manual heater refused in mode heat: ${replies[2].error}`);
  t.ok(/ON, OFF/.test(replies[3].error), `not a switch payload: ${replies[3].error}`);
  t.ok(on(seenT, `${T}/error`).every((m) => !m.retain && m.qos === 0), "error replies are QoS 0, not retained");
  const after = await thermo.node.call("demo.inspect");
  t.equal(after.pinWrites, before.pinWrites, "no write on the relay pin");
  t.equal(after.pinLevel, before.pinLevel, "relay level unchanged");
  t.equal(after.setpoint, before.setpoint, "setpoint unchanged");
  t.equal(after.mode, "heat", "mode unchanged");
});

test("local control goes on while the broker is unreachable; the birth and state follow the reconnect", async (t) => {
  thermoProxy!.cutAfter(0, "both"); // new connections die at once
  thermoProxy!.dropAll("rst");
  await waitUntil(async () => (await thermo.node.call("demo.inspect")).connected === false, 5000, "disconnected");
  const onlineBefore = on(seenT, `${T}/status`).filter((m) => m.payload === "online").length;
  await thermo.node.call("demo.set", { temperature: 21.5 }); // >= 20.4 + 0.3: off
  await waitUntil(async () => (await thermo.node.call("demo.inspect")).pinLevel === 0, 5000, "relay off while offline");
  t.pass("the relay switched off from a sample taken while offline");
  t.equal((await thermo.node.call("demo.inspect")).connected, false, "still offline");
  thermoProxy!.clearCut();
  await waitUntil(() => on(seenT, `${T}/status`).filter((m) => m.payload === "online").length > onlineBefore, 8000, "birth after the reconnect");
  await waitUntil(() => states(seenT, `${T}/state`).slice(-1)[0].heater === false, 5000, "state after the reconnect");
  t.equal(states(seenT, `${T}/state`).slice(-1)[0].temperature, 21.5, "the fresh state carries the offline decision");
  t.ok(on(seenT, `${T}/status`).some((m) => m.payload === "offline"), "the will said 'offline' meanwhile (3.1.1: no will delay)");
});

test("killing the XS worker: the broker publishes the will 'offline'; a new worker comes back 'online'", async (t) => {
  const statuses = (): string[] => on(seenT, `${T}/status`).map((m) => m.payload);
  const count = statuses().length;
  const logBefore = mosquitto!.log().length;
  await thermo.node.kill();
  await waitUntil(() => statuses().length > count, 5000, "will", () => mosquitto!.log().slice(-2000));
  t.deepEqual(statuses().slice(count), ["offline"], "the will, published by the broker");
  const log = mosquitto!.log().slice(logBefore);
  t.ok(/Client it-thermo closed its connection\./.test(log) && !/Client it-thermo disconnected\./.test(log), "the broker saw the connection close without DISCONNECT");
  const late = await observe([`${T}/status`]);
  await waitUntil(() => late.length > 0, 3000, "retained status");
  t.deepEqual([late[0].payload, late[0].retain], ["offline", true], "retained 'offline'");
  await thermo.node.start();
  await waitUntil(() => statuses().slice(count).includes("online"), 8000, "birth of the new worker");
  t.deepEqual(statuses().slice(count), ["offline", "online"], "back online");
  t.equal(thermo.node.starts, 2, "a second worker");
  await thermo.node.stop();
  await waitUntil(() => statuses().slice(-1)[0] === "offline", 3000, "graceful offline");
  t.deepEqual(thermo.faults, [], "no exception inside XS");
});

test("soil node in XS: QoS 1 in a persistent session; a reading taken while the broker is unreachable is stored and delivered after the next wake", async (t) => {
  const seen = await observe([`${S}/#`]);
  const soil = xsNode(
    new XsNode({
      kind: "soil",
      config: {
        url: `mqtt://127.0.0.1:${soilProxy!.port}`,
        id: "it-soil",
        baseTopic: S,
        sleepMs: 1500,
        awakeMs: 1500,
        fixedMoisture: 40,
        homeAssistant: false,
        backoffInitial: 200,
        backoffMax: 400,
      },
    }),
  );
  const stores: Array<Uint8Array | null> = [];
  soil.node.on("store", (value: { bytes: Uint8Array | null }) => stores.push(value.bytes));
  const of = (type: string, cycle: number): NodeEvent | undefined => soil.events.find((e) => e.type === type && "cycle" in e && e.cycle === cycle);
  await soil.node.start();

  // Wake 1: connect, publish, flush, sleep.
  await waitUntil(() => of("sleep", 1) !== undefined, 8000, "first sleep", () => JSON.stringify(soil.events));
  const first = states(seen, `${S}/state`);
  t.equal(first.length, 1, "one reading per wake");
  t.deepEqual(first[0], { moisture: 40, raw: 2320 }, "moisture % and the raw median (3000 − 1700 × 0.40)");
  t.ok(on(seen, `${S}/state`).every((m) => m.qos === 1), "delivered at QoS 1 (subscribed at 1: the node published at 1)");
  t.ok(/as it-soil \(p2, c0,/.test(mosquitto!.log()), "CONNECT with clean session false (c0) and the node id as client id");
  t.equal((of("sleep", 1) as { pending: number }).pending, 0, "nothing left unacknowledged before sleeping");
  await delay(300);
  t.deepEqual(on(seen, `${S}/status`).map((m) => m.payload), ["online"], "DISCONNECT before sleeping: no will, status stays 'online'");

  // Wake 2: the broker is unreachable.
  soilProxy!.cutAfter(0, "both");
  await soil.node.call("demo.set", { moisture: 55 });
  await waitUntil(() => of("sleep", 2) !== undefined, 8000, "second sleep", () => JSON.stringify(soil.events));
  t.ok(of("timeout", 2) !== undefined, "wake 2 timed out waiting for the broker");
  t.equal((of("sleep", 2) as { pending: number }).pending, 1, "the reading waits in the outbox");
  t.ok(stores.length > 0 && stores[stores.length - 1] !== null && stores[stores.length - 1]!.length > 0, "and was saved to the store before sleeping");
  t.equal(states(seen, `${S}/state`).length, 1, "nothing arrived during wake 2");

  // Wake 3: reachable again; a new TelemetryNode restores the reading from the store.
  soilProxy!.clearCut();
  await soil.node.call("demo.set", { moisture: 60 });
  await waitUntil(() => of("sleep", 3) !== undefined, 8000, "third sleep", () => JSON.stringify(soil.events));
  const restore = of("restore", 3) as { messages: number };
  t.equal(restore.messages, 1, "wake 3 restored one message from the store");
  t.equal((of("connected", 3) as { sessionPresent: boolean }).sessionPresent, true, "the broker kept the session across the sleeps");
  await waitUntil(() => states(seen, `${S}/state`).length >= 3, 3000, "both readings");
  t.deepEqual(
    states(seen, `${S}/state`).map((s) => s.moisture),
    [40, 55, 60],
    "the stored reading of wake 2 arrives, then the fresh one of wake 3",
  );
  t.ok(on(seen, `${S}/state`).every((m) => m.qos === 1), "all at QoS 1");
  t.equal(stores[stores.length - 1], null, "the store is cleared once everything was acknowledged");
  await soil.node.stop();
  await waitUntil(() => on(seen, `${S}/status`).slice(-1)[0]?.payload === "offline", 5000, "graceful offline");
  t.deepEqual(soil.faults, [], "no exception inside XS");
});

test("soil node in XS over MQTT 5: the session outlives the sleep (Session Expiry Interval), QoS 1 both wakes", async (t) => {
  const seen = await observe([`${S}5/state`], { protocolVersion: 5 });
  const soil = xsNode(
    new XsNode({
      kind: "soil",
      config: { url: mosquitto!.url, id: "it-soil5", baseTopic: `${S}5`, protocolVersion: 5, sleepMs: 6000, awakeMs: 1500, fixedMoisture: 30, homeAssistant: false },
    }),
  );
  await soil.node.start();
  const connected = (cycle: number) => soil.events.find((e) => e.type === "connected" && e.cycle === cycle) as { sessionPresent: boolean } | undefined;
  await waitUntil(() => connected(2) !== undefined, 10_000, "second wake", () => JSON.stringify(soil.events));
  t.equal(connected(1)!.sessionPresent, false, "wake 1: new session");
  t.equal(connected(2)!.sessionPresent, true, "wake 2, 6 s of sleep later (longer than the 5 s the will delay alone would keep it): the broker kept the session");
  await waitUntil(() => on(seen, `${S}5/state`).length >= 2, 3000, "two readings");
  t.ok(on(seen, `${S}5/state`).every((m) => m.qos === 1), "QoS 1");
  await soil.node.stop();
  t.deepEqual(soil.faults, [], "no exception inside XS");
});

test("stop everything", async (t) => {
  for (const worker of workers) await worker.kill();
  for (const client of observers) await client.endAsync();
  await thermoProxy?.close();
  await soilProxy?.close();
  await mosquitto?.dispose();
  t.pass("stopped");
});
