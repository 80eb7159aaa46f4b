/**
 * Interop on Node: the telemetry node against a real Mosquitto, through the
 * fault proxy where the connection must die abruptly.
 * - the will on an abrupt connection loss, and the birth after the
 *   reconnect (status "online" again) — 3.1.1;
 * - MQTT 5 will delay: a quick reconnect does not flap the status; without
 *   a reconnect "offline" comes after the delay;
 * - Home Assistant discovery (retained at the broker) and its
 *   re-announcement after `homeassistant/status` = "online";
 * - commands are never retained: a retained command waiting at the broker
 *   is refused (actuator untouched), answered on `<base>/error` and
 *   deleted; a live command is applied;
 * - persistence across a simulated restart: QoS 1 states published while
 *   the broker is unreachable are saved (FileStore), the node "crashes",
 *   a new node restored from the file delivers them once the broker is
 *   reachable again;
 * - graceful stop: "offline" retained, then DISCONNECT (no will).
 *
 * Node-only (spawns Mosquitto, real sockets on 127.0.0.1).
 */
import test from "tape";
import { copyFileSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connectAsync, nodeTimer, now, TCP } from "../../hosts/node/mqtt";
import type { IClientOptions, MqttClient } from "../../hosts/node/mqtt";
import { FileStore } from "../../hosts/node/file-store";
import { TelemetryNode } from "../../modules/telemetry/telemetry-node";
import type { TelemetryNodeOptions } from "../../modules/telemetry/telemetry-node";
import type { NodeDescription } from "../../modules/telemetry/description";
import { startMosquitto } from "../support/mosquitto";
import type { MosquittoBroker } from "../support/mosquitto";
import { startFaultProxy } from "../support/fault-proxy";
import type { FaultProxy } from "../support/fault-proxy";
import { delay, waitUntil } from "../support/net-util";

let mosquitto: MosquittoBroker | undefined;
let proxy: FaultProxy | undefined;
const nodes: TelemetryNode[] = [];
const observers: MqttClient[] = [];

interface Seen {
  topic: string;
  payload: string;
  retain: boolean;
  at: number;
}

async function observe(filters: string[], options: IClientOptions = {}): Promise<{ client: MqttClient; seen: Seen[] }> {
  const client = await connectAsync(mosquitto!.url, { reconnectPeriod: 0, ...options });
  observers.push(client);
  const seen: Seen[] = [];
  client.on("message", (topic: string, payload: Uint8Array, packet: { retain: boolean }) => {
    seen.push({ topic, payload: Buffer.from(payload).toString(), retain: packet.retain, at: Date.now() });
  });
  await client.subscribeAsync(filters, { qos: 1 });
  return { client, seen };
}

function makeNode(description: NodeDescription, port: number, options: Partial<TelemetryNodeOptions> = {}): { node: TelemetryNode; errors: unknown[] } {
  const errors: unknown[] = [];
  const node = new TelemetryNode(description, {
    socket: { io: TCP, host: "127.0.0.1", port },
    timer: nodeTimer,
    now,
    random: () => 0.5,
    backoffInitial: 400,
    backoffMax: 800,
    keepalive: 10,
    onError: (e) => errors.push(e),
    ...options,
  });
  nodes.push(node);
  return { node, errors };
}

function stopNode(node: TelemetryNode): Promise<void> {
  return new Promise((resolve) => node.stop(undefined, resolve));
}

function statuses(seen: Seen[], topic: string): string[] {
  return seen.filter((m) => m.topic === topic).map((m) => m.payload);
}

test("start mosquitto and the fault proxy", async (t) => {
  mosquitto = await startMosquitto();
  proxy = await startFaultProxy({ targetPort: mosquitto.port });
  t.pass(`mosquitto :${mosquitto.port}, proxy :${proxy.port}`);
});

test("3.1.1: the will says 'offline' on an abrupt connection loss; the birth says 'online' again after the reconnect", async (t) => {
  const { seen } = await observe(["it/will/status"]);
  let connects = 0;
  const { node, errors } = makeNode({ id: "it-will", baseTopic: "it/will", sampleInterval: 1000, period: 60000 }, proxy!.port, { onConnect: () => connects++ });
  node.start();
  await waitUntil(() => statuses(seen, "it/will/status").includes("online"), 5000, "birth", () => mosquitto!.log());
  proxy!.dropAll("rst"); // the connection dies without DISCONNECT
  await waitUntil(() => statuses(seen, "it/will/status").length >= 3, 8000, "will then birth", () => JSON.stringify(seen));
  t.deepEqual(statuses(seen, "it/will/status").slice(0, 3), ["online", "offline", "online"], "online, will, birth after the reconnect");
  t.equal(connects, 2, "reconnected once");
  const late = await observe(["it/will/status"]);
  await waitUntil(() => late.seen.length > 0, 3000, "retained status");
  t.deepEqual([late.seen[0].payload, late.seen[0].retain], ["online", true], "the retained status is 'online'");
  await stopNode(node);
  t.deepEqual(errors, []);
});

test("graceful stop: 'offline' (retained) then DISCONNECT, and no will afterwards", async (t) => {
  const { seen } = await observe(["it/stop/status"]);
  const { node } = makeNode({ id: "it-stop", baseTopic: "it/stop" }, mosquitto!.port);
  node.start();
  await waitUntil(() => statuses(seen, "it/stop/status").includes("online"), 5000, "birth");
  await stopNode(node);
  await waitUntil(() => statuses(seen, "it/stop/status").includes("offline"), 3000, "offline");
  await delay(500);
  t.deepEqual(statuses(seen, "it/stop/status"), ["online", "offline"], "exactly one 'offline' (ours, not a will as well)");
  t.ok(/Client it-stop disconnected\./.test(mosquitto!.log()), "the broker logged a clean DISCONNECT");
});

test("MQTT 5 will delay: a quick reconnect does not flap the status; without one, 'offline' comes after the delay", async (t) => {
  const { seen } = await observe(["it/delay/#"], { protocolVersion: 5 });
  const quick = makeNode({ id: "it-delay-a", baseTopic: "it/delay/a", willDelay: 3 }, proxy!.port, { protocolVersion: 5 });
  quick.node.start();
  await waitUntil(() => statuses(seen, "it/delay/a/status").includes("online"), 5000, "birth a");
  proxy!.dropAll("rst");
  await delay(4500); // longer than the will delay; the node is back after ~200 ms
  t.deepEqual(statuses(seen, "it/delay/a/status").filter((s) => s === "offline"), [], "no 'offline' while the node reconnected within the delay");
  t.ok(statuses(seen, "it/delay/a/status").length >= 2, "birth after the reconnect");

  const gone = makeNode({ id: "it-delay-b", baseTopic: "it/delay/b", willDelay: 2 }, proxy!.port, { protocolVersion: 5, reconnect: false });
  gone.node.start();
  await waitUntil(() => statuses(seen, "it/delay/b/status").includes("online"), 5000, "birth b");
  const lostAt = Date.now();
  proxy!.dropAll("rst");
  await waitUntil(() => statuses(seen, "it/delay/b/status").includes("offline"), 8000, "delayed will", () => JSON.stringify(seen));
  const offline = seen.find((m) => m.topic === "it/delay/b/status" && m.payload === "offline")!;
  const after = offline.at - lostAt;
  t.ok(after >= 1500 && after < 6000, `'offline' ${after} ms after the loss (will delay 2 s)`);
  await stopNode(quick.node);
  await stopNode(gone.node);
});

test("Home Assistant: retained discovery per entity; re-announced after homeassistant/status = online", async (t) => {
  const relay = { on: false };
  const description: NodeDescription = {
    id: "it-ha",
    baseTopic: "it/ha",
    sensors: [{ sensor: { sample: () => ({ thermometer: { temperature: 21.5 } }) }, fields: [{ name: "temperature", path: "thermometer.temperature", unit: "°C", deviceClass: "temperature" }] }],
    actuators: [{ name: "heater", type: "switch", apply: (v) => (relay.on = v === true), read: () => relay.on }],
    homeAssistant: { announceDelay: 400 },
  };
  const { seen, client } = await observe(["homeassistant/+/it-ha/+/config", "it/ha/state"]);
  const { node, errors } = makeNode(description, mosquitto!.port);
  node.start();
  const configs = () => seen.filter((m) => m.topic.endsWith("/config"));
  await waitUntil(() => configs().length >= 2, 5000, "discovery");
  await delay(300);
  t.deepEqual(configs().map((m) => m.topic).sort(), ["homeassistant/sensor/it-ha/temperature/config", "homeassistant/switch/it-ha/heater/config"]);
  const sensor = JSON.parse(configs().find((m) => m.topic.includes("/sensor/"))!.payload);
  t.equal(sensor.availability_topic, "it/ha/status");
  t.equal(sensor.unit_of_measurement, "°C", "UTF-8 survives the round trip");
  const late = await observe(["homeassistant/+/it-ha/+/config"]);
  await waitUntil(() => late.seen.length >= 2, 3000, "retained discovery");
  t.ok(late.seen.every((m) => m.retain), "discovery is retained at the broker");
  const before = configs().length;
  const statesBefore = seen.filter((m) => m.topic === "it/ha/state").length;
  await client.publishAsync("homeassistant/status", "online", { qos: 0, retain: false });
  await waitUntil(() => configs().length >= before + 2, 5000, "re-announcement");
  await waitUntil(() => seen.filter((m) => m.topic === "it/ha/state").length > statesBefore, 2000, "state re-sent");
  t.pass("discovery and state re-sent after HA's birth");
  await stopNode(node);
  t.deepEqual(errors, []);
});

test("commands are never retained: a retained command is refused, answered and deleted; a live one is applied", async (t) => {
  const { client, seen } = await observe(["it/cmd/error", "it/cmd/state"]);
  await client.publishAsync("it/cmd/set/relay", "ON", { qos: 1, retain: true }); // waiting at the broker
  const relay = { on: false, applied: 0 };
  const { node } = makeNode(
    {
      id: "it-cmd",
      baseTopic: "it/cmd",
      actuators: [{ name: "relay", type: "switch", apply: (v) => { relay.applied++; relay.on = v === true; }, read: () => relay.on }],
    },
    mosquitto!.port,
  );
  node.start();
  await waitUntil(() => seen.some((m) => m.topic === "it/cmd/error"), 5000, "error reply", () => JSON.stringify(seen));
  t.equal(relay.applied, 0, "the retained command did not switch the relay (no ghost switching)");
  t.ok(/retained/.test(JSON.parse(seen.find((m) => m.topic === "it/cmd/error")!.payload).error));
  await delay(200);
  const fresh = await observe(["it/cmd/set/#"]);
  await delay(500);
  t.deepEqual(fresh.seen, [], "the retained command was deleted at the broker");
  await client.publishAsync("it/cmd/set/relay", "ON", { qos: 0 });
  await waitUntil(() => relay.on, 3000, "live command applied");
  await waitUntil(() => seen.some((m) => m.topic === "it/cmd/state" && JSON.parse(m.payload).relay === true), 3000, "state after the command");
  t.equal(relay.applied, 1);
  await stopNode(node);
});

test("persistence: QoS 1 states published while the broker is unreachable survive a restart and are delivered after it", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "mqtt-xs-telemetry-"));
  const path = join(dir, "node.session");
  const crashed = join(dir, "crashed.session");
  try {
    const { seen } = await observe(["it/persist/state"]);
    const gateway = await startFaultProxy({ targetPort: mosquitto!.port });
    const port = gateway.port;
    let count = 0;
    const description = (value: () => number): NodeDescription => ({
      id: "it-persist",
      baseTopic: "it/persist",
      sensors: [{ sensor: { sample: () => ({ count: value() }) }, fields: [{ name: "count", deadband: 0 }] }],
      qos: 1,
      sampleInterval: 200,
      period: 60000,
    });
    const a = makeNode(description(() => count), port, { store: new FileStore(path), saveDelay: 100 });
    a.node.start();
    await waitUntil(() => seen.some((m) => m.payload === '{"count":0}'), 5000, "first state");
    await gateway.close(); // the broker becomes unreachable
    await waitUntil(() => !a.node.client.connected, 3000, "node A offline");
    for (const value of [1001, 1002, 1003]) {
      count = value;
      await waitUntil(() => a.node.values.count === value, 2000, `sample ${value}`);
    }
    await waitUntil(() => a.node.client.outbox.counters.queued >= 3 && !a.node.persistence!.pending, 3000, "queued and saved");
    t.ok(existsSync(path), "the store file exists");
    copyFileSync(path, crashed); // the state at the moment of the "crash"
    await stopNode(a.node); // only to silence node A's timers; B starts from the crash copy
    const restored: number[] = [];
    const b = makeNode(description(() => 2000), port, { store: new FileStore(crashed), saveDelay: 100, onRestore: (r) => restored.push(r.messages) });
    const reopened = await startFaultProxy({ targetPort: mosquitto!.port, port }); // the broker is reachable again
    b.node.start();
    t.ok(restored[0] >= 3, `restored ${restored[0]} messages from the file`);
    await waitUntil(() => seen.some((m) => m.payload === '{"count":2000}'), 8000, "node B's own state", () => JSON.stringify(seen));
    const counts = seen.map((m) => JSON.parse(m.payload).count as number);
    for (const value of [1001, 1002, 1003]) t.ok(counts.includes(value), `${value} delivered after the restart`);
    t.ok(counts.indexOf(1003) < counts.indexOf(2000), "the restored messages go out before the new ones");
    await waitUntil(() => b.node.client.outbox.counters.inflight + b.node.client.outbox.counters.queued === 0, 3000, "all acknowledged");
    await stopNode(b.node);
    t.equal(new FileStore(crashed).load(), undefined, "the store is empty once everything was acknowledged");
    await reopened.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("stop mosquitto", async (t) => {
  for (const node of nodes) if (node.state === "running") await stopNode(node);
  for (const o of observers) await o.endAsync();
  await proxy?.close();
  await mosquitto?.dispose();
  t.pass("stopped");
});
