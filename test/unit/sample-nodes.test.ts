/**
 * The sample nodes' own logic, with a fake telemetry node and a fake timer
 * (the nodes take `createNode` and the timer by injection): the thermostat's
 * hysteresis, modes and command checks; the soil node's wake/flush/sleep
 * cycle, its timeout path and its graceful shutdown from every phase; and
 * the demo's simulated room and pot.
 * The MQTT side is covered end to end in test/interop/nodes-xs.test.ts.
 * Runs on Node and inside XS (no Node APIs).
 */
import test from "tape";
import { Thermostat, ThermostatMode, heaterDemand } from "../../examples/thermostat/node";
import { SoilMoistureNode, SoilPhase } from "../../examples/soil-moisture/node";
import type { SoilEvent } from "../../examples/soil-moisture/node";
import type { NodeDescription, TelemetryValues } from "../../modules/telemetry/description";
import type { StopOptions, TelemetryNode, TelemetryNodeOptions } from "../../modules/telemetry/telemetry-node";
import { parseCommand } from "../../modules/telemetry/commands";
import { MemoryStore } from "../../modules/persist/memory-store";
import { RoomModel } from "../../demo/sim/room";
import { PotModel } from "../../demo/sim/pot";

class FakeTimer {
  now = 0;
  private next = 1;
  readonly pending: Map<number, { at: number; callback: () => void }> = new Map();
  set = (callback: () => void, ms: number): unknown => {
    const id = this.next++;
    this.pending.set(id, { at: this.now + ms, callback });
    return id;
  };
  clear = (id: unknown): void => {
    this.pending.delete(id as number);
  };
  /** Advances time, firing due timers in order. */
  advance(ms: number): void {
    const end = this.now + ms;
    for (;;) {
      let due: [number, { at: number; callback: () => void }] | undefined;
      for (const entry of this.pending) if (entry[1].at <= end && (due === undefined || entry[1].at < due[1].at)) due = entry;
      if (due === undefined) break;
      this.pending.delete(due[0]);
      this.now = due[1].at;
      due[1].callback();
    }
    this.now = end;
  }
}

/** What the nodes use of a TelemetryNode, recorded. */
class FakeNode {
  readonly calls: string[] = [];
  readonly published: Array<[string, string]> = [];
  stopCallback: (() => void) | undefined;
  stopOptions: StopOptions | undefined;
  readonly client = {
    connected: false,
    outbox: { counters: { queued: 0, inflight: 0 } },
    publish: (topic: string, payload: string): number => {
      this.published.push([topic, payload]);
      return 0;
    },
  };
  constructor(
    readonly description: NodeDescription,
    readonly options: TelemetryNodeOptions,
  ) {}
  start(): void {
    this.calls.push("start");
  }
  stop(options: StopOptions | undefined, callback?: () => void): void {
    this.calls.push(`stop(${options?.publishOffline === false ? "no offline" : "offline"})`);
    this.stopOptions = options;
    this.stopCallback = callback;
  }
  publishState(): void {
    this.calls.push("publishState");
  }
  /** The broker accepted the connection. */
  connect(sessionPresent = false): void {
    this.client.connected = true;
    this.options.onConnect?.(sessionPresent);
  }
  /** The stop completed (drained, DISCONNECT sent, store saved). */
  stopped(): void {
    this.client.connected = false;
    const callback = this.stopCallback;
    this.stopCallback = undefined;
    callback?.();
  }
}

function relay(): { on: boolean; writes: boolean[]; write(on: boolean): void; read(): boolean } {
  return {
    on: false,
    writes: [],
    write(on: boolean) {
      this.on = on;
      this.writes.push(on);
    },
    read() {
      return this.on;
    },
  };
}

function thermostat(settings: Partial<ConstructorParameters<typeof Thermostat>[0]> = {}) {
  const timer = new FakeTimer();
  const r = relay();
  let fake: FakeNode | undefined;
  const t = new Thermostat(
    { id: "th", ...settings },
    {
      sensor: { sample: () => ({}) },
      relay: r,
      createNode: (d, o) => (fake = new FakeNode(d, o)) as unknown as TelemetryNode,
      options: { socket: { io: class {} as never }, timer },
    },
  );
  const node = fake!;
  const actuator = (name: string) => node.description.actuators!.find((a) => a.name === name)!;
  /** What the telemetry layer does with a command: parse (incl. validate), apply, run the control hook. */
  const command = (name: string, text: string, temperature?: number): string | undefined => {
    const a = actuator(name);
    const result = parseCommand(a, text);
    if (!result.ok) return result.error;
    a.apply(result.value);
    control(temperature);
    return undefined;
  };
  const control = (temperature?: number): void => {
    const values: TelemetryValues = {};
    if (temperature !== undefined) values.temperature = temperature;
    node.description.control!(values, timer.now);
  };
  return { t, r, node, command, control };
}

test("heaterDemand: on at or below setpoint − h, off at or above setpoint + h, unchanged inside the band, off without a reading", (t) => {
  t.equal(heaterDemand(20.7, 21, 0.3, false), true, "off, 20.7 <= 20.7: on");
  t.equal(heaterDemand(20.71, 21, 0.3, false), false, "off, 20.71 inside the band: stays off");
  t.equal(heaterDemand(21.29, 21, 0.3, true), true, "on, 21.29 inside the band: stays on");
  t.equal(heaterDemand(21.3, 21, 0.3, true), false, "on, 21.3 >= 21.3: off");
  t.equal(heaterDemand(undefined, 21, 0.3, true), false, "no temperature: off (fail safe)");
  t.equal(heaterDemand(Number.NaN, 21, 0.3, false), false, "NaN: off");
  t.equal(heaterDemand(21, 21, 0, false), true, "h = 0: on at the setpoint");
  t.equal(heaterDemand(21, 21, 0, true), false, "h = 0: off at the setpoint");
  t.end();
});

test("Thermostat: the description has the sensor fields and three actuators; settings are checked", (t) => {
  const { node } = thermostat({ baseTopic: "home/th" });
  const d = node.description;
  t.equal(d.baseTopic, "home/th");
  t.deepEqual(d.sensors![0].fields!.map((f) => (typeof f === "string" ? f : f.name)), ["temperature", "humidity"]);
  t.deepEqual(d.actuators!.map((a) => `${a.name}:${a.type}`), ["setpoint:number", "heating:switch", "heater:switch"]);
  const setpoint = d.actuators![0];
  t.deepEqual([setpoint.min, setpoint.max, setpoint.read()], [5, 30, 21], "setpoint 5..30, default 21");
  t.throws(() => thermostat({ setpoint: 40 }), RangeError, "setpoint outside min..max");
  t.throws(() => thermostat({ hysteresis: -1 }), RangeError, "negative hysteresis");
  t.throws(() => thermostat({ mode: "cool" as never }), TypeError, "unknown mode");
  t.end();
});

test("Thermostat: control hook drives the relay by hysteresis in mode heat; a setpoint command acts at once", (t) => {
  const { t: th, r, command, control } = thermostat({ setpoint: 21, hysteresis: 0.3 });
  control(20.5);
  t.deepEqual(r.writes, [true], "20.5 <= 20.7: on");
  control(21.0);
  t.deepEqual(r.writes, [true], "inside the band: no write");
  control(21.3);
  t.deepEqual(r.writes, [true, false], "21.3: off");
  t.equal(command("setpoint", "22", 21.3), undefined, "setpoint 22 accepted");
  t.equal(th.setpoint, 22);
  t.deepEqual(r.writes, [true, false, true], "21.3 <= 21.7: on at once");
  control(undefined);
  t.deepEqual(r.writes, [true, false, true, false], "sensor failed: off");
  t.end();
});

test("Thermostat: heater commands are refused in mode heat (relay untouched); heating OFF switches off once, then manual", (t) => {
  const { t: th, r, command } = thermostat();
  r.write(true);
  r.writes.length = 0;
  t.ok(/follows the thermostat/.test(command("heater", "OFF", 20) ?? ""), "refused in mode heat");
  t.deepEqual(r.writes, [], "relay untouched");
  t.equal(command("heating", "OFF", 20), undefined);
  t.equal(th.mode, ThermostatMode.Off);
  t.deepEqual(r.writes, [false], "leaving heat: heater off, and no control in mode off");
  t.equal(command("heater", "ON", 20), undefined, "manual heater accepted in mode off");
  t.deepEqual(r.writes, [false, true]);
  t.equal(command("heating", "ON", 25), undefined);
  t.deepEqual(r.writes, [false, true, false], "back in heat: 25 °C >= 21.3, off");
  t.equal(command("setpoint", "31"), "above the maximum 30", "out of range refused by the telemetry layer's check");
  t.end();
});

test("Thermostat: <base>/mode retained on connect and after a heating command, only while connected", (t) => {
  const { node } = thermostat({ baseTopic: "b" });
  node.options.onCommand!("heating", false, undefined);
  t.deepEqual(node.published, [], "offline: nothing published (the connect will)");
  node.connect();
  t.deepEqual(node.published, [["b/mode", "heat"]], "on connect");
  node.description.actuators![1].apply(false);
  node.options.onCommand!("heating", false, undefined);
  t.deepEqual(node.published[1], ["b/mode", "off"], "after the command");
  node.options.onCommand!("heating", undefined, "expected ON, OFF");
  t.equal(node.published.length, 2, "not after a refused command");
  t.end();
});

interface SoilRig {
  soil: SoilMoistureNode;
  timer: FakeTimer;
  nodes: FakeNode[];
  events: SoilEvent[];
  sleeps: number[];
  cancels: number;
}

function soilRig(): SoilRig {
  const timer = new FakeTimer();
  const rig = { timer, nodes: [] as FakeNode[], events: [] as SoilEvent[], sleeps: [] as number[], cancels: 0 } as SoilRig;
  rig.soil = new SoilMoistureNode(
    { id: "soil", sleepMs: 60_000, awakeMs: 5000 },
    {
      probe: { sample: () => ({ moisture: 0.4, percent: 40, raw: 2320 }) },
      createNode: (d, o) => {
        const node = new FakeNode(d, o);
        rig.nodes.push(node);
        return node as unknown as TelemetryNode;
      },
      options: { socket: { io: class {} as never }, timer, store: new MemoryStore() },
      sleep: (ms, wake) => {
        rig.sleeps.push(ms);
        const id = timer.set(wake, ms);
        return () => {
          rig.cancels++;
          timer.clear(id);
        };
      },
      onEvent: (event) => rig.events.push(event),
    },
  );
  return rig;
}

test("SoilMoistureNode: wake builds a node (QoS 1, retained state, clean false), flushes after the connect, sleeps, wakes with a new node", (t) => {
  const rig = soilRig();
  rig.soil.wake();
  const first = rig.nodes[0];
  t.equal(rig.soil.phase, SoilPhase.Awake);
  t.deepEqual([first.options.clean, first.description.qos, first.description.retainState], [false, 1, true], "persistent session, QoS 1, retained");
  t.deepEqual(first.calls, ["start"]);
  first.connect(true);
  t.deepEqual(first.calls, ["start", "stop(no offline)"], "stop without 'offline' once connected");
  t.equal(rig.soil.phase, SoilPhase.Flushing);
  first.stopped();
  t.equal(rig.soil.phase, SoilPhase.Asleep);
  t.deepEqual(rig.sleeps, [60_000]);
  t.equal(rig.soil.node, undefined, "nothing kept across the sleep but the store");
  rig.timer.advance(60_000);
  t.equal(rig.nodes.length, 2, "a new node after the sleep");
  t.equal(rig.soil.cycle, 2);
  t.deepEqual(
    rig.events.map((e) => e.type),
    ["wake", "connected", "sleep", "wake"],
  );
  t.end();
});

test("SoilMoistureNode: over MQTT 5 the session outlives the sleep (Session Expiry Interval = three cycles)", (t) => {
  const timer = new FakeTimer();
  const nodes: FakeNode[] = [];
  const make = (protocolVersion: 4 | 5, sessionExpiryInterval?: number): FakeNode => {
    const soil = new SoilMoistureNode(
      { id: "s", sleepMs: 60_000, awakeMs: 5000 },
      {
        probe: { sample: () => ({}) },
        createNode: (d, o) => {
          const node = new FakeNode(d, o);
          nodes.push(node);
          return node as unknown as TelemetryNode;
        },
        options: {
          socket: { io: class {} as never },
          timer,
          store: new MemoryStore(),
          protocolVersion,
          properties: sessionExpiryInterval === undefined ? undefined : { sessionExpiryInterval },
        },
        sleep: () => undefined,
      },
    );
    soil.wake();
    return nodes[nodes.length - 1];
  };
  t.equal(make(5).options.properties?.sessionExpiryInterval, 195, "3 × (60 + 5) s");
  t.equal(make(5, 3600).options.properties?.sessionExpiryInterval, 3600, "a longer one asked for is kept");
  t.equal(make(4).options.properties, undefined, "3.1.1: no properties (clean session false is enough)");
  t.end();
});

test("SoilMoistureNode: no connection within awakeMs: the reading is queued (publishState) and the node sleeps", (t) => {
  const rig = soilRig();
  rig.soil.wake();
  rig.timer.advance(4999);
  t.deepEqual(rig.nodes[0].calls, ["start"], "still waiting");
  rig.timer.advance(1);
  t.deepEqual(rig.nodes[0].calls, ["start", "publishState", "stop(no offline)"]);
  rig.nodes[0].client.outbox.counters.queued = 1;
  rig.nodes[0].stopped();
  const sleep = rig.events.find((e) => e.type === "sleep") as { pending: number };
  t.equal(sleep.pending, 1, "one reading kept for the next wake");
  rig.nodes[0].connect(); // a late CONNACK of the old node changes nothing
  t.equal(rig.soil.phase, SoilPhase.Asleep);
  t.end();
});

test("SoilMoistureNode: shutdown from every phase ends in Stopped after an 'offline'", (t) => {
  // Asleep: the sleep is cancelled; a last wake says "offline".
  let rig = soilRig();
  let done = 0;
  rig.soil.wake();
  rig.nodes[0].connect();
  rig.nodes[0].stopped();
  rig.soil.shutdown(() => done++);
  t.equal(rig.cancels, 1, "asleep: sleep cancelled");
  t.equal(rig.nodes.length, 2, "woke once more");
  rig.nodes[1].connect();
  t.deepEqual(rig.nodes[1].calls, ["start", "stop(offline)"]);
  rig.nodes[1].stopped();
  t.deepEqual([rig.soil.phase, done], [SoilPhase.Stopped, 1]);
  rig.timer.advance(120_000);
  t.equal(rig.nodes.length, 2, "no wake after Stopped");

  // Awake and connected: stop with "offline" at once.
  rig = soilRig();
  done = 0;
  rig.soil.wake();
  rig.nodes[0].client.connected = true;
  rig.soil.shutdown(() => done++);
  t.deepEqual(rig.nodes[0].calls, ["start", "stop(offline)"], "awake: stop with 'offline'");
  rig.nodes[0].stopped();
  t.deepEqual([rig.soil.phase, done], [SoilPhase.Stopped, 1]);

  // Awake, broker unreachable: at the awake deadline, stop (it ends at once offline).
  rig = soilRig();
  rig.soil.wake();
  rig.soil.shutdown();
  rig.timer.advance(5000);
  t.deepEqual(rig.nodes[0].calls, ["start", "stop(offline)"], "unreachable: stop at the deadline, no publishState");
  rig.nodes[0].stopped();
  t.equal(rig.soil.phase, SoilPhase.Stopped);

  // Flushing (a stop for sleeping under way): after it, one more wake for "offline".
  rig = soilRig();
  done = 0;
  rig.soil.wake();
  rig.nodes[0].connect();
  rig.soil.shutdown(() => done++);
  t.equal(rig.soil.phase, SoilPhase.Stopping);
  rig.nodes[0].stopped();
  t.deepEqual([rig.nodes.length, rig.sleeps.length], [2, 0], "no sleep: a new node instead");
  rig.nodes[1].connect();
  t.deepEqual(rig.nodes[1].calls, ["start", "stop(offline)"]);
  rig.nodes[1].stopped();
  t.deepEqual([rig.soil.phase, done], [SoilPhase.Stopped, 1]);

  // Idle: nothing to say.
  rig = soilRig();
  done = 0;
  rig.soil.shutdown(() => done++);
  t.deepEqual([rig.soil.phase, done, rig.nodes.length], [SoilPhase.Stopped, 1, 0]);
  t.end();
});

test("SoilMoistureNode: settings and io are checked", (t) => {
  const io = {
    probe: { sample: () => ({}) },
    createNode: () => undefined as unknown as TelemetryNode,
    options: { socket: { io: class {} as never }, timer: new FakeTimer() } as TelemetryNodeOptions,
    sleep: () => undefined,
  };
  t.throws(() => new SoilMoistureNode({ id: "s" }, io), (e: unknown) => e instanceof TypeError && /store/.test((e as Error).message), "a store is required");
  t.throws(() => new SoilMoistureNode({ id: "s", sleepMs: 0 }, { ...io, options: { ...io.options, store: new MemoryStore() } }), RangeError, "sleepMs > 0");
  t.end();
});

test("demo RoomModel: warms with the heater, cools toward ambient without it, pinned when fixed", (t) => {
  const room = new RoomModel({ seed: 1, initial: 20, ambient: 18.5 });
  room.at(0, true);
  const warm = room.at(20_000, true);
  t.ok(warm > 20.9 && warm < 21.4, `20 s of heating from 20 °C: ${warm.toFixed(2)} °C (about +0.06 °C/s)`);
  const cool = room.at(80_000, false);
  t.ok(cool < warm - 0.6 && cool > 18.5, `60 s without: ${cool.toFixed(2)} °C, above ambient`);
  const again = new RoomModel({ seed: 1, initial: 20, ambient: 18.5 });
  again.at(0, true);
  t.equal(again.at(20_000, true), warm, "same seed, same time: same temperature");
  const fixed = new RoomModel({ seed: 1, fixed: 19.25 });
  fixed.at(0, true);
  t.equal(fixed.at(60_000, true), 19.25, "fixed: the heater has no effect");
  t.end();
});

test("demo PotModel: raw counts follow the two-point calibration; fixed readings are exact; the soil dries and gets watered", (t) => {
  const fixed = new PotModel({ seed: 3, fixed: 40, dry: 3000, wet: 1300 });
  t.equal(fixed.read(0), 2320, "40 %: 3000 − 1700 × 0.4");
  const pot = new PotModel({ seed: 3, initial: 50, drying: 0.5, waterBelow: 30, wateredTo: 60, spikes: 0 });
  pot.at(0);
  const later = pot.at(20_000);
  t.ok(later < 45 && later > 34, `dried from 50 % to ${later.toFixed(1)} % in 20 s at 0.5 %/s (± wobble)`);
  const watered = pot.at(60_000);
  t.ok(watered > 50, `watered back up: ${watered.toFixed(1)} %`);
  t.end();
});
