/**
 * Every rejection of the codec, by rule, with the expected error:
 * - the decoder throws MqttError (source "remote") with MalformedPacket
 *   0x81, ProtocolError 0x82, UnsupportedProtocolVersion 0x84 or
 *   PacketTooLarge 0x95, and the error sticks until reset();
 * - the encoder throws TypeError/RangeError naming the rule.
 * Byte sequences are hand-assembled from the spec sections cited in each
 * test name; every rejected packet differs from a valid one (checked in the
 * same test where it is not obvious) in the one field under test.
 */
import test from "tape";
import {
  Decoder,
  encode,
  encodeInto,
  encodedLength,
  decodeUtf8,
  encodeUtf8Into,
  utf8Length,
  readVbi,
  vbiLength,
  writeVbi,
  isReasonCodeAllowed,
  PacketType,
} from "../../modules/mqtt/codec/index";
import type { Packet, ProtocolVersion } from "../../modules/mqtt/codec/index";
import { ErrorCode, MqttError } from "../../modules/mqtt/errors";

const MALFORMED = ErrorCode.MalformedPacket;
const PROTOCOL = ErrorCode.ProtocolError;

/** "30 02 ab" -> bytes */
function hex(s: string): Uint8Array {
  const parts = s.split(/\s+/).filter((p) => p.length > 0);
  return new Uint8Array(parts.map((p) => parseInt(p, 16)));
}

function remote(code: number): (err: unknown) => boolean {
  return (err) => err instanceof MqttError && err.code === code && err.source === "remote";
}

function decodeOne(version: ProtocolVersion, bytes: Uint8Array): Packet | undefined {
  const d = new Decoder({ protocolVersion: version });
  d.push(bytes);
  return d.next();
}

/** Asserts that decoding `bytes` fails with `code` and that the message cites `rule` (when given). */
function rejects(t: test.Test, version: ProtocolVersion, bytes: string, code: number, rule: string, msg: string): void {
  let caught: unknown;
  try {
    decodeOne(version, hex(bytes));
  } catch (err) {
    caught = err;
  }
  const ok = caught instanceof MqttError && caught.code === code && caught.source === "remote" && caught.message.includes(rule);
  t.ok(ok, `${msg}: ${caught instanceof Error ? caught.message : "nothing thrown"}`);
}

function accepts(t: test.Test, version: ProtocolVersion, bytes: string, msg: string): void {
  t.doesNotThrow(() => {
    if (decodeOne(version, hex(bytes)) === undefined) throw new Error("no packet");
  }, msg);
}

function typeError(rule: string): (err: unknown) => boolean {
  return (err) => err instanceof TypeError && err.message.includes(rule);
}

function rangeError(rule: string): (err: unknown) => boolean {
  return (err) => err instanceof RangeError && err.message.includes(rule);
}

// ------------------------------------------------------------ fixed header

test("rejects reserved packet type 0 (MQTT 5.0 §2.1.2)", (t) => {
  rejects(t, 4, "00 00", MALFORMED, "type 0", "type 0");
  t.end();
});

test("rejects AUTH in MQTT 3.1.1, where type 15 is reserved (3.1.1 §2.2.1)", (t) => {
  rejects(t, 4, "f0 00", MALFORMED, "reserved in MQTT 3.1.1", "AUTH on 3.1.1");
  accepts(t, 5, "f0 00", "AUTH on 5.0");
  t.end();
});

test("rejects reserved fixed-header flag bits [MQTT-2.1.3-1]", (t) => {
  // PUBREL, SUBSCRIBE, UNSUBSCRIBE need 0010; every other type 0000
  rejects(t, 4, "60 02 00 01", MALFORMED, "[MQTT-2.1.3-1]", "PUBREL with flags 0000");
  rejects(t, 4, "63 02 00 01", MALFORMED, "[MQTT-2.1.3-1]", "PUBREL with flags 0011");
  rejects(t, 4, "80 06 00 01 00 01 61 00", MALFORMED, "[MQTT-2.1.3-1]", "SUBSCRIBE with flags 0000");
  rejects(t, 4, "a0 05 00 01 00 01 61", MALFORMED, "[MQTT-2.1.3-1]", "UNSUBSCRIBE with flags 0000");
  rejects(t, 4, "42 02 00 01", MALFORMED, "[MQTT-2.1.3-1]", "PUBACK with flags 0010");
  rejects(t, 4, "11 00", MALFORMED, "[MQTT-2.1.3-1]", "CONNECT with flags 0001");
  rejects(t, 4, "21 02 00 00", MALFORMED, "[MQTT-2.1.3-1]", "CONNACK with flags 0001");
  rejects(t, 4, "c8 00", MALFORMED, "[MQTT-2.1.3-1]", "PINGREQ with flags 1000");
  rejects(t, 4, "d1 00", MALFORMED, "[MQTT-2.1.3-1]", "PINGRESP with flags 0001");
  rejects(t, 5, "e4 00", MALFORMED, "[MQTT-2.1.3-1]", "DISCONNECT with flags 0100");
  rejects(t, 5, "f2 00", MALFORMED, "[MQTT-2.1.3-1]", "AUTH with flags 0010");
  accepts(t, 4, "62 02 00 01", "PUBREL with flags 0010");
  t.end();
});

test("rejects the first byte as soon as it arrives, without the rest of the packet", (t) => {
  const d = new Decoder();
  d.push(hex("60"));
  t.throws(() => d.next(), remote(MALFORMED), "PUBREL flags 0000 rejected from its first byte");
  t.end();
});

test("rejects PUBLISH with QoS 3 [MQTT-3.3.1-4]", (t) => {
  rejects(t, 4, "36 05 00 01 61 00 01", MALFORMED, "[MQTT-3.3.1-4]", "flags 0110");
  t.end();
});

test("rejects PUBLISH with DUP and QoS 0 [MQTT-3.3.1-2]", (t) => {
  rejects(t, 4, "38 03 00 01 61", MALFORMED, "[MQTT-3.3.1-2]", "flags 1000");
  accepts(t, 4, "3a 05 00 01 61 00 01", "DUP with QoS 1");
  t.end();
});

// -------------------------------------------------- variable byte integers

test("rejects a remaining length with a fifth byte (MQTT 5.0 §1.5.5)", (t) => {
  rejects(t, 4, "30 ff ff ff ff 01", MALFORMED, "longer than 4 bytes", "5-byte VBI");
  t.throws(() => readVbi(hex("80 80 80 80 01"), 0, 5), remote(MALFORMED), "readVbi on 5 bytes");
  t.throws(() => readVbi(hex("80 80 80 80"), 0, 4), remote(MALFORMED), "readVbi: continuation bit on the fourth byte is enough");
  t.end();
});

test("rejects a remaining length not in its shortest form [MQTT-1.5.5-1]", (t) => {
  rejects(t, 4, "c0 80 00", MALFORMED, "[MQTT-1.5.5-1]", "0 written as 80 00");
  rejects(t, 5, "30 82 80 00", MALFORMED, "[MQTT-1.5.5-1]", "2 written as 82 80 00");
  t.end();
});

test("variable byte integers: lengths, limits, incomplete input", (t) => {
  t.deepEqual([0, 127, 128, 16383, 16384, 2097151, 2097152, 268435455].map(vbiLength), [1, 1, 2, 2, 3, 3, 4, 4], "vbiLength at each boundary");
  t.throws(() => vbiLength(268435456), RangeError, "268,435,456 is out of range");
  t.throws(() => vbiLength(-1), RangeError, "negative");
  t.throws(() => vbiLength(1.5), RangeError, "not an integer");
  const b = new Uint8Array(4);
  t.equal(writeVbi(268435455, b, 0), 4, "writeVbi returns the next offset");
  t.deepEqual(Array.from(b), [0xff, 0xff, 0xff, 0x7f], "largest value");
  t.equal(readVbi(b, 0, 4), 268435455, "reads it back");
  t.equal(readVbi(hex("ac 02"), 0, 1), -1, "incomplete: -1 (need more bytes, not an error)");
  t.equal(readVbi(hex("ac 02"), 0, 2), 300, "300 = ac 02");
  t.throws(() => writeVbi(300, new Uint8Array(1), 0), RangeError, "writeVbi: does not fit");
  t.end();
});

// ------------------------------------------------------------ lengths

test("rejects a remaining length that is not consumed exactly", (t) => {
  rejects(t, 4, "40 03 00 01 00", MALFORMED, "left over", "3.1.1 PUBACK with 3 bytes");
  rejects(t, 4, "e0 01 00", MALFORMED, "left over", "3.1.1 DISCONNECT with a byte");
  rejects(t, 5, "c0 01 00", MALFORMED, "left over", "PINGREQ with a byte");
  rejects(t, 4, "20 03 00 00 00", MALFORMED, "left over", "3.1.1 CONNACK with 3 bytes");
  rejects(t, 4, "b0 03 00 01 00", MALFORMED, "left over", "3.1.1 UNSUBACK with a payload");
  rejects(t, 4, "10 0f 00 04 4d 51 54 54 04 02 00 3c 00 02 63 31 ff", MALFORMED, "left over", "CONNECT with a trailing byte");
  rejects(t, 5, "40 05 00 01 00 00 00", MALFORMED, "left over", "5.0 PUBACK with a byte after the properties");
  t.end();
});

test("rejects a field that overruns the remaining length", (t) => {
  rejects(t, 4, "30 03 00 05 61", MALFORMED, "overruns", "topic length 5 in a 3-byte body");
  rejects(t, 4, "32 03 00 01 61", MALFORMED, "overruns", "QoS 1 without room for the packet id");
  rejects(t, 4, "40 01 00", MALFORMED, "overruns", "PUBACK with one byte of packet id");
  rejects(t, 4, "20 01 00", MALFORMED, "overruns", "CONNACK without return code");
  t.end();
});

// ------------------------------------------------------------ properties

test("rejects a property length that overruns the remaining length (MQTT 5.0 §2.2.2.1)", (t) => {
  rejects(t, 5, "40 05 00 01 00 05 1f", MALFORMED, "property length", "property length 5, 1 byte left");
  rejects(t, 5, "30 04 00 01 61 80", MALFORMED, "property length", "property length VBI cut off");
  t.end();
});

test("rejects a property value that overruns the property length (MQTT 5.0 §2.2.2.1)", (t) => {
  // property length 2 holds the topic alias identifier and one byte of its two
  rejects(t, 5, "30 07 00 01 61 02 23 00 03", MALFORMED, "overruns the property length", "topic alias cut by the property length");
  rejects(t, 5, "30 07 00 01 61 02 26 00 01", MALFORMED, "overruns the property length", "user property cut");
  t.end();
});

test("rejects an unknown property identifier (MQTT 5.0 §2.2.2.2)", (t) => {
  rejects(t, 5, "30 06 00 01 61 02 04 00", MALFORMED, "unknown property", "identifier 0x04");
  rejects(t, 5, "30 06 00 01 61 02 00 00", MALFORMED, "unknown property", "identifier 0x00");
  rejects(t, 5, "30 06 00 01 61 02 2b 00", MALFORMED, "unknown property", "identifier 0x2b");
  t.end();
});

test("rejects a property not allowed in its packet (MQTT 5.0 §2.2.2.2)", (t) => {
  rejects(t, 5, "30 07 00 01 61 03 21 00 05", MALFORMED, "not allowed in PUBLISH", "receive maximum in PUBLISH");
  rejects(t, 5, "40 06 00 01 00 02 01 01", MALFORMED, "not allowed in PUBACK", "payload format indicator in PUBACK");
  rejects(t, 5, "10 10 00 04 4d 51 54 54 05 02 00 00 03 23 00 01 00 00", MALFORMED, "not allowed in CONNECT", "topic alias in CONNECT");
  rejects(t, 5, "10 12 00 04 4d 51 54 54 05 02 00 00 05 18 00 00 00 01 00 00", MALFORMED, "not allowed in CONNECT", "will delay interval in CONNECT properties");
  rejects(
    t,
    5,
    "10 18 00 04 4d 51 54 54 05 06 00 00 00 00 00 05 11 00 00 00 01 00 01 77 00 00",
    MALFORMED,
    "not allowed in Will Properties",
    "session expiry interval in will properties",
  );
  rejects(t, 5, "e0 05 00 03 23 00 01", MALFORMED, "not allowed in DISCONNECT", "topic alias in DISCONNECT");
  accepts(t, 5, "10 18 00 04 4d 51 54 54 05 06 00 00 00 00 00 05 18 00 00 00 01 00 01 77 00 00", "will delay interval in will properties");
  t.end();
});

test("rejects a duplicate property, except User Property and Subscription Identifier in PUBLISH (MQTT 5.0 §2.2.2.2)", (t) => {
  rejects(t, 5, "30 0a 00 01 61 06 23 00 01 23 00 02", PROTOCOL, "more than once", "two topic aliases");
  rejects(t, 5, "20 09 00 00 06 21 00 05 21 00 06", PROTOCOL, "more than once", "two receive maximums in CONNACK");
  rejects(t, 5, "40 0c 00 01 00 08 1f 00 01 61 1f 00 01 62", PROTOCOL, "more than once", "two reason strings in PUBACK");
  rejects(t, 5, "82 0b 00 01 04 0b 01 0b 02 00 01 61 00", PROTOCOL, "more than once", "two subscription identifiers in SUBSCRIBE");
  const p = decodeOne(5, hex("30 12 00 01 61 0e 26 00 01 6b 00 01 76 26 00 01 6b 00 01 77"));
  t.deepEqual(
    (p as { properties?: unknown }).properties,
    { userProperties: [["k", "v"], ["k", "w"]] },
    "user property may repeat, even with the same name, in wire order",
  );
  t.end();
});

test("rejects property values outside their range (MQTT 5.0 §3.1.2.11, §3.2.2.3, §3.3.2.3)", (t) => {
  rejects(t, 5, "30 06 00 01 61 02 01 02", PROTOCOL, "0 or 1", "payload format indicator 2");
  rejects(t, 5, "20 06 00 00 03 21 00 00", PROTOCOL, "must not be 0", "receive maximum 0");
  rejects(t, 5, "20 08 00 00 05 27 00 00 00 00", PROTOCOL, "must not be 0", "maximum packet size 0");
  rejects(t, 5, "20 05 00 00 02 24 02", PROTOCOL, "0 or 1", "maximum QoS 2");
  rejects(t, 5, "30 07 00 01 61 03 23 00 00", PROTOCOL, "must not be 0", "topic alias 0");
  rejects(t, 5, "82 09 00 01 02 0b 00 00 01 61 00", PROTOCOL, "must not be 0", "subscription identifier 0");
  t.end();
});

// ------------------------------------------------------------ packet ids, topics

test("rejects packet identifier 0 where one is required [MQTT-2.3.1-1]", (t) => {
  rejects(t, 4, "32 05 00 01 61 00 00", PROTOCOL, "[MQTT-2.3.1-1]", "PUBLISH QoS 1");
  rejects(t, 4, "34 05 00 01 61 00 00", PROTOCOL, "[MQTT-2.3.1-1]", "PUBLISH QoS 2");
  rejects(t, 4, "40 02 00 00", PROTOCOL, "[MQTT-2.3.1-1]", "PUBACK");
  rejects(t, 5, "50 02 00 00", PROTOCOL, "[MQTT-2.3.1-1]", "PUBREC");
  rejects(t, 4, "62 02 00 00", PROTOCOL, "[MQTT-2.3.1-1]", "PUBREL");
  rejects(t, 4, "70 02 00 00", PROTOCOL, "[MQTT-2.3.1-1]", "PUBCOMP");
  rejects(t, 4, "82 06 00 00 00 01 61 00", PROTOCOL, "[MQTT-2.3.1-1]", "SUBSCRIBE");
  rejects(t, 4, "90 03 00 00 00", PROTOCOL, "[MQTT-2.3.1-1]", "SUBACK");
  rejects(t, 4, "a2 05 00 00 00 01 61", PROTOCOL, "[MQTT-2.3.1-1]", "UNSUBSCRIBE");
  rejects(t, 4, "b0 02 00 00", PROTOCOL, "[MQTT-2.3.1-1]", "UNSUBACK");
  t.end();
});

test("rejects wildcards in a PUBLISH topic name [MQTT-3.3.2-2]", (t) => {
  rejects(t, 4, "30 05 00 03 61 2f 2b", PROTOCOL, "[MQTT-3.3.2-2]", '"a/+"');
  rejects(t, 5, "30 04 00 01 23 00", PROTOCOL, "[MQTT-3.3.2-2]", '"#"');
  rejects(t, 4, "10 16 00 04 4d 51 54 54 04 06 00 3c 00 02 63 31 00 03 61 2f 23 00 01 78", PROTOCOL, "[MQTT-3.3.2-2]", "will topic");
  accepts(t, 4, "30 05 00 03 61 2f 62", '"a/b"');
  t.end();
});

test("rejects an empty topic name [MQTT-4.7.3-1], in 5.0 unless a topic alias is given", (t) => {
  rejects(t, 4, "30 02 00 00", PROTOCOL, "[MQTT-4.7.3-1]", "3.1.1");
  rejects(t, 5, "30 03 00 00 00", PROTOCOL, "no Topic Alias", "5.0 without topic alias");
  accepts(t, 5, "30 06 00 00 03 23 00 01", "5.0 with topic alias");
  rejects(t, 4, "82 05 00 01 00 00 00", PROTOCOL, "[MQTT-4.7.3-1]", "empty topic filter in SUBSCRIBE");
  rejects(t, 4, "a2 04 00 01 00 00", PROTOCOL, "[MQTT-4.7.3-1]", "empty topic filter in UNSUBSCRIBE");
  t.end();
});

// ------------------------------------------------------------ SUBSCRIBE family

test("rejects SUBSCRIBE without subscriptions [MQTT-3.8.3-3] and UNSUBSCRIBE without filters [MQTT-3.10.3-2]", (t) => {
  rejects(t, 4, "82 02 00 01", PROTOCOL, "[MQTT-3.8.3-3]", "3.1.1 SUBSCRIBE");
  rejects(t, 5, "82 03 00 01 00", PROTOCOL, "[MQTT-3.8.3-3]", "5.0 SUBSCRIBE");
  rejects(t, 4, "a2 02 00 01", PROTOCOL, "[MQTT-3.10.3-2]", "3.1.1 UNSUBSCRIBE");
  rejects(t, 5, "a2 03 00 01 00", PROTOCOL, "[MQTT-3.10.3-2]", "5.0 UNSUBSCRIBE");
  t.end();
});

test("rejects reserved subscription option bits ([MQTT-3.8.3-4] 3.1.1, [MQTT-3.8.3-5] 5.0)", (t) => {
  rejects(t, 4, "82 06 00 01 00 01 61 04", MALFORMED, "[MQTT-3.8.3-4]", "3.1.1 bit 2");
  rejects(t, 4, "82 06 00 01 00 01 61 03", MALFORMED, "[MQTT-3.8.3-4]", "3.1.1 QoS 3");
  rejects(t, 5, "82 07 00 01 00 00 01 61 40", MALFORMED, "[MQTT-3.8.3-5]", "5.0 bit 6");
  rejects(t, 5, "82 07 00 01 00 00 01 61 80", MALFORMED, "[MQTT-3.8.3-5]", "5.0 bit 7");
  accepts(t, 5, "82 07 00 01 00 00 01 61 2e", "5.0 bits 0-5: QoS 2, no local, retain as published, retain handling 2");
  t.end();
});

test("rejects 5.0 subscription QoS 3, Retain Handling 3 and No Local on a shared subscription (MQTT 5.0 §3.8.3.1)", (t) => {
  rejects(t, 5, "82 07 00 01 00 00 01 61 03", PROTOCOL, "QoS 3", "QoS 3");
  rejects(t, 5, "82 07 00 01 00 00 01 61 30", PROTOCOL, "Retain Handling 3", "retain handling 3");
  rejects(t, 5, "82 10 00 01 00 00 0a 24 73 68 61 72 65 2f 67 2f 61 04", PROTOCOL, "[MQTT-3.8.3-4]", "no local on $share/g/a");
  accepts(t, 5, "82 07 00 01 00 00 01 61 04", "no local on a plain filter");
  t.end();
});

test("rejects SUBACK and UNSUBACK without reason codes (MQTT 5.0 §3.9.3, §3.11.3)", (t) => {
  rejects(t, 4, "90 02 00 01", PROTOCOL, "without reason codes", "3.1.1 SUBACK");
  rejects(t, 5, "90 03 00 01 00", PROTOCOL, "without reason codes", "5.0 SUBACK");
  rejects(t, 5, "b0 03 00 01 00", PROTOCOL, "without reason codes", "5.0 UNSUBACK");
  t.end();
});

// ------------------------------------------------------------ reason codes

test("rejects reason codes not defined for the packet (MQTT 5.0 §2.4, MQTT 3.1.1 §3.2.2.3, §3.9.3)", (t) => {
  rejects(t, 5, "40 03 00 01 92", MALFORMED, "not valid in PUBACK", "PUBACK 0x92");
  rejects(t, 5, "50 03 00 01 92", MALFORMED, "not valid in PUBREC", "PUBREC 0x92");
  rejects(t, 5, "62 03 00 01 10", MALFORMED, "not valid in PUBREL", "PUBREL 0x10");
  rejects(t, 5, "70 03 00 01 80", MALFORMED, "not valid in PUBCOMP", "PUBCOMP 0x80");
  rejects(t, 5, "20 03 00 04 00", MALFORMED, "not valid in CONNACK", "CONNACK 0x04");
  rejects(t, 5, "e0 01 84", MALFORMED, "not valid in DISCONNECT", "DISCONNECT 0x84");
  rejects(t, 5, "e0 01 a3", MALFORMED, "not valid in DISCONNECT", "DISCONNECT 0xa3 (undefined)");
  rejects(t, 5, "f0 01 80", MALFORMED, "not valid in AUTH", "AUTH 0x80");
  rejects(t, 5, "90 04 00 01 00 11", MALFORMED, "not valid in SUBACK", "SUBACK 0x11");
  rejects(t, 5, "b0 04 00 01 00 01", MALFORMED, "not valid in UNSUBACK", "UNSUBACK 0x01");
  rejects(t, 4, "90 03 00 01 03", MALFORMED, "not valid in SUBACK", "3.1.1 SUBACK 0x03");
  rejects(t, 4, "20 02 00 06", MALFORMED, "reserved", "3.1.1 CONNACK return code 6");
  accepts(t, 5, "40 03 00 01 10", "PUBACK 0x10");
  t.ok(isReasonCodeAllowed(PacketType.DISCONNECT, 0x8e) && !isReasonCodeAllowed(PacketType.CONNACK, 0x8e), "table: 0x8E only in DISCONNECT");
  t.end();
});

// ------------------------------------------------------------ CONNECT / CONNACK

const CONNECT_V4 = "10 0e 00 04 4d 51 54 54 04 02 00 3c 00 02 63 31";

test("rejects a CONNECT whose protocol name is not MQTT [MQTT-3.1.2-1] or level not 4/5 [MQTT-3.1.2-2]", (t) => {
  accepts(t, 4, CONNECT_V4, "baseline");
  const unsupported = ErrorCode.UnsupportedProtocolVersion;
  rejects(t, 4, "10 10 00 06 4d 51 49 73 64 70 03 02 00 3c 00 02 63 31", unsupported, "[MQTT-3.1.2-1]", "MQTT 3.1 (MQIsdp)");
  rejects(t, 4, "10 0e 00 04 4d 51 54 58 04 02 00 3c 00 02 63 31", unsupported, "[MQTT-3.1.2-1]", 'name "MQTX"');
  rejects(t, 4, "10 0e 00 04 4d 51 54 54 03 02 00 3c 00 02 63 31", unsupported, "[MQTT-3.1.2-2]", "level 3");
  rejects(t, 5, "10 0e 00 04 4d 51 54 54 06 02 00 3c 00 02 63 31", unsupported, "[MQTT-3.1.2-2]", "level 6");
  t.end();
});

test("rejects CONNECT flag violations [MQTT-3.1.2-3] [MQTT-3.1.2-13..15] [MQTT-3.1.2-22]", (t) => {
  rejects(t, 4, "10 0e 00 04 4d 51 54 54 04 03 00 3c 00 02 63 31", MALFORMED, "[MQTT-3.1.2-3]", "reserved flag");
  rejects(t, 4, "10 0e 00 04 4d 51 54 54 04 0a 00 3c 00 02 63 31", MALFORMED, "[MQTT-3.1.2-13]", "will QoS 1 without will flag");
  rejects(t, 4, "10 0e 00 04 4d 51 54 54 04 22 00 3c 00 02 63 31", MALFORMED, "[MQTT-3.1.2-15]", "will retain without will flag");
  rejects(t, 5, "10 0e 00 04 4d 51 54 54 05 1e 00 3c 00 02 63 31", MALFORMED, "[MQTT-3.1.2-14]", "will QoS 3");
  rejects(t, 4, "10 12 00 04 4d 51 54 54 04 42 00 3c 00 02 63 31 00 02 70 77", MALFORMED, "[MQTT-3.1.2-22]", "3.1.1 password without user name");
  accepts(t, 5, "10 13 00 04 4d 51 54 54 05 42 00 3c 00 00 02 63 31 00 02 70 77", "5.0 allows a password without user name");
  t.end();
});

test("rejects CONNACK reserved flags [MQTT-3.2.2-1] and Session Present with a refusal [MQTT-3.2.2-4]", (t) => {
  rejects(t, 4, "20 02 02 00", MALFORMED, "[MQTT-3.2.2-1]", "flag bit 1");
  rejects(t, 4, "20 02 01 05", PROTOCOL, "[MQTT-3.2.2-4]", "3.1.1 session present + return code 5");
  rejects(t, 5, "20 03 01 87 00", PROTOCOL, "[MQTT-3.2.2-4]", "5.0 session present + 0x87");
  rejects(t, 5, "20 02 00 00", MALFORMED, "property length", "5.0 success without property length");
  t.end();
});

// ------------------------------------------------------------ packet size

test("rejects a packet larger than maximumPacketSize with PacketTooLarge before its body arrives", (t) => {
  const d = new Decoder({ maximumPacketSize: 64 });
  d.push(hex("30 3f")); // fixed header only: 2 + 63 = 65 bytes
  t.throws(() => d.next(), remote(ErrorCode.PacketTooLarge), "65-byte packet refused from its 2-byte fixed header");

  const big = new Decoder(); // default 16384
  big.push(hex("30 ff ff ff 7f")); // remaining length 268,435,455
  t.throws(() => big.next(), remote(ErrorCode.PacketTooLarge), "256 MiB packet refused from its fixed header");

  const split = new Decoder({ maximumPacketSize: 64 });
  split.push(hex("30"));
  t.equal(split.next(), undefined, "first byte alone: waiting");
  split.push(hex("80"));
  t.equal(split.next(), undefined, "incomplete remaining length: waiting");
  split.push(hex("01"));
  t.throws(() => split.next(), remote(ErrorCode.PacketTooLarge), "remaining length 128 completed across pushes: refused");
  t.end();
});

test("accepts a packet of exactly maximumPacketSize bytes, whole or split", (t) => {
  const bytes = new Uint8Array(64);
  bytes.set(hex("30 3e 00 01 61"), 0); // 2 + 62 = 64 bytes; topic "a", payload 59 bytes
  const whole = new Decoder({ maximumPacketSize: 64 });
  whole.push(bytes);
  const p = whole.next() as { payload: Uint8Array };
  t.equal(p.payload.length, 59, "whole");
  const split = new Decoder({ maximumPacketSize: 64 });
  split.push(bytes.subarray(0, 10));
  t.equal(split.next(), undefined, "first 10 bytes: waiting");
  split.push(bytes.subarray(10));
  t.equal((split.next() as { payload: Uint8Array }).payload.length, 59, "completed in the staging buffer");
  t.end();
});

// ------------------------------------------------------------ decoder state

test("errors stick until reset()", (t) => {
  const d = new Decoder();
  d.push(hex("36 00")); // QoS 3
  let first: unknown;
  try {
    d.next();
  } catch (err) {
    first = err;
  }
  t.ok(first instanceof MqttError && first.code === MALFORMED, "first failure");
  d.push(hex("c0 00"));
  let again: unknown;
  try {
    d.next();
  } catch (err) {
    again = err;
  }
  t.equal(again, first, "a valid PINGREQ after the failure: the same error again");
  d.reset();
  d.push(hex("c0 00"));
  t.deepEqual(d.next(), { type: 12 }, "after reset() the decoder works");
  t.end();
});

test("views stay valid until the next push(), also for a packet completed in the staging buffer", (t) => {
  const a = encode({ type: 3, topic: "a", payload: new Uint8Array([1, 2, 3, 4]), qos: 0, retain: false, dup: false }, 4);
  const b = encode({ type: 3, topic: "b", payload: new Uint8Array([5, 6]), qos: 0, retain: false, dup: false }, 4);
  const c = encode({ type: 3, topic: "c", payload: new Uint8Array([7]), qos: 0, retain: false, dup: false }, 4);
  const d = new Decoder();
  d.push(a.slice(0, 3));
  t.equal(d.next(), undefined, "first part of A");
  const middle = new Uint8Array([...a.slice(3), ...b, ...c.slice(0, 2)]);
  d.push(middle);
  const pa = d.next() as { payload: Uint8Array };
  const pb = d.next() as { payload: Uint8Array };
  t.equal(d.next(), undefined, "C incomplete");
  t.deepEqual(Array.from(pa.payload), [1, 2, 3, 4], "A (completed in the staging buffer) still intact after B and the tail of C");
  t.deepEqual(Array.from(pb.payload), [5, 6], "B (a view of the chunk) intact");
  d.push(c.slice(2));
  middle.fill(0); // the caller may reuse a chunk once the next push() has happened
  const pc = d.next() as { topic: string; payload: Uint8Array };
  t.equal(pc.topic, "c", "C completed from the tail copied at push()");
  t.deepEqual(Array.from(pc.payload), [7], "C payload");
  t.end();
});

test("push() before next() has drained the chunk is misuse (TypeError)", (t) => {
  const d = new Decoder();
  d.push(hex("c0 00 c0 00"));
  t.deepEqual(d.next(), { type: 12 }, "first PINGREQ");
  t.throws(() => d.push(hex("c0 00")), TypeError, "second PINGREQ still waiting");
  t.end();
});

test("Decoder options are checked (RangeError)", (t) => {
  t.throws(() => new Decoder({ maximumPacketSize: 1 }), RangeError, "maximumPacketSize 1");
  t.throws(() => new Decoder({ maximumPacketSize: 268435461 }), RangeError, "maximumPacketSize above 268,435,460");
  t.throws(() => new Decoder({ protocolVersion: 3 as ProtocolVersion }), RangeError, "protocolVersion 3");
  t.equal(new Decoder().maximumPacketSize, 16384, "default maximumPacketSize");
  t.end();
});

// ------------------------------------------------------------ UTF-8

const BAD_UTF8: Array<[string, string]> = [
  ["c0 80", "overlong U+0000"],
  ["c1 bf", "overlong U+007F"],
  ["e0 80 80", "overlong 3-byte"],
  ["e0 9f bf", "overlong U+07FF"],
  ["f0 80 80 80", "overlong 4-byte"],
  ["f0 8f bf bf", "overlong U+FFFF"],
  ["ed a0 80", "encoded surrogate U+D800"],
  ["ed bf bf", "encoded surrogate U+DFFF"],
  ["f4 90 80 80", "U+110000, above U+10FFFF"],
  ["f5 80 80 80", "lead byte F5"],
  ["ff", "byte FF"],
  ["80", "stray continuation byte"],
  ["61 e2 82", "truncated 3-byte sequence at the end"],
  ["e2 28 a1", "bad continuation byte"],
  ["00", "U+0000 [MQTT-1.5.4-2]"],
  ["61 00 62", "U+0000 inside"],
];

test("rejects ill-formed UTF-8 and U+0000 when decoding [MQTT-1.5.4-1] [MQTT-1.5.4-2]", (t) => {
  for (const [bytes, what] of BAD_UTF8) {
    const b = hex(bytes);
    t.throws(() => decodeUtf8(b, 0, b.length), remote(MALFORMED), what);
  }
  // the same checks apply inside packets: a topic, a user property
  rejects(t, 4, "30 04 00 02 c0 80", MALFORMED, "[MQTT-1.5.4-1]", "overlong NUL in a PUBLISH topic");
  rejects(t, 4, "30 05 00 03 61 00 62", MALFORMED, "[MQTT-1.5.4-2]", "U+0000 in a PUBLISH topic");
  rejects(t, 5, "30 0b 00 01 61 07 26 00 01 6b 00 01 ff", MALFORMED, "UTF-8", "byte FF in a user property value");
  t.end();
});

test("decodes well-formed UTF-8 at the edges, keeping a BOM [MQTT-1.5.4-3]", (t) => {
  const cases: Array<[string, string, string]> = [
    ["c2 80", "\u0080", "U+0080"],
    ["ed 9f bf", "\ud7ff", "U+D7FF, last before the surrogates"],
    ["ee 80 80", "\ue000", "U+E000, first after the surrogates"],
    ["ef bf bf", "\uffff", "U+FFFF"],
    ["f0 90 80 80", "\ud800\udc00", "U+10000"],
    ["f4 8f bf bf", "\udbff\udfff", "U+10FFFF"],
    ["ef bb bf 61", "\ufeffa", "BOM kept, not stripped"],
  ];
  for (const [bytes, expected, what] of cases) {
    const b = hex(bytes);
    t.equal(decodeUtf8(b, 0, b.length), expected, `${bytes}: ${what}`);
  }
  t.end();
});

test("UTF-8 round trips for long and mixed strings (slices and chunks at their boundaries)", (t) => {
  const strings = [
    "x".repeat(1000), // ASCII, several 64-byte decode chunks and 256-unit encode slices
    "a".repeat(63) + "\u00e9" + "b", // a 2-byte character across the first 64-byte chunk boundary
    "x".repeat(255) + "\ud83d\ude00" + "\u00e9".repeat(300), // a surrogate pair starting on the last unit of a slice
    "\ud83d\ude00".repeat(100), // pairs across 64-unit string parts
    "\u20ac".repeat(70),
  ];
  for (const s of strings) {
    const n = utf8Length(s);
    const b = new Uint8Array(n);
    t.equal(encodeUtf8Into(s, b, 0), n, `encode ${s.length} units into ${n} bytes`);
    t.equal(decodeUtf8(b, 0, n), s, `decode back ${s.length} units`);
  }
  t.equal(utf8Length("a\u00b0\u20ac\ud83d\ude00"), 10, "1 + 2 + 3 + 4 bytes");
  t.end();
});

test("rejects lone surrogates [MQTT-1.5.4-1] and U+0000 [MQTT-1.5.4-2] when encoding (TypeError)", (t) => {
  const bad: Array<[string, string, string]> = [
    ["\ud800", "[MQTT-1.5.4-1]", "lone high surrogate"],
    ["\udc00", "[MQTT-1.5.4-1]", "lone low surrogate"],
    ["\udc00\ud800", "[MQTT-1.5.4-1]", "reversed pair"],
    ["a\ud83d", "[MQTT-1.5.4-1]", "high surrogate at the end"],
    ["\u0000", "[MQTT-1.5.4-2]", "U+0000"],
  ];
  for (const [s, rule, what] of bad) {
    t.throws(() => utf8Length(s), typeError(rule), `utf8Length: ${what}`);
    t.throws(() => encodeUtf8Into(s, new Uint8Array(8), 0), typeError(rule), `encodeUtf8Into: ${what}`);
  }
  const lone = "x".repeat(300) + "\ud800" + "x";
  t.throws(() => utf8Length(lone), typeError("[MQTT-1.5.4-1]"), "lone surrogate in the second slice of a long string");
  t.throws(
    () => encode({ type: 3, topic: "a\u0000", payload: new Uint8Array(0), qos: 0, retain: false, dup: false }, 4),
    typeError("[MQTT-1.5.4-2]"),
    "in a topic",
  );
  t.throws(
    () => encode({ type: 14, reasonCode: 0, properties: { userProperties: [["k", "\udfff"]] } }, 5),
    typeError("[MQTT-1.5.4-1]"),
    "in a user property",
  );
  t.end();
});

test("rejects strings over 65,535 bytes (MQTT 5.0 §1.5.4) and a target too small (RangeError)", (t) => {
  const publish = (topic: string): Packet => ({ type: 3, topic, payload: new Uint8Array(0), qos: 0, retain: false, dup: false });
  t.equal(encodedLength(publish("a".repeat(65535)), 4), 1 + 3 + 2 + 65535, "65,535 bytes is allowed");
  t.throws(() => encodedLength(publish("a".repeat(65536)), 4), rangeError("65,535"), "65,536 ASCII bytes");
  t.throws(() => encodedLength(publish("\u00e9".repeat(32768)), 4), rangeError("65,535"), "32,768 two-byte characters");
  const target = new Uint8Array(3).fill(7);
  t.throws(() => encodeUtf8Into("abcd", target, 0), RangeError, "encodeUtf8Into: 4 bytes into 3");
  t.deepEqual(Array.from(target), [7, 7, 7], "nothing written");
  t.end();
});

// ------------------------------------------------------------ encoder

const PUB = { type: 3, topic: "a/b", payload: new Uint8Array(1), qos: 1, retain: false, dup: false, packetId: 1 } as const;

test("encoder rejects an invalid PUBLISH with the rule", (t) => {
  const e = (fields: Record<string, unknown>, v: ProtocolVersion = 4) => () => encode({ ...PUB, ...fields } as Packet, v);
  t.doesNotThrow(e({}), "baseline");
  t.throws(e({ topic: "" }), typeError("[MQTT-4.7.3-1]"), "empty topic in 3.1.1");
  t.throws(e({ topic: "" }, 5), typeError("topicAlias"), "empty topic in 5.0 without topic alias");
  t.doesNotThrow(e({ topic: "", properties: { topicAlias: 1 } }, 5), "empty topic in 5.0 with topic alias");
  t.throws(e({ topic: "a/+" }), typeError("[MQTT-3.3.2-2]"), "wildcard +");
  t.throws(e({ topic: "#" }), typeError("[MQTT-3.3.2-2]"), "wildcard #");
  t.throws(e({ qos: 3 }), rangeError("[MQTT-3.3.1-4]"), "QoS 3");
  t.throws(e({ qos: 0, dup: true }), typeError("[MQTT-3.3.1-2]"), "DUP with QoS 0");
  t.throws(e({ packetId: 0 }), rangeError("[MQTT-2.3.1-1]"), "packet id 0");
  t.throws(e({ packetId: 65536 }), rangeError("[MQTT-2.3.1-1]"), "packet id 65536");
  t.throws(e({ packetId: undefined }), rangeError("[MQTT-2.3.1-1]"), "no packet id at QoS 1");
  t.doesNotThrow(e({ qos: 0, packetId: undefined }), "no packet id at QoS 0");
  t.throws(e({ payload: "x" }), TypeError, "payload not a Uint8Array");
  t.end();
});

test("encoder rejects invalid SUBSCRIBE, UNSUBSCRIBE and acks with the rule", (t) => {
  const sub = { type: 8, packetId: 1, subscriptions: [{ topic: "a", qos: 0 }] } as Packet;
  t.doesNotThrow(() => encode(sub, 5), "baseline SUBSCRIBE");
  t.throws(() => encode({ type: 8, packetId: 1, subscriptions: [] }, 4), typeError("[MQTT-3.8.3-3]"), "no subscriptions");
  t.throws(() => encode({ type: 8, packetId: 1, subscriptions: [{ topic: "", qos: 0 }] }, 4), typeError("[MQTT-4.7.3-1]"), "empty filter");
  t.throws(() => encode({ type: 8, packetId: 0, subscriptions: [{ topic: "a", qos: 0 }] }, 4), rangeError("[MQTT-2.3.1-1]"), "packet id 0");
  t.throws(() => encode({ type: 8, packetId: 1, subscriptions: [{ topic: "a", qos: 3 as 0 }] }, 4), RangeError, "QoS 3");
  t.throws(
    () => encode({ type: 8, packetId: 1, subscriptions: [{ topic: "a", qos: 0, retainHandling: 3 as 0 }] }, 5),
    rangeError("retainHandling"),
    "retain handling 3",
  );
  t.throws(
    () => encode({ type: 8, packetId: 1, subscriptions: [{ topic: "$share/g/a", qos: 0, noLocal: true }] }, 5),
    typeError("[MQTT-3.8.3-4]"),
    "no local on a shared subscription",
  );
  t.throws(() => encode({ type: 10, packetId: 1, topics: [] }, 4), typeError("[MQTT-3.10.3-2]"), "UNSUBSCRIBE without filters");
  t.throws(() => encode({ type: 4, packetId: 0, reasonCode: 0 }, 4), rangeError("[MQTT-2.3.1-1]"), "PUBACK packet id 0");
  t.throws(() => encode({ type: 9, packetId: 1, reasonCodes: [] }, 4), TypeError, "SUBACK without codes");
  t.throws(() => encode({ type: 11, packetId: 1, reasonCodes: [] }, 5), TypeError, "5.0 UNSUBACK without codes");
  t.end();
});

test("encoder rejects reason codes not allowed for the packet (MQTT 5.0 §2.4)", (t) => {
  t.throws(() => encode({ type: 4, packetId: 1, reasonCode: 0x92 }, 5), rangeError("not valid in PUBACK"), "PUBACK 0x92");
  t.throws(() => encode({ type: 6, packetId: 1, reasonCode: 0x10 }, 5), rangeError("not valid in PUBREL"), "PUBREL 0x10");
  t.throws(() => encode({ type: 14, reasonCode: 0x84 }, 5), rangeError("not valid in DISCONNECT"), "DISCONNECT 0x84");
  t.throws(() => encode({ type: 15, reasonCode: 0x80 }, 5), rangeError("not valid in AUTH"), "AUTH 0x80");
  t.throws(() => encode({ type: 2, sessionPresent: false, reasonCode: 0x04 }, 5), rangeError("not valid in CONNACK"), "CONNACK 0x04");
  t.throws(() => encode({ type: 9, packetId: 1, reasonCodes: [0x11] }, 5), rangeError("not valid in SUBACK"), "SUBACK 0x11");
  t.throws(() => encode({ type: 9, packetId: 1, reasonCodes: [3] }, 4), rangeError("§3.9.3"), "3.1.1 SUBACK 3");
  t.throws(() => encode({ type: 2, sessionPresent: false, reasonCode: 6 }, 4), rangeError("§3.2.2.3"), "3.1.1 CONNACK 6");
  t.throws(() => encode({ type: 2, sessionPresent: true, reasonCode: 5 }, 4), typeError("[MQTT-3.2.2-4]"), "session present with a refusal");
  t.end();
});

test("encoder rejects CONNECT field violations with the rule", (t) => {
  const base = { type: 1, protocolVersion: 4, clientId: "c", clean: true, keepalive: 60 } as const;
  t.doesNotThrow(() => encode(base, 4), "baseline");
  t.throws(() => encode(base, 5), typeError("does not match"), "protocolVersion 4 encoded as 5");
  t.throws(() => encode({ ...base, password: new Uint8Array(1) }, 4), typeError("[MQTT-3.1.2-22]"), "3.1.1 password without user name");
  t.doesNotThrow(() => encode({ ...base, protocolVersion: 5, password: new Uint8Array(1) }, 5), "5.0 password without user name");
  t.throws(() => encode({ ...base, clientId: "", clean: false }, 4), typeError("[MQTT-3.1.3-7]"), "3.1.1 empty client id without clean session");
  t.throws(() => encode({ ...base, keepalive: 65536 }, 4), RangeError, "keep alive 65536");
  t.throws(
    () => encode({ ...base, will: { topic: "a/#", payload: new Uint8Array(0), qos: 0, retain: false } }, 4),
    typeError("[MQTT-3.3.2-2]"),
    "will topic with a wildcard",
  );
  t.end();
});

test("encoder rejects properties not allowed in the packet or out of range (MQTT 5.0 §2.2.2.2)", (t) => {
  const connect = { type: 1, protocolVersion: 5, clientId: "c", clean: true, keepalive: 0 } as const;
  t.throws(() => encode({ ...connect, properties: { topicAlias: 1 } }, 5), typeError("not allowed in CONNECT"), "topic alias in CONNECT");
  t.throws(
    () => encode({ ...connect, will: { topic: "w", payload: new Uint8Array(0), qos: 0, retain: false, properties: { sessionExpiryInterval: 1 } } }, 5),
    typeError("not allowed in Will Properties"),
    "session expiry in will properties",
  );
  t.throws(() => encode({ ...connect, properties: { receiveMaximum: 0 } }, 5), RangeError, "receive maximum 0");
  t.throws(() => encode({ ...connect, properties: { requestProblemInformation: 2 } }, 5), RangeError, "request problem information 2");
  t.throws(() => encode({ ...connect, properties: { sessionExpiryInterval: 2 ** 32 } }, 5), RangeError, "four byte integer overflow");
  t.throws(
    () => encode({ type: 8, packetId: 1, subscriptions: [{ topic: "a", qos: 0 }], properties: { subscriptionIdentifier: [1, 2] } }, 5),
    typeError("§3.3.2.3.8"),
    "two subscription identifiers in SUBSCRIBE",
  );
  t.throws(
    () => encode({ type: 8, packetId: 1, subscriptions: [{ topic: "a", qos: 0 }], properties: { subscriptionIdentifier: 268435456 } }, 5),
    RangeError,
    "subscription identifier above 268,435,455",
  );
  t.end();
});

test("encoder: AUTH only in 5.0, protocol version 4 or 5, known packet types, target room", (t) => {
  t.throws(() => encode({ type: 15, reasonCode: 0 }, 4), typeError("only in MQTT 5.0"), "AUTH in 3.1.1");
  t.throws(() => encode({ type: 12 }, 3 as ProtocolVersion), RangeError, "version 3");
  t.throws(() => encode({ type: 0 } as unknown as Packet, 4), typeError("unknown packet type"), "type 0");
  const target = new Uint8Array(6).fill(9);
  t.throws(() => encodeInto(PUB, 4, target, 0), RangeError, "10-byte PUBLISH into 6 bytes");
  t.deepEqual(Array.from(target), [9, 9, 9, 9, 9, 9], "nothing written");
  t.throws(() => encodeInto({ type: 12 }, 4, new Uint8Array(4), 3), RangeError, "2 bytes at offset 3 of 4");
  t.equal(encodeInto({ type: 12 }, 4, new Uint8Array(4), 2), 2, "2 bytes at offset 2 of 4");
  t.end();
});
