/**
 * An in-memory scripted MQTT broker and a fake clock, for deterministic
 * session tests (no sockets, no sleeps). Runs on Node and inside XS.
 *
 * Pieces:
 * - `FakeClock`: a number of milliseconds that only moves when a test says so.
 * - `ScriptedBroker`: decodes what the client sends with our `Decoder`,
 *   answers with our `encode`, and keeps the broker side of one MQTT session
 *   (inbound QoS 2 ids held until PUBREL, outbound QoS 1/2 messages awaiting
 *   acknowledgement) across connections, as a real broker does when the
 *   client reconnects with Clean Start 0. Automatic answers (CONNACK,
 *   PUBACK/PUBREC/PUBCOMP, PUBREL, SUBACK/UNSUBACK, PINGRESP) can be turned
 *   off one by one, so that a test scripts them itself.
 * - `Link`: one session wired to one broker through two in-memory "wires"
 *   that hold whole packets in transit. A test moves packets one at a time
 *   (`toBroker()`, `toClient()`), or until nothing moves (`run()`), and can
 *   cut the connection at any point (`drop()`): packets still on the wires
 *   are lost, as bytes in a dead TCP connection are.
 *
 * Every event the session emits is drained into `link.events` after every
 * input; "message" events are copied (payload and all), because their views
 * are valid only until the next `receive()`.
 */
import { Decoder } from "../../modules/mqtt/codec/decoder";
import { encode } from "../../modules/mqtt/codec/encoder";
import type {
  AckPacket,
  ConnackPacket,
  ConnectPacket,
  Packet,
  Properties,
  ProtocolVersion,
  PublishPacket,
  QoS,
  SubscribePacket,
  UnsubscribePacket,
} from "../../modules/mqtt/codec/packets";
import type { MqttError } from "../../modules/mqtt/errors";
import { Session } from "../../modules/mqtt/session";
import type { SessionEvent, SessionOptions } from "../../modules/mqtt/session";

/** Milliseconds that move only when the test advances them. */
export class FakeClock {
  now: number;
  constructor(start = 1_000_000) {
    this.now = start;
  }
}

/** A copy of a packet whose byte views no longer depend on the decoder. */
export function clonePacket<P extends Packet>(packet: P): P {
  const copy = { ...packet } as P & { payload?: Uint8Array; password?: Uint8Array; properties?: Properties };
  const anyPacket = packet as unknown as { payload?: Uint8Array; password?: Uint8Array; properties?: Properties; will?: { payload: Uint8Array } };
  if (anyPacket.payload instanceof Uint8Array) copy.payload = anyPacket.payload.slice();
  if (anyPacket.password instanceof Uint8Array) copy.password = anyPacket.password.slice();
  if (anyPacket.will !== undefined) (copy as unknown as { will: unknown }).will = { ...anyPacket.will, payload: anyPacket.will.payload.slice() };
  if (anyPacket.properties !== undefined) {
    const p = { ...anyPacket.properties };
    if (p.correlationData !== undefined) p.correlationData = p.correlationData.slice();
    if (p.authenticationData !== undefined) p.authenticationData = p.authenticationData.slice();
    copy.properties = p;
  }
  return copy;
}

/** UTF-8 bytes of an ASCII string (test payloads are ASCII). */
export function ascii(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** An ASCII string from bytes. */
export function text(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
  return s;
}

export interface BrokerOptions {
  /** Reply to CONNECT automatically (default true). */
  autoConnack?: boolean;
  /** CONNACK fields for automatic replies; sessionPresent defaults to "the broker kept a session". */
  connack?: { reasonCode?: number; sessionPresent?: boolean; properties?: Properties };
  /** Acknowledge client PUBLISH (PUBACK / PUBREC / PUBCOMP) automatically (default true). */
  autoAck?: boolean;
  /** Answer the client's PUBREC with PUBREL automatically (default true). */
  autoRelease?: boolean;
  /** Answer SUBSCRIBE/UNSUBSCRIBE automatically (default true), granting the requested QoS. */
  autoSuback?: boolean;
  /** Answer PINGREQ automatically (default true). */
  autoPingresp?: boolean;
}

/** An application message the broker accepted from the client. */
export interface Delivery {
  topic: string;
  payload: string;
  qos: QoS;
  retain: boolean;
  dup: boolean;
  packetId?: number;
  properties?: Properties;
}

/** A message the broker is delivering to the client, with its exchange state. */
interface OutboundState {
  packet: PublishPacket;
  /** "publish": awaiting PUBACK/PUBREC; "release": PUBREL sent, awaiting PUBCOMP. */
  stage: "publish" | "release";
  /** The PUBLISH went out at least once (a resend then carries DUP). */
  sent?: boolean;
}

export class ScriptedBroker {
  options: Required<Omit<BrokerOptions, "connack">> & { connack: NonNullable<BrokerOptions["connack"]> };
  readonly decoder: Decoder;
  /** Protocol version of the current connection (from its CONNECT). */
  version: ProtocolVersion = 4;
  /** Every packet the broker processed, in order (copies). */
  readonly received: Packet[] = [];
  /** Application messages accepted from the client (QoS 2 counted once). */
  readonly delivered: Delivery[] = [];
  /** CONNECT packets seen, in order. */
  readonly connects: ConnectPacket[] = [];
  /** Encoded packets waiting to be handed to the link (the broker's send queue). */
  readonly outgoing: Uint8Array[] = [];
  /** A session survives between connections (set by a CONNECT with clean 0 after one existed). */
  hasSession = false;
  /** A CONNACK 0x00 was sent on the current connection. */
  connected = false;
  /** Inbound QoS 2 ids held until PUBREL (broker side of exactly-once). */
  readonly held = new Set<number>();
  /** Outbound QoS 1/2 messages in flight to the client, by packet id, in send order. */
  readonly outbound = new Map<number, OutboundState>();
  /** Topic aliases the client set on the current connection. */
  readonly aliases = new Map<number, string>();
  private nextId = 1;

  constructor(options: BrokerOptions = {}) {
    this.options = {
      autoConnack: options.autoConnack ?? true,
      connack: options.connack ?? {},
      autoAck: options.autoAck ?? true,
      autoRelease: options.autoRelease ?? true,
      autoSuback: options.autoSuback ?? true,
      autoPingresp: options.autoPingresp ?? true,
    };
    this.decoder = new Decoder({ protocolVersion: 4, maximumPacketSize: 1 << 20 });
  }

  /** Forgets the session state, as a broker that lost it (restart, expiry). */
  loseSession(): void {
    this.hasSession = false;
    this.held.clear();
    this.outbound.clear();
  }

  /** The connection ended: buffered bytes and unsent replies are gone. */
  disconnected(): void {
    this.connected = false;
    this.decoder.reset();
    this.outgoing.length = 0;
    this.aliases.clear();
  }

  /** Encodes `packet` for the client (in the current connection's version). */
  send(packet: Packet): void {
    this.outgoing.push(encode(packet, this.version));
  }

  /** Queues raw bytes for the client (malformed packets, split tests). */
  sendRaw(bytes: Uint8Array | number[]): void {
    this.outgoing.push(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes));
  }

  /**
   * Publishes to the client: QoS 1/2 messages get a packet id and are
   * tracked until acknowledged (and resent on a resumed session). While no
   * connection is up (no CONNACK sent), QoS 1/2 messages wait in the session
   * and QoS 0 messages are dropped, as a broker does.
   * Returns the packet id (0 for QoS 0).
   */
  publish(topic: string, payload: string | Uint8Array, qos: QoS = 0, extra: Partial<PublishPacket> = {}): number {
    const packet: PublishPacket = {
      type: 3,
      topic,
      payload: typeof payload === "string" ? ascii(payload) : payload,
      qos,
      retain: false,
      dup: false,
      ...extra,
    };
    if (qos > 0) {
      if (packet.packetId === undefined) {
        packet.packetId = this.nextId;
        this.nextId = this.nextId === 65535 ? 1 : this.nextId + 1;
      }
      this.outbound.set(packet.packetId, { packet, stage: "publish", sent: this.connected });
    }
    if (this.connected) this.send(packet);
    return packet.packetId ?? 0;
  }

  /** Feeds bytes the client sent; returns the decoded packets (copies). Throws what the decoder throws. */
  decode(bytes: Uint8Array): Packet[] {
    const out: Packet[] = [];
    this.decoder.push(bytes);
    for (;;) {
      const packet = this.decoder.next();
      if (packet === undefined) break;
      if (packet.type === 1) this.version = packet.protocolVersion;
      out.push(clonePacket(packet));
    }
    return out;
  }

  /** Processes one packet from the client: records it and queues the automatic answers. */
  handle(packet: Packet): void {
    this.received.push(packet);
    const o = this.options;
    switch (packet.type) {
      case 1: {
        this.connects.push(packet);
        if (packet.clean) this.loseSession();
        if (!o.autoConnack) return;
        const reasonCode = o.connack.reasonCode ?? 0;
        const sessionPresent = reasonCode === 0 && (o.connack.sessionPresent ?? this.hasSession);
        const connack: ConnackPacket = { type: 2, sessionPresent, reasonCode };
        if (o.connack.properties !== undefined && this.version === 5) connack.properties = o.connack.properties;
        this.send(connack);
        if (reasonCode !== 0) return;
        if (!sessionPresent) this.loseSession();
        this.hasSession = true;
        this.connected = true;
        this.resend();
        return;
      }
      case 3: {
        let topic = packet.topic;
        const alias = packet.properties?.topicAlias;
        if (alias !== undefined) {
          if (topic !== "") this.aliases.set(alias, topic);
          else topic = this.aliases.get(alias) ?? "<unknown alias>";
        }
        const delivery: Delivery = {
          topic,
          payload: text(packet.payload),
          qos: packet.qos,
          retain: packet.retain,
          dup: packet.dup,
        };
        if (packet.packetId !== undefined) delivery.packetId = packet.packetId;
        if (packet.properties !== undefined) delivery.properties = packet.properties;
        if (packet.qos === 2) {
          if (!this.held.has(packet.packetId as number)) {
            this.held.add(packet.packetId as number);
            this.delivered.push(delivery);
          }
          if (o.autoAck) this.send({ type: 5, packetId: packet.packetId as number, reasonCode: 0 });
          return;
        }
        this.delivered.push(delivery);
        if (packet.qos === 1 && o.autoAck) this.send({ type: 4, packetId: packet.packetId as number, reasonCode: 0 });
        return;
      }
      case 4:
      case 7:
        this.outbound.delete(packet.packetId);
        return;
      case 5: {
        const state = this.outbound.get(packet.packetId);
        if (state !== undefined) state.stage = "release";
        if (o.autoRelease) this.send({ type: 6, packetId: packet.packetId, reasonCode: 0 });
        return;
      }
      case 6: {
        this.held.delete(packet.packetId);
        if (o.autoAck) this.send({ type: 7, packetId: packet.packetId, reasonCode: 0 });
        return;
      }
      case 8:
        if (o.autoSuback) this.suback(packet);
        return;
      case 10:
        if (o.autoSuback) this.unsuback(packet);
        return;
      case 12:
        if (o.autoPingresp) this.send({ type: 13 });
        return;
      default:
        return;
    }
  }

  /** SUBACK granting each requested QoS. */
  suback(packet: SubscribePacket, reasonCodes?: number[]): void {
    this.send({ type: 9, packetId: packet.packetId, reasonCodes: reasonCodes ?? packet.subscriptions.map((s) => s.qos) });
  }

  /** UNSUBACK with success codes (v5) or none (3.1.1). */
  unsuback(packet: UnsubscribePacket, reasonCodes?: number[]): void {
    this.send({ type: 11, packetId: packet.packetId, reasonCodes: reasonCodes ?? (this.version === 5 ? packet.topics.map(() => 0) : []) });
  }

  /** Resends what the session still owes the client, in order (on a resumed session). */
  private resend(): void {
    for (const state of this.outbound.values()) {
      if (state.stage === "publish") {
        this.send({ ...state.packet, dup: state.sent === true });
        state.sent = true;
      } else {
        this.send({ type: 6, packetId: state.packet.packetId as number, reasonCode: 0 });
      }
    }
  }

  /** The last packet received of a type, or undefined. */
  last<T extends Packet["type"]>(type: T): Extract<Packet, { type: T }> | undefined {
    for (let i = this.received.length - 1; i >= 0; i--) {
      if (this.received[i].type === type) return this.received[i] as Extract<Packet, { type: T }>;
    }
    return undefined;
  }

  /** Every received packet of a type, in order. */
  all<T extends Packet["type"]>(type: T): Extract<Packet, { type: T }>[] {
    return this.received.filter((p) => p.type === type) as Extract<Packet, { type: T }>[];
  }
}

/** A copy of a session event that stays valid (message payloads copied). */
function keepEvent(event: SessionEvent): SessionEvent {
  if (event.type === "message") return { type: "message", packet: clonePacket(event.packet) };
  if (event.type === "packetreceive" || event.type === "packetsend") return { type: event.type, packet: clonePacket(event.packet) };
  return event;
}

export interface LinkOptions {
  session?: SessionOptions;
  broker?: BrokerOptions;
  /** Bytes per pollTransmit call (default 4096). */
  txChunk?: number;
  clock?: FakeClock;
}

/**
 * One session, one broker, two wires of whole packets, one fake clock.
 */
export class Link {
  readonly clock: FakeClock;
  readonly session: Session;
  readonly broker: ScriptedBroker;
  /** Every event the session emitted, in order (message payloads copied). */
  readonly events: SessionEvent[] = [];
  /** Packets the client sent that the broker has not processed yet. */
  readonly wireToBroker: Packet[] = [];
  /** Encoded packets the broker sent that the client has not received yet. */
  readonly wireToClient: Uint8Array[] = [];
  /** Error thrown by the broker's decoder on client bytes, if any. */
  brokerDecodeError: unknown = undefined;
  private readonly buffer: Uint8Array;

  constructor(options: LinkOptions = {}) {
    this.clock = options.clock ?? new FakeClock();
    this.session = new Session(options.session ?? {});
    this.broker = new ScriptedBroker(options.broker ?? {});
    this.buffer = new Uint8Array(options.txChunk ?? 4096);
  }

  get now(): number {
    return this.clock.now;
  }

  /** Drains the session's events into `events`; returns the new ones. */
  drain(): SessionEvent[] {
    const fresh: SessionEvent[] = [];
    for (;;) {
      const event = this.session.pollEvent();
      if (event === undefined) break;
      const kept = keepEvent(event);
      this.events.push(kept);
      fresh.push(kept);
    }
    return fresh;
  }

  /** All session bytes pending right now, concatenated (they are not delivered anywhere). */
  takeBytes(): Uint8Array {
    const parts: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      const n = this.session.pollTransmit(this.buffer);
      if (n === 0) break;
      parts.push(this.buffer.slice(0, n));
      total += n;
    }
    const out = new Uint8Array(total);
    let pos = 0;
    for (const p of parts) {
      out.set(p, pos);
      pos += p.length;
    }
    this.drain();
    return out;
  }

  /** Moves every byte the session has to send onto the wire to the broker (decoded). Returns the packets. */
  flush(): Packet[] {
    const bytes = this.takeBytes();
    if (bytes.length === 0) return [];
    try {
      const packets = this.broker.decode(bytes);
      this.wireToBroker.push(...packets);
      return packets;
    } catch (e) {
      this.brokerDecodeError = e;
      throw e;
    }
  }

  /** The broker processes the next packet on its wire; its answers go onto the wire to the client. */
  toBroker(): Packet | undefined {
    if (this.wireToBroker.length === 0) this.flush();
    const packet = this.wireToBroker.shift();
    if (packet === undefined) return undefined;
    this.broker.handle(packet);
    this.wireToClient.push(...this.broker.outgoing.splice(0));
    return packet;
  }

  /** The client receives the next packet on its wire. Returns the new events. */
  toClient(): SessionEvent[] {
    this.wireToClient.push(...this.broker.outgoing.splice(0));
    const bytes = this.wireToClient.shift();
    if (bytes === undefined) return [];
    this.session.receive(bytes, this.clock.now);
    return this.drain();
  }

  /** Hands raw bytes to the session (split tests, malformed input). Returns the new events. */
  receive(bytes: Uint8Array | number[]): SessionEvent[] {
    this.session.receive(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes), this.clock.now);
    return this.drain();
  }

  /** Moves packets both ways until nothing moves. Returns the number of packets moved. */
  run(limit = 10000): number {
    let moved = 0;
    for (;;) {
      this.flush();
      this.wireToClient.push(...this.broker.outgoing.splice(0));
      if (this.wireToBroker.length === 0 && this.wireToClient.length === 0) return moved;
      while (this.wireToBroker.length > 0) {
        this.toBroker();
        moved++;
      }
      while (this.wireToClient.length > 0) {
        this.toClient();
        moved++;
      }
      if (moved > limit) throw new Error("Link.run: no quiescence");
    }
  }

  /**
   * Starts a new connection (session CONNECT) and, unless `run` is false,
   * runs until quiet. Whatever was still on the wires belonged to the old
   * connection and is lost.
   */
  connect(run = true): SessionEvent[] {
    const before = this.events.length;
    this.wireToBroker.length = 0;
    this.wireToClient.length = 0;
    this.broker.disconnected();
    this.session.connect(this.clock.now);
    this.drain();
    if (run) this.run();
    return this.events.slice(before);
  }

  /**
   * Cuts the connection now: packets on both wires are lost, the broker
   * forgets its buffered bytes, the session is told (connectionLost), and
   * bytes the session still had queued are discarded.
   */
  drop(error?: MqttError): SessionEvent[] {
    this.wireToBroker.length = 0;
    this.wireToClient.length = 0;
    this.broker.disconnected();
    this.session.connectionLost(this.clock.now, error);
    return this.drain();
  }

  /**
   * Advances the clock by `ms`, running the session's timers at their
   * deadlines on the way (handleTimeout at each deadline). With `pump`, the
   * link runs after each timer (a live broker answers PINGREQ at once).
   * Returns the new events.
   */
  advance(ms: number, pump = false): SessionEvent[] {
    const before = this.events.length;
    const target = this.clock.now + ms;
    for (;;) {
      const deadline = this.session.pollTimeout();
      if (deadline === undefined || deadline > target) break;
      if (deadline > this.clock.now) this.clock.now = deadline;
      this.session.handleTimeout(this.clock.now);
      this.drain();
      if (pump) this.run();
      if (this.session.pollTimeout() === deadline) throw new Error("Link.advance: the deadline did not move");
    }
    this.clock.now = target;
    return this.events.slice(before);
  }

  /** Events of one type seen so far. */
  eventsOf<T extends SessionEvent["type"]>(type: T): Extract<SessionEvent, { type: T }>[] {
    return this.events.filter((e) => e.type === type) as Extract<SessionEvent, { type: T }>[];
  }

  /** Message events' payloads as strings, in order. */
  messages(): string[] {
    return this.eventsOf("message").map((e) => text(e.packet.payload));
  }
}

/** A v5 PUBACK/PUBREC/PUBCOMP/PUBREL packet. */
export function ack(type: 4 | 5 | 6 | 7, packetId: number, reasonCode = 0, properties?: Properties): AckPacket {
  const p: AckPacket = { type, packetId, reasonCode };
  if (properties !== undefined) p.properties = properties;
  return p;
}
