/**
 * Timers for code running inside the XS test host: the xsnap worker has no
 * `setTimeout`, so each timer is armed on the Node host (`XsOp.TimerSet`,
 * a synchronous `issueCommand`) and its firing comes back as a host event
 * (`HostOp.Timer`) that the dispatcher hands to {@link fireTimer}.
 *
 * The shape follows Moddable's `timer` module (`Timer.set(callback, ms,
 * interval)`, `Timer.repeat`, `Timer.clear`; the callback gets the timer's
 * id), and {@link timer} is the `ClientTimer` the MQTT client takes.
 *
 * A timer cleared after the host queued its firing is not called: the
 * table entry is gone when the event arrives. Callbacks run from the
 * dispatcher, never inside `setTimer`; an exception they throw is reported
 * by the dispatcher as a fault (see `dispatch.ts`).
 */
import { issue } from "./bridge";
import { XsOp, putF64, putU32 } from "./wire";

interface Entry {
  callback: (id: number) => void;
  repeat: boolean;
}

const timers: Map<number, Entry> = new Map();
let nextId = 1;

/**
 * Calls `callback(id)` after `ms` milliseconds (>= 0, host clock), then
 * every `interval` ms when `interval` > 0, until cleared. Returns the id.
 * Throws `RangeError` for a negative or non-finite delay.
 */
export function setTimer(callback: (id: number) => void, ms: number, interval = 0): number {
  if (typeof callback !== "function") throw new TypeError("setTimer: callback must be a function");
  if (typeof ms !== "number" || !(ms >= 0) || ms === Infinity) throw new RangeError(`setTimer: ms must be a finite number >= 0, got ${String(ms)}`);
  if (typeof interval !== "number" || !(interval >= 0) || interval === Infinity) {
    throw new RangeError(`setTimer: interval must be a finite number >= 0, got ${String(interval)}`);
  }
  const id = nextId;
  nextId = nextId === 0xffffffff ? 1 : nextId + 1;
  const frame = new Uint8Array(21);
  frame[0] = XsOp.TimerSet;
  putU32(frame, 1, id);
  putF64(frame, 5, ms);
  putF64(frame, 13, interval);
  issue(frame);
  timers.set(id, { callback, repeat: interval > 0 });
  return id;
}

/** Cancels a timer; harmless for an unknown, fired or cleared id. */
export function clearTimer(id: unknown): void {
  if (typeof id !== "number" || !timers.delete(id)) return;
  const frame = new Uint8Array(5);
  frame[0] = XsOp.TimerClear;
  putU32(frame, 1, id);
  issue(frame);
}

/** Called by the dispatcher when the host reports timer `id` fired. */
export function fireTimer(id: number): void {
  const entry = timers.get(id);
  if (entry === undefined) return;
  if (!entry.repeat) timers.delete(id);
  entry.callback(id);
}

/** Number of armed timers. */
export function timerCount(): number {
  return timers.size;
}

/** Moddable-`Timer`-shaped object, and the `ClientTimer` (`set(callback, ms)`, `clear(id)`) the MQTT client takes. */
export const timer = Object.freeze({
  set: (callback: (id: number) => void, ms: number, interval?: number): number => setTimer(callback, ms, interval ?? 0),
  repeat: (callback: (id: number) => void, interval: number): number => setTimer(callback, interval, interval),
  clear: clearTimer,
});
