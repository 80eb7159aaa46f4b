/**
 * The Node entry's option defaults (hosts/node/mqtt.ts NODE_DEFAULTS):
 * sized for a desktop, applied under the caller's options, and never a
 * QoS 2 window that a default-config Mosquitto drops messages from over
 * MQTT 3.1.1 (ARCHITECTURE.md, known quirks). Node-only (no broker needed:
 * the clients are created with `manualConnect`).
 */
import test from "tape";
import { connect, NODE_DEFAULTS, NODE_MAX_INFLIGHT_QOS2 } from "../../hosts/node/mqtt";

test("Node entry: desktop-sized outbox by default; the caller's options win", (t) => {
  const client = connect("mqtt://127.0.0.1:1", { manualConnect: true });
  t.equal(client.client.outbox.maxMessages, 512, "512 outbox records (core default 64)");
  t.equal(client.client.outbox.capacity, 128 * 1024, "128 KiB outbox ring (core default 16 KiB)");
  t.equal(client.options.maxInflight, 256, "maxInflight 256 (core default 32)");
  t.equal(client.options.maxInflightQos2, 16, "maxInflightQos2 16");
  const own = connect({ host: "127.0.0.1", port: 1, manualConnect: true, outboxMessages: 10, outboxBytes: 4096, maxInflight: 5 });
  t.equal(own.client.outbox.maxMessages, 10, "outboxMessages given wins");
  t.equal(own.client.outbox.capacity, 4096, "outboxBytes given wins");
  t.equal(own.options.maxInflight, 5, "maxInflight given wins");
  const url = connect("mqtt://127.0.0.1:1?clientId=from-url", { manualConnect: true });
  t.equal(url.options.clientId, "from-url", "URL parsing unaffected by the defaults");
  t.equal(url.client.outbox.maxMessages, 512, "defaults apply with a URL too");
  client.end(true);
  own.end(true);
  url.end(true);
  t.end();
});

test("Node entry: QoS 2 in flight stays below Mosquitto's default 20 (it drops the excess over 3.1.1)", (t) => {
  t.ok(NODE_MAX_INFLIGHT_QOS2 <= 19, `QoS 2 cap ${NODE_MAX_INFLIGHT_QOS2} <= 19`);
  t.equal(NODE_DEFAULTS.maxInflightQos2, NODE_MAX_INFLIGHT_QOS2, "the QoS 2 cap is passed to the session");
  t.equal(NODE_DEFAULTS.maxInflight, 256, "QoS 1 window 256");
  t.ok((NODE_DEFAULTS.outboxMessages as number) >= (NODE_DEFAULTS.maxInflight as number), "outbox records cover the window");
  t.end();
});
