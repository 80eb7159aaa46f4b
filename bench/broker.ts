/**
 * The benchmark's Mosquitto: the test fixture (test/support/mosquitto.ts)
 * with the settings every job of a run shares. Node-only.
 *
 * - `max_inflight_messages 0` (unlimited): Mosquitto 2.0.11 silently drops
 *   QoS 2 messages beyond 20 in flight over 3.1.1 (ARCHITECTURE.md, known
 *   quirks); unlimited for every client alike. Over MQTT 5 the broker then
 *   announces no Receive Maximum (65535).
 * - `max_queued_messages 0`: the QoS 0 subscriber must not lose messages the
 *   broker queues while it reads.
 * - `set_tcp_nodelay true`: Mosquitto leaves Nagle's algorithm on for its
 *   own sends by default; its 4-byte PUBREC/PUBCOMP then wait for the
 *   client's delayed ACK, which measured here adds about 1.2 ms to a raw
 *   client's QoS 2 round trip (1.38 -> 0.21 ms PUBLISH to PUBREC). The
 *   latency figures are about the clients, so the broker sends at once.
 * - logging reduced to errors and warnings: the fixture's `log_type all`
 *   writes a line per packet and would make the broker the bottleneck.
 */
import { startMosquitto } from "../test/support/mosquitto";
import type { MosquittoBroker } from "../test/support/mosquitto";

/** The configuration lines added to the fixture's, for results.json. */
export const BROKER_SETTINGS = Object.freeze([
  "max_inflight_messages 0",
  "max_queued_messages 0",
  "set_tcp_nodelay true",
  "log_type error",
  "log_type warning",
  "connection_messages false",
  "persistence false",
]);

/** Starts the benchmark broker on a free 127.0.0.1 port. */
export function startBenchBroker(): Promise<MosquittoBroker> {
  return startMosquitto({
    maxInflightMessages: 0,
    maxQueuedMessages: 0,
    // "log_type none" first: the fixture's "log_type all" would otherwise stay in the mask.
    extra: ["log_type none", "log_type error", "log_type warning", "connection_messages false", "set_tcp_nodelay true"],
  });
}
