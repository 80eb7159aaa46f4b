/**
 * The MQTT 3.1.1 / 5.0 client session, sans-I/O.
 *
 * Theory of operation
 * -------------------
 * A `Session` never touches a socket and never reads a clock. The owner (the
 * client adapter, or a test) feeds it inputs and, after EVERY input, drains
 * its outputs in this order:
 *
 *   inputs:   connect(now)  receive(bytes, now)  handleTimeout(now)
 *             connectionLost(now, error?)  publish/subscribe/unsubscribe/
 *             disconnect/auth(..., now)
 *   outputs:  pollTransmit(buffer) until it returns 0   -> write to the transport
 *             pollTimeout()                             -> arm the one timer
 *             pollEvent() until undefined               -> deliver to the user
 *
 * User code is never called from inside the session: events are queued and
 * the owner delivers them after the input returns (so a callback may call
 * back into the session safely).
 *
 * States (`SessionState`) and transitions:
 *
 *   Disconnected --connect()--> Connecting --CONNACK 0--> Connected
 *   Connecting/Connected --disconnect()--> Disconnecting
 *       --DISCONNECT handed to pollTransmit--> Disconnected ("closed", no error)
 *   Connecting/Connected/Disconnecting --connectionLost()--> Disconnected
 *       ("closed" with the transport error)
 *   Connected --server DISCONNECT < 0x80--> Disconnected ("disconnect", "closed")
 *   Connecting/Connected --violation, timeout, refused CONNACK, server
 *       DISCONNECT >= 0x80--> Closed ("closed" with an MqttError)
 *   any state --connect()--> Connecting (a new connection; the old one, if
 *       any, is abandoned without events)
 *
 * `Closed` sticks (h11's ERROR state): receive() and handleTimeout() do
 * nothing until connect(). pollTransmit() still hands out the rest of a
 * partly sent packet and, over MQTT 5, the DISCONNECT carrying the reason
 * code [MQTT-4.13.1-1]; the owner then closes the transport.
 *
 * Invariants:
 * - Packet ids are never 0 and never in use twice: the outbox assigns ids to
 *   QoS 1/2 PUBLISH and skips ids of pending SUBSCRIBE/UNSUBSCRIBE (its
 *   `isIdInUse` is this session's table); SUBSCRIBE/UNSUBSCRIBE skip ids the
 *   outbox holds [MQTT-2.2.1-3].
 * - Outbound QoS 1/2 messages sent and not yet completed on this connection
 *   never exceed min(maxInflight, server Receive Maximum) [MQTT-4.9.0-2];
 *   records leave the outbox in their original order [MQTT-4.6.0-6].
 * - Inbound QoS 2: a message is delivered once, on its first PUBLISH; its id
 *   is held until PUBREL, and a re-sent PUBLISH with a held id is answered
 *   with PUBREC again but not delivered (MQTT 5.0 §4.3.3, method B).
 * - Topic alias mappings live for one connection [MQTT-3.3.2-7]; outbox
 *   records always hold the full topic, aliases are applied as a record is
 *   written to the connection.
 *
 * What lives elsewhere: encoding/decoding (`codec/`), the ring of unsent and
 * unacknowledged messages (`outbox.ts`), topic rules and alias tables
 * (`topic.ts`), the transmit queue and small id tables (`session-tx.ts`,
 * `session-tables.ts`), option defaults (`session-options.ts`), sockets,
 * timers and reconnect policy (the client adapter).
 *
 * Not re-entrant: one caller at a time (it is plain state, like a parser).
 */
import { Decoder } from "./codec/decoder";
import { encode, encodedLength } from "./codec/encoder";
import { isReasonCodeAllowed } from "./codec/reason-codes";
import { decodeUtf8 } from "./codec/utf8";
import { readVbi, vbiLength, writeVbi } from "./codec/vbi";
import type {
  AckPacket,
  AuthPacket,
  ConnackPacket,
  ConnectPacket,
  DisconnectPacket,
  Packet,
  Properties,
  ProtocolVersion,
  PublishPacket,
  QoS,
  SubackPacket,
  SubscribePacket,
  Subscription,
  UnsubackPacket,
  UnsubscribePacket,
} from "./codec/packets";
import { ErrorCode, MqttError } from "./errors";
import { Outbox, RecordState, writePublish } from "./outbox";
import { MAX_PACKET_SIZE, resolveOptions, toBytes } from "./session-options";
import type { ResolvedOptions, SessionOptions, WillOptions } from "./session-options";
import { HeldIds, PendingRequests, RequestKind } from "./session-tables";
import { COPY_LOOP_MAX, TxKind, TxQueue } from "./session-tx";
import { assertTopicFilter, assertTopicName, InboundTopicAliases, OutboundTopicAliases, SHARED_SUBSCRIPTION_PREFIX } from "./topic";

export type { SessionOptions, WillOptions };

/** States of a `Session` (see the module header for the transitions). */
export const SessionState = Object.freeze({
  /** No connection: initial, after a clean disconnect, or after connectionLost(). */
  Disconnected: "disconnected",
  /** CONNECT queued, waiting for CONNACK. */
  Connecting: "connecting",
  /** CONNACK 0x00 received. */
  Connected: "connected",
  /** Our DISCONNECT is queued; "closed" follows once it is handed to pollTransmit. */
  Disconnecting: "disconnecting",
  /** The connection ended because of an error; sticks until connect(). */
  Closed: "closed",
});

export type SessionStateValue = (typeof SessionState)[keyof typeof SessionState];

/**
 * What the server's CONNACK said (MQTT 5.0 §3.2.2.3), with the protocol
 * defaults for absent properties and for MQTT 3.1.1. Values persist after
 * the connection ends and are replaced by the next CONNACK; `publish()`
 * checks against them even while offline.
 */
export interface ServerInfo {
  /** Server Receive Maximum (default 65535). */
  receiveMaximum: number;
  /** Maximum QoS (default 2). */
  maximumQoS: QoS;
  /** Retain Available (default true). */
  retainAvailable: boolean;
  /** Maximum Packet Size in bytes (default 268435460: no limit). */
  maximumPacketSize: number;
  /** Topic Alias Maximum (default 0: no aliases). */
  topicAliasMaximum: number;
  wildcardSubscriptionAvailable: boolean;
  subscriptionIdentifiersAvailable: boolean;
  sharedSubscriptionAvailable: boolean;
  /** Server Keep Alive in seconds, when sent; it replaces ours [MQTT-3.2.2-21]. */
  serverKeepAlive: number | undefined;
  /** Assigned Client Identifier, when sent. */
  assignedClientIdentifier: string | undefined;
  /** Session Present of the last CONNACK. */
  sessionPresent: boolean;
}

/** CONNACK 0x00 arrived: the session is Connected. */
export interface ConnectedEvent {
  type: "connected";
  connack: ConnackPacket;
  sessionPresent: boolean;
}
/**
 * An application message from the server. The topic is resolved from a v5
 * Topic Alias. `packet.payload` (and binary properties) are views valid
 * until the next `receive()`: copy what you keep.
 */
export interface MessageEvent {
  type: "message";
  packet: PublishPacket;
}
/**
 * An outbound QoS 1/2 message is done: PUBACK (QoS 1) or PUBCOMP (QoS 2)
 * arrived, or a v5 PUBREC with a failure reason (>= 0x80), or the session
 * refused to send a queued record because the server's CONNACK forbids it
 * (0x9B QoS not supported, 0x9A retain not supported, 0x95 packet too large).
 */
export interface PublishedEvent {
  type: "published";
  packetId: number;
  qos: 1 | 2;
  reasonCode: number;
  properties?: Properties;
}
/** A QoS 1/2 message expired in the outbox before it was ever sent (v5 Message Expiry); it is gone. */
export interface ExpiredEvent {
  type: "expired";
  packetId: number;
}
/** SUBACK: one reason code per subscription (granted QoS 0..2, or >= 0x80). */
export interface SubscribedEvent {
  type: "subscribed";
  packetId: number;
  reasonCodes: number[];
  properties?: Properties;
}
/** UNSUBACK: v5 one reason code per topic filter; v3.1.1 empty. */
export interface UnsubscribedEvent {
  type: "unsubscribed";
  packetId: number;
  reasonCodes: number[];
  properties?: Properties;
}
/** v5 AUTH from the server (enhanced authentication); answer with `auth()`. */
export interface AuthEvent {
  type: "auth";
  packet: AuthPacket;
}
/** v5 DISCONNECT from the server; a "closed" event follows. */
export interface DisconnectEvent {
  type: "disconnect";
  packet: DisconnectPacket;
}
/**
 * The connection is over; the owner closes the transport (after draining
 * pollTransmit, which may hold a v5 DISCONNECT). `error` is absent after our
 * own clean disconnect and after a server DISCONNECT below 0x80.
 */
export interface ClosedEvent {
  type: "closed";
  error?: MqttError;
}
/**
 * Only with `packetEvents`: a packet was queued for sending (control
 * packets) or started on the wire (outbox records), or a packet was
 * decoded. Views inside are valid until the next call into the session.
 */
export interface PacketTraceEvent {
  type: "packetsend" | "packetreceive";
  packet: Packet;
}

export type SessionEvent =
  | ConnectedEvent
  | MessageEvent
  | PublishedEvent
  | ExpiredEvent
  | SubscribedEvent
  | UnsubscribedEvent
  | AuthEvent
  | DisconnectEvent
  | ClosedEvent
  | PacketTraceEvent;

/** Options of `publish()`. */
export interface PublishOptions {
  /** Default 0. */
  qos?: QoS;
  /** Default false. */
  retain?: boolean;
  /**
   * v5 PUBLISH properties (ignored for 3.1.1). `topicAlias` is managed by the
   * session and must not be set; `subscriptionIdentifier` is server-only
   * [MQTT-3.3.4-6].
   */
  properties?: Properties;
}

/* The timer table: one deadline per kind, Infinity when off. */
const T_CONNECT = 0;
const T_KEEPALIVE = 1;
const T_PING = 2;
const TIMERS = 3;

/* First bytes of the control packets written into the transmit ring. */
const PINGREQ_BYTE = 0xc0;
const DISCONNECT_BYTE = 0xe0;

/** Worst-case growth of a PUBLISH when a topic alias is added: property 3 + two VBI bytes. */
const ALIAS_GROWTH = 5;

function checkQos(qos: unknown, what: string): QoS {
  if (qos === undefined) return 0;
  if (qos !== 0 && qos !== 1 && qos !== 2) throw new RangeError(`${what} QoS must be 0, 1 or 2 [MQTT-3.3.1-4], got ${String(qos)}`);
  return qos;
}

function hasWildcard(filter: string): boolean {
  return filter.indexOf("+") >= 0 || filter.indexOf("#") >= 0;
}

export class Session {
  /**
   * The outbox holding unsent and unacknowledged PUBLISH/PUBREL records.
   * The session sets its `isIdInUse` (one outbox per session); snapshot or
   * restore it only while the session is not connected.
   */
  readonly outbox: Outbox;
  private readonly opts: ResolvedOptions;
  private readonly version: ProtocolVersion;
  private readonly v5: boolean;
  private st: SessionStateValue = SessionState.Disconnected;
  private readonly info: ServerInfo;
  private readonly decoder: Decoder;
  private readonly tx: TxQueue;
  private readonly held: HeldIds;
  private readonly pending: PendingRequests;
  private readonly inAliases: InboundTopicAliases;
  private readonly outAliases: OutboundTopicAliases;
  private readonly timers = new Float64Array(TIMERS);
  private readonly events: SessionEvent[] = [];
  private eventHead = 0;
  /** Time of the latest input (ms); pollTransmit works at this time. */
  private now = 0;
  /** Time bytes were last handed to pollTransmit's caller (ms). */
  private lastSent = 0;
  private keepaliveMs: number;
  /** Outbound QoS 1/2 messages sent on this connection and not completed. */
  private inflight = 0;
  /** Outbound QoS 2 messages between PUBLISH and PUBREC on this connection (at most `maxInflightQos2`; see onPubrec). */
  private inflightQos2 = 0;
  /** min(maxInflight, server Receive Maximum) for this connection. */
  private window: number;
  /** PUBACKs queued in the ring and not yet handed out (they count against our Receive Maximum). */
  private pendingPubacks = 0;
  /** Packet id of a QoS 1/2 record partly handed out (0: none). */
  private txRecordId = 0;
  private nextRequestId = 1;
  /** Queued records dropped at transmit time because the server's CONNACK forbids them. */
  private refused = 0;
  private clientIdInUse: string;
  /** Reused by publish(): the outbox copies the message, so no packet object per call. */
  private readonly scratch: PublishPacket;
  /** Reused by the acknowledgement fast path of `receive` (never kept: handlers copy what they need). */
  private readonly scratchAck: AckPacket = { type: 4, packetId: 0, reasonCode: 0 };
  private readonly empty = new Uint8Array(0);
  /** `outbox.counters.expired` when expired ids were last taken (see drainExpired). */
  private expiredSeen = -1;
  /** False while the last CONNACK set no limit that `refusal` checks (then it is skipped). */
  private refusing = true;
  /** See `receiveMaximumExceeded`. */
  private rmExceeded = 0;
  /** Incremented on every write to `timers` (see `timerVersion`). */
  private timersChanged = 0;
  /** Filled by `outbox.prepareRecord` on the transmit path (see there). */
  private readonly recordInfo = new Int32Array(6);
  /** Only with packetEvents: decodes outbox records for packetsend events. */
  private txDecoder: Decoder | undefined;
  /**
   * Queue "packetsend"/"packetreceive" events. Starts as
   * `options.packetEvents`; may be changed at any time and applies to
   * packets queued or received from then on. Off, they cost nothing (on,
   * every PUBLISH sent from the outbox is decoded again for its event).
   */
  packetEvents: boolean;
  /** Packet id of the QoS 1/2 message the last successful `publishNow` wrote. */
  directId = 0;
  /**
   * After a successful QoS 1/2 `publishNow`: undefined when the PUBLISH was
   * written at target[offset..], else a view of its bytes in the outbox
   * (then nothing was written to `target`), valid until the next call on
   * the session; write or copy it at once.
   */
  directView: Uint8Array | undefined = undefined;

  /**
   * @param options see `SessionOptions`; every field has a default.
   * @throws TypeError/RangeError for invalid options (the rule in the message).
   * Allocates everything the session needs on the hot path: the decoder
   * (and its staging buffer of `maximumPacketSize` bytes), the transmit
   * ring, the id tables, the alias tables, and the outbox unless one is given.
   */
  constructor(options: SessionOptions = {}) {
    const opts = resolveOptions(options);
    this.opts = opts;
    this.packetEvents = opts.packetEvents;
    this.version = opts.protocolVersion;
    this.v5 = opts.protocolVersion === 5;
    const given = options.outbox;
    this.outbox = given instanceof Outbox ? given : new Outbox(given ?? {});
    this.pending = new PendingRequests(opts.maxPendingRequests);
    const pending = this.pending;
    this.outbox.isIdInUse = (packetId: number) => pending.count !== 0 && pending.has(packetId);
    this.info = {
      receiveMaximum: 65535,
      maximumQoS: 2,
      retainAvailable: true,
      maximumPacketSize: MAX_PACKET_SIZE,
      topicAliasMaximum: 0,
      wildcardSubscriptionAvailable: true,
      subscriptionIdentifiersAvailable: this.v5,
      sharedSubscriptionAvailable: true,
      serverKeepAlive: undefined,
      assignedClientIdentifier: undefined,
      sessionPresent: false,
    };
    this.decoder = new Decoder({ protocolVersion: opts.protocolVersion, maximumPacketSize: opts.maximumPacketSize });
    this.tx = new TxQueue(opts.txRingSize);
    this.held = new HeldIds(opts.receiveMaximum);
    this.inAliases = new InboundTopicAliases(opts.topicAliasMaximum);
    this.outAliases = new OutboundTopicAliases(opts.outboundTopicAliasCapacity);
    this.outAliases.reset(0);
    this.timers.fill(Infinity);
    this.keepaliveMs = opts.keepalive * 1000;
    this.window = opts.maxInflight;
    this.clientIdInUse = opts.clientId;
    this.scratch = { type: 3, topic: "", payload: this.empty, qos: 0, retain: false, dup: false };
    // The codec checks every CONNECT field (UTF-8, lengths, property values)
    // now, so that connect() cannot fail on the options later.
    encodedLength(this.connectPacket(), this.version);
  }

  /** True while outbound topic aliases are in use on this connection (v5, the server allows some). */
  get aliasing(): boolean {
    return this.outAliases.limit !== 0;
  }

  /** A `SessionState` value. */
  get state(): SessionStateValue {
    return this.st;
  }

  /**
   * Changes whenever a timer deadline may have changed (so `pollTimeout`
   * may answer differently): an owner that re-arms its timer after every
   * input can skip that while it stays the same.
   */
  get timerVersion(): number {
    return this.timersChanged;
  }

  /** What the last CONNACK said (protocol defaults before the first one). Live object: read, do not modify. */
  get server(): Readonly<ServerInfo> {
    return this.info;
  }

  /** The Client Identifier the next CONNECT carries (the server-assigned one once a v5 CONNACK assigned it). */
  get clientId(): string {
    return this.clientIdInUse;
  }

  /** Keep alive in effect, in seconds (ours, or the v5 Server Keep Alive). */
  get keepalive(): number {
    return this.keepaliveMs / 1000;
  }

  /**
   * Inbound QoS 1/2 PUBLISH packets taken although the server already had
   * our Receive Maximum of them unacknowledged (v5, option
   * `enforceReceiveMaximum` false). Cumulative; 0 with a server that keeps
   * the rule.
   */
  get receiveMaximumExceeded(): number {
    return this.rmExceeded;
  }

  /** Outbound QoS 1/2 messages sent on this connection and not yet completed (at most `inflightWindow`). */
  get inflightCount(): number {
    return this.inflight;
  }

  /** min(maxInflight, server Receive Maximum) for the current connection. */
  get inflightWindow(): number {
    return this.window;
  }

  /**
   * Queued records dropped when their turn came because the current
   * server's CONNACK forbids them (QoS above Maximum QoS, retain without
   * Retain Available, larger than Maximum Packet Size). Cumulative. QoS 1/2
   * ones are also reported as "published" events with that reason code.
   */
  get refusedCount(): number {
    return this.refused;
  }

  /**
   * Starts a new connection over a fresh transport: resets the decoder and
   * every per-connection table (topic aliases, pending SUBSCRIBE/UNSUBSCRIBE,
   * the transmit queue), arms the connect timer and queues CONNECT.
   * Allowed in any state; a connection still in progress is abandoned
   * without events. Outbox records and held inbound QoS 2 ids are kept
   * (they belong to the MQTT session, not the connection).
   * @param now ms.
   */
  connect(now: number): void {
    this.now = now;
    this.resetConnection();
    this.decoder.reset();
    this.inAliases.reset();
    this.outAliases.reset(0);
    this.held.newConnection();
    this.timers[T_CONNECT] = now + this.opts.connectTimeout;
    this.timersChanged++;
    this.keepaliveMs = this.opts.keepalive * 1000;
    const connect = this.connectPacket();
    this.queueEncoded(connect);
    this.lastSent = now;
    this.st = SessionState.Connecting;
  }

  /**
   * Feeds bytes read from the transport (any split). Decodes and handles
   * every complete packet. Never throws because of the peer: a violation
   * ends the connection with a "closed" event carrying an MqttError (state
   * Closed), preceded over MQTT 5 by a DISCONNECT with the reason code
   * [MQTT-4.13.1-1]. Ignored unless Connecting or Connected.
   *
   * Message payloads handed out in events are views into `bytes` or into the
   * decoder's staging buffer, valid until the next `receive()`; `bytes` must
   * not be modified until then.
   *
   * Returns true when the input left the owner nothing to do (no event,
   * nothing for `pollTransmit`, no timer change: see `settled`); it says so
   * only where that is cheap to know (a chunk of acknowledgements, e.g.
   * PUBACKs of messages published quiet) and answers false otherwise, which
   * is always safe to assume.
   * @param now ms.
   */
  receive(bytes: Uint8Array, now: number): boolean {
    this.now = now;
    const st = this.st;
    if (st !== SessionState.Connected && st !== SessionState.Connecting) return false;
    const decoder = this.decoder;
    if (bytes[1] === 2 && st === SessionState.Connected && !this.packetEvents && decoder.exhausted) {
      // Acknowledgement fast path: whole 4-byte PUBACK/PUBREC/PUBCOMP at the
      // start of the chunk (packet id only: every 3.1.1 ack, a v5 Success
      // without properties), handled without the decoder or a packet object.
      // Exactly what the decoder accepts as such; anything else, including a
      // wrong flag nibble or packet id 0, goes to the decoder, which reports it.
      const n = bytes.length;
      let start = 0;
      const ack = this.scratchAck;
      const outbox = this.outbox;
      while (start + 4 <= n && bytes[start + 1] === 2) {
        const b0 = bytes[start];
        if (b0 !== 0x40 && b0 !== 0x50 && b0 !== 0x70) break;
        const id = (bytes[start + 2] << 8) | bytes[start + 3];
        if (id === 0) break;
        start += 4;
        if (b0 === 0x40 && id !== this.txRecordId && outbox.acknowledge(id, 4)) {
          // onPuback, written out for the most frequent case.
          this.inflight -= 1;
          if (!outbox.ackedQuiet) {
            ack.type = 4;
            ack.packetId = id;
            this.emitPublished(ack, 1);
          }
          continue;
        }
        ack.type = (b0 >> 4) as 4 | 5 | 7;
        ack.packetId = id;
        this.handle(ack);
        if (this.st !== SessionState.Connected) return false;
      }
      if (start === n) return this.settled(this.timersChanged);
      if (start > 0) bytes = bytes.subarray(start);
    }
    decoder.push(bytes);
    // Open (checked above) for the first packet; after each one, until a packet closes the session.
    for (;;) {
      let packet: Packet | undefined;
      try {
        packet = decoder.next();
      } catch (e) {
        this.fail(e instanceof MqttError ? e : new MqttError(ErrorCode.MalformedPacket, String(e), "remote"), true);
        return false;
      }
      if (packet === undefined) return false;
      if (this.packetEvents) this.emit({ type: "packetreceive", packet });
      this.handle(packet);
      if (decoder.exhausted) return false; // the usual case: one whole packet per chunk
      if (this.st !== SessionState.Connected && this.st !== SessionState.Connecting) return false;
    }
  }

  /**
   * Runs the timers due at `now`: connect timeout (ConnectTimeout), PINGREQ
   * when nothing was sent for the keep alive interval, ping timeout
   * (PingTimeout). Harmless to call early or often.
   * @param now ms.
   */
  handleTimeout(now: number): void {
    this.now = now;
    const t = this.timers;
    if (this.st === SessionState.Connecting) {
      if (now >= t[T_CONNECT]) {
        this.fail(new MqttError(ErrorCode.ConnectTimeout, `no CONNACK within ${this.opts.connectTimeout} ms`), false);
      }
      return;
    }
    if (this.st !== SessionState.Connected) return;
    if (now >= t[T_PING]) {
      this.fail(new MqttError(ErrorCode.PingTimeout, `no PINGRESP within ${this.pingWindow()} ms of PINGREQ`), false);
      return;
    }
    if (now >= t[T_KEEPALIVE]) {
      this.tx.append2(PINGREQ_BYTE, 0);
      if (this.packetEvents) this.emit({ type: "packetsend", packet: { type: 12 } });
      t[T_KEEPALIVE] = Infinity;
      t[T_PING] = now + this.pingWindow();
      this.timersChanged++;
    }
  }

  /**
   * The transport closed or failed. Ends the connection: state Disconnected,
   * a "closed" event with `error` (default MqttError ConnectionLost, source
   * transport; none when our own disconnect was under way). Unsent bytes are
   * dropped; outbox records stay (resent after the next CONNACK). Does
   * nothing when there is no connection.
   * @param now ms.
   */
  connectionLost(now: number, error?: MqttError): void {
    this.now = now;
    if (this.st === SessionState.Disconnected || this.st === SessionState.Closed) return;
    const wasDisconnecting = this.st === SessionState.Disconnecting;
    this.resetConnection();
    this.st = SessionState.Disconnected;
    if (wasDisconnecting) this.emit({ type: "closed" });
    else this.emit({ type: "closed", error: error ?? new MqttError(ErrorCode.ConnectionLost, "the transport closed", "transport") });
  }

  /**
   * Queues an application message in the outbox; it is sent once Connected,
   * in order, within the in-flight window.
   *
   * @returns the packet id for QoS 1/2 (watch for the "published" event), 0
   *   for QoS 0, -1 for QoS 0 discarded by the outbox's offline policy.
   * @throws TypeError for an invalid topic name, payload or properties;
   *   MqttError QoSNotSupported [MQTT-3.2.2-11], RetainNotSupported
   *   [MQTT-3.2.2-14] or PacketTooLarge [MQTT-3.2.2-15] when the last
   *   CONNACK forbids it; MqttError OutboxFull when it does not fit. Nothing
   *   is queued when it throws. The payload is copied into the outbox.
   * @param now ms (starts the v5 Message Expiry clock).
   */
  publish(topic: string, payload: Uint8Array | string, options: PublishOptions, now: number): number {
    this.now = now;
    // A topic in the outbox's topic cache passed these checks before.
    if (!this.outbox.isKnownTopic(topic)) assertTopicName(topic);
    const o = options ?? {};
    const qos = checkQos(o.qos, "PUBLISH");
    const retain = o.retain === true;
    const bytes = toBytes(payload, "payload");
    const info = this.info;
    if (qos > info.maximumQoS) {
      throw new MqttError(ErrorCode.QoSNotSupported, `QoS ${qos} exceeds the server's Maximum QoS ${info.maximumQoS} [MQTT-3.2.2-11]`);
    }
    if (retain && !info.retainAvailable) {
      throw new MqttError(ErrorCode.RetainNotSupported, "the server does not support retained messages [MQTT-3.2.2-14]");
    }
    const packet = this.scratch;
    packet.topic = topic;
    packet.payload = bytes;
    packet.qos = qos;
    packet.retain = retain;
    packet.packetId = qos > 0 ? 1 : undefined; // for the length check; the outbox assigns the id
    try {
      if (this.v5 && o.properties !== undefined) {
        const p = o.properties;
        if (p.topicAlias !== undefined) throw new TypeError("topicAlias is assigned by the session (outboundTopicAliases), not by the caller");
        if (p.subscriptionIdentifier !== undefined) {
          throw new TypeError("a client PUBLISH must not carry a Subscription Identifier [MQTT-3.3.4-6]");
        }
        packet.properties = p;
      }
      // A record that fits the outbox fits a server whose limit is at least
      // the outbox capacity: only measure when the limit is smaller.
      if (info.maximumPacketSize < this.outbox.capacity) {
        const size = encodedLength(packet, this.version);
        if (size > info.maximumPacketSize) {
          throw new MqttError(
            ErrorCode.PacketTooLarge,
            `PUBLISH of ${size} bytes exceeds the server's Maximum Packet Size ${info.maximumPacketSize} [MQTT-3.2.2-15]`,
          );
        }
      }
      const id = this.outbox.enqueue(packet, this.version, now, this.st === SessionState.Connected);
      this.drainExpired();
      return id;
    } finally {
      packet.topic = "";
      packet.payload = this.empty;
      packet.properties = undefined;
    }
  }

  /**
   * The transmit fast path, for a driver that owns the transmit buffer (the
   * Client): when the message could go out at once, writes its PUBLISH at
   * target[offset..] and returns its length; otherwise writes nothing,
   * changes nothing and returns 0, and the caller uses `publish` (which
   * queues it, or throws for invalid arguments or a full outbox).
   *
   * "At once" means: Connected, nothing waiting ahead of it (no control
   * packet, no packet partly handed out, no outbox record waiting), no
   * packet events, `topic` in the outbox's topic cache (so it is a valid
   * Topic Name), QoS and retain allowed by the server, and
   * the packet fits `target`, the server's Maximum Packet Size and the
   * outbox. QoS 1/2 also need room in the in-flight window
   * [MQTT-4.9.0-2] (QoS 2: under `maxInflightQos2`) and in the outbox
   * without dropping anything: the message is stored there as sent
   * (InFlight; a resend after a reconnect carries DUP [MQTT-3.3.1-1]) and
   * its packet id is left in `directId`; completion comes as for `publish`
   * (a "published" event), or with `quiet` without any "published" event,
   * success or failure (for an owner that has nobody to tell). The bytes
   * are at target[offset..] unless `directView` says otherwise.
   *
   * The bytes are what `publish` then `pollTransmit` would hand out (no
   * properties other than a Topic Alias, assigned as the transmit path
   * would while outbound aliases are in use), with the same effect on the
   * keep alive timer and the alias table: the caller must write them after
   * anything it already holds, before calling `pollTransmit` again.
   * @param now ms.
   */
  publishNow(topic: string, payload: Uint8Array, qos: QoS, retain: boolean, target: Uint8Array, offset: number, now: number, quiet = false): number {
    if (this.st !== SessionState.Connected || this.packetEvents) return 0;
    const tx = this.tx;
    const outbox = this.outbox;
    if (tx.active || tx.size > 0 || outbox.counters.queued !== 0) return 0;
    if (!(payload instanceof Uint8Array) || (retain && !this.info.retainAvailable)) return 0;
    if (qos !== 0) {
      if ((qos !== 1 && qos !== 2) || qos > this.info.maximumQoS || this.inflight >= this.window) return 0;
      if (qos === 2 && this.inflightQos2 >= this.opts.maxInflightQos2) return 0;
    }
    const first = 0x30 | (qos << 1) | (retain ? 0x01 : 0);
    const room = target.length - offset;
    const limit = this.info.maximumPacketSize;
    let total: number;
    if (this.outAliases.limit !== 0) {
      total = this.publishNowAliased(topic, payload, qos, first, target, offset, quiet);
      if (total === 0) return 0;
    } else if (qos === 0) {
      const bytes = outbox.cachedTopicBytes(topic);
      if (bytes === undefined) return 0;
      const rl = 2 + bytes.length + (this.v5 ? 1 : 0) + payload.length;
      total = 1 + (rl < 0x80 ? 1 : rl < 0x4000 ? 2 : rl < 0x200000 ? 3 : 4) + rl;
      if (total > room || total > limit || total > outbox.capacity) return 0;
      writePublish(target, offset, first, rl, bytes, 0, this.v5, payload);
    } else {
      total = outbox.enqueueSent(topic, payload, qos, retain, this.version, limit < room ? limit : room, quiet);
      if (total === 0) return 0;
      this.directId = outbox.sentId;
      const view = outbox.sentView;
      this.directView = view; // when set, the owner writes the record from the ring
      if (view === undefined) {
        const topicBytes = outbox.sentTopic;
        writePublish(target, offset, first, 4 + topicBytes.length + (this.v5 ? 1 : 0) + payload.length, topicBytes, this.directId, this.v5, payload);
      }
    }
    if (qos !== 0) {
      this.inflight += 1;
      if (qos === 2) this.inflightQos2 += 1;
    }
    this.now = now;
    this.lastSent = now;
    // refreshKeepalive(), reduced to its usual case: a running keep alive
    // deadline moves later (no PINGREQ outstanding; the clock never goes back).
    const t = this.timers;
    if (t[T_KEEPALIVE] !== Infinity) t[T_KEEPALIVE] = now + this.keepaliveMs;
    else this.refreshKeepalive();
    return total;
  }

  /**
   * `publishNow` while outbound topic aliases are in use (v5): the same
   * PUBLISH `segmentPublish` would send for the stored record (MQTT 5.0
   * §3.3.2.3.4): the Topic Alias property with the Topic Name when the alias
   * is new, with an empty one when the server knows it, or no alias when
   * the aliased form would exceed the server's Maximum Packet Size. A QoS
   * 1/2 message is stored first (without the alias, which ends with the
   * connection), then the alias is assigned. Returns the length written at
   * target[offset..], or 0 having changed nothing.
   */
  private publishNowAliased(topic: string, payload: Uint8Array, qos: QoS, first: number, target: Uint8Array, offset: number, quiet: boolean): number {
    const outbox = this.outbox;
    const bytes = outbox.cachedTopicBytes(topic);
    if (bytes === undefined) return 0;
    const t = bytes.length;
    const idLength = qos === 0 ? 0 : 2;
    const limit = this.info.maximumPacketSize;
    const plainRl = 2 + t + idLength + 1 + payload.length;
    const plainTotal = 1 + vbiLength(plainRl) + plainRl;
    if (plainTotal > limit || plainTotal > outbox.capacity) return 0;
    const aliases = this.outAliases;
    const known = aliases.lookup(topic) !== 0;
    const base = idLength + 1 + 3 + payload.length; // id, property length, Topic Alias (3 bytes), payload
    let rl = known ? 2 + base : 2 + t + base;
    let total = 1 + vbiLength(rl) + rl;
    const aliased = total <= limit; // else unchanged [MQTT-3.2.2-15]
    if (!aliased) {
      rl = plainRl;
      total = plainTotal;
    }
    if (total > target.length - offset) return 0;
    let id = 0;
    if (qos !== 0) {
      if (outbox.enqueueSent(topic, payload, qos as 1 | 2, (first & 0x01) !== 0, this.version, limit, quiet) === 0) return 0;
      id = this.directId = outbox.sentId;
      this.directView = undefined;
    }
    if (!aliased) return writePublish(target, offset, first, rl, bytes, id, true, payload) - offset;
    const alias = aliases.assign(topic);
    target[offset] = first;
    let o = writeVbi(rl, target, offset + 1);
    if (aliases.newMapping) {
      target[o] = t >> 8;
      target[o + 1] = t & 0xff;
      target.set(bytes, o + 2);
      o += 2 + t;
    } else {
      target[o] = 0;
      target[o + 1] = 0;
      o += 2;
    }
    if (qos !== 0) {
      target[o] = id >> 8;
      target[o + 1] = id & 0xff;
      o += 2;
    }
    target[o] = 3; // property length
    target[o + 1] = 0x23; // Topic Alias
    target[o + 2] = alias >> 8;
    target[o + 3] = alias & 0xff;
    target.set(payload, o + 4);
    return total;
  }

  /**
   * Tells the session that the owner wrote, at `now`, a PUBLISH it built
   * the way `publishNow` does without calling it (bytes reused from an
   * earlier `publishNow`): moves the keep alive deadline as a send does.
   * Does nothing unless Connected.
   * @param now ms.
   */
  noteSent(now: number): void {
    if (this.st !== SessionState.Connected || now <= this.lastSent) return;
    this.lastSent = now;
    this.refreshKeepalive();
  }

  /**
   * Queues a SUBSCRIBE. Requires Connected.
   * @returns its packet id; the "subscribed" event carries the SUBACK.
   * @throws MqttError NotConnected; TypeError/RangeError for invalid filters
   *   or options; MqttError WildcardSubscriptionsNotSupported,
   *   SharedSubscriptionsNotSupported, SubscriptionIdentifiersNotSupported
   *   when the CONNACK said so; PacketTooLarge; OutboxFull when
   *   `maxPendingRequests` requests already wait or no packet id is free.
   * @param properties v5 SUBSCRIBE properties (subscriptionIdentifier, userProperties).
   * @param now ms.
   */
  subscribe(subscriptions: Subscription[], properties: Properties | undefined, now: number): number {
    this.now = now;
    this.requireConnected("SUBSCRIBE");
    if (!Array.isArray(subscriptions) || subscriptions.length === 0) {
      throw new TypeError("SUBSCRIBE needs at least one subscription [MQTT-3.8.3-3]");
    }
    const info = this.info;
    for (const s of subscriptions) {
      if (s === null || typeof s !== "object") throw new TypeError("a subscription must be an object { topic, qos }");
      assertTopicFilter(s.topic);
      checkQos(s.qos, "subscription");
      if (!this.v5) continue;
      const shared = s.topic.startsWith(SHARED_SUBSCRIPTION_PREFIX);
      if (shared && s.noLocal === true) throw new TypeError("No Local must not be set on a shared subscription [MQTT-3.8.3-4]");
      if (s.retainHandling !== undefined && s.retainHandling !== 0 && s.retainHandling !== 1 && s.retainHandling !== 2) {
        throw new RangeError("retainHandling must be 0, 1 or 2 (MQTT 5.0 §3.8.3.1)");
      }
      if (shared && !info.sharedSubscriptionAvailable) {
        throw new MqttError(ErrorCode.SharedSubscriptionsNotSupported, "the server does not support shared subscriptions (MQTT 5.0 §3.2.2.3.14)");
      }
      if (!info.wildcardSubscriptionAvailable && hasWildcard(s.topic)) {
        throw new MqttError(ErrorCode.WildcardSubscriptionsNotSupported, "the server does not support wildcard subscriptions (MQTT 5.0 §3.2.2.3.12)");
      }
    }
    const packet: SubscribePacket = { type: 8, packetId: 0, subscriptions };
    if (this.v5 && properties !== undefined) {
      if (properties.subscriptionIdentifier !== undefined && !info.subscriptionIdentifiersAvailable) {
        throw new MqttError(ErrorCode.SubscriptionIdentifiersNotSupported, "the server does not support subscription identifiers (MQTT 5.0 §3.2.2.3.13)");
      }
      packet.properties = properties;
    }
    return this.queueRequest(packet, RequestKind.Subscribe, subscriptions.length);
  }

  /**
   * Queues an UNSUBSCRIBE. Requires Connected.
   * @returns its packet id; the "unsubscribed" event carries the UNSUBACK.
   * @throws like `subscribe()`.
   * @param now ms.
   */
  unsubscribe(topics: string[], properties: Properties | undefined, now: number): number {
    this.now = now;
    this.requireConnected("UNSUBSCRIBE");
    if (!Array.isArray(topics) || topics.length === 0) {
      throw new TypeError("UNSUBSCRIBE needs at least one topic filter [MQTT-3.10.3-2]");
    }
    for (const topic of topics) assertTopicFilter(topic);
    const packet: UnsubscribePacket = { type: 10, packetId: 0, topics };
    if (this.v5 && properties !== undefined) packet.properties = properties;
    return this.queueRequest(packet, RequestKind.Unsubscribe, topics.length);
  }

  /**
   * Ends the connection cleanly: queues DISCONNECT (v5: with `reasonCode`,
   * default 0x00, and `properties`), goes to Disconnecting; once the
   * DISCONNECT has been handed to pollTransmit the state is Disconnected and
   * a "closed" event (no error) follows. Control packets already queued
   * (acknowledgements) go out first; outbox records not yet started stay in
   * the outbox. Does nothing unless Connecting or Connected.
   * @throws RangeError (v5) for a code that is not a DISCONNECT reason code; TypeError for a
   *   Session Expiry Interval when CONNECT sent none/zero [MQTT-3.14.2-2].
   */
  disconnect(now: number, reasonCode = 0, properties?: Properties): void {
    this.now = now;
    if (!this.isOpen()) return;
    if (this.v5 && !isReasonCodeAllowed(14, reasonCode)) {
      throw new RangeError(`${reasonCode} is not a DISCONNECT reason code (MQTT 5.0 §3.14.2.1)`);
    }
    if (
      this.v5 &&
      properties?.sessionExpiryInterval !== undefined &&
      properties.sessionExpiryInterval !== 0 &&
      this.opts.sessionExpiryInterval === 0
    ) {
      throw new TypeError("a non-zero Session Expiry Interval in DISCONNECT needs one in CONNECT [MQTT-3.14.2-2]");
    }
    // Encode first: invalid properties throw before anything changes.
    const packet: DisconnectPacket = { type: 14, reasonCode: this.v5 ? reasonCode : 0 };
    if (this.v5 && properties !== undefined) {
      encodedLength({ ...packet, properties }, this.version); // TypeError/RangeError on invalid properties
      properties = this.fitProperties(packet, properties);
    }
    const encoded = this.v5 && properties !== undefined ? encode({ ...packet, properties }, this.version) : undefined;
    this.stopTimers();
    this.pending.clear();
    if (encoded !== undefined) {
      this.tx.appendBig(encoded);
      if (this.packetEvents) this.emit({ type: "packetsend", packet: { ...packet, properties } });
    } else {
      if (packet.reasonCode === 0) this.tx.append2(DISCONNECT_BYTE, 0);
      else this.tx.append3(DISCONNECT_BYTE, reasonCode);
      if (this.packetEvents) this.emit({ type: "packetsend", packet });
    }
    this.st = SessionState.Disconnecting;
  }

  /**
   * Sends AUTH (v5 enhanced authentication, MQTT 5.0 §4.12): reason 0x18
   * Continue authentication or 0x19 Re-authenticate (0x00 is the server's).
   * `properties.authenticationMethod` defaults to the one sent in CONNECT.
   * @throws TypeError over MQTT 3.1.1 or without an authentication method;
   *   RangeError for another reason code (0x00 Success is sent only by the
   *   server); MqttError NotConnected unless Connecting or Connected, and
   *   for 0x19 unless Connected (re-authentication follows CONNACK).
   */
  auth(now: number, reasonCode: number, properties?: Properties): void {
    this.now = now;
    if (!this.v5) throw new TypeError("AUTH exists only in MQTT 5.0 (§3.15)");
    if (!this.isOpen()) throw new MqttError(ErrorCode.NotConnected, "AUTH needs a connection");
    if (reasonCode !== 0x18 && reasonCode !== 0x19) {
      throw new RangeError(`a client AUTH reason code is 0x18 or 0x19 (MQTT 5.0 §3.15.2.1), got ${reasonCode}`);
    }
    if (reasonCode === 0x19 && this.st !== SessionState.Connected) {
      throw new MqttError(ErrorCode.NotConnected, "re-authentication (AUTH 0x19) starts only after CONNACK (MQTT 5.0 §4.12.1)");
    }
    const method = properties?.authenticationMethod ?? this.opts.authenticationMethod;
    if (method === undefined) throw new TypeError("AUTH needs an Authentication Method [MQTT-3.15.2-1]");
    const packet: AuthPacket = { type: 15, reasonCode };
    packet.properties = this.fitProperties(packet, { ...properties, authenticationMethod: method });
    const size = encodedLength(packet, this.version);
    if (size > this.info.maximumPacketSize) {
      throw new MqttError(ErrorCode.PacketTooLarge, `AUTH of ${size} bytes exceeds the server's Maximum Packet Size ${this.info.maximumPacketSize} [MQTT-3.2.2-15]`);
    }
    this.queueEncoded(packet);
  }

  /**
   * The properties of a DISCONNECT/AUTH without Reason String, then without
   * User Properties, as far as needed to stay within the server's Maximum
   * Packet Size [MQTT-3.14.2-3] [MQTT-3.14.2-4] [MQTT-3.15.2-2] [MQTT-3.15.2-3].
   * Returns undefined when nothing is left.
   */
  private fitProperties(packet: DisconnectPacket | AuthPacket, properties: Properties): Properties | undefined {
    const max = this.info.maximumPacketSize;
    let fitted: Properties = properties;
    if (encodedLength({ ...packet, properties: fitted }, this.version) > max && fitted.reasonString !== undefined) {
      fitted = { ...fitted };
      delete fitted.reasonString;
    }
    if (encodedLength({ ...packet, properties: fitted }, this.version) > max && fitted.userProperties !== undefined) {
      fitted = { ...fitted };
      delete fitted.userProperties;
    }
    for (const key of Object.keys(fitted)) if ((fitted as Record<string, unknown>)[key] !== undefined) return fitted;
    return undefined;
  }

  /**
   * Copies pending outbound bytes into target[offset..]; returns how many (0:
   * nothing to send now). Call until it returns 0 and write the bytes to the
   * transport in order. A packet larger than the room left may be split
   * across calls (the rest waits for the next call); an outbox record is
   * only started when it fits or the call has written nothing yet, so pass a
   * buffer at least as large as your biggest message to avoid the spill
   * buffer (allocated the first time a record is split).
   *
   * May queue events (drain pollEvent after it): "closed" once our
   * DISCONNECT has been handed out, "published" with a failure reason for a
   * queued record the server's CONNACK forbids, and with packetEvents,
   * "packetsend" for outbox records.
   */
  pollTransmit(target: Uint8Array, offset = 0): number {
    const tx = this.tx;
    const end = target.length;
    let pos = offset;
    while (pos < end) {
      if (!tx.active) {
        if (tx.size > 0) {
          // a queued control packet (tx.hasQueued(), written out: the hot path)
          tx.startQueued();
        } else if (this.st === SessionState.Connected && this.outbox.counters.queued > 0) {
          // counters.queued is 0 exactly when no record waits (peek() would find none).
          const next = this.sendRecord(target, pos, pos === offset);
          if (next < 0) break;
          pos = next;
          continue;
        } else {
          break;
        }
      }
      pos = tx.copyOut(target, pos);
      if (!tx.active) this.packetDone();
    }
    if (pos > offset) {
      this.lastSent = this.now;
      this.refreshKeepalive();
    }
    if (this.outbox.counters.expired !== this.expiredSeen) this.drainExpired();
    return pos - offset;
  }

  /**
   * False when `pollTransmit` would hand out nothing and has no bookkeeping
   * to do (nothing queued, no packet partly handed out, no outbox record
   * waiting, no expiry to report); true when it may have something. A
   * cheap check for an owner that polls after every input.
   */
  hasTransmit(): boolean {
    const tx = this.tx;
    const counters = this.outbox.counters;
    return (
      tx.active ||
      tx.size > 0 ||
      (counters.queued > 0 && this.st === SessionState.Connected) ||
      counters.expired !== this.expiredSeen
    );
  }

  /**
   * True when, after an input, the owner has nothing to do: no event to
   * take, nothing for `pollTransmit` (see `hasTransmit`), and `timerVersion`
   * still equals `version` (the owner's timer is still right). An owner may
   * then skip its service round.
   */
  settled(version: number): boolean {
    return this.eventHead === this.events.length && this.timersChanged === version && !this.hasTransmit();
  }


  /**
   * The earliest deadline (absolute ms) at which `handleTimeout` must run,
   * or undefined when no timer is armed: the minimum over the fixed timer
   * table (connect, keep alive, ping).
   */
  pollTimeout(): number | undefined {
    const t = this.timers;
    let min = t[0];
    for (let i = 1; i < TIMERS; i++) if (t[i] < min) min = t[i];
    return min === Infinity ? undefined : min;
  }

  /** The next queued event, or undefined. Drain after every input. */
  pollEvent(): SessionEvent | undefined {
    if (this.eventHead === this.events.length) return undefined;
    const event = this.events[this.eventHead];
    this.eventHead += 1;
    if (this.eventHead === this.events.length) {
      this.events.length = 0;
      this.eventHead = 0;
    }
    return event;
  }

  /**
   * Packet ids of inbound QoS 2 messages delivered and awaiting PUBREL (for
   * a store that persists the session across reboots). Allocates.
   */
  inboundQos2Ids(): number[] {
    return this.held.toArray();
  }

  /**
   * Replaces the held inbound QoS 2 ids (from a store), before connect().
   * @throws TypeError while connected, RangeError for an id outside 1..65535.
   */
  restoreInboundQos2Ids(ids: ArrayLike<number>): void {
    if (this.isOpen() || this.st === SessionState.Disconnecting) throw new TypeError("restore inbound QoS 2 ids only while not connected");
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (!Number.isInteger(id) || id < 1 || id > 65535) throw new RangeError(`packet id must be 1..65535, got ${id} [MQTT-2.2.1-3]`);
    }
    this.held.clear();
    for (let i = 0; i < ids.length; i++) if (!this.held.has(ids[i])) this.held.add(ids[i]);
    this.held.newConnection();
  }

  /** The CONNECT for the next connection (allocates; once per connect). */
  private connectPacket(): ConnectPacket {
    const o = this.opts;
    const connect: ConnectPacket = {
      type: 1,
      protocolVersion: this.version,
      clientId: this.clientIdInUse,
      clean: o.clean,
      keepalive: o.keepalive,
    };
    if (o.username !== undefined) connect.username = o.username;
    if (o.password !== undefined) connect.password = o.password;
    if (o.will !== undefined) connect.will = o.will;
    if (o.connectProperties !== undefined) connect.properties = o.connectProperties;
    return connect;
  }

  // ---------------------------------------------------------------- inbound

  private handle(packet: Packet): void {
    if (this.opts.problemInformation === false && packet.type !== 2 && packet.type !== 3 && packet.type !== 14) {
      const props = (packet as { properties?: Properties }).properties;
      if (props !== undefined && (props.reasonString !== undefined || props.userProperties !== undefined)) {
        return this.protocolError(
          `${packetName(packet.type)} with a Reason String or User Property after Request Problem Information 0 (MQTT 5.0 §3.1.2.11.7) [MQTT-3.1.2-29]`,
        );
      }
    }
    if (this.st === SessionState.Connecting) {
      switch (packet.type) {
        case 2:
          return this.onConnack(packet);
        case 15:
          return this.onAuth(packet);
        case 14:
          return this.onDisconnect(packet);
        default:
          return this.protocolError(`${packetName(packet.type)} before CONNACK [MQTT-3.2.0-1]`);
      }
    }
    switch (packet.type) {
      case 3:
        return this.onPublish(packet);
      case 4:
        return this.onPuback(packet);
      case 5:
        return this.onPubrec(packet);
      case 6:
        return this.onPubrel(packet);
      case 7:
        return this.onPubcomp(packet);
      case 9:
        return this.onSuback(packet);
      case 11:
        return this.onUnsuback(packet);
      case 13:
        return this.onPingresp();
      case 14:
        return this.onDisconnect(packet);
      case 15:
        return this.onAuth(packet);
      case 2:
        return this.protocolError("a second CONNACK on one connection [MQTT-3.2.0-2]");
      default:
        return this.protocolError(`a server must not send ${packetName(packet.type)} (MQTT 5.0 §2.1.2)`);
    }
  }

  private onConnack(p: ConnackPacket): void {
    const props = p.properties;
    if (p.reasonCode !== 0) {
      const error = this.v5
        ? new MqttError(
            p.reasonCode,
            `the server refused the connection${props?.reasonString !== undefined ? ": " + props.reasonString : ""} (MQTT 5.0 §3.2.2.2)`,
            "remote",
            p.reasonCode,
          )
        : new MqttError(ErrorCode.ConnectionRefused, `the server refused the connection: ${returnCodeName(p.reasonCode)}`, "remote", p.reasonCode);
      this.fail(error, false);
      return;
    }
    if (p.sessionPresent && this.opts.clean) {
      this.protocolError("Session Present 1 in reply to Clean Start 1 [MQTT-3.2.2-1] [MQTT-3.2.2-2] [MQTT-3.2.2-4]");
      return;
    }
    const info = this.info;
    info.sessionPresent = p.sessionPresent;
    if (this.v5) {
      info.receiveMaximum = props?.receiveMaximum ?? 65535;
      info.maximumQoS = (props?.maximumQoS ?? 2) as QoS;
      info.retainAvailable = (props?.retainAvailable ?? 1) === 1;
      info.maximumPacketSize = props?.maximumPacketSize ?? MAX_PACKET_SIZE;
      info.topicAliasMaximum = props?.topicAliasMaximum ?? 0;
      info.wildcardSubscriptionAvailable = (props?.wildcardSubscriptionAvailable ?? 1) === 1;
      info.subscriptionIdentifiersAvailable = (props?.subscriptionIdentifiersAvailable ?? 1) === 1;
      info.sharedSubscriptionAvailable = (props?.sharedSubscriptionAvailable ?? 1) === 1;
      info.serverKeepAlive = props?.serverKeepAlive;
      info.assignedClientIdentifier = props?.assignedClientIdentifier;
      if (info.serverKeepAlive !== undefined) this.keepaliveMs = info.serverKeepAlive * 1000; // [MQTT-3.2.2-21]
      if (info.assignedClientIdentifier !== undefined && this.opts.clientId === "") {
        this.clientIdInUse = info.assignedClientIdentifier; // reused by later CONNECTs to resume the session
      }
    }
    // The server kept no session: inbound QoS 2 state belongs to a session
    // that is gone [MQTT-3.2.2-5]. Outbound records are kept and sent again
    // on the new session (see README: a QoS 2 message may then arrive twice).
    if (!p.sessionPresent) {
      this.held.clear();
      // A QoS 2 message past PUBREC has no bytes left to send again, and the
      // new session cannot complete its PUBREL: a PUBCOMP for it would be a
      // false success (Mosquitto delivers on PUBREL). Report it instead.
      const outbox = this.outbox;
      for (let s = outbox.first(); s >= 0; ) {
        const next = outbox.next(s);
        const st = outbox.state(s);
        if (st === RecordState.Released || st === RecordState.ReleaseQueued) {
          const packetId = outbox.packetId(s);
          const quiet = outbox.quiet(s);
          outbox.remove(packetId);
          if (!quiet) this.emit({ type: "published", packetId, qos: 2, reasonCode: ErrorCode.PacketIdentifierNotFound });
        }
        s = next;
      }
    }
    // Whether this server's limits can refuse a stored PUBLISH at all (see `refusal`).
    this.refusing = info.maximumQoS < 2 || !info.retainAvailable || info.maximumPacketSize < MAX_PACKET_SIZE;
    this.outAliases.reset(info.topicAliasMaximum);
    this.outbox.requeue(); // [MQTT-4.4.0-1]
    this.inflight = 0;
    this.inflightQos2 = 0;
    this.window = Math.min(this.opts.maxInflight, info.receiveMaximum);
    this.timers[T_CONNECT] = Infinity;
    this.timersChanged++;
    this.st = SessionState.Connected;
    this.refreshKeepalive();
    this.emit({ type: "connected", connack: p, sessionPresent: p.sessionPresent });
  }

  private onPublish(p: PublishPacket): void {
    if (this.v5) {
      try {
        p.topic = this.inAliases.resolve(p.topic, p.properties?.topicAlias);
      } catch (e) {
        this.fail(e as MqttError, true);
        return;
      }
    }
    if (p.qos === 0) {
      this.emit({ type: "message", packet: p });
      return;
    }
    const packetId = p.packetId as number;
    if (p.qos === 2 && this.held.has(packetId)) {
      // A re-send of a message already delivered: acknowledge, do not deliver.
      this.queueAck(5, packetId, 0);
      return;
    }
    if (this.v5 && this.held.currentCount + this.pendingPubacks >= this.opts.receiveMaximum) {
      // The server broke [MQTT-3.3.4-9]. By default the message is taken as
      // over 3.1.1 (see the option enforceReceiveMaximum) and counted.
      if (this.opts.enforceReceiveMaximum) {
        this.fail(
          new MqttError(
            ErrorCode.ReceiveMaximumExceeded,
            `more than ${this.opts.receiveMaximum} unacknowledged QoS 1/2 PUBLISH packets [MQTT-3.3.4-9]`,
            "remote",
          ),
          true,
        );
        return;
      }
      this.rmExceeded += 1;
    }
    if (p.qos === 1) {
      this.emit({ type: "message", packet: p });
      this.queueAck(4, packetId, 0);
    } else {
      this.held.add(packetId);
      this.emit({ type: "message", packet: p });
      this.queueAck(5, packetId, 0);
    }
  }

  private onPuback(p: AckPacket): void {
    if (!this.acknowledge(p, 4, "PUBACK")) return;
    this.inflight -= 1;
    if (!this.outbox.ackedQuiet) this.emitPublished(p, 1);
  }

  private onPubrec(p: AckPacket): void {
    if (!this.acknowledge(p, 5, "PUBREC")) return;
    if (this.v5 && p.reasonCode >= 0x80) {
      // The server refused the message: it is done, no PUBREL (MQTT 5.0 §4.3.3).
      this.outbox.remove(p.packetId);
      this.inflight -= 1;
      this.inflightQos2 -= 1;
      if (!this.outbox.ackedQuiet) this.emitPublished(p, 2);
      return;
    }
    // The PUBREL is queued ahead of any later PUBLISH (control packets go
    // first), and TCP keeps that order: the broker has released the message
    // before it reads our next PUBLISH, so it no longer counts against
    // `maxInflightQos2` (it stays in the window until its PUBCOMP). If the
    // connection drops first, the PUBREL is sent again after the reconnect
    // ahead of any PUBLISH sent again: records leave in order, and a server
    // that acknowledges in the order it received (Mosquitto does; §4.6 asks
    // it of receivers in [MQTT-4.6.0-2] and [MQTT-4.6.0-3]) leaves no record
    // older than this one waiting for its PUBACK or PUBREC.
    this.inflightQos2 -= 1;
    this.queueAck(6, p.packetId, 0);
  }

  private onPubrel(p: AckPacket): void {
    // Unknown id: the state was lost (e.g. a session not kept); answer so the
    // server can complete, with 0x92 over v5 (MQTT 5.0 §4.3.3).
    const known = this.held.delete(p.packetId);
    this.queueAck(7, p.packetId, known ? 0 : ErrorCode.PacketIdentifierNotFound);
  }

  private onPubcomp(p: AckPacket): void {
    if (!this.acknowledge(p, 7, "PUBCOMP")) return;
    this.inflight -= 1;
    if (!this.outbox.ackedQuiet) this.emitPublished(p, 2);
  }

  private onSuback(p: SubackPacket): void {
    const expected = this.pending.take(p.packetId, RequestKind.Subscribe);
    if (expected < 0) {
      this.protocolError(`SUBACK for packet id ${p.packetId}, which has no pending SUBSCRIBE (MQTT 5.0 §3.9.2)`);
      return;
    }
    if (p.reasonCodes.length !== expected) {
      this.protocolError(`SUBACK with ${p.reasonCodes.length} reason codes for ${expected} subscriptions [MQTT-3.8.4-6] (3.1.1: [MQTT-3.8.4-5])`);
      return;
    }
    const event: SubscribedEvent = { type: "subscribed", packetId: p.packetId, reasonCodes: p.reasonCodes };
    if (p.properties !== undefined) event.properties = p.properties;
    this.emit(event);
  }

  private onUnsuback(p: UnsubackPacket): void {
    const expected = this.pending.take(p.packetId, RequestKind.Unsubscribe);
    if (expected < 0) {
      this.protocolError(`UNSUBACK for packet id ${p.packetId}, which has no pending UNSUBSCRIBE (MQTT 5.0 §3.11.2)`);
      return;
    }
    if (this.v5 && p.reasonCodes.length !== expected) {
      this.protocolError(`UNSUBACK with ${p.reasonCodes.length} reason codes for ${expected} topic filters [MQTT-3.11.3-1]`);
      return;
    }
    const event: UnsubscribedEvent = { type: "unsubscribed", packetId: p.packetId, reasonCodes: p.reasonCodes };
    if (p.properties !== undefined) event.properties = p.properties;
    this.emit(event);
  }

  private onPingresp(): void {
    // An unsolicited PINGRESP is harmless; it only clears a pending ping.
    this.timers[T_PING] = Infinity;
    this.timersChanged++;
    this.refreshKeepalive();
  }

  private onDisconnect(p: DisconnectPacket): void {
    if (!this.v5) {
      this.protocolError("a server never sends DISCONNECT in MQTT 3.1.1 (§3.14)");
      return;
    }
    if (this.st === SessionState.Connecting && p.reasonCode < 0x80) {
      // A refusal (>= 0x80) is reported with its reason below; a "normal"
      // DISCONNECT would pass a failed connect off as a clean close.
      this.protocolError(`DISCONNECT (reason 0x${p.reasonCode.toString(16)}) before CONNACK [MQTT-3.14.0-1]`);
      return;
    }
    this.emit({ type: "disconnect", packet: p });
    this.resetConnection();
    if (p.reasonCode >= 0x80) {
      const reason = p.properties?.reasonString;
      this.st = SessionState.Closed;
      this.emit({
        type: "closed",
        error: new MqttError(p.reasonCode, `the server disconnected${reason !== undefined ? ": " + reason : ""}`, "remote", p.reasonCode),
      });
    } else {
      this.st = SessionState.Disconnected;
      this.emit({ type: "closed" });
    }
  }

  private onAuth(p: AuthPacket): void {
    if (!this.v5) {
      this.protocolError("AUTH exists only in MQTT 5.0 (§3.15)");
      return;
    }
    if (this.opts.authenticationMethod === undefined) {
      this.protocolError("AUTH from the server, but CONNECT carried no Authentication Method (MQTT 5.0 §4.12)");
      return;
    }
    // A server sends Continue (0x18), or Success (0x00) to end a
    // re-authentication; the initial one ends with CONNACK (MQTT 5.0 §3.15.2.1, §4.12).
    if (p.reasonCode === 0x19 || (p.reasonCode === 0x00 && this.st === SessionState.Connecting)) {
      this.protocolError(`AUTH with reason 0x${p.reasonCode.toString(16)} from the server${p.reasonCode === 0 ? " before CONNACK" : ""} (MQTT 5.0 §3.15.2.1)`);
      return;
    }
    this.emit({ type: "auth", packet: p });
  }

  /** Moves an outbound record on for PUBACK/PUBREC/PUBCOMP; closes with a protocol error if none matches. */
  private acknowledge(p: AckPacket, type: 4 | 5 | 7, name: string): boolean {
    if (p.packetId === this.txRecordId) {
      this.protocolError(`${name} for packet id ${p.packetId} before that PUBLISH was completely sent`);
      return false;
    }
    if (!this.outbox.acknowledge(p.packetId, type)) {
      this.protocolError(`${name} for packet id ${p.packetId}, which is not awaiting ${name} (MQTT 5.0 §4.3)`);
      return false;
    }
    return true;
  }

  /** Queues an "expired" event per QoS 1/2 message the outbox discarded unsent (Message Expiry). */
  private drainExpired(): void {
    // The outbox counts every expiry it notes for pollExpired, so an
    // unchanged counter means there is nothing to take (the cheap common case).
    const expired = this.outbox.counters.expired;
    if (expired === this.expiredSeen) return;
    this.expiredSeen = expired;
    for (let id = this.outbox.pollExpired(); id !== 0; id = this.outbox.pollExpired()) this.emit({ type: "expired", packetId: id });
  }

  private emitPublished(p: AckPacket, qos: 1 | 2): void {
    const event: PublishedEvent = { type: "published", packetId: p.packetId, qos, reasonCode: p.reasonCode };
    if (p.properties !== undefined) event.properties = p.properties;
    this.emit(event);
  }

  // --------------------------------------------------------------- outbound

  /**
   * Starts the oldest outbox record, if the window allows, and copies what
   * fits. Returns the new position, or -1 when no record can start now.
   */
  private sendRecord(target: Uint8Array, pos: number, first: boolean): number {
    const outbox = this.outbox;
    const tx = this.tx;
    const info = this.recordInfo;
    for (;;) {
      const slot = outbox.peek(this.now);
      if (slot < 0) return -1;
      // prepare() patches DUP and the remaining Message Expiry in place;
      // doing that for a record that then waits is harmless (it is patched
      // again when it goes).
      const buf = outbox.prepareRecord(slot, this.now, info);
      const start = info[0];
      const length = info[1];
      const qos = info[2];
      const releasing = info[4] === RecordState.ReleaseQueued;
      // The window limits PUBLISH packets only: a PUBREL (resent after a
      // reconnect) sends no new PUBLISH and is never held back [MQTT-3.3.4-8].
      if (qos > 0 && !releasing && this.inflight >= this.window) return -1; // [MQTT-4.9.0-2]
      // QoS 2 has its own, smaller cap (see the option); records stay in order, so it holds back what follows too.
      if (qos === 2 && !releasing && this.inflightQos2 >= this.opts.maxInflightQos2) return -1;
      const packetId = info[3];
      const room = target.length - pos;
      if (releasing) {
        if (length > room && !first) return -1;
        tx.beginSegments(TxKind.Record, 6);
        tx.addSegment(buf, start, start + length);
        if (this.packetEvents) this.emit({ type: "packetsend", packet: { type: 6, packetId, reasonCode: 0 } });
      } else {
        const worst = this.outAliases.limit > 0 ? length + ALIAS_GROWTH : length;
        if (worst > room && !first) return -1;
        const refusal =
          info[5] !== this.version ? ErrorCode.UnsupportedProtocolVersion : this.refusing ? this.refusal(buf, start, length, qos) : 0;
        if (refusal !== 0) {
          this.dropRecord(slot, qos, packetId, refusal);
          continue;
        }
        if (this.packetEvents) this.tracePublish(buf.subarray(start, start + length));
        if (length <= room && this.outAliases.limit === 0) {
          // The common case: the whole record fits and goes unchanged, so it
          // is copied straight out, without transmit segments.
          if (length <= COPY_LOOP_MAX) {
            for (let k = 0; k < length; k++) target[pos + k] = buf[start + k];
          } else {
            target.set(buf.subarray(start, start + length), pos);
          }
          outbox.markSent(slot);
          if (qos > 0) {
            this.inflight += 1;
            if (qos === 2) this.inflightQos2 += 1;
          }
          return pos + length;
        }
        this.segmentPublish(buf, start, start + length, qos);
      }
      pos = tx.copyOut(target, pos);
      // The record's bytes may move or be reused once it changes state:
      // keep the unsent rest in the spill buffer.
      if (tx.active) {
        tx.spillRest();
        if (qos > 0) this.txRecordId = packetId;
      }
      outbox.markSent(slot);
      // A PUBREL sent again after a reconnect is never held back, and counts
      // in the window until its PUBCOMP; not among QoS 2 in flight (the
      // broker releases the message on that PUBREL, before any later PUBLISH).
      if (qos > 0) {
        this.inflight += 1;
        if (qos === 2 && !releasing) this.inflightQos2 += 1;
      }
      if (!tx.active) this.packetDone();
      return pos;
    }
  }

  /** Why a queued PUBLISH may not go to this server under its CONNACK (0: it may). */
  private refusal(buf: Uint8Array, start: number, length: number, qos: number): number {
    const info = this.info;
    if (qos > info.maximumQoS) return ErrorCode.QoSNotSupported; // [MQTT-3.2.2-11]
    if ((buf[start] & 1) === 1 && !info.retainAvailable) return ErrorCode.RetainNotSupported; // [MQTT-3.2.2-14]
    if (length > info.maximumPacketSize) return ErrorCode.PacketTooLarge; // [MQTT-3.2.2-15]
    return 0;
  }

  private dropRecord(slot: number, qos: number, packetId: number, reasonCode: number): void {
    this.refused += 1;
    if (qos === 0) {
      this.outbox.markSent(slot); // frees a QoS 0 record without sending it
      return;
    }
    const quiet = this.outbox.quiet(slot);
    this.outbox.remove(packetId);
    if (!quiet) this.emit({ type: "published", packetId, qos: qos as 1 | 2, reasonCode });
  }

  /**
   * Describes the PUBLISH in buf[start..end) as the current transmit packet,
   * with a topic alias when the server allows them: the first use of a topic
   * carries topic + alias, later ones an empty topic + alias (MQTT 5.0
   * §3.3.2.3.4). The rewritten header goes into the 16-byte stage buffer;
   * topic, properties and payload stay where they are.
   */
  private segmentPublish(buf: Uint8Array, start: number, end: number, qos: number): void {
    const tx = this.tx;
    const aliases = this.outAliases;
    tx.beginSegments(TxKind.Record, 3);
    if (aliases.limit === 0) {
      tx.addSegment(buf, start, end);
      return;
    }
    const h = start + 1 + vbiLength(readVbi(buf, start + 1, end));
    const topicLength = (buf[h] << 8) | buf[h + 1];
    const topicStart = h + 2;
    const topicEnd = topicStart + topicLength;
    const idEnd = topicEnd + (qos > 0 ? 2 : 0);
    const propsLength = readVbi(buf, idEnd, end);
    const propsStart = idEnd + vbiLength(propsLength);
    const rest = end - propsStart; // property bytes + payload
    const newPropsLength = propsLength + 3;
    const base = (qos > 0 ? 2 : 0) + vbiLength(newPropsLength) + rest + 3;
    const remainingWithTopic = 2 + topicLength + base;
    const totalWithTopic = 1 + vbiLength(remainingWithTopic) + remainingWithTopic;
    const topic = decodeUtf8(buf, topicStart, topicEnd);
    const remainingAliasOnly = 2 + base;
    const totalAliasOnly = 1 + vbiLength(remainingAliasOnly) + remainingAliasOnly;
    if ((aliases.lookup(topic) === 0 ? totalWithTopic : totalAliasOnly) > this.info.maximumPacketSize) {
      // The aliased form would exceed the server's Maximum Packet Size (an
      // alias costs 3 bytes, more than a topic of 1 or 2 bytes saves): send
      // it unchanged [MQTT-3.2.2-15].
      tx.addSegment(buf, start, end);
      return;
    }
    const alias = aliases.assign(topic);
    const withTopic = aliases.newMapping;
    const remaining = withTopic ? remainingWithTopic : 2 + base;
    const stage = tx.stage;
    stage[0] = buf[start];
    let s = writeVbi(remaining, stage, 1);
    if (withTopic) {
      stage[s++] = topicLength >> 8;
      stage[s++] = topicLength & 0xff;
      tx.addSegment(stage, 0, s);
      tx.addSegment(buf, topicStart, topicEnd);
    } else {
      stage[s++] = 0;
      stage[s++] = 0;
    }
    const mark = withTopic ? s : 0;
    if (qos > 0) {
      stage[s++] = buf[topicEnd];
      stage[s++] = buf[topicEnd + 1];
    }
    s = writeVbi(newPropsLength, stage, s);
    stage[s++] = 0x23; // Topic Alias (MQTT 5.0 §3.3.2.3.4)
    stage[s++] = alias >> 8;
    stage[s++] = alias & 0xff;
    tx.addSegment(stage, mark, s);
    tx.addSegment(buf, propsStart, end);
  }

  /** A packet has been completely handed out. */
  private packetDone(): void {
    const tx = this.tx;
    if (tx.kind === TxKind.Record) {
      this.txRecordId = 0;
      return;
    }
    if (tx.kind === TxKind.Ring && tx.type === 4) this.pendingPubacks -= 1;
    if (tx.type === 14 && this.st === SessionState.Disconnecting) {
      this.st = SessionState.Disconnected;
      this.emit({ type: "closed" });
    }
  }

  private queueAck(type: 4 | 5 | 6 | 7, packetId: number, reasonCode: number): void {
    this.tx.appendAck((type << 4) | (type === 6 ? 2 : 0), packetId, reasonCode, this.v5 && reasonCode !== 0);
    if (type === 4) this.pendingPubacks += 1;
    if (this.packetEvents) this.emit({ type: "packetsend", packet: { type, packetId, reasonCode: this.v5 ? reasonCode : 0 } });
  }

  /** Encodes a packet into its own array and queues it (CONNECT, SUBSCRIBE, ...). */
  private queueEncoded(packet: Packet): void {
    this.tx.appendBig(encode(packet, this.version));
    if (this.packetEvents) this.emit({ type: "packetsend", packet });
  }

  private queueRequest(packet: SubscribePacket | UnsubscribePacket, kind: number, entries: number): number {
    if (this.pending.count === this.pending.capacity) {
      throw new MqttError(ErrorCode.OutboxFull, `${this.pending.capacity} SUBSCRIBE/UNSUBSCRIBE already await acknowledgement (maxPendingRequests)`);
    }
    packet.packetId = 1; // for the length check
    const size = encodedLength(packet, this.version); // TypeError/RangeError on invalid fields
    if (size > this.info.maximumPacketSize) {
      throw new MqttError(
        ErrorCode.PacketTooLarge,
        `${packetName(packet.type)} of ${size} bytes exceeds the server's Maximum Packet Size ${this.info.maximumPacketSize} [MQTT-3.2.2-15]`,
      );
    }
    packet.packetId = this.allocateId();
    this.pending.add(packet.packetId, kind, entries);
    this.queueEncoded(packet);
    return packet.packetId;
  }

  /** A packet id not used by the outbox nor by a pending request [MQTT-2.2.1-3]. */
  private allocateId(): number {
    for (let n = 0; n < 65535; n++) {
      const id = this.nextRequestId;
      this.nextRequestId = id === 65535 ? 1 : id + 1;
      if (!this.pending.has(id) && !this.outbox.has(id)) return id;
    }
    throw new MqttError(ErrorCode.OutboxFull, "no free packet identifier");
  }

  private tracePublish(bytes: Uint8Array): void {
    if (this.txDecoder === undefined) {
      this.txDecoder = new Decoder({ protocolVersion: this.version, maximumPacketSize: Math.max(16, this.outbox.capacity) });
    }
    const d = this.txDecoder;
    d.reset();
    d.push(bytes);
    const packet = d.next();
    if (packet !== undefined) this.emit({ type: "packetsend", packet });
  }

  // ------------------------------------------------------------------ state

  private isOpen(): boolean {
    return this.st === SessionState.Connecting || this.st === SessionState.Connected;
  }

  private requireConnected(what: string): void {
    if (this.st !== SessionState.Connected) throw new MqttError(ErrorCode.NotConnected, `${what} needs a connected session (state ${this.st})`);
  }

  private protocolError(message: string): void {
    this.fail(new MqttError(ErrorCode.ProtocolError, message, "remote"), true);
  }

  /**
   * Ends the connection because of `error`: state Closed, "closed" event.
   * Over MQTT 5 a DISCONNECT with the error's reason code is queued first
   * when `tellPeer` and the code is a wire reason code [MQTT-4.13.1-1].
   */
  private fail(error: MqttError, tellPeer: boolean): void {
    const open = this.isOpen();
    this.stopTimers();
    this.pending.clear();
    this.tx.clearQueued();
    this.pendingPubacks = 0;
    if (tellPeer && open && this.v5) {
      // A wire reason code goes as is; anything else (not a DISCONNECT code) as Protocol Error.
      const reasonCode = isReasonCodeAllowed(14, error.code) && error.code >= 0x80 ? error.code : ErrorCode.ProtocolError;
      this.tx.append3(DISCONNECT_BYTE, reasonCode);
      if (this.packetEvents) this.emit({ type: "packetsend", packet: { type: 14, reasonCode } });
    }
    this.st = SessionState.Closed;
    this.emit({ type: "closed", error });
  }

  /** Forgets everything that belongs to one network connection. */
  private resetConnection(): void {
    this.stopTimers();
    this.pending.clear();
    this.tx.clear();
    this.pendingPubacks = 0;
    this.inflight = 0;
    this.inflightQos2 = 0;
    this.txRecordId = 0;
  }

  private stopTimers(): void {
    this.timers.fill(Infinity);
    this.timersChanged++;
  }

  private refreshKeepalive(): void {
    const t = this.timers;
    const previous = t[T_KEEPALIVE];
    const next =
      this.st === SessionState.Connected && this.keepaliveMs > 0 && t[T_PING] === Infinity ? this.lastSent + this.keepaliveMs : Infinity;
    t[T_KEEPALIVE] = next;
    // A deadline that only moved later needs no new timer (an owner keeps an
    // earlier one, which re-arms when it fires): the common case on a send.
    // No deadline before or after (keep alive 0, a PINGREQ outstanding) is no change either.
    if (next !== previous && (next < previous || previous === Infinity)) this.timersChanged++;
  }

  /** How long to wait for PINGRESP: pingTimeout, never more than the keep alive. */
  private pingWindow(): number {
    return Math.min(this.opts.pingTimeout, this.keepaliveMs);
  }

  private emit(event: SessionEvent): void {
    this.events.push(event);
  }
}

const packetNames: readonly string[] = Object.freeze([
  "reserved",
  "CONNECT",
  "CONNACK",
  "PUBLISH",
  "PUBACK",
  "PUBREC",
  "PUBREL",
  "PUBCOMP",
  "SUBSCRIBE",
  "SUBACK",
  "UNSUBSCRIBE",
  "UNSUBACK",
  "PINGREQ",
  "PINGRESP",
  "DISCONNECT",
  "AUTH",
]);

function packetName(type: number): string {
  return packetNames[type] ?? `type ${type}`;
}

const returnCodes: readonly string[] = Object.freeze([
  "accepted",
  "unacceptable protocol version",
  "identifier rejected",
  "server unavailable",
  "bad user name or password",
  "not authorized",
]);

/** MQTT 3.1.1 CONNACK return codes (§3.2.2.3, Table 3.1). */
function returnCodeName(code: number): string {
  return `${code} (${returnCodes[code] ?? "reserved"})`;
}
