/**
 * XS side of the XS test host: the synchronous call into the Node host
 * (`issueCommand`) and the host clock.
 *
 * `issueCommand(buffer)` is a global of the `@agoric/xsnap` worker: it
 * sends the bytes to the parent process and blocks until the parent
 * answers, then returns the answer as an ArrayBuffer. Every socket and
 * timer operation of this host is one such call (see `wire.ts`).
 *
 * Time: XS's own clocks are not the Node host's, and the host arms timers
 * on its clock. Every batch of host events carries the host's clock
 * (`setHostTime`), and {@link now} returns it: time is frozen while XS
 * handles one batch and jumps forward between batches, so a timer that
 * fires always sees its deadline reached, and a run's computation does
 * not depend on how fast XS executes.
 *
 * This module (like the rest of `hosts/xsnap/xs`) keeps its state in
 * module variables: it runs in one XS test worker per Node host, never on
 * a board.
 */
import { Status, decodeValue } from "./wire";
import type { ErrorFields } from "./wire";

declare const issueCommand: (bytes: ArrayBuffer) => ArrayBuffer;

let hostTime = 0;

/** The host's clock in ms (monotonic, fractional), as of the batch being handled. */
export function now(): number {
  return hostTime;
}

/** Sets the clock; called by the dispatcher with each batch's header. Never goes back. */
export function setHostTime(ms: number): void {
  if (ms > hostTime) hostTime = ms;
}

/** Rebuilds an error the host reported, in the class it named. */
function hostError(fields: ErrorFields): Error {
  const Class = fields.name === "TypeError" ? TypeError : fields.name === "RangeError" ? RangeError : Error;
  const error = new Class(fields.message) as Error & { code?: unknown; layer?: unknown };
  if (fields.code !== undefined) error.code = fields.code;
  if (fields.layer !== undefined) error.layer = fields.layer;
  return error;
}

/**
 * Sends `frame` (which must own its whole ArrayBuffer: xsnap takes the
 * buffer, not a view) and returns the reply body (after the status byte).
 * Throws the host's error, in its class (TypeError, RangeError, Error),
 * when the status is `Error`.
 */
export function issue(frame: Uint8Array): Uint8Array {
  const reply = new Uint8Array(issueCommand(frame.buffer as ArrayBuffer));
  if (reply.length === 0) throw new Error("xsnap host: empty reply to issueCommand");
  if (reply[0] === Status.Ok) return reply.subarray(1);
  throw decodeValue(reply, 1, reply.length, { error: hostError });
}
