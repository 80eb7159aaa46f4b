/**
 * Broker targets for the interop scenarios: one Mosquitto (reached as two
 * targets, MQTT 3.1.1 and 5.0) and one aedes (3.1.1 only: it refuses MQTT
 * 5 CONNECTs, ARCHITECTURE.md quirks) per test file, started by a first
 * test and stopped by a last one. Also the Mosquitto dynamic-security
 * configuration used where the broker must refuse a SUBSCRIBE in its
 * SUBACK (Mosquitto 2.0.11's `acl_file` grants a denied subscription and
 * silently never delivers; its dynamic-security plugin answers 0x80/0x87).
 * Node-only test support.
 */
import test from "tape";
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startMosquitto } from "../../support/mosquitto";
import type { MosquittoBroker, MosquittoOptions } from "../../support/mosquitto";
import { startAedes } from "../../support/aedes";
import type { AedesBroker, AedesFixtureOptions } from "../../support/aedes";
import type { BrokerTarget } from "./harness";

/** The brokers of one test file. */
export interface BrokerSet {
  /** Mosquitto over 3.1.1 (present when `mosquitto` was asked for). */
  readonly mosquitto311: BrokerTarget;
  /** Mosquitto over 5.0. */
  readonly mosquitto5: BrokerTarget;
  /** aedes over 3.1.1 (present when `aedes` was asked for). */
  readonly aedes: BrokerTarget;
  /** Every target that was asked for, in the order Mosquitto 3.1.1, Mosquitto 5.0, aedes. */
  readonly all: BrokerTarget[];
  /** Targets speaking 3.1.1. */
  readonly v311: BrokerTarget[];
  /** The Mosquitto fixture (restart, log, TLS URL). */
  mosquitto(): MosquittoBroker;
  /** The aedes fixture. */
  aedesBroker(): AedesBroker;
}

/** Which brokers a file needs, with their fixture options. */
export interface BrokerSetOptions {
  mosquitto?: MosquittoOptions | false;
  aedes?: AedesFixtureOptions | false;
}

function mosquittoTarget(get: () => MosquittoBroker, version: 4 | 5): BrokerTarget {
  return {
    name: version === 4 ? "mosquitto 3.1.1" : "mosquitto 5.0",
    kind: "mosquitto",
    version,
    port: () => get().port,
    url: () => get().url,
  };
}

/**
 * Declares the brokers of a test file and returns their targets. Call
 * `register()` before the scenarios (it registers the "start brokers" test)
 * and `registerStop()` after them ("stop brokers"); tape runs tests in
 * registration order.
 */
export function brokers(options: BrokerSetOptions): BrokerSet & { register(): void; registerStop(): void } {
  let mosquitto: MosquittoBroker | undefined;
  let aedes: AedesBroker | undefined;
  const getMosquitto = (): MosquittoBroker => {
    if (mosquitto === undefined) throw new Error("mosquitto was not started (see the first test's failure)");
    return mosquitto;
  };
  const getAedes = (): AedesBroker => {
    if (aedes === undefined) throw new Error("aedes was not started (see the first test's failure)");
    return aedes;
  };
  const mosquitto311 = mosquittoTarget(getMosquitto, 4);
  const mosquitto5 = mosquittoTarget(getMosquitto, 5);
  const aedesTarget: BrokerTarget = {
    name: "aedes 3.1.1",
    kind: "aedes",
    version: 4,
    port: () => getAedes().port,
    url: () => getAedes().url,
  };
  const all: BrokerTarget[] = [];
  if (options.mosquitto !== false && options.mosquitto !== undefined) all.push(mosquitto311, mosquitto5);
  if (options.aedes !== false && options.aedes !== undefined) all.push(aedesTarget);
  return {
    mosquitto311,
    mosquitto5,
    aedes: aedesTarget,
    all,
    v311: all.filter((b) => b.version === 4),
    mosquitto: getMosquitto,
    aedesBroker: getAedes,
    register() {
      test("start brokers", async (t) => {
        if (options.mosquitto !== false && options.mosquitto !== undefined) {
          mosquitto = await startMosquitto(options.mosquitto);
          t.ok(mosquitto.port > 0, `mosquitto on 127.0.0.1:${mosquitto.port}`);
        }
        if (options.aedes !== false && options.aedes !== undefined) {
          aedes = await startAedes(options.aedes);
          t.ok(aedes.port > 0, `aedes on 127.0.0.1:${aedes.port}`);
        }
      });
    },
    registerStop() {
      test("stop brokers", async (t) => {
        await mosquitto?.dispose();
        await aedes?.stop();
        t.pass("brokers stopped");
      });
    },
  };
}

/** Path of Mosquitto's dynamic-security plugin (part of the Debian `mosquitto` package). */
export function dynsecPlugin(): string {
  for (const dir of ["/usr/lib", ...safeList("/usr/lib").map((d) => join("/usr/lib", d))]) {
    const path = join(dir, "mosquitto_dynamic_security.so");
    if (existsSync(path)) return path;
  }
  throw new Error("mosquitto_dynamic_security.so not found (Debian: it ships in the mosquitto package, /usr/lib/<arch>/)");
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/**
 * Mosquitto configuration lines for the dynamic-security plugin with no
 * users: anonymous clients join a group whose role denies subscribing to
 * `subscribeDenied` (a pattern) and publishing to `publishDenied`.
 * Everything else is allowed. Writes the plugin's JSON into `dir`.
 */
export function dynsecConfig(dir: string, subscribeDenied: string, publishDenied: string): string[] {
  const config = {
    defaultACLAccess: { publishClientSend: true, publishClientReceive: true, subscribe: true, unsubscribe: true },
    clients: [],
    groups: [{ groupname: "anonymous", roles: [{ rolename: "limited" }], clients: [] }],
    roles: [
      {
        rolename: "limited",
        acls: [
          { acltype: "subscribePattern", topic: subscribeDenied, priority: 0, allow: false },
          { acltype: "publishClientSend", topic: publishDenied, priority: 0, allow: false },
        ],
      },
    ],
    anonymousGroup: "anonymous",
  };
  const path = join(dir, "dynsec.json");
  writeFileSync(path, JSON.stringify(config, null, 2));
  return [`plugin ${dynsecPlugin()}`, `plugin_opt_config_file ${path}`];
}
