/**
 * Topic names, topic filters, shared subscriptions and topic aliases.
 *
 * Theory of operation
 * -------------------
 * Validation (`isValidTopicName`, `isValidTopicFilter` and the `assert*`
 * forms) checks every rule of MQTT 3.1.1 §4.7 / MQTT 5.0 §4.7: length,
 * U+0000, lone surrogates (they have no UTF-8 encoding), wildcard placement,
 * and the UTF-8 byte length (a surrogate pair is 4 bytes, any other unit 1, 2
 * or 3). A string of at most 21,845 code units with none of U+0000, `+`, `#`
 * or a surrogate is valid at once (one native regular-expression test; it
 * cannot exceed 3 * 21845 = 65535 bytes); any other string is walked once,
 * code unit by code unit, checking every rule in that walk. The same rules
 * hold in both protocol versions; only the rule numbers moved, so messages
 * cite both.
 *
 * Matching (`topicMatches`) walks filter and name side by side, level by
 * level, without splitting or allocating. A filter level that is exactly `+`
 * matches one name level, a level that is exactly `#` matches the rest
 * (including "no more levels": `a/#` matches `a`), any other level matches
 * itself. A filter that starts with `+` or `#` never matches a name that
 * starts with `$` [MQTT-4.7.2-1]. A shared subscription
 * `$share/<ShareName>/<filter>` (MQTT 5.0 §4.8.2) matches what its inner
 * `<filter>` matches.
 *
 * Topic aliases (MQTT 5.0 §3.3.2.3.4) live in two independent tables, one per
 * direction, each with a fixed number of slots allocated by its constructor:
 * - `InboundTopicAliases`: alias -> topic name for PUBLISH packets from the
 *   server, bounded by the Topic Alias Maximum WE sent in CONNECT.
 * - `OutboundTopicAliases`: topic name -> alias for PUBLISH packets we send,
 *   bounded by the Topic Alias Maximum the SERVER sent in CONNACK (and by the
 *   capacity we allocated). When every alias is taken, the least recently
 *   used one is given to the new topic.
 * Mappings belong to one network connection [MQTT-3.3.2-7]: the owner calls
 * `reset()` on both tables for every new connection. Lookups never allocate.
 *
 * Cost on XS (measured on the xsnap engine, XS 13.3):
 * - Reading any property of a primitive string (`s.length`, `s.charCodeAt(i)`)
 *   boxes it: 2 heap slots of garbage per access. This module therefore calls
 *   `String.prototype` methods through cached references
 *   (`charCodeAt.call(s, i)`), which allocate nothing, and `topicMatches`
 *   detects the end of a string by `charCodeAt` returning NaN instead of
 *   reading `length`. Validation reads `length` once per call (2 slots).
 * - Validating a 31-unit topic name takes about 170 compute steps through
 *   the regular-expression fast path and about 2,400 through the walk. A
 *   match of that expression allocates its result (about 8 slots), so
 *   filters with wildcards leave a little garbage; names without them none.
 * - XS keeps strings as UTF-8, so `charCodeAt(i)` costs O(i). Walks over
 *   short strings are cheap; validation walks strings longer than `CHUNK`
 *   code units in `CHUNK`-sized substrings so that a 65,535-unit topic stays
 *   linear (a plain walk over one took 3.1 s; chunked, 48 ms). `topicMatches`
 *   walks the strings directly: topics are short in practice.
 *
 * Everything here is synchronous and re-entrant, except that each alias table
 * instance is plain mutable state owned by one session.
 */
import { ErrorCode, MqttError } from "./errors";

// Cached so that calls do not box the string on XS (see the header).
const { charCodeAt, indexOf, startsWith } = String.prototype;

const SLASH = 0x2f;
const PLUS = 0x2b;
const HASH = 0x23;
const DOLLAR = 0x24;

/** Most UTF-8 bytes in a topic name or filter [MQTT-4.7.3-3]. */
export const MAX_TOPIC_BYTES = 65535;

/** Prefix of a shared subscription's topic filter (MQTT 5.0 §4.8.2). */
export const SHARED_SUBSCRIPTION_PREFIX = "$share/";
const SHARE_PREFIX_LENGTH = 7;

/** Highest value a Topic Alias Maximum can take (a Two Byte Integer, MQTT 5.0 §3.1.2.11.5). */
const MAX_TOPIC_ALIAS = 65535;

/**
 * Code units per substring when validating long strings on XS (see header).
 * 256 keeps a 65,535-unit walk near 2 * 65535 * 128 byte steps in XS's C
 * scanner instead of 65535^2 / 2, with substrings small enough for the ESP8266.
 */
const CHUNK = 256;

/**
 * Code units that need the full walk: U+0000, the wildcards, surrogates.
 * Not global or sticky, so `test` never writes `lastIndex`: safe frozen and
 * preloaded. Without a match `test` allocates nothing on XS (measured); a
 * match allocates the match result, and then the walk decides.
 */
const NEEDS_WALK = Object.freeze(/[\0+#\uD800-\uDFFF]/);

/* Outcome of a validation walk: 0 is valid, anything else names the rule broken. */
const Ok = 0;
const NotString = 1;
const Empty = 2;
const NullCharacter = 3;
const TooLong = 4;
const LoneSurrogate = 5;
const WildcardInName = 6;
const MultiLevelWildcard = 7;
const SingleLevelWildcard = 8;
const ShareNameEmpty = 9;
const ShareNameCharacters = 10;
const SharedFilterMissing = 11;

const ruleMessages: readonly string[] = Object.freeze([
  "valid",
  "must be a string",
  "must be at least one character long [MQTT-4.7.3-1]",
  "must not contain the null character U+0000 [MQTT-4.7.3-2]",
  "must not encode to more than 65535 UTF-8 bytes [MQTT-4.7.3-3]",
  "must be well-formed: a lone surrogate has no UTF-8 encoding [MQTT-1.5.3-1] (MQTT 5.0: [MQTT-1.5.4-1])",
  "a topic name must not contain the wildcard characters '+' or '#' [MQTT-4.7.1-1] [MQTT-3.3.2-2] (MQTT 5.0: [MQTT-4.7.0-1])",
  "the multi-level wildcard '#' must be alone on the last level [MQTT-4.7.1-2] (MQTT 5.0: [MQTT-4.7.1-1])",
  "the single-level wildcard '+' must occupy an entire level [MQTT-4.7.1-3] (MQTT 5.0: [MQTT-4.7.1-2])",
  "a shared subscription needs a ShareName of at least one character after \"$share/\" [MQTT-4.8.2-1]",
  "a ShareName must not contain '+' or '#' [MQTT-4.8.2-2]",
  "a ShareName must be followed by '/' and a topic filter [MQTT-4.8.2-2]",
]);

/**
 * Returns the first rule `s` breaks (or `Ok`), by the fast path or by one
 * walk over the code units (see the header): length in
 * code units and in UTF-8 bytes, U+0000, lone surrogates, and wildcards
 * (forbidden when `filter` is false, placement-checked when true).
 */
function scan(s: string, filter: boolean): number {
  const length = s.length;
  if (length === 0) return Empty;
  // Every code unit takes at least one UTF-8 byte.
  if (length > MAX_TOPIC_BYTES) return TooLong;
  if (length <= MAX_TOPIC_BYTES / 3 && !NEEDS_WALK.test(s)) return Ok;
  let bytes = 0;
  // The unit before the current one; a virtual '/' before the first level.
  let previous = SLASH;
  let highSurrogate = false;
  for (let base = 0; base < length; base += CHUNK) {
    const part = length <= CHUNK ? s : s.substring(base, base + CHUNK);
    const partLength = length <= CHUNK ? length : part.length;
    for (let i = 0; i < partLength; i++) {
      const c = charCodeAt.call(part, i);
      if (highSurrogate) {
        // A pair may straddle two chunks; the state carries over.
        if (c < 0xdc00 || c > 0xdfff) return LoneSurrogate;
        highSurrogate = false;
        bytes += 4;
        previous = c;
        continue;
      }
      if (previous === HASH) return MultiLevelWildcard;
      if (previous === PLUS && c !== SLASH) return SingleLevelWildcard;
      if (c < 0x80) {
        bytes += 1;
        if (c === 0) return NullCharacter;
        if (c === PLUS || c === HASH) {
          if (!filter) return WildcardInName;
          if (previous !== SLASH) return c === PLUS ? SingleLevelWildcard : MultiLevelWildcard;
        }
      } else if (c < 0x800) {
        bytes += 2;
      } else if (c >= 0xd800 && c <= 0xdbff) {
        highSurrogate = true;
      } else if (c >= 0xdc00 && c <= 0xdfff) {
        return LoneSurrogate;
      } else {
        bytes += 3;
      }
      previous = c;
    }
  }
  if (highSurrogate) return LoneSurrogate;
  if (bytes > MAX_TOPIC_BYTES) return TooLong;
  return Ok;
}

function checkName(s: unknown): number {
  if (typeof s !== "string") return NotString;
  return scan(s, false);
}

/** Checks the `$share/<ShareName>/` part, if any, then the whole filter. */
function checkFilter(s: unknown): number {
  if (typeof s !== "string") return NotString;
  if (startsWith.call(s, SHARED_SUBSCRIPTION_PREFIX)) {
    const length = s.length;
    const slash = indexOf.call(s, "/", SHARE_PREFIX_LENGTH);
    if (slash === SHARE_PREFIX_LENGTH || length === SHARE_PREFIX_LENGTH) return ShareNameEmpty;
    const plus = indexOf.call(s, "+", SHARE_PREFIX_LENGTH);
    const hash = indexOf.call(s, "#", SHARE_PREFIX_LENGTH);
    const nameEnd = slash < 0 ? length : slash;
    if ((plus >= 0 && plus < nameEnd) || (hash >= 0 && hash < nameEnd)) return ShareNameCharacters;
    if (slash < 0 || slash === length - 1) return SharedFilterMissing;
  }
  return scan(s, true);
}

function describe(kind: string, s: unknown, rule: number): string {
  const shown = typeof s === "string" ? JSON.stringify(s.length > 60 ? s.slice(0, 60) + "..." : s) : typeof s;
  return `invalid ${kind} ${shown}: ${ruleMessages[rule]}`;
}

/**
 * True when `topic` can be the Topic Name of a PUBLISH: a non-empty string,
 * at most 65,535 UTF-8 bytes, no U+0000, no lone surrogate, no `+` or `#`.
 * Same rules for MQTT 3.1.1 and 5.0. Does not allocate for topics of up to
 * 256 code units. A `$` prefix is allowed (such topics are reserved for the
 * server, but publishing to them is not a syntax error).
 */
export function isValidTopicName(topic: string): boolean {
  return checkName(topic) === Ok;
}

/**
 * True when `filter` can be a Topic Filter in SUBSCRIBE/UNSUBSCRIBE: the
 * rules of `isValidTopicName`, except that `+` may fill a whole level and `#`
 * may fill the last level. A filter starting with `$share/` must also be a
 * well-formed shared subscription `$share/<ShareName>/<filter>` (MQTT 5.0
 * §4.8.2); this is checked for 3.1.1 too, since brokers such as Mosquitto
 * treat that prefix as shared there as well. Does not allocate for filters of
 * up to 256 code units.
 */
export function isValidTopicFilter(filter: string): boolean {
  return checkFilter(filter) === Ok;
}

/**
 * Throws a `TypeError` naming the broken rule unless `isValidTopicName(topic)`.
 * For checking arguments passed to the API; a peer's invalid topic is a
 * protocol error handled by the codec/session, not by this function.
 */
export function assertTopicName(topic: string): void {
  const rule = checkName(topic);
  if (rule !== Ok) throw new TypeError(describe("topic name", topic, rule));
}

/**
 * Throws a `TypeError` naming the broken rule unless `isValidTopicFilter(filter)`.
 * For checking arguments passed to the API.
 */
export function assertTopicFilter(filter: string): void {
  const rule = checkFilter(filter);
  if (rule !== Ok) throw new TypeError(describe("topic filter", filter, rule));
}

/** A shared subscription split into its parts (MQTT 5.0 §4.8.2). */
export interface SharedSubscription {
  /** The ShareName: one or more characters, no `/`, `+` or `#`. */
  readonly group: string;
  /** The topic filter after the ShareName; what the subscription matches. */
  readonly filter: string;
}

/**
 * Splits `$share/<ShareName>/<filter>` into `{ group, filter }`.
 *
 * Returns `null` when `filter` does not start with `$share/` (an ordinary
 * filter). Throws a `TypeError` naming the rule when it starts with `$share/`
 * but is not a valid shared subscription [MQTT-4.8.2-1] [MQTT-4.8.2-2], or
 * when any other topic filter rule is broken. Allocates the result and its
 * two strings; meant for subscribe time, not for every message.
 */
export function parseSharedSubscription(filter: string): SharedSubscription | null {
  if (typeof filter === "string" && !startsWith.call(filter, SHARED_SUBSCRIPTION_PREFIX)) return null;
  assertTopicFilter(filter);
  const slash = indexOf.call(filter, "/", SHARE_PREFIX_LENGTH);
  return Object.freeze({
    group: filter.substring(SHARE_PREFIX_LENGTH, slash),
    filter: filter.substring(slash + 1),
  });
}

/**
 * True when the Topic Filter `filter` matches the Topic Name `name`.
 *
 * - `+` (a whole level) matches exactly one level, which may be empty:
 *   `sport/+` matches `sport/` but not `sport` (MQTT 3.1.1 §4.7.1.3).
 * - `#` (the whole last level) matches any number of levels, zero included:
 *   `sport/#` matches `sport`, `sport/` and `sport/a/b` (§4.7.1.2).
 * - A filter that starts with `+` or `#` does not match a name that starts
 *   with `$` [MQTT-4.7.2-1]; `$SYS/#` does match `$SYS/x`.
 * - `$share/<ShareName>/<f>` matches what `<f>` matches (MQTT 5.0 §4.8.2);
 *   a `$share/` filter without the second `/` matches nothing.
 * - Everything else compares code unit by code unit (case-sensitive).
 *
 * Expects arguments that pass `isValidTopicFilter` / `isValidTopicName` and
 * does not check them again (it is called for every subscription on every
 * inbound message). On other strings it still answers, treating `+`/`#`
 * that do not fill a level as ordinary characters and ignoring filter levels
 * after a `#` level. Never allocates; cost is linear in the compared prefix
 * (on XS, quadratic in topic length: see the module header).
 */
export function topicMatches(filter: string, name: string): boolean {
  let f = 0;
  if (startsWith.call(filter, SHARED_SUBSCRIPTION_PREFIX)) {
    const slash = indexOf.call(filter, "/", SHARE_PREFIX_LENGTH);
    if (slash < 0) return false;
    f = slash + 1;
  } else if (indexOf.call(filter, "+") < 0 && indexOf.call(filter, "#") < 0) {
    // No wildcard: a plain comparison, done natively (a fast path on XS).
    return filter === name;
  }
  // charCodeAt is NaN past the end of a string: `x !== x` tests for the end.
  let fc = charCodeAt.call(filter, f);
  if ((fc === PLUS || fc === HASH) && charCodeAt.call(name, 0) === DOLLAR) return false; // [MQTT-4.7.2-1]
  let n = 0;
  let nc: number;
  let nameDone = false; // true once the name has no level left
  // At the top of the loop f and n are at the start of a level; fc is the
  // filter's code unit at f.
  for (;;) {
    let plus = false;
    let after = 0;
    if (fc === PLUS || fc === HASH) {
      after = charCodeAt.call(filter, f + 1);
      if (after !== after || after === SLASH) {
        // The wildcard fills its level.
        if (fc === HASH) return true;
        plus = true;
      }
    }
    if (nameDone) return false;
    nc = charCodeAt.call(name, n);
    if (plus) {
      while (nc === nc && nc !== SLASH) nc = charCodeAt.call(name, ++n);
      f++;
      fc = after;
    } else {
      while (fc === fc && fc !== SLASH) {
        if (nc !== fc) return false;
        fc = charCodeAt.call(filter, ++f);
        nc = charCodeAt.call(name, ++n);
      }
      if (nc === nc && nc !== SLASH) return false;
    }
    // Both levels ended: fc and nc are each '/' or NaN (end of string).
    if (fc !== fc) return nc !== nc;
    fc = charCodeAt.call(filter, ++f);
    if (nc === nc) n++;
    else nameDone = true;
  }
}

function checkAliasMaximum(value: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > MAX_TOPIC_ALIAS) {
    throw new RangeError(`${what} must be an integer from 0 to 65535 (MQTT 5.0 §3.1.2.11.5, §3.2.2.3.8), got ${value}`);
  }
}

/**
 * Inbound topic aliases: what the server's aliases stand for on this
 * connection (MQTT 5.0 §3.3.2.3.4).
 *
 * Holds `maximum` slots, allocated once by the constructor; `maximum` is the
 * Topic Alias Maximum this client sent in CONNECT (0 or absent: the server
 * must not use aliases, and any alias it sends is invalid). The owner calls
 * `resolve()` for every inbound v5 PUBLISH, and `reset()` at the start of every
 * network connection: mappings never carry over [MQTT-3.3.2-7].
 *
 * RAM: one array of `maximum` string references (the strings themselves are
 * the decoded topic names, shared, not copied).
 */
export class InboundTopicAliases {
  /** The Topic Alias Maximum we sent in CONNECT: aliases 1..maximum are accepted [MQTT-3.3.2-10]. */
  readonly maximum: number;
  private readonly topics: string[];
  private mapped: number;

  /** @param maximum 0..65535; RangeError otherwise. */
  constructor(maximum: number) {
    checkAliasMaximum(maximum, "Topic Alias Maximum");
    this.maximum = maximum;
    // "" marks a free slot: a mapped topic name is never empty.
    this.topics = new Array<string>(maximum).fill("");
    this.mapped = 0;
  }

  /** Number of aliases currently mapped. */
  get size(): number {
    return this.mapped;
  }

  /**
   * Returns the topic name a PUBLISH stands for, and records a new or changed
   * mapping when it carries both a Topic Name and a Topic Alias.
   *
   * @param topicName the Topic Name field as decoded ("" when empty).
   * @param topicAlias the Topic Alias property, `undefined` when absent.
   * @returns `topicName` when it is non-empty, else the mapped name.
   * @throws MqttError (source "remote"): `TopicAliasInvalid` (0x94) for an
   *   alias of 0 [MQTT-3.3.2-8] or above `maximum` [MQTT-3.3.2-11];
   *   `ProtocolError` (0x82) for an empty Topic Name with no alias
   *   (MQTT 5.0 §3.3.2.1) or with an alias that has no mapping
   *   (MQTT 5.0 §3.3.2.3.4). Either way the session must send DISCONNECT
   *   with that reason code. The table is unchanged when it throws.
   *
   * Does not check the topic name itself (wildcards etc.): that is the
   * decoder's job.
   */
  resolve(topicName: string, topicAlias: number | undefined): string {
    if (topicAlias === undefined) {
      if (topicName === "") {
        throw new MqttError(ErrorCode.ProtocolError, "PUBLISH with an empty Topic Name and no Topic Alias (MQTT 5.0 §3.3.2.1)", "remote");
      }
      return topicName;
    }
    if (!Number.isInteger(topicAlias) || topicAlias < 1 || topicAlias > this.maximum) {
      throw new MqttError(
        ErrorCode.TopicAliasInvalid,
        `Topic Alias ${topicAlias} is outside 1..${this.maximum}, our Topic Alias Maximum [MQTT-3.3.2-8] [MQTT-3.3.2-11]`,
        "remote",
      );
    }
    const slot = topicAlias - 1;
    if (topicName !== "") {
      if (this.topics[slot] === "") this.mapped++;
      this.topics[slot] = topicName;
      return topicName;
    }
    const mapped = this.topics[slot];
    if (mapped === "") {
      throw new MqttError(ErrorCode.ProtocolError, `Topic Alias ${topicAlias} has no mapping on this connection (MQTT 5.0 §3.3.2.3.4)`, "remote");
    }
    return mapped;
  }

  /** The topic name mapped to `topicAlias`, or `undefined`. No side effects. */
  get(topicAlias: number): string | undefined {
    if (!Number.isInteger(topicAlias) || topicAlias < 1 || topicAlias > this.maximum) return undefined;
    const mapped = this.topics[topicAlias - 1];
    return mapped === "" ? undefined : mapped;
  }

  /** Forgets every mapping. Call at the start of each network connection [MQTT-3.3.2-7]. */
  reset(): void {
    this.topics.fill("");
    this.mapped = 0;
  }
}

/**
 * Outbound topic aliases: which alias stands for which topic name in the
 * PUBLISH packets this client sends (MQTT 5.0 §3.3.2.3.4).
 *
 * `capacity` slots are allocated once by the constructor. On each connection
 * the usable aliases are 1..`limit`, where `limit` is the smaller of
 * `capacity` and the Topic Alias Maximum from the server's CONNACK (0 when
 * absent: no aliases) [MQTT-3.3.2-9]. The owner:
 * 1. calls `reset(serverTopicAliasMaximum)` when the CONNACK arrives;
 * 2. calls `assign(topic)` for a PUBLISH at the moment it writes that PUBLISH
 *    to the connection (in wire order, not when the message is queued: a
 *    mapping exists for the server only once the PUBLISH that carries the
 *    Topic Name and the alias has been sent ahead of the ones that use it);
 * 3. never stores an alias in a record that may be resent on a later
 *    connection (MQTT 5.0 resends happen only on reconnect [MQTT-4.4.0-1], and
 *    the new connection has no mappings).
 *
 * When all `limit` aliases are taken, the alias least recently returned by
 * `assign()` is remapped to the new topic (LRU). Lookups are a linear scan
 * over at most `limit` slots, so keep `capacity` modest (tens, not
 * thousands); they never allocate.
 *
 * RAM: one array of `capacity` string references plus one Float64Array of
 * `capacity` use stamps.
 */
export class OutboundTopicAliases {
  /** Slots allocated at construction: the most aliases ever used at once. */
  readonly capacity: number;
  private isNew: boolean;
  private currentLimit: number;
  private readonly topics: string[];
  private readonly lastUse: Float64Array;
  private used: number;
  private clock: number;

  /**
   * @param capacity 0..65535 (RangeError otherwise). Starts with
   *   `limit === capacity`, so `new OutboundTopicAliases(serverMaximum)` is
   *   ready for one connection; a long-lived table is bounded per connection
   *   with `reset(serverMaximum)`.
   */
  constructor(capacity: number) {
    checkAliasMaximum(capacity, "Topic alias capacity");
    this.capacity = capacity;
    this.currentLimit = capacity;
    // "" marks a free slot; aliases 1..used are mapped, used grows to limit.
    this.topics = new Array<string>(capacity).fill("");
    this.lastUse = new Float64Array(capacity);
    this.used = 0;
    this.clock = 0;
    this.isNew = false;
  }

  /**
   * After `assign()`: true when the returned alias is new or remapped, so the
   * PUBLISH must carry the Topic Name and the alias; false when the server
   * already knows it, so the PUBLISH carries the alias and an empty Topic
   * Name (and after `assign()` returned 0). Read it right after `assign()`.
   */
  get newMapping(): boolean {
    return this.isNew;
  }

  /** Aliases usable on this connection: min(capacity, the server's Topic Alias Maximum). */
  get limit(): number {
    return this.currentLimit;
  }

  /** Number of aliases currently mapped (at most `limit`). */
  get size(): number {
    return this.used;
  }

  /**
   * The alias to put in a PUBLISH for `topic`, mapping one if needed.
   *
   * @param topic a valid, non-empty topic name (TypeError if empty; not
   *   otherwise re-validated).
   * @returns 0 when aliases are off (`limit === 0`): send the Topic Name
   *   only. Otherwise an alias in 1..limit [MQTT-3.3.2-8] [MQTT-3.3.2-9]; see
   *   `newMapping` for whether the Topic Name must go with it. Marks the
   *   alias as most recently used.
   */
  assign(topic: string): number {
    if (topic === "") throw new TypeError("a topic name must be at least one character long [MQTT-4.7.3-1]");
    this.isNew = false;
    const limit = this.currentLimit;
    if (limit === 0) return 0;
    const topics = this.topics;
    const stamp = ++this.clock;
    const used = this.used;
    for (let i = 0; i < used; i++) {
      if (topics[i] === topic) {
        this.lastUse[i] = stamp;
        return i + 1;
      }
    }
    let slot: number;
    if (used < limit) {
      slot = used;
      this.used = used + 1;
    } else {
      const lastUse = this.lastUse;
      slot = 0;
      for (let i = 1; i < used; i++) if (lastUse[i] < lastUse[slot]) slot = i;
    }
    topics[slot] = topic;
    this.lastUse[slot] = stamp;
    this.isNew = true;
    return slot + 1;
  }

  /** The alias the server knows for `topic` on this connection, or 0. No side effects (does not refresh LRU order). */
  lookup(topic: string): number {
    const topics = this.topics;
    for (let i = 0; i < this.used; i++) if (topics[i] === topic) return i + 1;
    return 0;
  }

  /**
   * Forgets every mapping (call for each new connection [MQTT-3.3.2-7]).
   *
   * @param serverMaximum the Topic Alias Maximum from this connection's
   *   CONNACK, 0 when absent; sets `limit = min(capacity, serverMaximum)`.
   *   When omitted, `limit` stays as it was. RangeError unless 0..65535.
   */
  reset(serverMaximum?: number): void {
    if (serverMaximum !== undefined) {
      checkAliasMaximum(serverMaximum, "Server Topic Alias Maximum");
      this.currentLimit = serverMaximum < this.capacity ? serverMaximum : this.capacity;
    }
    this.topics.fill("");
    this.lastUse.fill(0);
    this.used = 0;
    this.clock = 0;
    this.isNew = false;
  }
}
