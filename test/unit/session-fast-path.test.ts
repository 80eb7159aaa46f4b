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
          const n = link.session.publishNow(topic, payload, 0, retain, target, 0, link.now);
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

for (const version of [4, 5] as ProtocolVersion[]) {
  const v = version === 5 ? "5.0" : "3.1.1";

  test(`publishNow (QoS 1/2) stores the message as sent and writes the codec's bytes with its id, MQTT ${v}`, (t) => {
    let compared = 0;
    let mismatches = 0;
    let viaView = 0;
    let viaTarget = 0;
    let eventsWrong = 0;
    for (const topic of TOPICS) {
      for (const size of SIZES) {
        for (const qos of [1, 2] as QoS[]) {
          for (const retain of [false, true]) {
            const quiet = (size + (retain ? 1 : 0)) % 2 === 0;
            const link = new Link({ session: { protocolVersion: version, outboundTopicAliases: false } });
            link.connect();
            const payload = payloadOf(size);
            link.session.publish(topic, payload, { qos: 0 }, link.now); // puts the topic in the cache
            link.run();
            // Twice: the first record starts the empty ring (a view of it), the second does not (written to target).
            const ids: number[] = [];
            for (let k = 0; k < 2; k++) {
              const target = new Uint8Array(1024);
              const n = link.session.publishNow(topic, payload, qos, retain, target, 0, link.now, quiet);
              if (n === 0) break; // not eligible (e.g. a topic too long for the cache)
              const view = link.session.directView;
              if (view === undefined) viaTarget++;
              else viaView++;
              const bytes = view ?? target.subarray(0, n);
              const id = link.session.directId;
              ids.push(id);
              const expected = encode({ type: 3, topic, payload, qos, retain, dup: false, packetId: id }, version);
              compared++;
              if (bytes.length !== n || !same(bytes, expected)) mismatches++;
              for (const p of link.broker.decode(bytes.slice())) link.broker.handle(p);
            }
            if (ids.length === 0) continue;
            t.equal(link.session.outbox.counters.inflight, ids.length, `${topic.length}/${size}/${qos}: stored as in flight`);
            link.run(); // the broker's acknowledgements (and for QoS 2, our PUBREL and its PUBCOMP)
            const published = link.events.filter((e) => e.type === "published").map((e) => (e as { packetId: number }).packetId);
            if (JSON.stringify(published) !== JSON.stringify(quiet ? [] : ids)) eventsWrong++;
            if (link.session.outbox.counters.inflight !== 0 || link.session.inflightCount !== 0) eventsWrong++;
          }
        }
      }
    }
    t.ok(compared >= 80, `${compared} packets went through the QoS 1/2 fast path`);
    t.ok(viaView > 0 && viaTarget > 0, `both forms were used (${viaView} views of the ring, ${viaTarget} written to the target)`);
    t.equal(mismatches, 0, "every fast-path packet equals the codec's, with the id publishNow reported");
    t.equal(eventsWrong, 0, "every message completed; a 'published' event for each, none when quiet");
    t.end();
  });

  test(`publishNow (QoS 1/2) declines, changing nothing, whenever the message could not go at once, MQTT ${v}`, (t) => {
    const payload = payloadOf(8);
    const topic = "bench/site-01/node-0042/temperature";
    const cases: Array<{ name: string; options?: object; connack?: object; before?: (link: Link) => void; qos: QoS; topic?: string; events?: boolean }> = [
      { name: "the topic not in the cache", qos: 1, topic: "not/cached/yet" },
      { name: "the in-flight window full [MQTT-4.9.0-2]", options: { maxInflight: 1 }, qos: 1, before: (l) => void l.session.publishNow(topic, payload, 1, false, new Uint8Array(256), 0, l.now) },
      { name: "maxInflightQos2 reached", options: { maxInflightQos2: 1 }, qos: 2, before: (l) => void l.session.publishNow(topic, payload, 2, false, new Uint8Array(256), 0, l.now) },
      { name: "a record waiting to be sent", qos: 1, before: (l) => void l.session.publish(topic, payload, { qos: 1 }, l.now) },
      { name: "packet events on", qos: 1, events: true },
      { name: "QoS 3", qos: 3 as QoS },
      { name: "a target too small", qos: 1, before: () => undefined },
    ];
    if (version === 5) {
      cases.push({ name: "QoS above the server's Maximum QoS [MQTT-3.2.2-11]", connack: { maximumQoS: 1 }, qos: 2 });
      cases.push({ name: "above the server's Maximum Packet Size [MQTT-3.2.2-15]", connack: { maximumPacketSize: 49 }, qos: 1 }); // the QoS 0 message (48 bytes) fits, the QoS 1 one (50) not
    }
    for (const c of cases) {
      const link = new Link({
        session: { protocolVersion: version, outboundTopicAliases: false, ...(c.options ?? {}) },
        broker: c.connack !== undefined ? { connack: { properties: c.connack } } : {},
      });
      link.connect();
      link.session.publish(topic, payload, { qos: 0 }, link.now);
      link.run();
      link.broker.options.autoAck = false;
      c.before?.(link);
      if (c.events === true) link.session.packetEvents = true;
      const counters = JSON.stringify(link.session.outbox.counters);
      const inflight = link.session.inflightCount;
      const id = link.session.directId;
      const target = new Uint8Array(c.name === "a target too small" ? 20 : 256);
      const n = link.session.publishNow(c.topic ?? topic, payload, c.qos, false, target, 0, link.now);
      t.equal(n, 0, `${c.name}: declined`);
      t.equal(JSON.stringify(link.session.outbox.counters), counters, `${c.name}: outbox unchanged`);
      t.equal(link.session.inflightCount, inflight, `${c.name}: in-flight count unchanged`);
      t.equal(link.session.directId, id, `${c.name}: no id reported`);
    }
    t.end();
  });
}

test("publishNow moves the timer version only when a deadline changes (keep alive 0: never)", (t) => {
  const payload = payloadOf(8);
  for (const keepalive of [0, 30]) {
    const link = new Link({ session: { keepalive } });
    link.connect();
    link.session.publish("a/b", payload, { qos: 0 }, link.now);
    link.run();
    const before = link.session.timerVersion;
    let sent = 0;
    for (let i = 0; i < 5; i++) {
      link.clock.now += 1000;
      for (const qos of [0, 1] as QoS[]) {
        const n = link.session.publishNow("a/b", payload, qos, false, new Uint8Array(256), 0, link.now, true);
        if (n > 0) sent++;
        const id = link.session.directId;
        if (qos === 1) link.receive([0x40, 0x02, id >> 8, id & 0xff]); // its PUBACK
      }
    }
    t.equal(sent, 10, `keep alive ${keepalive}: all ten went through publishNow`);
    t.equal(link.session.outbox.counters.inflight, 0, "every QoS 1 message acknowledged");
    t.equal(link.session.timerVersion, before, `keep alive ${keepalive}: the timer version did not move (the deadline ${keepalive === 0 ? "stays unset" : "only moved later"})`);
  }
  t.end();
});

test("publishNow with outbound topic aliases (v5) sends, byte for byte, what the transmit path sends for the same message", (t) => {
  const topics = ["a", "bench/site-01/node-0042/temperature", "x".repeat(60), "t/4"];
  let direct = 0;
  let compared = 0;
  let mismatches = 0;
  let aliasOnly = 0;
  let unknownAlias = 0;
  for (const maximumPacketSize of [undefined, 48]) {
    for (const seed of [1, 2, 3]) {
      const properties = maximumPacketSize === undefined ? { topicAliasMaximum: 2 } : { topicAliasMaximum: 2, maximumPacketSize };
      const make = () => new Link({ session: { protocolVersion: 5, maxInflight: 4 }, broker: { connack: { properties } } });
      const a = make(); // publishNow first, as the client does
      const b = make(); // always publish() + pollTransmit
      a.connect();
      b.connect();
      for (const topic of topics) {
        // Put every topic in both outbox topic caches the same way (QoS 0, sent at once).
        for (const link of [a, b]) {
          try {
            link.session.publish(topic, payloadOf(1), { qos: 0 }, link.now);
          } catch {
            // too long for the server's limit: never cached, so never on the fast path
          }
          link.run();
        }
      }
      let r = seed;
      const next = (n: number) => {
        r = (Math.imul(r, 1103515245) + 12345) & 0x7fffffff;
        return (r >>> 12) % n; // the high bits: an LCG's low bits repeat quickly
      };
      for (let step = 0; step < 120; step++) {
        const topic = topics[next(topics.length)];
        const qos = next(3) as QoS;
        const retain = next(5) === 0;
        const payload = payloadOf(next(3) === 0 ? 0 : next(40));
        const target = new Uint8Array(512);
        const n = a.session.publishNow(topic, payload, qos, retain, target, 0, a.now, next(2) === 0);
        let bytesA: Uint8Array;
        if (n > 0) {
          direct++;
          const view = qos === 0 ? undefined : a.session.directView;
          bytesA = (view ?? target.subarray(0, n)).slice();
          for (const p of a.broker.decode(bytesA)) a.broker.handle(p);
        } else {
          let threw = false;
          try {
            a.session.publish(topic, payload, { qos, retain }, a.now);
          } catch {
            threw = true;
          }
          bytesA = threw ? new Uint8Array(0) : a.takeBytes();
          for (const p of a.broker.decode(bytesA)) a.broker.handle(p);
        }
        let bytesB: Uint8Array;
        try {
          b.session.publish(topic, payload, { qos, retain }, b.now);
          bytesB = b.takeBytes();
        } catch {
          bytesB = new Uint8Array(0);
        }
        for (const p of b.broker.decode(bytesB)) b.broker.handle(p);
        compared++;
        if (!same(bytesA, bytesB)) mismatches++;
        if (n > 0) {
          // an alias-only PUBLISH has an empty Topic Name (after the 1- or 2-byte Remaining Length)
          const h = 1 + (bytesA[1] & 0x80 ? 2 : 1);
          if (bytesA[h] === 0 && bytesA[h + 1] === 0) aliasOnly++;
        }
        // Acknowledgements now and then, so the window opens and closes.
        if (next(3) !== 0) {
          a.run();
          b.run();
        }
      }
      a.run();
      b.run();
      unknownAlias += a.broker.delivered.filter((d) => d.topic === "<unknown alias>").length;
      t.deepEqual(
        a.broker.delivered.map((d) => `${d.topic} ${d.payload.length} q${d.qos}`),
        b.broker.delivered.map((d) => `${d.topic} ${d.payload.length} q${d.qos}`),
        `limit ${maximumPacketSize ?? "none"}, seed ${seed}: the broker got the same messages`,
      );
      t.equal(a.session.outbox.counters.inflight + a.session.outbox.counters.queued, 0, "every message completed");
    }
  }
  t.ok(direct > 200, `${direct} messages went through publishNow`);
  t.ok(aliasOnly > 50 && aliasOnly < direct - 50, `${aliasOnly} of them as alias-only PUBLISH packets, the rest with the Topic Name`);
  t.equal(mismatches, 0, `all ${compared} steps: the same bytes on the wire`);
  t.equal(unknownAlias, 0, "no alias used before it was mapped");
  t.end();
});
