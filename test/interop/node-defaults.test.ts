/**
 * The Node entry at its defaults (hosts/node/mqtt.ts NODE_DEFAULTS) against
 * a Mosquitto with its DEFAULT configuration (max_inflight_messages 20),
 * MQTT 3.1.1: publishing as fast as the API allows (paced on the outbox's
 * record slots) loses nothing. Mosquitto 2.0.11 acknowledges but silently
 * drops any QoS 1/2 PUBLISH that arrives while it holds 20 incoming QoS 2
 * messages (ARCHITECTURE.md, known quirks), so every message is counted at
 * a subscriber. Node-only.
 */
import test from "tape";
import { startMosquitto } from "../support/mosquitto";
import type { MosquittoBroker } from "../support/mosquitto";
import { connect, connectAsync } from "../../hosts/node/mqtt";
import type { MqttClient } from "../../hosts/node/mqtt";
import { waitUntil } from "../support/net-util";

let broker: MosquittoBroker;

test("setup: Mosquitto with its default configuration", async (t) => {
  broker = await startMosquitto({});
  t.ok(broker.port > 0, "running");
});

/** Publishes `qos[i]` for message i, keeping at most the outbox's record slots outstanding; resolves when all completed. */
function paced(client: MqttClient, topic: string, qos: Array<1 | 2>): Promise<number> {
  const slots = client.client.outbox.maxMessages;
  return new Promise((resolve, reject) => {
    let issued = 0;
    let done = 0;
    let pumping = false;
    const completed = (error?: unknown): void => {
      if (error) return reject(error);
      done += 1;
      if (done === qos.length) resolve(slots);
      else pump();
    };
    const pump = (): void => {
      if (pumping) return;
      pumping = true;
      while (issued < qos.length && issued - done < slots) {
        const payload = new Uint8Array([issued >> 8, issued & 255]);
        client.publish(topic, payload, { qos: qos[issued] }, completed);
        issued += 1;
      }
      pumping = false;
    };
    pump();
  });
}

async function burst(t: test.Test, name: string, qos: Array<1 | 2>): Promise<void> {
  const url = `mqtt://127.0.0.1:${broker.port}`;
  const topic = `defaults/${name}`;
  const sub = await connectAsync(url, { clientId: `${name}-sub`, reconnectPeriod: 0 });
  const seen = new Map<number, number>();
  sub.on("message", (_topic: string, payload: Uint8Array) => {
    const i = (payload[0] << 8) | payload[1];
    seen.set(i, (seen.get(i) ?? 0) + 1);
  });
  await sub.subscribeAsync(topic, { qos: 2 });
  const pub = connect(url, { clientId: `${name}-pub`, reconnectPeriod: 0 });
  await new Promise<void>((resolve, reject) => {
    pub.once("connect", () => resolve());
    pub.once("error", reject);
  });
  const slots = await paced(pub, topic, qos);
  t.ok(slots > 20, `more publishes outstanding than Mosquitto's 20 (${slots})`);
  await waitUntil(() => seen.size === qos.length, 5000, "not every message arrived", () => `${seen.size}/${qos.length}`).catch(() => {});
  t.equal(seen.size, qos.length, `all ${qos.length} messages arrived`);
  t.equal([...seen.values()].filter((n) => n > 1).length, 0, "none twice (subscribed at QoS 2)");
  await new Promise<void>((resolve) => pub.end(false, {}, () => resolve()));
  await new Promise<void>((resolve) => sub.end(false, {}, () => resolve()));
}

test("defaults, 3.1.1, default Mosquitto: 300 QoS 2 messages as fast as the API allows all arrive", (t) => burst(t, "qos2", new Array(300).fill(2)));

test("defaults, 3.1.1, default Mosquitto: 1000 QoS 1 messages all arrive", (t) => burst(t, "qos1", new Array(1000).fill(1)));

test("defaults, 3.1.1, default Mosquitto: 600 interleaved QoS 1 and QoS 2 messages all arrive", (t) =>
  burst(t, "mixed", Array.from({ length: 600 }, (_, i) => (i % 3 === 0 ? 2 : 1))));

test("teardown", async (t) => {
  await broker.dispose();
  t.pass("stopped");
});
