/**
 * The two sample nodes on a desktop host, with simulated hardware: the
 * same `examples/thermostat/node.ts` and `examples/soil-moisture/node.ts`
 * a board runs, given the real drivers (`Sht4x`, `Relay`, `SoilMoisture`)
 * over simulated buses (`hosts/sim`) whose device models follow a heated
 * room (`sim/room.ts`) and a drying flower pot (`sim/pot.ts`).
 *
 * A host supplies its socket class, timer, clock, a store for the soil
 * node and an event sink (`HostServices`): the XS test host does it from
 * its `xsnapHost` global (`xs/nodes-entry.ts`), Node from `hosts/node`
 * (`demo/main.ts --host node`). No Node APIs here: this file runs inside XS.
 *
 * Events (`NodeEvent`, all plain JSON-able values) tell the host what
 * happened: connect/close, every state report, commands, errors, and the
 * soil node's wake/sleep cycle.
 */
import type { ClientTimer } from "../modules/mqtt/client";
import { parseBrokerUrl } from "../modules/mqtt/compat";
import type { TcpSocketClass } from "../modules/io/tcp-types";
import { TelemetryNode } from "../modules/telemetry/telemetry-node";
import type { TelemetryNodeOptions } from "../modules/telemetry/telemetry-node";
import type { NodeDescription } from "../modules/telemetry/description";
import type { Store } from "../modules/persist/store";
import { Sht4x } from "../modules/sensors/sht4x";
import { Relay } from "../modules/sensors/relay";
import { SoilMoisture } from "../modules/sensors/soil-moisture";
import { SimClock } from "../hosts/sim/clock";
import { SimI2C } from "../hosts/sim/i2c";
import { Sht4xModel } from "../hosts/sim/sht4x-model";
import { SimAnalog } from "../hosts/sim/analog";
import { SimDigital } from "../hosts/sim/digital";
import type { SimDigitalOptions } from "../hosts/sim/digital";
import { Drift } from "../hosts/sim/drift";
import { Thermostat } from "../examples/thermostat/node";
import type { ThermostatModeValue } from "../examples/thermostat/node";
import { SoilMoistureNode } from "../examples/soil-moisture/node";
import type { SoilEvent } from "../examples/soil-moisture/node";
import { RoomModel } from "./sim/room";
import { PotModel } from "./sim/pot";

/** What a desktop host provides. */
export interface HostServices {
  /** ECMA-419 TCP socket class. */
  TCP: TcpSocketClass;
  /** The client's timer (one-shot `set`/`clear`). */
  timer: ClientTimer;
  /** Clock, ms. */
  now: () => number;
  /** Random numbers in [0, 1) (backoff jitter, HA announce delay). Default Math.random. */
  random?: () => number;
  /** Event sink; must not throw. */
  emit: (event: NodeEvent) => void;
}

/** An event from a simulated node. `node` is the node id. */
export type NodeEvent =
  | { node: string; type: "connect"; sessionPresent: boolean }
  | { node: string; type: "close"; error?: string }
  | { node: string; type: "state"; payload: string }
  | { node: string; type: "command"; name: string; value?: boolean | number; error?: string }
  | { node: string; type: "error"; message: string }
  | ({ node: string } & SoilEvent);

/** Settings both nodes share. */
export interface CommonConfig {
  /** Broker URL, `mqtt://host:port` (from `MQTT_URL`, or the demo's embedded broker). */
  url: string;
  /** Node id. */
  id: string;
  /** Base topic. Default: the id. */
  baseTopic?: string;
  /** 4 (3.1.1) or 5. Default 4. */
  protocolVersion?: 4 | 5;
  /** Keepalive, s. Default 30. */
  keepalive?: number;
  /** Home Assistant discovery. Default true. */
  homeAssistant?: boolean;
  /** Seed of the simulation. */
  seed?: number;
  /** Reconnect backoff ceiling of the first retry, ms. Default 1000. */
  backoffInitial?: number;
  /** Largest backoff ceiling, ms. Default 5000 (a demo should come back quickly). */
  backoffMax?: number;
}

/** The simulated thermostat's settings. */
export interface ThermostatConfig extends CommonConfig {
  setpoint?: number;
  hysteresis?: number;
  mode?: ThermostatModeValue;
  sampleInterval?: number;
  period?: number;
  /** Room temperature at start, °C. */
  initialTemperature?: number;
  /** Pin the room temperature (tests). */
  fixedTemperature?: number;
  /** Pin the humidity (tests). */
  fixedHumidity?: number;
}

/** The simulated soil node's settings. */
export interface SoilConfig extends CommonConfig {
  sleepMs?: number;
  awakeMs?: number;
  /** Pin the moisture, % (tests). */
  fixedMoisture?: number;
}

/** A running simulated thermostat. */
export interface SimThermostat {
  readonly thermostat: Thermostat;
  readonly room: RoomModel;
  readonly sht: Sht4xModel;
  /** The relay's pin (its level and write log). */
  readonly pin: SimDigital;
  /** Sets simulation values now (tests, demos). */
  set(values: { temperature?: number | null; humidity?: number | null }): void;
  /** A snapshot for hosts and tests. */
  inspect(): Record<string, unknown>;
  /** Graceful stop ("offline", DISCONNECT). */
  stop(callback: () => void): void;
}

/** A running simulated soil node. */
export interface SimSoil {
  readonly soil: SoilMoistureNode;
  readonly pot: PotModel;
  set(values: { moisture?: number | null }): void;
  inspect(): Record<string, unknown>;
  stop(callback: () => void): void;
}

/** The socket and client options common to both nodes. */
function clientOptions(config: CommonConfig, services: HostServices, node: string): TelemetryNodeOptions {
  const where = parseBrokerUrl(config.url);
  if (where.protocol !== "mqtt" && where.protocol !== "tcp") throw new TypeError(`the demo nodes speak plain mqtt:// only, got ${config.url}`);
  const emit = services.emit;
  const errorText = (error: unknown): string => (error instanceof Error ? `${error.name}: ${error.message}` : String(error));
  return {
    socket: { io: services.TCP, host: where.host ?? "127.0.0.1", port: where.port ?? 1883 },
    timer: services.timer,
    now: services.now,
    random: services.random ?? Math.random,
    protocolVersion: config.protocolVersion ?? 4,
    keepalive: config.keepalive ?? 30,
    backoffInitial: config.backoffInitial ?? 1000,
    backoffMax: config.backoffMax ?? 5000,
    onConnect: (sessionPresent) => emit({ node, type: "connect", sessionPresent }),
    onClose: (error) => emit(error === undefined ? { node, type: "close" } : { node, type: "close", error: error.message }),
    onState: (_state, payload) => emit({ node, type: "state", payload }),
    onCommand: (name, value, error) => {
      const event: NodeEvent = { node, type: "command", name };
      if (value !== undefined) event.value = value;
      if (error !== undefined) event.error = error;
      emit(event);
    },
    onError: (error) => emit({ node, type: "error", message: errorText(error) }),
  };
}

const createNode = (description: NodeDescription, options: TelemetryNodeOptions): TelemetryNode => new TelemetryNode(description, options);

/** Builds and starts the thermostat on simulated hardware. */
export function startThermostat(config: ThermostatConfig, services: HostServices): SimThermostat {
  const seed = config.seed ?? 0x7e57;
  const now = services.now;
  // The relay's Digital pin, captured when the Relay driver constructs it.
  let pin: SimDigital | undefined;
  class RelayPin extends SimDigital {
    constructor(options: SimDigitalOptions) {
      super(options);
      pin = this;
    }
  }
  const relay = new Relay({ sensor: { io: RelayPin as never, pin: 26 } });
  const room = new RoomModel({ seed, initial: config.initialTemperature, fixed: config.fixedTemperature });
  const humidity = new Drift({ seed: seed ^ 0x4d1d, min: 30, max: 65, initial: config.fixedHumidity ?? 46, sigma: 0.2, reversion: 0.01, stepMs: 1000 });
  let fixedHumidity = config.fixedHumidity;
  // The bus runs on its own simulated clock: a measurement "waits" by
  // advancing it (the driver's `delay`), not by blocking the host.
  const busClock = new SimClock();
  const sht = new Sht4xModel({ clock: busClock, temperature: room.temperature, humidity: config.fixedHumidity ?? 46 });
  const driver = new Sht4x({ sensor: { io: SimI2C as never, data: 21, clock: 22, model: sht }, delay: busClock.delay });
  // Before each measurement the model takes the room's current values.
  const sensor = {
    sample(): unknown {
      const t = now();
      sht.temperature = room.at(t, relay.read());
      sht.humidity = fixedHumidity ?? humidity.at(t);
      return driver.sample();
    },
  };
  const id = config.id;
  const thermostat = new Thermostat(
    {
      id,
      baseTopic: config.baseTopic,
      setpoint: config.setpoint,
      hysteresis: config.hysteresis,
      mode: config.mode,
      sampleInterval: config.sampleInterval ?? 2000,
      period: config.period ?? 10_000,
      homeAssistant: config.homeAssistant ?? true,
      model: "mqtt-xs thermostat (simulated SHT4x + relay)",
    },
    { sensor, relay, createNode, options: clientOptions(config, services, id) },
  );
  thermostat.start();
  return {
    thermostat,
    room,
    sht,
    pin: pin!,
    set(values) {
      if (values.temperature !== undefined) {
        room.fixed = values.temperature === null ? undefined : values.temperature;
        if (values.temperature !== null) room.temperature = values.temperature;
      }
      if (values.humidity !== undefined) fixedHumidity = values.humidity === null ? undefined : values.humidity;
    },
    inspect() {
      return {
        id,
        state: thermostat.node.state,
        connected: thermostat.node.client.connected,
        setpoint: thermostat.setpoint,
        mode: thermostat.mode,
        heater: thermostat.heater,
        pinLevel: pin!.level,
        pinWrites: pin!.writeCount,
        room: room.temperature,
        values: { ...thermostat.node.values },
      };
    },
    stop(callback) {
      thermostat.stop(callback);
    },
  };
}

/** Builds and starts (wakes) the soil node on simulated hardware; `sleep` is a timer. */
export function startSoil(config: SoilConfig, services: HostServices, store: Store): SimSoil {
  const seed = config.seed ?? 0x5011;
  const now = services.now;
  const pot = new PotModel({ seed, fixed: config.fixedMoisture });
  const probe = new SoilMoisture({
    sensor: { io: SimAnalog as never, pin: 34, resolution: 12, source: () => pot.read(now()) },
    dry: pot.dry,
    wet: pot.wet,
    samples: 5,
  });
  const id = config.id;
  const timer = services.timer;
  const soil = new SoilMoistureNode(
    {
      id,
      baseTopic: config.baseTopic,
      sleepMs: config.sleepMs ?? 5000,
      awakeMs: config.awakeMs ?? 8000,
      homeAssistant: config.homeAssistant ?? true,
      model: "mqtt-xs soil moisture (simulated probe)",
    },
    {
      probe,
      createNode,
      options: { ...clientOptions(config, services, id), store, saveDelay: 500 },
      sleep: (ms, wake) => {
        const handle = timer.set(wake, ms);
        return () => timer.clear(handle);
      },
      onEvent: (event) => services.emit({ node: id, ...event }),
    },
  );
  soil.wake();
  return {
    soil,
    pot,
    set(values) {
      if (values.moisture !== undefined) {
        pot.fixed = values.moisture === null ? undefined : values.moisture;
      }
    },
    inspect() {
      const node = soil.node;
      return {
        id,
        phase: soil.phase,
        cycle: soil.cycle,
        connected: node !== undefined && node.client.connected,
        moisture: pot.percent,
      };
    },
    stop(callback) {
      soil.shutdown(callback);
    },
  };
}
