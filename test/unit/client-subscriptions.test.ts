/**
 * Client subscription bookkeeping: offline queueing of SUBSCRIBE and
 * UNSUBSCRIBE, resubscribe when the broker kept no session
 * [MQTT-3.2.2-2]/(MQTT 5.0 §3.2.2.1.1 Session Present), none when it did,
 * requests interrupted by a lost connection sent again, and the session's
 * limit on pending requests respected.
 */
import test from "tape";
import { Client } from "../../modules/mqtt/client";
import type { ClientOptions } from "../../modules/mqtt/client";
import { ErrorCode, MqttError } from "../../modules/mqtt/errors";
import type { ProtocolVersion, SubscribePacket, UnsubscribePacket } from "../../modules/mqtt/codec/packets";
import { FakeClock, FakeNet, acceptConnect, scriptedRandom, types, untilNewSocket, wire } from "./support/client-fakes";

function setup(options: Partial<ClientOptions> = {}, version: ProtocolVersion = 4) {
  const clock = new FakeClock();
  const net = new FakeNet(version);
  const client = new Client({
    socket: { io: net.TCP, host: "broker.local", port: 1883 },
    timer: clock.timer,
    now: clock.now,
    random: scriptedRandom(0),
    protocolVersion: version,
    clientId: "subs",
    ...options,
  });
  return { clock, net, client };
}

function topicsOf(p: SubscribePacket): Array<[string, number]> {
  return p.subscriptions.map((s) => [s.topic, s.qos]);
}

test("subscribe while offline is queued and sent after the CONNACK; the callback gets the SUBACK codes", (t) => {
  const results: Array<[unknown, number[]]> = [];
  const { net, client } = setup();
  client.subscribe([{ topic: "a/#", qos: 1 }], undefined, (e, codes) => results.push([e, codes]));
  t.equal(net.sockets.length, 0, "nothing sent, no socket yet");
  client.connect();
  t.equal(net.last.options.address, undefined, "a host name is not copied to address");
  const s = acceptConnect(net);
  const out = s.packets();
  t.deepEqual(types(out), [8], "SUBSCRIBE right after CONNACK");
  const sub = out[0] as SubscribePacket;
  t.deepEqual(topicsOf(sub), [["a/#", 1]]);
  s.deliver(wire({ type: 9, packetId: sub.packetId, reasonCodes: [1] }));
  t.deepEqual(results, [[undefined, [1]]]);
  t.ok(client.subscriptions.has("a/#"), "remembered for resubscribing");
  t.end();
});

test("resubscribes every remembered filter when the broker kept no session (sessionPresent false)", (t) => {
  const { clock, net, client } = setup({ clean: true });
  client.connect();
  let s = acceptConnect(net);
  client.subscribe([{ topic: "x", qos: 0 }, { topic: "y/+", qos: 2 }]);
  const sub = s.packets()[0] as SubscribePacket;
  s.deliver(wire({ type: 9, packetId: sub.packetId, reasonCodes: [0, 2] }));
  s.fail({ name: "Error", message: "reset", code: "ECONNRESET" });
  untilNewSocket(clock, net);
  s = acceptConnect(net, false);
  const out = s.packets();
  t.deepEqual(types(out), [8], "one SUBSCRIBE");
  t.deepEqual(topicsOf(out[0] as SubscribePacket), [
    ["x", 0],
    ["y/+", 2],
  ]);
  t.end();
});

test("does not resubscribe when the broker kept the session (clean false, sessionPresent true)", (t) => {
  const { clock, net, client } = setup({ clean: false });
  client.connect();
  let s = acceptConnect(net);
  client.subscribe([{ topic: "kept", qos: 1 }]);
  const sub = s.packets()[0] as SubscribePacket;
  s.deliver(wire({ type: 9, packetId: sub.packetId, reasonCodes: [1] }));
  s.fail();
  untilNewSocket(clock, net);
  s = acceptConnect(net, true);
  t.deepEqual(types(s.packets()), [], "nothing sent: the broker still has the subscription");
  t.end();
});

test("resubscribe false: remembered filters are not sent again", (t) => {
  const { clock, net, client } = setup({ resubscribe: false });
  client.connect();
  let s = acceptConnect(net);
  client.subscribe([{ topic: "once", qos: 0 }]);
  const sub = s.packets()[0] as SubscribePacket;
  s.deliver(wire({ type: 9, packetId: sub.packetId, reasonCodes: [0] }));
  s.fail();
  untilNewSocket(clock, net);
  s = acceptConnect(net, false);
  t.deepEqual(types(s.packets()), []);
  t.end();
});

test("a refused filter (SUBACK 0x80) is reported and not resubscribed; an unsubscribed one neither", (t) => {
  const results: Array<[MqttError | Error | undefined, number[]]> = [];
  const { clock, net, client } = setup();
  client.connect();
  let s = acceptConnect(net);
  client.subscribe([{ topic: "ok", qos: 1 }, { topic: "denied", qos: 1 }, { topic: "gone", qos: 0 }], undefined, (e, c) =>
    results.push([e, c]),
  );
  const sub = s.packets()[0] as SubscribePacket;
  s.deliver(wire({ type: 9, packetId: sub.packetId, reasonCodes: [1, 0x80, 0] }));
  const error = results[0][0] as MqttError;
  t.ok(error instanceof MqttError, "callback error");
  t.equal(error.code, ErrorCode.SubscribeFailed);
  t.equal(error.reasonCode, 0x80, "first failure code");
  t.deepEqual(results[0][1], [1, 0x80, 0], "all codes still given");
  client.unsubscribe(["gone"]);
  const unsub = s.packets()[0] as UnsubscribePacket;
  t.equal(unsub.type, 10);
  s.deliver(wire({ type: 11, packetId: unsub.packetId, reasonCodes: [] }));
  t.deepEqual(Array.from(client.subscriptions.keys()), ["ok"]);
  s.fail();
  untilNewSocket(clock, net);
  s = acceptConnect(net, false);
  t.deepEqual(topicsOf(s.packets()[0] as SubscribePacket), [["ok", 1]], "only the granted, still wanted filter");
  t.end();
});

test("a SUBSCRIBE lost with the connection is sent again after the reconnect; its callback runs once", (t) => {
  const calls: number[][] = [];
  const { clock, net, client } = setup();
  client.connect();
  let s = acceptConnect(net);
  client.subscribe([{ topic: "late", qos: 1 }], undefined, (_e, codes) => calls.push(codes));
  t.deepEqual(types(s.packets()), [8]);
  s.fail();
  t.deepEqual(calls, [], "no callback on the lost connection");
  untilNewSocket(clock, net);
  s = acceptConnect(net, false);
  const out = s.packets();
  t.deepEqual(types(out), [8], "exactly one SUBSCRIBE (not also a resubscribe of the same filter)");
  s.deliver(wire({ type: 9, packetId: (out[0] as SubscribePacket).packetId, reasonCodes: [1] }));
  t.deepEqual(calls, [[1]]);
  t.end();
});

test("resubscribe comes before queued requests, which keep their order", (t) => {
  const { clock, net, client } = setup();
  client.connect();
  let s = acceptConnect(net);
  client.subscribe([{ topic: "old", qos: 0 }]);
  const sub = s.packets()[0] as SubscribePacket;
  s.deliver(wire({ type: 9, packetId: sub.packetId, reasonCodes: [0] }));
  s.fail();
  client.subscribe([{ topic: "new", qos: 1 }]);
  client.unsubscribe(["old"]);
  untilNewSocket(clock, net);
  s = acceptConnect(net, false);
  const out = s.packets();
  t.deepEqual(types(out), [8, 10], "SUBSCRIBE new, UNSUBSCRIBE old: 'old' is not resubscribed since a queued request names it");
  t.deepEqual(topicsOf(out[0] as SubscribePacket), [["new", 1]]);
  t.deepEqual((out[1] as UnsubscribePacket).topics, ["old"]);
  t.end();
});

test("more requests than the session's maxPendingRequests wait for acknowledgements instead of failing", (t) => {
  const done: string[] = [];
  const { net, client } = setup({ maxPendingRequests: 2 });
  client.connect();
  const s = acceptConnect(net);
  for (let i = 0; i < 5; i++) client.subscribe([{ topic: `t/${i}`, qos: 0 }], undefined, (e) => done.push(`${i}:${e === undefined}`));
  let out = s.packets() as SubscribePacket[];
  t.equal(out.length, 2, "two in flight");
  let acked = 0;
  while (out.length > 0 && acked < 10) {
    for (const p of out) {
      s.deliver(wire({ type: 9, packetId: p.packetId, reasonCodes: [0] }));
      acked += 1;
    }
    out = s.packets() as SubscribePacket[];
  }
  t.equal(acked, 5, "all five sent, two at a time at most");
  t.deepEqual(done, ["0:true", "1:true", "2:true", "3:true", "4:true"]);
  t.end();
});

test("subscribe checks filters and QoS at once", (t) => {
  const { client } = setup();
  t.throws(() => client.subscribe([{ topic: "a/#/b", qos: 0 }]), TypeError, "# not last [MQTT-4.7.1-2]");
  t.throws(() => client.subscribe([{ topic: "ok", qos: 3 as 0 }]), RangeError, "QoS 3");
  t.throws(() => client.subscribe([]), TypeError, "empty list");
  t.throws(() => client.unsubscribe(["a+"]), TypeError, "+ inside a level");
  t.end();
});

test("v5: SUBSCRIBE properties are kept for the resubscribe", (t) => {
  const { clock, net, client } = setup({}, 5);
  client.connect();
  let s = acceptConnect(net, false, 5);
  client.subscribe([{ topic: "id/7", qos: 1, noLocal: true }], { subscriptionIdentifier: 7 });
  const sub = s.packets()[0] as SubscribePacket;
  s.deliver(wire({ type: 9, packetId: sub.packetId, reasonCodes: [1] }, 5));
  s.fail();
  untilNewSocket(clock, net);
  s = acceptConnect(net, false, 5);
  const again = s.packets()[0] as SubscribePacket;
  t.equal(again.properties?.subscriptionIdentifier, 7);
  t.equal(again.subscriptions[0].noLocal, true);
  t.end();
});
