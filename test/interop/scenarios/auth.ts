/**
 * Authentication, authorization and TLS scenarios: user name and password
 * (Mosquitto password file made with `mosquitto_passwd`; aedes
 * `authenticate` hook), a wrong password (clear error with the broker's
 * code, retried with backoff and no storm), ACL denials (Mosquitto
 * `acl_file`; aedes authorization hooks), and TLS with a generated CA.
 *
 * Users everywhere: `alice`/`secret` may read and write `alice/#` and only
 * read `ro/#`; `admin`/`admin-pw` may do anything (Mosquitto only). aedes
 * grants alice everything except subscribing to `secret/#` (SUBACK 0x80)
 * and publishing to `ro/#` (aedes closes the connection: 3.1.1 has no
 * negative PUBACK).
 */
import type { Test } from "tape";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generatePki } from "../../support/certs";
import { startFaultProxy } from "../../support/fault-proxy";
import type { MosquittoBroker } from "../../support/mosquitto";
import type { AedesFixtureOptions } from "../../support/aedes";
import { ErrorCode } from "../../../modules/mqtt/errors";
import { collect, delay, open, publishOutcome, subscribeOutcome, waitUntil } from "../support/harness";
import type { IClientOptions, ReportedError, ScenarioContext } from "../support/harness";

/** Mosquitto users and ACL of the auth file. */
export const MOSQUITTO_USERS = Object.freeze({ alice: "secret", admin: "admin-pw" });
export const MOSQUITTO_ACL = [
  "user admin",
  "topic readwrite #",
  "user alice",
  "topic readwrite alice/#",
  "topic read ro/#",
].join("\n");

/** aedes hooks with the same users and the denials described in the header. */
export function aedesAuthOptions(): AedesFixtureOptions {
  return {
    authenticate: (_client, username, password, done) => {
      const ok = username === "alice" && password !== undefined && Buffer.from(password).toString() === "secret";
      if (ok) return done(null, true);
      const error = Object.assign(new Error("bad user name or password"), { returnCode: 4 });
      return done(error as never, false);
    },
    authorizeSubscribe: (_client, subscription, done) => {
      done(null, subscription.topic.startsWith("secret/") ? (null as never) : subscription);
    },
    authorizePublish: (_client, packet, done) => {
      done(packet.topic.startsWith("ro/") ? new Error("read-only topic") : null);
    },
  };
}

function as(ctx: ScenarioContext, user: "alice" | "admin", options: IClientOptions = {}, url = ctx.broker.url()) {
  const password = user === "alice" ? "secret" : MOSQUITTO_USERS.admin;
  return open(ctx.host, url, {
    protocolVersion: ctx.broker.version,
    clientId: ctx.unique(user),
    username: user,
    password,
    reconnectPeriod: 0,
    ...options,
  });
}

/** The right user name and password connect, and the session works (a QoS 1 round trip). */
export async function passwordAccepted(t: Test, ctx: ScenarioContext): Promise<void> {
  const client = await as(ctx, "alice");
  t.ok(client.connected, "connected with user name and password");
  const received = collect(client);
  const topic = `alice/${ctx.unique("pw")}`;
  await client.subscribeAsync(topic, { qos: 1 });
  await client.publishAsync(topic, "hello", { qos: 1 });
  await waitUntil(() => received.length >= 1, 5000, "own message");
  t.deepEqual(received.map((m) => m.payload), ["hello"], "round trip as alice");
  await client.endAsync();
}

/**
 * A wrong password: the broker refuses the CONNECT; the client reports an
 * error carrying the broker's code (3.1.1: `ConnectionRefused` with return
 * code 4 or 5; v5: the CONNACK reason code 0x86 or 0x87 — Mosquitto 2.0.11
 * answers "not authorized", 5 / 0x87, aedes what its hook says, 4) and
 * keeps retrying with backoff: connection attempts counted at the fault
 * proxy over a fixed window stay few (backoff 200 ms doubling to 800 ms,
 * full jitter: about 6 in 2.5 s; a client without backoff makes hundreds).
 * With `reconnectOnConnackError: false` it stops after the first refusal.
 */
export async function wrongPassword(t: Test, ctx: ScenarioContext): Promise<void> {
  const proxy = await startFaultProxy({ targetPort: ctx.broker.port() });
  try {
    const client = ctx.host.connect(proxy.url, {
      protocolVersion: ctx.broker.version,
      clientId: ctx.unique("badpw"),
      username: "alice",
      password: "wrong",
      reconnectPeriod: 200,
      backoffMax: 800,
    });
    const errors: ReportedError[] = [];
    client.on("error", (e: ReportedError) => errors.push(e));
    await waitUntil(() => errors.length >= 1, 5000, "the refusal");
    const started = proxy.accepted;
    const window = 2500;
    await delay(window);
    const attempts = proxy.accepted - started;
    client.end(true);
    const first = errors[0]!;
    if (ctx.broker.version === 4) {
      t.equal(first.code, ErrorCode.ConnectionRefused, "error code ConnectionRefused");
      const expected = ctx.broker.kind === "mosquitto" ? 5 : 4;
      t.equal(first.reasonCode, expected, `CONNACK return code ${expected}`);
    } else {
      t.equal(first.reasonCode, 0x87, "CONNACK reason code 0x87 Not authorized");
      t.equal(first.code, 0x87, "error code = the reason code");
    }
    t.ok(/refused|authori[sz]ed|password/i.test(first.message), `a message that says what happened: "${first.message}"`);
    t.ok(attempts >= 2 && attempts <= 15, `${attempts} connection attempts in ${window} ms: retried with backoff, no storm`);
    t.ok(errors.length >= attempts, `each refusal reported (${errors.length} errors)`);
    t.notOk(client.connected, "never connected");

    // The first client's last connection attempt may still be on its way to
    // the proxy when end(true) returns: let it land before counting.
    await delay(400);
    const before = proxy.accepted;
    const once = ctx.host.connect(proxy.url, {
      protocolVersion: ctx.broker.version,
      clientId: ctx.unique("badpw-once"),
      username: "alice",
      password: "wrong",
      reconnectPeriod: 100,
      reconnectOnConnackError: false,
    });
    const onceErrors: ReportedError[] = [];
    once.on("error", (e: ReportedError) => onceErrors.push(e));
    await waitUntil(() => onceErrors.length >= 1, 5000, "the refusal");
    await delay(600);
    t.equal(proxy.accepted - before, 1, "reconnectOnConnackError: false: one attempt, then it stops");
    once.end(true);
  } finally {
    await proxy.close();
  }
}

/**
 * Mosquitto `acl_file` denials. A SUBSCRIBE to a filter alice may not read
 * is granted by Mosquitto 2.0.11 (its ACL file only filters deliveries; a
 * SUBACK refusal needs the dynamic-security plugin, see the v5 file), so
 * what is asserted is non-delivery; a publish alice may not write is not
 * delivered (v5: PUBACK 0x87 reported to the publish callback; 3.1.1:
 * acknowledged and dropped); her allowed topic works throughout.
 */
export async function mosquittoAclDenial(t: Test, ctx: ScenarioContext): Promise<void> {
  const tag = ctx.unique("acl");
  const alice = await as(ctx, "alice");
  const admin = await as(ctx, "admin");
  const aliceGot = collect(alice);
  const adminGot = collect(admin);
  const sub = await subscribeOutcome(alice, { [`secret/${tag}`]: { qos: 1 }, [`alice/${tag}`]: { qos: 1 } });
  t.deepEqual(
    sub.granted.map((g) => g.qos),
    [1, 1],
    "Mosquitto 2.0.11 acl_file: the denied filter is granted in the SUBACK (the broker's behaviour)",
  );
  await admin.subscribeAsync({ [`ro/${tag}`]: { qos: 1 }, [`alice/${tag}`]: { qos: 1 } });
  await admin.publishAsync(`secret/${tag}`, "for admin eyes", { qos: 1 });
  const denied = await publishOutcome(alice, `ro/${tag}`, "alice may not write here", { qos: 1 });
  if (ctx.broker.version === 5) t.equal(denied.error?.reasonCode, 0x87, "v5: PUBACK 0x87 Not authorized reported to the publish callback");
  else t.equal(denied.error, undefined, "3.1.1: PUBACK (no way to refuse), the message is dropped");
  await alice.publishAsync(`alice/${tag}`, "allowed", { qos: 1 });
  await waitUntil(() => aliceGot.length >= 1 && adminGot.length >= 1, 5000, "the allowed message");
  await delay(250);
  t.deepEqual(aliceGot.map((m) => m.topic), [`alice/${tag}`], "alice got nothing from the denied subscription");
  t.deepEqual(adminGot.map((m) => m.topic), [`alice/${tag}`], "alice's denied publish reached nobody");
  t.ok(alice.connected, "alice stays connected");
  await alice.endAsync();
  await admin.endAsync();
}

/**
 * aedes authorization hooks: a denied SUBSCRIBE gets SUBACK 0x80 (reported
 * as `SubscribeFailed`); a denied publish makes aedes close the connection
 * (3.1.1 cannot refuse a PUBLISH), the message is not delivered and the
 * client reconnects on its own. QoS 0, so that nothing is resent.
 */
export async function aedesAclDenial(t: Test, ctx: ScenarioContext): Promise<void> {
  const tag = ctx.unique("acl");
  const alice = await as(ctx, "alice", { reconnectPeriod: 100, backoffMax: 200 });
  const watcher = await as(ctx, "alice");
  const got = collect(watcher);
  const sub = await subscribeOutcome(alice, { [`secret/${tag}`]: { qos: 1 }, [`alice/${tag}`]: { qos: 1 } });
  t.deepEqual(sub.granted.map((g) => g.qos), [0x80, 1], "SUBACK 0x80 for the denied filter, 1 for the other");
  t.equal(sub.error?.code, ErrorCode.SubscribeFailed, "reported as SubscribeFailed");
  t.equal(sub.error?.reasonCode, 0x80, "with reason code 0x80");
  await watcher.subscribeAsync({ [`ro/${tag}`]: { qos: 0 }, [`alice/${tag}`]: { qos: 0 } });
  let closes = 0;
  let connects = 0;
  alice.on("close", () => (closes += 1));
  alice.on("connect", () => (connects += 1));
  alice.publish(`ro/${tag}`, "denied", { qos: 0 });
  await waitUntil(() => closes >= 1 && connects >= 1 && alice.connected, 5000, "aedes closes, the client reconnects");
  await alice.publishAsync(`alice/${tag}`, "allowed", { qos: 0 });
  await waitUntil(() => got.length >= 1, 5000, "the allowed message");
  await delay(200);
  t.deepEqual(got.map((m) => m.topic), [`alice/${tag}`], "the denied publish was not delivered");
  await alice.endAsync();
  await watcher.endAsync();
}

/** `mqtts://` with the generated CA: the handshake verifies the broker's certificate; a QoS 1 round trip works. */
export async function tlsVerified(t: Test, ctx: ScenarioContext, broker: MosquittoBroker): Promise<void> {
  const client = await as(ctx, "alice", { ca: broker.pki!.caCertPem }, broker.tlsUrl!);
  t.ok(client.connected, `connected to ${broker.tlsUrl} verifying the CA`);
  const received = collect(client);
  const topic = `alice/${ctx.unique("tls")}`;
  await client.subscribeAsync(topic, { qos: 1 });
  await client.publishAsync(topic, "over TLS", { qos: 1 });
  await waitUntil(() => received.length >= 1, 5000, "own message");
  t.deepEqual(received.map((m) => m.payload), ["over TLS"], "round trip over TLS");
  await client.endAsync();
}

/**
 * A CA that did not sign the broker's certificate (and no CA at all: the
 * system store does not know the test CA) fails the handshake with a clear
 * `TlsError`; nothing is sent in clear.
 */
export async function tlsWrongCa(t: Test, ctx: ScenarioContext, broker: MosquittoBroker): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "mqtt-xs-wrong-ca-"));
  try {
    const other = generatePki(dir, "some other CA");
    for (const [label, ca] of [
      ["a CA that did not sign the broker's certificate", other.caCertPem],
      ["no CA (system store)", undefined],
    ] as const) {
      const options: IClientOptions = { clientId: ctx.unique("badca"), protocolVersion: ctx.broker.version, username: "alice", password: "secret", reconnectPeriod: 0 };
      if (ca !== undefined) options.ca = ca;
      let error: ReportedError | undefined;
      try {
        await open(ctx.host, broker.tlsUrl!, options);
      } catch (e) {
        error = e as ReportedError;
      }
      t.equal(error?.code, ErrorCode.TlsError, `${label}: error code TlsError`);
      t.ok(/certificate|verify|self.signed|issuer/i.test(error?.message ?? ""), `${label}: the message names the cause: "${error?.message}"`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
