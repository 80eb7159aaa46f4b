/**
 * Cut-after-N-bytes sweeps: the fault proxy closes the connection after
 * exactly N more bytes (both directions counted together), for every N
 * across one whole QoS 1 or QoS 2 exchange, on the publisher's connection
 * or on the subscriber's. After each cut the client reconnects on its own
 * (persistent session, short backoff) and finishes the exchange. Over the
 * whole sweep: QoS 1 loses nothing (duplicates allowed), QoS 2 delivers
 * every message exactly once, every publish completes.
 *
 * Path of the client under test: client -> fault proxy (cuts) -> wire tap
 * (sees what reaches the broker) -> broker. The other client is connected
 * to the broker directly.
 *
 * Over MQTT 5 the publisher's offsets are each tried on a fresh connection
 * (the proxy resets the link and the client reconnects first), so that
 * every swept exchange is the same bytes: the first PUBLISH on a
 * connection carries the topic and assigns a topic alias, later ones only
 * the alias, which would make the exchange shorter after the first. (The
 * brokers assign no aliases towards subscribers, and 3.1.1 has none.)
 * Payloads have a fixed width.
 */
import type { Test } from "tape";
import { startFaultProxy } from "../../support/fault-proxy";
import type { FaultProxy } from "../../support/fault-proxy";
import { startWireTap } from "../support/wire-tap";
import type { WireTap } from "../support/wire-tap";
import { collect, countBy, delay, open, publishOutcome, waitUntil } from "../support/harness";
import type { ClientLike, IClientOptions, Received, ReportedError, ScenarioContext } from "../support/harness";
import { persistentOptions } from "./sessions";

/** Whose connection is cut. */
export type SweepSide = "publisher" | "subscriber";

/** Fast reconnects, so that one offset costs tens of milliseconds. */
const FAST: IClientOptions = { reconnectPeriod: 5, backoffMax: 5, backoffResetAfter: 1 };

/** Poll interval of the per-offset waits, ms (one offset is a few round trips on loopback). */
const POLL = 2;

/**
 * True when the broker has finished the exchange of `payload` with the
 * subscriber, as seen at the tap: the last PUBLISH carrying it was answered
 * with PUBACK (QoS 1) or PUBCOMP (QoS 2) from the client.
 */
function subscriberDone(tap: WireTap, payload: string, qos: 1 | 2): boolean {
  let id: number | undefined;
  let done = false;
  for (const f of tap.frames) {
    if (f.dir === "down" && f.cmd === "publish" && f.packet?.payload?.toString() === payload) {
      id = f.packet.messageId;
      done = false;
    } else if (id !== undefined && f.dir === "up" && f.cmd === (qos === 1 ? "puback" : "pubcomp") && f.packet?.messageId === id) {
      done = true;
    }
  }
  return done;
}

/** The last `count` packets the tap saw, one line each, for failure messages. */
function describe(tap: WireTap, count: number): string {
  return tap.frames
    .slice(-count)
    .map((f) => {
      const p = f.packet ?? {};
      const fields = [
        `link ${f.link}`,
        f.dir === "up" ? "client->broker" : "broker->client",
        f.cmd,
        p.messageId !== undefined ? `id ${p.messageId}` : "",
        p.dup ? "dup" : "",
        p.topic !== undefined ? `topic "${p.topic}"` : "",
        p.properties ? `props ${JSON.stringify(p.properties)}` : "",
        p.reasonCode !== undefined ? `reason 0x${p.reasonCode.toString(16)}` : "",
        f.error ? `undecodable: ${f.error}` : "",
      ];
      return `  ${fields.filter(Boolean).join(" ")}`;
    })
    .join("\n");
}

/** Waits until the proxy has forwarded nothing new for `quietMs`. */
async function quiet(proxy: FaultProxy, quietMs: number, timeoutMs: number): Promise<void> {
  let last = proxy.bytes.up + proxy.bytes.down;
  let since = performance.now();
  await waitUntil(
    () => {
      const now = proxy.bytes.up + proxy.bytes.down;
      if (now !== last) {
        last = now;
        since = performance.now();
      }
      return performance.now() - since >= quietMs;
    },
    timeoutMs,
    "the link to go quiet",
  );
}

/**
 * Sweeps N over every byte offset of one QoS `qos` exchange on `side`'s
 * connection. The exchange length L is measured first (one message, no
 * cut); then for N = 0 .. L-1 a message `N:<tag>` is published with a cut
 * armed after N bytes, and the next offset starts once that exchange has
 * completed after the reconnect.
 */
export async function cutSweep(t: Test, ctx: ScenarioContext, side: SweepSide, qos: 1 | 2): Promise<void> {
  const tap = await startWireTap({ targetPort: ctx.broker.port() });
  const proxy = await startFaultProxy({ targetPort: tap.port });
  try {
    const tag = ctx.unique(`sweep-q${qos}-${side === "publisher" ? "pub" : "sub"}`);
    const topic = `${tag}/m`;
    const subUrl = side === "subscriber" ? proxy.url : ctx.broker.url();
    const pubUrl = side === "publisher" ? proxy.url : ctx.broker.url();
    const sub = await open(ctx.host, subUrl, { ...persistentOptions(ctx.broker.version, `${tag}-s`), ...FAST });
    const received: Received[] = collect(sub);
    await sub.subscribeAsync(topic, { qos: 2 });
    const pub = await open(ctx.host, pubUrl, { ...persistentOptions(ctx.broker.version, `${tag}-p`), ...FAST });
    const cutClient: ClientLike = side === "publisher" ? pub : sub;
    let reconnects = 0;
    cutClient.on("connect", () => (reconnects += 1));
    const errors: ReportedError[] = [];

    // A fresh connection for every exchange where aliases apply (see the header).
    const needsFresh = ctx.broker.version === 5 && side === "publisher";
    let resets = 0;
    const fresh = async (): Promise<void> => {
      if (!needsFresh) return;
      resets += 1;
      const count = reconnects;
      proxy.dropAll("rst");
      await waitUntil(() => reconnects > count && cutClient.connected, 5000, "reconnected after the reset", undefined, POLL);
    };

    // One exchange without a cut: its length in bytes, both ways.
    const payloadOf = (n: number | string): string => `${String(n).padStart(3, "0")}:${tag}`;
    await fresh();
    const before = proxy.bytes.up + proxy.bytes.down;
    const first = await publishOutcome(pub, topic, payloadOf("cal"), { qos });
    if (first.error) errors.push(first.error);
    await waitUntil(() => received.length >= 1, 5000, "calibration message");
    if (side === "subscriber") await waitUntil(() => subscriberDone(tap, payloadOf("cal"), qos), 5000, "calibration exchange");
    await quiet(proxy, 30, 2000);
    const length = proxy.bytes.up + proxy.bytes.down - before;
    t.ok(length >= (qos === 1 ? 8 : 14), `one QoS ${qos} exchange on the ${side}'s link: ${length} bytes`);

    const cutsBefore = proxy.cuts;
    const reconnectsBefore = reconnects;
    const resetsBefore = resets;
    const missing: number[] = [];
    for (let n = 0; n < length; n++) {
      await fresh();
      const cuts = proxy.cuts;
      proxy.cutAfter(n, "both", { once: true, how: "fin" });
      const payload = payloadOf(n);
      let completed = false;
      const outcome = publishOutcome(pub, topic, payload, { qos }).then((o) => {
        if (o.error) errors.push(o.error);
        completed = true;
      });
      try {
        await waitUntil(
          () =>
            proxy.cuts > cuts &&
            completed &&
            cutClient.connected &&
            received.some((m) => m.payload === payload) &&
            (side === "publisher" || subscriberDone(tap, payload, qos)),
          10000,
          `offset ${n}: cut, reconnect, exchange completed`,
          undefined,
          POLL,
        );
      } catch {
        missing.push(n);
        t.comment(`offset ${n} did not complete; last packets at the broker side of the proxy:\n${describe(tap, 16)}`);
        proxy.clearCut();
        await outcome;
        break;
      }
    }
    await delay(300);
    t.deepEqual(missing, [], "every offset: the cut happened and the exchange completed after the reconnect");
    t.equal(proxy.cuts - cutsBefore, length, `${length} cuts, one per offset`);
    t.ok(
      reconnects - reconnectsBefore >= length + resets - resetsBefore,
      `the ${side} reconnected on its own after each cut${needsFresh ? " and each reset" : ""} (${reconnects - reconnectsBefore} connects)`,
    );
    // A QoS 2 message whose PUBREC arrived before the cut, on a reconnect
    // where the broker reports no session, completes with 0x92: the client
    // cannot know whether that broker delivered it (Mosquitto delivers on
    // PUBREL, aedes on PUBLISH), so it says so instead of claiming success.
    // Delivery itself is still checked below (no loss, no duplicate).
    const uncertain = errors.filter((e) => qos === 2 && (e.reasonCode === 0x92 || e.code === 0x92));
    if (uncertain.length) t.comment(`QoS 2: ${uncertain.length} publish(es) completed with 0x92 after the broker reported no session`);
    t.deepEqual(errors.filter((e) => !uncertain.includes(e)), [], "every publish completed without error (0x92 after a lost broker session aside)");
    const counts = countBy(received);
    const lost: number[] = [];
    const duplicated: number[] = [];
    for (let n = 0; n < length; n++) {
      const c = counts.get(payloadOf(n)) ?? 0;
      if (c === 0) lost.push(n);
      if (c > 1) duplicated.push(n);
    }
    t.deepEqual(lost, [], `QoS ${qos}: no message lost at any offset`);
    if (qos === 2) t.deepEqual(duplicated, [], "QoS 2: no message delivered twice at any offset");
    else t.comment(`QoS 1: duplicates (allowed) at offsets ${duplicated.join(", ") || "none"}`);
    await pub.endAsync();
    await sub.endAsync();
  } finally {
    await proxy.close();
    await tap.close();
  }
}
