// Outbox: example-based tests (flows, byte vectors, policies, ring layout, snapshots).
// Property tests with a model live in outbox-model.test.ts.
import test from "tape";
import { Outbox, RecordState, crc32 } from "../../modules/mqtt/outbox";
import type { OutboxOptions } from "../../modules/mqtt/outbox";
import { encode } from "../../modules/mqtt/codec/encoder";
import { ErrorCode, MqttError } from "../../modules/mqtt/errors";
import type { ProtocolVersion, PublishPacket, QoS, Properties } from "../../modules/mqtt/codec/packets";

const T0 = 1_700_000_000_000; // a Date.now()-sized clock: beyond 32 bits on purpose

function ascii(s: string): Uint8Array {
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i);
  return b;
}

function pub(topic: string, payload: Uint8Array | string, qos: QoS, properties?: Properties): PublishPacket {
  const p: PublishPacket = {
    type: 3,
    topic,
    payload: typeof payload === "string" ? ascii(payload) : payload,
    qos,
    retain: false,
    dup: false,
  };
  if (properties !== undefined) p.properties = properties;
  return p;
}

function bytesOf(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + 1) & 0xff;
  return b;
}

function list(u: Uint8Array): number[] {
  return Array.prototype.slice.call(u) as number[];
}

function isCode(code: number): (err: unknown) => boolean {
  return (err) => err instanceof MqttError && err.code === code;
}

/** Every observable bit of state, through the public API only. */
function fingerprint(ob: Outbox, now: number): string {
  const slots: number[][] = [];
  for (let s = ob.first(); s >= 0; s = ob.next(s)) slots.push([s, ob.state(s), ob.packetId(s), ob.qos(s), ob.offset(s), ob.length(s)]);
  return JSON.stringify([ob.counters, slots, list(ob.buffer), list(ob.snapshot(now))]);
}

/** Sends the next waiting record the way the session does; returns [slot, wire bytes copy]. */
function sendNext(ob: Outbox, now: number): [number, number[]] {
  const slot = ob.peek(now);
  if (slot < 0) return [slot, []];
  const wire = list(ob.bytes(slot, now));
  ob.markSent(slot);
  return [slot, wire];
}

function make(options: OutboxOptions = {}): Outbox {
  return new Outbox(options);
}

test("crc32 gives the IEEE 802.3 check value 0xCBF43926 for '123456789'", (t) => {
  t.equal(crc32(ascii("123456789")), 0xcbf43926);
  t.equal(crc32(new Uint8Array(0)), 0);
  t.equal(crc32(ascii("xx123456789yy"), 2, 11), 0xcbf43926, "honours start/end");
  t.end();
});

test("constructor: defaults 16384 bytes, 64 slots, zero counters", (t) => {
  const ob = make();
  t.equal(ob.capacity, 16384);
  t.equal(ob.maxMessages, 64);
  t.equal(ob.buffer.length, 16384);
  t.deepEqual({ ...ob.counters }, { queued: 0, inflight: 0, dropped: 0, expired: 0, bytesUsed: 0 });
  t.equal(ob.peek(T0), -1);
  t.end();
});

test("constructor rejects invalid options with RangeError/TypeError", (t) => {
  t.throws(() => make({ capacity: 0 }), RangeError);
  t.throws(() => make({ capacity: 100.5 }), RangeError);
  t.throws(() => make({ maxMessages: 0 }), RangeError);
  t.throws(() => make({ maxMessages: 65536 }), RangeError);
  t.throws(() => make({ qos0Offline: "drop" as "queue" }), RangeError);
  t.throws(() => make({ coalesceQos0: 1 as unknown as boolean }), TypeError);
  t.end();
});

test("QoS 1 (3.1.1): id 1 assigned, wire bytes exact, PUBACK frees the record", (t) => {
  const ob = make({ capacity: 256, maxMessages: 4 });
  const id = ob.enqueue(pub("a/b", "hi", 1), 4, T0, true);
  t.equal(id, 1, "first id is 1, never 0 [MQTT-2.3.1-1]");
  t.ok(ob.has(1));
  t.deepEqual({ ...ob.counters }, { queued: 1, inflight: 0, dropped: 0, expired: 0, bytesUsed: 11 });
  const slot = ob.peek(T0);
  t.equal(ob.state(slot), RecordState.Queued);
  t.equal(ob.qos(slot), 1);
  t.equal(ob.packetId(slot), 1);
  t.equal(ob.version(slot), 4);
  // MQTT 3.1.1 §3.3: 0x32 = PUBLISH, DUP 0, QoS 1, RETAIN 0; remaining length 9;
  // topic length 3 "a/b"; packet id 0x0001; payload "hi".
  t.deepEqual(list(ob.bytes(slot, T0)), [0x32, 0x09, 0x00, 0x03, 0x61, 0x2f, 0x62, 0x00, 0x01, 0x68, 0x69]);
  ob.markSent(slot);
  t.equal(ob.state(slot), RecordState.InFlight);
  t.equal(ob.peek(T0), -1, "nothing else waits");
  t.deepEqual([ob.counters.queued, ob.counters.inflight], [0, 1]);
  t.ok(ob.acknowledge(1, 4));
  t.notOk(ob.has(1));
  t.deepEqual({ ...ob.counters }, { queued: 0, inflight: 0, dropped: 0, expired: 0, bytesUsed: 0 });
  t.end();
});

test("QoS 0: packet id 0, freed by markSent, never sent with DUP [MQTT-3.3.1-2]", (t) => {
  const ob = make({ capacity: 128, maxMessages: 4 });
  t.equal(ob.enqueue(pub("t", "x", 0), 4, T0, true), 0);
  const slot = ob.peek(T0);
  t.equal(ob.packetId(slot), 0);
  t.deepEqual(list(ob.bytes(slot, T0)), [0x30, 0x04, 0x00, 0x01, 0x74, 0x78]);
  ob.markSent(slot);
  t.throws(() => ob.state(slot), RangeError, "slot is free");
  t.deepEqual([ob.counters.queued, ob.counters.inflight, ob.counters.bytesUsed], [0, 0, 0]);
  t.end();
});

test("QoS 2: PUBREC -> Released and the PUBLISH bytes are freed; PUBREL 62 02 id; PUBCOMP frees [MQTT-3.6.1-1]", (t) => {
  for (const version of [4, 5] as ProtocolVersion[]) {
    const ob = make({ capacity: 128, maxMessages: 4 });
    ob.enqueue(pub("x", "1", 1), version, T0, true); // id 1, completed first
    const id = ob.enqueue(pub("q2", "payload", 2), version, T0, true);
    t.equal(id, 2);
    sendNext(ob, T0);
    ob.acknowledge(1, 4);
    const [slot] = sendNext(ob, T0);
    t.equal(ob.state(slot), RecordState.InFlight);
    t.ok(ob.acknowledge(2, 5), "PUBREC accepted");
    t.equal(ob.state(slot), RecordState.Released);
    t.equal(ob.counters.bytesUsed, 0, "PUBLISH bytes no longer held");
    t.equal(ob.counters.inflight, 1, "still in flight until PUBCOMP");
    // PUBREL: type 6 with flags 0010; v5 omits reason code 0 and properties (MQTT 5.0 §3.6.2.1).
    t.deepEqual(list(ob.bytes(slot, T0)), [0x62, 0x02, 0x00, 0x02], `PUBREL v${version}`);
    t.equal(ob.length(slot), 4);
    t.equal(ob.offset(slot), 0);
    t.notOk(ob.acknowledge(2, 5), "a second PUBREC changes nothing");
    t.ok(ob.acknowledge(2, 7), "PUBCOMP accepted");
    t.notOk(ob.has(2));
    t.deepEqual([ob.counters.queued, ob.counters.inflight, ob.counters.bytesUsed], [0, 0, 0]);
  }
  t.end();
});

test("acknowledge returns false and changes nothing for the wrong type, state or id", (t) => {
  const ob = make({ capacity: 256, maxMessages: 8 });
  ob.enqueue(pub("a", "1", 1), 4, T0, true); // 1: stays Queued
  ob.enqueue(pub("b", "2", 2), 4, T0, true); // 2
  ob.enqueue(pub("c", "3", 1), 4, T0, true); // 3
  ob.markSent(ob.peekAfter(ob.peek(T0), T0)); // send 2 only
  const before = fingerprint(ob, T0);
  t.notOk(ob.acknowledge(1, 4), "PUBACK for a message not yet sent");
  t.notOk(ob.acknowledge(2, 4), "PUBACK for a QoS 2 message");
  t.notOk(ob.acknowledge(2, 7), "PUBCOMP before PUBREC");
  t.notOk(ob.acknowledge(3, 5), "PUBREC for a queued QoS 1 message");
  t.notOk(ob.acknowledge(9, 4), "unknown id");
  t.notOk(ob.acknowledge(0, 4), "id 0");
  t.notOk(ob.remove(0), "remove id 0");
  t.equal(fingerprint(ob, T0), before);
  t.throws(() => ob.acknowledge(2, 6 as 4), RangeError, "type 6 is not an acknowledgement of ours");
  t.end();
});

test("packet ids cycle instead of reusing the lowest free id", (t) => {
  const ob = make({ capacity: 256, maxMessages: 4 });
  const seen: number[] = [];
  for (let i = 0; i < 5; i++) {
    const id = ob.enqueue(pub("a", "x", 1), 4, T0, true);
    seen.push(id);
    sendNext(ob, T0);
    ob.acknowledge(id, 4);
  }
  t.deepEqual(seen, [1, 2, 3, 4, 5]);
  t.end();
});

test("packet ids wrap from 65535 to 1, never 0 [MQTT-2.3.1-1]", (t) => {
  // A snapshot with no records and next id 65535 (layout in outbox.ts).
  const snap = new Uint8Array(11);
  snap.set([0x6f, 0x62, 1, 0xff, 0xff, 0, 0]);
  const c = crc32(snap, 0, 7);
  snap.set([c >>> 24, (c >>> 16) & 255, (c >>> 8) & 255, c & 255], 7);
  const ob = make({ capacity: 256, maxMessages: 4 });
  ob.restore(snap, T0);
  t.equal(ob.enqueue(pub("a", "x", 1), 4, T0, true), 65535);
  t.equal(ob.enqueue(pub("a", "x", 2), 4, T0, true), 1);
  t.end();
});

test("never assigns an id held by the outbox or reported by isIdInUse [MQTT-2.3.1-2]", (t) => {
  const ob = make({ capacity: 512, maxMessages: 8 });
  ob.isIdInUse = (id) => id === 2 || id === 3;
  t.equal(ob.enqueue(pub("a", "x", 1), 4, T0, true), 1);
  t.equal(ob.enqueue(pub("a", "x", 1), 4, T0, true), 4, "2 and 3 belong to SUBSCRIBE/UNSUBSCRIBE");
  // Force the cycle back to 1 while 1 is still held: it must be skipped.
  const snap = ob.snapshot(T0);
  const view = new DataView(snap.buffer);
  view.setUint16(3, 1);
  view.setUint32(snap.length - 4, crc32(snap, 0, snap.length - 4));
  ob.restore(snap, T0);
  t.equal(ob.enqueue(pub("a", "x", 2), 4, T0, true), 5, "1 in the outbox, 2-3 in use, 4 in the outbox");
  ob.isIdInUse = () => true;
  const before = fingerprint(ob, T0);
  t.throws(() => ob.enqueue(pub("a", "x", 1), 4, T0, true), isCode(ErrorCode.OutboxFull), "no id left");
  t.equal(fingerprint(ob, T0), before, "unchanged");
  t.end();
});

test("OutboxFull when every slot is taken; a failed enqueue changes nothing", (t) => {
  const ob = make({ capacity: 1024, maxMessages: 3 });
  for (let i = 0; i < 3; i++) ob.enqueue(pub("a", "x", 1), 4, T0, true);
  const before = fingerprint(ob, T0);
  t.throws(() => ob.enqueue(pub("a", "x", 1), 4, T0, true), isCode(ErrorCode.OutboxFull));
  t.throws(() => ob.enqueue(pub("a", "x", 0), 4, T0, true), isCode(ErrorCode.OutboxFull), "QoS 0 too");
  t.equal(fingerprint(ob, T0), before);
  t.end();
});

test("OutboxFull when the bytes do not fit; a QoS 1 message is never dropped silently", (t) => {
  const ob = make({ capacity: 64, maxMessages: 8 });
  ob.enqueue(pub("t", bytesOf(25), 1), 4, T0, true); // 2 + 3 + 2 + 25 = 32 bytes
  ob.enqueue(pub("t", bytesOf(25), 1), 4, T0, true); // ring now full
  t.equal(ob.counters.bytesUsed, 64);
  const before = fingerprint(ob, T0);
  t.throws(() => ob.enqueue(pub("t", "", 1), 4, T0, true), isCode(ErrorCode.OutboxFull));
  t.throws(() => ob.enqueue(pub("t", bytesOf(100), 1), 4, T0, true), isCode(ErrorCode.OutboxFull), "larger than the ring");
  t.equal(fingerprint(ob, T0), before);
  t.equal(ob.counters.dropped, 0);
  t.end();
});

test("resend after requeue sets DUP and keeps the original order [MQTT-3.3.1-1] [MQTT-4.6.0-1]", (t) => {
  const ob = make({ capacity: 512, maxMessages: 8 });
  const ids = [ob.enqueue(pub("a", "1", 1), 4, T0, true), ob.enqueue(pub("b", "2", 2), 4, T0, true)];
  ob.enqueue(pub("c", "3", 0), 4, T0, true);
  const first = [sendNext(ob, T0), sendNext(ob, T0), sendNext(ob, T0)];
  t.deepEqual(first.map(([, w]) => w[0]), [0x32, 0x34, 0x30], "first transmission: DUP 0");
  t.deepEqual([ob.counters.queued, ob.counters.inflight], [0, 2]);
  ob.enqueue(pub("d", "4", 1), 4, T0, false); // published while offline
  ob.requeue();
  t.deepEqual([ob.counters.queued, ob.counters.inflight], [3, 0]);
  const again = [sendNext(ob, T0), sendNext(ob, T0), sendNext(ob, T0)];
  t.deepEqual(again.map(([s]) => ob.packetId(s)), [ids[0], ids[1], 3], "same order, QoS 0 not resent");
  t.deepEqual(again.map(([, w]) => w[0]), [0x3a, 0x3c, 0x32], "DUP 1 on resends, 0 on the first send of d");
  t.deepEqual(again[0][1], [0x3a, 0x06, 0x00, 0x01, 0x61, 0x00, 0x01, 0x31]);
  t.end();
});

test("requeue turns Released into ReleaseQueued: the PUBREL is sent again [MQTT-4.4.0-1]", (t) => {
  const ob = make({ capacity: 256, maxMessages: 4 });
  const id = ob.enqueue(pub("q", "2", 2), 5, T0, true);
  const [slot] = sendNext(ob, T0);
  ob.acknowledge(id, 5); // the session writes the PUBREL itself
  t.equal(ob.find(id), slot);
  t.equal(ob.state(slot), RecordState.Released);
  t.equal(ob.peek(T0), -1);
  ob.requeue();
  t.equal(ob.peek(T0), slot);
  t.equal(ob.state(slot), RecordState.ReleaseQueued);
  t.deepEqual(list(ob.bytes(slot, T0)), [0x62, 0x02, 0x00, id]);
  ob.markSent(slot);
  t.equal(ob.state(slot), RecordState.Released);
  t.throws(() => ob.markSent(slot), RangeError, "not waiting any more");
  t.ok(ob.acknowledge(id, 7));
  t.end();
});

/** Offset of the 4-byte Message Expiry Interval value in a v5 PUBLISH with only that property. */
function expiryValue(wire: number[], topicLength: number, qos: number): number {
  const at = 2 + 2 + topicLength + (qos ? 2 : 0) + 1 + 1; // fixed header, topic, id, props length, prop id
  return ((wire[at] << 24) | (wire[at + 1] << 16) | (wire[at + 2] << 8) | wire[at + 3]) >>> 0;
}

test("Message Expiry Interval is rewritten to the time left when sent [MQTT-3.3.2-6]", (t) => {
  const ob = make({ capacity: 256, maxMessages: 4 });
  ob.enqueue(pub("exp", "v", 1, { messageExpiryInterval: 60 }), 5, T0, false);
  const slot = ob.peek(T0 + 10_500);
  const wire = list(ob.bytes(slot, T0 + 10_500));
  t.equal(expiryValue(wire, 3, 1), 50, "60 s minus 10 whole seconds waited");
  const withId: PublishPacket = { ...pub("exp", "v", 1, { messageExpiryInterval: 50 }), packetId: 1 };
  t.deepEqual(wire, list(encode(withId, 5)), "the rest of the PUBLISH is unchanged");
  t.equal(expiryValue(list(ob.bytes(slot, T0)), 3, 1), 60, "nothing waited: the original interval");
  t.equal(expiryValue(list(ob.bytes(slot, T0 + 59_999)), 3, 1), 1, "under a second left: 1");
  t.end();
});

test("an expired message never sent is discarded at peek and counted", (t) => {
  const ob = make({ capacity: 256, maxMessages: 4 });
  ob.enqueue(pub("a", "old", 1, { messageExpiryInterval: 5 }), 5, T0, false);
  ob.enqueue(pub("b", "old0", 0, { messageExpiryInterval: 5 }), 5, T0, false);
  const keep = ob.enqueue(pub("c", "new", 1, { messageExpiryInterval: 60 }), 5, T0, false);
  t.equal(ob.peek(T0 + 4_999), ob.peek(T0), "not yet expired");
  const slot = ob.peek(T0 + 5_000);
  t.equal(ob.packetId(slot), keep, "the first two expired at 5 s");
  t.equal(ob.counters.expired, 2);
  t.equal(ob.counters.queued, 1);
  t.notOk(ob.has(1), "id 1 is free again");
  t.end();
});

test("a message sent before its deadline is still resent after it, with interval 1", (t) => {
  const ob = make({ capacity: 256, maxMessages: 4 });
  ob.enqueue(pub("exp", "v", 1, { messageExpiryInterval: 5 }), 5, T0, true);
  sendNext(ob, T0 + 1_000);
  ob.requeue(); // reconnect, much later
  const slot = ob.peek(T0 + 3_600_000);
  t.ok(slot >= 0, "not discarded: the server may hold its id [MQTT-4.4.0-1]");
  const wire = list(ob.bytes(slot, T0 + 3_600_000));
  t.equal(wire[0], 0x3a, "DUP");
  t.equal(expiryValue(wire, 3, 1), 1);
  t.equal(ob.counters.expired, 0);
  t.equal(ob.discardExpired(T0 + 3_600_000), 0, "discardExpired spares it too");
  t.end();
});

test("Message Expiry Interval 0 is sent unchanged and not expired locally", (t) => {
  const ob = make({ capacity: 256, maxMessages: 4 });
  ob.enqueue(pub("z", "v", 0, { messageExpiryInterval: 0 }), 5, T0, false);
  const slot = ob.peek(T0 + 100_000);
  t.ok(slot >= 0);
  t.deepEqual(list(ob.bytes(slot, T0 + 100_000)), list(encode(pub("z", "v", 0, { messageExpiryInterval: 0 }), 5)));
  t.end();
});

test("3.1.1 records carry no expiry: the property is not encoded and nothing expires", (t) => {
  const ob = make({ capacity: 256, maxMessages: 4 });
  ob.enqueue(pub("a", "v", 1, { messageExpiryInterval: 1 }), 4, T0, false);
  const slot = ob.peek(T0 + 100_000);
  t.ok(slot >= 0);
  t.deepEqual(list(ob.bytes(slot, T0)), [0x32, 0x06, 0x00, 0x01, 0x61, 0x00, 0x01, 0x76]);
  t.end();
});

test("discardExpired drops only never-sent expired messages", (t) => {
  const ob = make({ capacity: 256, maxMessages: 8 });
  ob.enqueue(pub("a", "1", 1, { messageExpiryInterval: 1 }), 5, T0, true);
  sendNext(ob, T0); // in flight: must be completed
  ob.enqueue(pub("b", "2", 1, { messageExpiryInterval: 1 }), 5, T0, false);
  ob.enqueue(pub("c", "3", 0, { messageExpiryInterval: 1 }), 5, T0, false);
  ob.enqueue(pub("d", "4", 1), 5, T0, false);
  t.equal(ob.discardExpired(T0 + 999), 0);
  t.equal(ob.discardExpired(T0 + 1000), 2);
  t.equal(ob.counters.expired, 2);
  t.deepEqual([ob.has(1), ob.has(2), ob.has(3)], [true, false, true]);
  t.end();
});

test("QoS 0 offline: 'discard' drops it (-1, counted); online it is stored", (t) => {
  const ob = make({ capacity: 256, maxMessages: 4, qos0Offline: "discard" });
  t.equal(ob.enqueue(pub("a", "x", 0), 4, T0, false), -1);
  t.deepEqual([ob.counters.dropped, ob.counters.queued, ob.counters.bytesUsed], [1, 0, 0]);
  t.equal(ob.enqueue(pub("a", "x", 0), 4, T0, true), 0);
  t.equal(ob.counters.queued, 1);
  t.equal(ob.enqueue(pub("a", "x", 1), 4, T0, false), 1, "QoS 1 is always queued");
  t.end();
});

test("QoS 0 offline: 'queue' drops the oldest QoS 0 first when room is needed, for any QoS", (t) => {
  const ob = make({ capacity: 64, maxMessages: 8 });
  // each record: 0x30 len, topic "t" (3), payload 11 -> 2 + 3 + 11 = 16 bytes
  for (let i = 0; i < 4; i++) ob.enqueue(pub("t", bytesOf(11).map(() => 65 + i), 0), 4, T0, false);
  t.equal(ob.counters.bytesUsed, 64);
  t.equal(ob.enqueue(pub("t", bytesOf(11).map(() => 69), 0), 4, T0, false), 0);
  t.equal(ob.counters.dropped, 1);
  let slot = ob.peek(T0);
  t.equal(ob.bytes(slot, T0)[5], 66, "message A (the oldest) was dropped, B is next");
  // A QoS 1 message of 32 bytes takes the room of the two oldest QoS 0 messages.
  t.equal(ob.enqueue(pub("t", bytesOf(25), 1), 4, T0, false), 1);
  t.equal(ob.counters.dropped, 3);
  slot = ob.peek(T0);
  t.equal(ob.bytes(slot, T0)[5], 68, "B and C dropped; D is the oldest left");
  t.deepEqual([ob.counters.queued, ob.counters.bytesUsed], [3, 64]);
  t.end();
});

test("queued QoS 0 behind an unacknowledged QoS 1 cannot make room: OutboxFull, nothing dropped", (t) => {
  const ob = make({ capacity: 64, maxMessages: 8 });
  ob.enqueue(pub("t", bytesOf(9), 1), 4, T0, true); // 16 bytes at 0, sent
  sendNext(ob, T0);
  ob.enqueue(pub("t", bytesOf(11), 0), 4, T0, false); // 16 at 16
  ob.enqueue(pub("t", bytesOf(11), 0), 4, T0, false); // 16 at 32
  ob.enqueue(pub("t", bytesOf(11), 0), 4, T0, false); // 16 at 48
  const before = fingerprint(ob, T0);
  t.throws(() => ob.enqueue(pub("t", bytesOf(9), 1), 4, T0, false), isCode(ErrorCode.OutboxFull));
  t.equal(fingerprint(ob, T0), before, "the QoS 0 messages were not dropped in vain");
  t.equal(ob.counters.dropped, 0);
  t.end();
});

test("a queued QoS 0 is dropped to free a slot even when it is not the oldest record", (t) => {
  const ob = make({ capacity: 256, maxMessages: 3 });
  ob.enqueue(pub("a", "1", 1), 4, T0, true);
  ob.enqueue(pub("b", "2", 0), 4, T0, false);
  ob.enqueue(pub("c", "3", 0), 4, T0, false);
  t.equal(ob.enqueue(pub("d", "4", 1), 4, T0, false), 2);
  t.equal(ob.counters.dropped, 1);
  const order: string[] = [];
  for (let s = ob.peek(T0); s >= 0; s = ob.peekAfter(s, T0)) order.push(String.fromCharCode(ob.bytes(s, T0)[4]));
  t.deepEqual(order, ["a", "c", "d"], "b, the oldest QoS 0, made way");
  t.end();
});

test("an expired never-sent message makes room before anything is refused", (t) => {
  const ob = make({ capacity: 64, maxMessages: 8 });
  ob.enqueue(pub("t", bytesOf(20), 1, { messageExpiryInterval: 1 }), 5, T0, false); // 2+3+2+6+20 = 33
  ob.enqueue(pub("t", bytesOf(20), 1), 5, T0, false); // 28
  const before = fingerprint(ob, T0);
  t.throws(() => ob.enqueue(pub("t", bytesOf(20), 1), 5, T0 + 999, false), isCode(ErrorCode.OutboxFull));
  t.equal(fingerprint(ob, T0), before);
  t.equal(ob.enqueue(pub("t", bytesOf(20), 1), 5, T0 + 1000, false), 3);
  t.deepEqual([ob.counters.expired, ob.counters.dropped, ob.has(1)], [1, 0, false]);
  t.end();
});

test("coalesceQos0 keeps only the newest queued QoS 0 message per topic", (t) => {
  const ob = make({ capacity: 512, maxMessages: 8, coalesceQos0: true });
  ob.enqueue(pub("t/é", "1", 0), 4, T0, false);
  ob.enqueue(pub("t/e", "2", 0), 4, T0, false);
  ob.enqueue(pub("t/é", "3", 1), 4, T0, false); // QoS 1 is never coalesced
  ob.enqueue(pub("t/é", "4", 0), 4, T0, false); // replaces "1"
  t.equal(ob.counters.dropped, 1);
  t.equal(ob.counters.queued, 3);
  const payloads: number[] = [];
  for (let s = ob.peek(T0); s >= 0; s = ob.peekAfter(s, T0)) {
    const w = ob.bytes(s, T0);
    payloads.push(w[w.length - 1]);
  }
  t.deepEqual(payloads.map((c) => String.fromCharCode(c)), ["2", "3", "4"], "newest value last, in publish order");
  t.end();
});

test("coalescing never drops the old value when the new one does not fit", (t) => {
  const ob = make({ capacity: 64, maxMessages: 8, coalesceQos0: true });
  ob.enqueue(pub("a", bytesOf(10), 1), 4, T0, true);
  sendNext(ob, T0); // 17 bytes pinned at the head
  ob.enqueue(pub("t", bytesOf(10), 0), 4, T0, false);
  const before = fingerprint(ob, T0);
  t.throws(() => ob.enqueue(pub("t", bytesOf(45), 0), 4, T0, false), isCode(ErrorCode.OutboxFull));
  t.equal(fingerprint(ob, T0), before);
  t.end();
});

test("wrap-around: a record that does not fit at the end pads it and starts at 0", (t) => {
  const ob = make({ capacity: 64, maxMessages: 8 });
  const ids: number[] = [];
  for (let i = 0; i < 3; i++) ids.push(ob.enqueue(pub("t", bytesOf(13), 1), 4, T0, true)); // 20 bytes each
  t.equal(ob.counters.bytesUsed, 60);
  for (let i = 0; i < 3; i++) sendNext(ob, T0);
  ob.acknowledge(ids[0], 4);
  ob.acknowledge(ids[1], 4);
  t.equal(ob.counters.bytesUsed, 20, "head moved to the third record");
  const id = ob.enqueue(pub("t", bytesOf(13), 1), 4, T0, true);
  const slot = ob.peek(T0);
  t.equal(ob.packetId(slot), id);
  t.equal(ob.offset(slot), 0, "wrapped to the start");
  t.equal(ob.counters.bytesUsed, 20 + 4 + 20, "the 4 padding bytes at the end count as used");
  const expected = list(encode({ ...pub("t", bytesOf(13), 1), packetId: id }, 4));
  t.deepEqual(list(ob.bytes(slot, T0)), expected, "record intact, not split");
  ob.acknowledge(ids[2], 4);
  t.equal(ob.counters.bytesUsed, 20, "padding reclaimed with the record before it");
  t.end();
});

test("wrap boundaries: a record fits the free space exactly or not at all", (t) => {
  const ob = make({ capacity: 64, maxMessages: 8 });
  const rec = (n: number) => pub("t", bytesOf(n - 7), 1); // 2 + 3 + 2 + payload = n bytes (n < 130)
  const a = ob.enqueue(rec(19), 4, T0, true); // [0, 19)
  const b = ob.enqueue(rec(20), 4, T0, true); // [19, 39)
  ob.enqueue(rec(20), 4, T0, true); // [39, 59), 5 bytes left at the end
  ob.acknowledge(a, 4); // never sent: PUBACK refused
  ob.remove(a); // head -> 19: 19 bytes free at the start
  t.equal(ob.counters.bytesUsed, 64 - 19 - 5);
  const before = fingerprint(ob, T0);
  t.throws(() => ob.enqueue(rec(20), 4, T0, true), isCode(ErrorCode.OutboxFull), "20 bytes do not fit in 19 + 5");
  t.equal(fingerprint(ob, T0), before);
  const d = ob.enqueue(rec(19), 4, T0, true);
  t.equal(ob.offset(ob.find(d)), 0, "19 bytes: wrapped, exactly filling the start");
  t.equal(ob.counters.bytesUsed, 64, "full, 5 bytes of padding included");
  t.throws(() => ob.enqueue(pub("t", "", 0), 4, T0, true), isCode(ErrorCode.OutboxFull), "full: not one more byte");
  ob.remove(b); // head -> 39: [19, 39) free, between tail and head
  t.equal(ob.counters.bytesUsed, 44);
  t.throws(() => ob.enqueue(rec(21), 4, T0, true), isCode(ErrorCode.OutboxFull), "21 bytes do not fit in 20");
  const e = ob.enqueue(rec(20), 4, T0, true);
  t.equal(ob.offset(ob.find(e)), 19);
  t.equal(ob.counters.bytesUsed, 64);
  t.end();
});

test("fragmentation: a record freed in the middle is reclaimed only when everything older is freed", (t) => {
  const ob = make({ capacity: 64, maxMessages: 8 });
  const ids: number[] = [];
  for (let i = 0; i < 3; i++) ids.push(ob.enqueue(pub("t", bytesOf(13), 1), 4, T0, true));
  for (let i = 0; i < 3; i++) sendNext(ob, T0);
  t.ok(ob.acknowledge(ids[1], 4));
  t.equal(ob.counters.bytesUsed, 60, "hole in the middle still counted");
  t.throws(() => ob.enqueue(pub("t", bytesOf(13), 1), 4, T0, true), isCode(ErrorCode.OutboxFull), "the hole cannot be used");
  t.ok(ob.acknowledge(ids[0], 4));
  t.equal(ob.counters.bytesUsed, 20, "the hole went with the oldest record");
  t.ok(ob.acknowledge(ids[2], 4));
  t.equal(ob.counters.bytesUsed, 0);
  t.end();
});

test("snapshot/restore: identical contents; in-flight comes back queued and is resent with DUP", (t) => {
  const options = { capacity: 256, maxMessages: 8 };
  const ob = make(options);
  const a = ob.enqueue(pub("a", "1", 1), 5, T0, true);
  const b = ob.enqueue(pub("b", "2", 2), 5, T0, true);
  const c = ob.enqueue(pub("c", "3", 2, { messageExpiryInterval: 100, userProperties: [["k", "v"]] }), 5, T0, true);
  ob.enqueue(pub("d", "4", 0), 5, T0, false);
  sendNext(ob, T0);
  sendNext(ob, T0);
  ob.acknowledge(b, 5); // Released
  const snap = ob.snapshot(T0 + 30_000);
  const copy = make(options);
  copy.restore(snap, T0 + 500_000); // later boot, another clock
  t.deepEqual(list(copy.snapshot(T0 + 500_000)), list(snap), "snapshot of the restored outbox is identical");
  t.deepEqual(
    { ...copy.counters },
    { queued: 4, inflight: 0, dropped: 0, expired: 0, bytesUsed: ob.counters.bytesUsed - 9 },
    "records packed from 0: the 9-byte hole b's PUBLISH left at PUBREC is gone",
  );
  const sent: number[][] = [];
  for (let i = 0; i < 4; i++) sent.push(sendNext(copy, T0 + 510_000)[1]);
  t.equal(sent[0][0], 0x3a, "a: DUP set, in flight before the reboot");
  t.deepEqual(sent[1], [0x62, 0x02, 0x00, b], "b: PUBREL resent");
  t.equal(sent[2][0], 0x34, "c: never sent, no DUP");
  t.equal(expiryValue(sent[2], 1, 2), 60, "c: 100 s - 30 s before the snapshot - 10 s after restore");
  t.equal(sent[3][0], 0x30, "d: QoS 0");
  t.deepEqual([copy.has(a), copy.has(b), copy.has(c)], [true, true, true]);
  t.equal(copy.enqueue(pub("e", "5", 1), 5, T0, true), 4, "id cycle continues after restore");
  t.end();
});

test("restore rejects a corrupt snapshot with SnapshotInvalid and leaves the outbox unchanged", (t) => {
  const src = make({ capacity: 256, maxMessages: 8 });
  src.enqueue(pub("a", "1", 1), 4, T0, true);
  src.enqueue(pub("b", "22", 0), 5, T0, true);
  const good = src.snapshot(T0);
  const ob = make({ capacity: 256, maxMessages: 8 });
  ob.enqueue(pub("mine", "x", 2), 4, T0, true);
  const before = fingerprint(ob, T0);
  const bad = (mutate: (b: Uint8Array) => Uint8Array, msg: string) => {
    const b = mutate(good.slice());
    t.throws(() => ob.restore(b, T0), isCode(ErrorCode.SnapshotInvalid), msg);
    t.equal(fingerprint(ob, T0), before, `${msg}: unchanged`);
  };
  bad((b) => ((b[12] ^= 0x01), b), "one flipped bit in a record");
  bad((b) => ((b[b.length - 1] ^= 0x80), b), "flipped bit in the CRC");
  bad((b) => ((b[2] = 2), b), "unknown format version");
  bad((b) => ((b[0] = 0), b), "wrong magic");
  bad((b) => b.subarray(0, b.length - 5), "truncated");
  bad((b) => b.subarray(0, 6), "shorter than a header");
  bad((b) => {
    // A well-formed CRC over a record count that promises more than is there.
    const v = new DataView(b.buffer);
    v.setUint16(5, 3);
    v.setUint32(b.length - 4, crc32(b, 0, b.length - 4));
    return b;
  }, "record count beyond the data (CRC valid)");
  bad((b) => {
    const c = new Uint8Array(b.length + 1);
    c.set(b.subarray(0, b.length - 4));
    new DataView(c.buffer).setUint32(c.length - 4, crc32(c, 0, c.length - 4));
    return c;
  }, "trailing byte (CRC valid)");
  t.doesNotThrow(() => ob.restore(good, T0), "the untouched snapshot restores");
  t.end();
});

test("restore into a smaller outbox throws OutboxFull and changes nothing", (t) => {
  const src = make({ capacity: 256, maxMessages: 8 });
  for (let i = 0; i < 3; i++) src.enqueue(pub("a", bytesOf(40), 1), 4, T0, true);
  const snap = src.snapshot(T0);
  for (const options of [{ capacity: 100, maxMessages: 8 }, { capacity: 256, maxMessages: 2 }]) {
    const ob = make(options);
    ob.enqueue(pub("x", "y", 1), 4, T0, true);
    const before = fingerprint(ob, T0);
    t.throws(() => ob.restore(snap, T0), isCode(ErrorCode.OutboxFull), JSON.stringify(options));
    t.equal(fingerprint(ob, T0), before);
  }
  t.end();
});

test("a Topic Alias cannot be stored (MQTT 5.0 §3.3.2.3.4)", (t) => {
  const ob = make({ capacity: 256, maxMessages: 4 });
  t.throws(() => ob.enqueue(pub("a", "x", 1, { topicAlias: 1 }), 5, T0, true), RangeError);
  t.throws(() => ob.enqueue({ ...pub("a", "x", 3 as QoS) }, 4, T0, true), RangeError, "QoS 3 [MQTT-3.3.1-4]");
  t.throws(() => ob.enqueue(pub("a", "x", 1), 3 as ProtocolVersion, T0, true), RangeError);
  t.equal(ob.counters.queued, 0);
  t.end();
});

test("prepare/offset/length expose the same wire bytes as bytes() without a view", (t) => {
  const ob = make({ capacity: 256, maxMessages: 4 });
  ob.enqueue(pub("p", "q", 1, { messageExpiryInterval: 9 }), 5, T0, true);
  const slot = ob.peek(T0);
  ob.markSent(slot);
  ob.requeue();
  const view = list(ob.bytes(slot, T0 + 2_000));
  const store = ob.prepare(slot, T0 + 2_000);
  t.equal(store, ob.buffer, "a PUBLISH is read from the ring itself");
  t.deepEqual(list(store.subarray(ob.offset(slot), ob.offset(slot) + ob.length(slot))), view);
  t.equal(view[0], 0x3a);
  t.end();
});

test("remove frees a record in any state; clear frees them all", (t) => {
  const ob = make({ capacity: 256, maxMessages: 4 });
  const a = ob.enqueue(pub("a", "1", 2), 4, T0, true);
  const b = ob.enqueue(pub("b", "2", 1), 4, T0, true);
  sendNext(ob, T0);
  ob.acknowledge(a, 5);
  t.ok(ob.remove(a), "Released record removed (v5 PUBREC with a failure reason)");
  t.notOk(ob.remove(a));
  t.ok(ob.remove(b), "Queued record removed");
  t.deepEqual({ ...ob.counters }, { queued: 0, inflight: 0, dropped: 0, expired: 0, bytesUsed: 0 });
  ob.enqueue(pub("c", "3", 1), 4, T0, true);
  ob.enqueue(pub("d", "4", 0), 4, T0, true);
  ob.clear();
  t.deepEqual([ob.counters.queued, ob.counters.bytesUsed, ob.peek(T0)], [0, 0, -1]);
  t.equal(ob.enqueue(pub("e", "5", 1), 4, T0, true), 4, "ids keep cycling after clear");
  t.end();
});

test("slot accessors throw RangeError for a free or invalid slot", (t) => {
  const ob = make({ capacity: 256, maxMessages: 4 });
  t.throws(() => ob.bytes(0, T0), RangeError);
  t.throws(() => ob.state(-1), RangeError);
  t.throws(() => ob.qos(4), RangeError);
  t.throws(() => ob.markSent(0.5), RangeError);
  t.throws(() => ob.peekAfter(1, T0), RangeError);
  t.end();
});

test("v5 record with properties: bytes equal the codec's encoding with the assigned id", (t) => {
  const ob = make({ capacity: 512, maxMessages: 4 });
  const props: Properties = {
    payloadFormatIndicator: 1,
    contentType: "text/plain",
    userProperties: [["a", "b"]],
    messageExpiryInterval: 3600,
    correlationData: ascii("corr"),
    responseTopic: "reply/here",
  };
  const id = ob.enqueue(pub("dev/1/state", "on", 2, props), 5, T0, true);
  const slot = ob.peek(T0 + 1);
  t.equal(ob.version(slot), 5);
  t.deepEqual(list(ob.bytes(slot, T0 + 1)), list(encode({ ...pub("dev/1/state", "on", 2, props), packetId: id }, 5)));
  const later = { ...props, messageExpiryInterval: 3600 - 61 };
  t.deepEqual(
    list(ob.bytes(slot, T0 + 61_000)),
    list(encode({ ...pub("dev/1/state", "on", 2, later), packetId: id }, 5)),
    "only the expiry value changed, wherever the codec put it",
  );
  t.end();
});

test("the interval sent is not rounded up by floating-point noise in the clock [MQTT-3.3.2-6]", (t) => {
  // 130083.64219409319 + 1000 - 130083.64219409319 is 1000.0000000000001 in
  // binary floating point: a plain ceil() of that would send 2 s for 1 s left.
  const now = 130083.64219409319;
  const ob = make({ capacity: 256, maxMessages: 4 });
  ob.enqueue(pub("exp", "v", 1, { messageExpiryInterval: 1 }), 5, now, false);
  const slot = ob.peek(now);
  t.equal(expiryValue(list(ob.bytes(slot, now)), 3, 1), 1, "1 s left is sent as 1");
  t.end();
});

test("a QoS 1 message that expires unsent is reported once by pollExpired", (t) => {
  const ob = make({ capacity: 256, maxMessages: 4 });
  const id = ob.enqueue(pub("exp", "v", 1, { messageExpiryInterval: 2 }), 5, T0, false);
  t.equal(ob.pollExpired(), 0, "nothing expired yet");
  t.equal(ob.peek(T0 + 2_001), -1, "discarded at peek");
  t.equal(ob.pollExpired(), id, "its packet id is reported");
  t.equal(ob.pollExpired(), 0, "only once");
  t.end();
});

test("packet id index: colliding ids (id and id + table size held at once) stay findable through any delete order", (t) => {
  // 4 records: an 8-bucket id table. A long-lived record keeps its id while
  // the id cycle moves on, so later ids land on occupied buckets.
  let seed = 0x2545f491;
  const random = (n: number): number => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) % n;
  };
  const ob = make({ capacity: 4096, maxMessages: 4 });
  const live = new Set<number>();
  let checks = 0;
  let mismatches = 0;
  for (let round = 0; round < 3000; round++) {
    if (live.size < 4 && (live.size === 0 || random(3) !== 0)) {
      const id = ob.enqueue(pub("t", "x", 1), 4, T0, true);
      live.add(id);
      // Send it so a PUBACK can free it.
      const slot = ob.peek(T0);
      if (slot >= 0) ob.markSent(slot);
    } else {
      const ids = [...live];
      const id = ids[random(ids.length)];
      if (!ob.acknowledge(id, 4)) mismatches++;
      live.delete(id);
    }
    // Every live id is found, a few absent ones are not.
    for (const id of live) {
      checks++;
      if (!ob.has(id)) mismatches++;
    }
    for (let k = 0; k < 3; k++) {
      const other = 1 + random(40);
      if (!live.has(other)) {
        checks++;
        if (ob.has(other)) mismatches++;
      }
    }
  }
  t.equal(mismatches, 0, `${checks} lookups, all right`);
  t.end();
});
