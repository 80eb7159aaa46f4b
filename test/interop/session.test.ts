/**
 * Interop on Node, sessions and reconnects against real brokers:
 * - a persistent subscriber (`clean: false`; v5 with a Session Expiry
 *   Interval) goes away, QoS 1/2 messages are published, it comes back and
 *   receives them all (Mosquitto 3.1.1 and 5.0, aedes 3.1.1);
 * - Mosquitto with persistence restarts: both clients reconnect on their
 *   own with backoff; QoS 1/2 messages published while the broker was down
 *   wait in the publisher's outbox, then all arrive (QoS 2 exactly once,
 *   QoS 1 at least once).
 *
 * Node-only (spawns Mosquitto, runs aedes in process).
 */
import test from "tape";
import { connect, connectAsync } from "../../hosts/node/mqtt";
import type { IClientOptions, MqttClient } from "../../hosts/node/mqtt";
import { startMosquitto } from "../support/mosquitto";
import type { MosquittoBroker } from "../support/mosquitto";
import { startAedes } from "../support/aedes";
import type { AedesBroker } from "../support/aedes";
import { delay, waitUntil } from "../support/net-util";

let mosquitto: MosquittoBroker | undefined;
let aedes: AedesBroker | undefined;
let serial = 0;

interface Message {
  topic: string;
  payload: string;
  qos: number;
}

function collect(client: MqttClient, into: Message[]): void {
  client.on("message", (topic: string, payload: Uint8Array, packet: { qos: number }) => {
    into.push({ topic, payload: Buffer.from(payload).toString(), qos: packet.qos });
  });
}

test("start brokers", async (t) => {
  mosquitto = await startMosquitto({ persistence: true });
  aedes = await startAedes();
  t.pass(`mosquitto :${mosquitto.port}, aedes :${aedes.port}`);
});

const targets = [
  { name: "mosquitto 3.1.1", url: () => mosquitto!.url, version: 4 as const },
  { name: "mosquitto 5.0", url: () => mosquitto!.url, version: 5 as const },
  { name: "aedes 3.1.1", url: () => aedes!.url, version: 4 as const },
];

for (const target of targets) {
  test(`${target.name}: a persistent subscriber receives the QoS 1/2 messages published while it was away`, async (t) => {
    serial += 1;
    const id = `persist-${serial}`;
    const topic = `persist/${serial}`;
    const subOptions: IClientOptions = { protocolVersion: target.version, clientId: id, clean: false, reconnectPeriod: 0 };
    if (target.version === 5) subOptions.properties = { sessionExpiryInterval: 300 };
    let sub = await connectAsync(target.url(), subOptions);
    await sub.subscribeAsync(`${topic}/#`, { qos: 2 });
    await sub.endAsync();
    const pub = await connectAsync(target.url(), { protocolVersion: target.version, clientId: `${id}-pub`, reconnectPeriod: 0 });
    for (let i = 0; i < 5; i++) await pub.publishAsync(`${topic}/q1`, `one-${i}`, { qos: 1 });
    for (let i = 0; i < 5; i++) await pub.publishAsync(`${topic}/q2`, `two-${i}`, { qos: 2 });
    await pub.endAsync();
    const received: Message[] = [];
    let sessionPresent: unknown;
    sub = connect(target.url(), { ...subOptions, manualConnect: true });
    sub.on("connect", (connack: { sessionPresent: boolean }) => (sessionPresent = connack.sessionPresent));
    collect(sub, received);
    sub.connect();
    await waitUntil(() => received.length >= 10, 5000, "ten queued messages", () => JSON.stringify(received));
    await delay(100);
    t.equal(sessionPresent, true, "the broker kept the session");
    t.deepEqual(
      received.map((m) => m.payload).sort(),
      ["one-0", "one-1", "one-2", "one-3", "one-4", "two-0", "two-1", "two-2", "two-3", "two-4"],
      "all ten, once each",
    );
    t.deepEqual(received.filter((m) => m.topic.endsWith("q2")).map((m) => m.qos), [2, 2, 2, 2, 2], "QoS 2 kept");
    await sub.endAsync();
  });
}

test("mosquitto restart: both clients reconnect with backoff; messages published while it was down all arrive", async (t) => {
  const broker = mosquitto!;
  const options: IClientOptions = { clean: false, reconnectPeriod: 100, backoffMax: 400, keepalive: 5 };
  const sub = await connectAsync(broker.url, { ...options, clientId: "restart-sub" });
  const pub = await connectAsync(broker.url, { ...options, clientId: "restart-pub" });
  const received: Message[] = [];
  collect(sub, received);
  await sub.subscribeAsync("restart/#", { qos: 2 });
  const events: string[] = [];
  pub.on("offline", () => events.push("offline"));
  pub.on("reconnect", () => events.push("reconnect"));
  pub.on("connect", () => events.push("connect"));
  await broker.stop();
  await waitUntil(() => !pub.connected && !sub.connected, 5000, "both clients see the broker go");
  const acks: Array<Error | null | undefined> = [];
  for (let i = 0; i < 10; i++) pub.publish("restart/q1", `a-${i}`, { qos: 1 }, (e) => acks.push(e));
  for (let i = 0; i < 10; i++) pub.publish("restart/q2", `b-${i}`, { qos: 2 }, (e) => acks.push(e));
  t.equal(pub.client.outbox.counters.queued, 20, "twenty messages wait in the outbox");
  await delay(300);
  await broker.start();
  await waitUntil(() => acks.length >= 20, 10000, "all publishes acknowledged", () => broker.log());
  await waitUntil(() => new Set(received.map((m) => m.payload)).size >= 20, 10000, "all messages delivered", () => JSON.stringify(received));
  await delay(200);
  t.ok(acks.every((e) => !e), "every publish callback succeeded");
  const q2 = received.filter((m) => m.topic === "restart/q2").map((m) => m.payload);
  t.deepEqual(q2, Array.from({ length: 10 }, (_, i) => `b-${i}`), "QoS 2: exactly once, in order");
  const q1 = new Set(received.filter((m) => m.topic === "restart/q1").map((m) => m.payload));
  t.equal(q1.size, 10, "QoS 1: every message at least once");
  t.ok(events.indexOf("offline") >= 0 && events.indexOf("reconnect") > events.indexOf("offline"), `events ${events.join(",")}`);
  t.equal(events[events.length - 1], "connect");
  await pub.endAsync();
  await sub.endAsync();
});

test("stop brokers", async (t) => {
  await mosquitto?.dispose();
  await aedes?.stop();
  t.pass("stopped");
});
