/**
 * One-shot timers and a monotonic clock for the Node host: what the client
 * needs to drive a session's single deadline (ARCHITECTURE.md, "one timer
 * per client"). The shape mirrors Moddable's `timer` module
 * (`Timer.set`/`Timer.clear`) with the delay first.
 *
 * Node's `setTimeout` turns any delay above 2^31 - 1 ms (about 24.8 days)
 * into 1 ms; MQTT deadlines can be further away (a v5 session or message
 * expiry runs to 2^32 - 1 s), so long delays are re-armed in steps until
 * the deadline is reached. Node-only.
 */

/** Longest delay Node's `setTimeout` honours, in ms (Node docs, `setTimeout`). */
export const MAX_TIMEOUT = 0x7fffffff;

/** An armed timer; opaque to callers. Pass it to {@link clearTimer}. */
export interface TimerHandle {
  /** Node timeout currently armed, `undefined` once fired or cleared. */
  timeout: NodeJS.Timeout | undefined;
}

/** Milliseconds from an arbitrary origin, monotonic (never goes back), fractional. */
export function now(): number {
  return performance.now();
}

/**
 * Calls `callback` once, `ms` milliseconds from now (0 = next timer turn).
 * `ms` must be a finite number >= 0 (`RangeError` otherwise); fractions
 * are kept by Node as whole ms. The callback runs on its own turn, never
 * inside this call; an exception it throws propagates as Node's uncaught
 * exception (callers catch their own).
 */
export function setTimer(ms: number, callback: () => void): TimerHandle {
  if (typeof ms !== "number" || !Number.isFinite(ms) || ms < 0) {
    throw new RangeError(`setTimer: ms must be a finite number >= 0, got ${String(ms)}`);
  }
  if (typeof callback !== "function") throw new TypeError("setTimer: callback must be a function");
  const due = now() + ms;
  const handle: TimerHandle = { timeout: undefined };
  const arm = (delay: number): void => {
    handle.timeout = setTimeout(() => {
      const left = due - now();
      if (left >= 1) {
        arm(Math.min(left, MAX_TIMEOUT));
        return;
      }
      handle.timeout = undefined;
      callback();
    }, delay);
  };
  arm(Math.min(ms, MAX_TIMEOUT));
  return handle;
}

/** Cancels a timer; harmless on `undefined`, a fired or a cleared timer. */
export function clearTimer(handle: TimerHandle | undefined): void {
  if (handle === undefined || handle.timeout === undefined) return;
  clearTimeout(handle.timeout);
  handle.timeout = undefined;
}

/** The three functions as one injectable object. */
export const timer = Object.freeze({ setTimer, clearTimer, now });
