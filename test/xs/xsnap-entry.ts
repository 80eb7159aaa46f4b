/**
 * XS side of the XS test tier, for the xsnap worker.
 *
 * The runner (test/run.mjs) bundles this module first, then every unit test
 * file (each preceded by a `setFile` marker), into one script that it
 * evaluates in a fresh xsnap worker. This module only installs a reporter
 * that forwards harness events to the host as JSON over `issueCommand`, and
 * exposes `globalThis.__xsTape` for the host to drive the run:
 *
 * - `__xsTape.count()`: number of tests registered by the bundle;
 * - `__xsTape.run()`: starts the run; it proceeds inside the worker's run
 *   loop and reports a "done" event when finished;
 * - `__xsTape.abandon(reason)`: fails the test that is waiting to end when
 *   the run loop is empty (nothing left that could end it).
 *
 * Events are sent once per test ("start" before it runs, "end" with all its
 * assertions after), so a crash inside a test is still attributed to it.
 */
import { abandonCurrentTest, registeredCount, run, setReporter } from "./tape-shim";
import type { HarnessEvent } from "./tape-shim";

declare const issueCommand: (bytes: ArrayBuffer) => ArrayBuffer;

const encoder = new TextEncoder();

function send(event: HarnessEvent): void {
  issueCommand(encoder.encode(JSON.stringify(event)).buffer as ArrayBuffer);
}

setReporter({ report: send });

let failure: unknown = null;

(globalThis as Record<string, unknown>).__xsTape = Object.freeze({
  count: () => registeredCount(),
  run: () => {
    run({ report: send }).catch((error: unknown) => {
      failure = error;
      const text = error instanceof Error ? `${error.name}: ${error.message}\n${error.stack ?? ""}` : String(error);
      issueCommand(encoder.encode(JSON.stringify({ type: "harness-error", message: text })).buffer as ArrayBuffer);
    });
  },
  abandon: (reason: string) => abandonCurrentTest(reason),
  failure: () => failure,
});
