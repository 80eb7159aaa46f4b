/**
 * Interop, basic publish/subscribe: QoS 0/1/2 round trips, wildcards,
 * retained messages and the Last Will, against Mosquitto (3.1.1 and 5.0)
 * and aedes (3.1.1), with the client on every host (Node, XS).
 */
import { forEachHost, run } from "./support/harness";
import { brokers } from "./support/brokers";
import { lastWill, retained, roundTrips, wildcards } from "./scenarios/basic";

const set = brokers({ mosquitto: {}, aedes: {} });
set.register();
forEachHost((host) => {
  run(host, set.all, "QoS 0, 1 and 2 round trips, publish callbacks after the acknowledgements", roundTrips);
  run(host, set.all, "+ and # wildcard subscriptions, QoS min(publish, subscription)", wildcards);
  run(host, set.all, "retained message delivered on subscribe, cleared by an empty payload", retained);
  run(host, set.all, "Last Will published when the socket dies abruptly, not on a clean end", lastWill);
});
set.registerStop();
