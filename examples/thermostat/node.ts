/**
 * The thermostat node: an SHT4x (temperature, humidity) and a heater relay,
 * regulated by hysteresis on the node itself, on MQTT through the telemetry
 * layer (`modules/telemetry`).
 *
 * Theory of operation
 * -------------------
 * The node is one `TelemetryNode` with one sensor and three actuators:
 *
 * - `setpoint` (number, °C, `minSetpoint`..`maxSetpoint`): the target;
 * - `heating` (switch): the mode. ON = mode "heat": the thermostat drives the
 *   heater; OFF = mode "off": the heater is switched off once and then left
 *   to manual control;
 * - `heater` (switch): the relay. It always reports the relay; a command is
 *   accepted only in mode "off" (manual). In mode "heat" it is refused with
 *   an error reply and the relay is untouched, because the next control step
 *   would overrule it anyway.
 *
 * Control runs in the telemetry layer's control hook, i.e. after EVERY
 * sample, whether or not the broker is reachable, and after every applied
 * command (so a new setpoint acts at once). Hysteresis with a half band `h`
 * around the setpoint `s` (`heaterDemand`):
 *
 *   heater off, T <= s - h  -> on
 *   heater on,  T >= s + h  -> off
 *   otherwise               -> unchanged
 *   no temperature (the sensor failed: the field is absent) -> off (fail safe)
 *
 * The relay changes are reported at once (actuators are reported by
 * exception). The mode is also published on its own retained topic
 * `<base>/mode` ("heat" / "off"), after every connect and on every change,
 * for consumers that want it as text (e.g. a Home Assistant climate card's
 * `mode_state_topic`).
 *
 * Topics (base `<base>`, default the node id), on top of the telemetry
 * layer's (status with will and birth, state JSON, commands, errors,
 * discovery): see README.md.
 *
 * Portability: this module has no runtime imports. Everything platform-
 * specific (the sensor, the relay, the socket class, the timer, the clock,
 * the `TelemetryNode` class itself) is injected through `ThermostatIo`, so
 * the same code runs on a board (Moddable `main.ts`), in the Moddable
 * simulator, inside the XS test host and on Node (`demo/sim-nodes.ts`).
 * (Moddable resolves module specifiers by their manifest names, not by file
 * paths, so a relative import into `modules/` would not resolve the same
 * way on every host.)
 *
 * Callbacks: none of its own; the host's `TelemetryNodeOptions` callbacks
 * are called as the telemetry layer documents (this module chains
 * `onConnect` and `onCommand`).
 */
import type { HomeAssistantSpec, NodeDescription, SampleSource, TelemetryValues } from "../../modules/telemetry/description";
import type { TelemetryNode, TelemetryNodeOptions } from "../../modules/telemetry/telemetry-node";

/** Builds the node: `(d, o) => new TelemetryNode(d, o)` on every host. */
export type NodeFactory = (description: NodeDescription, options: TelemetryNodeOptions) => TelemetryNode;

/** The heater output: `modules/sensors/relay.ts` `Relay`, or anything with the same two methods. */
export interface RelayOutput {
  /** Switches the load: true = on. Throws on a bus failure. */
  write(on: boolean): void;
  /** The last state written. */
  read(): boolean;
}

/** Thermostat modes, as published on `<base>/mode`. */
export const ThermostatMode = Object.freeze({
  /** The thermostat drives the heater by hysteresis. */
  Heat: "heat",
  /** The heater is off unless switched on by hand (`set/heater`). */
  Off: "off",
});
export type ThermostatModeValue = (typeof ThermostatMode)[keyof typeof ThermostatMode];

/** What the application sets. Every property but `id` has a default. */
export interface ThermostatSettings {
  /** Node id (MQTT client id, HA node id): [A-Za-z0-9_-]{1,64}. */
  id: string;
  /** Base topic. Default: the id. */
  baseTopic?: string;
  /** Device name (HA). Default: the id. */
  name?: string;
  /** Initial setpoint, °C. Default 21. */
  setpoint?: number;
  /** Half band of the hysteresis, °C (on at setpoint − h, off at setpoint + h). Default 0.3. */
  hysteresis?: number;
  /** Smallest setpoint a command may set, °C. Default 5. */
  minSetpoint?: number;
  /** Largest setpoint a command may set, °C. Default 30. */
  maxSetpoint?: number;
  /** Initial mode. Default "heat". */
  mode?: ThermostatModeValue;
  /** Sampling (and control) interval, ms. Default 10 000. */
  sampleInterval?: number;
  /** Telemetry period, ms. Default 60 000. */
  period?: number;
  /** Home Assistant discovery. Default true. */
  homeAssistant?: boolean | HomeAssistantSpec;
  /** HA device model. Default "mqtt-xs thermostat". */
  model?: string;
}

/** What the host provides. */
export interface ThermostatIo {
  /** The temperature/humidity sensor: an ECMA-419 compound sample `{ thermometer: { temperature }, hygrometer: { humidity } }` (e.g. `Sht4x`). */
  sensor: SampleSource;
  /** The heater relay. */
  relay: RelayOutput;
  /** Builds the telemetry node. */
  createNode: NodeFactory;
  /** The node's options: socket, timer, clock, protocol, callbacks (see `TelemetryNodeOptions`). */
  options: TelemetryNodeOptions;
}

/**
 * The hysteresis decision: whether the heater should be on.
 *
 * @param temperature °C, or undefined when there is no valid reading (fail safe: off)
 * @param setpoint °C
 * @param hysteresis half band, °C (>= 0)
 * @param heaterOn the heater's current state
 */
export function heaterDemand(temperature: number | undefined, setpoint: number, hysteresis: number, heaterOn: boolean): boolean {
  if (typeof temperature !== "number" || !Number.isFinite(temperature)) return false;
  if (heaterOn) return temperature < setpoint + hysteresis;
  return temperature <= setpoint - hysteresis;
}

function finite(value: unknown, what: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value)) throw new RangeError(`${what} must be a finite number, got ${String(value)}`);
  return value;
}

/** A thermostat node (see the module header). Construct, `start()`, `stop()`. */
export class Thermostat {
  /** The telemetry node (its `client` is public for extra traffic). */
  readonly node: TelemetryNode;
  /** `<base>/mode`. */
  readonly modeTopic: string;
  /** Half band, °C. */
  readonly hysteresis: number;
  /** The setpoint, °C. Changed by `set/setpoint`. */
  setpoint: number;
  /** The mode. Changed by `set/heating`. */
  mode: ThermostatModeValue;

  private readonly relay: RelayOutput;
  private readonly onError: ((error: unknown) => void) | undefined;

  /**
   * Checks the settings (TypeError/RangeError naming the rule), builds the
   * telemetry node. No I/O: `start()` connects.
   */
  constructor(settings: ThermostatSettings, io: ThermostatIo) {
    if (settings === null || typeof settings !== "object") throw new TypeError("Thermostat: settings object required");
    if (io === null || typeof io !== "object" || typeof io.createNode !== "function") throw new TypeError("Thermostat: io with createNode required");
    if (io.relay === null || typeof io.relay !== "object" || typeof io.relay.write !== "function" || typeof io.relay.read !== "function") {
      throw new TypeError("Thermostat: io.relay needs write(on) and read()");
    }
    const minSetpoint = finite(settings.minSetpoint, "minSetpoint", 5);
    const maxSetpoint = finite(settings.maxSetpoint, "maxSetpoint", 30);
    if (minSetpoint > maxSetpoint) throw new RangeError("minSetpoint must not exceed maxSetpoint");
    const setpoint = finite(settings.setpoint, "setpoint", 21);
    if (setpoint < minSetpoint || setpoint > maxSetpoint) throw new RangeError(`setpoint ${setpoint} is outside ${minSetpoint}..${maxSetpoint}`);
    const hysteresis = finite(settings.hysteresis, "hysteresis", 0.3);
    if (hysteresis < 0) throw new RangeError("hysteresis must be >= 0");
    const mode = settings.mode ?? ThermostatMode.Heat;
    if (mode !== ThermostatMode.Heat && mode !== ThermostatMode.Off) throw new TypeError(`mode must be "heat" or "off", got ${String(mode)}`);
    this.setpoint = setpoint;
    this.hysteresis = hysteresis;
    this.mode = mode;
    this.relay = io.relay;
    const host = io.options;
    this.onError = host.onError;
    const baseTopic = settings.baseTopic ?? settings.id;
    this.modeTopic = `${baseTopic}/mode`;
    const relay = io.relay;
    const description: NodeDescription = {
      id: settings.id,
      baseTopic,
      name: settings.name,
      device: { manufacturer: "mqtt-xs", model: settings.model ?? "mqtt-xs thermostat" },
      sensors: [
        {
          sensor: io.sensor,
          fields: [
            { name: "temperature", path: "thermometer.temperature", unit: "°C", deviceClass: "temperature", deadband: 0.2, precision: 2 },
            { name: "humidity", path: "hygrometer.humidity", unit: "%", deviceClass: "humidity", deadband: 2, precision: 1 },
          ],
        },
      ],
      actuators: [
        {
          name: "setpoint",
          type: "number",
          min: minSetpoint,
          max: maxSetpoint,
          step: 0.5,
          unit: "°C",
          deviceClass: "temperature",
          label: "Setpoint",
          apply: (value) => {
            this.setpoint = value as number;
          },
          read: () => this.setpoint,
        },
        {
          name: "heating",
          type: "switch",
          label: "Heating",
          apply: (value) => {
            const next = value === true ? ThermostatMode.Heat : ThermostatMode.Off;
            // Leaving "heat": the heater goes off once; manual control from then on.
            if (next === ThermostatMode.Off && this.mode === ThermostatMode.Heat) relay.write(false);
            this.mode = next;
          },
          read: () => this.mode === ThermostatMode.Heat,
        },
        {
          name: "heater",
          type: "switch",
          label: "Heater",
          discovery: { icon: "mdi:radiator" },
          validate: () =>
            this.mode === ThermostatMode.Heat ? "the heater follows the thermostat while heating is ON: send set/heating OFF for manual control" : undefined,
          apply: (value) => relay.write(value === true),
          read: () => relay.read(),
        },
      ],
      control: (values) => this.regulate(values),
      sampleInterval: settings.sampleInterval ?? 10_000,
      period: settings.period ?? 60_000,
      homeAssistant: settings.homeAssistant ?? true,
    };
    const options: TelemetryNodeOptions = {
      ...host,
      onConnect: (sessionPresent) => {
        this.publishMode();
        if (host.onConnect !== undefined) host.onConnect(sessionPresent);
      },
      onCommand: (name, value, error) => {
        if (error === undefined && name === "heating") this.publishMode();
        if (host.onCommand !== undefined) host.onCommand(name, value, error);
      },
    };
    this.node = io.createNode(description, options);
  }

  /** Whether the heater is on (the relay's last state). */
  get heater(): boolean {
    return this.relay.read();
  }

  /** Starts sampling, control and the connection. */
  start(): void {
    this.node.start();
  }

  /**
   * Graceful stop: "offline", DISCONNECT (see `TelemetryNode.stop`). The
   * relay is left as it is; a board that powers down switches it off by
   * its own wiring (see README.md).
   */
  stop(callback?: () => void): void {
    this.node.stop(undefined, callback);
  }

  /** The control hook: hysteresis in mode "heat", nothing in mode "off". */
  private regulate(values: Readonly<TelemetryValues>): void {
    if (this.mode !== ThermostatMode.Heat) return;
    const t = values.temperature;
    const on = this.relay.read();
    const want = heaterDemand(typeof t === "number" ? t : undefined, this.setpoint, this.hysteresis, on);
    if (want !== on) this.relay.write(want);
  }

  /** `<base>/mode`, QoS 1, retained, when connected (a connect publishes it anyway). */
  private publishMode(): void {
    const client = this.node.client;
    if (!client.connected) return;
    try {
      client.publish(this.modeTopic, this.mode, { qos: 1, retain: true });
    } catch (error) {
      if (this.onError === undefined) throw error;
      this.onError(error);
    }
  }
}
