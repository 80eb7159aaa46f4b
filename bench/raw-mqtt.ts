/**
 * A bare MQTT connection over `node:net` for the benchmark: the "raw
 * ceiling" publisher and the reference subscriber. No client library, no
 * state machine beyond what the measurement needs: packets are encoded once
 * up front with our codec (`encode`), incoming bytes are only framed (fixed
 * header + Remaining Length) and handed out as views.
 *
 * Theory of operation
 * -------------------
 * `RawConnection.open()` dials with Nagle off (`setNoDelay`), sends one
 * CONNECT and resolves on CONNACK. From then on every complete incoming
 * packet goes to `onPacket(first, body, start, end)`: `first` is the fixed
 * header's first byte, `body[start..end)` its variable header and payload
 * (a view into the received chunk, valid during the call only). Writes go
 * straight to the socket; `write()` reports Node's back-pressure flag and
 * `drained()` waits for the `drain` event.
 *
 * What it answers by itself: PINGREQ is never needed (keepalive 0), a QoS 1
 * PUBLISH gets a PUBACK and a QoS 2 PUBLISH a PUBREC, a PUBREL a PUBCOMP
 * (v3.1.1 and v5 share those 4-byte forms when the reason is Success), when
 * `autoAck` is on (the subscriber). The publisher handles PUBACK, PUBREC and
 * PUBCOMP itself through `onPacket`.
 *
 * Node-only benchmark support.
 */
import net from "node:net";
import { encode } from "../modules/mqtt/codec/encoder";
import type { ProtocolVersion, PublishPacket, QoS } from "../modules/mqtt/codec/packets";

/** Incoming packet callback: `first` byte of the fixed header, body = `bytes[start..end)`. */
export type PacketHandler = (first: number, bytes: Uint8Array, start: number, end: number) => void;

/** Options of {@link RawConnection.open}. */
export interface RawOptions {
  port: number;
  clientId: string;
  /** 4 (3.1.1, default) or 5. */
  version?: ProtocolVersion;
  /** Answer inbound QoS 1/2 PUBLISH and PUBREL by itself. Default false. */
  autoAck?: boolean;
}

const PUBACK = 0x40;
const PUBREC = 0x50;
const PUBREL = 0x62;
const PUBCOMP = 0x70;

/** One bare MQTT connection. */
export class RawConnection {
  readonly socket: net.Socket;
  readonly version: ProtocolVersion;
  /** Incoming packets after CONNACK (see the module header). */
  onPacket: PacketHandler = () => {};
  /** Bytes received, all packets included. */
  bytesIn = 0;

  private pending: Buffer | undefined;
  private readonly autoAck: boolean;
  private connack: ((code: number) => void) | undefined;
  private closedError: Error | undefined;

  private constructor(socket: net.Socket, version: ProtocolVersion, autoAck: boolean) {
    this.socket = socket;
    this.version = version;
    this.autoAck = autoAck;
    socket.on("data", (chunk: Buffer) => this.receive(chunk));
    socket.on("error", (error) => {
      this.closedError = error;
    });
  }

  /** Dials 127.0.0.1:`port`, sends CONNECT (clean, keepalive 0), resolves after a successful CONNACK. */
  static open(options: RawOptions): Promise<RawConnection> {
    const version = options.version ?? 4;
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: "127.0.0.1", port: options.port });
      socket.setNoDelay(true);
      const raw = new RawConnection(socket, version, options.autoAck === true);
      socket.once("error", reject);
      socket.once("connect", () => {
        raw.connack = (code) => {
          socket.off("error", reject);
          if (code === 0) resolve(raw);
          else reject(new Error(`CONNACK refused: ${code}`));
        };
        socket.write(encode({ type: 1, protocolVersion: version, clientId: options.clientId, clean: true, keepalive: 0 }, version));
      });
    });
  }

  /** Subscribes to one filter and resolves after the SUBACK (rejects on a failure code). */
  subscribe(topic: string, qos: QoS): Promise<void> {
    return new Promise((resolve, reject) => {
      const previous = this.onPacket;
      this.onPacket = (first, bytes, start, end) => {
        if (first >> 4 !== 9) return previous(first, bytes, start, end);
        this.onPacket = previous;
        const code = bytes[end - 1];
        if (code >= 0x80) reject(new Error(`SUBACK failure 0x${code.toString(16)}`));
        else resolve();
      };
      this.socket.write(encode({ type: 8, packetId: 1, subscriptions: [{ topic, qos }] }, this.version));
    });
  }

  /** Writes bytes; returns false when Node asks the writer to wait for `drained()`. */
  write(bytes: Uint8Array): boolean {
    return this.socket.write(bytes);
  }

  /** Resolves on the socket's next `drain` event. */
  drained(): Promise<void> {
    return new Promise((resolve) => this.socket.once("drain", () => resolve()));
  }

  /** Sends DISCONNECT and closes; resolves once the socket is closed. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.socket.destroyed) return resolve();
      this.socket.once("close", () => resolve());
      this.socket.end(Buffer.from([0xe0, 0]));
      setTimeout(() => this.socket.destroy(), 1000).unref();
    });
  }

  /** The error that ended the socket, if any. */
  get error(): Error | undefined {
    return this.closedError;
  }

  private receive(chunk: Buffer): void {
    this.bytesIn += chunk.length;
    let bytes: Buffer = chunk;
    if (this.pending !== undefined) {
      bytes = Buffer.concat([this.pending, chunk]);
      this.pending = undefined;
    }
    let pos = 0;
    const n = bytes.length;
    while (pos < n) {
      // Fixed header: first byte, then a Variable Byte Integer (1..4 bytes).
      if (n - pos < 2) break;
      let length = 0;
      let shift = 0;
      let p = pos + 1;
      let complete = false;
      while (p < n && p < pos + 5) {
        const b = bytes[p++];
        length += (b & 0x7f) << shift;
        shift += 7;
        if ((b & 0x80) === 0) {
          complete = true;
          break;
        }
      }
      if (!complete || p + length > n) break;
      const first = bytes[pos];
      const end = p + length;
      this.dispatch(first, bytes, p, end);
      pos = end;
    }
    if (pos < n) this.pending = Buffer.from(bytes.subarray(pos));
  }

  private dispatch(first: number, bytes: Uint8Array, start: number, end: number): void {
    const type = first >> 4;
    if (type === 2) {
      const done = this.connack;
      this.connack = undefined;
      done?.(bytes[start + 1]);
      return;
    }
    if (this.autoAck) {
      if (type === 3) {
        const qos = (first >> 1) & 3;
        if (qos > 0) {
          const topicLength = (bytes[start] << 8) | bytes[start + 1];
          const idAt = start + 2 + topicLength;
          this.ack(qos === 1 ? PUBACK : PUBREC, bytes[idAt], bytes[idAt + 1]);
        }
      } else if (type === 6) {
        this.ack(PUBCOMP, bytes[start], bytes[start + 1]);
      }
    }
    this.onPacket(first, bytes, start, end);
  }

  private ack(first: number, hi: number, lo: number): void {
    this.socket.write(Buffer.from([first, 2, hi, lo]));
  }
}

/**
 * `count` PUBLISH packets, encoded once by our codec and laid end to end in
 * one buffer, with packet ids 1..count for QoS 1/2 (count <= 65535).
 * `offsets[i]` is where packet i starts (`offsets[count]` = total length),
 * `payloadAt[i]` where its payload starts (the latency job writes the
 * message index there before sending).
 */
export function preEncodePublishes(
  topic: string,
  payloadSize: number,
  qos: QoS,
  count: number,
  version: ProtocolVersion,
): { bytes: Buffer; offsets: Uint32Array; payloadAt: Uint32Array } {
  if (qos > 0 && count > 65535) throw new RangeError("at most 65535 pre-encoded QoS 1/2 packets (one id each)");
  const payload = new Uint8Array(payloadSize);
  const packet: PublishPacket = { type: 3, topic, payload, qos, retain: false, dup: false };
  if (qos > 0) packet.packetId = 1;
  const one = encode(packet, version).length;
  const bytes = Buffer.alloc(one * count);
  const offsets = new Uint32Array(count + 1);
  const payloadAt = new Uint32Array(count);
  for (let i = 0; i < count; i++) {
    if (qos > 0) packet.packetId = i + 1;
    const encoded = encode(packet, version);
    bytes.set(encoded, i * one);
    offsets[i] = i * one;
    payloadAt[i] = i * one + one - payloadSize;
  }
  offsets[count] = one * count;
  return { bytes, offsets, payloadAt };
}

/** A PUBREL (v3.1.1 and v5, reason Success) for `packetId`, written at `target[at..at+4)`. */
export function writePubrel(target: Uint8Array, at: number, packetId: number): void {
  target[at] = PUBREL;
  target[at + 1] = 2;
  target[at + 2] = packetId >> 8;
  target[at + 3] = packetId & 0xff;
}

/** Packet id of an acknowledgement whose body is `bytes[start..)`. */
export function ackId(bytes: Uint8Array, start: number): number {
  return (bytes[start] << 8) | bytes[start + 1];
}

/** Offset of a PUBLISH payload within its body `bytes[start..end)`, for `version` and the QoS in `first`. */
export function publishPayloadStart(first: number, bytes: Uint8Array, start: number, version: ProtocolVersion): number {
  const topicLength = (bytes[start] << 8) | bytes[start + 1];
  let p = start + 2 + topicLength;
  if (((first >> 1) & 3) > 0) p += 2;
  if (version === 5) {
    // Property Length, a Variable Byte Integer, then the properties.
    let length = 0;
    let shift = 0;
    for (;;) {
      const b = bytes[p++];
      length += (b & 0x7f) << shift;
      shift += 7;
      if ((b & 0x80) === 0) break;
    }
    p += length;
  }
  return p;
}
