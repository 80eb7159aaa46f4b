/**
 * RPC inside the XS test host: named methods the Node host can call
 * (`HostOp.Call`, answered by the dispatcher in the batch result), and
 * messages XS sends to the host on its own (`XsOp.Emit`).
 *
 * A method returns a value (sent back with the batch result) or a promise
 * (its settlement is sent later as an `Emit` record `{ k: "return" }`).
 * A throw becomes a rejected call on the Node side, with the XS error's
 * name, message and stack.
 *
 * Emit records (values of the codec in `wire.ts`), by `k`:
 * - `"event"`: `{ c: client, e: event name, a: args, f: flags }` (mqtt-rpc.ts);
 * - `"callback"`: `{ id: callback, a: args, c?: client, f?: flags }`;
 * - `"return"`: `{ id: call, ok: boolean, v: value or error }`;
 * - `"emit"`: `{ n: name, v: value }` from {@link emit} (user bundles).
 */
import { issue } from "./bridge";
import { XsOp, encodeValue } from "./wire";

type Method = (...args: any[]) => unknown;

const methods: Map<string, Method> = new Map();

/** Registers (or replaces) method `name`. Names with a dot are namespaced by convention (`mqtt.publish`). */
export function register(name: string, method: Method): void {
  if (typeof name !== "string" || name === "") throw new TypeError("register: name must be a non-empty string");
  if (typeof method !== "function") throw new TypeError(`register: method ${name} must be a function`);
  methods.set(name, method);
}

/** Calls method `name`; throws `TypeError` for an unknown name. */
export function invoke(name: string, args: unknown[]): unknown {
  const method = methods.get(name);
  if (method === undefined) throw new TypeError(`xsnap rpc: no method ${JSON.stringify(name)} (registered: ${Array.from(methods.keys()).join(", ")})`);
  return method(...args);
}

/** Sends a record to the host (synchronously; returns when the host has queued it). */
export function send(record: Record<string, unknown>): void {
  const value = encodeValue(record);
  const frame = new Uint8Array(1 + value.byteLength);
  frame[0] = XsOp.Emit;
  frame.set(value, 1);
  issue(frame);
}

/** Sends a named value to the host; `XsHost` emits it as `("emit", name, value)`. */
export function emit(name: string, value?: unknown): void {
  send({ k: "emit", n: name, v: value });
}
