/**
 * Persistence of the outbox and the inbound QoS 2 state: the session blob
 * (version, CRC), the debounced writer (no write for a message acknowledged
 * within the window, one write per window otherwise, store cleared when
 * nothing is outstanding), and simulated restarts of a telemetry node: QoS
 * 1 states queued while the broker was unreachable are delivered after the
 * reboot; a QoS 2 message received before the reboot is not delivered
 * again when the broker resends it. Runs on Node and inside XS.
 */
import test from "tape";
import { ErrorCode, MqttError } from "../../modules/mqtt/errors";
import type { PublishPacket } from "../../modules/mqtt/codec/packets";
import { Session } from "../../modules/mqtt/session";
import { MemoryStore } from "../../modules/persist/memory-store";
import { SessionPersistence, decodeSessionBlob, encodeSessionBlob } from "../../modules/persist/session-persistence";
import type { RestoreResult } from "../../modules/persist/session-persistence";
import { encode } from "../../modules/mqtt/codec/encoder";
import { Harness, ScriptedSensor, text, utf8 } from "./support/telemetry-harness";

function session(): Session {
  return new Session({ clientId: "p", clean: false, protocolVersion: 4 });
}

function target(s: Session) {
  return { outbox: s.outbox, session: s };
}

test("session blob: round trip of outbox records and inbound QoS 2 ids", (t) => {
  const a = session();
  a.publish("t/1", "one", { qos: 1 }, 0);
  a.publish("t/2", "two", { qos: 2 }, 0);
  a.restoreInboundQos2Ids([7, 65535]);
  const blob = encodeSessionBlob(target(a), 0);
  t.deepEqual([blob[0], blob[1], blob[2]], [0x73, 0x70, 1], "magic 'sp', version 1");
  const parts = decodeSessionBlob(blob);
  t.deepEqual(parts.ids, [7, 65535]);
  t.deepEqual(Array.from(parts.snapshot), Array.from(a.outbox.snapshot(0)), "the outbox snapshot inside");
  const b = session();
  const store = new MemoryStore();
  store.save(blob);
  const result = new SessionPersistence(store, target(b)).restore(10);
  t.equal(result.restored, true);
  t.equal(result.messages, 2);
  t.equal(result.inboundQos2, 2);
  t.deepEqual(b.inboundQos2Ids().sort((x, y) => x - y), [7, 65535]);
  t.equal(b.outbox.counters.queued, 2);
  t.end();
});

test("session blob: any damaged byte is refused and restores nothing", (t) => {
  const a = session();
  a.publish("t/1", "one", { qos: 1 }, 0);
  a.restoreInboundQos2Ids([3]);
  const blob = encodeSessionBlob(target(a), 0);
  let refused = 0;
  for (let i = 0; i < blob.length; i++) {
    const bad = blob.slice();
    bad[i] ^= 0x5a;
    const b = session();
    const store = new MemoryStore();
    store.save(bad);
    const result = new SessionPersistence(store, target(b)).restore(0);
    if (!result.restored && result.error instanceof MqttError && result.error.code === ErrorCode.SnapshotInvalid && b.outbox.counters.queued === 0 && b.inboundQos2Ids().length === 0) refused++;
  }
  t.equal(refused, blob.length, `all ${blob.length} single-byte corruptions refused`);
  const b = session();
  const store = new MemoryStore();
  store.save(blob.subarray(0, blob.length - 1));
  t.ok(new SessionPersistence(store, target(b)).restore(0).error instanceof MqttError, "truncated blob refused");
  t.end();
});

test("a blob that needs a bigger outbox is refused with OutboxFull and changes nothing", (t) => {
  const a = session();
  for (let i = 0; i < 5; i++) a.publish("t", `m${i}`, { qos: 1 }, 0);
  const store = new MemoryStore();
  store.save(encodeSessionBlob(target(a), 0));
  const small = new Session({ clientId: "p", clean: false, outbox: { maxMessages: 3 } });
  const result = new SessionPersistence(store, target(small)).restore(0);
  t.equal(result.restored, false);
  t.equal((result.error as MqttError).code, ErrorCode.OutboxFull);
  t.equal(small.outbox.counters.queued, 0);
  t.end();
});

test("debounce: a message acknowledged within the window is never written", (t) => {
  const s = session();
  const store = new MemoryStore();
  const p = new SessionPersistence(store, target(s), { saveDelay: 1000 });
  p.restore(0);
  t.equal(p.pollTimeout(), undefined, "idle: no deadline");
  const id = s.publish("t", "x", { qos: 1 }, 0);
  p.check(0);
  t.equal(p.pollTimeout(), 1000, "save due one window after the change");
  s.outbox.remove(id); // PUBACK
  p.check(400);
  t.equal(p.handleTimeout(1000), undefined);
  t.equal(store.saves, 0, "nothing written");
  t.equal(store.clears, 0);
  t.equal(p.pollTimeout(), undefined);
  t.end();
});

test("debounce: one write per window while changes keep coming; cleared once everything is acknowledged", (t) => {
  const s = session();
  const store = new MemoryStore();
  const p = new SessionPersistence(store, target(s), { saveDelay: 1000 });
  p.restore(0);
  const ids: number[] = [];
  for (let ms = 0; ms < 3000; ms += 100) {
    ids.push(s.publish("t", `m${ms}`, { qos: 1 }, ms));
    p.check(ms);
    const due = p.pollTimeout();
    if (due !== undefined && due <= ms) p.handleTimeout(ms);
  }
  t.equal(store.saves, 2, "saves at 1000 and 2100 (30 publishes over 3 s)");
  p.flush(3000);
  t.equal(store.saves, 3, "flush writes what changed since");
  t.equal(decodeSessionBlob(store.peek()!).ids.length, 0);
  const restored = session();
  new SessionPersistence(store, target(restored)).restore(0);
  t.equal(restored.outbox.counters.queued, 30, "all 30 in the store");
  for (const id of ids) s.outbox.remove(id);
  t.equal(p.pollTimeout(), 3000 + 1000, "polls one window after the last check while something is stored");
  p.handleTimeout(4000);
  t.equal(p.pollTimeout(), 5000, "save due");
  p.handleTimeout(5000);
  t.equal(store.peek(), undefined, "store cleared when nothing is outstanding");
  t.equal(p.pollTimeout(), undefined, "idle again");
  t.end();
});

test("a failing store: the error is returned and the save retried one window later", (t) => {
  const s = session();
  let fail = true;
  let saved = 0;
  const store = {
    load: () => undefined,
    save: () => {
      if (fail) throw new Error("flash busy");
      saved++;
    },
    clear: () => undefined,
  };
  const p = new SessionPersistence(store, target(s), { saveDelay: 500 });
  p.restore(0);
  s.publish("t", "x", { qos: 1 }, 0);
  p.check(0);
  const error = p.handleTimeout(500);
  t.equal((error as Error).message, "flash busy");
  t.equal(p.pollTimeout(), 1000);
  fail = false;
  t.equal(p.handleTimeout(1000), undefined);
  t.equal(saved, 1);
  t.end();
});

function counterNode(store: MemoryStore, sensor: ScriptedSensor, restored: RestoreResult[] = []): Harness {
  return new Harness(
    { id: "meter", sensors: [{ sensor, fields: [{ name: "count", deadband: 0 }] }], qos: 1, sampleInterval: 1000, period: 60000 },
    { store, saveDelay: 500, onRestore: (r) => restored.push(r), backoffInitial: 60000, backoffMax: 60000 },
  );
}

test("restart: QoS 1 states queued while the broker was unreachable survive a reboot and are delivered after it", (t) => {
  const store = new MemoryStore();
  const sensor = new ScriptedSensor({ count: 0 });
  const a = counterNode(store, sensor);
  a.node.start();
  a.socket.fail({ code: "ECONNREFUSED" } as never); // the broker is unreachable
  for (let i = 1; i <= 4; i++) {
    sensor.value = { count: i };
    a.advance(1000);
  }
  t.equal(a.node.client.outbox.counters.queued, 4, "four QoS 1 states waiting (the first sample was before any connection)");
  a.advance(500); // the debounce window of the last one
  t.ok(store.saves >= 1, "written to the store");
  // Crash: node A is abandoned without stop() or flush().
  const restored: RestoreResult[] = [];
  const b = counterNode(store, new ScriptedSensor({ count: 100 }), restored);
  b.node.start();
  t.equal(restored.length, 1);
  t.equal(restored[0].messages, 4);
  b.accept();
  const states = b.publishes("meter/state").map((p) => JSON.parse(p.text).count);
  t.deepEqual(states, [1, 2, 3, 4, 100], "the four queued before the reboot, in order, then the fresh state");
  t.ok(b.publishes("meter/state").slice(0, 4).every((p) => p.packet.qos === 1), "still QoS 1");
  b.advance(1000);
  t.equal(b.node.client.outbox.counters.queued + b.node.client.outbox.counters.inflight, 0, "all acknowledged");
  t.equal(store.peek(), undefined, "the store is cleared once nothing is outstanding");
  t.end();
});

test("restart: a change made less than saveDelay before the crash is lost (the documented window)", (t) => {
  const store = new MemoryStore();
  const sensor = new ScriptedSensor({ count: 0 });
  const a = counterNode(store, sensor);
  a.node.start();
  a.socket.fail({ code: "ECONNREFUSED" } as never);
  sensor.value = { count: 1 };
  a.advance(1000); // state 1 queued at t+1000, due to be saved at t+1500
  a.advance(499);
  const b = counterNode(store, new ScriptedSensor({ count: 100 }));
  b.node.start();
  b.accept();
  t.deepEqual(b.publishes("meter/state").map((p) => JSON.parse(p.text).count), [100]);
  t.end();
});

test("stop() flushes the store at once (before a deliberate power-off or deep sleep)", (t) => {
  const store = new MemoryStore();
  const sensor = new ScriptedSensor({ count: 0 });
  const a = counterNode(store, sensor);
  a.node.start();
  a.socket.fail({ code: "ECONNREFUSED" } as never);
  sensor.value = { count: 7 };
  a.node.sampleNow();
  t.equal(store.saves, 0, "not yet (debounced)");
  a.node.stop();
  t.equal(store.saves, 1, "flushed by stop");
  const b = counterNode(store, new ScriptedSensor({ count: 100 }));
  b.node.start();
  b.accept();
  t.deepEqual(b.publishes("meter/state").map((p) => JSON.parse(p.text).count), [7, 100]);
  t.end();
});

function qos2Node(store: MemoryStore, got: string[]): Harness {
  return new Harness({ id: "sub", sampleInterval: 1000, period: 60000 }, { store, saveDelay: 500, onMessage: (p: PublishPacket) => got.push(text(p.payload)) });
}

test("restart: the inbound QoS 2 state survives; the broker's resend after the reboot is not delivered twice", (t) => {
  for (const restore of [true, false]) {
    const store = new MemoryStore();
    const got: string[] = [];
    const a = qos2Node(store, got);
    a.node.start();
    a.accept();
    a.deliver("app/cmd", "exactly-once", { qos: 2, packetId: 7 });
    t.deepEqual(got, ["exactly-once"]);
    const pubrec = a.sent.filter((s) => s.packet.type === 5);
    t.equal(pubrec.length, 1, "PUBREC sent; the broker's PUBREL is lost with the crash");
    a.advance(600);
    // Crash, reboot. `restore: false` is the control: without the store the resend is delivered again.
    const b = qos2Node(restore ? store : new MemoryStore(), got);
    b.node.start();
    b.accept(true);
    // The broker resends the PUBLISH with DUP [MQTT-4.4.0-1].
    b.socket.deliver(encode({ type: 3, topic: "app/cmd", payload: utf8("exactly-once"), qos: 2, retain: false, dup: true, packetId: 7 }, 4));
    b.pump();
    t.deepEqual(got, restore ? ["exactly-once"] : ["exactly-once", "exactly-once"], restore ? "not delivered again (id held across the reboot)" : "control: delivered twice without persistence");
    t.ok(b.sent.some((s) => s.packet.type === 5 && (s.packet as { packetId: number }).packetId === 7), "PUBREC again");
  }
  t.end();
});
