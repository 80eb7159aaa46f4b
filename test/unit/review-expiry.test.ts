/**
 * Review regressions: v5 Message Expiry of messages held in the outbox.
 *
 * 1. The interval written into a PUBLISH is computed from an absolute
 *    deadline in floating point; with a fractional clock (the Node host's
 *    `performance.now()`) a message sent at once can go out with its
 *    interval plus one [MQTT-3.3.2-6]. Seen in the interop tier as
 *    "e1: 2, e3: 4, ...".
 * 2. A queued QoS 1/2 message whose interval runs out before it is sent is
 *    discarded by the outbox without any event, so its publish callback
 *    never runs (a `publishAsync` never settles, the callback map keeps the
 *    entry). `ErrorCode.MessageExpired` exists for exactly this and is unused.
 *
 * Both were fixed while this review ran (commit fc9ca3e); the tests stay as
 * regression guards.
 */
import test from "tape";
import { Client } from "../../modules/mqtt/client";
import { Decoder } from "../../modules/mqtt/codec/decoder";
import type { PublishPacket } from "../../modules/mqtt/codec/packets";
import { ErrorCode, MqttError } from "../../modules/mqtt/errors";
import { Outbox } from "../../modules/mqtt/outbox";
import { FakeClock, FakeNet, acceptConnect, scriptedRandom, types } from "./support/client-fakes";

function sentInterval(outbox: Outbox, slot: number, now: number): number | undefined {
  const d = new Decoder({ protocolVersion: 5, maximumPacketSize: 1 << 16 });
  d.push(outbox.bytes(slot, now).slice());
  const p = d.next() as PublishPacket;
  return p.properties?.messageExpiryInterval;
}

test("review: a message sent at once carries the Message Expiry Interval it was given, also with a fractional clock [MQTT-3.3.2-6]", (t) => {
  // 1000.4 + 1000 - 1000.4 is 1000.0000000000001 in binary floating point.
  const cases: Array<[number, number]> = [
    [1000.4, 1],
    [1288.047, 4],
    [5000, 1],
  ];
  for (const [now, interval] of cases) {
    const outbox = new Outbox({ capacity: 256, maxMessages: 4 });
    outbox.enqueue({ type: 3, topic: "t", payload: new Uint8Array(1), qos: 1, retain: false, dup: false, properties: { messageExpiryInterval: interval } }, 5, now, true);
    const slot = outbox.peek(now);
    t.equal(sentInterval(outbox, slot, now), interval, `enqueued and sent at ${now} ms with ${interval} s: ${interval} s on the wire`);
  }
  t.end();
});

test("review: an expired queued QoS 1 message completes its publish callback with MessageExpired (not never)", (t) => {
  const clock = new FakeClock();
  const net = new FakeNet(5);
  const client = new Client({
    protocolVersion: 5,
    socket: { io: net.TCP, host: "127.0.0.1", port: 1883 },
    timer: clock.timer,
    now: clock.now,
    random: scriptedRandom(0),
  });
  const outcomes: unknown[] = [];
  client.publish("a/b", "short-lived", { qos: 1, properties: { messageExpiryInterval: 1 } }, (error) => outcomes.push(error ?? "ok"));
  clock.advance(2000);
  client.connect();
  const socket = acceptConnect(net, false, 5);
  t.deepEqual(types(socket.packets()), [], "the expired message is not sent");
  t.equal(client.outbox.counters.expired, 1, "the outbox discarded it");
  t.equal(outcomes.length, 1, "its publish callback ran once");
  const error = outcomes[0];
  t.ok(error instanceof MqttError && error.code === ErrorCode.MessageExpired, `with MqttError MessageExpired (got ${String(error)})`);
  client.end({ force: true });
  t.end();
});
