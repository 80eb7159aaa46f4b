/**
 * Byte vectors for every MQTT 3.1.1 and 5.0 control packet, run four ways:
 * decode, encode, round trip, and fed in chunks (whole, one byte at a time,
 * split at every position, two packets in one chunk, a partial next packet
 * left buffered).
 *
 * Provenance of the bytes, per vector:
 * - "mqtt-packet": produced by npm mqtt-packet 9.0.2 `generate()` (with
 *   properties given in identifier order), then annotated by walking the
 *   bytes per the spec section named;
 * - "spec": assembled by hand from the section named, where mqtt-packet
 *   writes a longer form than the shortest one our encoder must produce
 *   (reason-only acks, DISCONNECT and AUTH, MQTT 5.0 §3.4.2.1, §3.14.2.1,
 *   §3.15.2.1).
 * Together the v5 vectors carry a property of every wire type: byte, two
 * and four byte integer, variable byte integer, UTF-8 string, binary data
 * and string pair.
 */
import test from "tape";
import { Decoder, encode, encodeInto, encodedLength } from "../../modules/mqtt/codec/index";
import type { Packet, ProtocolVersion } from "../../modules/mqtt/codec/index";

interface Vector {
  name: string;
  version: ProtocolVersion;
  /** The packet as the decoder returns it (and as the encoder takes it). */
  packet: Packet;
  bytes: number[];
}

function ascii(s: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) out.push(s.charCodeAt(i));
  return out;
}

function fill(n: number, byte: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(byte);
  return out;
}

const u8 = (...bytes: number[]) => new Uint8Array(bytes);

const V4: Vector[] = [
  {
    name: "CONNECT, minimal (mqtt-packet; MQTT 3.1.1 §3.1)",
    version: 4,
    packet: { type: 1, protocolVersion: 4, clientId: "c1", clean: true, keepalive: 60 },
    bytes: [
      0x10, // CONNECT, flags 0000
      0x0e, // remaining length 14
      0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, // protocol name "MQTT" (§3.1.2.1)
      0x04, // protocol level 4
      0x02, // connect flags: clean session
      0x00, 0x3c, // keep alive 60 s
      0x00, 0x02, 0x63, 0x31, // client id "c1"
    ],
  },
  {
    name: "CONNECT with will, user name and password (mqtt-packet; MQTT 3.1.1 §3.1.2.3, §3.1.3)",
    version: 4,
    packet: {
      type: 1,
      protocolVersion: 4,
      clientId: "node-7",
      clean: false,
      keepalive: 300,
      username: "user",
      password: u8(0x70, 0x77),
      will: { topic: "n/7/status", payload: u8(...ascii("offline")), qos: 1, retain: true },
    },
    bytes: [
      0x10, // CONNECT
      0x31, // remaining length 49
      0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, // "MQTT"
      0x04, // level 4
      0xec, // flags 1110 1100: user name, password, will retain, will QoS 1, will flag; clean 0
      0x01, 0x2c, // keep alive 300
      0x00, 0x06, ...ascii("node-7"), // client id
      0x00, 0x0a, ...ascii("n/7/status"), // will topic
      0x00, 0x07, ...ascii("offline"), // will payload (binary, 2-byte length)
      0x00, 0x04, ...ascii("user"), // user name
      0x00, 0x02, 0x70, 0x77, // password
    ],
  },
  {
    name: "CONNACK accepted, session present (mqtt-packet; MQTT 3.1.1 §3.2)",
    version: 4,
    packet: { type: 2, sessionPresent: true, reasonCode: 0 },
    bytes: [
      0x20, // CONNACK
      0x02, // remaining length 2
      0x01, // acknowledge flags: session present
      0x00, // return code 0 accepted
    ],
  },
  {
    name: "CONNACK refused, not authorized (mqtt-packet; MQTT 3.1.1 §3.2.2.3)",
    version: 4,
    packet: { type: 2, sessionPresent: false, reasonCode: 5 },
    bytes: [0x20, 0x02, 0x00 /* flags */, 0x05 /* return code 5 not authorized */],
  },
  {
    name: "PUBLISH QoS 0, retain (mqtt-packet; MQTT 3.1.1 §3.3)",
    version: 4,
    packet: { type: 3, topic: "a/b", payload: u8(0x68, 0x69), qos: 0, retain: true, dup: false },
    bytes: [
      0x31, // PUBLISH, flags 0001: retain
      0x07, // remaining length 7
      0x00, 0x03, 0x61, 0x2f, 0x62, // topic "a/b"
      0x68, 0x69, // payload "hi" (no packet id at QoS 0)
    ],
  },
  {
    name: "PUBLISH QoS 1, DUP (mqtt-packet; MQTT 3.1.1 §3.3.1)",
    version: 4,
    packet: { type: 3, topic: "a/b", payload: u8(1, 2, 3), qos: 1, retain: false, dup: true, packetId: 10 },
    bytes: [
      0x3a, // PUBLISH, flags 1010: DUP, QoS 1
      0x0a, // remaining length 10
      0x00, 0x03, 0x61, 0x2f, 0x62, // topic "a/b"
      0x00, 0x0a, // packet id 10
      0x01, 0x02, 0x03, // payload
    ],
  },
  {
    name: "PUBLISH QoS 2, packet id 65535, empty payload (mqtt-packet; MQTT 3.1.1 §3.3.3)",
    version: 4,
    packet: { type: 3, topic: "x", payload: u8(), qos: 2, retain: false, dup: false, packetId: 65535 },
    bytes: [
      0x34, // PUBLISH, flags 0100: QoS 2
      0x05, // remaining length 5
      0x00, 0x01, 0x78, // topic "x"
      0xff, 0xff, // packet id 65535
    ],
  },
  {
    name: "PUBLISH with a non-ASCII topic and a two-byte remaining length (mqtt-packet; MQTT 3.1.1 §1.5.3, §2.2.3)",
    version: 4,
    packet: { type: 3, topic: "temp/\u00b0C/\u20ac/\ud83d\ude00", payload: new Uint8Array(fill(200, 0x2a)), qos: 0, retain: false, dup: false },
    bytes: [
      0x30, // PUBLISH, QoS 0
      0xdb, 0x01, // remaining length 0x5b + 1*128 = 219
      0x00, 0x11, // topic length 17 bytes
      ...ascii("temp/"),
      0xc2, 0xb0, // U+00B0 (2 bytes)
      0x43, 0x2f, // "C/"
      0xe2, 0x82, 0xac, // U+20AC (3 bytes)
      0x2f, // "/"
      0xf0, 0x9f, 0x98, 0x80, // U+1F600 (4 bytes; a surrogate pair in JS)
      ...fill(200, 0x2a), // payload: 200 x "*"
    ],
  },
  {
    name: "PUBACK (mqtt-packet; MQTT 3.1.1 §3.4)",
    version: 4,
    packet: { type: 4, packetId: 1, reasonCode: 0 },
    bytes: [0x40, 0x02, 0x00, 0x01 /* packet id 1 */],
  },
  {
    name: "PUBREC (mqtt-packet; MQTT 3.1.1 §3.5)",
    version: 4,
    packet: { type: 5, packetId: 2, reasonCode: 0 },
    bytes: [0x50, 0x02, 0x00, 0x02],
  },
  {
    name: "PUBREL, flags 0010 (mqtt-packet; MQTT 3.1.1 §3.6.1)",
    version: 4,
    packet: { type: 6, packetId: 3, reasonCode: 0 },
    bytes: [0x62 /* PUBREL, reserved flags 0010 */, 0x02, 0x00, 0x03],
  },
  {
    name: "PUBCOMP (mqtt-packet; MQTT 3.1.1 §3.7)",
    version: 4,
    packet: { type: 7, packetId: 4, reasonCode: 0 },
    bytes: [0x70, 0x02, 0x00, 0x04],
  },
  {
    name: "SUBSCRIBE, two filters (mqtt-packet; MQTT 3.1.1 §3.8)",
    version: 4,
    packet: { type: 8, packetId: 5, subscriptions: [{ topic: "a/+", qos: 1 }, { topic: "b/#", qos: 2 }] },
    bytes: [
      0x82, // SUBSCRIBE, reserved flags 0010
      0x0e, // remaining length 14
      0x00, 0x05, // packet id 5
      0x00, 0x03, 0x61, 0x2f, 0x2b, // filter "a/+"
      0x01, // requested QoS 1
      0x00, 0x03, 0x62, 0x2f, 0x23, // filter "b/#"
      0x02, // requested QoS 2
    ],
  },
  {
    name: "SUBACK, granted QoS 1 and failure (mqtt-packet; MQTT 3.1.1 §3.9.3)",
    version: 4,
    packet: { type: 9, packetId: 5, reasonCodes: [1, 0x80] },
    bytes: [0x90, 0x04, 0x00, 0x05 /* packet id */, 0x01 /* QoS 1 */, 0x80 /* failure */],
  },
  {
    name: "UNSUBSCRIBE (mqtt-packet; MQTT 3.1.1 §3.10)",
    version: 4,
    packet: { type: 10, packetId: 6, topics: ["a/+", "b/#"] },
    bytes: [
      0xa2, // UNSUBSCRIBE, reserved flags 0010
      0x0c, // remaining length 12
      0x00, 0x06, // packet id 6
      0x00, 0x03, 0x61, 0x2f, 0x2b, // "a/+"
      0x00, 0x03, 0x62, 0x2f, 0x23, // "b/#"
    ],
  },
  {
    name: "UNSUBACK, no payload (mqtt-packet; MQTT 3.1.1 §3.11)",
    version: 4,
    packet: { type: 11, packetId: 6, reasonCodes: [] },
    bytes: [0xb0, 0x02, 0x00, 0x06],
  },
  { name: "PINGREQ (mqtt-packet; MQTT 3.1.1 §3.12)", version: 4, packet: { type: 12 }, bytes: [0xc0, 0x00] },
  { name: "PINGRESP (mqtt-packet; MQTT 3.1.1 §3.13)", version: 4, packet: { type: 13 }, bytes: [0xd0, 0x00] },
  { name: "DISCONNECT (mqtt-packet; MQTT 3.1.1 §3.14)", version: 4, packet: { type: 14, reasonCode: 0 }, bytes: [0xe0, 0x00] },
];

const V5: Vector[] = [
  {
    name: "CONNECT, minimal: empty client id, property length 0 (mqtt-packet; MQTT 5.0 §3.1)",
    version: 5,
    packet: { type: 1, protocolVersion: 5, clientId: "", clean: true, keepalive: 0 },
    bytes: [
      0x10, // CONNECT
      0x0d, // remaining length 13
      0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, // "MQTT"
      0x05, // level 5
      0x02, // flags: clean start
      0x00, 0x00, // keep alive 0
      0x00, // property length 0 (mandatory, §3.1.2.11)
      0x00, 0x00, // client id "" (§3.1.3.1)
    ],
  },
  {
    name: "CONNECT with properties, will properties, user name, password (mqtt-packet; MQTT 5.0 §3.1.2.11, §3.1.3.2)",
    version: 5,
    packet: {
      type: 1,
      protocolVersion: 5,
      clientId: "c5",
      clean: true,
      keepalive: 30,
      username: "u",
      password: u8(0x01),
      properties: {
        sessionExpiryInterval: 3600,
        authenticationMethod: "m",
        authenticationData: u8(0xaa),
        requestProblemInformation: 0,
        requestResponseInformation: 1,
        receiveMaximum: 20,
        topicAliasMaximum: 10,
        userProperties: [["k", "v"]],
        maximumPacketSize: 4096,
      },
      will: {
        topic: "s",
        payload: u8(...ascii("off")),
        qos: 2,
        retain: false,
        properties: {
          payloadFormatIndicator: 1,
          messageExpiryInterval: 60,
          contentType: "t",
          responseTopic: "r",
          correlationData: u8(0xc0),
          willDelayInterval: 5,
          userProperties: [["w", "1"]],
        },
      },
    },
    bytes: [
      0x10, // CONNECT
      0x60, // remaining length 96
      0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, // "MQTT"
      0x05, // level 5
      0xd6, // flags 1101 0110: user name, password, will QoS 2, will flag, clean start
      0x00, 0x1e, // keep alive 30
      0x23, // property length 35
      0x11, 0x00, 0x00, 0x0e, 0x10, // 0x11 session expiry interval (four byte integer) 3600
      0x15, 0x00, 0x01, 0x6d, // 0x15 authentication method (UTF-8 string) "m"
      0x16, 0x00, 0x01, 0xaa, // 0x16 authentication data (binary data) aa
      0x17, 0x00, // 0x17 request problem information (byte) 0
      0x19, 0x01, // 0x19 request response information (byte) 1
      0x21, 0x00, 0x14, // 0x21 receive maximum (two byte integer) 20
      0x22, 0x00, 0x0a, // 0x22 topic alias maximum 10
      0x26, 0x00, 0x01, 0x6b, 0x00, 0x01, 0x76, // 0x26 user property (string pair) "k" = "v"
      0x27, 0x00, 0x00, 0x10, 0x00, // 0x27 maximum packet size 4096
      0x00, 0x02, 0x63, 0x35, // client id "c5"
      0x1f, // will property length 31
      0x01, 0x01, // 0x01 payload format indicator 1
      0x02, 0x00, 0x00, 0x00, 0x3c, // 0x02 message expiry interval 60
      0x03, 0x00, 0x01, 0x74, // 0x03 content type "t"
      0x08, 0x00, 0x01, 0x72, // 0x08 response topic "r"
      0x09, 0x00, 0x01, 0xc0, // 0x09 correlation data c0
      0x18, 0x00, 0x00, 0x00, 0x05, // 0x18 will delay interval 5
      0x26, 0x00, 0x01, 0x77, 0x00, 0x01, 0x31, // 0x26 user property "w" = "1"
      0x00, 0x01, 0x73, // will topic "s"
      0x00, 0x03, 0x6f, 0x66, 0x66, // will payload "off"
      0x00, 0x01, 0x75, // user name "u"
      0x00, 0x01, 0x01, // password 01
    ],
  },
  {
    name: "CONNACK with every CONNACK property (mqtt-packet; MQTT 5.0 §3.2.2.3)",
    version: 5,
    packet: {
      type: 2,
      sessionPresent: false,
      reasonCode: 0,
      properties: {
        sessionExpiryInterval: 0,
        assignedClientIdentifier: "auto-1",
        serverKeepAlive: 60,
        authenticationMethod: "m",
        authenticationData: u8(0xbb),
        responseInformation: "ri",
        serverReference: "sr",
        reasonString: "ok",
        receiveMaximum: 20,
        topicAliasMaximum: 5,
        maximumQoS: 1,
        retainAvailable: 0,
        userProperties: [["a", "1"], ["a", "2"]],
        maximumPacketSize: 65536,
        wildcardSubscriptionAvailable: 1,
        subscriptionIdentifiersAvailable: 0,
        sharedSubscriptionAvailable: 1,
      },
    },
    bytes: [
      0x20, // CONNACK
      0x4e, // remaining length 78
      0x00, // acknowledge flags
      0x00, // reason code Success
      0x4b, // property length 75
      0x11, 0x00, 0x00, 0x00, 0x00, // session expiry interval 0
      0x12, 0x00, 0x06, ...ascii("auto-1"), // assigned client identifier
      0x13, 0x00, 0x3c, // server keep alive 60
      0x15, 0x00, 0x01, 0x6d, // authentication method "m"
      0x16, 0x00, 0x01, 0xbb, // authentication data bb
      0x1a, 0x00, 0x02, 0x72, 0x69, // response information "ri"
      0x1c, 0x00, 0x02, 0x73, 0x72, // server reference "sr"
      0x1f, 0x00, 0x02, 0x6f, 0x6b, // reason string "ok"
      0x21, 0x00, 0x14, // receive maximum 20
      0x22, 0x00, 0x05, // topic alias maximum 5
      0x24, 0x01, // maximum QoS 1
      0x25, 0x00, // retain available 0
      0x26, 0x00, 0x01, 0x61, 0x00, 0x01, 0x31, // user property "a" = "1"
      0x26, 0x00, 0x01, 0x61, 0x00, 0x01, 0x32, // user property "a" = "2" (names may repeat)
      0x27, 0x00, 0x01, 0x00, 0x00, // maximum packet size 65536
      0x28, 0x01, // wildcard subscription available 1
      0x29, 0x00, // subscription identifiers available 0
      0x2a, 0x01, // shared subscription available 1
    ],
  },
  {
    name: "CONNACK refused, property length 0 (mqtt-packet; MQTT 5.0 §3.2.2.2)",
    version: 5,
    packet: { type: 2, sessionPresent: false, reasonCode: 0x87 },
    bytes: [0x20, 0x03, 0x00 /* flags */, 0x87 /* Not authorized */, 0x00 /* property length 0 */],
  },
  {
    name: "PUBLISH QoS 0, property length 0 (mqtt-packet; MQTT 5.0 §3.3.2.3)",
    version: 5,
    packet: { type: 3, topic: "a", payload: u8(0x78), qos: 0, retain: false, dup: false },
    bytes: [0x30, 0x05, 0x00, 0x01, 0x61 /* topic "a" */, 0x00 /* property length 0 */, 0x78 /* payload */],
  },
  {
    name: "PUBLISH QoS 1 with every PUBLISH property, two subscription identifiers (mqtt-packet; MQTT 5.0 §3.3.2.3)",
    version: 5,
    packet: {
      type: 3,
      topic: "a/b",
      payload: u8(0x7b, 0x7d),
      qos: 1,
      retain: true,
      dup: false,
      packetId: 258,
      properties: {
        payloadFormatIndicator: 1,
        messageExpiryInterval: 86400,
        contentType: "application/json",
        responseTopic: "r/1",
        correlationData: u8(1, 2),
        subscriptionIdentifier: [1, 300],
        topicAlias: 3,
        userProperties: [["n", "v"], ["m", "w"]],
      },
    },
    bytes: [
      0x33, // PUBLISH, flags 0011: QoS 1, retain
      0x45, // remaining length 69
      0x00, 0x03, 0x61, 0x2f, 0x62, // topic "a/b"
      0x01, 0x02, // packet id 258
      0x3b, // property length 59
      0x01, 0x01, // payload format indicator 1 (UTF-8)
      0x02, 0x00, 0x01, 0x51, 0x80, // message expiry interval 86400
      0x03, 0x00, 0x10, ...ascii("application/json"), // content type
      0x08, 0x00, 0x03, 0x72, 0x2f, 0x31, // response topic "r/1"
      0x09, 0x00, 0x02, 0x01, 0x02, // correlation data 01 02
      0x0b, 0x01, // subscription identifier (variable byte integer) 1
      0x0b, 0xac, 0x02, // subscription identifier 300 = 0x2c + 2*128
      0x23, 0x00, 0x03, // topic alias 3
      0x26, 0x00, 0x01, 0x6e, 0x00, 0x01, 0x76, // user property "n" = "v"
      0x26, 0x00, 0x01, 0x6d, 0x00, 0x01, 0x77, // user property "m" = "w"
      0x7b, 0x7d, // payload "{}"
    ],
  },
  {
    name: "PUBLISH with an empty topic and a topic alias (mqtt-packet; MQTT 5.0 §3.3.2.3.4)",
    version: 5,
    packet: { type: 3, topic: "", payload: u8(), qos: 0, retain: false, dup: false, properties: { topicAlias: 3 } },
    bytes: [0x30, 0x06, 0x00, 0x00 /* topic "" */, 0x03 /* property length 3 */, 0x23, 0x00, 0x03 /* topic alias 3 */],
  },
  {
    name: "PUBLISH with a two-byte property length (mqtt-packet; MQTT 5.0 §2.2.2.1)",
    version: 5,
    packet: {
      type: 3,
      topic: "t",
      payload: u8(),
      qos: 0,
      retain: false,
      dup: false,
      properties: { userProperties: [["key", "x".repeat(130)]] },
    },
    bytes: [
      0x30, // PUBLISH
      0x8f, 0x01, // remaining length 143
      0x00, 0x01, 0x74, // topic "t"
      0x8a, 0x01, // property length 138 = 0x0a + 1*128
      0x26, 0x00, 0x03, ...ascii("key"), 0x00, 0x82, ...fill(130, 0x78), // user property "key" = 130 x "x"
    ],
  },
  {
    name: "PUBACK Success without properties: remaining length 2 (mqtt-packet; MQTT 5.0 §3.4.2.1)",
    version: 5,
    packet: { type: 4, packetId: 1, reasonCode: 0 },
    bytes: [0x40, 0x02, 0x00, 0x01 /* packet id; reason code and property length omitted */],
  },
  {
    name: "PUBACK No matching subscribers, no properties: property length omitted (spec; MQTT 5.0 §3.4.2.1)",
    version: 5,
    packet: { type: 4, packetId: 1, reasonCode: 0x10 },
    bytes: [0x40, 0x03, 0x00, 0x01 /* packet id */, 0x10 /* No matching subscribers */],
  },
  {
    name: "PUBACK Success with a user property: reason code written (mqtt-packet; MQTT 5.0 §3.4.2.2)",
    version: 5,
    packet: { type: 4, packetId: 9, reasonCode: 0, properties: { userProperties: [["a", "b"]] } },
    bytes: [
      0x40, 0x0b, // PUBACK, remaining length 11
      0x00, 0x09, // packet id 9
      0x00, // reason code Success
      0x07, // property length 7
      0x26, 0x00, 0x01, 0x61, 0x00, 0x01, 0x62, // user property "a" = "b"
    ],
  },
  {
    name: "PUBREC Unspecified error with a reason string (mqtt-packet; MQTT 5.0 §3.5.2)",
    version: 5,
    packet: { type: 5, packetId: 2, reasonCode: 0x80, properties: { reasonString: "no" } },
    bytes: [0x50, 0x09, 0x00, 0x02, 0x80 /* Unspecified error */, 0x05 /* property length */, 0x1f, 0x00, 0x02, 0x6e, 0x6f /* reason string "no" */],
  },
  {
    name: "PUBREL Packet Identifier not found, no properties (spec; MQTT 5.0 §3.6.2.1)",
    version: 5,
    packet: { type: 6, packetId: 3, reasonCode: 0x92 },
    bytes: [0x62, 0x03, 0x00, 0x03, 0x92 /* Packet Identifier not found */],
  },
  {
    name: "PUBCOMP Success: remaining length 2 (mqtt-packet; MQTT 5.0 §3.7.2.1)",
    version: 5,
    packet: { type: 7, packetId: 4, reasonCode: 0 },
    bytes: [0x70, 0x02, 0x00, 0x04],
  },
  {
    name: "SUBSCRIBE with a 4-byte subscription identifier and every option (mqtt-packet; MQTT 5.0 §3.8.2.1, §3.8.3.1)",
    version: 5,
    packet: {
      type: 8,
      packetId: 7,
      properties: { subscriptionIdentifier: 268435455, userProperties: [["s", "1"]] },
      subscriptions: [
        { topic: "a/+", qos: 1, noLocal: true, retainAsPublished: true, retainHandling: 2 },
        { topic: "$share/g/b", qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 0 },
      ],
    },
    bytes: [
      0x82, // SUBSCRIBE, flags 0010
      0x22, // remaining length 34
      0x00, 0x07, // packet id 7
      0x0c, // property length 12
      0x0b, 0xff, 0xff, 0xff, 0x7f, // subscription identifier 268,435,455 (largest 4-byte VBI)
      0x26, 0x00, 0x01, 0x73, 0x00, 0x01, 0x31, // user property "s" = "1"
      0x00, 0x03, 0x61, 0x2f, 0x2b, // filter "a/+"
      0x2d, // options 0010 1101: retain handling 2, retain as published, no local, QoS 1
      0x00, 0x0a, ...ascii("$share/g/b"), // filter
      0x00, // options: QoS 0
    ],
  },
  {
    name: "SUBACK with a reason string and mixed codes (mqtt-packet; MQTT 5.0 §3.9.3)",
    version: 5,
    packet: { type: 9, packetId: 7, properties: { reasonString: "r" }, reasonCodes: [0, 1, 2, 0x80, 0xa2] },
    bytes: [
      0x90, 0x0c, // SUBACK, remaining length 12
      0x00, 0x07, // packet id
      0x04, 0x1f, 0x00, 0x01, 0x72, // property length 4: reason string "r"
      0x00, 0x01, 0x02, // Granted QoS 0, 1, 2
      0x80, // Unspecified error
      0xa2, // Wildcard Subscriptions not supported
    ],
  },
  {
    name: "UNSUBSCRIBE with a user property (mqtt-packet; MQTT 5.0 §3.10)",
    version: 5,
    packet: { type: 10, packetId: 8, properties: { userProperties: [["u", "x"]] }, topics: ["a/+", "b"] },
    bytes: [
      0xa2, 0x12, // UNSUBSCRIBE, flags 0010, remaining length 18
      0x00, 0x08, // packet id 8
      0x07, 0x26, 0x00, 0x01, 0x75, 0x00, 0x01, 0x78, // property length 7: user property "u" = "x"
      0x00, 0x03, 0x61, 0x2f, 0x2b, // "a/+"
      0x00, 0x01, 0x62, // "b"
    ],
  },
  {
    name: "UNSUBACK with reason codes (mqtt-packet; MQTT 5.0 §3.11.3)",
    version: 5,
    packet: { type: 11, packetId: 8, reasonCodes: [0, 0x11] },
    bytes: [0xb0, 0x05, 0x00, 0x08, 0x00 /* property length 0 */, 0x00 /* Success */, 0x11 /* No subscription existed */],
  },
  { name: "PINGREQ (mqtt-packet; MQTT 5.0 §3.12)", version: 5, packet: { type: 12 }, bytes: [0xc0, 0x00] },
  { name: "PINGRESP (spec; MQTT 5.0 §3.13)", version: 5, packet: { type: 13 }, bytes: [0xd0, 0x00] },
  {
    name: "DISCONNECT Normal disconnection: remaining length 0 (spec; MQTT 5.0 §3.14.2.1)",
    version: 5,
    packet: { type: 14, reasonCode: 0 },
    bytes: [0xe0, 0x00],
  },
  {
    name: "DISCONNECT with Will Message, no properties (spec; MQTT 5.0 §3.14.2.1)",
    version: 5,
    packet: { type: 14, reasonCode: 0x04 },
    bytes: [0xe0, 0x01, 0x04 /* Disconnect with Will Message; property length omitted */],
  },
  {
    name: "DISCONNECT Use another server with properties (mqtt-packet; MQTT 5.0 §3.14.2.2)",
    version: 5,
    packet: { type: 14, reasonCode: 0x9c, properties: { sessionExpiryInterval: 0, serverReference: "other:1883", reasonString: "move" } },
    bytes: [
      0xe0, 0x1b, // DISCONNECT, remaining length 27
      0x9c, // Use another server
      0x19, // property length 25
      0x11, 0x00, 0x00, 0x00, 0x00, // session expiry interval 0
      0x1c, 0x00, 0x0a, ...ascii("other:1883"), // server reference
      0x1f, 0x00, 0x04, ...ascii("move"), // reason string
    ],
  },
  {
    name: "AUTH Success: remaining length 0 (spec; MQTT 5.0 §3.15.2.1)",
    version: 5,
    packet: { type: 15, reasonCode: 0 },
    bytes: [0xf0, 0x00],
  },
  {
    name: "AUTH Continue authentication with method and data (mqtt-packet; MQTT 5.0 §3.15.2.2)",
    version: 5,
    packet: { type: 15, reasonCode: 0x18, properties: { authenticationMethod: "SCRAM-SHA-1", authenticationData: u8(0x6e, 0x2c) } },
    bytes: [
      0xf0, 0x15, // AUTH, remaining length 21
      0x18, // Continue authentication
      0x13, // property length 19
      0x15, 0x00, 0x0b, ...ascii("SCRAM-SHA-1"), // authentication method
      0x16, 0x00, 0x02, 0x6e, 0x2c, // authentication data
    ],
  },
];

const VECTORS = [...V4, ...V5];

function label(v: Vector): string {
  return `${v.version === 4 ? "3.1.1" : "5.0"} ${v.name}`;
}

function decodeAll(version: ProtocolVersion, chunks: Uint8Array[]): Packet[] {
  const decoder = new Decoder({ protocolVersion: version });
  const out: Packet[] = [];
  for (const chunk of chunks) {
    decoder.push(chunk);
    for (let p = decoder.next(); p !== undefined; p = decoder.next()) out.push(p);
  }
  return out;
}

/** Decodes and compares right away (views of the staging buffer live until the next push). */
function checkChunks(t: test.Test, v: Vector, chunks: Uint8Array[], expected: number, msg: string): void {
  const decoder = new Decoder({ protocolVersion: v.version });
  let got = 0;
  let ok = true;
  for (const chunk of chunks) {
    decoder.push(chunk);
    for (let p = decoder.next(); p !== undefined; p = decoder.next()) {
      got++;
      ok = ok && deepEqualPacket(p, v.packet);
    }
  }
  t.ok(ok && got === expected, `${msg}: ${got} of ${expected} packets, all equal`);
}

/** Structural equality, bytes compared by value (used where an assertion per packet would be noise). */
function deepEqualPacket(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a instanceof Uint8Array && b instanceof Uint8Array) {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((x, i) => deepEqualPacket(x, b[i]));
  }
  if (a && b && typeof a === "object" && typeof b === "object") {
    const ka = Object.keys(a).sort();
    const kb = Object.keys(b).sort();
    return deepEqualPacket(ka, kb) && ka.every((k) => deepEqualPacket((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
  }
  return false;
}

for (const v of VECTORS) {
  test(`decodes ${label(v)}`, (t) => {
    const packets = decodeAll(v.version, [new Uint8Array(v.bytes)]);
    t.equal(packets.length, 1, "one packet");
    t.deepEqual(packets[0], v.packet, "fields");
    t.end();
  });

  test(`encodes ${label(v)}`, (t) => {
    t.deepEqual(Array.from(encode(v.packet, v.version)), v.bytes, "encode() gives the vector bytes");
    t.equal(encodedLength(v.packet, v.version), v.bytes.length, "encodedLength()");
    const target = new Uint8Array(v.bytes.length + 6).fill(0xee);
    const n = encodeInto(v.packet, v.version, target, 3);
    t.equal(n, v.bytes.length, "encodeInto() returns the bytes written");
    t.deepEqual(Array.from(target.subarray(3, 3 + n)), v.bytes, "encodeInto() writes the vector at the offset");
    t.deepEqual(
      [target[0], target[1], target[2], target[3 + n], target[4 + n], target[5 + n]],
      [0xee, 0xee, 0xee, 0xee, 0xee, 0xee],
      "encodeInto() leaves the bytes around it alone",
    );
    t.end();
  });

  test(`round-trips ${label(v)}`, (t) => {
    const again = decodeAll(v.version, [encode(v.packet, v.version)]);
    t.deepEqual(again[0], v.packet, "decode(encode(packet)) equals the packet");
    const decoded = decodeAll(v.version, [new Uint8Array(v.bytes)])[0];
    t.deepEqual(Array.from(encode(decoded, v.version)), v.bytes, "encode(decode(bytes)) equals the bytes");
    t.end();
  });

  test(`decodes ${label(v)} fed in chunks`, (t) => {
    const bytes = new Uint8Array(v.bytes);
    const n = bytes.length;
    checkChunks(t, v, Array.from(bytes, (b) => new Uint8Array([b])), 1, "one byte at a time");
    let splitsOk = true;
    for (let i = 1; i < n; i++) {
      const decoder = new Decoder({ protocolVersion: v.version });
      decoder.push(bytes.subarray(0, i));
      const early = decoder.next();
      decoder.push(bytes.subarray(i));
      const p = decoder.next();
      const tail = decoder.next();
      if (early !== undefined || tail !== undefined || !deepEqualPacket(p, v.packet)) {
        splitsOk = false;
        t.fail(`split at ${i} of ${n}`);
      }
    }
    t.ok(splitsOk, `split into two pushes at each of the ${n - 1} positions`);
    const twice = new Uint8Array(2 * n);
    twice.set(bytes, 0);
    twice.set(bytes, n);
    checkChunks(t, v, [twice], 2, "two packets in one chunk");
    // A whole packet plus the first part of the next: the part stays buffered
    // (next() answers undefined) until the rest arrives.
    const cut = n > 1 ? n + (n >> 1) : n;
    const decoder = new Decoder({ protocolVersion: v.version });
    decoder.push(twice.subarray(0, cut));
    t.ok(deepEqualPacket(decoder.next(), v.packet), "first packet decoded from a chunk with trailing bytes");
    t.equal(decoder.next(), undefined, "partial trailing packet is not returned");
    decoder.push(twice.subarray(cut));
    t.ok(deepEqualPacket(decoder.next(), v.packet), "second packet completed by the next push");
    t.equal(decoder.next(), undefined, "nothing left");
    t.end();
  });
}

test("every control packet type of both versions has a vector", (t) => {
  const types4 = new Set(V4.map((v) => v.packet.type));
  const types5 = new Set(V5.map((v) => v.packet.type));
  t.deepEqual([...types4].sort((a, b) => a - b), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14], "3.1.1: types 1..14");
  t.deepEqual([...types5].sort((a, b) => a - b), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15], "5.0: types 1..15 (AUTH included)");
  t.end();
});

test("v5 vectors carry a property of every wire type", (t) => {
  const seen = new Set<string>();
  const kinds: Record<string, string> = {
    payloadFormatIndicator: "byte",
    serverKeepAlive: "two byte integer",
    messageExpiryInterval: "four byte integer",
    subscriptionIdentifier: "variable byte integer",
    contentType: "UTF-8 string",
    correlationData: "binary data",
    userProperties: "string pair",
  };
  for (const v of V5) {
    const props = (v.packet as { properties?: Record<string, unknown> }).properties;
    for (const key of Object.keys(props ?? {})) if (kinds[key]) seen.add(kinds[key]);
  }
  t.deepEqual([...seen].sort(), Object.values(kinds).sort());
  t.end();
});

test("decoding a 3.1.1-style CONNACK refusal while on 5.0 maps the return code (MQTT 5.0 §3.2.2.2)", (t) => {
  // 3.1.1 brokers (e.g. aedes) answer a 5.0 CONNECT with 20 02 00 01.
  const packets = decodeAll(5, [u8(0x20, 0x02, 0x00, 0x01)]);
  t.deepEqual(packets[0], { type: 2, sessionPresent: false, reasonCode: 0x84 }, "1 -> 0x84 Unsupported Protocol Version");
  t.end();
});

test("decoding a CONNECT reads the level from the packet and sets protocolVersion", (t) => {
  const v5connect = V5[1];
  const decoder = new Decoder({ protocolVersion: 4 });
  decoder.push(new Uint8Array(v5connect.bytes));
  t.deepEqual(decoder.next(), v5connect.packet, "5.0 CONNECT decoded by a decoder set to 4");
  t.equal(decoder.protocolVersion, 5, "protocolVersion follows the CONNECT");
  t.end();
});
