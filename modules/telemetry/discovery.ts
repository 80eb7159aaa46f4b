/**
 * Home Assistant MQTT discovery payloads, one per entity, built on demand
 * (at announce time; nothing is kept between announcements).
 *
 * Topic: `<prefix>/<component>/<node_id>/<object_id>/config` (HA's
 * per-entity discovery topic; node_id is the node id, object_id the field
 * or actuator name). Payload (full key names, not HA's abbreviations, for
 * readability; a few hundred bytes per entity):
 *
 *   name, unique_id ("<node>_<object>"), state_topic ("<base>/state"),
 *   value_template ("{{ value_json.<name> }}", or rendered to ON/OFF for
 *   booleans), availability_topic ("<base>/status"), payload_available
 *   ("online"), payload_not_available ("offline"), device { identifiers,
 *   name, manufacturer, model, sw_version, hw_version, suggested_area },
 *   plus per component:
 *   - sensor: unit_of_measurement, device_class, state_class
 *     ("measurement" for numbers);
 *   - binary_sensor: payload_on "ON", payload_off "OFF", device_class;
 *   - switch: command_topic ("<base>/set/<name>"), payload_on "ON",
 *     payload_off "OFF", device_class;
 *   - number: command_topic, min, max, step, unit_of_measurement,
 *     device_class;
 *   then the spec's `discovery` extras (they win).
 * Published retained at QoS 1 by the node; an empty retained payload on the
 * same topic removes the entity from HA.
 */
import type { ActuatorSpec, ResolvedDescription, ResolvedField, TelemetryValue } from "./description";

/** Status payload of the birth (exactly this string): the node is connected. */
export const STATUS_ONLINE = "online";
/** Status payload of the will and of a graceful stop (exactly this string). */
export const STATUS_OFFLINE = "offline";

/** One discovery message. */
export interface DiscoveryMessage {
  topic: string;
  payload: string;
}

/** The HA device block for the node. */
function deviceBlock(d: ResolvedDescription): Record<string, unknown> {
  const device: Record<string, unknown> = { identifiers: [d.id], name: d.name };
  const info = d.device;
  if (info.manufacturer !== undefined) device.manufacturer = info.manufacturer;
  if (info.model !== undefined) device.model = info.model;
  if (info.swVersion !== undefined) device.sw_version = info.swVersion;
  if (info.hwVersion !== undefined) device.hw_version = info.hwVersion;
  if (info.suggestedArea !== undefined) device.suggested_area = info.suggestedArea;
  return device;
}

function common(d: ResolvedDescription, name: string, label: string | undefined): Record<string, unknown> {
  return {
    name: label ?? name,
    unique_id: `${d.id}_${name}`,
    state_topic: d.stateTopic,
    availability_topic: d.statusTopic,
    payload_available: STATUS_ONLINE,
    payload_not_available: STATUS_OFFLINE,
    device: deviceBlock(d),
  };
}

function topic(d: ResolvedDescription, component: string, objectId: string): string {
  return `${d.haPrefix}/${component}/${d.id}/${objectId}/config`;
}

function onOffTemplate(name: string): string {
  return `{{ 'ON' if value_json.${name} else 'OFF' }}`;
}

/**
 * The discovery message of a telemetry field. `sample` is a current value
 * (its type picks the default component); undefined is treated as a number.
 */
export function fieldDiscovery(d: ResolvedDescription, field: ResolvedField, sample: TelemetryValue | undefined): DiscoveryMessage {
  const spec = field.spec;
  const component = spec.component ?? (typeof sample === "boolean" ? "binary_sensor" : "sensor");
  const config = common(d, field.name, spec.label);
  if (component === "binary_sensor") {
    config.value_template = onOffTemplate(field.name);
    config.payload_on = "ON";
    config.payload_off = "OFF";
  } else {
    config.value_template = `{{ value_json.${field.name} }}`;
    if (spec.unit !== undefined) config.unit_of_measurement = spec.unit;
    const stateClass = spec.stateClass ?? (typeof sample === "string" ? undefined : "measurement");
    if (stateClass !== undefined) config.state_class = stateClass;
  }
  if (spec.deviceClass !== undefined) config.device_class = spec.deviceClass;
  if (spec.discovery !== undefined) Object.assign(config, spec.discovery);
  return { topic: topic(d, component, field.name), payload: JSON.stringify(config) };
}

/** The discovery message of an actuator: an HA `switch` or `number`. */
export function actuatorDiscovery(d: ResolvedDescription, actuator: ActuatorSpec): DiscoveryMessage {
  const config = common(d, actuator.name, actuator.label);
  config.command_topic = `${d.commandPrefix}${actuator.name}`;
  let component: string;
  if (actuator.type === "switch") {
    component = "switch";
    config.value_template = onOffTemplate(actuator.name);
    config.payload_on = "ON";
    config.payload_off = "OFF";
  } else {
    component = "number";
    config.value_template = `{{ value_json.${actuator.name} }}`;
    if (actuator.min !== undefined) config.min = actuator.min;
    if (actuator.max !== undefined) config.max = actuator.max;
    if (actuator.step !== undefined) config.step = actuator.step;
    if (actuator.unit !== undefined) config.unit_of_measurement = actuator.unit;
  }
  if (actuator.deviceClass !== undefined) config.device_class = actuator.deviceClass;
  if (actuator.discovery !== undefined) Object.assign(config, actuator.discovery);
  return { topic: topic(d, component, actuator.name), payload: JSON.stringify(config) };
}
