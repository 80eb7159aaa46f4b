/**
 * The XS test host's wire format (hosts/xsnap/xs/wire.ts), shared by the
 * Node side and the XS side: integer helpers, records, and the value codec
 * (JSON with binary attachments) that carries socket options, RPC
 * arguments, events and errors between the two. Runs on Node and inside XS
 * (the xsnap worker has TextEncoder/TextDecoder, which the codec uses).
 */
import test from "tape";
import {
  HostOp,
  RECORD_HEAD,
  concat,
  decodeValue,
  encodeValue,
  getF64,
  getU32,
  putF64,
  putU32,
  record,
} from "../../hosts/xsnap/xs/wire";

function roundTrip(value: unknown): unknown {
  const bytes = encodeValue(value);
  return decodeValue(bytes, 0, bytes.length);
}

test("u32 and f64 helpers are little-endian and cover the full range", (t) => {
  const b = new Uint8Array(12);
  putU32(b, 0, 0xffffffff);
  putU32(b, 4, 0x01020304);
  t.deepEqual(Array.from(b.subarray(0, 8)), [255, 255, 255, 255, 4, 3, 2, 1], "byte order");
  t.equal(getU32(b, 0), 0xffffffff, "2^32 - 1 reads back unsigned");
  t.equal(getU32(b, 4), 0x01020304, "mixed bytes");
  const f = new Uint8Array(9);
  putF64(f, 1, 1234.5678);
  t.equal(getF64(f, 1), 1234.5678, "float64 at an odd offset");
  t.end();
});

test("record() fills the op and body length; concat() leaves a zeroed header", (t) => {
  const r = record(HostOp.Timer, 4);
  putU32(r, RECORD_HEAD, 7);
  t.deepEqual(Array.from(r), [HostOp.Timer, 4, 0, 0, 0, 7, 0, 0, 0], "op, length 4, body");
  const all = concat([Uint8Array.of(1, 2), Uint8Array.of(3)], 2);
  t.deepEqual(Array.from(all), [0, 0, 1, 2, 3], "header then parts");
  t.end();
});

test("values round-trip: JSON, undefined in arrays and objects, bytes as attachments", (t) => {
  const payload = Uint8Array.of(0, 1, 254, 255);
  const value = {
    topic: "a/b",
    qos: 2,
    list: [1, undefined, "x"],
    missing: undefined,
    payload,
    nested: { same: payload, empty: new Uint8Array(0) },
    text: "héllo ✓",
  };
  const back = roundTrip(value) as typeof value;
  t.equal(back.topic, "a/b");
  t.equal(back.qos, 2);
  t.deepEqual(back.list, [1, undefined, "x"], "undefined kept in an array");
  t.ok("missing" in back && back.missing === undefined, "a property whose value is undefined is kept");
  t.ok(back.payload instanceof Uint8Array, "bytes come back as a Uint8Array");
  t.deepEqual(Array.from(back.payload), [0, 1, 254, 255], "every byte value");
  t.deepEqual(Array.from(back.nested.same), [0, 1, 254, 255], "the same view twice");
  t.equal(back.nested.empty.byteLength, 0, "an empty view");
  t.equal(back.text, "héllo ✓", "non-ASCII text");
  t.equal(roundTrip(undefined), undefined, "undefined at the top");
  t.equal(roundTrip("plain"), "plain", "a string at the top");
  t.end();
});

test("the same view is attached once; a sub-view of it is a separate attachment", (t) => {
  const base = Uint8Array.of(1, 2, 3, 4);
  const once = encodeValue([base, base]);
  const twice = encodeValue([base, base.subarray(1, 3)]);
  t.equal(getU32(once, 4 + getU32(once, 0)), 1, "one attachment for two references");
  t.equal(getU32(twice, 4 + getU32(twice, 0)), 2, "two attachments for two different ranges");
  const back = decodeValue(twice, 0, twice.length) as Uint8Array[];
  t.deepEqual(Array.from(back[1]), [2, 3], "the sub-view's bytes only");
  t.end();
});

test("errors keep class name, message and the MQTT/socket fields", (t) => {
  const e = new RangeError("port out of range") as RangeError & { code?: string; layer?: string };
  e.code = "EPORT";
  e.layer = "tcp";
  const back = roundTrip({ error: e }) as { error: Error & { code?: string; layer?: string } };
  t.ok(back.error instanceof RangeError, "RangeError class");
  t.equal(back.error.message, "port out of range");
  t.equal(back.error.code, "EPORT");
  t.equal(back.error.layer, "tcp");
  const mqtt = Object.assign(new Error("refused"), { name: "MqttError", code: 0x87, reasonCode: 5, source: "remote" });
  const revived = roundTrip(mqtt) as Error & { code?: number; reasonCode?: number; source?: string };
  t.deepEqual([revived.name, revived.code, revived.reasonCode, revived.source], ["MqttError", 0x87, 5, "remote"], "MqttError fields");
  const custom = encodeValue(mqtt);
  const rebuilt = decodeValue(custom, 0, custom.length, { error: (fields) => `${fields.name}/${fields.message}` });
  t.equal(rebuilt, "MqttError/refused", "a custom error reviver gets the fields");
  t.end();
});

test("decodeValue: the bytes option maps attachments; offsets delimit the value", (t) => {
  const encoded = encodeValue({ b: Uint8Array.of(9, 8) });
  const framed = concat([Uint8Array.of(0xaa, 0xbb), encoded, Uint8Array.of(0xcc)]);
  const back = decodeValue(framed, 2, 2 + encoded.length, { bytes: (view) => Array.from(view) }) as { b: number[] };
  t.deepEqual(back.b, [9, 8], "decoded from the middle of a frame, attachments mapped");
  t.end();
});

test("decodeValue rejects truncated input with RangeError", (t) => {
  const encoded = encodeValue({ payload: Uint8Array.of(1, 2, 3) });
  t.throws(() => decodeValue(encoded, 0, 4), RangeError, "header cut");
  t.throws(() => decodeValue(encoded, 0, 10), RangeError, "JSON cut");
  t.throws(() => decodeValue(encoded, 0, encoded.length - 1), RangeError, "attachment cut");
  t.doesNotThrow(() => decodeValue(encoded, 0, encoded.length), "the whole value decodes");
  t.end();
});
