/**
 * Basic publish/subscribe scenarios, for every broker target and host:
 * QoS 0/1/2 round trips, `+` and `#` wildcards, retained messages, and the
 * Last Will (published when the socket dies abruptly, not on a clean end).
 */
import type { Test } from "tape";
import { startFaultProxy } from "../../support/fault-proxy";
import { collect, delay, open, waitUntil } from "../support/harness";
import type { ScenarioContext } from "../support/harness";

/** A connected client of the scenario's host and broker with a fresh id. */
function client(ctx: ScenarioContext, options: Record<string, unknown> = {}, url = ctx.broker.url()) {
  return open(ctx.host, url, { protocolVersion: ctx.broker.version, clientId: ctx.unique("it"), reconnectPeriod: 0, ...options });
}

/**
 * QoS 0, 1 and 2 round trips: each publish completes after its
 * acknowledgement (QoS 1 PUBACK, QoS 2 PUBCOMP) and each message arrives
 * once with its QoS (subscription QoS 2).
 */
export async function roundTrips(t: Test, ctx: ScenarioContext): Promise<void> {
  const sub = await client(ctx);
  const pub = await client(ctx);
  const received = collect(sub);
  const base = ctx.unique("rt");
  const granted = await sub.subscribeAsync(`${base}/#`, { qos: 2 });
  t.deepEqual(granted.map((g) => g.qos), [2], "granted QoS 2");
  const acks: Array<string | undefined> = [];
  for (const qos of [0, 1, 2] as const) {
    const ack = await pub.publishAsync(`${base}/q${qos}`, `payload ${qos}`, { qos });
    acks.push(ack?.cmd as string | undefined);
  }
  t.deepEqual(acks, [undefined, "puback", "pubcomp"], "QoS 0 completes when written, QoS 1 on PUBACK, QoS 2 on PUBCOMP");
  await waitUntil(() => received.length >= 3, 5000, "three messages", () => JSON.stringify(received));
  await delay(50);
  t.deepEqual(
    received.map((r) => [r.topic, r.payload, r.qos, r.retain]),
    [0, 1, 2].map((qos) => [`${base}/q${qos}`, `payload ${qos}`, qos, false]),
    "each delivered once, in order, with its QoS",
  );
  // A binary payload with every byte value survives the trip unchanged.
  const bytes = new Uint8Array(256).map((_, i) => i);
  const binary: Uint8Array[] = [];
  sub.on("message", (topic: string, payload: Uint8Array) => {
    if (topic === `${base}/bin`) binary.push(new Uint8Array(payload));
  });
  await pub.publishAsync(`${base}/bin`, bytes, { qos: 1 });
  await waitUntil(() => binary.length >= 1, 5000, "binary message");
  t.deepEqual(Array.from(binary[0]!), Array.from(bytes), "256-byte binary payload intact");
  await pub.endAsync();
  await sub.endAsync();
}

/**
 * `+` matches exactly one level, `#` the parent and every level below it
 * [MQTT-4.7.1-2]; messages are delivered with min(publish QoS, granted
 * QoS) [MQTT-3.8.4-6] (aedes 1.x keeps the published QoS: its behaviour,
 * seen with MQTT.js too).
 */
export async function wildcards(t: Test, ctx: ScenarioContext): Promise<void> {
  const sub = await client(ctx);
  const pub = await client(ctx);
  const received = collect(sub);
  const base = ctx.unique("wc");
  await sub.subscribeAsync({ [`${base}/+/temp`]: { qos: 1 }, [`${base}/tree/#`]: { qos: 2 } });
  const sends: Array<[string, string, 0 | 1 | 2]> = [
    [`${base}/kitchen/temp`, "21", 2],
    [`${base}/kitchen/humidity`, "40", 1],
    [`${base}/hall/temp`, "19", 1],
    [`${base}/hall/sub/temp`, "no", 1],
    [`${base}/tree`, "parent", 1],
    [`${base}/tree/a`, "a", 1],
    [`${base}/tree/a/b/c`, "abc", 2],
    [`${base}/treeish`, "no", 1],
  ];
  for (const [topic, payload, qos] of sends) await pub.publishAsync(topic, payload, { qos });
  await waitUntil(() => received.length >= 5, 5000, "five matching messages", () => JSON.stringify(received));
  await delay(150);
  const downgraded = ctx.broker.kind === "mosquitto" ? 1 : 2;
  t.deepEqual(
    received.map((r) => [r.topic, r.payload, r.qos]),
    [
      [`${base}/kitchen/temp`, "21", downgraded],
      [`${base}/hall/temp`, "19", 1],
      [`${base}/tree`, "parent", 1],
      [`${base}/tree/a`, "a", 1],
      [`${base}/tree/a/b/c`, "abc", 2],
    ],
    "only matching topics: + one level, # the parent and all below",
  );
  await pub.endAsync();
  await sub.endAsync();
}

/** A retained message is delivered to a new subscriber with RETAIN set, and an empty retained payload clears it. */
export async function retained(t: Test, ctx: ScenarioContext): Promise<void> {
  const pub = await client(ctx);
  const topic = ctx.unique("ret");
  await pub.publishAsync(topic, "kept", { qos: 1, retain: true });
  const sub1 = await client(ctx);
  const first = collect(sub1);
  await sub1.subscribeAsync(topic, { qos: 1 });
  await waitUntil(() => first.length >= 1, 5000, "retained message");
  t.deepEqual([first[0]!.topic, first[0]!.payload, first[0]!.qos, first[0]!.retain], [topic, "kept", 1, true], "retained message with RETAIN set");
  await pub.publishAsync(topic, "live", { qos: 1, retain: true });
  await waitUntil(() => first.length >= 2, 5000, "live message");
  t.equal(first[1]!.retain, false, "a retained publish to an existing subscriber arrives without RETAIN [MQTT-3.3.1-9]");
  await pub.publishAsync(topic, "", { qos: 1, retain: true });
  const sub2 = await client(ctx);
  const second = collect(sub2);
  await sub2.subscribeAsync(topic, { qos: 1 });
  await delay(200);
  t.deepEqual(second, [], "nothing retained after the empty payload [MQTT-3.3.1-10]");
  await Promise.all([pub.endAsync(), sub1.endAsync(), sub2.endAsync()]);
}

/**
 * Last Will: a client whose connection dies abruptly (the fault proxy
 * resets both sides) has its Will published; one that ends cleanly
 * (DISCONNECT) does not.
 */
export async function lastWill(t: Test, ctx: ScenarioContext): Promise<void> {
  const proxy = await startFaultProxy({ targetPort: ctx.broker.port() });
  try {
    const watcher = await client(ctx);
    const received = collect(watcher);
    const willTopic = ctx.unique("will");
    await watcher.subscribeAsync(`${willTopic}/#`, { qos: 1 });
    const clean = await client(ctx, { will: { topic: `${willTopic}/clean`, payload: "gone", qos: 1 } }, proxy.url);
    await clean.endAsync();
    const abrupt = await client(ctx, { will: { topic: `${willTopic}/abrupt`, payload: "offline", qos: 1, retain: false } }, proxy.url);
    proxy.dropAll("rst");
    await waitUntil(() => received.length >= 1, 5000, "will message");
    await delay(300);
    t.deepEqual(
      received.map((r) => [r.topic, r.payload, r.qos]),
      [[`${willTopic}/abrupt`, "offline", 1]],
      "the Will of the dropped client only, not of the one that ended cleanly",
    );
    abrupt.end(true);
    await watcher.endAsync();
  } finally {
    await proxy.close();
  }
}
