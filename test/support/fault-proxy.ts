/**
 * A TCP proxy on 127.0.0.1 that sits between a client and a broker and
 * injects transport faults: cut the connection after N bytes, deliver one
 * byte at a time, stall a direction until resumed, kill every live
 * connection abruptly. It counts the bytes it forwards both ways.
 * Node-only test support.
 *
 * Theory of operation
 * -------------------
 * Each accepted client connection becomes a link with its own upstream
 * connection to the target. Bytes read from either side are queued per
 * direction ("up" = client -> broker, "down" = broker -> client) and a pump
 * forwards them subject to the current faults:
 * - stalled direction: nothing moves; once 64 KiB are queued the source is
 *   paused, so TCP flow control pushes back on the sender (a network that
 *   stops delivering, not one that closes);
 * - one byte at a time: each byte is written on its own, `byteDelay` ms
 *   apart, with Nagle off, so the receiver sees the stream split at every
 *   byte (best effort: a receiver that lags can still read several at once);
 * - cut after N bytes: exactly N more bytes are forwarded in the rule's
 *   direction ("both": N counted over both directions together), then both
 *   sockets are closed (`"fin"`: graceful end after the N bytes are sent;
 *   `"rst"`: TCP reset). The count starts when the rule is set for live
 *   links and at accept for later ones; `once` clears the rule after its
 *   first cut.
 * Counters (`bytes.up`, `bytes.down`) count bytes forwarded, over all links
 * since start or `resetCounters()`. A side that closes cleanly is passed on
 * as a FIN once its queued bytes are forwarded; an error or reset on one
 * side destroys the other.
 */
import { EventEmitter } from "node:events";
import net from "node:net";

/** "up": client -> broker. "down": broker -> client. */
export type Direction = "up" | "down";
/** A direction or both. */
export type Directions = Direction | "both";

/** Options of {@link startFaultProxy}. */
export interface FaultProxyOptions {
  /** Port of the broker on `targetHost`. */
  targetPort: number;
  /** Default "127.0.0.1". */
  targetHost?: string;
  /** Listen port on 127.0.0.1; default 0 (a free one). */
  port?: number;
}

/** How a cut or a drop closes sockets: graceful FIN or TCP reset. */
export type CloseHow = "fin" | "rst";

/** Options of {@link FaultProxy.cutAfter}. */
export interface CutOptions {
  /** Clear the rule after the first cut. Default `false` (every link is cut). */
  once?: boolean;
  /** Default `"fin"`. */
  how?: CloseHow;
}

/** A `cut` event: which link, and what it had forwarded when cut. */
export interface CutEvent {
  link: number;
  up: number;
  down: number;
}

const QUEUE_LIMIT = 64 * 1024;

interface Rule {
  bytes: number;
  direction: Directions;
  once: boolean;
  how: CloseHow;
}

class Link {
  readonly queue: Record<Direction, Buffer[]> = { up: [], down: [] };
  readonly queued: Record<Direction, number> = { up: 0, down: 0 };
  readonly pumping: Record<Direction, boolean> = { up: false, down: false };
  readonly ended: Record<Direction, boolean> = { up: false, down: false };
  readonly forwarded: Record<Direction, number> = { up: 0, down: 0 };
  upstreamReady = false;
  closed = false;
  rule: Rule | undefined;
  budget = 0;

  constructor(
    readonly id: number,
    readonly client: net.Socket,
    readonly upstream: net.Socket,
  ) {}

  source(direction: Direction): net.Socket {
    return direction === "up" ? this.client : this.upstream;
  }

  sink(direction: Direction): net.Socket {
    return direction === "up" ? this.upstream : this.client;
  }

  arm(rule: Rule | undefined): void {
    this.rule = rule;
    this.budget = rule?.bytes ?? 0;
  }
}

/**
 * The proxy. Events: `"connection"` (link id), `"cut"` ({@link CutEvent}),
 * `"linkClosed"` (link id).
 */
export class FaultProxy extends EventEmitter {
  /** Bytes forwarded, over all links. */
  readonly bytes: Record<Direction, number> = { up: 0, down: 0 };
  /** Links accepted since start. */
  accepted = 0;
  /** Cuts performed since start. */
  cuts = 0;

  private readonly links = new Set<Link>();
  private readonly stalled: Record<Direction, boolean> = { up: false, down: false };
  private rule: Rule | undefined;
  private byteDelay: number | undefined;

  constructor(
    private readonly server: net.Server,
    readonly port: number,
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {
    super();
    server.on("connection", (socket) => this.accept(socket));
  }

  /** `mqtt://127.0.0.1:<port>` */
  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  /** Links currently open (client side not yet closed). */
  connections(): number {
    return this.links.size;
  }

  /**
   * Forward exactly `bytes` more bytes in `direction` (default "both",
   * counted together), then close both sides of the link.
   */
  cutAfter(bytes: number, direction: Directions = "both", options: CutOptions = {}): void {
    if (!Number.isInteger(bytes) || bytes < 0) throw new RangeError(`cutAfter: bytes must be an integer >= 0, got ${bytes}`);
    this.rule = { bytes, direction, once: options.once ?? false, how: options.how ?? "fin" };
    for (const link of this.links) {
      link.arm(this.rule);
      this.pump(link, "up");
      this.pump(link, "down");
    }
  }

  /** Removes the cut rule (live links keep forwarding). */
  clearCut(): void {
    this.rule = undefined;
    for (const link of this.links) link.arm(undefined);
  }

  /** Turns one-byte-at-a-time delivery on (`delayMs` between bytes, default 1) or off (`false`). */
  oneByteAtATime(delayMs: number | false = 1): void {
    this.byteDelay = delayMs === false ? undefined : delayMs;
    if (this.byteDelay === undefined) for (const link of this.links) this.pumpBoth(link);
  }

  /** Stops forwarding in `direction` (default both) until {@link resume}. */
  stall(direction: Directions = "both"): void {
    for (const d of expand(direction)) this.stalled[d] = true;
  }

  /** Resumes forwarding in `direction` (default both); queued bytes flow on. */
  resume(direction: Directions = "both"): void {
    for (const d of expand(direction)) this.stalled[d] = false;
    for (const link of this.links) this.pumpBoth(link);
  }

  /** Kills every live link at once, both sides (`"rst"` by default: the peers see a reset). */
  dropAll(how: CloseHow = "rst"): void {
    for (const link of [...this.links]) this.closeLink(link, how);
  }

  /** Zeroes `bytes`, `accepted` and `cuts`. */
  resetCounters(): void {
    this.bytes.up = this.bytes.down = 0;
    this.accepted = this.cuts = 0;
  }

  /** Drops every link (reset) and stops listening. */
  async close(): Promise<void> {
    this.dropAll("rst");
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: net.Socket): void {
    const upstream = net.connect({ host: this.targetHost, port: this.targetPort });
    const link = new Link(this.accepted++, client, upstream);
    link.arm(this.rule);
    this.links.add(link);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    upstream.once("connect", () => {
      link.upstreamReady = true;
      this.pump(link, "up");
    });
    for (const direction of ["up", "down"] as const) {
      const source = link.source(direction);
      source.on("data", (chunk: Buffer) => {
        if (link.closed) return;
        link.queue[direction].push(chunk);
        link.queued[direction] += chunk.length;
        if (link.queued[direction] >= QUEUE_LIMIT) source.pause();
        this.pump(link, direction);
      });
      source.on("end", () => {
        link.ended[direction] = true;
        this.pump(link, direction);
      });
      source.on("error", () => this.closeLink(link, "rst"));
      source.on("close", () => {
        if (!link.closed && !link.ended[direction]) this.closeLink(link, "rst");
        if (source === client) this.forget(link);
      });
    }
    this.emit("connection", link.id);
  }

  private forget(link: Link): void {
    if (this.links.delete(link)) this.emit("linkClosed", link.id);
  }

  private pumpBoth(link: Link): void {
    this.pump(link, "up");
    this.pump(link, "down");
  }

  private pump(link: Link, direction: Direction): void {
    if (link.closed || link.pumping[direction]) return;
    if (direction === "up" && !link.upstreamReady) return;
    const sink = link.sink(direction);
    const queue = link.queue[direction];
    const rule = link.rule;
    const counted = rule !== undefined && (rule.direction === "both" || rule.direction === direction);
    while (queue.length > 0 && !this.stalled[direction]) {
      if (counted && link.budget === 0) {
        this.cut(link, rule);
        return;
      }
      const chunk = queue[0]!;
      let n = chunk.length;
      if (this.byteDelay !== undefined) n = 1;
      if (counted) n = Math.min(n, link.budget);
      const piece = chunk.subarray(0, n);
      if (n === chunk.length) queue.shift();
      else queue[0] = chunk.subarray(n);
      link.queued[direction] -= n;
      const ok = sink.write(piece);
      link.forwarded[direction] += n;
      this.bytes[direction] += n;
      if (counted) {
        link.budget -= n;
        if (link.budget === 0) {
          this.cut(link, rule);
          return;
        }
      }
      if (this.byteDelay !== undefined) {
        link.pumping[direction] = true;
        setTimeout(() => {
          link.pumping[direction] = false;
          this.pump(link, direction);
        }, this.byteDelay);
        break;
      }
      if (!ok) {
        link.pumping[direction] = true;
        sink.once("drain", () => {
          link.pumping[direction] = false;
          this.pump(link, direction);
        });
        break;
      }
    }
    const source = link.source(direction);
    if (link.queued[direction] < QUEUE_LIMIT && source.isPaused()) source.resume();
    if (queue.length === 0 && link.ended[direction] && !link.pumping[direction]) sink.end();
  }

  private cut(link: Link, rule: Rule): void {
    this.cuts++;
    if (rule.once && this.rule === rule) this.clearCut();
    this.emit("cut", { link: link.id, up: link.forwarded.up, down: link.forwarded.down } satisfies CutEvent);
    this.closeLink(link, rule.how);
  }

  private closeLink(link: Link, how: CloseHow): void {
    if (link.closed) return;
    link.closed = true;
    for (const socket of [link.client, link.upstream]) {
      if (how === "rst") {
        if (socket.connecting || socket.destroyed) socket.destroy();
        else socket.resetAndDestroy();
      } else {
        socket.end();
        const timer = setTimeout(() => socket.destroy(), 1000);
        timer.unref();
        socket.once("close", () => clearTimeout(timer));
      }
    }
    if (link.client.destroyed) this.forget(link);
  }
}

function expand(direction: Directions): Direction[] {
  return direction === "both" ? ["up", "down"] : [direction];
}

/** Starts a fault proxy on 127.0.0.1 in front of `targetHost:targetPort`. */
export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  return new FaultProxy(server, port, options.targetHost ?? "127.0.0.1", options.targetPort);
}
