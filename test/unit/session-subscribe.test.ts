/**
 * Session: SUBSCRIBE/UNSUBSCRIBE — reason codes surfaced, packet ids shared
 * with the outbox, availability flags from CONNACK, argument checks.
 */
import test from "tape";
import { ErrorCode, MqttError } from "../../modules/mqtt/errors";
import { Session } from "../../modules/mqtt/session";
import { Link } from "../support/scripted-broker";

function isMqttError(code: number): (e: unknown) => boolean {
  return (e: unknown) => e instanceof MqttError && e.code === code;
}

test("SUBACK reason codes are surfaced, failures included (v5)", (t) => {
  const link = new Link({ session: { protocolVersion: 5 }, broker: { autoSuback: false } });
  link.connect();
  const id = link.session.subscribe(
    [
      { topic: "a/+", qos: 1, noLocal: true, retainAsPublished: true, retainHandling: 2 },
      { topic: "b/#", qos: 2 },
    ],
    { subscriptionIdentifier: 7, userProperties: [["x", "y"]] },
    link.now,
  );
  const [sub] = link.flush();
  t.equal(sub.type, 8);
  if (sub.type === 8) {
    t.equal(sub.packetId, id);
    t.deepEqual(sub.subscriptions[0], { topic: "a/+", qos: 1, noLocal: true, retainAsPublished: true, retainHandling: 2 });
    t.equal(sub.properties?.subscriptionIdentifier, 7);
  }
  link.broker.send({ type: 9, packetId: id, reasonCodes: [1, 0x87], properties: { reasonString: "denied" } });
  link.toClient();
  t.deepEqual(link.eventsOf("subscribed"), [{ type: "subscribed", packetId: id, reasonCodes: [1, 0x87], properties: { reasonString: "denied" } }]);
  t.end();
});

test("3.1.1 SUBACK return codes, 0x80 failure included", (t) => {
  const link = new Link({ broker: { autoSuback: false } });
  link.connect();
  const id = link.session.subscribe([{ topic: "a", qos: 2 }, { topic: "b", qos: 1 }], undefined, link.now);
  link.flush();
  link.broker.send({ type: 9, packetId: id, reasonCodes: [2, 0x80] });
  link.toClient();
  t.deepEqual(link.eventsOf("subscribed"), [{ type: "subscribed", packetId: id, reasonCodes: [2, 0x80] }]);
  t.end();
});

test("UNSUBACK: v5 reason codes per filter, 3.1.1 none", (t) => {
  const v5 = new Link({ session: { protocolVersion: 5 }, broker: { autoSuback: false } });
  v5.connect();
  const id5 = v5.session.unsubscribe(["a", "b"], undefined, v5.now);
  v5.flush();
  v5.broker.send({ type: 11, packetId: id5, reasonCodes: [0, 0x11] });
  v5.toClient();
  t.deepEqual(v5.eventsOf("unsubscribed"), [{ type: "unsubscribed", packetId: id5, reasonCodes: [0, 0x11] }]);
  const v4 = new Link();
  v4.connect();
  const id4 = v4.session.unsubscribe(["a"], undefined, v4.now);
  v4.run();
  t.deepEqual(v4.eventsOf("unsubscribed"), [{ type: "unsubscribed", packetId: id4, reasonCodes: [] }]);
  t.end();
});

test("a v5 UNSUBACK with the wrong number of reason codes is a protocol error [MQTT-3.11.3-1]", (t) => {
  const link = new Link({ session: { protocolVersion: 5 }, broker: { autoSuback: false } });
  link.connect();
  const id = link.session.unsubscribe(["a", "b"], undefined, link.now);
  link.flush();
  link.broker.send({ type: 11, packetId: id, reasonCodes: [0] });
  link.toClient();
  t.equal(link.eventsOf("closed")[0]?.error?.code, ErrorCode.ProtocolError);
  t.end();
});

test("an UNSUBACK does not answer a SUBSCRIBE with the same id", (t) => {
  const link = new Link({ session: { protocolVersion: 5 }, broker: { autoSuback: false } });
  link.connect();
  const id = link.session.subscribe([{ topic: "a", qos: 0 }], undefined, link.now);
  link.flush();
  link.broker.send({ type: 11, packetId: id, reasonCodes: [0] });
  link.toClient();
  t.equal(link.eventsOf("closed")[0]?.error?.code, ErrorCode.ProtocolError);
  t.end();
});

test("SUBSCRIBE/UNSUBSCRIBE need a connected session", (t) => {
  const s = new Session();
  t.throws(() => s.subscribe([{ topic: "a", qos: 0 }], undefined, 0), isMqttError(ErrorCode.NotConnected));
  t.throws(() => s.unsubscribe(["a"], undefined, 0), isMqttError(ErrorCode.NotConnected));
  s.connect(0);
  t.throws(() => s.subscribe([{ topic: "a", qos: 0 }], undefined, 0), isMqttError(ErrorCode.NotConnected), "not before CONNACK");
  t.end();
});

test("subscribe argument checks", (t) => {
  const link = new Link({ session: { protocolVersion: 5 } });
  link.connect();
  const s = link.session;
  t.throws(() => s.subscribe([], undefined, 0), TypeError, "[MQTT-3.8.3-3]");
  t.throws(() => s.subscribe([{ topic: "a/#/b", qos: 0 }], undefined, 0), TypeError, "bad filter");
  t.throws(() => s.subscribe([{ topic: "a", qos: 3 as 0 }], undefined, 0), RangeError);
  t.throws(() => s.subscribe([{ topic: "$share/g/a", qos: 0, noLocal: true }], undefined, 0), TypeError, "[MQTT-3.8.3-4]");
  t.throws(() => s.unsubscribe([], undefined, 0), TypeError, "[MQTT-3.10.3-2]");
  t.throws(() => s.unsubscribe(["a+"], undefined, 0), TypeError);
  t.deepEqual(link.flush(), [], "nothing sent");
  t.end();
});

test("CONNACK availability flags: wildcard, shared and subscription-identifier subscriptions are refused locally", (t) => {
  const link = new Link({
    session: { protocolVersion: 5 },
    broker: { connack: { properties: { wildcardSubscriptionAvailable: 0, sharedSubscriptionAvailable: 0, subscriptionIdentifiersAvailable: 0 } } },
  });
  link.connect();
  const s = link.session;
  t.throws(() => s.subscribe([{ topic: "a/+", qos: 0 }], undefined, 0), isMqttError(ErrorCode.WildcardSubscriptionsNotSupported));
  t.throws(() => s.subscribe([{ topic: "$share/g/a", qos: 0 }], undefined, 0), isMqttError(ErrorCode.SharedSubscriptionsNotSupported));
  t.throws(() => s.subscribe([{ topic: "a", qos: 0 }], { subscriptionIdentifier: 1 }, 0), isMqttError(ErrorCode.SubscriptionIdentifiersNotSupported));
  t.doesNotThrow(() => s.subscribe([{ topic: "a/b", qos: 0 }], undefined, 0));
  t.end();
});

test("a SUBSCRIBE larger than the server's Maximum Packet Size is refused", (t) => {
  const link = new Link({ session: { protocolVersion: 5 }, broker: { connack: { properties: { maximumPacketSize: 30 } } } });
  link.connect();
  t.throws(
    () => link.session.subscribe([{ topic: "a-rather-long-topic-filter/for/this/server", qos: 0 }], undefined, link.now),
    isMqttError(ErrorCode.PacketTooLarge),
  );
  t.end();
});

test("packet ids: SUBSCRIBE skips ids the outbox holds, the outbox skips pending SUBSCRIBE ids", (t) => {
  const link = new Link({ broker: { autoAck: false, autoSuback: false } });
  link.connect();
  const p1 = link.session.publish("t", "x", { qos: 1 }, link.now);
  const s1 = link.session.subscribe([{ topic: "a", qos: 0 }], undefined, link.now);
  const p2 = link.session.publish("t", "y", { qos: 1 }, link.now);
  const s2 = link.session.unsubscribe(["a"], undefined, link.now);
  const ids = [p1, s1, p2, s2];
  t.equal(new Set(ids).size, 4, `all distinct: ${ids.join(",")}`);
  t.ok(
    ids.every((id) => id > 0),
    "never 0",
  );
  t.ok(link.session.outbox.isIdInUse?.(s1) === true, "the outbox sees the pending SUBSCRIBE id");
  t.end();
});

test("maxPendingRequests bounds SUBSCRIBE/UNSUBSCRIBE awaiting acknowledgement", (t) => {
  const link = new Link({ session: { maxPendingRequests: 2 }, broker: { autoSuback: false } });
  link.connect();
  link.session.subscribe([{ topic: "a", qos: 0 }], undefined, link.now);
  link.session.subscribe([{ topic: "b", qos: 0 }], undefined, link.now);
  t.throws(() => link.session.subscribe([{ topic: "c", qos: 0 }], undefined, link.now), isMqttError(ErrorCode.OutboxFull));
  const [first] = link.flush();
  if (first.type === 8) link.broker.suback(first);
  link.toClient();
  t.doesNotThrow(() => link.session.subscribe([{ topic: "c", qos: 0 }], undefined, link.now), "a SUBACK frees a place");
  t.end();
});
