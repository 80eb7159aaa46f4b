/**
 * The description of a telemetry node (what the application writes) and
 * its checked, resolved form (what the node runs on).
 *
 * A node has an id, a base topic, sensors (any object with an ECMA-419
 * style `sample()`), a mapping from each sample to named telemetry fields,
 * actuators (name, `apply(value)`, `read()`), a cadence, per-field
 * deadbands, a QoS and Home Assistant discovery settings. `resolveDescription`
 * checks everything once, at construction (TypeError/RangeError naming the
 * rule), parses field paths, and freezes the result; nothing is re-parsed
 * per sample.
 *
 * Naming rules: the node id, field names and actuator names appear in
 * topics and in Home Assistant ids (`node_id`, `object_id`, which HA
 * restricts to [a-zA-Z0-9_-]), so they are limited to that set. Field and
 * actuator names share one namespace: they are the keys of the state JSON.
 */
import type { QoS } from "../mqtt/codec/packets";
import { assertTopicName } from "../mqtt/topic";

/** A telemetry value as it appears in the state JSON. */
export type TelemetryValue = number | boolean | string;

/** The latest value of every field and actuator, by name; a field missing from the last sample is absent. */
export type TelemetryValues = Record<string, TelemetryValue | undefined>;

/** Anything with an ECMA-419 style `sample()` (Sensor Class Pattern, §13): a new object per call, or a throw. */
export interface SampleSource {
  sample(): unknown;
}

/** One named telemetry field taken from a sensor's sample. */
export interface FieldSpec {
  /** Key in the state JSON and HA object id: [A-Za-z0-9_-]{1,64}. */
  name: string;
  /**
   * Dot path into the sample, e.g. "thermometer.temperature" for an SHT4x
   * (ECMA-419 §14.1 compound sample). Default: `name`.
   */
  path?: string;
  /**
   * Report by exception: publish as soon as the value moved by MORE than
   * this from the last published value (numbers); for booleans and strings
   * any change counts. Undefined (default): the field only goes out with
   * the period. 0: every change.
   */
  deadband?: number;
  /** Decimal places kept in the JSON (numbers), 0..10. Default: as sampled. */
  precision?: number;
  /** Unit, e.g. "°C", "%": HA `unit_of_measurement`. */
  unit?: string;
  /** HA `device_class`, e.g. "temperature", "humidity", "moisture". */
  deviceClass?: string;
  /** HA `state_class`. Default "measurement" for numbers, none otherwise. */
  stateClass?: string;
  /** HA component. Default: "sensor" (numbers, strings), "binary_sensor" (booleans). */
  component?: "sensor" | "binary_sensor";
  /** HA entity name. Default: the field name. */
  label?: string;
  /** Extra keys merged into the HA discovery payload (e.g. `{ icon: "mdi:water" }`). */
  discovery?: Record<string, unknown>;
}

/** A sensor and how its samples map to fields. */
export interface SensorSpec {
  /** The sensor instance (ECMA-419 driver, or anything with `sample()`). */
  sensor: SampleSource;
  /**
   * Fields taken from each sample: specs, or paths as shorthand
   * ("hygrometer.humidity" = the field "humidity" at that path). Omitted:
   * every number or boolean leaf of the first successful sample becomes a
   * field named after its key (joined with "_" along the path when two
   * leaves share a key); nested ECMA-419 samples are flattened that way.
   */
  fields?: ReadonlyArray<FieldSpec | string>;
}

/** An actuator: an output the node controls and reports. */
export interface ActuatorSpec {
  /** Command topic suffix (`<base>/set/<name>`), state JSON key, HA object id: [A-Za-z0-9_-]{1,64}. */
  name: string;
  /** "switch" (boolean: ON/OFF) or "number" (a setpoint). */
  type: "switch" | "number";
  /**
   * Sets the output. Called only with a value that passed the checks
   * below. It must validate anything else it cares about BEFORE changing
   * the output and throw (TypeError/RangeError) to refuse: the node then
   * answers with an error and the actuator must be as before.
   */
  apply(value: boolean | number): void;
  /** The current output (after `apply`, or changed by the control hook). */
  read(): boolean | number;
  /** "number": smallest accepted value (inclusive). */
  min?: number;
  /** "number": largest accepted value (inclusive). */
  max?: number;
  /** "number": HA `step`. Not enforced. */
  step?: number;
  /** Extra validation: return an error message to refuse the value. */
  validate?(value: boolean | number): string | undefined;
  /** HA unit_of_measurement ("number"). */
  unit?: string;
  /** HA device_class. */
  deviceClass?: string;
  /** HA entity name. Default: the actuator name. */
  label?: string;
  /** Extra keys merged into the HA discovery payload. */
  discovery?: Record<string, unknown>;
}

/** Home Assistant MQTT discovery settings. */
export interface HomeAssistantSpec {
  /** Discovery prefix. Default "homeassistant". HA's birth topic is `<prefix>/status`. */
  prefix?: string;
  /** Largest random delay (ms) before re-announcing after HA's birth message. Default 5000. */
  announceDelay?: number;
}

/** HA `device` block fields. */
export interface DeviceInfo {
  manufacturer?: string;
  model?: string;
  swVersion?: string;
  hwVersion?: string;
  suggestedArea?: string;
}

/**
 * The control hook: runs after EVERY sample, connected or not, and after
 * a command was applied. `values` holds the fields of the latest sample
 * (a field whose sensor failed is absent: fail safe) and the actuators'
 * current values. It may change actuators (their new values are then
 * reported by exception). `now` is ms on the node's clock.
 */
export type ControlHook = (values: Readonly<TelemetryValues>, now: number) => void;

/** What the application writes to describe a node. */
export interface NodeDescription {
  /** Node id: MQTT client id, HA node_id and device identifier. [A-Za-z0-9_-]{1,64}. */
  id: string;
  /** Base topic (no wildcards, no trailing "/"). Default: the id. */
  baseTopic?: string;
  /** Human-readable device name (HA device name). Default: the id. */
  name?: string;
  /** HA device block extras. */
  device?: DeviceInfo;
  sensors?: ReadonlyArray<SensorSpec>;
  actuators?: ReadonlyArray<ActuatorSpec>;
  /** Sampling interval, ms (the deadband is checked at this rate). Default 10000. */
  sampleInterval?: number;
  /** Telemetry period, ms: the state goes out at least this often. Default 60000. */
  period?: number;
  /** QoS of the state messages: 0 for fast gauges, 1 for events. Default 0. */
  qos?: QoS;
  /** Retain the state messages. Default false. */
  retainState?: boolean;
  /** Home Assistant discovery: false/absent = off, true = defaults, or settings. */
  homeAssistant?: boolean | HomeAssistantSpec;
  /**
   * MQTT 5: Will Delay Interval, seconds (MQTT 5.0 §3.1.3.2.2). The broker
   * publishes `offline` only if the node has not reconnected within this
   * time. Default 5. The session expiry is raised to at least this value.
   */
  willDelay?: number;
  /** Local control, see `ControlHook`. */
  control?: ControlHook;
}

/** A field after resolution. */
export interface ResolvedField {
  readonly name: string;
  readonly path: readonly string[];
  readonly deadband: number | undefined;
  readonly precision: number | undefined;
  readonly spec: FieldSpec;
}

/** A sensor after resolution; `fields` is undefined until auto-flattening ran. */
export interface ResolvedSensor {
  readonly sensor: SampleSource;
  fields: readonly ResolvedField[] | undefined;
}

/** The checked description the node runs on. */
export interface ResolvedDescription {
  readonly id: string;
  readonly name: string;
  readonly device: DeviceInfo;
  readonly baseTopic: string;
  readonly statusTopic: string;
  readonly stateTopic: string;
  readonly errorTopic: string;
  /** `<base>/set/` (commands are `<base>/set/<name>`). */
  readonly commandPrefix: string;
  readonly sensors: readonly ResolvedSensor[];
  readonly actuators: readonly ActuatorSpec[];
  readonly sampleInterval: number;
  readonly period: number;
  readonly qos: QoS;
  readonly retainState: boolean;
  /** Discovery prefix, or undefined when discovery is off. */
  readonly haPrefix: string | undefined;
  readonly haAnnounceDelay: number;
  readonly willDelay: number;
  readonly control: ControlHook | undefined;
}

const NAME = /^[A-Za-z0-9_-]{1,64}$/;

function checkName(value: unknown, what: string): string {
  if (typeof value !== "string" || !NAME.test(value)) {
    throw new TypeError(`${what} must be 1..64 characters of [A-Za-z0-9_-] (used in topics and as a Home Assistant id), got ${JSON.stringify(value)}`);
  }
  return value;
}

function checkMs(value: unknown, what: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !(value > 0) || value === Infinity) throw new RangeError(`${what} must be a positive number of ms, got ${String(value)}`);
  return value;
}

function checkPrefix(prefix: string, what: string): void {
  if (typeof prefix !== "string" || prefix.length === 0 || prefix.endsWith("/")) {
    throw new TypeError(`${what} must be a non-empty topic without a trailing "/", got ${JSON.stringify(prefix)}`);
  }
  assertTopicName(prefix); // no wildcards [MQTT-3.3.2-2]
}

/** A field spec (or shorthand path) checked and parsed. */
export function resolveField(spec: FieldSpec | string): ResolvedField {
  const full: FieldSpec = typeof spec === "string" ? { name: spec.slice(spec.lastIndexOf(".") + 1), path: spec } : spec;
  if (full === null || typeof full !== "object") throw new TypeError("a field must be a FieldSpec or a path string");
  const name = checkName(full.name, "field name");
  const pathText = full.path ?? name;
  if (typeof pathText !== "string" || pathText.length === 0) throw new TypeError(`field ${name}: path must be a non-empty string`);
  const path = Object.freeze(pathText.split("."));
  for (const part of path) if (part.length === 0) throw new TypeError(`field ${name}: empty segment in path ${JSON.stringify(pathText)}`);
  const deadband = full.deadband;
  if (deadband !== undefined && (typeof deadband !== "number" || !(deadband >= 0))) {
    throw new RangeError(`field ${name}: deadband must be a number >= 0, got ${String(deadband)}`);
  }
  const precision = full.precision;
  if (precision !== undefined && (!Number.isInteger(precision) || precision < 0 || precision > 10)) {
    throw new RangeError(`field ${name}: precision must be an integer 0..10, got ${String(precision)}`);
  }
  return Object.freeze({ name, path, deadband, precision, spec: full });
}

/**
 * The fields of a sample without a field list: every number/boolean leaf,
 * named after its key, or after its whole path joined with "_" when two
 * leaves share a key. Arrays and strings are skipped.
 */
export function flattenFields(sample: unknown): ResolvedField[] {
  const leaves: string[][] = [];
  const walk = (value: unknown, path: string[]): void => {
    if (value === null || typeof value !== "object" || Array.isArray(value) || ArrayBuffer.isView(value)) return;
    for (const key of Object.keys(value)) {
      const v = (value as Record<string, unknown>)[key];
      const p = path.concat(key);
      if (typeof v === "number" || typeof v === "boolean") leaves.push(p);
      else walk(v, p);
    }
  };
  walk(sample, []);
  const counts: Record<string, number> = {};
  for (const p of leaves) counts[p[p.length - 1]] = (counts[p[p.length - 1]] ?? 0) + 1;
  const fields: ResolvedField[] = [];
  for (const p of leaves) {
    const key = p[p.length - 1];
    const name = counts[key] > 1 ? p.join("_") : key;
    if (!NAME.test(name)) continue; // a key that cannot be a topic/HA id is not published
    fields.push(resolveField({ name, path: p.join(".") }));
  }
  return fields;
}

/** The value at `path` in `sample` when it is a finite number, a boolean or a string; else undefined. */
export function valueAt(sample: unknown, path: readonly string[]): TelemetryValue | undefined {
  let v: unknown = sample;
  for (let i = 0; i < path.length; i++) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<string, unknown>)[path[i]];
  }
  if (typeof v === "number") return Number.isFinite(v) ? v : undefined;
  if (typeof v === "boolean" || typeof v === "string") return v;
  return undefined;
}

/** Checks a description and applies the defaults. Throws TypeError/RangeError naming the rule. */
export function resolveDescription(d: NodeDescription): ResolvedDescription {
  if (d === null || typeof d !== "object") throw new TypeError("a node description must be an object");
  const id = checkName(d.id, "node id");
  const baseTopic = d.baseTopic ?? id;
  checkPrefix(baseTopic, "baseTopic");
  const names = new Set<string>();
  const claim = (name: string, what: string): void => {
    if (names.has(name)) throw new TypeError(`${what} ${name}: the name is already used (fields and actuators share the state JSON keys)`);
    names.add(name);
  };
  const sensors: ResolvedSensor[] = [];
  for (const s of d.sensors ?? []) {
    if (s === null || typeof s !== "object" || s.sensor === null || typeof s.sensor !== "object" || typeof s.sensor.sample !== "function") {
      throw new TypeError("each sensor entry needs { sensor } with a sample() method (ECMA-419 Sensor Class Pattern)");
    }
    let fields: ResolvedField[] | undefined;
    if (s.fields !== undefined) {
      if (!Array.isArray(s.fields)) throw new TypeError("sensor fields must be an array");
      fields = s.fields.map(resolveField);
      for (const f of fields) claim(f.name, "field");
      Object.freeze(fields);
    }
    sensors.push({ sensor: s.sensor, fields });
  }
  const actuators: ActuatorSpec[] = [];
  for (const a of d.actuators ?? []) {
    if (a === null || typeof a !== "object") throw new TypeError("an actuator must be an object");
    const name = checkName(a.name, "actuator name");
    if (a.type !== "switch" && a.type !== "number") throw new TypeError(`actuator ${name}: type must be "switch" or "number"`);
    if (typeof a.apply !== "function" || typeof a.read !== "function") throw new TypeError(`actuator ${name}: apply(value) and read() are required`);
    if (a.min !== undefined && !Number.isFinite(a.min)) throw new RangeError(`actuator ${name}: min must be a finite number`);
    if (a.max !== undefined && !Number.isFinite(a.max)) throw new RangeError(`actuator ${name}: max must be a finite number`);
    if (a.min !== undefined && a.max !== undefined && a.min > a.max) throw new RangeError(`actuator ${name}: min > max`);
    claim(name, "actuator");
    actuators.push(a);
  }
  const sampleInterval = checkMs(d.sampleInterval, "sampleInterval", 10000);
  const period = checkMs(d.period, "period", 60000);
  const qos = d.qos ?? 0;
  if (qos !== 0 && qos !== 1 && qos !== 2) throw new RangeError(`qos must be 0, 1 or 2 [MQTT-3.3.1-4], got ${String(qos)}`);
  let haPrefix: string | undefined;
  let haAnnounceDelay = 5000;
  const ha = d.homeAssistant;
  if (ha !== undefined && ha !== false) {
    const spec: HomeAssistantSpec = ha === true ? {} : ha;
    if (spec === null || typeof spec !== "object") throw new TypeError("homeAssistant must be a boolean or { prefix, announceDelay }");
    haPrefix = spec.prefix ?? "homeassistant";
    checkPrefix(haPrefix, "homeAssistant.prefix");
    const delay = spec.announceDelay ?? 5000;
    if (typeof delay !== "number" || !(delay >= 0) || delay === Infinity) throw new RangeError(`homeAssistant.announceDelay must be ms >= 0, got ${String(delay)}`);
    haAnnounceDelay = delay;
  }
  const willDelay = d.willDelay ?? 5;
  if (!Number.isInteger(willDelay) || willDelay < 0 || willDelay > 0xffffffff) {
    throw new RangeError(`willDelay must be an integer number of seconds 0..4294967295 (MQTT 5.0 §3.1.3.2.2), got ${String(willDelay)}`);
  }
  if (d.control !== undefined && typeof d.control !== "function") throw new TypeError("control must be a function");
  const name = d.name ?? id;
  if (typeof name !== "string") throw new TypeError("name must be a string");
  return Object.freeze({
    id,
    name,
    device: Object.freeze({ ...(d.device ?? {}) }),
    baseTopic,
    statusTopic: `${baseTopic}/status`,
    stateTopic: `${baseTopic}/state`,
    errorTopic: `${baseTopic}/error`,
    commandPrefix: `${baseTopic}/set/`,
    sensors: Object.freeze(sensors),
    actuators: Object.freeze(actuators),
    sampleInterval,
    period,
    qos,
    retainState: d.retainState === true,
    haPrefix,
    haAnnounceDelay,
    willDelay,
    control: d.control,
  });
}
