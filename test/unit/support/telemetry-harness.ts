/**
 * A deterministic harness for telemetry-node tests: one `TelemetryNode`
 * over the real `Client`, a fake ECMA-419 socket class, a fake clock that
 * drives both the client's and the node's timers, and a tiny broker played
 * by the harness itself: it decodes what the client wrote, logs it (with
 * the fake time it was seen at), and answers PUBACK/PUBREC/PUBCOMP/SUBACK/
 * PINGRESP automatically unless told not to. No Node APIs: runs in XS.
 */
import { encode } from "../../../modules/mqtt/codec/encoder";
import { decodeUtf8 } from "../../../modules/mqtt/codec/utf8";
import type { ConnectPacket, Packet, ProtocolVersion, PublishPacket, QoS, SubscribePacket } from "../../../modules/mqtt/codec/packets";
import { TelemetryNode } from "../../../modules/telemetry/telemetry-node";
import type { TelemetryNodeOptions } from "../../../modules/telemetry/telemetry-node";
import type { NodeDescription, SampleSource } from "../../../modules/telemetry/description";
import { FakeClock, FakeNet, scriptedRandom, text } from "./client-fakes";
import type { FakeSocket } from "./client-fakes";

export { text, ascii, scriptedRandom } from "./client-fakes";

/** A packet the client sent, with the fake time the harness saw it at. */
export interface Sent {
  at: number;
  packet: Packet;
}

/** A sensor whose samples the test scripts: `value` is returned (a deep copy) until changed; `fail` makes sample() throw. */
export class ScriptedSensor implements SampleSource {
  value: unknown;
  fail: Error | undefined = undefined;
  calls = 0;
  constructor(value: unknown) {
    this.value = value;
  }
  sample(): unknown {
    this.calls += 1;
    if (this.fail !== undefined) throw this.fail;
    return JSON.parse(JSON.stringify(this.value));
  }
}

/** A switch actuator that records every apply. */
export class FakeSwitch {
  on = false;
  readonly applied: Array<boolean | number> = [];
  refuse: string | undefined = undefined;
  apply = (value: boolean | number): void => {
    if (this.refuse !== undefined) throw new RangeError(this.refuse);
    this.applied.push(value);
    this.on = value === true;
  };
  read = (): boolean => this.on;
}

export class Harness {
  readonly clock = new FakeClock();
  readonly net: FakeNet;
  readonly node: TelemetryNode;
  readonly version: ProtocolVersion;
  /** Everything the client sent, in order. */
  readonly sent: Sent[] = [];
  /** The CONNECT packets (will payload copied). */
  readonly connects: ConnectPacket[] = [];
  readonly errors: unknown[] = [];
  readonly states: string[] = [];
  readonly commands: Array<[string, boolean | number | undefined, string | undefined]> = [];
  /** Answer QoS 1/2 PUBLISH and PUBREL automatically. */
  autoAck = true;

  constructor(description: NodeDescription, options: Partial<TelemetryNodeOptions> = {}, version: ProtocolVersion = 4) {
    this.clock.t = 1000;
    this.version = version;
    this.net = new FakeNet(version);
    this.node = new TelemetryNode(description, {
      socket: { io: this.net.TCP, host: "127.0.0.1", port: 1883 },
      timer: this.clock.timer,
      now: this.clock.now,
      random: scriptedRandom(0.5),
      protocolVersion: version,
      onError: (e) => this.errors.push(e),
      onState: (_s, payload) => this.states.push(payload),
      onCommand: (name, value, error) => this.commands.push([name, value, error]),
      ...options,
    });
  }

  /** The newest socket. */
  get socket(): FakeSocket {
    return this.net.last;
  }

  /** Opens the newest socket, takes its CONNECT, answers CONNACK, then pumps. */
  accept(sessionPresent = false, connackProperties?: Record<string, unknown>): ConnectPacket {
    const s = this.socket;
    s.open(1 << 20);
    const first = s.packets();
    const connect = first[0] as ConnectPacket;
    if (connect === undefined || connect.type !== 1) throw new Error(`expected CONNECT, got ${JSON.stringify(first.map((p) => p.type))}`);
    if (connect.will !== undefined) connect.will = { ...connect.will, payload: connect.will.payload.slice() };
    this.connects.push(connect);
    for (const p of first) this.sent.push({ at: this.clock.t, packet: p });
    const connack: Packet = { type: 2, sessionPresent, reasonCode: 0 };
    if (connackProperties !== undefined) (connack as { properties?: unknown }).properties = connackProperties;
    s.deliver(encode(connack, this.version));
    this.pump();
    return connect;
  }

  /** Reads what the client wrote, logs it, answers automatically. */
  pump(): void {
    for (let round = 0; round < 100; round++) {
      if (this.net.sockets.length === 0) return;
      const s = this.socket;
      if (s.closed && s.pendingBytes === 0) return;
      const packets = s.packets();
      if (packets.length === 0) return;
      for (const p of packets) {
        this.sent.push({ at: this.clock.t, packet: p });
        if (s.closed) continue;
        this.answer(s, p);
      }
    }
  }

  private answer(s: FakeSocket, p: Packet): void {
    const v = this.version;
    switch (p.type) {
      case 3: {
        const pub = p as PublishPacket;
        if (!this.autoAck) return;
        if (pub.qos === 1) s.deliver(encode({ type: 4, packetId: pub.packetId!, reasonCode: 0 }, v));
        if (pub.qos === 2) s.deliver(encode({ type: 5, packetId: pub.packetId!, reasonCode: 0 }, v));
        return;
      }
      case 6:
        if (this.autoAck) s.deliver(encode({ type: 7, packetId: (p as { packetId: number }).packetId, reasonCode: 0 }, v));
        return;
      case 8: {
        const sub = p as SubscribePacket;
        s.deliver(encode({ type: 9, packetId: sub.packetId, reasonCodes: sub.subscriptions.map((x) => x.qos) }, v));
        return;
      }
      case 12:
        s.deliver(encode({ type: 13 }, v));
        return;
    }
  }

  /** Acknowledges (PUBACK) a QoS 1 PUBLISH by id, then pumps. */
  puback(packetId: number): void {
    this.socket.deliver(encode({ type: 4, packetId, reasonCode: 0 }, this.version));
    this.pump();
  }

  /** The broker sends a PUBLISH to the client, then pumps. */
  deliver(topic: string, payload: string | Uint8Array, options: { qos?: QoS; retain?: boolean; packetId?: number; properties?: Record<string, unknown> } = {}): void {
    const bytes = typeof payload === "string" ? utf8(payload) : payload;
    const packet: PublishPacket = { type: 3, topic, payload: bytes, qos: options.qos ?? 0, retain: options.retain === true, dup: false };
    if (packet.qos > 0) packet.packetId = options.packetId ?? 1;
    if (options.properties !== undefined) packet.properties = options.properties;
    this.socket.deliver(encode(packet, this.version));
    this.pump();
  }

  /** Moves time forward timer by timer, pumping after each. */
  advance(ms: number): void {
    const end = this.clock.t + ms;
    for (let i = 0; i < 100000; i++) {
      const next = this.clock.nextDeadline;
      if (next === undefined || next > end) break;
      this.clock.advance(Math.max(0, next - this.clock.t));
      this.pump();
    }
    this.clock.advance(end - this.clock.t);
    this.pump();
  }

  /** The connection fails (the broker vanished), then pumps. */
  drop(): void {
    this.socket.fail({ code: "ECONNRESET", message: "reset", layer: "tcp" } as never);
    this.pump();
  }

  /** PUBLISH packets sent, optionally to one topic, with their times and UTF-8 payloads. */
  publishes(topic?: string): Array<{ at: number; packet: PublishPacket; text: string }> {
    const out: Array<{ at: number; packet: PublishPacket; text: string }> = [];
    for (const s of this.sent) {
      if (s.packet.type !== 3) continue;
      const p = s.packet as PublishPacket;
      if (topic !== undefined && p.topic !== topic) continue;
      out.push({ at: s.at, packet: p, text: decodeUtf8(p.payload, 0, p.payload.length) });
    }
    return out;
  }

  /** Packet types sent since index `from` of `sent`. */
  typesSince(from: number): number[] {
    return this.sent.slice(from).map((s) => s.packet.type);
  }
}

/** UTF-8 bytes of a string (BMP only; enough for test payloads). */
export function utf8(s: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
    else out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
  }
  return new Uint8Array(out);
}
