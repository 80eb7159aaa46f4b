/**
 * Interop, transport faults: one byte at a time, a stall detected by
 * keepalive and recovered, and a bounded outbox while the broker is
 * unreachable, against Mosquitto (3.1.1 and 5.0) and aedes (3.1.1), with
 * the client on every host. The cut-after-N-bytes sweeps are in
 * sweep-*.test.ts.
 */
import { forEachHost, run } from "./support/harness";
import { brokers } from "./support/brokers";
import { oneByteAtATime, outboxBounded, stallDetected } from "./scenarios/faults";

const set = brokers({ mosquitto: {}, aedes: {} });
set.register();
forEachHost((host) => {
  run(host, set.all, "one byte at a time both ways: every packet split at every byte, all intact", oneByteAtATime);
  run(host, set.all, "a stall is detected by keepalive (PingTimeout) and recovered", stallDetected);
  run(host, set.all, "broker unreachable: the outbox stays within its capacity, extra QoS 1/2 publishes fail with OutboxFull", outboxBounded);
});
set.registerStop();
