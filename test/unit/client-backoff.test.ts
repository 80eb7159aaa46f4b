/**
 * Client reconnect policy: exponential backoff with full jitter, cap,
 * reset after a connection that stayed up, and no reconnect storm when the
 * broker refuses the CONNECT. Fake socket class, fake clock/timer, scripted
 * random; the real Session.
 */
import test from "tape";
import { Client, ClientState } from "../../modules/mqtt/client";
import type { ClientOptions } from "../../modules/mqtt/client";
import { ErrorCode, MqttError } from "../../modules/mqtt/errors";
import type { ProtocolVersion } from "../../modules/mqtt/codec/packets";
import { FakeClock, FakeNet, scriptedRandom, untilNewSocket, wire } from "./support/client-fakes";

function setup(options: Partial<ClientOptions> = {}, version: ProtocolVersion = 4) {
  const clock = new FakeClock();
  const net = new FakeNet(version);
  const closes: Array<MqttError | undefined> = [];
  const client = new Client({
    socket: { io: net.TCP, host: "127.0.0.1", port: 1883 },
    timer: clock.timer,
    now: clock.now,
    random: scriptedRandom(0.5),
    protocolVersion: version,
    clientId: "backoff",
    onClose: (error) => closes.push(error),
    ...options,
  });
  return { clock, net, client, closes };
}

/** Opens the last socket and answers its CONNECT with CONNACK `reasonCode`. */
function answer(net: FakeNet, reasonCode: number, version: ProtocolVersion = 4): void {
  const s = net.last;
  s.open();
  s.packets();
  s.deliver(wire({ type: 2, sessionPresent: false, reasonCode }, version));
}

test("reconnect delays double with full jitter up to backoffMax", (t) => {
  const { clock, net, client } = setup({ backoffInitial: 1000, backoffMax: 60000 });
  client.connect();
  t.equal(net.sockets.length, 1, "connect() opens a socket at once, no delay");
  const delays: number[] = [];
  for (let i = 0; i < 9; i++) {
    net.last.fail({ name: "Error", message: "refused", code: "ECONNREFUSED" });
    t.equal(client.state, ClientState.Waiting, "waiting for the backoff after a failure");
    delays.push(untilNewSocket(clock, net));
  }
  // random() = 0.5 of ceilings 1, 2, 4, 8, 16, 32, then capped 60 s.
  t.deepEqual(delays, [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  t.end();
});

test("full jitter uses the whole [0, ceiling) range", (t) => {
  const { clock, net, client } = setup({ random: scriptedRandom(0, 0.999, 0.25) });
  client.connect();
  const delays: number[] = [];
  for (let i = 0; i < 3; i++) {
    net.last.fail();
    delays.push(untilNewSocket(clock, net));
  }
  t.deepEqual(delays, [0, Math.floor(0.999 * 2000), 1000], "floor(random * min(max, initial * 2^n))");
  t.end();
});

test("backoff resets after a connection stayed up backoffResetAfter ms", (t) => {
  const { clock, net, client } = setup({ backoffResetAfter: 10000, keepalive: 0 });
  client.connect();
  net.last.fail();
  untilNewSocket(clock, net);
  net.last.fail();
  untilNewSocket(clock, net);
  net.last.fail();
  t.equal(untilNewSocket(clock, net), 2000, "third retry: ceiling 4 s, jitter 0.5");
  answer(net, 0);
  t.equal(client.state, ClientState.Connected);
  clock.advance(10000);
  net.last.fail({ name: "Error", message: "reset", code: "ECONNRESET" });
  t.equal(untilNewSocket(clock, net), 500, "after 10 s up, the next retry starts from backoffInitial again");
  t.end();
});

test("a connection shorter than backoffResetAfter keeps the backoff growing (accept-then-kick)", (t) => {
  const { clock, net, client } = setup({ backoffResetAfter: 10000, keepalive: 0 });
  client.connect();
  const delays: number[] = [];
  for (let i = 0; i < 4; i++) {
    answer(net, 0);
    t.equal(client.state, ClientState.Connected, `attempt ${i} connected`);
    clock.advance(2000);
    net.last.fail({ name: "Error", message: "closed by the broker", code: "EOF" });
    delays.push(untilNewSocket(clock, net));
  }
  t.deepEqual(delays, [500, 1000, 2000, 4000], "kicked after 2 s each time: delays still double");
  t.end();
});

test("no reconnect storm when the broker refuses (3.1.1 return code 5, not authorized)", (t) => {
  const { clock, net, client, closes } = setup({ random: scriptedRandom(0.9) });
  client.connect();
  const start = clock.t;
  let attempts = 0;
  const gaps: number[] = [];
  while (clock.t - start < 600000) {
    answer(net, 5);
    attempts += 1;
    net.last.fail({ name: "Error", message: "closed", code: "EOF" }); // the broker hangs up; stale, ignored
    const gap = untilNewSocket(clock, net);
    if (gap < 0) break;
    gaps.push(gap);
  }
  t.ok(attempts >= 10 && attempts <= 20, `at most ~1 attempt per backoff window in 10 minutes (got ${attempts})`);
  for (let i = 1; i < gaps.length; i++) t.ok(gaps[i] >= gaps[i - 1], `gap ${i} does not shrink (${gaps[i - 1]} -> ${gaps[i]})`);
  t.equal(gaps[gaps.length - 1], 54000, "capped at 0.9 * 60 s");
  const e = closes[0];
  t.ok(e instanceof MqttError, "onClose gets an MqttError");
  t.equal(e?.code, ErrorCode.ConnectionRefused, "code ConnectionRefused");
  t.equal(e?.reasonCode, 5, "reasonCode is the CONNACK return code");
  t.equal(e?.source, "remote");
  t.equal(closes.length, attempts, "every refusal is reported once");
  t.end();
});

test("a refused v5 CONNECT (0x86 bad user name or password) is reported with its reason code and backed off", (t) => {
  const { clock, net, client, closes } = setup({}, 5);
  client.connect();
  answer(net, 0x86, 5);
  t.equal(closes.length, 1);
  t.equal(closes[0]?.code, 0x86, "code is the v5 reason code");
  t.equal(closes[0]?.reasonCode, 0x86);
  t.equal(client.state, ClientState.Waiting, "backing off, not reconnecting at once");
  t.equal(net.sockets.length, 1, "no new socket yet");
  t.ok(net.sockets[0].closed, "the refused socket is closed");
  t.equal(untilNewSocket(clock, net), 500);
  t.end();
});

test("reconnectOnRefusal false: a refused CONNECT stops the client", (t) => {
  const { clock, net, client, closes } = setup({ reconnectOnRefusal: false });
  client.connect();
  answer(net, 4);
  t.equal(closes[0]?.reasonCode, 4);
  t.equal(client.state, ClientState.Idle);
  t.equal(untilNewSocket(clock, net), -1, "no timer, no new socket");
  t.end();
});

test("reconnect false: a lost connection goes Idle", (t) => {
  const { clock, net, client } = setup({ reconnect: false });
  client.connect();
  answer(net, 0);
  net.last.fail();
  t.equal(client.state, ClientState.Idle);
  t.equal(clock.armed, 0, "no timer left armed");
  client.connect();
  t.equal(net.sockets.length, 2, "connect() starts again");
  t.end();
});

test("connect timeout closes the attempt and backs off", (t) => {
  const { clock, net, client, closes } = setup({ connectTimeout: 5000 });
  client.connect();
  net.last.open();
  clock.advance(5000);
  t.equal(closes[0]?.code, ErrorCode.ConnectTimeout, "ConnectTimeout reported");
  t.ok(net.sockets[0].closed, "socket closed");
  t.equal(client.state, ClientState.Waiting);
  t.equal(untilNewSocket(clock, net), 500);
  t.end();
});

test("a socket constructor that throws counts as a failed attempt", (t) => {
  const clock = new FakeClock();
  let made = 0;
  const closes: Array<MqttError | undefined> = [];
  class Broken {
    constructor() {
      made += 1;
      throw new Error("invalid address");
    }
  }
  const client = new Client({
    socket: { io: Broken as never, host: "nowhere", port: 1883 },
    timer: clock.timer,
    now: clock.now,
    random: scriptedRandom(0.5),
    onClose: (e) => closes.push(e),
  });
  client.connect();
  t.equal(made, 1);
  t.equal(closes[0]?.code, ErrorCode.ConnectionLost, "reported as ConnectionLost (transport)");
  t.equal(closes[0]?.source, "transport");
  clock.fireNext();
  t.equal(made, 2, "retried after the backoff");
  t.end();
});
