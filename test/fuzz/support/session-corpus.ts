/**
 * The session fuzzer's hex corpus: server byte streams played against a
 * session in a fixed scene, and the scenarios that write
 * test/fuzz/corpus/session-v4.hex and session-v5.hex (FUZZ_WRITE_CORPUS=1
 * with session.fuzz.ts). Regression reproducers live in
 * session-regressions-v4.hex / -v5.hex, written by hand, never regenerated.
 *
 * The scene (`SCENE`), in the line's protocol version:
 *   new Session({ clientId "fuzz", clean, keepalive 60, packetEvents (for the
 *                 exactly-once check), outbox { capacity 1024, maxMessages 8 } })
 *   (other options default)
 *   publish while offline: QoS 1 "a" "one" -> id 1, QoS 2 "b" "two" -> id 2,
 *                          QoS 0 "c" "zero", QoS 0 "a" 32 bytes 00..1f
 *   connect()
 *   receive() each chunk of the line (chunks: the spaces in the line); after
 *   the first "connected" event: SUBSCRIBE ["s/#" QoS 1, "t" QoS 0] -> id 3,
 *   UNSUBSCRIBE ["u"] -> id 4.
 * A line therefore usually starts with a CONNACK, and its acknowledgements
 * use ids 1..4. The fuzzer replays each line split as written and whole.
 */
import { encode } from "../../../modules/mqtt/codec/encoder";
import type { Packet, ProtocolVersion } from "../../../modules/mqtt/codec/packets";

export const SCENE = Object.freeze({
  options: Object.freeze({ clientId: "fuzz", clean: true, keepalive: 60, packetEvents: true, outbox: Object.freeze({ capacity: 1024, maxMessages: 8 }) }),
  payloadA32: Object.freeze(Array.from({ length: 32 }, (_, i) => i)),
});

export interface Scenario {
  name: string;
  chunks: Uint8Array[];
}

const ascii = (s: string) => new Uint8Array([...s].map((c) => c.charCodeAt(0)));

/** The scenarios of one version, each a list of chunks (packets encoded by our encoder, or raw bytes). */
export function scenarios(v: ProtocolVersion): Scenario[] {
  const e = (p: Packet) => encode(p, v);
  const raw = (...b: number[]) => new Uint8Array(b);
  const v5 = v === 5;
  const connack = e({ type: 2, sessionPresent: false, reasonCode: 0 });
  const puback = (id: number, reasonCode = 0) => e({ type: 4, packetId: id, reasonCode });
  const pubrec = (id: number, reasonCode = 0) => e({ type: 5, packetId: id, reasonCode });
  const pubrel = (id: number) => e({ type: 6, packetId: id, reasonCode: 0 });
  const pubcomp = (id: number) => e({ type: 7, packetId: id, reasonCode: 0 });
  const publish = (topic: string, qos: 0 | 1 | 2, id?: number, extra: Record<string, unknown> = {}) =>
    e({ type: 3, topic, payload: ascii("hello"), qos, retain: false, dup: false, ...(qos > 0 ? { packetId: id } : {}), ...extra } as Packet);
  const list: Scenario[] = [
    {
      name: "clean CONNACK, then every acknowledgement in order (PUBACK 1, PUBREC/PUBCOMP 2, SUBACK 3, UNSUBACK 4)",
      chunks: [connack, puback(1), pubrec(2), pubcomp(2), e({ type: 9, packetId: 3, reasonCodes: [1, 0] }), e({ type: 11, packetId: 4, reasonCodes: v5 ? [0] : [] })],
    },
    {
      name: "clean CONNACK, acknowledgements in one chunk with a split PUBREC",
      chunks: [connack, new Uint8Array([...puback(1), ...pubrec(2).subarray(0, 3)]), new Uint8Array([...pubrec(2).subarray(3), ...pubcomp(2)])],
    },
    {
      name: "inbound QoS 0, 1 and 2 (sent twice, then released), PINGRESP",
      chunks: [connack, publish("s/x", 0), publish("s/y", 1, 7), publish("s/z", 2, 8), publish("s/z", 2, 8, { dup: true }), pubrel(8), e({ type: 13 })],
    },
    { name: "PUBREL for an id never received (answered with PUBCOMP)", chunks: [connack, pubrel(42)] },
    { name: "CONNACK refusing the connection", chunks: [e({ type: 2, sessionPresent: false, reasonCode: v5 ? 0x87 : 5 })] },
    { name: "CONNACK with Session Present in reply to Clean Start [MQTT-3.2.2-4]", chunks: [e({ type: 2, sessionPresent: true, reasonCode: 0 })] },
    { name: "a second CONNACK [MQTT-3.2.0-2]", chunks: [connack, connack] },
    { name: "PUBLISH before CONNACK [MQTT-3.2.0-1]", chunks: [publish("s/x", 0)] },
    { name: "PUBACK for an id never sent", chunks: [connack, puback(99)] },
    { name: "PUBACK for the QoS 2 message", chunks: [connack, puback(2)] },
    { name: "PUBCOMP before PUBREC", chunks: [connack, pubcomp(2)] },
    { name: "PUBACK twice for the same message", chunks: [connack, puback(1), puback(1)] },
    { name: "SUBACK with one reason code for two subscriptions [MQTT-3.8.4-6]", chunks: [connack, e({ type: 9, packetId: 3, reasonCodes: [0] })] },
    { name: "PUBLISH with QoS 3 [MQTT-3.3.1-4]", chunks: [connack, raw(0x36, 0x05, 0x00, 0x01, 0x74, 0x00, 0x01)] },
    { name: "PUBLISH with a wildcard in its topic [MQTT-3.3.2-2]", chunks: [connack, raw(0x30, 0x05, 0x00, 0x03, 0x61, 0x2f, 0x23)] },
    { name: "PINGREQ from the server", chunks: [connack, raw(0xc0, 0x00)] },
    { name: "reserved packet type 0", chunks: [connack, raw(0x00, 0x00)] },
    { name: "Remaining Length in five bytes", chunks: [connack, raw(0x30, 0xff, 0xff, 0xff, 0xff, 0x7f)] },
    { name: "PUBLISH header announcing 20,000 bytes (over our Maximum Packet Size 16384)", chunks: [connack, raw(0x30, 0xa0, 0x9c, 0x01, 0x00, 0x01, 0x74)] },
    { name: "truncated PUBACK at the end of the stream", chunks: [connack, puback(1).subarray(0, 3)] },
    { name: "ill-formed UTF-8 in a topic [MQTT-1.5.4-1]", chunks: [connack, raw(0x30, 0x04, 0x00, 0x02, 0xc0, 0xaf)] },
  ];
  if (!v5) {
    list.push({ name: "DISCONNECT from a 3.1.1 server", chunks: [connack, raw(0xe0, 0x00)] });
    return list;
  }
  list.push(
    { name: "server DISCONNECT, normal", chunks: [connack, e({ type: 14, reasonCode: 0 })] },
    {
      name: "server DISCONNECT 0x8B Server shutting down, with a reason string",
      chunks: [connack, e({ type: 14, reasonCode: 0x8b, properties: { reasonString: "bye" } })],
    },
    {
      name: "CONNACK with limits: Receive Maximum 1, Maximum QoS 1, Retain Available 0, Topic Alias Maximum 2, Server Keep Alive 5",
      chunks: [
        e({ type: 2, sessionPresent: false, reasonCode: 0, properties: { receiveMaximum: 1, maximumQoS: 1, retainAvailable: 0, topicAliasMaximum: 2, serverKeepAlive: 5 } }),
        puback(1),
      ],
    },
    {
      name: "inbound topic alias: mapping, then alias-only PUBLISH",
      chunks: [connack, publish("s/alias", 0, undefined, { properties: { topicAlias: 3 } }), publish("", 1, 9, { properties: { topicAlias: 3 } })],
    },
    { name: "inbound Topic Alias above our Topic Alias Maximum 8 [MQTT-3.3.2-11]", chunks: [connack, publish("s/x", 0, undefined, { properties: { topicAlias: 9 } })] },
    { name: "alias-only PUBLISH with no mapping (MQTT 5.0 §3.3.2.3.4)", chunks: [connack, publish("", 0, undefined, { properties: { topicAlias: 2 } })] },
    { name: "PUBREC with failure 0x80 ends the QoS 2 message (no PUBREL)", chunks: [connack, puback(1), pubrec(2, 0x80)] },
    { name: "AUTH although CONNECT had no Authentication Method", chunks: [connack, e({ type: 15, reasonCode: 0x18, properties: { authenticationMethod: "x" } })] },
    {
      name: "17 QoS 1 PUBLISH in one chunk: over our Receive Maximum 16 [MQTT-3.3.4-9]",
      chunks: [connack, new Uint8Array(Array.from({ length: 17 }, (_, i) => [...publish("s/r", 1, 100 + i)]).flat())],
    },
    { name: "3.1.1-style CONNACK refusing a 5.0 CONNECT (return code 1)", chunks: [raw(0x20, 0x02, 0x00, 0x01)] },
  );
  return list;
}
