/**
 * The soil-moisture node: a battery node that wakes, samples a capacitive
 * probe, publishes the reading at QoS 1 in a persistent session, waits until
 * the broker acknowledged it, and goes back to deep sleep.
 *
 * Theory of operation
 * -------------------
 * One wake is one cycle, and every cycle starts from nothing but the store,
 * exactly as after a deep-sleep reboot on a board (where RAM is lost):
 *
 *   Idle/Asleep --wake()--> Awake: a NEW TelemetryNode is built and started;
 *     it restores unacknowledged messages of earlier cycles from the store,
 *     samples the probe and connects (clean session false, the node id as
 *     client id, so the broker keeps the session across sleeps).
 *     Over MQTT 5 the Session Expiry Interval is raised to three cycles
 *     (sleep + awake), or the broker would drop the session at DISCONNECT.
 *   Awake --CONNACK--> Flushing: the node has queued the birth "online", the
 *     discovery (when on) and the state (QoS 1, retained); the session
 *     resends restored messages with DUP. `stop({ publishOffline: false })`
 *     waits until the broker acknowledged everything, sends DISCONNECT (no
 *     will: the node is asleep, not gone) and saves (here: clears) the store.
 *   Awake --no CONNACK within awakeMs--> Flushing: the reading is queued
 *     (QoS 1) into the outbox and the stop saves it to the store; the next
 *     wake delivers it.
 *   Flushing --stopped--> Asleep: `io.sleep(sleepMs, wake)`. On a board this
 *     is a deep sleep that never returns (the chip reboots into `main.ts`,
 *     which calls `wake()` again); on desktop hosts a timer stands in and
 *     calls `wake` itself.
 *   any --shutdown()--> Stopping --> Stopped: a graceful end for desktop
 *     hosts: "offline" is published (waking once if asleep), then DISCONNECT.
 *
 * The status stays "online" while the node sleeps (it disconnects cleanly,
 * so the broker does not publish the will); Home Assistant marks the
 * readings stale through `expire_after` (3 sleep intervals) in the
 * discovery instead. A node that dies while connected gets its will
 * "offline" as usual.
 *
 * Portability: no runtime imports; the probe, the `TelemetryNode` class,
 * the store, the timer, the clock and the sleep primitive are injected (see
 * `examples/thermostat/node.ts` for why).
 *
 * Callbacks: `io.onEvent` runs synchronously from the node's callbacks and
 * timers; it must not throw. Not re-entrant otherwise.
 */
import type { HomeAssistantSpec, NodeDescription, SampleSource } from "../../modules/telemetry/description";
import type { TelemetryNode, TelemetryNodeOptions } from "../../modules/telemetry/telemetry-node";
import type { RestoreResult } from "../../modules/persist/session-persistence";

/** Builds the node: `(d, o) => new TelemetryNode(d, o)` on every host. */
export type NodeFactory = (description: NodeDescription, options: TelemetryNodeOptions) => TelemetryNode;

/** Phases of a `SoilMoistureNode` (see the module header). */
export const SoilPhase = Object.freeze({
  Idle: "idle",
  Awake: "awake",
  Flushing: "flushing",
  Asleep: "asleep",
  Stopping: "stopping",
  Stopped: "stopped",
});
export type SoilPhaseValue = (typeof SoilPhase)[keyof typeof SoilPhase];

/** What `io.onEvent` reports. */
export type SoilEvent =
  | { type: "wake"; cycle: number }
  | { type: "restore"; cycle: number; messages: number; error?: string }
  | { type: "connected"; cycle: number; sessionPresent: boolean }
  | { type: "timeout"; cycle: number }
  | { type: "sleep"; cycle: number; ms: number; pending: number }
  | { type: "stopped"; cycle: number };

/** What the application sets. Every property but `id` has a default. */
export interface SoilMoistureSettings {
  /** Node id (MQTT client id, HA node id): [A-Za-z0-9_-]{1,64}. Fixed: the broker keeps the session under it. */
  id: string;
  /** Base topic. Default: the id. */
  baseTopic?: string;
  /** Device name (HA). Default: the id. */
  name?: string;
  /** Deep sleep between wakes, ms. Default 300 000 (5 min). */
  sleepMs?: number;
  /** Longest time awake per wake, ms: no CONNACK by then = queue the reading and sleep. Default 20 000. */
  awakeMs?: number;
  /** Home Assistant discovery (published at every wake). Default true. */
  homeAssistant?: boolean | HomeAssistantSpec;
  /** HA device model. Default "mqtt-xs soil moisture". */
  model?: string;
}

/** What the host provides. */
export interface SoilMoistureIo {
  /** The probe: `SoilMoisture` (`{ moisture, percent, raw }`) or anything with that sample. */
  probe: SampleSource;
  /** Builds the telemetry node (once per wake). */
  createNode: NodeFactory;
  /**
   * The node's options: socket, timer, clock, protocol and a `store` (required:
   * it carries unacknowledged readings across sleeps). `clientId`/`clean` are
   * set here (node id, false). Callbacks are called as the telemetry layer
   * documents; `onConnect` and `onRestore` are chained.
   */
  options: TelemetryNodeOptions;
  /**
   * Sleeps `ms` milliseconds. A board enters deep sleep and never returns
   * (it reboots into main); a desktop host arms a timer that calls `wake`
   * and returns a function that cancels it (used by `shutdown`).
   */
  sleep: (ms: number, wake: () => void) => (() => void) | void;
  /** Progress, for logs and tests (synchronous; must not throw). */
  onEvent?: (event: SoilEvent) => void;
}

function positive(value: unknown, what: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !(value > 0) || value === Infinity) throw new RangeError(`${what} must be a positive number of ms, got ${String(value)}`);
  return value;
}

/** A deep-sleeping soil-moisture node (see the module header). */
export class SoilMoistureNode {
  /** The phase. */
  phase: SoilPhaseValue = SoilPhase.Idle;
  /** Wakes so far (1 during the first). */
  cycle = 0;
  /** The telemetry node of the current wake, undefined while asleep. */
  node: TelemetryNode | undefined = undefined;
  /** Deep sleep per cycle, ms. */
  readonly sleepMs: number;
  /** Longest time awake, ms. */
  readonly awakeMs: number;

  private readonly description: NodeDescription;
  private readonly io: SoilMoistureIo;
  private awakeTimer: unknown = undefined;
  private finishing: TelemetryNode | undefined = undefined;
  private cancelSleep: (() => void) | undefined = undefined;
  private shutdownCallbacks: Array<() => void> = [];
  private readonly onWake: () => void;

  /** Checks the settings and the io (TypeError/RangeError). No I/O. */
  constructor(settings: SoilMoistureSettings, io: SoilMoistureIo) {
    if (settings === null || typeof settings !== "object") throw new TypeError("SoilMoistureNode: settings object required");
    if (io === null || typeof io !== "object" || typeof io.createNode !== "function" || typeof io.sleep !== "function") {
      throw new TypeError("SoilMoistureNode: io with createNode and sleep required");
    }
    if (io.options === null || typeof io.options !== "object" || io.options.store === undefined) {
      throw new TypeError("SoilMoistureNode: io.options.store is required (unacknowledged readings must survive deep sleep)");
    }
    this.sleepMs = positive(settings.sleepMs, "sleepMs", 300_000);
    this.awakeMs = positive(settings.awakeMs, "awakeMs", 20_000);
    this.io = io;
    // HA: a reading older than three sleep intervals is stale (the node is
    // asleep most of the time, so "available" cannot say it).
    const expireAfter = Math.ceil((3 * (this.sleepMs + this.awakeMs)) / 1000);
    this.description = {
      id: settings.id,
      baseTopic: settings.baseTopic,
      name: settings.name,
      device: { manufacturer: "mqtt-xs", model: settings.model ?? "mqtt-xs soil moisture" },
      sensors: [
        {
          sensor: io.probe,
          fields: [
            { name: "moisture", path: "percent", unit: "%", deviceClass: "moisture", precision: 1, label: "Soil moisture", discovery: { expire_after: expireAfter } },
            { name: "raw", path: "raw", precision: 0, label: "Probe raw", discovery: { expire_after: expireAfter, entity_category: "diagnostic" } },
          ],
        },
      ],
      // One report per wake, at connect; the period only matters if a wake
      // lasts longer than it (it does not).
      sampleInterval: this.awakeMs + 1000,
      period: this.awakeMs + 1000,
      qos: 1,
      retainState: true,
      homeAssistant: settings.homeAssistant ?? true,
    };
    this.onWake = () => this.wake();
  }

  /**
   * One cycle: build and start the node (see the module header). From Idle
   * or Asleep; otherwise does nothing (e.g. a sleep timer that fires after
   * `shutdown`).
   */
  wake(): void {
    if (this.phase !== SoilPhase.Idle && this.phase !== SoilPhase.Asleep) return;
    this.cancelSleep = undefined;
    this.phase = SoilPhase.Awake;
    this.cycle += 1;
    const cycle = this.cycle;
    this.emit({ type: "wake", cycle });
    const host = this.io.options;
    const options: TelemetryNodeOptions = { ...host, clean: false };
    if (host.protocolVersion === 5) {
      // MQTT 5 ends the session at disconnect unless told otherwise (Session
      // Expiry Interval 0, MQTT 5.0 §3.1.2.11.2): keep it for three cycles.
      const expiry = Math.ceil((3 * (this.sleepMs + this.awakeMs)) / 1000);
      const asked = host.properties?.sessionExpiryInterval ?? 0;
      options.properties = { ...host.properties, sessionExpiryInterval: asked > expiry ? asked : expiry };
    }
    const node = this.io.createNode(this.description, {
      ...options,
      onRestore: (result: RestoreResult) => {
        const event: SoilEvent = { type: "restore", cycle, messages: result.messages };
        if (result.error !== undefined) event.error = result.error.message;
        this.emit(event);
        if (host.onRestore !== undefined) host.onRestore(result);
      },
      onConnect: (sessionPresent) => {
        this.emit({ type: "connected", cycle, sessionPresent });
        if (host.onConnect !== undefined) host.onConnect(sessionPresent);
        // The birth, discovery and state are queued: flush, then sleep (or end).
        if (this.node === node) {
          if (this.phase === SoilPhase.Awake) this.finish(node, false);
          else if (this.phase === SoilPhase.Stopping) this.finish(node, true);
        }
      },
    });
    this.node = node;
    this.awakeTimer = host.timer.set(() => {
      this.awakeTimer = undefined;
      if (this.node !== node) return;
      if (this.phase === SoilPhase.Awake) {
        this.emit({ type: "timeout", cycle });
        // Queue the reading (QoS 1: kept in the outbox while offline); the
        // stop below saves it to the store.
        node.publishState();
        this.finish(node, false);
      } else if (this.phase === SoilPhase.Stopping) {
        this.finish(node, true);
      }
    }, this.awakeMs);
    node.start();
  }

  /**
   * Graceful end (desktop hosts), then `callback`:
   * - awake: "offline" once connected (at the awake deadline at the
   *   latest, without it if the broker is unreachable), DISCONNECT;
   * - asleep: the sleep is cancelled and the node wakes once more to say
   *   "offline";
   * - flushing (a stop for sleeping under way): after it, the node wakes
   *   once more to say "offline".
   */
  shutdown(callback?: () => void): void {
    if (callback !== undefined) this.shutdownCallbacks.push(callback);
    switch (this.phase) {
      case SoilPhase.Stopped:
        this.done();
        return;
      case SoilPhase.Idle:
        this.phase = SoilPhase.Stopped;
        this.done();
        return;
      case SoilPhase.Asleep: {
        const cancel = this.cancelSleep;
        this.cancelSleep = undefined;
        if (cancel !== undefined) cancel();
        this.wake();
        this.phase = SoilPhase.Stopping;
        return;
      }
      case SoilPhase.Awake: {
        this.phase = SoilPhase.Stopping;
        const node = this.node;
        if (node !== undefined && node.client.connected) this.finish(node, true);
        return;
      }
      default:
        // Flushing: the stop under way continues in `finish`. Stopping: already ending.
        this.phase = SoilPhase.Stopping;
        return;
    }
  }

  /** Stops the node (drains QoS 1, DISCONNECT, saves the store), then sleeps or ends. */
  private finish(node: TelemetryNode, offline: boolean): void {
    if (this.finishing === node) return;
    this.finishing = node;
    if (this.awakeTimer !== undefined) {
      this.io.options.timer.clear(this.awakeTimer);
      this.awakeTimer = undefined;
    }
    if (this.phase === SoilPhase.Awake) this.phase = SoilPhase.Flushing;
    node.stop({ publishOffline: offline }, () => {
      if (this.node !== node) return;
      const counters = node.client.outbox.counters;
      const pending = counters.queued + counters.inflight;
      this.node = undefined;
      this.finishing = undefined;
      if (this.phase === SoilPhase.Stopping) {
        if (!offline) {
          // `shutdown` came while a stop for sleeping was under way: wake
          // once more to say "offline".
          this.phase = SoilPhase.Idle;
          this.wake();
          this.phase = SoilPhase.Stopping;
          return;
        }
        this.phase = SoilPhase.Stopped;
        this.emit({ type: "stopped", cycle: this.cycle });
        this.done();
        return;
      }
      this.phase = SoilPhase.Asleep;
      this.emit({ type: "sleep", cycle: this.cycle, ms: this.sleepMs, pending });
      const cancel = this.io.sleep(this.sleepMs, this.onWake);
      // A board never gets here; a desktop host may have woken us already.
      if (this.phase === SoilPhase.Asleep && typeof cancel === "function") this.cancelSleep = cancel;
    });
  }

  private done(): void {
    for (const callback of this.shutdownCallbacks.splice(0, this.shutdownCallbacks.length)) callback();
  }

  private emit(event: SoilEvent): void {
    if (this.io.onEvent !== undefined) this.io.onEvent(event);
  }
}
