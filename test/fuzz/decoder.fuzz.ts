/**
 * Fuzz target: the incremental `Decoder` (modules/mqtt/codec/decoder.ts).
 *
 * Input: a byte stream built from (a) random bytes, (b) valid packets of
 * every type made by our encoder (test/fuzz/support/packet-gen.ts) and the
 * hex corpus, and (c) mutations of those (test/fuzz/support/mutate.ts),
 * decoded in both protocol versions with the default (16384) and small
 * (256, 24, 2) `maximumPacketSize`, pushed whole and in random chunk splits.
 *
 * Invariants (the name in brackets is what a failure reports):
 * - [only-mqtt-error] push()/next() throw nothing but an MqttError with a
 *   code the decoder documents (0x81, 0x82, 0x84, 0x95), from ErrorCode,
 *   source "remote".
 * - [sticky-error] after an error, next() throws the same error (same code)
 *   on every call, and push() ignores further bytes without throwing, until
 *   reset(); [reset] after reset() the decoder decodes again.
 * - [round-trip] every decoded packet re-encodes with our encoder and
 *   decodes back to an equal packet; that re-encoding is canonical (encoding
 *   the re-decoded packet gives the same bytes) and no longer than the bytes
 *   the packet came from. Two documented exceptions: a 3.1.1-style refusing
 *   CONNACK decoded in 5.0 re-encodes in 5.0 form (longer), and a 3.1.1
 *   CONNECT with an empty client id and Clean Session 0 is decoded (the
 *   server refuses it with CONNACK 0x02 [MQTT-3.1.3-8]) but not encoded
 *   (a client must not send it [MQTT-3.1.3-7]).
 * - [valid-decodes] a packet our encoder produced decodes (when it is within
 *   maximumPacketSize) and re-encodes to exactly its bytes; one larger than
 *   maximumPacketSize fails with PacketTooLarge (0x95) and nothing else.
 * - [max-size] no decoded packet spans more than maximumPacketSize bytes on
 *   the wire (checked against an independent framing of the stream), and
 *   PacketTooLarge is only raised for a packet whose header says it is larger.
 * - [split-invariance] decoding the stream in any chunk split gives the same
 *   packets and the same error code as decoding it whole.
 * - [view-lifetime] packets returned since the last push() are unchanged
 *   until the next push() (their payload/binary views stay valid, as the
 *   Decoder's TSDoc promises).
 * - [memory] the staging buffer is the one allocated at construction
 *   (max(maximumPacketSize, 5) bytes) and its fill never exceeds
 *   maximumPacketSize; the heap after GC grows less than HEAP_GROWTH_LIMIT
 *   over the run while the same few decoders decode every case.
 *
 * Run: `node test/run.mjs fuzz decoder` (FUZZ_SECONDS, FUZZ_SEED, FUZZ_CASE:
 * see test/fuzz/README.md). FUZZ_WRITE_CORPUS=1 rewrites
 * test/fuzz/corpus/decoder-v4.hex and decoder-v5.hex from the generator.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Decoder } from "../../modules/mqtt/codec/decoder";
import { encode } from "../../modules/mqtt/codec/encoder";
import type { Packet, ProtocolVersion } from "../../modules/mqtt/codec/packets";
import { ErrorCode, MqttError, errorName } from "../../modules/mqtt/errors";
import {
  InvariantError,
  Rng,
  check,
  clone,
  concat,
  corpusDir,
  deepEqual,
  heap,
  mib,
  readCorpus,
  runFuzzer,
  show,
  stackOf,
  toHex,
} from "./support/fuzz-kit";
import { mutate, mutationStats, randomChunks, randomStream, readHeader } from "./support/mutate";
import { TYPES_V4, TYPES_V5, encodeRandom, genStats } from "./support/packet-gen";

/** Codes the Decoder documents for next() (decoder.ts header). */
const DECODER_CODES: ReadonlySet<number> = new Set([
  ErrorCode.MalformedPacket,
  ErrorCode.ProtocolError,
  ErrorCode.UnsupportedProtocolVersion,
  ErrorCode.PacketTooLarge,
]);
const ALL_CODES: ReadonlySet<number> = new Set(Object.values(ErrorCode));

/**
 * Heap growth allowed between the sample taken after 1 s of fuzzing and the
 * end of the run (after a forced GC each time). Measured on Node 20.20: runs
 * of 10 to 200 s grow 0.5..2.8 MiB (JIT code and inline caches settling,
 * then flat). A decoder that kept a copy of each pushed chunk grew by
 * ~400 MiB in 10 s (README, "Proof that the harness can fail").
 */
const HEAP_GROWTH_LIMIT = 8 * 1048576;

interface Config {
  version: ProtocolVersion;
  maximumPacketSize: number;
  decoder: Decoder;
  /** The staging buffer seen right after construction (must never be replaced). */
  stage: Uint8Array | undefined;
}

const SIZES = [16384, 256, 24, 2];
const CONFIGS: Config[] = [];
for (const version of [4, 5] as const) {
  for (const maximumPacketSize of SIZES) {
    const decoder = new Decoder({ protocolVersion: version, maximumPacketSize });
    CONFIGS.push({ version, maximumPacketSize, decoder, stage: internals(decoder).stage });
  }
}
/** Re-decodes re-encoded packets; large enough for any packet a pool decoder accepts. */
const roundTripDecoder = new Decoder({ protocolVersion: 4, maximumPacketSize: 65536 });

function configName(c: Config): string {
  return `v${c.version === 4 ? "3.1.1" : "5"} maximumPacketSize=${c.maximumPacketSize}`;
}

/** The decoder's private fields, read for the memory invariant (undefined when renamed). */
function internals(d: Decoder): { stage?: Uint8Array; stageLength?: number; stageTotal?: number } {
  const any = d as unknown as Record<string, unknown>;
  return {
    stage: any.stage instanceof Uint8Array ? any.stage : undefined,
    stageLength: typeof any.stageLength === "number" ? any.stageLength : undefined,
    stageTotal: typeof any.stageTotal === "number" ? any.stageTotal : undefined,
  };
}

// ------------------------------------------------------------------ input

interface Item {
  bytes: Uint8Array;
  /** Produced by our encoder and not mutated since. */
  valid: boolean;
}

interface DecoderInput {
  config: number;
  items: Item[];
  /** Chunk lengths of each split of the stream tried besides the whole stream. */
  splits: number[][];
}

// Coverage counters for the summary.
const decodedByType = new Array<number>(16).fill(0);
const errorsByCode = new Map<number, number>();
let validChecked = 0;
let tooLargeChecked = 0;
let splitRuns = 0;
let skippedRoundTrips = 0;
let internalsMissing = false;

function stream(input: DecoderInput): Uint8Array {
  return concat(input.items.map((i) => i.bytes));
}

function chunksOf(bytes: Uint8Array, lengths: readonly number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let p = 0;
  for (let i = 0; i < lengths.length && p < bytes.length; i++) {
    const n = i === lengths.length - 1 ? bytes.length - p : Math.min(lengths[i], bytes.length - p);
    out.push(bytes.subarray(p, p + n));
    p += n;
  }
  if (p < bytes.length) out.push(bytes.subarray(p));
  return out;
}

// --------------------------------------------------------------- checking

function checkThrown(e: unknown, where: string): MqttError {
  check(e instanceof MqttError, "only-mqtt-error", () => `${where} threw a non-MqttError: ${stackOf(e)}`);
  check(ALL_CODES.has(e.code), "only-mqtt-error", `${where} threw MqttError code 0x${e.code.toString(16)}, not in ErrorCode`);
  check(DECODER_CODES.has(e.code), "only-mqtt-error", `${where} threw ${errorName(e.code)}, a code the Decoder does not document`);
  check(e.source === "remote", "only-mqtt-error", `${where} threw MqttError with source "${e.source}", expected "remote"`);
  return e;
}

function pushIgnored(d: Decoder, extra: Uint8Array): void {
  try {
    d.push(extra);
  } catch (e) {
    throw new InvariantError("sticky-error", `push() after a failure threw instead of ignoring the bytes: ${stackOf(e)}`);
  }
}

function expectSticky(d: Decoder, error: MqttError, extra?: Uint8Array): void {
  if (extra !== undefined) pushIgnored(d, extra);
  for (let i = 0; i < 2; i++) {
    let again: unknown = undefined;
    let returned: Packet | undefined;
    try {
      returned = d.next();
    } catch (e) {
      again = e;
    }
    check(again !== undefined, "sticky-error", () => `next() after ${errorName(error.code)} returned ${show(returned)} instead of throwing`);
    check(
      again instanceof MqttError && again.code === error.code,
      "sticky-error",
      () => `next() after ${errorName(error.code)} threw ${again instanceof MqttError ? errorName(again.code) : stackOf(again)}`,
    );
  }
}

function checkInternals(c: Config): void {
  const i = internals(c.decoder);
  if (i.stage === undefined || i.stageLength === undefined || i.stageTotal === undefined) {
    internalsMissing = true;
    return;
  }
  check(i.stage === c.stage, "memory", "the staging buffer was replaced after construction");
  check(i.stage.length === Math.max(c.maximumPacketSize, 5), "memory", `staging buffer is ${i.stage.length} bytes, maximumPacketSize ${c.maximumPacketSize}`);
  check(i.stageLength <= Math.max(c.maximumPacketSize, 5), "memory", `staging buffer holds ${i.stageLength} bytes > maximumPacketSize ${c.maximumPacketSize}`);
  check(i.stageTotal <= c.maximumPacketSize, "memory", `staged packet of ${i.stageTotal} bytes > maximumPacketSize ${c.maximumPacketSize}`);
}

/** Re-encodes a decoded packet and decodes it again. Returns the canonical bytes. */
function roundTrip(packet: Packet, version: ProtocolVersion): Uint8Array | undefined {
  let bytes: Uint8Array;
  try {
    bytes = encode(packet, version);
  } catch (e) {
    // A 3.1.1 CONNECT with an empty Client Identifier and Clean Session 0 is well formed: the server
    // answers it with CONNACK 0x02 [MQTT-3.1.3-8], so the decoder passes it on; a client must not
    // send it [MQTT-3.1.3-7], so the encoder refuses it. The one packet without a round trip.
    if (packet.type === 1 && version === 4 && packet.clientId === "" && !packet.clean) {
      skippedRoundTrips++;
      return undefined;
    }
    throw new InvariantError("round-trip", `our encoder refuses a packet our decoder accepted (v${version}): ${show(packet)}: ${stackOf(e)}`);
  }
  const d = roundTripDecoder;
  d.reset();
  d.protocolVersion = version;
  let again: Packet | undefined;
  let more: Packet | undefined;
  try {
    d.push(bytes);
    again = d.next();
    more = again === undefined ? undefined : d.next();
  } catch (e) {
    throw new InvariantError("round-trip", `re-encoded packet ${toHex(bytes)} does not decode (v${version}): ${stackOf(e)}`);
  }
  check(again !== undefined && more === undefined, "round-trip", () => `re-encoded packet ${toHex(bytes)} is not exactly one packet`);
  check(deepEqual(packet, again), "round-trip", () => `decode(encode(p)) differs (v${version}):\n  p     ${show(packet)}\n  again ${show(again)}`);
  const canonical = encode(again, version);
  check(deepEqual(canonical, bytes), "round-trip", () => `encoding is not canonical: ${toHex(bytes)} then ${toHex(canonical)}`);
  return bytes;
}

interface Outcome {
  packets: Packet[];
  /** Version each packet was decoded in. */
  versions: ProtocolVersion[];
  /** Canonical re-encoding of each packet (undefined: the encoder refuses it by design, see roundTrip). */
  encoded: Array<Uint8Array | undefined>;
  error?: MqttError;
}

/** Feeds `chunks` to the config's decoder, checking the per-call invariants. */
function feed(c: Config, chunks: readonly Uint8Array[]): Outcome {
  const d = c.decoder;
  d.reset();
  d.protocolVersion = c.version;
  const out: Outcome = { packets: [], versions: [], encoded: [] };
  let live: Array<{ raw: Packet; copy: Packet }> = [];
  let errorChunk = 0;
  for (let i = 0; i < chunks.length; i++) {
    for (const l of live) {
      check(deepEqual(l.raw, l.copy), "view-lifetime", () => `a packet changed before the next push(): was ${show(l.copy)}, now ${show(l.raw)}`);
    }
    live = [];
    if (out.error !== undefined) {
      // push() must ignore every later chunk; next() is checked on the first few and the last
      // (checking all of a byte-at-a-time split costs thousands of throws and finds nothing more).
      if (i < errorChunk + 3 || i === chunks.length - 1) expectSticky(d, out.error, chunks[i]);
      else pushIgnored(d, chunks[i]);
      continue;
    }
    try {
      d.push(chunks[i]);
    } catch (e) {
      throw new InvariantError("only-mqtt-error", `push() threw: ${stackOf(e)}`);
    }
    for (;;) {
      const before = d.protocolVersion;
      let packet: Packet | undefined;
      try {
        packet = d.next();
      } catch (e) {
        out.error = checkThrown(e, "next()");
        errorChunk = i;
        checkInternals(c);
        expectSticky(d, out.error);
        break;
      }
      checkInternals(c);
      if (packet === undefined) break;
      const copy = clone(packet);
      live.push({ raw: packet, copy });
      const version = packet.type === 1 ? packet.protocolVersion : before;
      out.encoded.push(roundTrip(copy, version));
      out.packets.push(copy);
      out.versions.push(version);
    }
  }
  return out;
}

function describeOutcome(o: Outcome): string {
  const types = o.packets.map((p) => p.type).join(",");
  return `${o.packets.length} packets [${types}]${o.error ? `, then ${errorName(o.error.code)}: ${o.error.message}` : ""}`;
}

function sameOutcome(a: Outcome, b: Outcome): boolean {
  if (a.packets.length !== b.packets.length) return false;
  for (let i = 0; i < a.packets.length; i++) {
    if (a.versions[i] !== b.versions[i] || !deepEqual(a.packets[i], b.packets[i])) return false;
  }
  return (a.error === undefined) === (b.error === undefined) && (a.error === undefined || a.error.code === (b.error as MqttError).code);
}

/** Frames the stream independently (type nibble, Remaining Length) and checks the decoded packets against it. */
function checkFraming(c: Config, bytes: Uint8Array, o: Outcome): void {
  let p = 0;
  for (let k = 0; k < o.packets.length; k++) {
    const h = readHeader(bytes.subarray(p));
    check(h !== undefined, "max-size", `packet ${k} was decoded but the stream at offset ${p} has no complete fixed header`);
    const total = h.bodyStart + h.rl;
    check(total <= c.maximumPacketSize, "max-size", `packet ${k} spans ${total} bytes > maximumPacketSize ${c.maximumPacketSize}`);
    check(p + total <= bytes.length, "max-size", `packet ${k} (${total} bytes at ${p}) runs past the end of the ${bytes.length}-byte stream`);
    check(o.packets[k].type === bytes[p] >> 4, "max-size", `packet ${k} has type ${o.packets[k].type}, its first byte 0x${bytes[p].toString(16)}`);
    // The one documented exception: a 3.1.1-style refusing CONNACK accepted in 5.0 (decoder.ts, "Versions").
    const v4Connack = o.packets[k].type === 2 && o.versions[k] === 5 && total === 4;
    const length = o.encoded[k]?.length ?? 0;
    check(v4Connack || length <= total, "round-trip", `packet ${k}: canonical encoding of ${length} bytes is longer than the ${total} it came from`);
    p += total;
  }
  if (o.error?.code === ErrorCode.PacketTooLarge) {
    const h = readHeader(bytes.subarray(p));
    check(h !== undefined && h.bodyStart + h.rl > c.maximumPacketSize, "max-size", `PacketTooLarge for a packet at offset ${p} whose header says ${h ? h.bodyStart + h.rl : "?"} bytes`);
  }
}

/** Valid items from the start of the stream must decode to themselves (or fail with PacketTooLarge). */
function checkValidItems(c: Config, input: DecoderInput, o: Outcome): void {
  for (let k = 0; k < input.items.length; k++) {
    const item = input.items[k];
    if (!item.valid) return;
    if (item.bytes.length > c.maximumPacketSize) {
      tooLargeChecked++;
      check(
        o.packets.length === k && o.error?.code === ErrorCode.PacketTooLarge,
        "valid-decodes",
        () => `valid packet ${k} of ${item.bytes.length} bytes > maximumPacketSize ${c.maximumPacketSize} gave ${describeOutcome(o)}, expected PacketTooLarge after ${k} packets`,
      );
      return;
    }
    validChecked++;
    check(k < o.packets.length, "valid-decodes", () => `valid packet ${k} ${toHex(item.bytes).slice(0, 200)} did not decode: ${describeOutcome(o)}`);
    const again = o.encoded[k];
    check(again !== undefined && deepEqual(again, item.bytes), "valid-decodes", () => `valid packet ${k} ${toHex(item.bytes)} re-encodes as ${again ? toHex(again) : "nothing"}`);
  }
}

/** One case: the stream whole, then in each split; all invariants. */
function runCase(input: DecoderInput): void {
  const c = CONFIGS[input.config];
  const bytes = stream(input);
  const whole = feed(c, [bytes]);
  for (const p of whole.packets) decodedByType[p.type]++;
  if (whole.error) errorsByCode.set(whole.error.code, (errorsByCode.get(whole.error.code) ?? 0) + 1);
  checkFraming(c, bytes, whole);
  checkValidItems(c, input, whole);
  for (const lengths of input.splits) {
    splitRuns++;
    const chunks = chunksOf(bytes, lengths);
    const split = feed(c, chunks);
    check(
      sameOutcome(whole, split),
      "split-invariance",
      () => `whole: ${describeOutcome(whole)}\n  split [${chunks.map((x) => x.length).join(",")}]: ${describeOutcome(split)}`,
    );
  }
  // [reset] the decoder works again after reset(), whatever happened before.
  const d = c.decoder;
  d.reset();
  d.protocolVersion = c.version;
  let ping: Packet | undefined;
  let none: Packet | undefined;
  try {
    d.push(new Uint8Array([0xd0, 0x00]));
    ping = d.next();
    none = d.next();
  } catch (e) {
    throw new InvariantError("reset", `after reset() a PINGRESP does not decode: ${stackOf(e)}`);
  }
  check(deepEqual(ping, { type: 13 }) && none === undefined, "reset", () => `after reset() a PINGRESP decoded as ${show(ping)}, then ${show(none)}`);
}

// ------------------------------------------------------------- generation

const corpus = readCorpus("decoder-");
/** Lines of decoder-v4.hex / decoder-v5.hex: valid packets written by our encoder. */
const validSeeds: Record<number, Uint8Array[]> = { 4: [], 5: [] };
/** Every corpus line (edge cases and regressions too): material for mutations. */
const allSeeds: Record<number, Uint8Array[]> = { 4: [], 5: [] };
for (const entry of corpus) {
  const version = /-v5/.test(entry.file) ? 5 : 4;
  const bytes = concat(entry.chunks);
  allSeeds[version].push(bytes);
  if (/^decoder-v[45]\.hex$/.test(entry.file)) validSeeds[version].push(bytes);
}

function validItem(rng: Rng, version: ProtocolVersion): Uint8Array {
  const seeds = validSeeds[version];
  if (seeds.length > 0 && rng.chance(0.25)) return rng.pick(seeds);
  return encodeRandom(rng, version === 5 ? TYPES_V5 : TYPES_V4, version).bytes;
}

/** Something to mutate: mostly a valid packet, sometimes any corpus line (edge cases, regressions). */
function mutationSeed(rng: Rng, version: ProtocolVersion): Uint8Array {
  const seeds = allSeeds[version];
  if (seeds.length > 0 && rng.chance(0.15)) return rng.pick(seeds);
  return validItem(rng, version);
}

function generate(rng: Rng): DecoderInput {
  const r = rng.int(100);
  const config = r < 45 ? rng.int(2) * 4 : r < 70 ? rng.int(2) * 4 + 1 : r < 90 ? rng.int(2) * 4 + 2 : rng.int(2) * 4 + 3;
  const version = CONFIGS[config].version;
  const items: Item[] = [];
  if (rng.chance(0.1)) {
    items.push({ bytes: randomStream(rng), valid: false }); // (a) random bytes
  } else {
    const n = rng.range(1, 6);
    for (let i = 0; i < n; i++) {
      const k = rng.int(100);
      if (k < 55) items.push({ bytes: validItem(rng, version), valid: true }); // (b) valid packets
      else if (k < 92) items.push({ bytes: mutate(rng, mutationSeed(rng, version), mutationSeed(rng, version)), valid: false }); // (b) mutated
      else items.push({ bytes: randomStream(rng), valid: false });
    }
    if (rng.chance(0.1)) {
      // whole-stream mutation: truncation or splicing across packet boundaries
      const whole = concat(items.map((i) => i.bytes));
      items.length = 0;
      items.push({ bytes: mutate(rng, whole, validItem(rng, version), 2), valid: false });
    }
  }
  // (c) random splits of the same stream
  const total = items.reduce((n, i) => n + i.bytes.length, 0);
  const splits: number[][] = [];
  const nSplits = rng.range(1, 2);
  for (let s = 0; s < nSplits; s++) splits.push(randomChunks(rng, new Uint8Array(total)).map((c) => c.length));
  return { config, items, splits };
}

// -------------------------------------------------------------- shrinking

function* shrink(input: DecoderInput): Iterable<DecoderInput> {
  // fewer splits, then fewer items, then fewer bytes in an item, then coarser splits
  if (input.splits.length > 1) for (let i = 0; i < input.splits.length; i++) yield { ...input, splits: [input.splits[i]] };
  if (input.items.length > 1) {
    for (let i = 0; i < input.items.length; i++) yield { ...input, items: input.items.filter((_, j) => j !== i) };
    yield { ...input, items: [{ bytes: stream(input), valid: false }] };
  }
  for (let i = 0; i < input.items.length; i++) {
    const b = input.items[i].bytes;
    for (let size = b.length >> 1; size >= 1; size >>= 1) {
      for (let at = 0; at + size <= b.length; at += size) {
        const items = input.items.slice();
        items[i] = { bytes: concat([b.subarray(0, at), b.subarray(at + size)]), valid: false };
        yield { ...input, items };
      }
    }
  }
  for (let s = 0; s < input.splits.length; s++) {
    const lengths = input.splits[s];
    for (let i = 0; i + 1 < lengths.length; i++) {
      const merged = lengths.slice(0, i).concat([lengths[i] + lengths[i + 1]], lengths.slice(i + 2));
      const splits = input.splits.slice();
      splits[s] = merged;
      yield { ...input, splits };
    }
  }
}

function describe(input: DecoderInput): string {
  const c = CONFIGS[input.config];
  const bytes = stream(input);
  const splits = input.splits.map((l) => chunksOf(bytes, l).map(toHex).join(" "));
  return `${configName(c)}, stream ${toHex(bytes)}${splits.length ? `, splits: ${splits.map((s) => `[${s}]`).join(" ")}` : ""}`;
}

// ---------------------------------------------------------------- corpus

function runCorpus(fail: (label: string, error: unknown, repro?: string) => void): number {
  let ran = 0;
  for (const entry of corpus) {
    const version = /-v5/.test(entry.file) ? 5 : 4;
    const whole = concat(entry.chunks);
    // Only the encoder-written files must re-encode to themselves; edges and regressions are checked for the invariants.
    const valid = /^decoder-v[45]\.hex$/.test(entry.file);
    for (let i = 0; i < CONFIGS.length; i++) {
      if (CONFIGS[i].version !== version) continue;
      const splits = [entry.chunks.map((c) => c.length), Array.from({ length: whole.length }, () => 1)];
      const input: DecoderInput = { config: i, items: [{ bytes: whole, valid: false }], splits };
      ran++;
      try {
        runCase(input);
        if (valid && CONFIGS[i].maximumPacketSize === 16384) {
          // a valid corpus line decodes completely and re-encodes to itself
          const o = feed(CONFIGS[i], [whole]);
          check(o.error === undefined, "valid-decodes", () => `corpus line does not decode: ${describeOutcome(o)}`);
          const again = concat(o.encoded.map((b) => b ?? new Uint8Array(0)));
          check(deepEqual(again, whole), "valid-decodes", () => `corpus line re-encodes as ${toHex(again)}`);
        }
      } catch (error) {
        fail(`${entry.file}:${entry.line} "${entry.name}" (${configName(CONFIGS[i])})`, error, describe(input));
      }
    }
  }
  return ran;
}

// ------------------------------------------------------------------- main

const NAMES = ["", "CONNECT", "CONNACK", "PUBLISH", "PUBACK", "PUBREC", "PUBREL", "PUBCOMP", "SUBSCRIBE", "SUBACK", "UNSUBSCRIBE", "UNSUBACK", "PINGREQ", "PINGRESP", "DISCONNECT", "AUTH"];

/** FUZZ_WRITE_CORPUS=1: writes valid packets of every type (3 per type and version) made by our encoder. */
function writeCorpus(): void {
  for (const version of [4, 5] as const) {
    const rng = new Rng(0x5eed0000 + version);
    const lines = [
      `# Valid MQTT ${version === 5 ? "5.0" : "3.1.1"} packets of every type, written by our encoder`,
      `# (test/fuzz/support/packet-gen.ts, seed 0x${(0x5eed0000 + version).toString(16)}; FUZZ_WRITE_CORPUS=1 rewrites this file).`,
      "# One packet per line; the comment above each names it. Mutation seeds for decoder.fuzz.ts.",
      "",
    ];
    for (const type of version === 5 ? TYPES_V5 : TYPES_V4) {
      let written = 0;
      for (let attempt = 0; written < 3 && attempt < 200; attempt++) {
        const { packet, bytes } = encodeRandom(rng, [type], version);
        if (packet.type !== type || bytes.length > 160) continue;
        const p = packet as unknown as Record<string, unknown>;
        const bits: string[] = [];
        if (p.qos !== undefined) bits.push(`QoS ${p.qos as number}`);
        if (p.packetId !== undefined) bits.push(`id ${p.packetId as number}`);
        if (p.reasonCode !== undefined) bits.push(`reason 0x${(p.reasonCode as number).toString(16)}`);
        if (p.properties !== undefined) bits.push(`properties ${Object.keys(p.properties as object).join("+")}`);
        if (p.will !== undefined) bits.push("will");
        lines.push(`# ${NAMES[type]} ${bits.join(", ")}`.trimEnd(), toHex(bytes), "");
        written++;
      }
    }
    writeFileSync(join(corpusDir(), `decoder-v${version}.hex`), lines.join("\n"));
  }
  process.stdout.write("wrote decoder-v4.hex and decoder-v5.hex\n");
}

let heapBaseline: number | undefined;
let heapAtMs = 0;

if (process.env.FUZZ_WRITE_CORPUS === "1") {
  writeCorpus();
} else {
  runFuzzer<DecoderInput>({
    name: "decoder",
    corpus: runCorpus,
    generate: (rng) => generate(rng),
    run: runCase,
    shrink,
    describe,
    tick(elapsedMs) {
      if (heapBaseline === undefined && elapsedMs >= 1000) {
        heapBaseline = heap();
        heapAtMs = elapsedMs;
      }
    },
    finish() {
      for (const c of CONFIGS) checkInternals(c);
      if (heapBaseline === undefined) return;
      const end = heap();
      process.stdout.write(`decoder fuzz: heap after GC ${mib(heapBaseline)} at ${(heapAtMs / 1000).toFixed(1)} s, ${mib(end)} at the end\n`);
      check(end - heapBaseline < HEAP_GROWTH_LIMIT, "memory", `heap grew by ${mib(end - heapBaseline)} (limit ${mib(HEAP_GROWTH_LIMIT)})`);
    },
    summary() {
      const types = decodedByType.map((n, t) => (t > 0 ? `${NAMES[t]} ${n}` : "")).filter(Boolean).join(", ");
      const errors = [...errorsByCode.entries()].sort((a, b) => a[0] - b[0]).map(([code, n]) => `${errorName(code)} ${n}`).join(", ");
      const lines = [
        `decoded (whole-stream runs): ${types}`,
        `errors (whole-stream runs): ${errors}`,
        `valid packets checked ${validChecked}, too-large valid packets checked ${tooLargeChecked}, split runs ${splitRuns}, ` +
          `3.1.1 CONNECTs with empty client id and clean 0 (no round trip) ${skippedRoundTrips}`,
        `generator: ${genStats.encoded} packets encoded, ${genStats.refused} objects refused by the encoder and redrawn`,
        `mutations: ${Object.entries(mutationStats).map(([k, v]) => `${k} ${v}`).join(", ")}`,
      ];
      if (internalsMissing) lines.push("note: Decoder internals (stage, stageLength, stageTotal) not found; the memory check used the heap only");
      return lines;
    },
  });
}
