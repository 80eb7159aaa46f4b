/**
 * Session scenarios: a persistent subscriber that goes away and comes back
 * (every broker), and a Mosquitto restart with persistence while QoS 1/2
 * messages are in flight (the client reconnects on its own with backoff,
 * resends with DUP, and every message arrives; QoS 2 exactly once).
 */
import type { Test } from "tape";
import { startFaultProxy } from "../../support/fault-proxy";
import type { MosquittoBroker } from "../../support/mosquitto";
import { startWireTap } from "../support/wire-tap";
import { collect, countBy, delay, open, waitUntil } from "../support/harness";
import type { IClientOptions, ReportedError, ScenarioContext } from "../support/harness";

/** Options that make a session outlive the connection, per protocol version. */
export function persistentOptions(version: 4 | 5, clientId: string): IClientOptions {
  const options: IClientOptions = { protocolVersion: version, clientId, clean: false };
  if (version === 5) options.properties = { sessionExpiryInterval: 300 };
  return options;
}

/**
 * A subscriber with `clean: false` subscribes (QoS 2), goes away cleanly;
 * five QoS 1 and five QoS 2 messages are published; it comes back, the
 * CONNACK says the session was kept, and all ten arrive once each with
 * their QoS.
 */
export async function persistentSession(t: Test, ctx: ScenarioContext): Promise<void> {
  const id = ctx.unique("persist");
  const topic = id;
  const subOptions: IClientOptions = { ...persistentOptions(ctx.broker.version, id), reconnectPeriod: 0 };
  let sub = await open(ctx.host, ctx.broker.url(), subOptions);
  await sub.subscribeAsync(`${topic}/#`, { qos: 2 });
  await sub.endAsync();
  const pub = await open(ctx.host, ctx.broker.url(), { protocolVersion: ctx.broker.version, clientId: `${id}-pub`, reconnectPeriod: 0 });
  for (let i = 0; i < 5; i++) await pub.publishAsync(`${topic}/q1`, `one-${i}`, { qos: 1 });
  for (let i = 0; i < 5; i++) await pub.publishAsync(`${topic}/q2`, `two-${i}`, { qos: 2 });
  await pub.endAsync();
  let sessionPresent: unknown;
  sub = ctx.host.connect(ctx.broker.url(), subOptions);
  sub.on("connect", (connack: { sessionPresent: boolean }) => (sessionPresent = connack.sessionPresent));
  const received = collect(sub);
  await waitUntil(() => received.length >= 10, 5000, "ten queued messages", () => JSON.stringify(received));
  await delay(150);
  t.equal(sessionPresent, true, "CONNACK: the broker kept the session");
  t.deepEqual(
    received.map((m) => m.payload).sort(),
    ["one-0", "one-1", "one-2", "one-3", "one-4", "two-0", "two-1", "two-2", "two-3", "two-4"],
    "all ten, once each",
  );
  t.deepEqual(received.filter((m) => m.topic.endsWith("q2")).map((m) => m.qos), [2, 2, 2, 2, 2], "QoS 2 kept");
  await sub.endAsync();
}

/**
 * Mosquitto (persistence on) restarts while the publisher has QoS 1/2
 * messages in flight, of two kinds: ten the broker received but whose
 * acknowledgements were held back (the fault proxy stalls broker->client),
 * and ten the broker never received (client->broker stalled as well). The
 * broker stops (saving its database), both clients notice, and it starts
 * again. Both reconnect on their own with backoff (attempts counted at the
 * tap: no storm); the publisher resends all twenty with DUP set (seen on the
 * wire); every publish completes; the subscriber gets every QoS 1 message
 * at least once and every QoS 2 message exactly once.
 *
 * Path: publisher -> wire tap -> fault proxy -> Mosquitto; subscriber ->
 * Mosquitto directly.
 */
export async function brokerRestart(t: Test, ctx: ScenarioContext, broker: MosquittoBroker): Promise<void> {
  const proxy = await startFaultProxy({ targetPort: broker.port });
  const tap = await startWireTap({ targetPort: proxy.port });
  try {
    const id = ctx.unique("restart");
    const reconnect: IClientOptions = { reconnectPeriod: 100, backoffMax: 400, keepalive: 5 };
    const sub = await open(ctx.host, broker.url, { ...persistentOptions(ctx.broker.version, `${id}-sub`), ...reconnect });
    const pub = await open(ctx.host, tap.url, { ...persistentOptions(ctx.broker.version, `${id}-pub`), ...reconnect });
    const received = collect(sub);
    await sub.subscribeAsync(`${id}/#`, { qos: 2 });
    const events: string[] = [];
    for (const name of ["offline", "reconnect", "connect", "close"]) pub.on(name, () => events.push(name));
    const errors: unknown[] = [];
    const results: Array<{ payload: string; error: ReportedError | undefined }> = [];
    const send = (topic: string, payload: string, qos: 1 | 2): void => {
      pub.publish(`${id}/${topic}`, payload, { qos }, (error?: ReportedError | null) => {
        if (error) errors.push(error);
        results.push({ payload, error: error ?? undefined });
      });
    };
    // Received by the broker, acknowledgements held back.
    proxy.stall("down");
    for (let i = 0; i < 5; i++) send("q1", `acked-late-1-${i}`, 1);
    for (let i = 0; i < 5; i++) send("q2", `acked-late-2-${i}`, 2);
    await waitUntil(() => received.filter((m) => m.qos === 1).length >= 5, 5000, "the broker delivered the first QoS 1 messages");
    // Never received by the broker.
    proxy.stall("up");
    for (let i = 0; i < 5; i++) send("q1", `unsent-1-${i}`, 1);
    for (let i = 0; i < 5; i++) send("q2", `unsent-2-${i}`, 2);
    await waitUntil(() => tap.select("publish", "up").length >= 20, 5000, "twenty PUBLISH packets left the client");
    t.equal(results.length, 0, "no publish completed yet");
    const firstSend = new Map<number, boolean>();
    for (const f of tap.select("publish", "up")) firstSend.set(f.packet!.messageId, f.packet!.dup === true);
    t.equal(firstSend.size, 20, "twenty packet ids in flight");
    t.ok([...firstSend.values()].every((dup) => !dup), "first transmissions without DUP");

    await broker.stop();
    // Drop the links with what the proxy holds (the late acknowledgements
    // must never reach the client), then let new connections through.
    proxy.dropAll("rst");
    proxy.resume();
    await waitUntil(() => !pub.connected && !sub.connected, 5000, "both clients see the broker go");
    const attemptsBefore = tap.accepted;
    const downFor = 1500;
    await delay(downFor);
    const attemptsWhileDown = tap.accepted - attemptsBefore;
    await broker.start();
    await waitUntil(() => results.length >= 20, 15000, "all publishes completed", () => JSON.stringify({ results, events, log: broker.log().slice(-2000) }));
    await waitUntil(
      () => new Set(received.map((m) => m.payload)).size >= 20,
      10000,
      "all messages delivered",
      () => JSON.stringify(received.map((m) => m.payload)),
    );
    await delay(300);

    t.ok(
      attemptsWhileDown >= 2 && attemptsWhileDown <= 20,
      `reconnect attempts while down for ${downFor} ms (backoff 100..400 ms, full jitter): ${attemptsWhileDown}`,
    );
    t.deepEqual(errors, [], "every publish completed without error");
    const resent = tap.frames.filter((f) => f.cmd === "publish" && f.dir === "up" && f.link > 0);
    const resentIds = new Set(resent.map((f) => f.packet!.messageId));
    t.deepEqual([...resentIds].sort((a, b) => a - b), [...firstSend.keys()].sort((a, b) => a - b), "every in-flight PUBLISH sent again after the reconnect");
    t.ok(resent.every((f) => f.packet!.dup === true), "with DUP set [MQTT-3.3.1-1]");
    const counts = countBy(received);
    const q2 = [...counts].filter(([p]) => p.includes("-2-"));
    const q1 = [...counts].filter(([p]) => p.includes("-1-"));
    t.equal(q2.length, 10, "all ten QoS 2 messages arrived");
    t.deepEqual(q2.filter(([, n]) => n !== 1), [], "each QoS 2 message exactly once");
    t.equal(q1.length, 10, "all ten QoS 1 messages arrived (duplicates allowed)");
    t.ok(events.indexOf("offline") >= 0 && events.indexOf("reconnect") > events.indexOf("offline"), `publisher events: ${events.join(",")}`);
    t.equal(events[events.length - 1], "connect", "publisher connected again");
    await pub.endAsync();
    await sub.endAsync();
  } finally {
    await tap.close();
    await proxy.close();
  }
}
