/**
 * A recording TCP relay on 127.0.0.1 for the interop tier: it sits between
 * a client and a broker (or a fault proxy), splits both byte streams into
 * MQTT control packets and records each one, decoded by the npm package
 * `mqtt-packet` (an implementation independent of ours), with its
 * direction, size, link and arrival time. It can also refuse connections,
 * which makes the broker "unreachable" without changing the client's URL.
 * Node-only test support.
 *
 * Theory of operation
 * -------------------
 * Each accepted connection is a link with its own upstream connection.
 * Bytes are forwarded unchanged, as they arrive, both ways ("up" = client
 * to broker, "down" = broker to client); a copy goes to a per-direction
 * framer that finds packet boundaries from the fixed header (type byte and
 * Remaining Length, MQTT 5.0 §2.1.4) and hands each complete packet to
 * `mqtt-packet`'s parser. The protocol version for the parser comes from
 * the link's CONNECT (the Protocol Level byte, MQTT 5.0 §3.1.2.2), so a v5
 * link's properties (topic aliases, reason codes) are decoded too. A packet
 * that does not parse is recorded with `error` set rather than thrown:
 * tests assert on what they expect to see.
 *
 * Refusing (`refuse(true)`): live links are reset and every new connection
 * is reset on accept, counted in `accepted` like any other attempt. The
 * upstream is not contacted then.
 */
import { EventEmitter } from "node:events";
import net from "node:net";
import mqttPacket from "mqtt-packet";

/** "up": client -> broker. "down": broker -> client. */
export type TapDirection = "up" | "down";

/** One recorded control packet. */
export interface TapFrame {
  /** Link number (0-based, in accept order). */
  link: number;
  dir: TapDirection;
  /** `performance.now()` when the last byte of the packet was forwarded. */
  at: number;
  /** Packet type name as mqtt-packet spells it (`publish`, `puback`, ...), from the fixed header. */
  cmd: string;
  /** First byte of the fixed header (type and flags). */
  header: number;
  /** Whole packet size on the wire, bytes (fixed header included). */
  size: number;
  /** The decoded packet (mqtt-packet shape: `messageId`, `dup`, `qos`, `topic`, `properties`, ...). */
  packet: Record<string, any> | undefined;
  /** Why mqtt-packet could not decode it, when it could not. */
  error: string | undefined;
}

const TYPES = Object.freeze([
  "reserved", "connect", "connack", "publish", "puback", "pubrec", "pubrel", "pubcomp",
  "subscribe", "suback", "unsubscribe", "unsuback", "pingreq", "pingresp", "disconnect", "auth",
]);

/** Incremental splitter of one byte stream into whole packets. */
class Framer {
  private buffer = Buffer.alloc(0);

  /** Appends bytes; returns the complete packets now available, in order. */
  push(chunk: Buffer): Buffer[] {
    this.buffer = this.buffer.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buffer, chunk]);
    const out: Buffer[] = [];
    for (;;) {
      const b = this.buffer;
      if (b.length < 2) break;
      let remaining = 0;
      let multiplier = 1;
      let i = 1;
      let complete = false;
      while (i < b.length && i <= 4) {
        const byte = b[i]!;
        remaining += (byte & 0x7f) * multiplier;
        multiplier *= 128;
        i += 1;
        if ((byte & 0x80) === 0) {
          complete = true;
          break;
        }
      }
      if (!complete) break;
      const total = i + remaining;
      if (b.length < total) break;
      out.push(b.subarray(0, total));
      this.buffer = b.subarray(total);
    }
    return out;
  }
}

class TapLink {
  version = 4;
  readonly framers = { up: new Framer(), down: new Framer() };
  closed = false;
  constructor(
    readonly id: number,
    readonly client: net.Socket,
    readonly upstream: net.Socket | undefined,
  ) {}
}

/** Options of {@link startWireTap}. */
export interface WireTapOptions {
  /** Port of the next hop (broker or fault proxy) on 127.0.0.1. */
  targetPort: number;
}

/**
 * The tap. Events: `"frame"` ({@link TapFrame}), `"connection"` (link id).
 */
export class WireTap extends EventEmitter {
  /** Every packet seen since start or {@link clear}, both directions, in forwarding order. */
  readonly frames: TapFrame[] = [];
  /** Connections accepted since start or {@link clear} (refused ones included). */
  accepted = 0;
  private nextLink = 0;
  private refusing = false;
  private readonly links = new Set<TapLink>();

  constructor(
    private readonly server: net.Server,
    readonly port: number,
    private readonly targetPort: number,
  ) {
    super();
    server.on("connection", (socket) => this.accept(socket));
  }

  /** `mqtt://127.0.0.1:<port>` */
  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  /** Links open now. */
  connections(): number {
    return this.links.size;
  }

  /** Packets of one type (and direction), optionally of one link. */
  select(cmd: string, dir?: TapDirection, link?: number): TapFrame[] {
    return this.frames.filter((f) => f.cmd === cmd && (dir === undefined || f.dir === dir) && (link === undefined || f.link === link));
  }

  /** Forgets recorded frames and zeroes `accepted`. */
  clear(): void {
    this.frames.length = 0;
    this.accepted = 0;
  }

  /** `true`: reset live links and every new connection (broker unreachable). `false`: relay again. */
  refuse(on: boolean): void {
    this.refusing = on;
    if (on) this.dropAll();
  }

  /** Resets every live link, both sides. */
  dropAll(): void {
    for (const link of [...this.links]) this.closeLink(link);
  }

  /** Resets every link and stops listening. */
  async close(): Promise<void> {
    this.dropAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: net.Socket): void {
    this.accepted += 1;
    client.setNoDelay(true);
    if (this.refusing) {
      client.on("error", () => undefined);
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect({ host: "127.0.0.1", port: this.targetPort });
    upstream.setNoDelay(true);
    const link = new TapLink(this.nextLink++, client, upstream);
    this.links.add(link);
    const wire = (from: net.Socket, to: net.Socket, dir: TapDirection): void => {
      from.on("data", (chunk: Buffer) => {
        if (link.closed) return;
        to.write(chunk);
        for (const packet of link.framers[dir].push(chunk)) this.record(link, dir, packet);
      });
      // A clean end is passed on as a FIN after the bytes already written,
      // so a DISCONNECT reaches the broker before the connection closes.
      from.on("end", () => {
        if (!link.closed) to.end();
      });
      from.on("error", () => this.closeLink(link));
      from.on("close", (hadError: boolean) => {
        if (hadError) {
          this.closeLink(link);
          return;
        }
        if (!to.destroyed) {
          to.end();
          const timer = setTimeout(() => to.destroy(), 2000);
          timer.unref();
          to.once("close", () => clearTimeout(timer));
        }
        if (from === link.client || to.destroyed) this.forget(link);
      });
    };
    // Bytes written to a connecting socket are queued by Node until it connects.
    wire(client, upstream, "up");
    wire(upstream, client, "down");
    this.emit("connection", link.id);
  }

  private record(link: TapLink, dir: TapDirection, bytes: Buffer): void {
    const header = bytes[0]!;
    const type = header >> 4;
    if (dir === "up" && type === 1) {
      // CONNECT: 2-byte length + "MQTT" + Protocol Level [MQTT 5.0 §3.1.2.2]
      const lengthBytes = bytes.subarray(1).findIndex((b) => (b & 0x80) === 0) + 1;
      const level = bytes[1 + lengthBytes + 6];
      if (level === 3 || level === 4 || level === 5) link.version = level;
    }
    let packet: Record<string, any> | undefined;
    let error: string | undefined;
    const parser = mqttPacket.parser({ protocolVersion: link.version });
    parser.on("packet", (p: Record<string, any>) => (packet = p));
    parser.on("error", (e: Error) => (error = e.message));
    parser.parse(bytes);
    const frame: TapFrame = { link: link.id, dir, at: performance.now(), cmd: TYPES[type]!, header, size: bytes.length, packet, error };
    this.frames.push(frame);
    this.emit("frame", frame);
  }

  private forget(link: TapLink): void {
    this.links.delete(link);
  }

  /** Resets both sides at once (no FIN: the broker sees an abrupt loss). */
  private closeLink(link: TapLink): void {
    if (link.closed) return;
    link.closed = true;
    this.links.delete(link);
    for (const socket of [link.client, link.upstream]) {
      if (socket === undefined) continue;
      socket.on("error", () => undefined);
      if (socket.destroyed) continue;
      if (socket.connecting) socket.destroy();
      else socket.resetAndDestroy();
    }
  }
}

/** Starts a wire tap on a free 127.0.0.1 port in front of 127.0.0.1:`targetPort`. */
export async function startWireTap(options: WireTapOptions): Promise<WireTap> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  return new WireTap(server, port, options.targetPort);
}
