/**
 * Deterministic fakes for the client tests: a clock, a one-shot timer
 * table driven by that clock, a scripted random source, and an ECMA-419
 * TCP socket class whose sockets the test drives by hand (open, deliver
 * bytes, grant writable space, fail). The broker side is the test itself:
 * it decodes what the client wrote with the codec's Decoder and answers
 * with packets encoded by the codec's encoder.
 *
 * No Node APIs: these run on Node and inside XS.
 */
import { Decoder } from "../../../modules/mqtt/codec/decoder";
import { encode } from "../../../modules/mqtt/codec/encoder";
import type { Packet, ProtocolVersion } from "../../../modules/mqtt/codec/packets";
import type { SocketError, TcpSocket, TcpSocketOptions } from "../../../modules/io/tcp-types";

/** A clock the test advances; timers fire in deadline order as it passes them. */
export class FakeClock {
  t = 0;
  private nextId = 1;
  private timers: Array<{ id: number; at: number; callback: () => void }> = [];
  /** Every delay passed to `set`, in order (ms). */
  readonly delays: number[] = [];

  now = (): number => this.t;

  /** The `ClientTimer` view of this clock. */
  readonly timer = {
    set: (callback: () => void, ms: number): unknown => {
      const id = this.nextId++;
      this.delays.push(ms);
      this.timers.push({ id, at: this.t + ms, callback });
      return id;
    },
    clear: (id: unknown): void => {
      this.timers = this.timers.filter((x) => x.id !== id);
    },
  };

  /** Timers armed now. */
  get armed(): number {
    return this.timers.length;
  }

  /** The earliest armed deadline, or undefined. */
  get nextDeadline(): number | undefined {
    let min: number | undefined;
    for (const x of this.timers) if (min === undefined || x.at < min) min = x.at;
    return min;
  }

  /** Moves time forward by `ms`, firing every timer due on the way, in order. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      let next: { id: number; at: number; callback: () => void } | undefined;
      for (const x of this.timers) if (x.at <= end && (next === undefined || x.at < next.at)) next = x;
      if (next === undefined) break;
      this.timers = this.timers.filter((x) => x !== next);
      if (next.at > this.t) this.t = next.at;
      next.callback();
    }
    this.t = end;
  }

  /** Advances to the next armed deadline and fires it; returns false when none. */
  fireNext(): boolean {
    const at = this.nextDeadline;
    if (at === undefined) return false;
    this.advance(Math.max(0, at - this.t));
    return true;
  }
}

/** A random source returning the given values in turn (the last one repeats). */
export function scriptedRandom(...values: number[]): () => number {
  let i = 0;
  return () => {
    const v = values[i < values.length ? i : values.length - 1];
    i += 1;
    return v;
  };
}

/** One socket created by the client through `FakeNet.TCP`. */
export class FakeSocket implements TcpSocket {
  format: "buffer" | "number" = "buffer";
  readonly remoteAddress: string | undefined = undefined;
  readonly remotePort: number | undefined = undefined;
  closed = false;
  /** Writable space the client was last told about, minus what it wrote since. */
  budget = 0;
  /** Sizes of every write, in order. */
  readonly writeSizes: number[] = [];
  /** Every byte the client wrote, not yet taken by `packets()`. */
  private out: number[] = [];
  private inbox: number[] = [];
  private readonly decoder: Decoder;
  /** Largest single write the socket accepts beyond its budget (always 0: writes over budget throw, as Moddable's). */
  readonly options: TcpSocketOptions & Record<string, unknown>;

  constructor(options: TcpSocketOptions & Record<string, unknown>, version: ProtocolVersion) {
    this.options = options;
    this.decoder = new Decoder({ protocolVersion: version, maximumPacketSize: 1 << 20 });
  }

  read(target?: unknown): any {
    if (this.closed) throw new Error("read after close");
    if (this.inbox.length === 0) return undefined;
    if (!(target instanceof Uint8Array)) throw new Error("FakeSocket: read(Uint8Array) only");
    if (target.length > this.inbox.length) throw new Error("FakeSocket: read beyond available (Moddable throws)");
    for (let i = 0; i < target.length; i++) target[i] = this.inbox[i];
    this.inbox.splice(0, target.length);
    return target.length;
  }

  write(data: unknown): number {
    if (this.closed) throw new Error("write after close");
    if (!(data instanceof Uint8Array)) throw new Error("FakeSocket: write(Uint8Array) only");
    if (this.budget <= 0 && data.length > 0) throw new Error("not ready / would block");
    if (data.length > this.budget) throw new Error("would block");
    for (let i = 0; i < data.length; i++) this.out.push(data[i]);
    this.writeSizes.push(data.length);
    this.budget -= data.length;
    return this.budget;
  }

  close(): void {
    this.closed = true;
  }

  // ---- test controls ----

  /** The connection is up: first onWritable(count). */
  open(count = 65536): void {
    this.budget = count;
    this.options.onWritable!.call(this, count);
  }

  /** More room to write: onWritable(total). */
  grant(count: number): void {
    this.budget = count;
    this.options.onWritable!.call(this, count);
  }

  /** Bytes from the broker: onReadable(total buffered). */
  deliver(bytes: Uint8Array): void {
    for (let i = 0; i < bytes.length; i++) this.inbox.push(bytes[i]);
    this.options.onReadable!.call(this, this.inbox.length);
  }

  /** The connection failed or the peer closed it. */
  fail(error?: SocketError): void {
    this.options.onError!.call(this, error);
  }

  /** Decodes everything written since the last call. */
  packets(): Packet[] {
    const bytes = new Uint8Array(this.out);
    this.out = [];
    if (bytes.length > 0) this.decoder.push(bytes);
    const result: Packet[] = [];
    for (;;) {
      const p = this.decoder.next();
      if (p === undefined) break;
      // Copy binary views: they die on the next push.
      const copy = { ...(p as object) } as { [k: string]: unknown };
      if ((p as { payload?: Uint8Array }).payload instanceof Uint8Array) copy.payload = (p as { payload: Uint8Array }).payload.slice();
      result.push(copy as unknown as Packet);
    }
    return result;
  }

  /** Bytes written and not yet decoded. */
  get pendingBytes(): number {
    return this.out.length;
  }
}

/** The socket class handed to the client, and the sockets it created. */
export class FakeNet {
  readonly sockets: FakeSocket[] = [];
  readonly TCP: new (options: TcpSocketOptions) => FakeSocket;

  constructor(version: ProtocolVersion = 4) {
    const sockets = this.sockets;
    this.TCP = class extends FakeSocket {
      constructor(options: TcpSocketOptions) {
        super(options as TcpSocketOptions & Record<string, unknown>, version);
        sockets.push(this);
      }
    };
  }

  /** The most recent socket. */
  get last(): FakeSocket {
    const s = this.sockets[this.sockets.length - 1];
    if (s === undefined) throw new Error("no socket was created");
    return s;
  }
}

/** Encodes a broker packet. */
export function wire(packet: Packet, version: ProtocolVersion = 4): Uint8Array {
  return encode(packet, version);
}

/** UTF-8 of an ASCII string (test payloads). */
export function ascii(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** ASCII text of bytes. */
export function text(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
  return s;
}

/** Packet type names for messages. */
export function types(packets: Packet[]): number[] {
  return packets.map((p) => p.type);
}

/** Advances the clock timer by timer until the client opens a new socket; returns the time that took (ms), or -1 if no timer is left. */
export function untilNewSocket(clock: FakeClock, net: FakeNet, limit = 1000): number {
  const start = clock.t;
  const count = net.sockets.length;
  for (let i = 0; i < limit && net.sockets.length === count; i++) {
    if (!clock.fireNext()) return -1;
  }
  return net.sockets.length > count ? clock.t - start : -1;
}

/** Opens the client's newest socket, takes its CONNECT and answers CONNACK 0. Returns the socket. */
export function acceptConnect(net: FakeNet, sessionPresent = false, version: ProtocolVersion = 4, budget = 65536): FakeSocket {
  const s = net.last;
  s.open(budget);
  const first = s.packets();
  if (first.length !== 1 || first[0].type !== 1) throw new Error(`expected CONNECT, got ${JSON.stringify(types(first))}`);
  s.deliver(encode({ type: 2, sessionPresent, reasonCode: 0 }, version));
  return s;
}
