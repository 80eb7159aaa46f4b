/**
 * TelemetryNode: a sensor/actuator node on MQTT, from one description.
 *
 * Theory of operation
 * -------------------
 * The node owns one `Client` (built from the caller's options plus the
 * node's will, client id and callbacks) and uses only its public API. It
 * adds one timer of its own (the same injected `ClientTimer` API, never
 * setInterval) for a small table of deadlines: next sample, next periodic
 * report, a pending Home Assistant re-announcement, the stop timeout and
 * the persistence helper's deadline. Each wake-up handles whatever is due
 * and re-arms the timer for the earliest remaining deadline; time comes
 * from the injected clock.
 *
 * States (`NodeState`): Idle --start()--> Running --stop()--> Stopping
 * --DISCONNECT sent / connection closed--> Stopped --start()--> Running.
 *
 * Traffic (topics relative to the base topic `<base>`):
 * - Will `<base>/status` = "offline", QoS 1, retained; over MQTT 5 with a
 *   Will Delay Interval (`willDelay` s) and a session that outlives it.
 * - Birth `<base>/status` = "online", QoS 1, retained, after every CONNACK
 *   (first connect and every reconnect), then the HA discovery (if on)
 *   and the full state.
 * - State `<base>/state`: one JSON object with every field and actuator,
 *   at QoS `qos`, retained only with `retainState`. Sent every `period`,
 *   and at once when a field moved beyond its deadband or an actuator
 *   changed (report by exception; checked at every sample). While offline,
 *   QoS 0 states are not queued (a fresh one follows the reconnect); QoS
 *   1/2 states wait in the outbox (and in the store, when persisted).
 * - Commands `<base>/set/<name>`, subscribed at QoS 0 so that the broker
 *   queues nothing for the node while it is offline (a command is for
 *   now, not for whenever the node comes back). A retained command is
 *   refused and cleared (a retained command would switch the actuator
 *   again after every reboot: "ghost switching"); over MQTT 5 the
 *   subscription uses Retain As Published so that a command published
 *   with the retain flag is recognised live too (over 3.1.1 only the
 *   replay at subscribe time carries the flag [MQTT-3.3.1-9]). A bad
 *   payload gets an error reply and the actuator is not touched.
 * - Errors `<base>/error` (or the command's v5 Response Topic, with its
 *   Correlation Data): `{"command":name,"error":text,"payload":first 64
 *   characters}`, QoS 0, not retained.
 * - HA discovery, retained, QoS 1, per entity (see discovery.ts), and a
 *   re-announcement (discovery + state) a random 0..announceDelay ms after
 *   `<prefix>/status` = "online" arrives (HA's birth; its retained copy at
 *   subscribe time is ignored, the connect already announced).
 * - Graceful stop: "offline" (QoS 1, retained), then, once the broker has
 *   acknowledged everything queued, DISCONNECT (normal: the broker drops
 *   the will). After `stopTimeout` ms without that, the connection is
 *   dropped and the broker's will says "offline" instead.
 *
 * Local control: the control hook runs after every sample, connected or
 * not, and after every command; it may change actuators, whose new values
 * are reported by exception. A node that loses the broker keeps
 * regulating.
 *
 * Callbacks: node callbacks run from the client's callbacks or from the
 * node's timer, never from inside the MQTT parser (the client guarantees
 * it). Every method may be called from inside a callback.
 *
 * Errors (sensor failures, a throwing control hook, a refused publish)
 * go to `onError`; without `onError` they are rethrown to the caller of
 * the entry point that met them (timer callback, `start`, `stop`, or the
 * client's socket callback), after the node's state is consistent: never
 * swallowed.
 *
 * Memory: the node keeps two value records (latest, last published) and
 * the resolved description; a state report allocates its JSON string (one
 * object and one string per report, not per packet).
 */
import { Client } from "../mqtt/client";
import type { ClientOptions, PublishCallback } from "../mqtt/client";
import type { Properties, PublishPacket, QoS, Subscription } from "../mqtt/codec/packets";
import { decodeUtf8 } from "../mqtt/codec/utf8";
import { ErrorCode, MqttError } from "../mqtt/errors";
import { SessionPersistence } from "../persist/session-persistence";
import type { RestoreResult } from "../persist/session-persistence";
import type { Store } from "../persist/store";
import { MAX_COMMAND_BYTES, parseCommand } from "./commands";
import { flattenFields, resolveDescription, valueAt } from "./description";
import type { ActuatorSpec, NodeDescription, ResolvedDescription, ResolvedField, TelemetryValue, TelemetryValues } from "./description";
import { STATUS_OFFLINE, STATUS_ONLINE, actuatorDiscovery, fieldDiscovery } from "./discovery";

/** States of a `TelemetryNode`. */
export const NodeState = Object.freeze({
  /** Constructed, not started. */
  Idle: "idle",
  /** Sampling, reporting, connected or reconnecting. */
  Running: "running",
  /** `stop()` in progress: "offline" sent, waiting to DISCONNECT. */
  Stopping: "stopping",
  /** Stopped; `start()` runs it again. */
  Stopped: "stopped",
});
/** One of the `NodeState` values. */
export type NodeStateValue = (typeof NodeState)[keyof typeof NodeState];

/**
 * Options of `new TelemetryNode(description, options)`: the client's
 * options (socket, timer, clock, random, protocol version, keepalive,
 * credentials, outbox, reconnect policy; see `ClientOptions`) except what
 * the node sets itself (client id = node id, will, the callbacks below),
 * plus persistence and the node's callbacks.
 *
 * `clean` defaults to false over MQTT 5 (the will delay only helps when
 * the broker keeps the session across a quick reconnect), and over 3.1.1
 * to false when a `store` is given (so that QoS 2 de-duplication survives
 * a restart), true otherwise. Over MQTT 5 the CONNECT's Session Expiry
 * Interval is raised to at least `willDelay` seconds.
 */
export interface TelemetryNodeOptions
  extends Omit<ClientOptions, "clientId" | "will" | "onConnect" | "onMessage" | "onClose" | "onError" | "onEnd"> {
  /** Persist unacknowledged QoS 1/2 messages and inbound QoS 2 state here (see modules/persist). */
  store?: Store;
  /** Persistence debounce window, ms. Default 2000. */
  saveDelay?: number;
  /** How long `stop()` waits for the broker before dropping the connection, ms. Default 5000. */
  stopTimeout?: number;
  /** Connected (after the birth, discovery and state were queued). */
  onConnect?: (sessionPresent: boolean) => void;
  /** The connection ended; the client reconnects by itself unless stopping. */
  onClose?: (error: MqttError | undefined) => void;
  /** A message on a topic that is not the node's own (the application's subscriptions via `node.client`). Views valid until return. */
  onMessage?: (packet: PublishPacket) => void;
  /** An error (see the module header). */
  onError?: (error: unknown) => void;
  /** A state report was handed to the client (`payload` is the JSON sent). */
  onState?: (state: Readonly<TelemetryValues>, payload: string) => void;
  /** A command was applied (`error` undefined) or refused (`error` says why; `value` undefined when unparsed). */
  onCommand?: (name: string, value: boolean | number | undefined, error: string | undefined) => void;
  /** What `start()` restored from the store (first start only). */
  onRestore?: (result: RestoreResult) => void;
}

/** Options of `stop`. */
export interface StopOptions {
  /** Publish "offline" before DISCONNECT. Default true; false for a node that sleeps and wants to stay "online". */
  publishOffline?: boolean;
}

const RETAINED_COMMAND = "retained command ignored: commands must not be retained (a retained command switches the actuator again after every reconnect)";

function positiveMs(value: unknown, what: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !(value > 0) || value === Infinity) throw new RangeError(`${what} must be a positive number of ms, got ${String(value)}`);
  return value;
}

/** Whether `bytes` are exactly the ASCII text `text`. */
function isText(bytes: Uint8Array, text: string): boolean {
  if (bytes.length !== text.length) return false;
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== text.charCodeAt(i)) return false;
  return true;
}

function rounded(value: TelemetryValue | undefined, precision: number | undefined): TelemetryValue | undefined {
  if (precision === undefined || typeof value !== "number") return value;
  const f = 10 ** precision;
  return Math.round(value * f) / f;
}

/**
 * A telemetry node (see the module header). Construct, `start()`, and
 * `stop()` for a graceful shutdown.
 */
export class TelemetryNode {
  /** The resolved description. */
  readonly description: ResolvedDescription;
  /** The client (public API only; use it for the application's own subscriptions and publishes). */
  readonly client: Client;
  /** The persistence helper, when a `store` was given. */
  readonly persistence: SessionPersistence | undefined;
  /** The state. */
  state: NodeStateValue = NodeState.Idle;
  /**
   * Latest value of every field and actuator (the control hook gets this
   * object). Read-only for callers.
   */
  readonly values: TelemetryValues = {};

  private readonly options: TelemetryNodeOptions;
  private readonly clock: () => number;
  private readonly random: () => number;
  private readonly v5: boolean;
  private readonly stopTimeout: number;
  private readonly published: TelemetryValues = {};
  private readonly publishDone: PublishCallback;
  private restored = false;
  private nextSample = 0;
  private nextPeriodic = 0;
  private announceAt: number | undefined = undefined;
  private stopAt: number | undefined = undefined;
  private stopCallbacks: Array<() => void> = [];
  private timerId: unknown = undefined;
  private timerDeadline = 0;
  private readonly onTimerBound: () => void;
  private pendingThrow: unknown = undefined;
  private hasPendingThrow = false;
  private depth = 0;

  /**
   * Checks the description (TypeError/RangeError naming the rule) and
   * builds the client. No I/O: `start()` connects.
   */
  constructor(description: NodeDescription, options: TelemetryNodeOptions) {
    const d = resolveDescription(description);
    if (options === null || typeof options !== "object") throw new TypeError("TelemetryNode options must be an object");
    this.description = d;
    this.options = options;
    this.clock = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.stopTimeout = positiveMs(options.stopTimeout, "stopTimeout", 5000);
    this.v5 = options.protocolVersion === 5;
    const clean = options.clean ?? (this.v5 ? false : options.store === undefined);
    let properties: Properties | undefined = options.properties;
    const willProperties: Properties | undefined = this.v5 && d.willDelay > 0 ? { willDelayInterval: d.willDelay } : undefined;
    if (this.v5 && d.willDelay > 0) {
      const expiry = properties?.sessionExpiryInterval ?? 0;
      // The broker publishes the will when the session ends even if the
      // delay has not passed (MQTT 5.0 §3.1.3.2.2): keep the session at
      // least as long as the delay.
      if (expiry < d.willDelay) properties = { ...properties, sessionExpiryInterval: d.willDelay };
    }
    // The node's own options (and callbacks) are not passed to the client.
    const { store, saveDelay, stopTimeout, onConnect, onClose, onMessage, onError, onState, onCommand, onRestore, ...rest } = options;
    const clientOptions: ClientOptions = {
      ...rest,
      clientId: d.id,
      clean,
      will: { topic: d.statusTopic, payload: STATUS_OFFLINE, qos: 1, retain: true, properties: willProperties },
      onConnect: (_connack, sessionPresent) => this.guard(() => this.handleConnect(sessionPresent)),
      onMessage: (packet) => this.guard(() => this.handleMessage(packet)),
      onClose: (error) => this.guard(() => this.handleClose(error)),
      onError: onError === undefined ? undefined : (error) => this.report(error),
    };
    if (properties !== undefined) clientOptions.properties = properties;
    this.client = new Client(clientOptions);
    this.persistence = store === undefined ? undefined : new SessionPersistence(store, this.client, { saveDelay });
    this.onTimerBound = () => this.handleTimer();
    this.publishDone = (error) => {
      const persistence = this.persistence;
      if (persistence !== undefined) persistence.check(this.clock());
      // Closed: the client ended first; the message stays in the outbox (and the store).
      if (error !== undefined && error.code !== ErrorCode.Closed) this.report(error);
    };
  }

  /**
   * Starts: restores persisted state (first start), takes a first sample
   * (runs the control hook), subscribes to commands and HA's status, and
   * connects. From Idle or Stopped; otherwise does nothing.
   */
  start(): void {
    if (this.state !== NodeState.Idle && this.state !== NodeState.Stopped) return;
    const now = this.clock();
    this.state = NodeState.Running;
    this.depth++;
    try {
      const persistence = this.persistence;
      if (persistence !== undefined && !this.restored) {
        this.restored = true;
        const result = persistence.restore(now);
        if (this.options.onRestore !== undefined) this.callUser(() => this.options.onRestore!(result));
        if (result.error !== undefined) this.report(result.error);
      }
      this.sample(now, false);
      this.nextSample = now + this.description.sampleInterval;
      this.nextPeriodic = now + this.description.period;
      this.client.connect();
      // Queued until the CONNACK. On a restart after stop() the client still
      // remembers them (and resubscribes when the broker lost the session).
      const subscriptions = this.subscriptions().filter((s) => !this.client.subscriptions.has(s.topic));
      if (subscriptions.length > 0) this.client.subscribe(subscriptions);
    } catch (error) {
      this.report(error);
    } finally {
      this.depth--;
    }
    this.arm();
    this.raise();
  }

  /**
   * Graceful shutdown: stops sampling, publishes "offline" (QoS 1,
   * retained) when connected and `publishOffline` is not false, waits for
   * the broker to acknowledge everything queued, sends DISCONNECT, closes,
   * saves the persisted state, then calls `callback`. After `stopTimeout`
   * ms the connection is dropped instead (the will then says "offline").
   * While offline it ends at once. Calling it again while stopping adds
   * the callback.
   */
  stop(options?: StopOptions, callback?: () => void): void {
    if (this.state === NodeState.Stopping) {
      if (callback !== undefined) this.stopCallbacks.push(callback);
      return;
    }
    if (this.state !== NodeState.Running) {
      this.state = NodeState.Stopped;
      if (callback !== undefined) callback();
      return;
    }
    const now = this.clock();
    this.state = NodeState.Stopping;
    this.announceAt = undefined;
    if (callback !== undefined) this.stopCallbacks.push(callback);
    this.depth++;
    try {
      if (this.client.connected && options?.publishOffline !== false) {
        this.client.publish(this.description.statusTopic, STATUS_OFFLINE, { qos: 1, retain: true }, this.publishDone);
      }
      this.stopAt = now + this.stopTimeout;
      this.client.end({ drain: true }, () => this.finishStop());
    } catch (error) {
      this.report(error);
    } finally {
      this.depth--;
    }
    this.arm();
    this.raise();
  }

  /** Takes a sample now (and reports by exception as usual). For tests and apps that sample on an external trigger. */
  sampleNow(): void {
    this.depth++;
    try {
      this.sample(this.clock(), this.state === NodeState.Running);
    } finally {
      this.depth--;
    }
    this.arm();
    this.raise();
  }

  /** Sends the full state now (when connected, or queued at QoS 1/2). */
  publishState(): void {
    this.depth++;
    try {
      this.sendState(this.clock());
    } finally {
      this.depth--;
    }
    this.arm();
    this.raise();
  }

  // ---- internals -------------------------------------------------------

  private subscriptions(): Subscription[] {
    const d = this.description;
    const subs: Subscription[] = [];
    if (d.actuators.length > 0) {
      const commands: Subscription = { topic: `${d.commandPrefix}+`, qos: 0 };
      if (this.v5) {
        commands.noLocal = true; // our own retained-command clears are not commands
        commands.retainAsPublished = true; // see a live retained command as retained
      }
      subs.push(commands);
    }
    if (d.haPrefix !== undefined) subs.push({ topic: `${d.haPrefix}/status`, qos: 0 });
    return subs;
  }

  private handleConnect(sessionPresent: boolean): void {
    const now = this.clock();
    if (this.state === NodeState.Running) {
      this.client.publish(this.description.statusTopic, STATUS_ONLINE, { qos: 1, retain: true }, this.publishDone);
      if (this.description.haPrefix !== undefined) this.announce(now);
      else this.sendState(now);
    }
    if (this.persistence !== undefined) this.persistence.check(now);
    if (this.options.onConnect !== undefined) this.callUser(() => this.options.onConnect!(sessionPresent));
  }

  private handleClose(error: MqttError | undefined): void {
    if (this.persistence !== undefined) this.persistence.check(this.clock());
    if (this.options.onClose !== undefined) this.callUser(() => this.options.onClose!(error));
  }

  private handleMessage(packet: PublishPacket): void {
    const d = this.description;
    const topic = packet.topic;
    if (d.actuators.length > 0 && topic.startsWith(d.commandPrefix)) {
      // Commands act only while running (not while stopping or stopped).
      if (this.state === NodeState.Running) this.handleCommand(packet, topic.slice(d.commandPrefix.length));
    } else if (d.haPrefix !== undefined && topic === `${d.haPrefix}/status`) {
      this.handleHomeAssistantStatus(packet);
    } else if (this.options.onMessage !== undefined) {
      this.callUser(() => this.options.onMessage!(packet));
    }
    if (packet.qos === 2 && this.persistence !== undefined) this.persistence.check(this.clock());
  }

  /** HA's birth: re-announce after a random delay (one pending at a time). */
  private handleHomeAssistantStatus(packet: PublishPacket): void {
    if (packet.retain || this.state !== NodeState.Running) return;
    if (!isText(packet.payload, STATUS_ONLINE)) return;
    if (this.announceAt !== undefined) return;
    this.announceAt = this.clock() + Math.floor(this.random() * this.description.haAnnounceDelay);
  }

  private handleCommand(packet: PublishPacket, name: string): void {
    const payload = packet.payload;
    // An empty payload is how a retained message is deleted (ours or
    // anyone's): never a command.
    if (payload.length === 0) return;
    const props = packet.properties;
    const responseTopic = props?.responseTopic;
    const correlation = props?.correlationData;
    let text: string | undefined;
    if (payload.length <= MAX_COMMAND_BYTES) {
      try {
        text = decodeUtf8(payload, 0, payload.length);
      } catch {
        text = undefined; // reported below as "not UTF-8"
      }
    }
    if (packet.retain) {
      this.commandError(name, RETAINED_COMMAND, text, responseTopic, correlation, undefined);
      // Delete it at the broker so it cannot come back (empty retained payload [MQTT-3.3.1-6]).
      this.client.publish(packet.topic, "", { qos: 1, retain: true });
      return;
    }
    const actuator = this.actuator(name);
    if (actuator === undefined) return this.commandError(name, `unknown actuator "${name}"`, text, responseTopic, correlation, undefined);
    if (payload.length > MAX_COMMAND_BYTES) return this.commandError(name, `payload longer than ${MAX_COMMAND_BYTES} bytes`, undefined, responseTopic, correlation, undefined);
    if (text === undefined) return this.commandError(name, "payload is not valid UTF-8", undefined, responseTopic, correlation, undefined);
    let result;
    try {
      result = parseCommand(actuator, text);
    } catch (error) {
      result = { ok: false as const, error: `validation failed: ${(error as Error)?.message ?? String(error)}` };
    }
    if (!result.ok) return this.commandError(name, result.error, text, responseTopic, correlation, undefined);
    try {
      actuator.apply(result.value);
    } catch (error) {
      return this.commandError(name, `refused: ${(error as Error)?.message ?? String(error)}`, text, responseTopic, correlation, result.value);
    }
    const now = this.clock();
    this.readActuators();
    this.runControl(now);
    this.readActuators();
    if (responseTopic !== undefined) {
      this.reply(responseTopic, correlation, JSON.stringify({ command: name, value: this.values[name] }));
    }
    this.sendState(now);
    if (this.options.onCommand !== undefined) {
      const value = result.value;
      this.callUser(() => this.options.onCommand!(name, value, undefined));
    }
  }

  private commandError(
    name: string,
    error: string,
    text: string | undefined,
    responseTopic: string | undefined,
    correlation: Uint8Array | undefined,
    value: boolean | number | undefined,
  ): void {
    const body: Record<string, unknown> = { command: name, error };
    if (text !== undefined) body.payload = text.length > 64 ? text.slice(0, 64) : text;
    this.reply(responseTopic ?? this.description.errorTopic, responseTopic === undefined ? undefined : correlation, JSON.stringify(body));
    if (this.options.onCommand !== undefined) this.callUser(() => this.options.onCommand!(name, value, error));
  }

  /** QoS 0, not retained; with Correlation Data when answering a v5 request. */
  private reply(topic: string, correlation: Uint8Array | undefined, payload: string): void {
    const options: { qos: QoS; retain: boolean; properties?: Properties } = { qos: 0, retain: false };
    if (this.v5 && correlation !== undefined) options.properties = { correlationData: correlation };
    try {
      this.client.publish(topic, payload, options);
    } catch (error) {
      // e.g. an invalid Response Topic: answer on the error topic instead.
      if (topic !== this.description.errorTopic) this.client.publish(this.description.errorTopic, payload, { qos: 0, retain: false });
      this.report(error);
    }
  }

  private actuator(name: string): ActuatorSpec | undefined {
    for (const a of this.description.actuators) if (a.name === name) return a;
    return undefined;
  }

  /** Samples every sensor, runs the control hook, reports when due or changed. */
  private sample(now: number, report: boolean): void {
    const values = this.values;
    for (const s of this.description.sensors) {
      let sample: unknown;
      try {
        sample = s.sensor.sample();
      } catch (error) {
        // Fail safe: a sensor that failed has no value (never a stale one).
        if (s.fields !== undefined) for (const f of s.fields) delete values[f.name];
        this.report(error);
        continue;
      }
      if (s.fields === undefined) {
        s.fields = this.autoFields(sample);
        // Fields found after the announcement (the first samples failed): announce them now.
        if (this.client.connected && this.description.haPrefix !== undefined && this.announceAt === undefined) this.announceAt = now;
      }
      for (const f of s.fields) {
        const v = rounded(valueAt(sample, f.path), f.precision);
        if (v === undefined) delete values[f.name];
        else values[f.name] = v;
      }
    }
    this.readActuators();
    this.runControl(now);
    this.readActuators();
    if (report && (now >= this.nextPeriodic || this.changed())) this.sendState(now);
  }

  /** Fields of a sensor without a field list (first sample): flattened, minus names already taken. */
  private autoFields(sample: unknown): readonly ResolvedField[] {
    const taken = new Set<string>();
    for (const s of this.description.sensors) if (s.fields !== undefined) for (const f of s.fields) taken.add(f.name);
    for (const a of this.description.actuators) taken.add(a.name);
    const fields: ResolvedField[] = [];
    for (const f of flattenFields(sample)) {
      if (taken.has(f.name)) {
        this.report(new TypeError(`sensor field ${f.name} (from the sample) clashes with another field or actuator: not published; give the sensor a field list`));
        continue;
      }
      taken.add(f.name);
      fields.push(f);
    }
    return Object.freeze(fields);
  }

  private readActuators(): void {
    for (const a of this.description.actuators) {
      try {
        const v = a.read();
        if (typeof v === "boolean" || (typeof v === "number" && Number.isFinite(v))) this.values[a.name] = v;
        else delete this.values[a.name];
      } catch (error) {
        delete this.values[a.name];
        this.report(error);
      }
    }
  }

  private runControl(now: number): void {
    const control = this.description.control;
    if (control === undefined) return;
    try {
      control(this.values, now);
    } catch (error) {
      this.report(error);
    }
  }

  /** True when a field moved beyond its deadband or an actuator changed since the last report. */
  private changed(): boolean {
    const values = this.values;
    const published = this.published;
    for (const s of this.description.sensors) {
      if (s.fields === undefined) continue;
      for (const f of s.fields) {
        if (f.deadband === undefined) continue;
        const v = values[f.name];
        if (v === undefined) continue;
        const p = published[f.name];
        if (typeof v === "number" && typeof p === "number") {
          if (Math.abs(v - p) > f.deadband) return true;
        } else if (v !== p) {
          return true;
        }
      }
    }
    for (const a of this.description.actuators) if (values[a.name] !== published[a.name]) return true;
    return false;
  }

  /** Sends the state JSON (see the module header for when it is skipped). */
  private sendState(now: number): void {
    const d = this.description;
    this.nextPeriodic = now + d.period;
    if (!this.client.connected && d.qos === 0) return;
    if (this.state !== NodeState.Running) return;
    const state: TelemetryValues = {};
    const values = this.values;
    for (const s of d.sensors) {
      if (s.fields === undefined) continue;
      for (const f of s.fields) if (values[f.name] !== undefined) state[f.name] = values[f.name];
    }
    for (const a of d.actuators) if (values[a.name] !== undefined) state[a.name] = values[a.name];
    const payload = JSON.stringify(state);
    try {
      this.client.publish(d.stateTopic, payload, { qos: d.qos, retain: d.retainState }, d.qos > 0 ? this.publishDone : undefined);
    } catch (error) {
      this.report(error);
      return;
    }
    const published = this.published;
    for (const key of Object.keys(published)) delete published[key];
    for (const key of Object.keys(state)) published[key] = state[key];
    if (this.persistence !== undefined) this.persistence.check(now);
    if (this.options.onState !== undefined) this.callUser(() => this.options.onState!(state, payload));
  }

  /** Discovery for every entity, then the state. Only while connected (a reconnect announces anyway). */
  private announce(now: number): void {
    const d = this.description;
    if (!this.client.connected || d.haPrefix === undefined) return;
    for (const s of d.sensors) {
      if (s.fields === undefined) continue;
      for (const f of s.fields) {
        const m = fieldDiscovery(d, f, this.values[f.name]);
        this.client.publish(m.topic, m.payload, { qos: 1, retain: true }, this.publishDone);
      }
    }
    for (const a of d.actuators) {
      const m = actuatorDiscovery(d, a);
      this.client.publish(m.topic, m.payload, { qos: 1, retain: true }, this.publishDone);
    }
    this.sendState(now);
  }

  private finishStop(): void {
    this.stopAt = undefined;
    this.state = NodeState.Stopped;
    const persistence = this.persistence;
    if (persistence !== undefined) {
      const error = persistence.flush(this.clock());
      if (error !== undefined) this.report(error);
    }
    for (const callback of this.stopCallbacks.splice(0, this.stopCallbacks.length)) this.callUser(callback);
    this.arm();
  }

  private handleTimer(): void {
    this.timerId = undefined;
    const now = this.clock();
    this.depth++;
    try {
      if (this.state === NodeState.Running) {
        if (now >= this.nextSample) {
          this.nextSample += this.description.sampleInterval;
          // Late by more than one interval (a busy or sleeping host): skip
          // the missed samples instead of catching up in a burst.
          if (this.nextSample <= now) this.nextSample = now + this.description.sampleInterval;
          this.sample(now, true);
        }
        if (now >= this.nextPeriodic) this.sendState(now);
      }
      if (this.announceAt !== undefined && now >= this.announceAt) {
        this.announceAt = undefined;
        if (this.state === NodeState.Running) this.announce(now);
      }
      if (this.stopAt !== undefined && now >= this.stopAt) {
        this.stopAt = undefined;
        if (this.state === NodeState.Stopping) this.client.end({ force: true });
      }
      const persistence = this.persistence;
      if (persistence !== undefined) {
        const due = persistence.pollTimeout();
        if (due !== undefined && now >= due) {
          const error = persistence.handleTimeout(now);
          if (error !== undefined) this.report(error);
        }
      }
    } catch (error) {
      this.report(error);
    } finally {
      this.depth--;
    }
    this.arm();
    this.raise();
  }

  /** Arms the one timer for the earliest deadline (see the module header). */
  private arm(): void {
    let deadline: number | undefined;
    const consider = (t: number | undefined): void => {
      if (t !== undefined && (deadline === undefined || t < deadline)) deadline = t;
    };
    if (this.state === NodeState.Running) {
      consider(this.nextSample);
      consider(this.nextPeriodic);
    }
    consider(this.announceAt);
    consider(this.stopAt);
    if (this.persistence !== undefined && (this.state === NodeState.Running || this.state === NodeState.Stopping)) {
      consider(this.persistence.pollTimeout());
    }
    const timer = this.options.timer;
    if (deadline === undefined) {
      if (this.timerId !== undefined) {
        timer.clear(this.timerId);
        this.timerId = undefined;
      }
      return;
    }
    if (this.timerId !== undefined) {
      if (this.timerDeadline === deadline) return;
      timer.clear(this.timerId);
    }
    const now = this.clock();
    this.timerDeadline = deadline;
    this.timerId = timer.set(this.onTimerBound, deadline > now ? deadline - now : 0);
  }

  /** Runs a node callback invoked by the client; throws an unreported error at its end (the client reports it). */
  private guard(fn: () => void): void {
    this.depth++;
    try {
      fn();
    } catch (error) {
      this.report(error);
    } finally {
      this.depth--;
    }
    this.arm();
    if (this.options.onError === undefined) this.raise();
  }

  private callUser(fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.report(error);
    }
  }

  /** To `onError`, or kept and rethrown at the end of the entry point. */
  private report(error: unknown): void {
    const onError = this.options.onError;
    if (onError !== undefined) {
      try {
        onError(error);
        return;
      } catch (thrown) {
        error = thrown;
      }
    }
    if (this.hasPendingThrow) return;
    this.hasPendingThrow = true;
    this.pendingThrow = error;
  }

  private raise(): void {
    if (!this.hasPendingThrow || this.depth > 0) return;
    const error = this.pendingThrow;
    this.hasPendingThrow = false;
    this.pendingThrow = undefined;
    throw error;
  }
}
