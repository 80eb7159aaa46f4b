/**
 * The wire format between the Node side of the XS test host
 * (`hosts/xsnap/host.ts`) and the XS side (`hosts/xsnap/xs/*`), shared by
 * both: operation codes, little-endian integer helpers and a small value
 * codec for control data.
 *
 * Theory of operation
 * -------------------
 * xsnap gives one synchronous channel each way (see `../xsnap-worker.ts`):
 * the host calls `globalThis.handleCommand(buffer)` in XS with a `?`
 * request and gets back the ArrayBuffer it returns; XS calls
 * `issueCommand(buffer)` and gets back the host's reply. On top of that:
 *
 * - **Host -> XS batch** (the argument of `handleCommand`): an 8-byte
 *   header, the host's clock as a little-endian float64 (ms), then records
 *   `[op u8][length u32][body]` with `op` from {@link HostOp}. Events that
 *   pile up while XS is busy travel together in one batch.
 * - **XS -> host result** (the return value of `handleCommand`): records
 *   in the same `[op u8][length u32][body]` shape, `op` from
 *   {@link ResultOp}: socket buffer levels (flow control), RPC returns,
 *   faults.
 * - **XS -> host commands** (the argument of `issueCommand`): `[op
 *   u8][body]`, `op` from {@link XsOp}. The reply is `[status u8][body]`,
 *   status from {@link Status}; on `Error` the body is an encoded error the
 *   XS side throws.
 *
 * Data bytes (socket reads and writes) travel raw after a socket id; only
 * control data (socket options, errors, RPC arguments and results, events)
 * goes through the value codec: JSON text with binary attachments, so
 * payloads are never turned into text. Integers are little-endian.
 *
 * This module uses `TextEncoder`/`TextDecoder`, which Node and the
 * `@agoric/xsnap` worker provide as globals (Moddable does not: this file
 * is for the XS test host only, never for a board).
 */

/** Host -> XS batch record ops (bodies after the 5-byte record head). */
export const HostOp = Object.freeze({
  /** `[socket u32][bytes]`: data arrived for a socket. */
  Readable: 1,
  /** `[socket u32][count u32]`: the socket may take `count` bytes. */
  Writable: 2,
  /** `[socket u32][value]`: the connection failed or closed; value = `{ name, message, code, layer }`. */
  Error: 3,
  /** `[timer u32]`: a timer fired. */
  Timer: 4,
  /** `[call u32][value]`: call an RPC method; value = `{ m: name, a: args[] }`. */
  Call: 5,
});

/** XS -> host `issueCommand` ops. */
export const XsOp = Object.freeze({
  /** `[socket u32][flags u8][value options]`: open a socket (flags bit 0: TLS). Reply: ok or error. */
  Open: 0x11,
  /** `[socket u32][bytes]`: write. Reply: `[writable u32]` or error. */
  Write: 0x12,
  /** `[socket u32]`: close. Reply: ok. */
  Close: 0x13,
  /** `[socket u32]`: remote address. Reply: `[value { remoteAddress, remotePort }]`. */
  Info: 0x14,
  /** `[timer u32][ms f64][interval f64]`: arm a timer (interval 0: one-shot). Reply: ok. */
  TimerSet: 0x15,
  /** `[timer u32]`: cancel a timer. Reply: ok. */
  TimerClear: 0x16,
  /** `[value]`: an event, a callback, an asynchronous RPC return, a user emit. Reply: ok. */
  Emit: 0x17,
});

/** XS -> host result records (the return value of `handleCommand`). */
export const ResultOp = Object.freeze({
  /** `[socket u32][buffered u32]`: bytes XS holds unread for the socket. */
  Buffered: 0x41,
  /** `[call u32][ok u8][value]`: the synchronous result (ok 1) or exception (ok 0) of a call. */
  Return: 0x42,
  /** `[op u8][value error]`: a host event's handler threw (a callback inside XS). */
  Fault: 0x43,
});

/** First byte of an `issueCommand` reply. */
export const Status = Object.freeze({ Ok: 0, Error: 1 });

/** Size of the batch header (the host clock, float64). */
export const BATCH_HEADER = 8;
/** Size of a record head: op u8 + length u32. */
export const RECORD_HEAD = 5;

/** Writes `value` (0..2^32-1) at `offset`, little-endian. */
export function putU32(bytes: Uint8Array, offset: number, value: number): void {
  bytes[offset] = value & 0xff;
  bytes[offset + 1] = (value >>> 8) & 0xff;
  bytes[offset + 2] = (value >>> 16) & 0xff;
  bytes[offset + 3] = (value >>> 24) & 0xff;
}

/** Reads an unsigned 32-bit integer at `offset`, little-endian. */
export function getU32(bytes: Uint8Array, offset: number): number {
  return (bytes[offset] | (bytes[offset + 1] << 8) | (bytes[offset + 2] << 16)) + bytes[offset + 3] * 0x1000000;
}

/** Writes a float64 at `offset`, little-endian. */
export function putF64(bytes: Uint8Array, offset: number, value: number): void {
  new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).setFloat64(offset, value, true);
}

/** Reads a float64 at `offset`, little-endian. */
export function getF64(bytes: Uint8Array, offset: number): number {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getFloat64(offset, true);
}

/** The fields an encoded error carries (`{ "$e": ErrorFields }` in the JSON). */
export interface ErrorFields {
  name: string;
  message: string;
  stack?: string;
  /** `MqttError.code` (a number) or a socket error's code (a string such as "ECONNREFUSED"). */
  code?: number | string;
  reasonCode?: number;
  source?: string;
  layer?: string;
  cause?: unknown;
}

let encoder: { encode(text: string): Uint8Array } | undefined;
let decoder: { decode(bytes: Uint8Array): string } | undefined;

/** UTF-8 bytes of `text`. */
export function utf8(text: string): Uint8Array {
  if (encoder === undefined) encoder = new TextEncoder();
  return encoder.encode(text);
}

/** Text of UTF-8 `bytes`. */
export function text(bytes: Uint8Array): string {
  if (decoder === undefined) decoder = new TextDecoder();
  return decoder.decode(bytes);
}

function errorFields(error: Error): ErrorFields {
  const fields: ErrorFields = { name: error.name, message: error.message };
  const e = error as Error & { code?: unknown; reasonCode?: unknown; source?: unknown; layer?: unknown; cause?: unknown };
  if (typeof e.stack === "string") fields.stack = e.stack;
  if (typeof e.code === "number" || typeof e.code === "string") fields.code = e.code;
  if (typeof e.reasonCode === "number") fields.reasonCode = e.reasonCode;
  if (typeof e.source === "string") fields.source = e.source;
  if (typeof e.layer === "string") fields.layer = e.layer;
  if (e.cause !== undefined) fields.cause = e.cause;
  return fields;
}

/**
 * Encodes a value as `[json length u32][json][count u32]([length u32][bytes])*`.
 * JSON plus: `Uint8Array` (a Node Buffer is one) and other views become
 * attachments (`{"$b": index}`; one attachment per distinct view),
 * `ArrayBuffer` too (`{"$a": index}`), errors keep name, message, stack and
 * the `code`/`reasonCode`/`source`/`layer`/`cause` fields (`{"$e": ...}`),
 * `undefined` stays `undefined` (`{"$u": 0}`; properties whose value is
 * undefined are kept). Functions are dropped. Keys `$b`, `$a`, `$e`, `$u`
 * alone in an object are reserved.
 */
export function encodeValue(value: unknown): Uint8Array {
  const attachments: Uint8Array[] = [];
  const attach = (view: Uint8Array): number => {
    for (let i = 0; i < attachments.length; i++) {
      const a = attachments[i];
      if (a.buffer === view.buffer && a.byteOffset === view.byteOffset && a.byteLength === view.byteLength) return i;
    }
    attachments.push(view);
    return attachments.length - 1;
  };
  const json = JSON.stringify({ v: value }, function (this: Record<string, unknown>, key: string, replaced: unknown) {
    // `replaced` went through toJSON (a Buffer's gives {type, data}); the holder still has the original.
    const original = this[key];
    if (original === undefined) return { $u: 0 };
    if (original instanceof ArrayBuffer) return { $a: attach(new Uint8Array(original)) };
    if (ArrayBuffer.isView(original)) {
      return { $b: attach(new Uint8Array(original.buffer, original.byteOffset, original.byteLength)) };
    }
    if (original instanceof Error) return { $e: errorFields(original) };
    return replaced;
  });
  const head = utf8(json);
  let size = 8 + head.byteLength;
  for (const a of attachments) size += 4 + a.byteLength;
  const out = new Uint8Array(size);
  putU32(out, 0, head.byteLength);
  out.set(head, 4);
  let offset = 4 + head.byteLength;
  putU32(out, offset, attachments.length);
  offset += 4;
  for (const a of attachments) {
    putU32(out, offset, a.byteLength);
    out.set(a, offset + 4);
    offset += 4 + a.byteLength;
  }
  return out;
}

/** Options of {@link decodeValue}. */
export interface DecodeOptions {
  /** Turns an attachment (a view into the encoded bytes) into the value handed out. Default: the view itself. */
  bytes?: (view: Uint8Array) => unknown;
  /** Builds an error from its fields. Default: an `Error` (or `TypeError`/`RangeError`) with the fields copied. */
  error?: (fields: ErrorFields) => unknown;
}

/** Default error revival: the built-in class by name, the extra fields copied. */
export function reviveError(fields: ErrorFields): Error {
  const Class = fields.name === "TypeError" ? TypeError : fields.name === "RangeError" ? RangeError : Error;
  const error = new Class(fields.message) as Error & Record<string, unknown>;
  if (fields.name !== error.name) error.name = fields.name;
  // XS's `stack` is an accessor without a setter: define an own property instead of assigning.
  if (fields.stack !== undefined) Object.defineProperty(error, "stack", { value: fields.stack, writable: true, configurable: true });
  if (fields.code !== undefined) error.code = fields.code;
  if (fields.reasonCode !== undefined) error.reasonCode = fields.reasonCode;
  if (fields.source !== undefined) error.source = fields.source;
  if (fields.layer !== undefined) error.layer = fields.layer;
  if (fields.cause !== undefined) error.cause = fields.cause;
  return error;
}

/** Decodes what {@link encodeValue} made, from `bytes[offset..end)`. Throws `RangeError` on malformed input. */
export function decodeValue(bytes: Uint8Array, offset: number, end: number, options: DecodeOptions = {}): unknown {
  if (end - offset < 8) throw new RangeError("encoded value: truncated header");
  const jsonLength = getU32(bytes, offset);
  const jsonEnd = offset + 4 + jsonLength;
  if (jsonEnd + 4 > end) throw new RangeError("encoded value: truncated JSON");
  const count = getU32(bytes, jsonEnd);
  const views: Uint8Array[] = [];
  let at = jsonEnd + 4;
  for (let i = 0; i < count; i++) {
    if (at + 4 > end) throw new RangeError("encoded value: truncated attachment table");
    const length = getU32(bytes, at);
    if (at + 4 + length > end) throw new RangeError("encoded value: truncated attachment");
    views.push(bytes.subarray(at + 4, at + 4 + length));
    at += 4 + length;
  }
  const toBytes = options.bytes;
  const toError = options.error ?? reviveError;
  const UNDEFINED = views; // a unique marker, replaced below
  const parsed = JSON.parse(text(bytes.subarray(offset + 4, jsonEnd)), (key: string, value: unknown) => {
    if (value === null || typeof value !== "object" || Array.isArray(value)) return value;
    const o = value as Record<string, unknown>;
    const keys = Object.keys(o);
    if (keys.length !== 1) return value;
    const k = keys[0];
    if (k === "$u") return UNDEFINED;
    if (k === "$b" || k === "$a") {
      const view = views[o[k] as number];
      if (view === undefined) throw new RangeError("encoded value: bad attachment index");
      if (k === "$a") return view.slice().buffer;
      return toBytes === undefined ? view : toBytes(view);
    }
    if (k === "$e") return toError(restoreUndefined(o.$e, UNDEFINED) as ErrorFields);
    return value;
  }) as { v: unknown };
  return restoreUndefined(parsed.v, UNDEFINED);
}

/** JSON.parse's reviver cannot produce `undefined` (it deletes the key), so a marker is swapped back here. */
function restoreUndefined(value: unknown, marker: unknown): unknown {
  if (value === marker) return undefined;
  if (value === null || typeof value !== "object" || ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = restoreUndefined(value[i], marker);
    return value;
  }
  if (value instanceof Error) return value;
  const o = value as Record<string, unknown>;
  for (const key of Object.keys(o)) o[key] = restoreUndefined(o[key], marker);
  return value;
}

/** A `[op u8][length u32][body]` record of `bodyLength` bytes, head filled in; the caller fills the body from offset 5. */
export function record(op: number, bodyLength: number): Uint8Array {
  const out = new Uint8Array(RECORD_HEAD + bodyLength);
  out[0] = op;
  putU32(out, 1, bodyLength);
  return out;
}

/** Concatenates byte arrays into one fresh ArrayBuffer-backed array, optionally after `headerBytes` zero bytes. */
export function concat(parts: Uint8Array[], headerBytes = 0): Uint8Array {
  let size = headerBytes;
  for (const p of parts) size += p.byteLength;
  const out = new Uint8Array(size);
  let offset = headerBytes;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.byteLength;
  }
  return out;
}
