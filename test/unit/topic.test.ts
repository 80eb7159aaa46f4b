/**
 * Topic names, filters, matching, shared subscriptions and topic aliases.
 *
 * Tables come from the spec's own examples (MQTT 3.1.1 §4.7.1.2, §4.7.1.3,
 * §4.7.2, §4.7.3; MQTT 5.0 §4.8.2). Property tests compare `topicMatches` with
 * a split-based reference written here, and the outbound alias table with an
 * inbound table acting as the server. Seeds are fixed; the "harness can fail"
 * tests run the same properties against deliberately broken matchers and
 * check that fast-check finds the difference.
 */
import test from "tape";
import fc from "fast-check";
import {
  isValidTopicName,
  isValidTopicFilter,
  assertTopicName,
  assertTopicFilter,
  topicMatches,
  parseSharedSubscription,
  InboundTopicAliases,
  OutboundTopicAliases,
} from "../../modules/mqtt/topic";
import { MqttError, ErrorCode } from "../../modules/mqtt/errors";

const SEED = 0x5eed;

function show(s: string): string {
  return s.length > 40 ? `${JSON.stringify(s.slice(0, 20))}... (${s.length} units)` : JSON.stringify(s);
}

function typeErrorCiting(rule: string): (err: unknown) => boolean {
  return (err) => err instanceof TypeError && err.message.includes(rule);
}

function mqttError(code: number): (err: unknown) => boolean {
  return (err) => err instanceof MqttError && err.code === code && err.source === "remote";
}

// ---------------------------------------------------------------------------
// Validation

test("accepts the topic names and filters of the spec's examples (MQTT 3.1.1 §4.7)", (t) => {
  const names = [
    "sport/tennis/player1",
    "sport/tennis/player1/ranking",
    "sport/tennis/player1/score/wimbledon",
    "sport",
    "sport/",
    "/finance",
    "/",
    "//",
    "$SYS/monitor/Clients",
    "Accounts payable", // §4.7.3: spaces are allowed
    "ACCOUNTS",
    "a",
    "caf\u00e9/\u20ac/\ud83d\ude00", // 2-, 3- and 4-byte UTF-8
  ];
  for (const name of names) {
    t.ok(isValidTopicName(name), `name ${show(name)} is valid`);
    t.ok(isValidTopicFilter(name), `a valid name is also a valid filter: ${show(name)}`);
    t.doesNotThrow(() => assertTopicName(name), `assertTopicName(${show(name)})`);
  }
  const filters = [
    "sport/tennis/player1/#", // §4.7.1.2
    "sport/#",
    "#",
    "sport/tennis/#",
    "+", // §4.7.1.3
    "+/tennis/#",
    "sport/+/player1",
    "sport/+",
    "+/+",
    "/+",
    "$SYS/#", // §4.7.2
    "$SYS/monitor/+",
    "+/monitor/Clients",
    "/#",
    "+/",
    "//+//",
  ];
  for (const filter of filters) {
    t.ok(isValidTopicFilter(filter), `filter ${show(filter)} is valid`);
    t.doesNotThrow(() => assertTopicFilter(filter), `assertTopicFilter(${show(filter)})`);
  }
  t.end();
});

test("rejects misplaced wildcards in filters [MQTT-4.7.1-2] [MQTT-4.7.1-3]", (t) => {
  const cases: [string, string][] = [
    ["sport/tennis#", "MQTT-4.7.1-2"], // §4.7.1.2
    ["sport/tennis/#/ranking", "MQTT-4.7.1-2"],
    ["#/", "MQTT-4.7.1-2"],
    ["##", "MQTT-4.7.1-2"],
    ["#+", "MQTT-4.7.1-2"],
    ["a/b#", "MQTT-4.7.1-2"],
    ["sport+", "MQTT-4.7.1-3"], // §4.7.1.3
    ["+sport", "MQTT-4.7.1-3"],
    ["sport/+tennis", "MQTT-4.7.1-3"],
    ["++", "MQTT-4.7.1-3"],
    ["+#", "MQTT-4.7.1-3"],
    ["a/+\u00e9", "MQTT-4.7.1-3"],
    ["a/+\ud83d\ude00", "MQTT-4.7.1-3"],
  ];
  for (const [filter, rule] of cases) {
    t.notOk(isValidTopicFilter(filter), `filter ${show(filter)} is invalid`);
    t.throws(() => assertTopicFilter(filter), typeErrorCiting(rule), `assertTopicFilter(${show(filter)}) cites ${rule}`);
  }
  t.end();
});

test("rejects wildcards in topic names [MQTT-4.7.1-1] [MQTT-3.3.2-2]", (t) => {
  for (const name of ["+", "#", "sport/+", "sport/#", "a+b", "a#b", "+/tennis/#"]) {
    t.notOk(isValidTopicName(name), `name ${show(name)} is invalid`);
    t.throws(() => assertTopicName(name), typeErrorCiting("MQTT-3.3.2-2"), `assertTopicName(${show(name)}) cites the rule`);
  }
  t.end();
});

test("rejects empty topics [MQTT-4.7.3-1] and U+0000 [MQTT-4.7.3-2]", (t) => {
  t.notOk(isValidTopicName(""), "empty name");
  t.notOk(isValidTopicFilter(""), "empty filter");
  t.throws(() => assertTopicName(""), typeErrorCiting("MQTT-4.7.3-1"), "empty name cites MQTT-4.7.3-1");
  t.throws(() => assertTopicFilter(""), typeErrorCiting("MQTT-4.7.3-1"), "empty filter cites MQTT-4.7.3-1");
  for (const s of ["a\u0000b", "\u0000", "a/\u0000", "\u0000/#"]) {
    t.notOk(isValidTopicName(s), `name ${show(s)} is invalid`);
    t.notOk(isValidTopicFilter(s), `filter ${show(s)} is invalid`);
    t.throws(() => assertTopicFilter(s), typeErrorCiting("MQTT-4.7.3-2"), `filter ${show(s)} cites MQTT-4.7.3-2`);
  }
  t.end();
});

test("rejects lone surrogates, which have no UTF-8 encoding [MQTT-1.5.4-1]", (t) => {
  for (const s of ["a\ud800", "\udc00a", "\ud800\ud800", "\ude00\ud83d", "x/\ud83d/y"]) {
    t.notOk(isValidTopicName(s), `name ${show(s)} is invalid`);
    t.throws(() => assertTopicName(s), typeErrorCiting("MQTT-1.5.4-1"), `name ${show(s)} cites MQTT-1.5.4-1`);
  }
  t.ok(isValidTopicName("\ud83d\ude00"), "a surrogate pair is fine");
  // A pair or a lone surrogate at every offset around the validator's chunk
  // boundaries (long strings are walked in pieces).
  let pairs = 0;
  let lones = 0;
  for (let offset = 250; offset < 262; offset++) {
    if (isValidTopicName("a".repeat(offset) + "\ud83d\ude00" + "b".repeat(300))) pairs++;
    if (!isValidTopicName("a".repeat(offset) + "\ud83d" + "b".repeat(300))) lones++;
  }
  t.equal(pairs, 12, "a pair is accepted at every offset 250..261");
  t.equal(lones, 12, "a lone high surrogate is rejected at every offset 250..261");
  t.notOk(isValidTopicName("a".repeat(1000) + "\ud83d"), "a trailing lone high surrogate in a long string is rejected");
  t.end();
});

test("limits topics to 65535 UTF-8 bytes, counting surrogate pairs as 4 [MQTT-4.7.3-3]", (t) => {
  const cases: [string, boolean][] = [
    ["a".repeat(65535), true],
    ["a".repeat(65536), false],
    ["\u00e9".repeat(32767) + "a", true], // 2 * 32767 + 1 = 65535
    ["\u00e9".repeat(32768), false], // 65536
    ["\u20ac".repeat(21845), true], // 3 * 21845 = 65535
    ["\u20ac".repeat(21845) + "a", false], // 65536
    ["\ud83d\ude00".repeat(16383) + "abc", true], // 4 * 16383 + 3 = 65535
    ["\ud83d\ude00".repeat(16383) + "abcd", false], // 65536
    ["\ud83d\ude00".repeat(16384), false], // 65536 bytes in 32768 code units
  ];
  for (const [s, valid] of cases) {
    t.equal(isValidTopicName(s), valid, `name of ${s.length} units starting ${show(s.slice(0, 2))} valid=${valid}`);
    t.equal(isValidTopicFilter(s + (valid ? "" : "/#")), valid, `filter variant valid=${valid}`);
  }
  t.throws(() => assertTopicName("\u20ac".repeat(21845) + "a"), typeErrorCiting("MQTT-4.7.3-3"), "the message cites MQTT-4.7.3-3");
  t.ok(isValidTopicFilter("a".repeat(65533) + "/#"), "a filter of exactly 65535 bytes ending in /# is valid");
  t.notOk(isValidTopicFilter("a".repeat(65534) + "/#"), "a filter of 65536 bytes is invalid");
  t.end();
});

test("rejects non-string topics with a TypeError (API misuse)", (t) => {
  const values: unknown[] = [undefined, null, 42, ["a"], { toString: () => "a" }];
  for (const v of values) {
    t.notOk(isValidTopicName(v as string), `isValidTopicName(${String(v)})`);
    t.notOk(isValidTopicFilter(v as string), `isValidTopicFilter(${String(v)})`);
    t.throws(() => assertTopicName(v as string), TypeError, `assertTopicName(${String(v)}) throws TypeError`);
    t.throws(() => assertTopicFilter(v as string), TypeError, `assertTopicFilter(${String(v)}) throws TypeError`);
  }
  t.end();
});

// ---------------------------------------------------------------------------
// Shared subscriptions (MQTT 5.0 §4.8.2)

test("parses shared subscriptions into group and filter (MQTT 5.0 §4.8.2)", (t) => {
  t.deepEqual(parseSharedSubscription("$share/consumer1/sport/tennis/+"), { group: "consumer1", filter: "sport/tennis/+" });
  t.deepEqual(parseSharedSubscription("$share/consumer2/sport/tennis/+"), { group: "consumer2", filter: "sport/tennis/+" });
  t.deepEqual(parseSharedSubscription("$share/consumer1//finance"), { group: "consumer1", filter: "/finance" });
  t.deepEqual(parseSharedSubscription("$share/g/#"), { group: "g", filter: "#" });
  t.deepEqual(parseSharedSubscription("$share/g\u00e9/$SYS/#"), { group: "g\u00e9", filter: "$SYS/#" });
  t.equal(parseSharedSubscription("sport/tennis/+"), null, "an ordinary filter is not shared");
  t.equal(parseSharedSubscription("$share"), null, "'$share' without a slash is an ordinary filter");
  t.equal(parseSharedSubscription("$SHARE/g/a"), null, "the prefix is case-sensitive");
  t.ok(isValidTopicFilter("$share/consumer1/sport/tennis/+"), "a shared filter is a valid filter");
  t.end();
});

test("rejects malformed shared subscriptions [MQTT-4.8.2-1] [MQTT-4.8.2-2]", (t) => {
  const cases: [string, string][] = [
    ["$share/", "MQTT-4.8.2-1"],
    ["$share//finance", "MQTT-4.8.2-1"],
    ["$share/+/a", "MQTT-4.8.2-2"],
    ["$share/#/a", "MQTT-4.8.2-2"],
    ["$share/a+b/x", "MQTT-4.8.2-2"],
    ["$share/a#", "MQTT-4.8.2-2"],
    ["$share/group", "MQTT-4.8.2-2"],
    ["$share/group/", "MQTT-4.8.2-2"],
    ["$share/g/a#", "MQTT-4.7.1-2"],
    ["$share/g/+a", "MQTT-4.7.1-3"],
    ["$share/g/a\u0000", "MQTT-4.7.3-2"],
  ];
  for (const [filter, rule] of cases) {
    t.notOk(isValidTopicFilter(filter), `filter ${show(filter)} is invalid`);
    t.throws(() => parseSharedSubscription(filter), typeErrorCiting(rule), `parseSharedSubscription(${show(filter)}) cites ${rule}`);
  }
  t.end();
});

// ---------------------------------------------------------------------------
// Matching

const matchCases: [string, string, boolean, string][] = [
  // MQTT 3.1.1 §4.7.1.2, multi-level wildcard
  ["sport/tennis/player1/#", "sport/tennis/player1", true, "§4.7.1.2 # matches the parent level"],
  ["sport/tennis/player1/#", "sport/tennis/player1/ranking", true, "§4.7.1.2"],
  ["sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon", true, "§4.7.1.2"],
  ["sport/tennis/player1/#", "sport/tennis/player2", false, "different level"],
  ["sport/tennis/player1/#", "sport/tennis", false, "name too short"],
  ["sport/#", "sport", true, "§4.7.1.2 sport/# also matches sport"],
  ["sport/#", "sport/", true, "empty last level"],
  ["#", "sport/tennis/player1", true, "§4.7.1.2 # matches everything"],
  ["#", "/", true, "# matches empty levels"],
  ["#", "a", true, "# matches one level"],
  ["/#", "/finance", true, "leading empty level then #"],
  ["/#", "finance", false, "'/#' needs the empty first level"],
  // §4.7.1.3, single-level wildcard
  ["sport/tennis/+", "sport/tennis/player1", true, "§4.7.1.3"],
  ["sport/tennis/+", "sport/tennis/player2", true, "§4.7.1.3"],
  ["sport/tennis/+", "sport/tennis/player1/ranking", false, "§4.7.1.3 + is one level"],
  ["sport/+", "sport", false, "§4.7.1.3 sport/+ does not match sport"],
  ["sport/+", "sport/", true, "§4.7.1.3 sport/+ matches sport/"],
  ["+/+", "/finance", true, "§4.7.1.3"],
  ["/+", "/finance", true, "§4.7.1.3"],
  ["+", "/finance", false, "§4.7.1.3 + does not match two levels"],
  ["+", "finance", true, "+ matches one level"],
  ["+/tennis/#", "sport/tennis", true, "+ then # matching zero levels"],
  ["+/tennis/#", "sport/tennis/player1/ranking", true, "+ then #"],
  ["+/tennis/#", "sport/golf", false, "literal level after +"],
  ["sport/+/player1", "sport/tennis/player1", true, "+ in the middle"],
  ["sport/+/player1", "sport//player1", true, "+ matches an empty level"],
  ["sport/+/player1", "sport/tennis/player2", false, "literal after +"],
  ["+/+/+", "a/b", false, "too few levels"],
  ["+/+", "a/b/c", false, "too many levels"],
  // §4.7.2, topics beginning with $
  ["#", "$SYS/monitor/Clients", false, "[MQTT-4.7.2-1] # does not match $ topics"],
  ["+/monitor/Clients", "$SYS/monitor/Clients", false, "[MQTT-4.7.2-1] + does not match $ topics"],
  ["$SYS/#", "$SYS/monitor/Clients", true, "§4.7.2 $SYS/#"],
  ["$SYS/monitor/+", "$SYS/monitor/Clients", true, "§4.7.2 $SYS/monitor/+"],
  ["+", "$SYS", false, "[MQTT-4.7.2-1]"],
  ["a/+", "a/$b", true, "a $ deeper down is an ordinary character"],
  ["a/#", "a/$b", true, "a $ deeper down is an ordinary character"],
  // §4.7.3, case and separators are significant
  ["ACCOUNTS", "Accounts", false, "§4.7.3 case-sensitive"],
  ["Accounts payable", "Accounts payable", true, "§4.7.3 spaces"],
  ["/finance", "finance", false, "§4.7.3 leading / makes a distinct topic"],
  ["finance", "finance", true, "identical"],
  ["finance", "finance/", false, "trailing empty level"],
  ["finance/", "finance", false, "trailing empty level in the filter"],
  ["a/b", "a/bc", false, "prefix of a level"],
  ["a/bc", "a/b", false, "longer level"],
  ["a/+/c", "a/b/cd", false, "prefix after +"],
  ["caf\u00e9/+", "caf\u00e9/\ud83d\ude00", true, "non-ASCII levels"],
  // MQTT 5.0 §4.8.2, shared subscriptions match their inner filter
  ["$share/consumer1/sport/tennis/+", "sport/tennis/player1", true, "shared + inner filter"],
  ["$share/consumer1/sport/tennis/+", "sport/golf/player1", false, "shared, inner filter does not match"],
  ["$share/consumer1//finance", "/finance", true, "shared, inner filter '/finance'"],
  ["$share/consumer1//finance", "finance", false, "shared, inner filter '/finance'"],
  ["$share/g/#", "a/b", true, "shared #"],
  ["$share/g/#", "$SYS/x", false, "[MQTT-4.7.2-1] applies to the inner filter"],
  ["$share/g/$SYS/#", "$SYS/x", true, "shared $SYS/#"],
  ["$share/g/a", "a", true, "shared literal"],
  ["$share/g/a", "$share/g/a", false, "the $share prefix is not matched literally"],
  ["$share/g", "g", false, "a $share filter without a second slash matches nothing"],
];

test("matches filters against names as in the spec's examples [MQTT-4.7.2-1]", (t) => {
  for (const [filter, name, expected, why] of matchCases) {
    t.equal(topicMatches(filter, name), expected, `${show(filter)} vs ${show(name)}: ${expected} (${why})`);
  }
  t.end();
});

/** Reference matcher: split-based, straight from the spec's wording. */
function referenceMatches(filter: string, name: string): boolean {
  if (filter.startsWith("$share/")) {
    const slash = filter.indexOf("/", 7);
    if (slash < 0) return false;
    filter = filter.slice(slash + 1);
  }
  if ((filter[0] === "+" || filter[0] === "#") && name[0] === "$") return false;
  const f = filter.split("/");
  const n = name.split("/");
  for (let i = 0; i < f.length; i++) {
    if (f[i] === "#") return true;
    if (i >= n.length) return false;
    if (f[i] !== "+" && f[i] !== n[i]) return false;
  }
  return f.length === n.length;
}

// Levels mix wildcards, empties, '$' and multi-byte text; "a+"/"#b" are
// malformed on purpose (topicMatches treats them as literals).
const nameLevel = fc.constantFrom("a", "b", "ab", "", "$x", "\u00e9", "\ud83d\ude00", "a+", "#b");
const filterLevel = fc.oneof(nameLevel, fc.constantFrom("+", "#", "+", "#"));
const levels = (level: fc.Arbitrary<string>) => fc.array(level, { minLength: 1, maxLength: 6 });
const sharePrefix = fc.constantFrom("", "", "", "$share/g/", "$share/", "$share/grp");

/** A name built from a filter by filling each wildcard, so that matches are common. */
const filterAndName = fc
  .tuple(sharePrefix, levels(filterLevel), fc.array(levels(nameLevel), { minLength: 6, maxLength: 6 }), levels(nameLevel), fc.boolean())
  .map(([prefix, f, fills, other, derived]) => {
    const filter = prefix + f.join("/");
    if (!derived) return [filter, other.join("/")] as const;
    const n: string[] = [];
    f.forEach((level, i) => {
      if (level === "+") n.push(fills[i][0]);
      else if (level === "#") n.push(...fills[i].slice(0, i % 3));
      else n.push(level);
    });
    return [filter, n.length > 0 ? n.join("/") : "x"] as const;
  });

function agreesWith(matcher: (f: string, n: string) => boolean) {
  return fc.property(filterAndName, ([filter, name]) => matcher(filter, name) === referenceMatches(filter, name));
}

test("topicMatches agrees with a split-based reference on random levels (property)", (t) => {
  const result = fc.check(agreesWith(topicMatches), { seed: SEED, numRuns: 400 });
  t.notOk(result.failed, result.failed ? `counterexample ${JSON.stringify(result.counterexample)}` : "400 runs agree");
  // The generator must exercise both outcomes, or agreement proves little.
  let matches = 0;
  for (const [filter, name] of fc.sample(filterAndName, { seed: SEED, numRuns: 400 })) if (referenceMatches(filter, name)) matches++;
  t.ok(matches > 80 && matches < 320, `matches and non-matches both common (${matches}/400 match)`);
  t.end();
});

test("the matching property fails for broken matchers (the harness can fail)", (t) => {
  const noDollarRule = (f: string, n: string) => (n[0] === "$" ? referenceMatches(f, "_" + n.slice(1)) : referenceMatches(f, n));
  const hashNeedsALevel = (f: string, n: string) => referenceMatches(f, n) && !(f.endsWith("/#") && referenceMatches(f.slice(0, -2), n));
  const ignoresShare = (f: string, n: string) => f === n || (!f.startsWith("$share/") && referenceMatches(f, n));
  for (const [label, broken] of [
    ["without the $ rule", noDollarRule],
    ["with '#' not matching the parent level", hashNeedsALevel],
    ["without $share/ handling", ignoresShare],
  ] as const) {
    const result = fc.check(agreesWith(broken), { seed: SEED, numRuns: 400 });
    t.ok(result.failed, `a matcher ${label} is caught`);
  }
  t.end();
});

// ---------------------------------------------------------------------------
// Inbound topic aliases (server -> client)

test("InboundTopicAliases maps, remaps and resolves aliases (MQTT 5.0 §3.3.2.3.4)", (t) => {
  const table = new InboundTopicAliases(3);
  t.equal(table.maximum, 3);
  t.equal(table.size, 0);
  t.equal(table.resolve("a/b", undefined), "a/b", "no alias: the topic name as is");
  t.equal(table.resolve("a/b", 1), "a/b", "topic + alias: the topic name");
  t.equal(table.size, 1);
  t.equal(table.resolve("", 1), "a/b", "alias only: the mapped name");
  t.equal(table.get(1), "a/b");
  t.equal(table.resolve("c/d", 1), "c/d", "a new topic name remaps the alias");
  t.equal(table.resolve("", 1), "c/d", "the alias now stands for the new name");
  t.equal(table.size, 1, "remapping does not add a mapping");
  t.equal(table.resolve("x", 3), "x", "the highest alias is accepted [MQTT-3.3.2-10]");
  t.equal(table.resolve("", 3), "x");
  t.equal(table.size, 2);
  t.equal(table.get(2), undefined, "unmapped alias");
  t.equal(table.get(0), undefined, "alias 0 never maps");
  t.equal(table.get(4), undefined, "alias above the maximum never maps");
  t.end();
});

test("InboundTopicAliases rejects alias 0 and aliases above our maximum with 0x94 [MQTT-3.3.2-8] [MQTT-3.3.2-11]", (t) => {
  const table = new InboundTopicAliases(3);
  t.throws(() => table.resolve("a", 0), mqttError(ErrorCode.TopicAliasInvalid), "alias 0 with a topic");
  t.throws(() => table.resolve("", 0), mqttError(ErrorCode.TopicAliasInvalid), "alias 0 alone");
  t.throws(() => table.resolve("a", 4), mqttError(ErrorCode.TopicAliasInvalid), "alias above the maximum");
  t.throws(() => table.resolve("a", 1.5), mqttError(ErrorCode.TopicAliasInvalid), "a non-integer alias");
  t.equal(table.size, 0, "nothing was mapped by the rejected packets");
  const none = new InboundTopicAliases(0);
  t.throws(() => none.resolve("a", 1), mqttError(ErrorCode.TopicAliasInvalid), "with maximum 0 every alias is invalid");
  t.equal(ErrorCode.TopicAliasInvalid, 0x94);
  t.end();
});

test("InboundTopicAliases rejects an empty topic with no usable alias as a protocol error 0x82", (t) => {
  const table = new InboundTopicAliases(5);
  t.throws(() => table.resolve("", undefined), mqttError(ErrorCode.ProtocolError), "empty topic and no alias");
  t.throws(() => table.resolve("", 2), mqttError(ErrorCode.ProtocolError), "alias never mapped");
  t.equal(ErrorCode.ProtocolError, 0x82);
  t.end();
});

test("InboundTopicAliases.reset forgets every mapping: aliases do not outlive a connection [MQTT-3.3.2-7]", (t) => {
  const table = new InboundTopicAliases(2);
  table.resolve("a", 1);
  table.resolve("b", 2);
  table.reset();
  t.equal(table.size, 0);
  t.throws(() => table.resolve("", 1), mqttError(ErrorCode.ProtocolError), "alias 1 is unknown after reset");
  t.throws(() => table.resolve("", 2), mqttError(ErrorCode.ProtocolError), "alias 2 is unknown after reset");
  t.equal(table.resolve("c", 1), "c", "and can be mapped again");
  t.end();
});

test("alias tables reject capacities outside 0..65535 with a RangeError", (t) => {
  for (const bad of [-1, 1.5, 65536, NaN]) {
    t.throws(() => new InboundTopicAliases(bad), RangeError, `InboundTopicAliases(${bad})`);
    t.throws(() => new OutboundTopicAliases(bad), RangeError, `OutboundTopicAliases(${bad})`);
  }
  t.throws(() => new OutboundTopicAliases(4).reset(70000), RangeError, "reset(70000)");
  t.doesNotThrow(() => new InboundTopicAliases(0), "0 is allowed");
  t.end();
});

// ---------------------------------------------------------------------------
// Outbound topic aliases (client -> server)

test("OutboundTopicAliases sends topic + alias first, then the alias alone", (t) => {
  const table = new OutboundTopicAliases(4);
  t.equal(table.limit, 4);
  t.equal(table.assign("a/b"), 1, "first topic gets alias 1");
  t.equal(table.newMapping, true, "new mapping: send topic and alias");
  t.equal(table.assign("a/b"), 1, "same topic, same alias");
  t.equal(table.newMapping, false, "known mapping: send the alias only");
  t.equal(table.assign("c"), 2, "second topic gets alias 2");
  t.equal(table.newMapping, true);
  t.equal(table.lookup("a/b"), 1);
  t.equal(table.lookup("zzz"), 0, "unknown topic");
  t.equal(table.size, 2);
  t.throws(() => table.assign(""), TypeError, "an empty topic is misuse");
  t.end();
});

test("OutboundTopicAliases never exceeds the server's Topic Alias Maximum [MQTT-3.3.2-9]", (t) => {
  const table = new OutboundTopicAliases(8);
  table.reset(3);
  t.equal(table.limit, 3, "limit is the server's maximum when below capacity");
  const seen: number[] = [];
  for (let i = 0; i < 20; i++) seen.push(table.assign(`t/${i}`));
  t.deepEqual(seen.filter((alias) => alias < 1 || alias > 3), [], "every alias in 1..3 [MQTT-3.3.2-8]");
  t.equal(table.size, 3);
  table.reset(100);
  t.equal(table.limit, 8, "limit is our capacity when the server allows more");
  table.reset(0);
  t.equal(table.limit, 0, "a server maximum of 0 (or absent) turns aliases off");
  t.equal(table.assign("a"), 0, "0: send the topic name only");
  t.equal(table.newMapping, false);
  t.equal(new OutboundTopicAliases(0).assign("a"), 0, "capacity 0: aliases off");
  t.end();
});

test("OutboundTopicAliases reuses the least recently used alias when full", (t) => {
  const table = new OutboundTopicAliases(2);
  t.equal(table.assign("a"), 1);
  t.equal(table.assign("b"), 2);
  t.equal(table.assign("a"), 1, "touch a: b is now least recently used");
  t.equal(table.assign("c"), 2, "c takes b's alias");
  t.equal(table.newMapping, true, "a remapped alias must be sent with its topic");
  t.equal(table.lookup("b"), 0, "b lost its alias");
  t.equal(table.lookup("a"), 1, "a kept its alias");
  t.equal(table.lookup("a"), 1, "lookup does not change the LRU order");
  t.equal(table.assign("c"), 2, "touch c: a is least recently used");
  t.equal(table.assign("b"), 1, "b takes a's alias");
  t.equal(table.newMapping, true);
  t.equal(table.size, 2);
  t.end();
});

test("OutboundTopicAliases.reset forgets mappings; the limit stays unless given [MQTT-3.3.2-7]", (t) => {
  const table = new OutboundTopicAliases(3);
  table.assign("a");
  table.assign("b");
  table.reset();
  t.equal(table.size, 0);
  t.equal(table.limit, 3, "limit unchanged by reset()");
  t.equal(table.lookup("a"), 0, "a is forgotten");
  t.equal(table.assign("b"), 1, "b is mapped again from alias 1");
  t.equal(table.newMapping, true, "and must be sent with its topic");
  t.end();
});

test("an inbound table acting as server always resolves what the outbound table sends (property)", (t) => {
  const topic = fc.constantFrom("a", "b", "c", "d", "e", "f", "s/1", "s/2");
  const script = fc.array(fc.oneof(topic, topic, topic, fc.constant("<reconnect>")), { minLength: 1, maxLength: 60 });
  const property = fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 0, max: 8 }), script, (capacity, serverMaximum, steps) => {
    const client = new OutboundTopicAliases(capacity);
    const server = new InboundTopicAliases(serverMaximum);
    client.reset(serverMaximum);
    // Reference LRU: most recently used last.
    let order: string[] = [];
    for (const step of steps) {
      if (step === "<reconnect>") {
        client.reset(serverMaximum);
        server.reset();
        order = [];
        continue;
      }
      const alias = client.assign(step);
      if (alias === 0) {
        if (client.limit !== 0 || server.resolve(step, undefined) !== step) return false;
        continue;
      }
      if (alias > Math.min(capacity, serverMaximum)) return false;
      const known = order.includes(step);
      if (client.newMapping === known) return false;
      order = order.filter((x) => x !== step);
      if (!known && order.length === client.limit) order.shift();
      order.push(step);
      const received = client.newMapping ? server.resolve(step, alias) : server.resolve("", alias);
      if (received !== step) return false;
    }
    return client.size === order.length;
  });
  const result = fc.check(property, { seed: SEED, numRuns: 300 });
  t.notOk(result.failed, result.failed ? `counterexample ${JSON.stringify(result.counterexample)}` : "300 scripts resolve");
  t.end();
});
