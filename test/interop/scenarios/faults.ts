/**
 * Transport fault scenarios through the fault proxy and the wire tap:
 * one-byte-at-a-time delivery, a stall detected by keepalive and
 * recovered, and a bounded outbox while the broker is unreachable.
 * (Cut-after-N-bytes sweeps are in `sweep.ts`.)
 */
import type { Test } from "tape";
import { startFaultProxy } from "../../support/fault-proxy";
import { startWireTap } from "../support/wire-tap";
import { ErrorCode } from "../../../modules/mqtt/errors";
import { collect, countBy, delay, open, outboxCounters, publishOutcome, waitUntil } from "../support/harness";
import type { ReportedError, ScenarioContext } from "../support/harness";

/**
 * Every byte in both directions is forwarded on its own (1 ms apart, Nagle
 * off), so the client's decoder gets every packet split at every byte:
 * CONNACK, SUBACK, PUBLISH (QoS 0/1/2, a 200-byte payload), the
 * acknowledgements. Everything arrives intact.
 */
export async function oneByteAtATime(t: Test, ctx: ScenarioContext): Promise<void> {
  const proxy = await startFaultProxy({ targetPort: ctx.broker.port() });
  try {
    proxy.oneByteAtATime(1);
    const client = await open(ctx.host, proxy.url, { protocolVersion: ctx.broker.version, clientId: ctx.unique("byte"), reconnectPeriod: 0 });
    const received = collect(client);
    const topic = ctx.unique("byte");
    await client.subscribeAsync(topic, { qos: 2 });
    const payload = "0123456789abcdefghijklmnopqrstuvwxyz".repeat(6).slice(0, 200);
    for (const qos of [0, 1, 2] as const) await client.publishAsync(topic, `${qos}:${payload}`, { qos });
    await waitUntil(() => received.length >= 3, 15000, "three messages back");
    t.deepEqual(
      received.map((m) => [m.qos, m.payload]),
      [0, 1, 2].map((qos) => [qos, `${qos}:${payload}`]),
      "QoS 0, 1 and 2 messages intact, each once",
    );
    t.ok(proxy.bytes.down > 600 && proxy.bytes.up > 600, `${proxy.bytes.up} bytes up and ${proxy.bytes.down} down, one at a time`);
    proxy.oneByteAtATime(false);
    await client.endAsync();
  } finally {
    await proxy.close();
  }
}

/**
 * The network stalls (the proxy stops forwarding both ways, nothing is
 * closed). With a 2 s keepalive and a 300 ms ping timeout the client
 * notices after about 2.3 s (error `PingTimeout`), before the broker's own
 * keepalive limit (1.5 x 2 s) would close the connection, drops it and
 * reconnects once the network flows again; a QoS 1 message published
 * during the stall is delivered (at least once) after the recovery.
 */
export async function stallDetected(t: Test, ctx: ScenarioContext): Promise<void> {
  const proxy = await startFaultProxy({ targetPort: ctx.broker.port() });
  try {
    const topic = ctx.unique("stall");
    const sub = await open(ctx.host, ctx.broker.url(), { protocolVersion: ctx.broker.version, clientId: ctx.unique("stall-sub"), reconnectPeriod: 0 });
    const received = collect(sub);
    await sub.subscribeAsync(topic, { qos: 1 });
    const client = await open(ctx.host, proxy.url, {
      protocolVersion: ctx.broker.version,
      clientId: ctx.unique("stall"),
      keepalive: 2,
      pingTimeout: 300,
      reconnectPeriod: 50,
      backoffMax: 100,
    });
    const errors: ReportedError[] = [];
    client.on("error", (e: ReportedError) => errors.push(e));
    let reconnected = false;
    client.on("connect", () => (reconnected = true));
    proxy.stall("both");
    const stalledAt = performance.now();
    let done: { error: ReportedError | undefined } | undefined;
    void publishOutcome(client, topic, "sent during the stall", { qos: 1 }).then((outcome) => (done = outcome));
    await waitUntil(() => errors.length >= 1, 5000, "the stall detected");
    const detectedAfter = performance.now() - stalledAt;
    t.equal(errors[0]!.code, ErrorCode.PingTimeout, `error PingTimeout: "${errors[0]!.message}"`);
    t.ok(detectedAfter >= 1900 && detectedAfter <= 2900, `detected after ${Math.round(detectedAfter)} ms (keepalive 2 s + ping timeout 0.3 s)`);
    proxy.resume("both");
    await waitUntil(() => reconnected && client.connected, 5000, "reconnected");
    await waitUntil(() => done !== undefined && received.length >= 1, 5000, "the message published during the stall");
    t.equal(done!.error, undefined, "its publish completed after the recovery");
    // At least once: the bytes the proxy held may still reach the broker on
    // the old connection after the resume, besides the DUP resend.
    t.deepEqual([...new Set(received.map((m) => m.payload))], ["sent during the stall"], `and it was delivered (${received.length}x, QoS 1)`);
    await client.endAsync();
    await sub.endAsync();
  } finally {
    await proxy.close();
  }
}

/**
 * The broker becomes unreachable (the tap resets every connection). With a
 * 2048-byte outbox, QoS 1 and 2 publishes are accepted until it is full;
 * every further one fails at once with `OutboxFull` (nothing grows). Back
 * online, exactly the accepted messages go out (counted on the wire) and
 * are delivered, and the outbox takes new messages again.
 */
export async function outboxBounded(t: Test, ctx: ScenarioContext): Promise<void> {
  const tap = await startWireTap({ targetPort: ctx.broker.port() });
  try {
    const topic = ctx.unique("full");
    const sub = await open(ctx.host, ctx.broker.url(), { protocolVersion: ctx.broker.version, clientId: ctx.unique("full-sub"), reconnectPeriod: 0 });
    const received = collect(sub);
    await sub.subscribeAsync(`${topic}/#`, { qos: 2 });
    const capacity = 2048;
    const client = await open(ctx.host, tap.url, {
      protocolVersion: ctx.broker.version,
      clientId: ctx.unique("full"),
      outboxBytes: capacity,
      outboxMessages: 64,
      reconnectPeriod: 50,
      backoffMax: 100,
    });
    tap.refuse(true);
    await waitUntil(() => !client.connected, 5000, "offline");
    tap.clear();
    const payload = "x".repeat(100);
    const outcomes: Array<{ i: number; error: ReportedError | undefined } | undefined> = [];
    const pending: Array<Promise<void>> = [];
    for (let i = 0; i < 40; i++) {
      const qos = (1 + (i % 2)) as 1 | 2;
      pending.push(publishOutcome(client, `${topic}/m`, `${String(i).padStart(3, "0")}${payload}`, { qos }).then((o) => void (outcomes[i] = { i, error: o.error })));
    }
    await delay(300);
    const failed = outcomes.filter((o) => o !== undefined);
    const accepted = 40 - failed.length;
    // A record is the encoded PUBLISH: at least 2 + 2 + topic + 2 + 103 bytes.
    const recordAtLeast = 2 + 2 + Buffer.byteLength(`${topic}/m`) + 2 + 103;
    t.ok(accepted >= 1 && accepted <= Math.floor(capacity / recordAtLeast), `${accepted} accepted: what fits in ${capacity} bytes (records of >= ${recordAtLeast})`);
    t.ok(
      failed.every((o) => o!.error?.code === ErrorCode.OutboxFull),
      `the other ${failed.length} failed at once with OutboxFull: "${failed[0]?.error?.message}"`,
    );
    t.deepEqual(
      failed.map((o) => o!.i),
      Array.from({ length: failed.length }, (_, k) => accepted + k),
      "the rejected ones are exactly the last ones (nothing accepted after the first rejection)",
    );
    const full = await outboxCounters(client);
    t.ok(full.bytesUsed <= capacity, `outbox ring: ${full.bytesUsed} of ${capacity} bytes in use`);
    t.equal(full.queued + full.inflight, accepted, "it holds exactly the accepted messages");
    t.equal(tap.select("publish", "up").length, 0, "nothing sent while unreachable");
    tap.refuse(false);
    await Promise.all(pending);
    await waitUntil(() => received.length >= accepted, 10000, "the accepted messages delivered");
    await delay(300);
    const sent = new Set(tap.select("publish", "up").map((f) => f.packet!.payload.toString().slice(0, 3)));
    t.equal(sent.size, accepted, `exactly the ${accepted} accepted messages went out on the wire`);
    const counts = countBy(received);
    t.deepEqual(
      [...counts.keys()].map((p) => Number(p.slice(0, 3))).sort((a, b) => a - b),
      Array.from({ length: accepted }, (_, k) => k),
      "and were delivered",
    );
    t.ok(outcomes.slice(0, accepted).every((o) => o !== undefined && o.error === undefined), "their publish callbacks succeeded");
    const drained = await outboxCounters(client);
    t.deepEqual([drained.queued, drained.inflight, drained.bytesUsed], [0, 0, 0], "drained: the outbox is empty again");
    const again = await publishOutcome(client, `${topic}/m`, "after the drain", { qos: 1 });
    t.equal(again.error, undefined, "the outbox takes new messages again");
    await client.endAsync();
    await sub.endAsync();
  } finally {
    await tap.close();
  }
}
