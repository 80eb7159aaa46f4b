/**
 * Command payload parsing for actuators: text in, a checked value or an
 * error message out. Nothing here touches the actuator: the node applies a
 * value only when `parseCommand` accepted it.
 *
 * Accepted payloads (UTF-8 text, surrounding white space ignored):
 * - "switch": ON / OFF (Home Assistant's default payload_on/payload_off),
 *   true / false, 1 / 0 (any letter case), and TOGGLE (the opposite of
 *   the current value);
 * - "number": a decimal number as JSON writes it (e.g. "21.5", "-3",
 *   "1e2"), within the actuator's min/max.
 * Then the actuator's own `validate` runs.
 */
import type { ActuatorSpec } from "./description";

/** Largest command payload accepted, bytes: longer ones are refused before decoding. */
export const MAX_COMMAND_BYTES = 256;

/** The outcome of `parseCommand`: a value, or an error message. */
export type CommandResult = { ok: true; value: boolean | number } | { ok: false; error: string };

const NUMBER = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$/;

/** Parses and checks a command for `actuator`. Never throws for bad input. */
export function parseCommand(actuator: ActuatorSpec, text: string): CommandResult {
  const t = text.trim();
  let value: boolean | number;
  if (actuator.type === "switch") {
    const upper = t.toUpperCase();
    if (upper === "ON" || upper === "TRUE" || upper === "1") value = true;
    else if (upper === "OFF" || upper === "FALSE" || upper === "0") value = false;
    else if (upper === "TOGGLE") value = actuator.read() !== true;
    else return { ok: false, error: `expected ON, OFF, true, false, 1, 0 or TOGGLE` };
  } else {
    if (!NUMBER.test(t)) return { ok: false, error: "expected a number" };
    value = Number(t);
    if (!Number.isFinite(value)) return { ok: false, error: "expected a finite number" };
    if (actuator.min !== undefined && value < actuator.min) return { ok: false, error: `below the minimum ${actuator.min}` };
    if (actuator.max !== undefined && value > actuator.max) return { ok: false, error: `above the maximum ${actuator.max}` };
  }
  if (actuator.validate !== undefined) {
    const message = actuator.validate(value);
    if (message !== undefined) return { ok: false, error: String(message) };
  }
  return { ok: true, value };
}
