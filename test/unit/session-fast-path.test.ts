/**
 * The hot paths must write exactly what the codec writes: the outbox's
 * topic cache (a cached topic is copied, not re-encoded) and the QoS 0
 * fast path (Session.publishNow writes straight into the caller's buffer).
 * Each case is compared byte for byte with `encode()` of the same packet.
 */
import test from "tape";
import { encode } from "../../modules/mqtt/codec/encoder";
import type { ProtocolVersion, QoS } from "../../modules/mqtt/codec/packets";
import { Link } from "../support/scripted-broker";

const TOPICS = ["a", "bench/site-01/node-0042/temperature", "caf\u00e9/\u6e29\u5ea6/\ud83c\udf21", "x".repeat(63), "y".repeat(200)];
const SIZES = [0, 1, 32, 127, 128, 300];

function payloadOf(n: number): Uint8Array {
  const p = new Uint8Array(n);
  for (let i = 0; i < n; i++) p[i] = (i * 31 + 7) & 0xff;
  return p;
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

for (const version of [4, 5] as ProtocolVersion[]) {
  test(`publishNow (QoS 0) writes the same bytes as the codec, MQTT ${version === 5 ? "5.0" : "3.1.1"}`, (t) => {
    let compared = 0;
    let mismatches = 0;
    for (const topic of TOPICS) {
      for (const size of SIZES) {
        for (const retain of [false, true]) {
          const link = new Link({ session: { protocolVersion: version, outboundTopicAliases: false } });
          link.connect();
          const payload = payloadOf(size);
          // The first publish puts the topic in the outbox's cache.
          link.session.publish(topic, payload, { qos: 0, retain }, link.now);
          link.run();
          const target = new Uint8Array(1024);
          const n = link.session.publishNow(topic, payload, retain, target, 0, link.now);
          const expected = encode({ type: 3, topic, payload, qos: 0, retain, dup: false }, version);
          if (n === 0) continue; // not eligible (e.g. a topic too long for the cache): publish() is used instead
          compared++;
          if (!same(target.subarray(0, n), expected)) mismatches++;
        }
      }
    }
    t.ok(compared >= 40, `${compared} cases went through the fast path`);
    t.equal(mismatches, 0, "every fast-path packet equals the codec's");
    t.end();
  });

  test(`a cached topic gives the same wire bytes as a first publish, QoS 0/1/2, MQTT ${version === 5 ? "5.0" : "3.1.1"}`, (t) => {
    let compared = 0;
    let mismatches = 0;
    for (const topic of TOPICS) {
      for (const qos of [0, 1, 2] as QoS[]) {
        const link = new Link({ session: { protocolVersion: version, outboundTopicAliases: false } });
        link.connect();
        const payload = payloadOf(40);
        for (let i = 0; i < 3; i++) {
          link.session.publish(topic, payload, { qos }, link.now);
          link.run();
        }
        const got = link.broker.all(3);
        for (const p of got) {
          compared++;
          if (p.topic !== topic || !same(p.payload, payload) || p.qos !== qos) mismatches++;
        }
      }
    }
    t.equal(compared, TOPICS.length * 3 * 3, "every publish reached the broker");
    t.equal(mismatches, 0, "topic, payload and QoS intact whether the topic was cached or not");
    t.end();
  });
}
