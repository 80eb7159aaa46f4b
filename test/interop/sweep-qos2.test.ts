/**
 * Interop, cut-after-N-bytes sweep over one whole QoS 2 exchange, on the
 * publisher's and on the subscriber's connection, against Mosquitto (3.1.1
 * and 5.0) and aedes (3.1.1), with the client on every host: exactly once.
 * See scenarios/sweep.ts.
 */
import { forEachHost, run } from "./support/harness";
import { brokers } from "./support/brokers";
import { cutSweep } from "./scenarios/sweep";

const set = brokers({ mosquitto: {}, aedes: {} });
set.register();
forEachHost((host) => {
  for (const side of ["publisher", "subscriber"] as const) {
    run(host, set.all, `QoS 2, cut the ${side}'s link after every byte offset of an exchange: exactly once`, (t, ctx) =>
      cutSweep(t, ctx, side, 2),
    );
  }
});
set.registerStop();
