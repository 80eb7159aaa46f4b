/**
 * The telemetry-node layer: a sensor/actuator node on MQTT from one
 * description (status with will and birth, periodic and report-by-exception
 * telemetry, commands, Home Assistant discovery, local control, optional
 * persistence). See README.md.
 */
export { TelemetryNode, NodeState } from "./telemetry-node";
export type { TelemetryNodeOptions, StopOptions, NodeStateValue } from "./telemetry-node";
export { resolveDescription, flattenFields, valueAt, resolveField } from "./description";
export type {
  NodeDescription,
  SensorSpec,
  FieldSpec,
  ActuatorSpec,
  HomeAssistantSpec,
  DeviceInfo,
  ControlHook,
  SampleSource,
  TelemetryValue,
  TelemetryValues,
  ResolvedDescription,
  ResolvedField,
} from "./description";
export { parseCommand, MAX_COMMAND_BYTES } from "./commands";
export type { CommandResult } from "./commands";
export { fieldDiscovery, actuatorDiscovery, STATUS_ONLINE, STATUS_OFFLINE } from "./discovery";
export type { DiscoveryMessage } from "./discovery";
