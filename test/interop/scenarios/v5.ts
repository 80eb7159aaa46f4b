/**
 * MQTT 5.0 scenarios against Mosquitto (aedes 1.x speaks 3.1.1 only):
 * message expiry, client-assigned topic aliases, user properties,
 * request/response, shared subscriptions, subscription identifiers, SUBACK
 * failure reason codes, and the server's Receive Maximum.
 */
import type { Test } from "tape";
import { startFaultProxy } from "../../support/fault-proxy";
import type { MosquittoBroker } from "../../support/mosquitto";
import { startWireTap } from "../support/wire-tap";
import type { TapFrame } from "../support/wire-tap";
import { collect, countBy, delay, open, publishOutcome, subscribeOutcome, text, waitUntil } from "../support/harness";
import type { IClientOptions, ReportedError, ScenarioContext } from "../support/harness";
import { persistentOptions } from "./sessions";
import { ErrorCode } from "../../../modules/mqtt/errors";

function v5(ctx: ScenarioContext, options: IClientOptions = {}, url = ctx.broker.url()) {
  return open(ctx.host, url, { protocolVersion: 5, clientId: ctx.unique("v5"), reconnectPeriod: 0, ...options });
}

/**
 * Message Expiry Interval (MQTT 5.0 §3.3.2.3.3): a retained message and a
 * message queued for an offline subscriber, both with a 1 s expiry, are
 * gone after 2.5 s, while their twins without (or with a long) expiry are
 * delivered, the long one with its remaining interval.
 */
export async function messageExpiry(t: Test, ctx: ScenarioContext): Promise<void> {
  const base = ctx.unique("exp");
  const id = `${base}-offline`;
  const offline = await open(ctx.host, ctx.broker.url(), { ...persistentOptions(5, id), reconnectPeriod: 0 });
  await offline.subscribeAsync(`${base}/queued/#`, { qos: 1 });
  await offline.endAsync();
  const live = await v5(ctx);
  const liveReceived = collect(live);
  await live.subscribeAsync(`${base}/queued/#`, { qos: 1 });
  const tap = await startWireTap({ targetPort: ctx.broker.port() });
  const pub = await v5(ctx, {}, tap.url);
  // The interval on the wire is the one the caller gave: a message sent at
  // once has waited no whole second [MQTT-3.3.2-6]. Forty intervals, so a
  // rounding error that depends on the clock's fraction shows up.
  for (let i = 1; i <= 40; i++) await pub.publishAsync(`${base}/unheard`, `e${i}`, { qos: 1, properties: { messageExpiryInterval: i } });
  const onWire = tap.select("publish", "up").map((f) => f.packet!.properties?.messageExpiryInterval);
  t.deepEqual(
    onWire.map((v, i) => (v === i + 1 ? "ok" : `e${i + 1}: ${v}`)).filter((v) => v !== "ok"),
    [],
    "each PUBLISH carries the Message Expiry Interval it was given (40 messages, 1..40 s)",
  );
  await pub.publishAsync(`${base}/retained/short`, "short", { qos: 1, retain: true, properties: { messageExpiryInterval: 1 } });
  await pub.publishAsync(`${base}/retained/forever`, "forever", { qos: 1, retain: true });
  await pub.publishAsync(`${base}/queued/short`, "short", { qos: 1, properties: { messageExpiryInterval: 1 } });
  await pub.publishAsync(`${base}/queued/long`, "long", { qos: 1, properties: { messageExpiryInterval: 600 } });
  await waitUntil(() => liveReceived.length >= 2, 5000, "live deliveries");
  t.deepEqual(
    liveReceived.map((m) => [m.payload, m.properties?.messageExpiryInterval]),
    [
      ["short", 1],
      ["long", 600],
    ],
    "a live subscriber gets the expiry interval with the message",
  );
  await delay(2500);
  const late = await v5(ctx);
  const lateReceived = collect(late);
  await late.subscribeAsync(`${base}/retained/#`, { qos: 1 });
  const back = ctx.host.connect(ctx.broker.url(), { ...persistentOptions(5, id), reconnectPeriod: 0 });
  const backReceived = collect(back);
  await waitUntil(() => lateReceived.length >= 1 && backReceived.length >= 1, 5000, "deliveries after the expiry");
  await delay(200);
  t.deepEqual(lateReceived.map((m) => [m.topic, m.payload]), [[`${base}/retained/forever`, "forever"]], "the expired retained message is gone");
  t.deepEqual(backReceived.map((m) => m.payload), ["long"], "the expired queued message is gone");
  const remaining = backReceived[0]!.properties?.messageExpiryInterval as number;
  t.ok(remaining >= 590 && remaining < 600, `the queued message carries its remaining interval (${remaining} s) [MQTT-3.3.2-6]`);
  await pub.publishAsync(`${base}/retained/forever`, "", { qos: 1, retain: true });
  await Promise.all([live.endAsync(), pub.endAsync(), late.endAsync(), back.endAsync()]);
  await tap.close();
}

/**
 * Message expiry in the client's own outbox: QoS 1 messages published
 * while the broker is unreachable (the tap refuses connections) wait in the
 * outbox; one whose 1 s interval runs out before the reconnect is never
 * sent and its publish callback fails with `MessageExpired`; its twin with
 * a long interval is sent with the interval reduced by the time it waited
 * [MQTT-3.3.2-6] and completes.
 */
export async function outboxExpiry(t: Test, ctx: ScenarioContext): Promise<void> {
  const tap = await startWireTap({ targetPort: ctx.broker.port() });
  try {
    const topic = ctx.unique("oexp");
    const pub = await v5(ctx, { reconnectPeriod: 50, backoffMax: 100 }, tap.url);
    tap.refuse(true);
    await waitUntil(() => !pub.connected, 5000, "offline");
    const outcomes = new Map<string, { error: ReportedError | undefined }>();
    for (const [name, interval] of [
      ["short", 1],
      ["long", 100],
    ] as const) {
      void publishOutcome(pub, `${topic}/${name}`, name, { qos: 1, properties: { messageExpiryInterval: interval } }).then((o) =>
        outcomes.set(name, o),
      );
    }
    await delay(2300);
    tap.refuse(false);
    await waitUntil(() => outcomes.has("long") && pub.connected, 5000, "the long one acknowledged");
    await delay(500);
    const sent = tap.select("publish", "up").map((f) => [f.packet!.topic, f.packet!.properties?.messageExpiryInterval]);
    t.deepEqual(sent.map((s) => s[0]), [`${topic}/long`], "only the unexpired message was sent");
    const left = sent[0]?.[1] as number;
    t.ok(left >= 95 && left <= 98, `with its remaining interval (${left} s of 100 after ~2.3 s offline) [MQTT-3.3.2-6]`);
    t.equal(outcomes.get("long")?.error, undefined, "its publish completed");
    t.equal(
      outcomes.get("short")?.error?.code,
      ErrorCode.MessageExpired,
      `the expired message's publish callback fails with MessageExpired (got ${outcomes.has("short") ? JSON.stringify(outcomes.get("short")?.error?.message) : "no callback at all"})`,
    );
    await pub.endAsync();
  } finally {
    await tap.close();
  }
}

/**
 * Topic aliases assigned by the client (MQTT 5.0 §3.3.2.3.4): Mosquitto's
 * CONNACK allows 10; the first PUBLISH on a topic carries the topic and an
 * alias, later ones an empty topic and the alias. On the wire (fault proxy
 * byte counters) a repeat publish is exactly the topic's length shorter;
 * the broker accepts it and the subscriber gets the full topic every time.
 *
 * Path: client -> fault proxy (bytes) -> wire tap (packets) -> Mosquitto.
 */
export async function topicAliases(t: Test, ctx: ScenarioContext): Promise<void> {
  const tap = await startWireTap({ targetPort: ctx.broker.port() });
  const proxy = await startFaultProxy({ targetPort: tap.port });
  try {
    const base = ctx.unique("alias");
    const topics = [`${base}/a-rather-long-topic-name/that/is/worth/an/alias`, `${base}/another/long/topic/for/the/second/alias`];
    const sub = await v5(ctx);
    const received = collect(sub);
    await sub.subscribeAsync(`${base}/#`, { qos: 1 });
    let connack: Record<string, any> | undefined;
    const pub = ctx.host.connect(proxy.url, { protocolVersion: 5, clientId: ctx.unique("alias"), reconnectPeriod: 0 });
    pub.on("connect", (packet: Record<string, any>) => (connack = packet));
    await waitUntil(() => connack !== undefined, 5000, "CONNACK");
    t.ok((connack!.properties?.topicAliasMaximum ?? 0) > 0, `the broker allows ${connack!.properties?.topicAliasMaximum} aliases`);
    const sizes: number[] = [];
    for (let i = 0; i < 6; i++) {
      const before = proxy.bytes.up;
      await pub.publishAsync(topics[i % 2]!, `m${i}`, { qos: 1 });
      sizes.push(proxy.bytes.up - before);
    }
    await waitUntil(() => received.length >= 6, 5000, "six deliveries", () => JSON.stringify(received));
    const publishes = tap.select("publish", "up").filter((f) => f.packet!.topic !== undefined && f.packet!.payload !== undefined);
    const mine = publishes.filter((f) => f.link === publishes[publishes.length - 1]!.link);
    t.deepEqual(
      mine.map((f) => [f.packet!.topic, f.packet!.properties?.topicAlias]),
      [
        [topics[0], 1],
        [topics[1], 2],
        ["", 1],
        ["", 2],
        ["", 1],
        ["", 2],
      ],
      "first use: topic + alias; then an empty topic + the alias",
    );
    const topicBytes = topics.map((s) => Buffer.byteLength(s));
    t.deepEqual(
      [sizes[0]! - sizes[2]!, sizes[1]! - sizes[3]!],
      topicBytes,
      `bytes on the wire per publish ${sizes.join(", ")}: a repeat is shorter by exactly the topic (${topicBytes.join(", ")} bytes)`,
    );
    t.deepEqual(
      received.map((m) => [m.topic, m.payload]),
      [0, 1, 2, 3, 4, 5].map((i) => [topics[i % 2], `m${i}`]),
      "the broker resolved every alias: delivered with the full topic",
    );
    t.deepEqual(tap.select("disconnect", "down"), [], "the broker never objected (no DISCONNECT)");
    await pub.endAsync();
    await sub.endAsync();
  } finally {
    await proxy.close();
    await tap.close();
  }
}

/** User properties (MQTT 5.0 §3.3.2.3.7) travel with the message, order and repeats kept. */
export async function userProperties(t: Test, ctx: ScenarioContext): Promise<void> {
  const topic = ctx.unique("up");
  const sub = await v5(ctx);
  const received = collect(sub);
  await sub.subscribeAsync(topic, { qos: 1 });
  const pub = await v5(ctx);
  const sent = { region: "eu", unit: ["celsius", "kelvin"], "ключ": "значение ✓" };
  await pub.publishAsync(topic, "21.5", { qos: 1, properties: { userProperties: sent, contentType: "text/plain", payloadFormatIndicator: 1 } });
  await waitUntil(() => received.length >= 1, 5000, "message");
  const p = received[0]!.properties ?? {};
  t.deepEqual(p.userProperties, sent, "user properties intact (repeated names, UTF-8)");
  t.equal(p.contentType, "text/plain", "content type");
  t.equal(p.payloadFormatIndicator, 1, "payload format indicator");
  await pub.endAsync();
  await sub.endAsync();
}

/**
 * Request/response (MQTT 5.0 §4.10): the requester publishes with a
 * Response Topic and Correlation Data; the responder answers on that topic
 * with the same correlation data; the requester matches each answer.
 */
export async function requestResponse(t: Test, ctx: ScenarioContext): Promise<void> {
  const base = ctx.unique("rr");
  const responder = await v5(ctx);
  responder.on("message", (_topic: string, payload: unknown, packet: Record<string, any>) => {
    const props = packet.properties ?? {};
    if (typeof props.responseTopic !== "string") return;
    responder.publish(props.responseTopic, `echo:${text(payload)}`, { qos: 1, properties: { correlationData: props.correlationData } });
  });
  await responder.subscribeAsync(`${base}/request`, { qos: 1 });
  const requester = await v5(ctx);
  const answers = collect(requester);
  const responseTopic = `${base}/response/${ctx.unique("r")}`;
  await requester.subscribeAsync(responseTopic, { qos: 1 });
  const ids = [new Uint8Array([0, 1, 2, 0xff]), new Uint8Array([0xde, 0xad, 0xbe, 0xef, 0])];
  for (let i = 0; i < ids.length; i++) {
    await requester.publishAsync(`${base}/request`, `q${i}`, { qos: 1, properties: { responseTopic, correlationData: ids[i] } });
  }
  await waitUntil(() => answers.length >= 2, 5000, "two responses");
  t.deepEqual(
    answers.map((a) => [a.topic, a.payload, Array.from(a.properties?.correlationData as Uint8Array)]),
    [
      [responseTopic, "echo:q0", [0, 1, 2, 0xff]],
      [responseTopic, "echo:q1", [0xde, 0xad, 0xbe, 0xef, 0]],
    ],
    "each response on the response topic with the request's correlation data (binary intact)",
  );
  await requester.endAsync();
  await responder.endAsync();
}

/** Shared subscriptions (MQTT 5.0 §4.8.2): two members of `$share/g/...`; each message goes to exactly one of them. */
export async function sharedSubscriptions(t: Test, ctx: ScenarioContext): Promise<void> {
  const topic = ctx.unique("shared");
  const a = await v5(ctx);
  const b = await v5(ctx);
  const ra = collect(a);
  const rb = collect(b);
  const ga = await a.subscribeAsync(`$share/g/${topic}/#`, { qos: 1 });
  const gb = await b.subscribeAsync(`$share/g/${topic}/#`, { qos: 1 });
  t.deepEqual([ga[0]!.qos, gb[0]!.qos], [1, 1], "both members granted");
  const pub = await v5(ctx);
  const n = 20;
  for (let i = 0; i < n; i++) await pub.publishAsync(`${topic}/x`, `m${i}`, { qos: 1 });
  await waitUntil(() => ra.length + rb.length >= n, 5000, "all messages", () => JSON.stringify({ ra, rb }));
  await delay(200);
  const all = countBy([...ra, ...rb]);
  t.equal(all.size, n, "every message delivered");
  t.deepEqual([...all.values()].filter((c) => c !== 1), [], "each to exactly one member, once");
  t.ok(ra.length > 0 && rb.length > 0, `both members got a share (${ra.length} + ${rb.length})`);
  await Promise.all([a.endAsync(), b.endAsync(), pub.endAsync()]);
}

/**
 * Subscription identifiers (MQTT 5.0 §3.8.2.1.2): each subscription's id
 * comes back with the messages it matched; a message matching two
 * subscriptions carries both ids (in one copy or one per copy).
 */
export async function subscriptionIdentifiers(t: Test, ctx: ScenarioContext): Promise<void> {
  const base = ctx.unique("sid");
  const sub = await v5(ctx);
  const received = collect(sub);
  await sub.subscribeAsync(`${base}/a/#`, { qos: 1, properties: { subscriptionIdentifier: 7 } });
  await sub.subscribeAsync(`${base}/+/x`, { qos: 1, properties: { subscriptionIdentifier: 300000 } });
  const pub = await v5(ctx);
  await pub.publishAsync(`${base}/a/y`, "only-7", { qos: 1 });
  await pub.publishAsync(`${base}/b/x`, "only-300000", { qos: 1 });
  await pub.publishAsync(`${base}/a/x`, "both", { qos: 1 });
  await waitUntil(() => received.filter((m) => m.payload === "both").length >= 1 && received.length >= 3, 5000, "deliveries");
  await delay(200);
  const ids = (payload: string): number[] =>
    received
      .filter((m) => m.payload === payload)
      .flatMap((m) => {
        const id = m.properties?.subscriptionIdentifier;
        return id === undefined ? [] : Array.isArray(id) ? id : [id];
      })
      .sort((x, y) => x - y);
  t.deepEqual(ids("only-7"), [7], "message matching the first subscription carries id 7");
  t.deepEqual(ids("only-300000"), [300000], "a multi-byte variable byte integer id (300000) comes back intact");
  t.deepEqual(ids("both"), [7, 300000], "a message matching both carries both ids");
  await pub.endAsync();
  await sub.endAsync();
}

/**
 * SUBACK failure reason codes: Mosquitto with its dynamic-security plugin
 * refuses a SUBSCRIBE to a denied filter with 0x87 Not authorized (v5) or
 * 0x80 Failure (3.1.1), per filter, granting the others in the same
 * SUBSCRIBE; the client reports `SubscribeFailed` with that code and
 * forgets the filter. A v5 QoS 1 publish to a denied topic is answered with
 * PUBACK 0x87, reported to the publish callback; nothing is delivered.
 * Denied by the role: subscribe `denied/#`, publish `nopub/#`.
 */
export async function subackFailures(t: Test, ctx: ScenarioContext, broker: MosquittoBroker): Promise<void> {
  const v = ctx.broker.version;
  const options = { protocolVersion: v, reconnectPeriod: 0 } as const;
  const admin = await open(ctx.host, broker.url, { ...options, clientId: ctx.unique("watch") });
  const sub = await open(ctx.host, broker.url, { ...options, clientId: ctx.unique("denied") });
  const received = collect(sub);
  const tag = ctx.unique("t");
  const outcome = await subscribeOutcome(sub, { [`denied/${tag}`]: { qos: 1 }, [`ok/${tag}`]: { qos: 1 } });
  const failure = v === 5 ? 0x87 : 0x80;
  t.deepEqual(
    outcome.granted.map((g) => [g.topic, g.qos]),
    [
      [`denied/${tag}`, failure],
      [`ok/${tag}`, 1],
    ],
    `SUBACK: 0x${failure.toString(16)} for the denied filter, QoS 1 for the other`,
  );
  t.equal(outcome.error?.code, ErrorCode.SubscribeFailed, "error code SubscribeFailed");
  t.equal(outcome.error?.reasonCode, failure, `error reasonCode 0x${failure.toString(16)}`);
  await admin.publishAsync(`denied/${tag}`, "must not arrive", { qos: 1 });
  await admin.publishAsync(`ok/${tag}`, "allowed", { qos: 1 });
  await waitUntil(() => received.length >= 1, 5000, "the allowed message");
  await delay(200);
  t.deepEqual(received.map((m) => m.payload), ["allowed"], "only the granted subscription delivers");
  const watch = collect(admin);
  await admin.subscribeAsync(`nopub/${tag}`, { qos: 1 });
  const denied = await publishOutcome(sub, `nopub/${tag}`, "denied publish", { qos: 1 });
  if (v === 5) {
    t.equal(denied.error?.reasonCode, 0x87, "v5 PUBACK 0x87 Not authorized reaches the publish callback");
  } else {
    t.equal(denied.error, undefined, "3.1.1 has no way to say no: PUBACK, and the message is dropped");
  }
  await delay(200);
  t.deepEqual(watch, [], "the denied publish was not delivered");
  t.ok(sub.connected, "the client stays connected");
  await sub.endAsync();
  await admin.endAsync();
}

/**
 * Most QoS 1/2 PUBLISH packets unacknowledged at once on one link, counted
 * on the wire: a PUBLISH (QoS > 0, a packet id counted once while open)
 * going `publishDir`, its PUBACK/PUBCOMP coming back the other way.
 */
function unackedHighWater(frames: TapFrame[], publishDir: "up" | "down"): number {
  let high = 0;
  const open = new Set<number>();
  for (const f of frames) {
    if (f.dir === publishDir && f.cmd === "publish" && (f.packet?.qos ?? 0) > 0) {
      open.add(f.packet!.messageId);
      if (open.size > high) high = open.size;
    } else if (f.dir !== publishDir && (f.cmd === "puback" || f.cmd === "pubcomp")) {
      open.delete(f.packet?.messageId);
    }
  }
  return high;
}

/**
 * The server's Receive Maximum (MQTT 5.0 §3.2.2.3.3): Mosquitto with
 * `max_inflight_messages 2` says 2 in its CONNACK. With the broker's
 * acknowledgements held back (fault proxy stalls broker->client), the
 * client sends exactly 2 of 20 QoS 1/2 messages and waits; released, it
 * never has more than 2 unacknowledged (counted on the wire), and all 20
 * arrive, QoS 2 once.
 *
 * Path: publisher -> wire tap -> fault proxy -> Mosquitto (max 2).
 */
export async function receiveMaximum(t: Test, ctx: ScenarioContext, broker: MosquittoBroker): Promise<void> {
  const proxy = await startFaultProxy({ targetPort: broker.port });
  const tap = await startWireTap({ targetPort: proxy.port });
  try {
    const topic = ctx.unique("rm");
    const sub = await open(ctx.host, broker.url, { protocolVersion: 5, clientId: ctx.unique("rm-sub"), reconnectPeriod: 0 });
    const received = collect(sub);
    await sub.subscribeAsync(`${topic}/#`, { qos: 2 });
    let connack: Record<string, any> | undefined;
    const pub = ctx.host.connect(tap.url, { protocolVersion: 5, clientId: ctx.unique("rm-pub"), reconnectPeriod: 0, maxInflight: 32 });
    pub.on("connect", (packet: Record<string, any>) => (connack = packet));
    await waitUntil(() => connack !== undefined, 5000, "CONNACK");
    t.equal(connack!.properties?.receiveMaximum, 2, "CONNACK Receive Maximum 2");
    proxy.stall("down");
    const done: Array<ReportedError | undefined> = [];
    for (let i = 0; i < 20; i++) {
      pub.publish(`${topic}/q${1 + (i % 2)}`, `m${i}`, { qos: (1 + (i % 2)) as 1 | 2 }, (e?: ReportedError | null) => done.push(e ?? undefined));
    }
    await delay(400);
    t.equal(tap.select("publish", "up").length, 2, "acknowledgements held back: exactly 2 PUBLISH sent");
    proxy.resume();
    await waitUntil(() => done.length >= 20, 10000, "all publishes completed", () => `${done.length} done`);
    await waitUntil(() => received.length >= 20, 5000, "all delivered", () => JSON.stringify(received.map((m) => m.payload)));
    await delay(200);
    t.deepEqual(done.filter((e) => e !== undefined), [], "every publish succeeded");
    t.equal(unackedHighWater(tap.frames, "up"), 2, "never more than 2 unacknowledged on the wire");
    const counts = countBy(received);
    t.equal(counts.size, 20, "all 20 delivered");
    t.deepEqual([...counts.values()].filter((c) => c !== 1), [], "each once");
    await pub.endAsync();
    await sub.endAsync();
  } finally {
    await tap.close();
    await proxy.close();
  }
}

/**
 * A burst towards a v5 subscriber at its defaults (Receive Maximum 16):
 * Mosquitto 2.0.11 does not keep to a client's Receive Maximum when it
 * forwards a burst (measured here: dozens to hundreds of QoS 1/2 PUBLISH
 * unacknowledged, see docs/interop.md). The client takes them as over 3.1.1
 * (session option `enforceReceiveMaximum` false): every message arrives,
 * QoS 2 once, the connection stays up. (Before that default, the client
 * closed with 0x93 and a clean session lost the rest: 33 of 2000 arrived.)
 *
 * Path: subscriber -> wire tap -> Mosquitto <- publisher (3.1.1, paced on
 * completions, 48 outstanding).
 */
export async function inboundBurst(t: Test, ctx: ScenarioContext): Promise<void> {
  const tap = await startWireTap({ targetPort: ctx.broker.port() });
  try {
    const topic = ctx.unique("burst");
    const sub = await open(ctx.host, tap.url, { protocolVersion: 5, clientId: ctx.unique("burst-sub"), reconnectPeriod: 0 });
    let closes = 0;
    const errors: string[] = [];
    sub.on("close", () => closes++);
    sub.on("error", (e: ReportedError) => errors.push(String(e?.message ?? e)));
    const received = collect(sub);
    await sub.subscribeAsync(`${topic}/#`, { qos: 2 });
    const pub = await open(ctx.host, ctx.broker.url(), { protocolVersion: 4, clientId: ctx.unique("burst-pub"), reconnectPeriod: 0 });
    const total = 600;
    let issued = 0;
    let done = 0;
    const failures: unknown[] = [];
    await new Promise<void>((resolve) => {
      const next = (): void => {
        while (issued < total && issued - done < 48) {
          const i = issued++;
          const qos = (i % 3 === 2 ? 2 : 1) as 1 | 2;
          pub.publish(`${topic}/q${qos}`, `m${i}`, { qos }, (e?: ReportedError | null) => {
            if (e) failures.push(e);
            done++;
            if (done === total) resolve();
            else next();
          });
        }
      };
      next();
    });
    await waitUntil(() => received.length >= total, 15000, "every message reached the subscriber", () => `${received.length} of ${total}`);
    await delay(200);
    t.deepEqual(failures, [], "every publish completed");
    const counts = countBy(received);
    t.equal(counts.size, total, `all ${total} delivered`);
    t.deepEqual([...counts.values()].filter((c) => c !== 1), [], "each once (QoS 1 duplicates would need a resend; none happened)");
    t.equal(closes, 0, "the subscriber stayed connected");
    t.deepEqual(errors, [], "no error reported");
    t.comment(`most QoS 1/2 PUBLISH unacknowledged towards the subscriber (its Receive Maximum: 16): ${unackedHighWater(tap.frames, "down")}`);
    await pub.endAsync();
    await sub.endAsync();
  } finally {
    await tap.close();
  }
}
