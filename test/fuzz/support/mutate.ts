/**
 * Byte-level mutations of MQTT packets and streams (shared by the fuzzers).
 *
 * Plain byte mutations (bit flips, interesting values, insertions,
 * deletions, truncation, splicing, duplication) plus MQTT-aware ones:
 * rewriting the Remaining Length (off by a few, zero, huge, non-minimal or
 * five-byte Variable Byte Integers, MQTT 5.0 §1.5.5), recomputing the right
 * Remaining Length after a body mutation (so the packet passes framing and
 * the mutation reaches the field parsers), nudging two-byte fields (string
 * lengths, packet ids, to 0 and 0xFFFF), and changing the type and flags
 * nibble of the first byte (QoS 3, DUP with QoS 0, reserved flags).
 * `mutationStats` counts how often each ran.
 */
import { concat } from "./fuzz-kit";
import type { Rng } from "./fuzz-kit";

const INTERESTING = [0x00, 0x01, 0x02, 0x7f, 0x80, 0x81, 0xfe, 0xff, 0x23, 0x26, 0x2b, 0x2f, 0xc0, 0xed, 0xf4, 0xf8];

/** Header of a packet at bytes[0..]: Remaining Length and where the body starts; undefined if unreadable. */
export function readHeader(bytes: Uint8Array): { rl: number; bodyStart: number } | undefined {
  let value = 0;
  let mult = 1;
  for (let i = 1; i <= 4 && i < bytes.length; i++) {
    value += (bytes[i] & 0x7f) * mult;
    if (bytes[i] < 0x80) return { rl: value, bodyStart: i + 1 };
    mult *= 128;
  }
  return undefined;
}

/** Minimal Variable Byte Integer bytes of n (n <= 268435455). */
export function vbi(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return out;
}

function withHeader(first: number, rlBytes: number[], body: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + rlBytes.length + body.length);
  out[0] = first;
  out.set(rlBytes, 1);
  out.set(body, 1 + rlBytes.length);
  return out;
}

function bodyOf(bytes: Uint8Array): Uint8Array {
  const h = readHeader(bytes);
  return h ? bytes.subarray(h.bodyStart) : bytes.subarray(Math.min(2, bytes.length));
}

type Mutator = (rng: Rng, b: Uint8Array, other: Uint8Array) => Uint8Array;

const MUTATORS: ReadonlyArray<[string, Mutator]> = [
  ["bit-flip", (rng, b) => {
    if (b.length === 0) return b;
    const out = b.slice();
    out[rng.int(out.length)] ^= 1 << rng.int(8);
    return out;
  }],
  ["set-byte", (rng, b) => {
    if (b.length === 0) return b;
    const out = b.slice();
    out[rng.int(out.length)] = rng.chance(0.7) ? rng.pick(INTERESTING) : rng.byte();
    return out;
  }],
  ["insert", (rng, b) => {
    const at = rng.int(b.length + 1);
    const ins = rng.chance(0.5) ? new Uint8Array([rng.pick(INTERESTING)]) : rng.bytes(rng.range(1, 8));
    return concat([b.subarray(0, at), ins, b.subarray(at)]);
  }],
  ["delete", (rng, b) => {
    if (b.length === 0) return b;
    const at = rng.int(b.length);
    const n = Math.min(b.length - at, rng.range(1, 4));
    return concat([b.subarray(0, at), b.subarray(at + n)]);
  }],
  ["truncate", (rng, b) => b.subarray(0, rng.int(b.length + 1)).slice()],
  ["splice", (rng, b, other) => concat([b.subarray(0, rng.int(b.length + 1)), other.subarray(rng.int(other.length + 1))])],
  ["duplicate", (rng, b) => {
    if (b.length === 0) return b;
    const from = rng.int(b.length);
    const to = Math.min(b.length, from + rng.range(1, 16));
    const at = rng.int(b.length + 1);
    return concat([b.subarray(0, at), b.subarray(from, to), b.subarray(at)]);
  }],
  ["remaining-length", (rng, b) => {
    if (b.length === 0) return b;
    const h = readHeader(b);
    const body = bodyOf(b);
    const rl = h ? h.rl : body.length;
    const r = rng.int(8);
    let bytes: number[];
    if (r === 0) bytes = vbi(Math.max(0, rl + rng.range(-3, 3)));
    else if (r === 1) bytes = vbi(0);
    else if (r === 2) bytes = vbi(rng.pick([127, 128, 16383, 16384, 2097151, 2097152, 268435455, rng.range(0, 268435455)]));
    else if (r === 3) bytes = [...vbi(rl).map((x) => x | 0x80), 0x00]; // non-minimal [MQTT-1.5.5-1]
    else if (r === 4) bytes = [0xff, 0xff, 0xff, 0xff, 0x7f]; // five bytes
    else if (r === 5) bytes = [0x80, 0x80, 0x80, 0x80]; // unterminated
    else bytes = vbi(Math.max(0, rl + rng.range(-1, 1)));
    return withHeader(b[0], bytes, body);
  }],
  ["body-then-fix-length", (rng, b) => {
    if (b.length < 2) return b;
    const body = bodyOf(b).slice();
    const r = rng.int(4);
    let next: Uint8Array = body;
    if (r === 0 && body.length > 0) next[rng.int(body.length)] ^= 1 << rng.int(8);
    else if (r === 1 && body.length > 0) next[rng.int(body.length)] = rng.pick(INTERESTING);
    else if (r === 2 && body.length > 0) {
      const at = rng.int(body.length);
      next = concat([body.subarray(0, at), body.subarray(Math.min(body.length, at + rng.range(1, 3)))]);
    } else {
      const at = rng.int(body.length + 1);
      next = concat([body.subarray(0, at), new Uint8Array([rng.pick(INTERESTING)]), body.subarray(at)]);
    }
    return withHeader(b[0], vbi(next.length), next);
  }],
  ["u16-field", (rng, b) => {
    const h = readHeader(b);
    if (!h || b.length < h.bodyStart + 2) return b;
    const out = b.slice();
    const at = h.bodyStart + rng.int(out.length - h.bodyStart - 1);
    const v = (out[at] << 8) | out[at + 1];
    const nv = rng.pick([0, 1, 0xffff, (v + 1) & 0xffff, (v - 1) & 0xffff, (v + rng.range(2, 40)) & 0xffff]);
    out[at] = nv >> 8;
    out[at + 1] = nv & 0xff;
    return out;
  }],
  ["first-byte", (rng, b) => {
    if (b.length === 0) return b;
    const out = b.slice();
    const r = rng.int(4);
    if (r === 0) out[0] = (out[0] & 0xf0) | rng.int(16); // flags
    else if (r === 1) out[0] = (rng.int(16) << 4) | (out[0] & 0x0f); // type
    else if (r === 2) out[0] = 0x36 | (rng.int(2) << 3) | rng.int(2); // PUBLISH QoS 3 [MQTT-3.3.1-4]
    else out[0] = 0x38 | rng.int(2); // PUBLISH DUP with QoS 0 [MQTT-3.3.1-2]
    return out;
  }],
];

export const mutationStats: Record<string, number> = Object.fromEntries(MUTATORS.map(([name]) => [name, 0]));

/** Applies 1..`max` random mutations to `bytes` (`other` feeds splicing). Returns a new array. */
export function mutate(rng: Rng, bytes: Uint8Array, other: Uint8Array, max = 3): Uint8Array {
  let b = bytes;
  const n = rng.range(1, max);
  for (let i = 0; i < n; i++) {
    const [name, fn] = rng.pick(MUTATORS);
    mutationStats[name]++;
    b = fn(rng, b, other);
  }
  return b === bytes ? bytes.slice() : b;
}

/** Random bytes shaped a little like MQTT: a first byte of a real type half the time, a small length. */
export function randomStream(rng: Rng): Uint8Array {
  const n = rng.smallLength(96);
  const out = rng.bytes(n);
  if (n > 0 && rng.chance(0.5)) out[0] = rng.pick([0x10, 0x20, 0x30, 0x32, 0x34, 0x3b, 0x40, 0x50, 0x62, 0x70, 0x82, 0x90, 0xa2, 0xb0, 0xc0, 0xd0, 0xe0, 0xf0]);
  if (n > 1 && rng.chance(0.5)) out[1] = rng.int(Math.max(1, n - 1));
  return out;
}

/** Splits `bytes` into random chunks (some empty, some single bytes). */
export function randomChunks(rng: Rng, bytes: Uint8Array): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  let p = 0;
  // One byte at a time only for short streams (a 16 KiB payload fed bytewise costs more than it finds).
  const style = bytes.length > 2048 ? 2 + rng.int(2) : rng.int(4);
  while (p < bytes.length) {
    let n: number;
    if (style === 0) n = 1;
    else if (style === 1) n = rng.range(1, 4);
    else n = rng.chance(0.1) ? 0 : rng.range(1, Math.max(1, rng.pick([3, 8, 40, 400])));
    chunks.push(bytes.subarray(p, Math.min(bytes.length, p + n)));
    p += n;
  }
  if (chunks.length === 0 || rng.chance(0.1)) chunks.push(new Uint8Array(0));
  return chunks;
}
