/**
 * Session: QoS 2 exactly once, with the connection cut at EVERY step of the
 * handshake, in both directions and both protocol versions.
 *
 * The four packets of a QoS 2 exchange move one at a time over the scripted
 * link. For every k = 0..4 the connection is cut after k packets arrived,
 * in three ways:
 * - "queued": what the next sender has queued has not left it yet;
 * - "in transit": the next packet left the sender but is lost on the wire;
 * - "partial": only the first 3 bytes of the next packet left the session.
 * Then the client reconnects (the broker keeps the session) and everything
 * runs to completion. Invariant: the message is delivered exactly once,
 * completes exactly once, and no state is left on either side.
 */
import test from "tape";
import { Link } from "../support/scripted-broker";

type Cut = "queued" | "in transit" | "partial";
const CUTS: readonly Cut[] = ["queued", "in transit", "partial"];
const STEPS = 4;

/** Moves exactly one packet (the handshake is ping-pong: one in flight at a time). */
function step(link: Link): boolean {
  if (link.wireToClient.length > 0 || link.broker.outgoing.length > 0) {
    link.toClient();
    return true;
  }
  if (link.wireToBroker.length > 0 || link.flush().length > 0) {
    link.toBroker();
    return true;
  }
  return false;
}

function cut(link: Link, how: Cut): void {
  if (how === "in transit") link.flush();
  if (how === "partial") link.session.pollTransmit(new Uint8Array(3));
  link.drop();
}

for (const protocolVersion of [4, 5] as const) {
  test(`outbound QoS 2 is delivered and completed once, whatever step the connection dies at (v${protocolVersion})`, (t) => {
    for (let k = 0; k <= STEPS; k++) {
      for (const how of CUTS) {
        const label = `cut after ${k} packets, next ${how}`;
        const link = new Link({ session: { protocolVersion, clean: false, clientId: "c" } });
        link.connect();
        const id = link.session.publish("q2/out", "payload", { qos: 2 }, link.now);
        for (let i = 0; i < k; i++) if (!step(link)) t.fail(`${label}: nothing to move at step ${i}`);
        cut(link, how);
        link.connect();
        t.equal(link.broker.delivered.length, 1, `${label}: delivered once`);
        const done = link.eventsOf("published").filter((e) => e.packetId === id);
        t.equal(done.length, 1, `${label}: completed once`);
        t.equal(done.length === 1 ? done[0].reasonCode : -1, 0, `${label}: success`);
        t.equal(link.session.outbox.counters.inflight + link.session.outbox.counters.queued, 0, `${label}: outbox empty`);
        t.equal(link.broker.held.size, 0, `${label}: broker holds no id`);
      }
    }
    t.end();
  });

  test(`inbound QoS 2 is delivered once, whatever step the connection dies at (v${protocolVersion})`, (t) => {
    for (let k = 0; k <= STEPS; k++) {
      for (const how of CUTS) {
        const label = `cut after ${k} packets, next ${how}`;
        const link = new Link({ session: { protocolVersion, clean: false, clientId: "c" } });
        link.connect();
        link.broker.publish("q2/in", "payload", 2);
        for (let i = 0; i < k; i++) if (!step(link)) t.fail(`${label}: nothing to move at step ${i}`);
        cut(link, how);
        link.connect();
        t.deepEqual(link.messages(), ["payload"], `${label}: delivered once`);
        t.equal(link.broker.outbound.size, 0, `${label}: the broker completed`);
        t.deepEqual(link.session.inboundQos2Ids(), [], `${label}: no id held`);
      }
    }
    t.end();
  });
}

test("many QoS 2 messages both ways, the connection cut after every packet count", (t) => {
  // Three messages each way interleave (10 packets in each direction at most);
  // cut after k packets for every k until a run completes without a cut.
  for (let k = 0; k < 40; k++) {
    const link = new Link({ session: { protocolVersion: 5, clean: false, clientId: "c" } });
    link.connect();
    for (let i = 0; i < 3; i++) {
      link.session.publish("out", `o${i}`, { qos: 2 }, link.now);
      link.broker.publish("in", `i${i}`, 2);
    }
    let moved = 0;
    while (moved < k && step(link)) moved++;
    if (moved < k) break; // everything completed before the cut point: all cut points covered
    cut(link, k % 2 === 0 ? "queued" : "in transit");
    link.connect();
    t.deepEqual(
      link.broker.delivered.map((d) => d.payload),
      ["o0", "o1", "o2"],
      `cut after ${k}: outbound delivered once each, in order`,
    );
    t.deepEqual(link.messages(), ["i0", "i1", "i2"], `cut after ${k}: inbound delivered once each, in order`);
    t.equal(link.eventsOf("published").length, 3, `cut after ${k}: three completions`);
    t.equal(link.broker.outbound.size + link.broker.held.size + link.session.inboundQos2Ids().length, 0, `cut after ${k}: no state left`);
  }
  t.end();
});
