/**
 * Client: one sans-I/O `Session` bound to one injected transport class and
 * one injected timer, with automatic reconnect.
 *
 * Theory of operation
 * -------------------
 * The client is the only place where MQTT meets I/O, and it only shuttles:
 * bytes from the socket into `session.receive`, bytes from
 * `session.pollTransmit` into the socket, and the session's single deadline
 * (`pollTimeout`) into the one timer. After every input (socket readable,
 * socket writable, socket error, timer, or an API call) it *services* the
 * session: write what the socket accepts, dispatch the queued events to the
 * user's callbacks, settle lifecycle (close the socket, schedule a
 * reconnect, finish `end()`), re-arm the timer. User callbacks therefore
 * always run after the session call that produced their event has returned,
 * never from inside the parser; an API call made from inside a callback
 * (e.g. `publish` in `onMessage`) is applied to the session at once, and its
 * bytes leave when the callback returns (the service loop notices the
 * re-entry and runs one more round instead of nesting).
 *
 * States (`ClientState`):
 *
 *   Idle --connect()--> Connecting --CONNACK ok--> Connected
 *   Connecting|Connected --connection lost--> Waiting (backoff) --timer--> Connecting
 *   any --end()--> Ending --DISCONNECT written / socket closed--> Ended --connect()--> Connecting
 *
 * With `reconnect: false` a lost connection goes back to Idle instead of
 * Waiting.
 *
 * Reconnect uses exponential backoff with full jitter: attempt n (0-based,
 * counted since the last connection that stayed up for `backoffResetAfter`)
 * waits `floor(random() * min(backoffMax, backoffInitial * 2^n))` ms. A
 * connection refused by the broker (bad credentials, banned, ...) is
 * reported and counts as a failed attempt like any other, so a broker that
 * refuses never sees more than one attempt per backoff window.
 *
 * Subscriptions are remembered by the client (`subscriptions`, by topic
 * filter) from the moment their SUBSCRIBE is handed to the session until an
 * UNSUBSCRIBE or a failure reason code removes them. When a CONNACK says the
 * broker kept no session (`sessionPresent` false), the client subscribes to
 * all of them again (option `resubscribe`). Queued and in-flight QoS 1/2
 * messages live in the session's outbox, which resends them on the next
 * connection; SUBSCRIBE/UNSUBSCRIBE requests made while offline, or lost
 * with a connection before their acknowledgement, are queued by the client
 * and sent, in order, once connected.
 *
 * Memory: the receive and transmit scratch buffers are allocated once (see
 * `rxBufferSize`, `txBufferSize`); the hot path allocates one small view per
 * socket read and per socket write, and nothing per packet beyond what the
 * session does. Callbacks registered per operation are kept in maps keyed
 * by packet id only when a callback was given.
 *
 * What lives elsewhere: MQTT rules, keepalive, retries of QoS 1/2 and
 * packet ids (session, outbox); the socket (host); the MQTT.js-style API
 * (compat.ts).
 */
import { Session, SessionState } from "./session";
import type { SessionEvent, SessionOptions } from "./session";
import { ErrorCode, MqttError } from "./errors";
import { assertTopicFilter } from "./topic";
import type {
  AuthPacket,
  ConnackPacket,
  DisconnectPacket,
  Packet,
  Properties,
  PublishPacket,
  QoS,
  Subscription,
} from "./codec/packets";
import type { Outbox } from "./outbox";
import type { SocketError, SocketSpec, TcpSocket, TcpSocketOptions } from "../io/tcp-types";

/** States of a `Client` (readable names; compare with these constants). */
export const ClientState = Object.freeze({
  /** Constructed and not started, or stopped after a loss with `reconnect: false`. */
  Idle: "idle",
  /** A socket is opening or CONNECT was sent; no CONNACK yet. */
  Connecting: "connecting",
  /** CONNACK accepted; the session is usable. */
  Connected: "connected",
  /** The connection was lost; a reconnect is scheduled (backoff). */
  Waiting: "waiting",
  /** `end()` is in progress (draining, DISCONNECT, closing). */
  Ending: "ending",
  /** `end()` finished. `connect()` starts again. */
  Ended: "ended",
});
export type ClientStateValue = (typeof ClientState)[keyof typeof ClientState];

/**
 * The one timer a client uses: a one-shot timer API. Moddable's `Timer`
 * (`import Timer from "timer"`) fits as is (`{ set: Timer.set, clear:
 * Timer.clear }`); on Node, `{ set: setTimeout, clear: clearTimeout }`.
 * The client never has more than one timer armed.
 */
export interface ClientTimer {
  /** Calls `callback` once, `ms` milliseconds from now (ms >= 0); returns an id for `clear`. */
  set(callback: () => void, ms: number): unknown;
  /** Cancels a timer returned by `set` that has not fired yet. */
  clear(id: unknown): void;
}

/** What a QoS 1/2 publish callback receives on success. */
export interface PublishResult {
  /** 0 for QoS 0. */
  packetId: number;
  qos: QoS;
  /** PUBACK/PUBREC/PUBCOMP reason code (v5); 0 for 3.1.1 and QoS 0. */
  reasonCode: number;
  properties?: Properties;
}

/**
 * Completion of `publish`. QoS 0: called once the PUBLISH has been handed
 * to the transport (for a message queued offline: after the reconnect that
 * sent it). QoS 1: on PUBACK; QoS 2: on PUBCOMP. `error` is an `MqttError`:
 * a v5 failure reason code (source remote, `reasonCode` set), `Closed` when
 * the client ended first (the message stays in the outbox), or
 * `NotConnected` for a QoS 0 message discarded offline.
 */
export type PublishCallback = (error: MqttError | undefined, result?: PublishResult) => void;

/**
 * Completion of `subscribe`/`unsubscribe`: `reasonCodes` has one entry per
 * filter (SUBACK: granted QoS 0..2 or a failure code >= 0x80; v5 UNSUBACK
 * codes; empty for a 3.1.1 UNSUBACK), `properties` those of the
 * acknowledgement, `packetId` the request's id (0 when it was never sent).
 * `error` is an `MqttError` `SubscribeFailed` (with `reasonCode` = the first
 * failure code) when any entry failed, `Closed` when the client ended
 * first, or what the session threw when the request was sent (e.g.
 * `SharedSubscriptionsNotSupported` after the CONNACK said so).
 */
export type RequestCallback = (
  error: MqttError | Error | undefined,
  reasonCodes: number[],
  properties: Properties | undefined,
  packetId: number,
) => void;

/** A subscription as the client remembers it for resubscribing. */
export interface SubscriptionRecord {
  readonly subscription: Subscription;
  /** Properties of the SUBSCRIBE it was sent with (v5, e.g. subscriptionIdentifier). */
  readonly properties: Properties | undefined;
}

/** Options of `Client.end`. */
export interface EndOptions {
  /**
   * Wait until every queued and in-flight QoS 1/2 message and every pending
   * SUBSCRIBE/UNSUBSCRIBE is acknowledged before sending DISCONNECT. Only
   * while connected: when the connection is (or gets) lost, the client ends
   * at once and the messages stay in the outbox. Default true.
   */
  drain?: boolean;
  /**
   * Close the socket now, without DISCONNECT (the broker publishes the
   * Will). Default false.
   */
  force?: boolean;
  /** v5 DISCONNECT reason code. Default 0 (normal). 0x04 asks the broker to publish the Will. */
  reasonCode?: number;
  /** v5 DISCONNECT properties (e.g. sessionExpiryInterval, reasonString). */
  properties?: Properties;
}

/** Options of `client.publish`. */
export interface PublishOptions {
  /** Default 0. */
  qos?: QoS;
  /** Default false. */
  retain?: boolean;
  /** v5 PUBLISH properties (ignored for 3.1.1). */
  properties?: Properties;
}

/**
 * Options of `new Client(options)`: the session's options (protocol
 * version, client id, keepalive, will, limits, outbox, timeouts; see
 * `SessionOptions`) plus the I/O bindings and the reconnect policy below.
 * `packetEvents` is set by the client itself (true when `onPacketSend` or
 * `onPacketReceive` is given).
 */
export interface ClientOptions extends Omit<SessionOptions, "packetEvents"> {
  /**
   * The socket specification (ECMA-419 TCP Client Class Pattern): `io` is
   * the socket class (TCP, or TLS for mqtts); `host` or `address` and
   * `port` say where to connect; every other property (e.g. `secure`,
   * `tls`) is passed to the constructor as is. The client adds
   * `onReadable`, `onWritable`, `onError`, `noDelay: true` and `nodelay:
   * true` (unless given), and sets `address` from `host` when `host` is a
   * numeric IP address. On hosts whose socket takes only `address`
   * (Moddable), resolve names first.
   */
  socket: SocketSpec;
  /** The one timer (see `ClientTimer`). Required. */
  timer: ClientTimer;
  /**
   * The clock, in milliseconds, non-decreasing. Default `Date.now`. On a
   * board prefer a monotonic source (e.g. Moddable `Time.ticks` when the
   * device runs for less than its wraparound period).
   */
  now?: () => number;
  /** Uniform random numbers in [0, 1) for backoff jitter. Default `Math.random`. */
  random?: () => number;
  /** Reconnect automatically after a lost or refused connection. Default true. */
  reconnect?: boolean;
  /**
   * Keep reconnecting (with backoff) after the broker refused the
   * connection (CONNACK failure code, or a DISCONNECT/violation before
   * CONNACK). Default true: a device should survive a broker that
   * temporarily refuses. false: report in `onClose` and go Idle.
   */
  reconnectOnRefusal?: boolean;
  /** Backoff ceiling of the first retry, ms. Default 1000. */
  backoffInitial?: number;
  /** Largest backoff ceiling, ms. Default 60000. */
  backoffMax?: number;
  /**
   * A connection that stayed up at least this long (ms) resets the backoff
   * to `backoffInitial`; a shorter one (e.g. the broker accepts, then kicks
   * the client) keeps growing it. Default 10000.
   */
  backoffResetAfter?: number;
  /** Subscribe again to remembered subscriptions when the broker kept no session. Default true. */
  resubscribe?: boolean;
  /** Topic filters per SUBSCRIBE when resubscribing. Default 8. */
  resubscribeBatch?: number;
  /**
   * Bytes read from the socket per `session.receive` call. Two buffers of
   * this size are allocated once and used in turn, because the session's
   * decoder keeps referring to the previous chunk (its trailing partial
   * packet) until the next one arrives. Default 1024. Any packet size
   * works; this only sets the chunking.
   */
  rxBufferSize?: number;
  /**
   * Bytes of transmit scratch (allocated once): packets are copied here by
   * `pollTransmit` and written from here, coalesced up to this size per
   * socket write. Default 1024.
   */
  txBufferSize?: number;
  /**
   * How long (ms) the socket stays open after the session ended, to let a
   * queued DISCONNECT out when the socket is not writable. Default 2000.
   */
  lingerTimeout?: number;

  /** CONNACK accepted. Called after any resubscribe and queued requests were handed to the session. */
  onConnect?: (this: Client, connack: ConnackPacket, sessionPresent: boolean) => void;
  /**
   * An application message. `packet.payload` (and binary properties) are
   * views valid only until this callback returns: copy what you keep.
   */
  onMessage?: (this: Client, packet: PublishPacket) => void;
  /**
   * The connection ended (lost, refused, timed out, closed by the broker,
   * or by `end`). `error` says why (undefined only when nothing went wrong).
   * `state` is already `Waiting` when a reconnect is scheduled.
   */
  onClose?: (this: Client, error: MqttError | undefined) => void;
  /** A reconnect attempt starts (after the backoff delay). */
  onReconnect?: (this: Client) => void;
  /**
   * Errors not tied to one operation: a user callback threw (the thrown
   * value), a resubscribe was refused, a socket could not be closed. When
   * absent, or when it throws itself, the error is rethrown to the caller
   * of the client entry point (socket/timer callback or API method) after
   * the client's state is consistent: errors are never swallowed.
   */
  onError?: (this: Client, error: unknown) => void;
  /** The broker sent DISCONNECT (v5); `onClose` follows. */
  onDisconnect?: (this: Client, packet: DisconnectPacket) => void;
  /** The broker sent AUTH (v5 enhanced authentication); answer with `auth()`. */
  onAuth?: (this: Client, packet: AuthPacket) => void;
  /** `end()` finished (after `onClose` when a connection was open). */
  onEnd?: (this: Client) => void;
  /** A packet was handed to the transport path (allocates per packet; debugging and the MQTT.js layer). */
  onPacketSend?: (this: Client, packet: Packet) => void;
  /** A packet was decoded (allocates per packet). */
  onPacketReceive?: (this: Client, packet: Packet) => void;
}

const SUBSCRIBE = 1;
const UNSUBSCRIBE = 2;

/** A SUBSCRIBE/UNSUBSCRIBE not yet acknowledged. */
interface Request {
  kind: number;
  subscriptions: Subscription[] | undefined;
  topics: string[] | undefined;
  properties: Properties | undefined;
  callback: RequestCallback | undefined;
  /** A resubscribe issued by the client itself: never requeued, failures go to onError. */
  internal: boolean;
}

/** A deferred callback invocation (callbacks run from the service loop only). */
interface Completion {
  callback: (error: any, result?: any, properties?: any, packetId?: any) => void;
  error: unknown;
  result: unknown;
}

interface EndRequest {
  drain: boolean;
  reasonCode: number;
  properties: Properties | undefined;
  callbacks: Array<() => void>;
  disconnectSent: boolean;
}

const IPV4 = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;
const EMPTY_OPTIONS: PublishOptions = Object.freeze({});

function positive(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !(value > 0) || value === Infinity) {
    throw new RangeError(`${name} must be a positive number, got ${String(value)}`);
  }
  return value;
}

/** The `MqttError` for a transport failure reported by `onError` (or a throwing socket method). */
export function transportError(error: unknown): MqttError {
  const e = error as SocketError | undefined;
  if (e === undefined || e === null) return new MqttError(ErrorCode.ConnectionLost, "connection closed", "transport");
  const code = e.layer === "tls" ? ErrorCode.TlsError : ErrorCode.ConnectionLost;
  const detail = typeof e.code === "string" ? `${e.code} ${e.message ?? ""}` : String(e.message ?? e);
  const result = new MqttError(code, detail, "transport");
  result.cause = error;
  return result;
}

/**
 * True when `error` (from `onClose`) is a plain end of connection that
 * nobody needs to be told about as an error: the peer closed the socket
 * (`EOF`, or no detail from the host), or the client's owner ended it.
 */
export function isOrderlyClose(error: MqttError | undefined): boolean {
  if (error === undefined || error.code === ErrorCode.Closed) return true;
  if (error.code !== ErrorCode.ConnectionLost) return false;
  const cause = error.cause as SocketError | undefined;
  return cause === undefined || cause.code === "EOF";
}

/**
 * An MQTT client over one injected socket class and one timer (see the
 * module header for the theory of operation, `ClientOptions` for the
 * options and callbacks).
 *
 * Re-entrancy: every method may be called from inside any callback; the
 * call is applied to the session at once and its effects (bytes, further
 * callbacks) follow when the callback returns, never nested inside it.
 * Callbacks run only from the client's entry points (socket callbacks,
 * the timer, and the methods below), always after the session call that
 * produced them has returned.
 *
 * Lifetime of views: `onMessage`'s packet payload and binary properties
 * are valid until the callback returns.
 */
export class Client {
  /** The session (read it for `session.server` limits, `session.outbox` counters and snapshots). */
  readonly session: Session;
  /** Current state, a `ClientState` value. */
  state: ClientStateValue = ClientState.Idle;
  /**
   * Subscriptions the client will restore when the broker kept no session,
   * by topic filter, in subscription order. Read-only for callers.
   */
  readonly subscriptions: Map<string, SubscriptionRecord> = new Map();
  /** Failed connection attempts since the backoff was last reset (read-only). */
  attempt = 0;

  private readonly options: ClientOptions;
  private readonly io: SocketSpec["io"];
  private readonly timer: ClientTimer;
  private readonly clock: () => number;
  private readonly random: () => number;
  private readonly reconnect: boolean;
  private readonly reconnectOnRefusal: boolean;
  private readonly backoffInitial: number;
  private readonly backoffMax: number;
  private readonly backoffResetAfter: number;
  private readonly resubscribe: boolean;
  private readonly resubscribeBatch: number;
  private readonly lingerTimeout: number;

  private socket: TcpSocket | undefined = undefined;
  /** Incremented whenever the socket is replaced or closed: callbacks of older sockets are ignored. */
  private generation = 0;
  private socketReady = false;
  private writable = 0;
  /** Receive buffers, used in turn: the next read goes into `rxOther`, then they swap. */
  private rxNext: Uint8Array;
  private rxOther: Uint8Array;
  /** The last view read into `rxNext` / `rxOther` (their first bytes). */
  private rxNextView: Uint8Array;
  private rxOtherView: Uint8Array;
  private readonly tx: Uint8Array;
  /** A view of the first bytes of `tx`, kept for `writeHead`. */
  private txHead: Uint8Array;
  /**
   * Set after the QoS 0 fast path wrote a message from tx[0..] and nothing
   * else: while it stays set, a message with the same topic and payload
   * length needs only its payload copied over the last one (header and
   * topic are unchanged). Cleared by every service round (anything that
   * may change the session or `tx`), by `outbox` access and by a socket
   * change. `repeatSentAt` is when such a message went out, for the keep
   * alive (handed to the session on the next service round or timer).
   */
  private repeatTopic: string | undefined = undefined;
  private repeatLength = -1;
  private repeatTotal = 0;
  private repeatSentAt = -1;
  private txStart = 0;
  private txEnd = 0;
  /** True when everything the session had to send was written to the socket. */
  private txIdle = true;

  private timerId: unknown = undefined;
  /** What `arm()` last saw: session.timerVersion, reconnectAt, lingerAt. */
  private armedVersion = -1;
  private armedReconnectAt: number | undefined = undefined;
  private armedLingerAt: number | undefined = undefined;
  private timerDeadline = 0;
  private readonly onTimerBound: () => void;
  private reconnectAt: number | undefined = undefined;
  private lingerAt: number | undefined = undefined;
  private connectedAt: number | undefined = undefined;

  private servicing = false;
  private again = false;
  private pendingThrow: unknown = undefined;
  private hasPendingThrow = false;

  private readonly requestQueue: Request[] = [];
  private readonly requests: Map<number, Request> = new Map();
  private readonly publishCallbacks: Map<number, PublishCallback> = new Map();
  private readonly qos0Callbacks: PublishCallback[] = [];
  private readonly completions: Completion[] = [];
  private endRequest: EndRequest | undefined = undefined;

  /**
   * Checks the options (TypeError/RangeError) and creates the session. Does
   * not connect: call `connect()`. Nothing is allocated later except per
   * connection (the socket and its options bag) and per callback given.
   */
  constructor(options: ClientOptions) {
    if (options === null || typeof options !== "object") throw new TypeError("Client options must be an object");
    const socket = options.socket;
    if (socket === null || typeof socket !== "object" || typeof socket.io !== "function") {
      throw new TypeError("options.socket must be a socket specification { io: SocketClass, host, port }");
    }
    if (typeof socket.port !== "number" || !Number.isInteger(socket.port) || socket.port < 0 || socket.port > 65535) {
      throw new RangeError(`options.socket.port must be an integer from 0 to 65535, got ${String(socket.port)}`);
    }
    if (typeof socket.host !== "string" && typeof socket.address !== "string") {
      throw new TypeError("options.socket needs host or address");
    }
    const timer = options.timer;
    if (timer === null || typeof timer !== "object" || typeof timer.set !== "function" || typeof timer.clear !== "function") {
      throw new TypeError("options.timer must be { set(callback, ms), clear(id) }");
    }
    this.options = options;
    this.io = socket.io;
    this.timer = timer;
    this.clock = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.reconnect = options.reconnect ?? true;
    this.reconnectOnRefusal = options.reconnectOnRefusal ?? true;
    this.backoffInitial = positive(options.backoffInitial, "backoffInitial", 1000);
    this.backoffMax = positive(options.backoffMax, "backoffMax", 60000);
    this.backoffResetAfter = positive(options.backoffResetAfter, "backoffResetAfter", 10000);
    this.resubscribe = options.resubscribe ?? true;
    this.resubscribeBatch = Math.floor(positive(options.resubscribeBatch, "resubscribeBatch", 8));
    this.lingerTimeout = positive(options.lingerTimeout, "lingerTimeout", 2000);
    this.rxNext = new Uint8Array(Math.floor(positive(options.rxBufferSize, "rxBufferSize", 1024)));
    this.rxOther = new Uint8Array(this.rxNext.length);
    this.rxNextView = this.rxNext;
    this.rxOtherView = this.rxOther;
    this.tx = new Uint8Array(Math.floor(positive(options.txBufferSize, "txBufferSize", 1024)));
    this.txHead = this.tx;
    const packetEvents = options.onPacketSend !== undefined || options.onPacketReceive !== undefined;
    this.session = new Session({ ...options, packetEvents });
    this.onTimerBound = () => this.handleTimer();
  }

  /** True while CONNACK has been accepted and the connection is up. */
  get connected(): boolean {
    return this.state === ClientState.Connected;
  }

  /** The session's outbox (counters, snapshot/restore). */
  get outbox(): Outbox {
    this.repeatTopic = undefined;
    return this.session.outbox;
  }

  /**
   * Starts connecting at once and keeps reconnecting per the reconnect
   * options until `end()`. From Idle or Ended: a fresh start (backoff
   * reset). From Waiting: the scheduled attempt is made now. Otherwise
   * (Connecting, Connected, Ending) it does nothing. Callbacks of the
   * attempt run later, from socket events.
   */
  connect(): void {
    const state = this.state;
    if (state === ClientState.Idle || state === ClientState.Ended) {
      this.attempt = 0;
      this.open(this.clock(), false);
    } else if (state === ClientState.Waiting) {
      this.open(this.clock(), true);
    } else {
      return;
    }
    this.service();
    this.raise();
  }

  /**
   * Publishes an application message. The payload (bytes, or a string sent
   * as UTF-8) is encoded into the outbox before this returns, so the caller
   * may reuse its buffer at once. Returns the packet id (QoS 1/2), 0 (QoS 0
   * stored or sent), or -1 (QoS 0 discarded offline by the outbox policy).
   * Works offline: the message waits in the outbox.
   *
   * Throws TypeError/RangeError for an invalid topic or options, MqttError
   * `OutboxFull` when the outbox has no room (nothing is stored then), and
   * MqttError `Closed` while `end()` is in progress or after it.
   */
  publish(topic: string, payload: Uint8Array | string, options?: PublishOptions, callback?: PublishCallback): number {
    if (
      topic === this.repeatTopic &&
      callback === undefined &&
      (payload as Uint8Array).length === this.repeatLength &&
      payload instanceof Uint8Array &&
      (options === undefined || (options.qos === 0 && options.retain !== true && options.properties === undefined)) &&
      this.writable >= this.repeatTotal &&
      !this.session.packetEvents // may be switched on at any time (compat: a packetsend listener added)
    ) {
      // The same topic and payload length as the QoS 0 message written last
      // by the fast path, with nothing in between: its header and topic are
      // still at the start of `tx` (see `repeatTopic`).
      const n = this.repeatTotal;
      this.tx.set(payload, n - payload.length);
      this.repeatSentAt = this.clock();
      let left: number | undefined;
      try {
        left = this.socket!.write(this.txHead) as number | undefined; // the view writeHead left: tx[0..n)
      } catch (error) {
        this.lose(error);
        this.raise();
        return 0;
      }
      this.writable = typeof left === "number" ? left : this.writable - n;
      return 0;
    }
    this.checkOpen();
    const o = options ?? EMPTY_OPTIONS;
    const qos = o.qos === undefined ? 0 : o.qos;
    let packetId = 0;
    let n = 0;
    if (this.socketReady && this.socket !== undefined && o.properties === undefined) {
      // Fast path: straight into the transmit buffer, behind what it holds,
      // when the session has nothing waiting (see Session.publishNow; QoS 1/2
      // are stored in the outbox as sent). Anything else, including invalid
      // arguments, goes through session.publish below.
      const idle = this.txStart === this.txEnd;
      if (idle) {
        this.txStart = 0;
        this.txEnd = 0;
      }
      n = this.session.publishNow(topic, payload as Uint8Array, qos, o.retain === true, this.tx, this.txEnd, this.clock(), callback === undefined);
      let view: Uint8Array | undefined = undefined;
      if (n > 0 && qos !== 0) {
        packetId = this.session.directId;
        view = this.session.directView; // the bytes are in the outbox, not in tx
        if (callback !== undefined) this.publishCallbacks.set(packetId, callback);
      }
      // A QoS 0 callback completes once its bytes are written: a service round does that.
      if (n > 0 && idle && (callback === undefined || qos !== 0) && !this.servicing && n <= this.writable) {
        // Nothing else waits and the socket takes it all: write it now. A
        // service round would find nothing to do (no event, no lifecycle
        // change; the keep alive deadline only moved later, and the armed
        // timer re-arms when it fires).
        if (view === undefined) this.writeHead(n);
        else this.writeView(view, n);
        // Not with topic aliases: the next one must not repeat this one's mapping.
        if (qos === 0 && o.retain !== true && this.socket !== undefined && !this.session.aliasing) {
          this.repeatTopic = topic;
          this.repeatLength = (payload as Uint8Array).length;
          this.repeatTotal = n;
        } else {
          this.repeatTopic = undefined; // tx[0..] holds a retained, QoS 1/2 or aliased message now
        }
        this.raise();
        return packetId;
      }
      if (view !== undefined) this.tx.set(view, this.txEnd);
      this.txEnd += n;
    }
    if (n === 0) {
      packetId = this.session.publish(topic, payload, o, this.clock());
      if (callback !== undefined) {
        if (packetId > 0) this.publishCallbacks.set(packetId, callback);
        else if (packetId === 0) this.qos0Callbacks.push(callback);
        else {
          const error = new MqttError(ErrorCode.NotConnected, "QoS 0 message discarded while offline (outbox qos0Offline policy)");
          this.completions.push({ callback, error, result: undefined });
        }
      }
    } else if (callback !== undefined && qos === 0) {
      this.qos0Callbacks.push(callback);
    }
    this.service();
    this.raise();
    return packetId;
  }

  /**
   * Subscribes. Each filter is checked now (TypeError naming the rule);
   * QoS must be 0..2 (RangeError). Sent at once when connected, else queued
   * and sent after the next CONNACK (like MQTT.js). `callback` gets the
   * SUBACK reason codes. Throws MqttError `Closed` while ending or ended.
   */
  subscribe(subscriptions: Subscription[], properties?: Properties, callback?: RequestCallback): void {
    this.checkOpen();
    if (!Array.isArray(subscriptions) || subscriptions.length === 0) {
      throw new TypeError("subscribe needs at least one subscription [MQTT-3.8.3-3]");
    }
    const copies: Subscription[] = [];
    for (const s of subscriptions) {
      assertTopicFilter(s.topic);
      if (s.qos !== 0 && s.qos !== 1 && s.qos !== 2) throw new RangeError(`subscription QoS must be 0, 1 or 2 [MQTT-3-8.3-4], got ${String(s.qos)}`);
      const copy: Subscription = { topic: s.topic, qos: s.qos };
      if (s.noLocal !== undefined) copy.noLocal = s.noLocal;
      if (s.retainAsPublished !== undefined) copy.retainAsPublished = s.retainAsPublished;
      if (s.retainHandling !== undefined) copy.retainHandling = s.retainHandling;
      copies.push(copy);
    }
    this.request({ kind: SUBSCRIBE, subscriptions: copies, topics: undefined, properties, callback, internal: false });
  }

  /**
   * Unsubscribes; the filters are forgotten for resubscribing at once.
   * Queued like `subscribe` while offline. Throws TypeError for an invalid
   * filter, MqttError `Closed` while ending or ended.
   */
  unsubscribe(topics: string[], properties?: Properties, callback?: RequestCallback): void {
    this.checkOpen();
    if (!Array.isArray(topics) || topics.length === 0) {
      throw new TypeError("unsubscribe needs at least one topic filter [MQTT-3.10.3-2]");
    }
    for (const topic of topics) assertTopicFilter(topic);
    this.request({ kind: UNSUBSCRIBE, subscriptions: undefined, topics: topics.slice(), properties, callback, internal: false });
  }

  /** Sends AUTH (v5 enhanced authentication, e.g. to answer `onAuth` or to re-authenticate). */
  auth(reasonCode: number, properties?: Properties): void {
    this.session.auth(this.clock(), reasonCode, properties);
    this.service();
    this.raise();
  }

  /**
   * Ends the client: stops reconnecting, optionally waits for the outbox
   * and pending requests to drain (see `EndOptions`), sends DISCONNECT,
   * closes the socket, then calls `onClose` (if a connection was open),
   * `onEnd`, and `callback`. Calling it again while ending adds the
   * callback (and `force` still applies). After `Ended`, `connect()`
   * restarts; queued QoS 1/2 messages are still in the outbox.
   */
  end(options?: EndOptions, callback?: () => void): void {
    const now = this.clock();
    if (this.state === ClientState.Ended || (this.state === ClientState.Idle && this.socket === undefined && this.endRequest === undefined)) {
      this.state = ClientState.Ended;
      if (callback !== undefined) this.completions.push({ callback, error: undefined, result: undefined });
      this.service();
      this.raise();
      return;
    }
    const force = options?.force === true;
    if (this.endRequest === undefined) {
      this.endRequest = {
        drain: options?.drain ?? true,
        reasonCode: options?.reasonCode ?? 0,
        properties: options?.properties,
        callbacks: [],
        disconnectSent: false,
      };
    }
    if (callback !== undefined) this.endRequest.callbacks.push(callback);
    this.state = ClientState.Ending;
    this.reconnectAt = undefined;
    if (force || this.session.state !== SessionState.Connected) {
      this.abortConnection(now, new MqttError(ErrorCode.Closed, force ? "ended by the client (forced)" : "ended by the client"));
    }
    this.service();
    this.raise();
  }

  // ---- internals -------------------------------------------------------

  private checkOpen(): void {
    if (this.state === ClientState.Ending || this.state === ClientState.Ended) {
      throw new MqttError(ErrorCode.Closed, "the client is ending or ended");
    }
  }

  private request(request: Request): void {
    this.requestQueue.push(request);
    this.sendRequests();
    this.service();
    this.raise();
  }

  /**
   * Hands queued requests to the session, in order, while connected and
   * while the session has room for them (`maxPendingRequests`); the rest
   * waits for an acknowledgement to free a slot. A request the session
   * refuses for another reason completes with that error.
   */
  private sendRequests(): void {
    const queue = this.requestQueue;
    while (queue.length > 0 && this.session.state === SessionState.Connected) {
      const request = queue[0];
      let packetId: number;
      try {
        packetId =
          request.kind === SUBSCRIBE
            ? this.session.subscribe(request.subscriptions!, request.properties, this.clock())
            : this.session.unsubscribe(request.topics!, request.properties, this.clock());
      } catch (error) {
        if (error instanceof MqttError && error.code === ErrorCode.OutboxFull && this.requests.size > 0) return;
        queue.shift();
        if (request.callback !== undefined) this.completions.push({ callback: request.callback, error, result: [] });
        else this.completions.push({ callback: (e: unknown) => this.reportError(e), error, result: undefined });
        continue;
      }
      queue.shift();
      this.requests.set(packetId, request);
      if (request.kind === SUBSCRIBE) {
        for (const s of request.subscriptions!) this.subscriptions.set(s.topic, { subscription: s, properties: request.properties });
      } else {
        for (const topic of request.topics!) this.subscriptions.delete(topic);
      }
    }
  }

  /** Creates the socket for a new attempt. */
  private open(now: number, isReconnect: boolean): void {
    // A socket still lingering for the last connection's DISCONNECT goes now.
    this.closeSocket();
    this.state = ClientState.Connecting;
    this.reconnectAt = undefined;
    this.lingerAt = undefined;
    this.connectedAt = undefined;
    if (isReconnect && this.options.onReconnect !== undefined) this.invoke(this.options.onReconnect);
    this.generation += 1;
    const generation = this.generation;
    this.socketReady = false;
    this.writable = 0;
    this.txStart = 0;
    this.txEnd = 0;
    this.txIdle = true;
    this.session.connect(now);
    const spec = this.options.socket;
    const settings: TcpSocketOptions & Record<string, unknown> = { noDelay: true, nodelay: true, ...spec } as TcpSocketOptions &
      Record<string, unknown>;
    if (settings.address === undefined && typeof spec.host === "string" && (IPV4.test(spec.host) || spec.host.indexOf(":") >= 0)) {
      settings.address = spec.host;
    }
    settings.onReadable = (count: number) => this.handleReadable(generation, count);
    settings.onWritable = (count: number) => this.handleWritable(generation, count);
    settings.onError = (error?: SocketError) => this.handleError(generation, error);
    try {
      this.socket = new this.io(settings as never);
    } catch (error) {
      this.socket = undefined;
      this.session.connectionLost(now, transportError(error));
    }
  }

  private handleReadable(generation: number, count: number): void {
    if (generation !== this.generation) return;
    while (count > 0 && generation === this.generation) {
      const socket = this.socket!;
      // Never overwrite the chunk the decoder may still hold a partial packet of.
      const rx = this.rxOther;
      let view = this.rxOtherView;
      this.rxOther = this.rxNext;
      this.rxOtherView = this.rxNextView;
      this.rxNext = rx;
      const want = count < rx.length ? count : rx.length;
      // A view of the first `want` bytes; kept, so a run of same-sized reads allocates nothing.
      if (view.length !== want) view = want === rx.length ? rx : rx.subarray(0, want);
      this.rxNextView = view;
      let got: number | undefined;
      try {
        got = socket.read(view) as number | undefined;
      } catch (error) {
        this.lose(error);
        break;
      }
      if (got === undefined || got === 0) break;
      if (typeof got !== "number" || got > want) got = want;
      count -= got;
      const session = this.session;
      // True in the common case of an acknowledgement of a message sent
      // without a callback: nothing to send, no event. With no new deadline
      // and nothing of the client's own waiting (`end()` leaves Connected),
      // a service round would do nothing.
      if (
        !session.receive(got === want ? view : rx.subarray(0, got), this.clock()) ||
        session.timerVersion !== this.armedVersion ||
        this.state !== ClientState.Connected ||
        this.servicing ||
        this.txStart !== this.txEnd ||
        this.qos0Callbacks.length !== 0 ||
        this.completions.length !== 0
      ) {
        this.service();
      }
    }
    if (this.hasPendingThrow) this.raise();
  }

  private handleWritable(generation: number, count: number): void {
    if (generation !== this.generation) return;
    this.socketReady = true;
    this.writable = count;
    this.service();
    this.raise();
  }

  private handleError(generation: number, error?: SocketError): void {
    if (generation !== this.generation) return;
    this.lose(error);
    this.raise();
  }

  private handleTimer(): void {
    this.timerId = undefined;
    this.armedVersion = -1; // the one-shot timer is spent: arm() must look again
    this.endRepeat();
    const now = this.clock();
    if (this.reconnectAt !== undefined && now >= this.reconnectAt) {
      this.reconnectAt = undefined;
      if (this.state === ClientState.Waiting) this.open(now, true);
    }
    if (this.lingerAt !== undefined && now >= this.lingerAt) {
      this.lingerAt = undefined;
      this.closeSocket();
    }
    this.session.handleTimeout(now);
    this.service();
    this.raise();
  }

  /** The transport failed: close it and tell the session. */
  private lose(error: unknown): void {
    const now = this.clock();
    this.closeSocket();
    if (this.sessionLive()) this.session.connectionLost(now, transportError(error));
    this.service();
  }

  /** Ends the current connection from our side without DISCONNECT. */
  private abortConnection(now: number, reason: MqttError): void {
    this.closeSocket();
    if (this.sessionLive()) this.session.connectionLost(now, reason);
  }

  private sessionLive(): boolean {
    const s = this.session.state;
    return s === SessionState.Connecting || s === SessionState.Connected || s === SessionState.Disconnecting;
  }

  private closeSocket(): void {
    const socket = this.socket;
    if (socket === undefined) return;
    this.socket = undefined;
    this.repeatTopic = undefined;
    this.generation += 1;
    this.socketReady = false;
    this.writable = 0;
    this.lingerAt = undefined;
    try {
      socket.close();
    } catch (error) {
      this.reportError(error);
    }
  }

  /**
   * Drains the session: transmit, events, lifecycle, timer. Never throws;
   * errors to rethrow are kept for `raise()`. Re-entrant calls (from a
   * user callback) only ask the running loop for one more round.
   */
  private service(): void {
    if (this.servicing) {
      // An API call from a callback: run another round, and until its flush
      // nothing counts as written (QoS 0 callbacks, the drain before end).
      this.again = true;
      this.txIdle = false;
      return;
    }
    this.servicing = true;
    if (this.repeatTopic !== undefined || this.repeatSentAt >= 0) this.endRepeat();
    try {
      do {
        this.again = false;
        this.flush();
        let event = this.session.pollEvent();
        while (event !== undefined) {
          this.dispatch(event);
          // "message" and "published" only run user callbacks, and every API
          // call from a callback asks for another round (`again`), which
          // flushes; the other events may make the client itself call the
          // session (resubscribe, queued requests): flush their output now.
          const type = event.type;
          if (type !== "message" && type !== "published") this.flush();
          event = this.session.pollEvent();
        }
        this.settle();
        while (this.completions.length > 0) {
          const c = this.completions.shift()!;
          this.invoke(c.callback, c.error, c.result, undefined, 0);
        }
      } while (this.again);
      this.arm();
    } catch (error) {
      // A bug in the client or the session, not a user callback: keep the
      // state machine alive and surface the error.
      this.keepThrow(error);
    } finally {
      this.servicing = false;
    }
  }

  /**
   * Writes tx[0..n) (all of it fits `writable`) while the transmit buffer
   * holds nothing else. The view of the first n bytes is kept for the next
   * write of the same length, so repeated messages allocate nothing.
   */
  private writeHead(n: number): void {
    const tx = this.tx;
    let view = this.txHead;
    if (view.length !== n) view = this.txHead = n === tx.length ? tx : tx.subarray(0, n);
    this.writeView(view, n);
  }

  /** Writes `view` (n bytes, all of it fits `writable`) while the transmit buffer holds nothing else. */
  private writeView(view: Uint8Array, n: number): void {
    let left: number | undefined;
    try {
      left = this.socket!.write(view) as number | undefined;
    } catch (error) {
      this.lose(error);
      return;
    }
    this.writable = typeof left === "number" ? left : this.writable - n;
  }

  /** Ends the repeat path (see `repeatTopic`) and tells the session when it last sent. */
  private endRepeat(): void {
    this.repeatTopic = undefined;
    if (this.repeatSentAt >= 0) {
      this.session.noteSent(this.repeatSentAt);
      this.repeatSentAt = -1;
    }
  }

  /** Writes as much as the socket accepts. */
  private flush(): void {
    const socket = this.socket;
    if (socket === undefined || !this.socketReady) return;
    if (this.txStart === this.txEnd && !this.session.hasTransmit()) {
      this.txStart = 0;
      this.txEnd = 0;
      this.txIdle = true;
      return;
    }
    const tx = this.tx;
    for (;;) {
      if (this.txStart === this.txEnd) {
        this.txStart = 0;
        this.txEnd = 0;
      }
      if (this.txEnd < tx.length) this.txEnd += this.session.pollTransmit(tx, this.txEnd);
      const pending = this.txEnd - this.txStart;
      if (pending === 0) {
        this.txIdle = true;
        return;
      }
      this.txIdle = false;
      const n = pending < this.writable ? pending : this.writable;
      if (n <= 0) return;
      let left: number | undefined;
      try {
        left = socket.write(n === tx.length ? tx : tx.subarray(this.txStart, this.txStart + n));
      } catch (error) {
        this.lose(error);
        return;
      }
      this.txStart += n;
      this.writable = typeof left === "number" ? left : this.writable - n;
    }
  }

  private dispatch(event: SessionEvent): void {
    const options = this.options;
    switch (event.type) {
      case "message": {
        // The most frequent first; `invoke` written out (one call less per message).
        const onMessage = options.onMessage;
        if (onMessage !== undefined) {
          try {
            onMessage.call(this, event.packet);
          } catch (error) {
            this.reportError(error);
          }
        }
        break;
      }
      case "connected":
        this.handleConnected(event.connack, event.sessionPresent);
        break;
      case "published": {
        const callback = this.publishCallbacks.get(event.packetId);
        if (callback === undefined) break;
        this.publishCallbacks.delete(event.packetId);
        const failed = event.reasonCode >= 0x80;
        const error = failed
          ? new MqttError(event.reasonCode, `publish ${event.packetId} refused by the broker`, "remote", event.reasonCode)
          : undefined;
        const result: PublishResult = { packetId: event.packetId, qos: event.qos as QoS, reasonCode: event.reasonCode };
        if (event.properties !== undefined) result.properties = event.properties;
        this.invoke(callback, error, result);
        break;
      }
      case "expired": {
        const callback = this.publishCallbacks.get(event.packetId);
        if (callback === undefined) break;
        this.publishCallbacks.delete(event.packetId);
        const error = new MqttError(
          ErrorCode.MessageExpired,
          `message ${event.packetId} expired in the outbox before it could be sent (Message Expiry Interval, MQTT 5.0 §3.3.2.3.3)`,
          "local",
        );
        this.invoke(callback, error);
        break;
      }
      case "subscribed":
      case "unsubscribed":
        this.handleAck(event.packetId, event.reasonCodes, event.properties);
        break;
      case "auth":
        if (options.onAuth !== undefined) this.invoke(options.onAuth, event.packet);
        break;
      case "disconnect":
        if (options.onDisconnect !== undefined) this.invoke(options.onDisconnect, event.packet);
        break;
      case "closed":
        this.handleClosed(event.error);
        break;
      case "packetsend":
        if (options.onPacketSend !== undefined) this.invoke(options.onPacketSend, event.packet);
        break;
      case "packetreceive":
        if (options.onPacketReceive !== undefined) this.invoke(options.onPacketReceive, event.packet);
        break;
    }
  }

  private handleConnected(connack: ConnackPacket, sessionPresent: boolean): void {
    this.state = this.endRequest !== undefined ? ClientState.Ending : ClientState.Connected;
    this.connectedAt = this.clock();
    if (!sessionPresent && this.resubscribe) this.resubscribeAll();
    this.sendRequests();
    if (this.options.onConnect !== undefined) this.invoke(this.options.onConnect, connack, sessionPresent);
  }

  /**
   * Queues, ahead of the user's queued requests, a SUBSCRIBE for every
   * remembered filter that no queued request mentions (those are sent
   * anyway), in batches of `resubscribeBatch` filters sharing the same
   * SUBSCRIBE properties.
   */
  private resubscribeAll(): void {
    if (this.subscriptions.size === 0) return;
    const batches: Array<{ subscriptions: Subscription[]; properties: Properties | undefined }> = [];
    let batch: Subscription[] = [];
    let properties: Properties | undefined;
    for (const [topic, record] of this.subscriptions) {
      if (this.isQueued(topic)) continue;
      if (batch.length > 0 && (batch.length === this.resubscribeBatch || record.properties !== properties)) {
        batches.push({ subscriptions: batch, properties });
        batch = [];
      }
      properties = record.properties;
      batch.push(record.subscription);
    }
    if (batch.length > 0) batches.push({ subscriptions: batch, properties });
    const internal: Request[] = [];
    for (const b of batches) {
      internal.push({ kind: SUBSCRIBE, subscriptions: b.subscriptions, topics: undefined, properties: b.properties, callback: undefined, internal: true });
    }
    this.requestQueue.unshift(...internal);
  }

  private isQueued(topic: string): boolean {
    for (const request of this.requestQueue) {
      if (request.kind === SUBSCRIBE) {
        for (const s of request.subscriptions!) if (s.topic === topic) return true;
      } else {
        for (const t of request.topics!) if (t === topic) return true;
      }
    }
    return false;
  }

  private handleAck(packetId: number, reasonCodes: number[], properties: Properties | undefined): void {
    const request = this.requests.get(packetId);
    if (request === undefined) return;
    this.requests.delete(packetId);
    let failure = 0;
    for (let i = 0; i < reasonCodes.length; i++) {
      const code = reasonCodes[i];
      if (code < 0x80) continue;
      if (failure === 0) failure = code;
      if (request.kind === SUBSCRIBE && request.subscriptions !== undefined && i < request.subscriptions.length) {
        const s = request.subscriptions[i];
        const record = this.subscriptions.get(s.topic);
        if (record !== undefined && record.subscription === s) this.subscriptions.delete(s.topic);
      }
    }
    const what = request.kind === SUBSCRIBE ? (request.internal ? "resubscribe" : "subscribe") : "unsubscribe";
    const error =
      failure !== 0
        ? new MqttError(ErrorCode.SubscribeFailed, `${what} ${packetId}: reason code 0x${failure.toString(16)}`, "remote", failure)
        : undefined;
    if (request.internal) {
      if (error !== undefined) this.reportError(error);
    } else if (request.callback !== undefined) {
      this.invoke(request.callback, error, reasonCodes, properties, packetId);
    }
    this.sendRequests();
  }

  private handleClosed(error: MqttError | undefined): void {
    const now = this.clock();
    // Requests without an acknowledgement go back to the front of the
    // queue, in their original order: SUBSCRIBE/UNSUBSCRIBE are idempotent,
    // so sending one the broker already processed does no harm.
    if (this.requests.size > 0) {
      const lost = Array.from(this.requests.values());
      this.requests.clear();
      this.requestQueue.unshift(...lost);
    }
    const refused = this.connectedAt === undefined && error !== undefined && error.source === "remote";
    if (this.endRequest !== undefined) {
      this.state = ClientState.Ending;
    } else if (this.reconnect && (this.reconnectOnRefusal || !refused)) {
      this.scheduleReconnect(now);
    } else {
      this.state = ClientState.Idle;
      this.connectedAt = undefined;
    }
    if (this.options.onClose !== undefined) this.invoke(this.options.onClose, error);
  }

  /** Full-jitter exponential backoff; see the header. */
  private scheduleReconnect(now: number): void {
    if (this.connectedAt !== undefined && now - this.connectedAt >= this.backoffResetAfter) this.attempt = 0;
    this.connectedAt = undefined;
    const exponent = this.attempt < 30 ? this.attempt : 30;
    const ceiling = Math.min(this.backoffMax, this.backoffInitial * 2 ** exponent);
    this.attempt += 1;
    const delay = Math.floor(this.random() * ceiling);
    this.reconnectAt = now + delay;
    this.state = ClientState.Waiting;
  }

  /** Lifecycle after the events of one round. */
  private settle(): void {
    // The common case first: connected, nothing to complete, not ending.
    if (this.session.state === SessionState.Connected && this.qos0Callbacks.length === 0 && this.endRequest === undefined) return;
    // The clock is read only where a time is needed: this runs on every service.
    if (this.socket !== undefined && !this.sessionLive()) {
      // The session ended: let its last bytes (a DISCONNECT) out, then close.
      if (!this.socketReady || this.txIdle) {
        this.closeSocket();
      } else if (this.lingerAt === undefined) {
        this.lingerAt = this.clock() + this.lingerTimeout;
      }
    }
    if (this.qos0Callbacks.length > 0 && this.txIdle && this.socketReady && this.session.state === SessionState.Connected) {
      for (const callback of this.qos0Callbacks.splice(0, this.qos0Callbacks.length)) {
        this.completions.push({ callback, error: undefined, result: { packetId: 0, qos: 0, reasonCode: 0 } });
      }
    }
    const end = this.endRequest;
    if (end === undefined) return;
    if (this.session.state === SessionState.Connected && !end.disconnectSent) {
      if (!end.drain || this.drained()) {
        end.disconnectSent = true;
        this.session.disconnect(this.clock(), end.reasonCode, end.properties);
        this.again = true;
      }
    } else if (this.socket === undefined && !this.sessionLive()) {
      this.finishEnd();
    }
  }

  private drained(): boolean {
    const c = this.session.outbox.counters;
    return c.queued === 0 && c.inflight === 0 && this.requests.size === 0 && this.requestQueue.length === 0 && this.txIdle;
  }

  private finishEnd(): void {
    const end = this.endRequest!;
    this.endRequest = undefined;
    this.state = ClientState.Ended;
    this.reconnectAt = undefined;
    this.connectedAt = undefined;
    const closed = new MqttError(ErrorCode.Closed, "the client ended before completion");
    for (const request of this.requestQueue.splice(0, this.requestQueue.length)) {
      if (request.callback !== undefined) this.completions.push({ callback: request.callback, error: closed, result: [] });
    }
    for (const callback of this.publishCallbacks.values()) this.completions.push({ callback, error: closed, result: undefined });
    this.publishCallbacks.clear();
    for (const callback of this.qos0Callbacks.splice(0, this.qos0Callbacks.length)) {
      this.completions.push({ callback, error: closed, result: undefined });
    }
    const onEnd = this.options.onEnd;
    if (onEnd !== undefined) this.completions.push({ callback: () => onEnd.call(this), error: undefined, result: undefined });
    for (const callback of end.callbacks) this.completions.push({ callback, error: undefined, result: undefined });
  }

  /** Arms the one timer for the earliest deadline; keeps an earlier one (it re-arms on firing). */
  private arm(): void {
    // Nothing that decides the deadline changed since the last call: the
    // timer (or its absence) is still right.
    const version = this.session.timerVersion;
    if (version === this.armedVersion && this.reconnectAt === this.armedReconnectAt && this.lingerAt === this.armedLingerAt) return;
    this.armedVersion = version;
    this.armedReconnectAt = this.reconnectAt;
    this.armedLingerAt = this.lingerAt;
    let deadline = this.session.pollTimeout();
    if (this.reconnectAt !== undefined && (deadline === undefined || this.reconnectAt < deadline)) deadline = this.reconnectAt;
    if (this.lingerAt !== undefined && (deadline === undefined || this.lingerAt < deadline)) deadline = this.lingerAt;
    if (deadline === undefined) {
      if (this.timerId !== undefined) {
        this.timer.clear(this.timerId);
        this.timerId = undefined;
      }
      return;
    }
    if (this.timerId !== undefined) {
      if (this.timerDeadline <= deadline) return;
      this.timer.clear(this.timerId);
    }
    const now = this.clock();
    this.timerDeadline = deadline;
    this.timerId = this.timer.set(this.onTimerBound, deadline > now ? deadline - now : 0);
  }

  /** Calls a user callback; a throw is reported, never swallowed. */
  private invoke(callback: (...args: any[]) => void, a?: unknown, b?: unknown, c?: unknown, d?: unknown): void {
    try {
      callback.call(this, a, b, c, d);
    } catch (error) {
      this.reportError(error);
    }
  }

  private reportError(error: unknown): void {
    const onError = this.options.onError;
    if (onError === undefined) {
      this.keepThrow(error);
      return;
    }
    try {
      onError.call(this, error);
    } catch (thrown) {
      this.keepThrow(thrown);
    }
  }

  private keepThrow(error: unknown): void {
    if (this.hasPendingThrow) return;
    this.hasPendingThrow = true;
    this.pendingThrow = error;
  }

  /** Rethrows an error kept during the service loop, at the end of an entry point. */
  private raise(): void {
    if (!this.hasPendingThrow || this.servicing) return;
    const error = this.pendingThrow;
    this.hasPendingThrow = false;
    this.pendingThrow = undefined;
    throw error;
  }
}
