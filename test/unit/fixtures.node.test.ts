/**
 * The broker fixtures of test/support (Mosquitto, aedes, fault proxy) work,
 * proven with a plain MQTT.js client on 127.0.0.1. Node-only.
 */
import test from "tape";
import { readFileSync } from "node:fs";
import { connect } from "mqtt";
import type { IClientOptions, MqttClient } from "mqtt";
import { startMosquitto } from "../support/mosquitto";
import type { MosquittoBroker } from "../support/mosquitto";
import { startAedes } from "../support/aedes";
import { startFaultProxy } from "../support/fault-proxy";
import type { CutEvent } from "../support/fault-proxy";
import { delay, waitUntil } from "../support/net-util";

/** Connects and resolves on CONNACK, or rejects with the client's error. No reconnects. */
function open(url: string, options: IClientOptions = {}): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const client = connect(url, { reconnectPeriod: 0, connectTimeout: 3000, ...options });
    client.once("connect", () => resolve(client));
    client.once("error", (error) => {
      client.end(true);
      reject(error);
    });
    client.once("close", () => reject(new Error("closed before CONNACK")));
  });
}

function close(client: MqttClient): Promise<void> {
  return new Promise((resolve) => client.end(false, {}, () => resolve()));
}

/** Resolves with the next message on `client` (topic, payload as text). */
function nextMessage(client: MqttClient, timeoutMs = 2000): Promise<{ topic: string; payload: string; retain: boolean }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no message")), timeoutMs);
    client.once("message", (topic, payload, packet) => {
      clearTimeout(timer);
      resolve({ topic, payload: payload.toString(), retain: packet.retain });
    });
  });
}

function codeOf(error: unknown): number | undefined {
  return (error as { code?: number }).code;
}

test("mosquitto: publish/subscribe round trip over 3.1.1 and 5.0 on a generated config", async (t) => {
  const broker = await startMosquitto({ maxInflightMessages: 0, maxQueuedMessages: 5000, extra: ["max_packet_size 100000"] });
  try {
    const config = readFileSync(broker.configPath, "utf8");
    t.ok(config.includes(`listener ${broker.port} 127.0.0.1`), "listens on loopback only");
    t.ok(config.includes("max_inflight_messages 0") && config.includes("max_queued_messages 5000"), "limits written");
    t.ok(config.includes("max_packet_size 100000"), "extra lines written");
    for (const protocolVersion of [4, 5] as const) {
      const sub = await open(broker.url, { protocolVersion, clientId: `sub-${protocolVersion}` });
      await sub.subscribeAsync("fixture/+", { qos: 1 });
      const pub = await open(broker.url, { protocolVersion });
      const got = nextMessage(sub);
      await pub.publishAsync("fixture/a", `hello v${protocolVersion}`, { qos: 1 });
      const message = await got;
      t.deepEqual([message.topic, message.payload], ["fixture/a", `hello v${protocolVersion}`], `round trip, protocol ${protocolVersion}`);
      await close(pub);
      await close(sub);
    }
    t.ok(broker.log().includes("mosquitto version 2."), "log captured");
  } finally {
    await broker.dispose();
  }
});

test("mosquitto: password file rejects a wrong password and the ACL file limits topics", async (t) => {
  const broker = await startMosquitto({
    users: { alice: "secret", bob: "hunter2", carol: "pw" },
    acl: "user alice\ntopic readwrite alice/#\nuser bob\ntopic read alice/#\nuser carol\ntopic readwrite carol/#",
  });
  try {
    let refused: unknown;
    try {
      const client = await open(broker.url, { username: "alice", password: "wrong" });
      await close(client);
    } catch (error) {
      refused = error;
    }
    t.ok([4, 5].includes(codeOf(refused) ?? -1), `wrong password refused with CONNACK ${codeOf(refused)}`);
    let anonymous: unknown;
    try {
      await open(broker.url);
    } catch (error) {
      anonymous = error;
    }
    t.equal(codeOf(anonymous), 5, "anonymous refused (not authorized)");
    const alice = await open(broker.url, { username: "alice", password: "secret" });
    const bob = await open(broker.url, { username: "bob", password: "hunter2" });
    const carol = await open(broker.url, { username: "carol", password: "pw" });
    await alice.subscribeAsync({ "alice/#": { qos: 1 }, "carol/#": { qos: 1 } });
    await bob.subscribeAsync("alice/#", { qos: 1 });
    const got = nextMessage(bob, 1000);
    await alice.publishAsync("alice/news", "from alice", { qos: 1 });
    t.equal((await got).payload, "from alice", "bob reads what alice writes");
    // Mosquitto 2.0.11 grants the SUBACK for carol/# but filters delivery by the read ACL.
    const notRead = nextMessage(alice, 300).then((m) => `delivered ${m.topic}`, () => "not delivered");
    await carol.publishAsync("carol/x", "from carol", { qos: 1 });
    t.equal(await notRead, "not delivered", "alice may not read carol/#");
    const notWritten = nextMessage(alice, 300).then((m) => `delivered ${m.payload}`, () => "not delivered");
    await bob.publishAsync("alice/news", "from bob", { qos: 0 });
    t.equal(await notWritten, "not delivered", "bob may not write alice/# (dropped by the ACL)");
    await close(alice);
    await close(bob);
    await close(carol);
  } finally {
    await broker.dispose();
  }
});

test("mosquitto: TLS listener with the generated CA; untrusted without it", async (t) => {
  const broker = await startMosquitto({ tls: true });
  try {
    t.ok(broker.tlsUrl?.startsWith("mqtts://127.0.0.1:"), "tls url");
    const secure = await open(broker.tlsUrl!, { ca: broker.pki!.caCertPem, protocolVersion: 5 });
    const got = nextMessage(secure);
    await secure.subscribeAsync("tls/t");
    await secure.publishAsync("tls/t", "over tls");
    t.equal((await got).payload, "over tls", "round trip over TLS");
    await close(secure);
    const byName = await open(`mqtts://localhost:${broker.tlsPort}`, { ca: broker.pki!.caCertPem });
    t.pass("certificate also valid for localhost");
    await close(byName);
    let failure: unknown;
    try {
      await open(broker.tlsUrl!, {});
    } catch (error) {
      failure = error;
    }
    t.equal((failure as { code?: string }).code, "SELF_SIGNED_CERT_IN_CHAIN", "without the CA the chain is not trusted");
  } finally {
    await broker.dispose();
  }
});

test("mosquitto: restart keeps the port, retained messages and persistent sessions", async (t) => {
  const broker: MosquittoBroker = await startMosquitto({ persistence: true });
  try {
    const port = broker.port;
    const session = await open(broker.url, { clientId: "persistent-1", clean: false, protocolVersion: 4 });
    await session.subscribeAsync("queued/#", { qos: 1 });
    await close(session);
    const pub = await open(broker.url);
    await pub.publishAsync("kept/1", "retained value", { qos: 1, retain: true });
    await pub.publishAsync("queued/1", "while offline", { qos: 1 });
    await close(pub);
    await broker.restart();
    t.equal(broker.port, port, "same port after restart");
    t.ok(broker.running, "running again");
    const fresh = await open(broker.url);
    const retained = nextMessage(fresh);
    await fresh.subscribeAsync("kept/1", { qos: 1 });
    const message = await retained;
    t.deepEqual([message.payload, message.retain], ["retained value", true], "retained message survived the restart");
    await close(fresh);
    const queued = new Promise<string>((resolve) => {
      const back = connect(broker.url, { clientId: "persistent-1", clean: false, reconnectPeriod: 0 });
      back.once("connect", (connack) => {
        t.equal(connack.sessionPresent, true, "session present after restart");
      });
      back.once("message", (_topic, payload) => {
        resolve(payload.toString());
        back.end();
      });
    });
    t.equal(await queued, "while offline", "queued QoS 1 message delivered after restart");
    t.ok(broker.log().includes("Saving in-memory database"), "database saved on stop");
  } finally {
    await broker.dispose();
  }
});

test("aedes: round trip, authenticate and authorizeSubscribe hooks", async (t) => {
  const broker = await startAedes({
    authenticate(_client, username, password, done) {
      if (username === "user" && password?.toString() === "pass") return done(null, true);
      const error = Object.assign(new Error("bad credentials"), { returnCode: 4 as const });
      return done(error, false);
    },
    authorizeSubscribe(_client, subscription, done) {
      // null denies with a SUBACK failure (0x80); an error would close the connection.
      if (subscription.topic.startsWith("forbidden/")) return done(null, null);
      return done(null, subscription);
    },
  });
  try {
    let refused: unknown;
    try {
      await open(broker.url, { username: "user", password: "nope" });
    } catch (error) {
      refused = error;
    }
    t.equal(codeOf(refused), 4, "authenticate hook refuses with CONNACK 4");
    const client = await open(broker.url, { username: "user", password: "pass" });
    const granted = await client.subscribeAsync("open/t", { qos: 1 });
    t.equal(granted[0]?.qos, 1, "open/t granted QoS 1");
    const suback = new Promise<number[]>((resolve) => {
      client.on("packetreceive", (packet) => {
        if (packet.cmd === "suback") resolve(packet.granted as number[]);
      });
    });
    await client.subscribeAsync("forbidden/t", { qos: 1 }).catch(() => undefined);
    t.deepEqual(await suback, [128], "authorizeSubscribe denies forbidden/t (SUBACK 0x80)");
    const got = nextMessage(client);
    await client.publishAsync("open/t", "via aedes", { qos: 1 });
    t.equal((await got).payload, "via aedes", "round trip through aedes");
    t.equal(broker.connections(), 1, "one connection counted");
    await close(client);
  } finally {
    await broker.stop();
  }
});

test("fault proxy: counts bytes both ways exactly", async (t) => {
  const broker = await startAedes();
  const proxy = await startFaultProxy({ targetPort: broker.port });
  try {
    const client = await open(proxy.url, { clientId: "proxy-count", protocolVersion: 4, keepalive: 0 });
    // CONNECT 3.1.1: fixed header 2 + variable header 10 + client id 2 + 11 = 25 bytes; CONNACK 4 bytes.
    t.deepEqual([proxy.bytes.up, proxy.bytes.down], [25, 4], "CONNECT up, CONNACK down");
    await close(client);
    await waitUntil(() => proxy.connections() === 0, 2000, "link not closed");
    t.equal(proxy.bytes.up, 27, "DISCONNECT (2 bytes) forwarded");
    t.equal(proxy.accepted, 1, "one link accepted");
  } finally {
    await proxy.close();
    await broker.stop();
  }
});

test("fault proxy: cut after N bytes forwards exactly N and closes both sides", async (t) => {
  const broker = await startAedes();
  const published: string[] = [];
  broker.broker.on("publish", (packet, client) => {
    if (client) published.push(packet.topic);
  });
  const proxy = await startFaultProxy({ targetPort: broker.port });
  try {
    const cuts: CutEvent[] = [];
    proxy.on("cut", (event: CutEvent) => cuts.push(event));
    proxy.cutAfter(25 + 3, "up", { once: true });
    const client = await open(proxy.url, { clientId: "proxy-cut00", protocolVersion: 4, keepalive: 0 });
    let clientClosed = false;
    client.on("close", () => {
      clientClosed = true;
    });
    client.publish("cut/topic", "this publish is cut after three bytes");
    await waitUntil(() => clientClosed && broker.connections() === 0, 2000, "both sides not closed");
    t.equal(proxy.bytes.up, 28, "exactly CONNECT + 3 bytes went up");
    t.deepEqual(cuts, [{ link: 0, up: 28, down: 4 }], "one cut event with the counts");
    t.ok(clientClosed, "client side closed");
    t.equal(broker.connections(), 0, "broker side closed");
    t.deepEqual(published, [], "the broker never saw the truncated PUBLISH");
    client.end(true);
    const again = await open(proxy.url, { protocolVersion: 4 });
    t.pass("once: the next connection is not cut");
    await close(again);
  } finally {
    await proxy.close();
    await broker.stop();
  }
});

test("fault proxy: one byte at a time still carries a full MQTT exchange", async (t) => {
  const broker = await startMosquitto();
  const proxy = await startFaultProxy({ targetPort: broker.port });
  try {
    proxy.oneByteAtATime(0);
    const client = await open(proxy.url, { protocolVersion: 5 });
    const got = nextMessage(client);
    await client.subscribeAsync("bytes/t", { qos: 1 });
    await client.publishAsync("bytes/t", "byte by byte", { qos: 1 });
    t.equal((await got).payload, "byte by byte", "round trip");
    t.ok(proxy.bytes.up > 40 && proxy.bytes.down > 20, `bytes counted (${proxy.bytes.up} up, ${proxy.bytes.down} down)`);
    proxy.oneByteAtATime(false);
    await close(client);
  } finally {
    await proxy.close();
    await broker.dispose();
  }
});

test("fault proxy: stall holds a direction until resumed; dropAll kills live connections abruptly", async (t) => {
  const broker = await startAedes();
  const proxy = await startFaultProxy({ targetPort: broker.port });
  try {
    const watcher = await open(broker.url);
    await watcher.subscribeAsync("stall/#", { qos: 1 });
    const client = await open(proxy.url, {
      protocolVersion: 4,
      will: { topic: "stall/will", payload: Buffer.from("gone"), qos: 1, retain: false },
    });
    await client.subscribeAsync("stall/in");
    proxy.stall("down");
    const held = nextMessage(client, 3000);
    await watcher.publishAsync("stall/in", "held back");
    const early = await Promise.race([held.then(() => "delivered"), delay(150).then(() => "held")]);
    t.equal(early, "held", "nothing reaches the client while the down direction is stalled");
    proxy.resume("down");
    t.equal((await held).payload, "held back", "delivered after resume");
    let clientClosed = false;
    client.on("close", () => {
      clientClosed = true;
    });
    const will = nextMessage(watcher, 2000);
    proxy.dropAll();
    const message = await will;
    t.deepEqual([message.topic, message.payload], ["stall/will", "gone"], "broker saw an abrupt loss and published the will");
    await waitUntil(() => clientClosed, 2000, "client not closed");
    t.ok(clientClosed, "client saw its connection die");
    t.equal(proxy.connections(), 0, "no live link");
    client.end(true);
    await close(watcher);
  } finally {
    await proxy.close();
    await broker.stop();
  }
});
