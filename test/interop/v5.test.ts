/**
 * Interop, MQTT 5.0 features against Mosquitto (aedes 1.x has no v5):
 * message expiry, topic aliases, user properties, request/response, shared
 * subscriptions, subscription identifiers, SUBACK failure reason codes
 * (also over 3.1.1), the server's Receive Maximum, and a burst towards a
 * subscriber beyond its own Receive Maximum, with the client on every host.
 *
 * Three Mosquittos: a plain one; one with the dynamic-security plugin
 * (denies subscribing to `denied/#` and publishing to `nopub/#`); one with
 * `max_inflight_messages 2` (Receive Maximum 2).
 */
import test from "tape";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { forEachHost, run } from "./support/harness";
import type { BrokerTarget } from "./support/harness";
import { brokers, dynsecConfig } from "./support/brokers";
import { startMosquitto } from "../support/mosquitto";
import type { MosquittoBroker } from "../support/mosquitto";
import {
  inboundBurst,
  messageExpiry,
  outboxExpiry,
  receiveMaximum,
  requestResponse,
  sharedSubscriptions,
  subackFailures,
  subscriptionIdentifiers,
  topicAliases,
  userProperties,
} from "./scenarios/v5";

const set = brokers({ mosquitto: {} });
let dynsec: MosquittoBroker | undefined;
let narrow: MosquittoBroker | undefined;
const dynsecDir = mkdtempSync(join(tmpdir(), "mqtt-xs-dynsec-"));

function target(name: string, version: 4 | 5, get: () => MosquittoBroker | undefined): BrokerTarget {
  return {
    name,
    kind: "mosquitto",
    version,
    port: () => get()!.port,
    url: () => get()!.url,
  };
}

set.register();
test("start the dynamic-security and the max_inflight_messages 2 Mosquittos", async (t) => {
  dynsec = await startMosquitto({ extra: dynsecConfig(dynsecDir, "denied/#", "nopub/#") });
  narrow = await startMosquitto({ maxInflightMessages: 2 });
  t.ok(dynsec.port > 0 && narrow.port > 0, `dynsec :${dynsec.port}, max_inflight_messages 2 :${narrow.port}`);
});

const v5only = [set.mosquitto5];
const dynsecTargets = [target("mosquitto 3.1.1", 4, () => dynsec), target("mosquitto 5.0", 5, () => dynsec)];
const narrowTarget = [target("mosquitto 5.0", 5, () => narrow)];

forEachHost((host) => {
  run(host, v5only, "message expiry: an expired retained and an expired queued message are not delivered", messageExpiry);
  run(host, v5only, "message expiry in the client's outbox: an expired offline message is never sent, its callback fails", outboxExpiry);
  run(host, v5only, "topic aliases assigned by the client, accepted by the broker, fewer bytes on the wire", topicAliases);
  run(host, v5only, "user properties delivered intact", userProperties);
  run(host, v5only, "request/response with response topic and correlation data", requestResponse);
  run(host, v5only, "shared subscription: each message to exactly one of two members", sharedSubscriptions);
  run(host, v5only, "subscription identifiers delivered with the message", subscriptionIdentifiers);
  run(host, dynsecTargets, "SUBACK failure reason code for a denied filter; denied publish not delivered (dynamic-security plugin)", (t, ctx) =>
    subackFailures(t, ctx, dynsec!),
  );
  run(host, v5only, "a burst beyond our Receive Maximum (Mosquitto does not keep to it): all arrive, QoS 2 once, no disconnect", inboundBurst);
  run(host, narrowTarget, "the server's Receive Maximum is respected, all messages arrive (max_inflight_messages 2)", (t, ctx) => receiveMaximum(t, ctx, narrow!));
});

test("stop the extra Mosquittos", async (t) => {
  await dynsec?.dispose();
  await narrow?.dispose();
  rmSync(dynsecDir, { recursive: true, force: true });
  t.pass("stopped");
});
set.registerStop();
