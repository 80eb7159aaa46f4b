/**
 * The interop harness: every scenario is written once, as a function of a
 * host (where the client runs: Node, or inside the XS engine) and a broker
 * target (Mosquitto 3.1.1 / 5.0, aedes 3.1.1), and registered as one tape
 * test per combination, named `[host] broker: behaviour`.
 *
 * Scenarios talk to the client only through {@link ClientLike}, the
 * MQTT.js-compatible surface of `modules/mqtt/compat.ts` as seen from Node:
 * on the Node host it is the client itself, on the XS host a proxy driven
 * over RPC (`test/support/client-factory.ts`). Everything else a scenario
 * observes (bytes, packets, connection attempts, broker deliveries) is
 * measured on the Node side, outside the client: the fault proxy's
 * counters, the wire tap's decoded packets, a second client's deliveries.
 *
 * Node-only test support.
 */
import test from "tape";
import type { Test } from "tape";
import { nodeFactory, xsFactory } from "../../support/client-factory";
import type { ClientFactory, MqttClientLike } from "../../support/client-factory";
import type { IClientOptions } from "../../../hosts/node/mqtt";
import { delay, waitUntil } from "../../support/net-util";

export { delay, waitUntil };
export type { IClientOptions };

/** The client surface scenarios use (MQTT.js names; see compat.ts and client-factory.ts). */
export type ClientLike = MqttClientLike;

/** Outbox counters of a client (see `OutboxCounters` in modules/mqtt/outbox.ts). */
export interface OutboxCounters {
  queued: number;
  inflight: number;
  dropped: number;
  expired: number;
  bytesUsed: number;
}

/**
 * The client's outbox counters on either host: the XS proxy's `inspect()`
 * (a call into XS), or the Node client's `client.outbox.counters`.
 * `MqttClientLike` has no host-neutral accessor, so this looks for both.
 */
export async function outboxCounters(client: ClientLike): Promise<OutboxCounters> {
  const c = client as unknown as { inspect?: () => Promise<{ outbox: OutboxCounters }>; client?: { outbox: { counters: OutboxCounters } } };
  if (typeof c.inspect === "function") return { ...(await c.inspect()).outbox };
  if (c.client?.outbox?.counters !== undefined) return { ...c.client.outbox.counters };
  throw new TypeError("this client exposes no outbox counters (neither inspect() nor client.outbox)");
}

/** Where a client runs. */
export interface InteropHost {
  /** `node` or `xs`. */
  readonly name: string;
  /** MQTT.js `connect(url, options)`: starts connecting on the next turn. */
  connect(url: string, options?: IClientOptions): ClientLike;
  /** Resolves once every call made so far has been handled by the host (XS); at once on Node. */
  settle(): Promise<void>;
}

/** A broker the scenario runs against, with the protocol version its clients use. */
export interface BrokerTarget {
  /** `mosquitto 3.1.1`, `mosquitto 5.0`, `aedes 3.1.1`. */
  readonly name: string;
  readonly kind: "mosquitto" | "aedes";
  readonly version: 4 | 5;
  /** Plain MQTT port on 127.0.0.1 (valid once the broker started). */
  port(): number;
  /** `mqtt://127.0.0.1:<port>` */
  url(): string;
}

/** Everything a scenario gets. */
export interface ScenarioContext {
  readonly host: InteropHost;
  readonly broker: BrokerTarget;
  /** A fresh suffix for client ids and topics, unique within the file. */
  unique(prefix: string): string;
}

export type Scenario = (t: Test, ctx: ScenarioContext) => Promise<void>;

let serial = 0;

function unique(prefix: string): string {
  serial += 1;
  return `${prefix}-${serial}`;
}

/** The hosts, in order: how to start each one's client factory. */
const HOSTS: ReadonlyArray<{ name: string; start: () => Promise<ClientFactory> }> = Object.freeze([
  { name: "node", start: async () => nodeFactory() },
  { name: "xs", start: () => xsFactory() },
]);

/**
 * The hosts to run on. `INTEROP_HOSTS=node` (or `xs`, comma separated)
 * narrows the list, for debugging only: a full run uses all of them.
 */
function selectedHosts(): Array<{ name: string; start: () => Promise<ClientFactory> }> {
  const wanted = (process.env.INTEROP_HOSTS ?? "").split(",").filter(Boolean);
  return HOSTS.filter((h) => wanted.length === 0 || wanted.includes(h.name));
}

/**
 * Lifecycle events every client of a scenario listens to from its first
 * tick. On XS the proxy forwards only events someone listens to, and its
 * `connected` flag is refreshed by forwarded events: with these, the flag
 * follows every connection change on both hosts.
 */
const LIFECYCLE = Object.freeze(["connect", "close", "offline", "reconnect", "end", "disconnect"]);

function noop(): void {}

/**
 * Registers the tests of one file: a start test per host, then
 * `register(host)` (which registers scenario tests with {@link run}), then
 * a stop test per host. Tape runs them in registration order.
 */
export function forEachHost(register: (host: InteropHost) => void): void {
  for (const spec of selectedHosts()) {
    let factory: ClientFactory | undefined;
    test(`[${spec.name}] start the host`, async (t) => {
      factory = await spec.start();
      t.equal(factory.name, spec.name, `${spec.name} host ready`);
    });
    register({
      name: spec.name,
      connect: (url, options) => {
        if (factory === undefined) throw new Error(`the ${spec.name} host did not start (see its start test)`);
        const client = factory.connect(url, options ?? {});
        for (const event of LIFECYCLE) client.on(event, noop);
        return client;
      },
      settle: async () => {
        await factory?.settle();
      },
    });
    test(`[${spec.name}] stop the host`, async (t) => {
      await factory?.settle();
      await factory?.close();
      t.pass(`${spec.name} host stopped`);
    });
  }
}

/** Registers `scenario` for `host` against each of `brokers` as tests named `[host] broker: name`. */
export function run(host: InteropHost, brokers: BrokerTarget[], name: string, scenario: Scenario): void {
  for (const broker of brokers) {
    test(`[${host.name}] ${broker.name}: ${name}`, async (t) => {
      const clients: ClientLike[] = [];
      const tracked: InteropHost = {
        name: host.name,
        connect: (url, options) => {
          const client = host.connect(url, options);
          clients.push(client);
          return client;
        },
        settle: () => host.settle(),
      };
      try {
        await scenario(t, { host: tracked, broker, unique });
      } finally {
        // Whatever a failed scenario left open is closed abruptly, so the
        // next test starts from a quiet broker.
        for (const client of clients) {
          try {
            client.end(true);
          } catch {
            // already ended: nothing to close
          }
        }
        await host.settle();
      }
    });
  }
}

/** An error as the host reports it: `code` (ErrorCode), `reasonCode`, `message`. */
export interface ReportedError {
  name?: string;
  message: string;
  code?: number;
  reasonCode?: number;
  source?: string;
}

/**
 * Connects and resolves once the CONNACK arrived; rejects with the first
 * `error` (and ends the client) when the connection fails first.
 */
export function open(host: InteropHost, url: string, options: IClientOptions): Promise<ClientLike> {
  return new Promise((resolve, reject) => {
    const client = host.connect(url, options);
    const onConnect = (): void => {
      client.off("connect", onConnect);
      client.off("error", onError);
      resolve(client);
    };
    const onError = (error: ReportedError): void => {
      client.off("connect", onConnect);
      client.off("error", onError);
      client.end(true);
      reject(error);
    };
    client.on("connect", onConnect);
    client.on("error", onError);
  });
}

/** One delivered message, payload as text. */
export interface Received {
  topic: string;
  payload: string;
  qos: number;
  retain: boolean;
  dup: boolean;
  properties: Record<string, any> | undefined;
}

/** Payload bytes (Buffer, Uint8Array, or an RPC copy) as UTF-8 text. */
export function text(payload: unknown): string {
  if (typeof payload === "string") return payload;
  if (payload instanceof Uint8Array) return Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString("utf8");
  if (payload instanceof ArrayBuffer) return Buffer.from(payload).toString("utf8");
  throw new TypeError(`payload is not bytes: ${Object.prototype.toString.call(payload)}`);
}

/** Records every `message` of `client` into the returned array. */
export function collect(client: ClientLike): Received[] {
  const received: Received[] = [];
  client.on("message", (topic: string, payload: unknown, packet: Record<string, any>) => {
    received.push({
      topic,
      payload: text(payload),
      qos: packet.qos,
      retain: packet.retain === true,
      dup: packet.dup === true,
      properties: packet.properties,
    });
  });
  return received;
}

/** How many times each payload was delivered. */
export function countBy(received: Received[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of received) counts.set(r.payload, (counts.get(r.payload) ?? 0) + 1);
  return counts;
}

/** Publishes and resolves with the callback's outcome instead of rejecting: `{ error, packet }`. */
export function publishOutcome(
  client: ClientLike,
  topic: string,
  payload: string | Uint8Array,
  options: Record<string, unknown>,
): Promise<{ error: ReportedError | undefined; packet: Record<string, any> | undefined }> {
  return new Promise((resolve) => {
    client.publish(topic, payload, options, (error?: ReportedError | null, packet?: Record<string, any>) => {
      resolve({ error: error ?? undefined, packet });
    });
  });
}

/** Subscribes and resolves with the granted list even when the broker refused an entry. */
export function subscribeOutcome(
  client: ClientLike,
  topics: Parameters<ClientLike["subscribe"]>[0],
  options?: Parameters<ClientLike["subscribe"]>[1],
): Promise<{ error: ReportedError | undefined; granted: Array<{ topic: string; qos: number }> }> {
  return new Promise((resolve) => {
    client.subscribe(topics, options ?? {}, (error?: ReportedError | null, granted?: Array<{ topic: string; qos: number }>) => {
      resolve({ error: error ?? undefined, granted: granted ?? [] });
    });
  });
}
