/**
 * `globalThis.handleCommand(buffer)` of the XS test host: takes one batch
 * of host events (see `wire.ts` for the layout), hands each to its socket,
 * timer or RPC method, and returns the batch result: RPC returns, faults,
 * and the sockets' unread byte counts.
 *
 * Each record is handled in its own `try`: an exception thrown by a
 * callback (a socket callback, a timer callback, an RPC method) becomes a
 * `Fault` record with the exception's name, message and stack, and the
 * following records are still delivered. The host reports faults loudly
 * (see `XsHost` "fault"); nothing thrown in XS is swallowed here.
 * Exceptions in promise jobs escape this function: the worker prints them
 * ("Unhandled exception ...") on stderr, which the host also reports.
 */
import { setHostTime } from "./bridge";
import { invoke, send } from "./rpc";
import { TCP } from "./tcp";
import { fireTimer } from "./timer";
import { BATCH_HEADER, HostOp, RECORD_HEAD, ResultOp, concat, decodeValue, encodeValue, getF64, getU32, putU32, record } from "./wire";
import type { SocketError } from "../../../modules/io/tcp-types";

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === "object" || typeof value === "function") && typeof (value as { then?: unknown }).then === "function";
}

function socketError(fields: { name?: string; message?: string; code?: string; layer?: string }): SocketError {
  const error = new Error(fields.message ?? "connection failed") as SocketError;
  error.name = "SocketError";
  if (fields.code !== undefined) error.code = fields.code;
  if (fields.layer === "dns" || fields.layer === "tcp" || fields.layer === "tls") error.layer = fields.layer;
  return error;
}

function returnRecord(call: number, ok: boolean, value: unknown): Uint8Array {
  let encoded: Uint8Array;
  try {
    encoded = encodeValue(value);
  } catch (error) {
    ok = false;
    encoded = encodeValue(error);
  }
  const out = record(ResultOp.Return, 5 + encoded.byteLength);
  putU32(out, RECORD_HEAD, call);
  out[RECORD_HEAD + 4] = ok ? 1 : 0;
  out.set(encoded, RECORD_HEAD + 5);
  return out;
}

function faultRecord(op: number, error: unknown): Uint8Array {
  const encoded = encodeValue(error instanceof Error ? error : new Error(`non-Error thrown: ${String(error)}`));
  const out = record(ResultOp.Fault, 1 + encoded.byteLength);
  out[RECORD_HEAD] = op;
  out.set(encoded, RECORD_HEAD + 1);
  return out;
}

function call(id: number, bytes: Uint8Array, start: number, end: number, results: Uint8Array[]): void {
  let value: unknown;
  try {
    const request = decodeValue(bytes, start, end) as { m: string; a: unknown[] };
    value = invoke(request.m, request.a ?? []);
  } catch (error) {
    results.push(returnRecord(id, false, error));
    return;
  }
  if (!isThenable(value)) {
    results.push(returnRecord(id, true, value));
    return;
  }
  value.then(
    (v) => send({ k: "return", id, ok: true, v }),
    (e) => send({ k: "return", id, ok: false, v: e }),
  );
  // The reply comes later as an Emit record; 2 tells the host to wait for it.
  const pending = record(ResultOp.Return, 5);
  putU32(pending, RECORD_HEAD, id);
  pending[RECORD_HEAD + 4] = 2;
  results.push(pending);
}

/** Handles one batch; see the module comment. Never throws for a well-formed batch. */
export function handleCommand(buffer: ArrayBuffer): ArrayBuffer {
  const bytes = new Uint8Array(buffer);
  const results: Uint8Array[] = [];
  if (bytes.length >= BATCH_HEADER) setHostTime(getF64(bytes, 0));
  let offset = BATCH_HEADER;
  while (offset + RECORD_HEAD <= bytes.length) {
    const op = bytes[offset];
    const start = offset + RECORD_HEAD;
    const end = start + getU32(bytes, offset + 1);
    offset = end;
    if (end > bytes.length) {
      results.push(faultRecord(op, new RangeError(`xsnap host: truncated record (op ${op})`)));
      break;
    }
    try {
      switch (op) {
        case HostOp.Readable:
          TCP.byId(getU32(bytes, start))?.receive(bytes.subarray(start + 4, end));
          break;
        case HostOp.Writable:
          TCP.byId(getU32(bytes, start))?.writable(getU32(bytes, start + 4));
          break;
        case HostOp.Error:
          TCP.byId(getU32(bytes, start))?.fail(socketError(decodeValue(bytes, start + 4, end) as object));
          break;
        case HostOp.Timer:
          fireTimer(getU32(bytes, start));
          break;
        case HostOp.Call:
          call(getU32(bytes, start), bytes, start + 4, end, results);
          break;
        default:
          throw new RangeError(`xsnap host: unknown host op ${op}`);
      }
    } catch (error) {
      results.push(faultRecord(op, error));
    }
  }
  TCP.takeBufferLevels((id, buffered) => {
    const out = record(ResultOp.Buffered, 8);
    putU32(out, RECORD_HEAD, id);
    putU32(out, RECORD_HEAD + 4, buffered);
    results.push(out);
  });
  return concat(results).buffer as ArrayBuffer;
}
