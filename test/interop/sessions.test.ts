/**
 * Interop, sessions: a persistent subscriber receives what was published
 * while it was away (Mosquitto 3.1.1 and 5.0, aedes 3.1.1), and a
 * Mosquitto restart with persistence while QoS 1/2 messages are in flight
 * (Mosquitto 3.1.1 and 5.0), with the client on every host.
 */
import { forEachHost, run } from "./support/harness";
import { brokers } from "./support/brokers";
import { brokerRestart, persistentSession } from "./scenarios/sessions";

const set = brokers({ mosquitto: { persistence: true }, aedes: {} });
set.register();
forEachHost((host) => {
  run(host, set.all, "a persistent subscriber receives the QoS 1/2 messages published while it was away", persistentSession);
  run(
    host,
    [set.mosquitto311, set.mosquitto5],
    "restart with persistence: reconnect with backoff, in-flight QoS 1/2 resent with DUP, all arrive, QoS 2 once",
    (t, ctx) => brokerRestart(t, ctx, set.mosquitto()),
  );
});
set.registerStop();
