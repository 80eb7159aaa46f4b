/**
 * Client.end(): graceful (drain the outbox, DISCONNECT, close), without
 * draining, forced (no DISCONNECT: the broker publishes the Will), while
 * offline, and the order of the callbacks.
 */
import test from "tape";
import { Client, ClientState } from "../../modules/mqtt/client";
import type { ClientOptions } from "../../modules/mqtt/client";
import { ErrorCode, MqttError } from "../../modules/mqtt/errors";
import type { ProtocolVersion } from "../../modules/mqtt/codec/packets";
import { FakeClock, FakeNet, acceptConnect, scriptedRandom, types, untilNewSocket, wire } from "./support/client-fakes";

function setup(options: Partial<ClientOptions> = {}, version: ProtocolVersion = 4) {
  const clock = new FakeClock();
  const net = new FakeNet(version);
  const log: string[] = [];
  const client = new Client({
    socket: { io: net.TCP, host: "127.0.0.1", port: 1883 },
    timer: clock.timer,
    now: clock.now,
    random: scriptedRandom(0.5),
    protocolVersion: version,
    clientId: "end",
    onClose: (e) => log.push(`close ${e === undefined ? "-" : e.code.toString(16)}`),
    onEnd: () => log.push("end"),
    ...options,
  });
  return { clock, net, client, log };
}

test("graceful end waits for in-flight QoS 1/2, then sends DISCONNECT, then closes; callbacks in order", (t) => {
  const { clock, net, client, log } = setup();
  client.connect();
  const s = acceptConnect(net);
  const id1 = client.publish("a", "1", { qos: 1 }, (e) => log.push(`pub1 ${e === undefined}`));
  const id2 = client.publish("b", "2", { qos: 2 }, (e) => log.push(`pub2 ${e === undefined}`));
  t.deepEqual(types(s.packets()), [3, 3]);
  client.end(undefined, () => log.push("callback"));
  t.equal(client.state, ClientState.Ending);
  t.throws(() => client.publish("c", "3"), (e: unknown) => e instanceof MqttError && e.code === ErrorCode.Closed, "no new publish while ending");
  t.deepEqual(types(s.packets()), [], "no DISCONNECT while messages are in flight");
  s.deliver(wire({ type: 4, packetId: id1, reasonCode: 0 }));
  t.deepEqual(types(s.packets()), [], "still one in flight");
  s.deliver(wire({ type: 5, packetId: id2, reasonCode: 0 }));
  t.deepEqual(types(s.packets()), [6], "PUBREL, no DISCONNECT yet");
  t.notOk(s.closed);
  s.deliver(wire({ type: 7, packetId: id2, reasonCode: 0 }));
  t.deepEqual(types(s.packets()), [14], "DISCONNECT once drained");
  t.ok(s.closed, "socket closed after the DISCONNECT was written");
  t.deepEqual(log, ["pub1 true", "pub2 true", "close -", "end", "callback"]);
  t.equal(client.state, ClientState.Ended);
  t.equal(clock.armed, 0, "no timer left armed (a Node process could exit)");
  clock.advance(120000);
  t.equal(net.sockets.length, 1, "no reconnect after end");
  t.end();
});

test("end with drain false sends DISCONNECT at once; unacknowledged messages stay in the outbox", (t) => {
  const { net, client, log } = setup();
  client.connect();
  const s = acceptConnect(net);
  client.publish("a", "1", { qos: 1 }, (e) => log.push(`pub ${e?.code.toString(16)}`));
  s.packets();
  client.end({ drain: false });
  t.deepEqual(types(s.packets()), [14]);
  t.ok(s.closed);
  t.deepEqual(log, ["close -", "pub 105", "end"], "pending publish callback gets Closed");
  t.equal(client.outbox.counters.inflight + client.outbox.counters.queued, 1, "the message is still in the outbox");
  t.end();
});

test("forced end closes the socket without DISCONNECT", (t) => {
  const { net, client, log } = setup();
  client.connect();
  const s = acceptConnect(net);
  client.publish("a", "1", { qos: 1 });
  s.packets();
  client.end({ force: true }, () => log.push("callback"));
  t.deepEqual(types(s.packets()), [], "no DISCONNECT: the broker will publish the Will");
  t.ok(s.closed);
  t.deepEqual(log, [`close ${ErrorCode.Closed.toString(16)}`, "end", "callback"]);
  t.end();
});

test("end while waiting to reconnect ends at once and cancels the reconnect", (t) => {
  const { clock, net, client, log } = setup();
  client.connect();
  net.last.fail();
  t.equal(client.state, ClientState.Waiting);
  log.length = 0;
  client.end(undefined, () => log.push("callback"));
  t.deepEqual(log, ["end", "callback"], "no second close");
  t.equal(client.state, ClientState.Ended);
  t.equal(clock.armed, 0);
  t.equal(untilNewSocket(clock, net), -1, "no new socket");
  t.end();
});

test("end while connecting aborts the attempt", (t) => {
  const { clock, net, client, log } = setup();
  client.connect();
  net.last.open();
  client.end();
  t.ok(net.last.closed);
  t.deepEqual(log, [`close ${ErrorCode.Closed.toString(16)}`, "end"]);
  t.equal(clock.armed, 0);
  t.end();
});

test("end before connect() and a second end both complete", (t) => {
  const { client, log } = setup();
  let n = 0;
  client.end(undefined, () => (n += 1));
  client.end(undefined, () => (n += 1));
  t.equal(n, 2);
  t.equal(client.state, ClientState.Ended);
  t.deepEqual(log, [], "no close/end events: nothing was running");
  t.end();
});

test("connect() after end starts again and resends what the outbox kept", (t) => {
  const { net, client } = setup();
  client.connect();
  let s = acceptConnect(net);
  client.publish("keep", "1", { qos: 1 });
  s.packets();
  client.end({ drain: false });
  client.connect();
  t.equal(client.state, ClientState.Connecting);
  s = acceptConnect(net);
  const out = s.packets();
  t.deepEqual(types(out), [3], "the message is resent");
  t.equal((out[0] as { dup: boolean }).dup, true, "with DUP [MQTT-3.3.1-1]");
  t.end();
});

test("a DISCONNECT that cannot be written at once is written when the socket drains", (t) => {
  const { net, client, log } = setup();
  client.connect();
  const s = acceptConnect(net, false, 4, 20);
  client.publish("t", "0123456789012345678901234567890", { qos: 0 });
  client.end({ drain: false });
  t.notOk(s.closed, "socket kept open for the pending bytes");
  s.grant(100);
  const out = s.packets();
  t.deepEqual(types(out), [3, 14], "PUBLISH then DISCONNECT");
  t.ok(s.closed);
  t.deepEqual(log, ["close -", "end"]);
  t.end();
});

test("a socket that never drains is closed after lingerTimeout", (t) => {
  const { clock, net, client, log } = setup({ lingerTimeout: 2000 });
  client.connect();
  const s = acceptConnect(net, false, 4, 20);
  client.publish("t", "0123456789012345678901234567890", { qos: 0 });
  client.end({ drain: false });
  t.notOk(s.closed);
  clock.advance(1999);
  t.notOk(s.closed);
  clock.advance(1);
  t.ok(s.closed, "closed at the linger deadline");
  t.deepEqual(log, ["close -", "end"]);
  t.end();
});
