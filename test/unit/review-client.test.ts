/**
 * Review regression (client.ts): a socket kept open to let a DISCONNECT out
 * ("linger", after the session ended while the socket was not writable)
 * is never closed when the reconnect timer fires first. The first backoff
 * ceiling (1 s) is below the default linger (2 s), so a first reconnect
 * always fires first; `open()` replaces `this.socket` without closing it.
 * On a device each leaked socket holds an lwIP PCB.
 */
import test from "tape";
import { Client, ClientState } from "../../modules/mqtt/client";
import { FakeClock, FakeNet, acceptConnect, scriptedRandom, untilNewSocket } from "./support/client-fakes";

test("review: a lingering socket is closed when the client reconnects", (t) => {
  const clock = new FakeClock();
  const net = new FakeNet(5);
  const client = new Client({
    protocolVersion: 5,
    socket: { io: net.TCP, host: "127.0.0.1", port: 1883 },
    timer: clock.timer,
    now: clock.now,
    random: scriptedRandom(0.5),
    onError: () => {},
  });
  client.connect();
  const first = acceptConnect(net, false, 5);
  first.grant(0); // the socket cannot take more bytes for now
  client.publish("a/b", "x", { qos: 1 });
  first.deliver(new Uint8Array([0x00, 0x00])); // a malformed packet: the session queues DISCONNECT 0x81 and ends
  t.equal(client.state, ClientState.Waiting, "a reconnect is scheduled");
  t.notOk(first.closed, "the socket lingers to let the DISCONNECT out");
  t.ok(untilNewSocket(clock, net) >= 0, "the client reconnects");
  t.ok(first.closed, "the lingering socket of the previous connection is closed");
  clock.advance(10000);
  t.ok(first.closed, "...and stays closed (it is not leaked)");
  client.end({ force: true });
  t.end();
});
