/**
 * Turns the figures of one run into the stdout table and bench/RESULTS.md,
 * and checks them against the targets of the benchmark issue. Pure
 * functions over the `Results` object that bench/results.json holds.
 */
import type { XsFigures } from "./xs-meters";
import type { NodeMicroFigures } from "./node-micro";

/** Median throughput of one QoS (results.json `throughput.qosN`). */
export interface ThroughputEntry {
  /** msg/s */
  ours: number;
  mqttjs: number;
  ceiling: number;
  /** ours / mqttjs, from the medians. */
  ratio: number;
  messages: number;
  oursOfCeiling: number;
  mqttjsOfCeiling: number;
  /** Median over rounds of each round's ratio: paired figures, measured seconds apart (what the targets are checked on). */
  ratioMedianOfRounds: number;
  oursOfCeilingMedianOfRounds: number;
  mqttjsOfCeilingMedianOfRounds: number;
  rounds: Array<{
    ours: number;
    mqttjs: number;
    ceiling: number;
    ratio: number;
    oursOfCeiling: number;
    mqttjsOfCeiling: number;
    cpuUsPerMessage: Record<string, number>;
    /** Diagnostic implementations of BENCH_EXTRA_IMPLS, when given. */
    extra?: Record<string, { rate: number; cpuUs: number }>;
  }>;
  /**
   * QoS 1/2: the raw ceiling run with ours' default in-flight window (Node entry: 256 for QoS 1, 16 for QoS 2):
   * msg/s and CPU us/msg (medians), and ours as a fraction of it (median of
   * the per-round ratios). Separates the window's cost from the client's.
   */
  ceilingWithOursWindow?: { window: number; rate: number; cpuUsPerMessage: number; oursOfItMedianOfRounds: number };
  /** Publisher process CPU time (user + system) per message over the measured part, microseconds (median of rounds). */
  cpuUsPerMessage: { ours: number; mqttjs: number; ceiling: number };
  peakRssKb: { ours: number; mqttjs: number; ceiling: number };
}

export interface LatencyFigures {
  /** ms */
  p50: number;
  p99: number;
  samples: number;
  lost: number;
  rounds: Array<{ p50: number; p99: number }>;
  peakRssKb: number;
}

export interface LatencyEntry {
  ours: LatencyFigures;
  mqttjs: LatencyFigures;
  "mqttjs-nodelay": LatencyFigures;
  ceiling: LatencyFigures;
  /** From the pooled percentiles. */
  p50VsCeiling: number;
  p99VsCeiling: number;
  /** Median over rounds of each round's ours/ceiling (what the targets are checked on). */
  p50VsCeilingMedianOfRounds: number;
  p99VsCeilingMedianOfRounds: number;
}

export interface BytesRow {
  name: string;
  impl: string;
  version: string;
  firstUp: number;
  firstDown: number;
  upPerMessage: number;
  downPerMessage: number;
  totalPerMessage: number;
}

export interface Results {
  date: string;
  environment: {
    node: string;
    xs: string;
    mqttjs: string;
    mosquitto: string;
    /** os.cpus()[0].model */
    cpu: string;
    cores: number;
    memoryMb: number;
    os: string;
    loadAverage?: { start: number[]; end: number[] };
    /** The commit measured and the files under modules/ and hosts/ that differed from it. */
    git?: { commit: string; uncommitted: string[] };
  };
  config: Record<string, unknown>;
  rssIdleKb?: Record<string, number>;
  throughput?: { qos0: ThroughputEntry; qos1: ThroughputEntry; qos2: ThroughputEntry };
  latency?: { qos0: LatencyEntry; qos1: LatencyEntry; qos2: LatencyEntry };
  bytes?: { qos: number; messages: number; protocolMinimum311: number; rows: BytesRow[]; aliasSaving: number; aliasSavingVs50: number };
  rss?: { oursPeakMb: number; mqttjsPeakMb: number; ceilingPeakMb: number; emptyNodeMb: number; method: string };
  xs?: XsFigures;
  /** The client's own CPU per operation on Node, in-memory socket (bench/node-micro.ts). */
  nodeMicro?: NodeMicroFigures;
  targets?: Target[];
  durationS?: number;
}

export interface Target {
  name: string;
  value: string;
  target: string;
  met: boolean;
}

const QOS = ["qos0", "qos1", "qos2"] as const;

function f0(n: number): string {
  return Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "-";
}

function f2(n: number): string {
  return Number.isFinite(n) ? n.toFixed(2) : "-";
}

function f3(n: number): string {
  return Number.isFinite(n) ? n.toFixed(3) : "-";
}

function mb(kb: number): string {
  return Number.isFinite(kb) ? (kb / 1024).toFixed(1) : "-";
}

/** A plain-text table: first row is the header; columns padded, numbers right-aligned. */
function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  const line = (row: string[]): string =>
    row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join("  ").trimEnd();
  const out = [line(rows[0]), widths.map((w) => "-".repeat(w)).join("  ")];
  for (const row of rows.slice(1)) out.push(line(row));
  return out.join("\n");
}

/** The same rows as a Markdown table. */
function mdTable(rows: string[][]): string {
  const out = [`| ${rows[0].join(" | ")} |`, `|${rows[0].map((_, i) => (i === 0 ? " --- " : " ---: ")).join("|")}|`];
  for (const row of rows.slice(1)) out.push(`| ${row.join(" | ")} |`);
  return out.join("\n");
}

/** Checks the issue's targets against `r` (only for the sections present). */
export function evaluateTargets(r: Results): Target[] {
  const t: Target[] = [];
  const tp = r.throughput;
  if (tp !== undefined) {
    const want = { qos0: [0.95, 1.15], qos1: [0.9, 1.6], qos2: [0.9, 2.5] } as const;
    // Checked on the median of the per-round (paired) ratios; the ratio of the medians is shown too.
    for (const q of QOS) {
      const e = tp[q];
      const ofCeiling = e.oursOfCeilingMedianOfRounds;
      const ratio = e.ratioMedianOfRounds;
      t.push({ name: `throughput ${q.toUpperCase()} vs ceiling`, value: `${f2(ofCeiling)} (${f2(e.oursOfCeiling)})`, target: `>= ${want[q][0]}`, met: ofCeiling >= want[q][0] });
      t.push({ name: `throughput ${q.toUpperCase()} vs MQTT.js`, value: `${f2(ratio)}x (${f2(e.ratio)}x)`, target: `>= ${want[q][1]}x`, met: ratio >= want[q][1] });
    }
  }
  const lat = r.latency;
  if (lat !== undefined) {
    for (const q of QOS) {
      const e = lat[q];
      const p50 = e.p50VsCeilingMedianOfRounds;
      const p99 = e.p99VsCeilingMedianOfRounds;
      t.push({ name: `latency ${q.toUpperCase()} p50 vs ceiling`, value: `${f2(p50)}x (${f2(e.p50VsCeiling)}x)`, target: "<= 1.5x", met: p50 <= 1.5 });
      t.push({ name: `latency ${q.toUpperCase()} p99 vs ceiling`, value: `${f2(p99)}x (${f2(e.p99VsCeiling)}x)`, target: "<= 3x", met: p99 <= 3 });
    }
  }
  if (r.rss !== undefined) {
    t.push({ name: "peak RSS, ours (any workload)", value: `${r.rss.oursPeakMb.toFixed(1)} MB`, target: "<= 60 MB", met: r.rss.oursPeakMb <= 60 });
  }
  const b = r.bytes;
  if (b !== undefined) {
    const ours311 = b.rows.find((row) => row.impl === "ours" && row.version === "3.1.1");
    if (ours311 !== undefined) {
      t.push({
        name: "bytes per QoS 1 PUBLISH, 3.1.1",
        value: `${ours311.upPerMessage}`,
        target: `= ${b.protocolMinimum311} (protocol minimum)`,
        met: ours311.upPerMessage === b.protocolMinimum311,
      });
    }
    t.push({ name: "bytes saved by topic alias (vs 3.1.1)", value: `${(b.aliasSaving * 100).toFixed(1)}%`, target: ">= 40%", met: b.aliasSaving >= 0.4 });
  }
  const xs = r.xs;
  if (xs !== undefined) {
    const flat = Math.max(Math.abs(xs.offline.qos0.growthPercent), Math.abs(xs.offline.qos1.growthPercent));
    t.push({ name: "XS heap across 10,000 offline publishes", value: `${flat.toFixed(2)}%`, target: "within 1%", met: flat <= 1 });
    const retained = Math.max(xs.qos0Publish.slotsRetained, xs.qos1PublishAck.slotsRetained, xs.rxQos0.slotsRetained);
    t.push({ name: "XS heap growth per message once connected (live after gc)", value: `${f3(retained)} slots`, target: "0 (< 0.01)", met: retained < 0.01 });
    const steps: Array<[string, number, number]> = [
      ["XS compute, QoS 0 publish", xs.qos0Publish.compute, xs.moddable.qos0Publish],
      ["XS compute, QoS 1 publish + PUBACK", xs.qos1PublishAck.compute, xs.moddable.qos1PublishAck],
      ["XS compute, received QoS 0 message", xs.rxQos0.compute, xs.moddable.rxQos0],
    ];
    for (const [name, ours, moddable] of steps) {
      t.push({ name: `${name} vs Moddable`, value: `${f0(ours)} (${f2(ours / moddable)}x)`, target: `<= ${f0(moddable / 2)} (0.5x of ${f0(moddable)})`, met: ours <= moddable / 2 });
    }
  }
  return t;
}

interface Sections {
  title: string;
  blocks: Array<{ heading: string; rows?: string[][]; notes?: string[] }>;
}

function sections(r: Results): Sections {
  const env = r.environment;
  const c = r.config as any;
  const blocks: Sections["blocks"] = [];
  const load = env.loadAverage !== undefined ? `, load average ${env.loadAverage.start.map((x) => x.toFixed(2)).join("/")} at start, ${env.loadAverage.end.map((x) => x.toFixed(2)).join("/")} at end` : "";
  const git = env.git !== undefined ? `, commit ${env.git.commit}${env.git.uncommitted.length > 0 ? ` + ${env.git.uncommitted.length} uncommitted file(s) under modules/ and hosts/` : ""}` : "";
  const title =
    `mqtt-xs benchmark, ${r.date.slice(0, 19).replace("T", " ")} UTC${git}: Node ${env.node}, ${env.cpu} x${env.cores}, ${env.os}, ` +
    `Mosquitto ${env.mosquitto}, MQTT.js ${env.mqttjs}, ${env.xs}; ${c.rounds} round(s)${c.quick ? " (QUICK: not comparable)" : ""}${load}`;

  if (r.throughput !== undefined) {
    const rows = [["msg/s (median)", "ours", "MQTT.js", "ceiling", "ours/MQTT.js", "ours/ceiling", "MQTT.js/ceiling", "per round: ours/MQTT.js; ours/ceiling", "CPU us/msg ours / MQTT.js / ceiling", "target"]];
    const targets = { qos0: ">= 0.95 ceil, >= 1.15x", qos1: ">= 0.9 ceil, >= 1.6x", qos2: ">= 0.9 ceil, >= 2.5x" };
    for (const q of QOS) {
      const e = r.throughput[q];
      rows.push([
        `${q.toUpperCase()} (${f0(e.messages)} msgs)`,
        f0(e.ours),
        f0(e.mqttjs),
        f0(e.ceiling),
        `${f2(e.ratio)}x`,
        f2(e.oursOfCeiling),
        f2(e.mqttjsOfCeiling),
        `${e.rounds.map((x) => f2(x.ratio)).join(" ")}; ${e.rounds.map((x) => f2(x.oursOfCeiling)).join(" ")}`,
        `${e.cpuUsPerMessage.ours.toFixed(1)} / ${e.cpuUsPerMessage.mqttjs.toFixed(1)} / ${e.cpuUsPerMessage.ceiling.toFixed(1)}`,
        targets[q],
      ]);
    }
    blocks.push({
      heading: "Throughput, MQTT 3.1.1, 32-byte payload (QoS 0: until a separate subscriber got all; QoS 1/2: until all acknowledged, no subscriber)",
      rows,
      notes: [
        `ours: compatible API (Node entry) at its defaults, at most ${c.oursWindow} publishes outstanding (the default outbox record slots); MQTT.js: defaults, all published at once; ceiling: plain socket, pre-encoded packets, ${c.ceilingWindow} in flight for QoS 1/2.`,
        ...(["qos1", "qos2"] as const).map((q) => {
          const w = r.throughput![q].ceilingWithOursWindow;
          return w === undefined
            ? ""
            : `${q.toUpperCase()}: the ceiling limited to ours' default window of ${w.window} in flight reaches ${f0(w.rate)} msg/s (${w.cpuUsPerMessage.toFixed(1)} us CPU/msg); ours is ${f2(w.oursOfItMedianOfRounds)} of that.`;
        }).filter((x) => x !== ""),
        "Ratios in the middle columns are ratios of the medians (results.json throughput.qosN.ratio); targets are checked on the median of the per-round ratios (each round's figures are measured seconds apart), shown first in the targets table.",
        "CPU us/msg: user + system time of the publishing process per message, from the first publish until the subscriber had every message (QoS 0) or every acknowledgement arrived (QoS 1/2); less sensitive to other load on the machine than msg/s.",
      ],
    });
  }

  if (r.latency !== undefined) {
    const rows = [["ms at 500 msg/s, p50 / p99", "ours", "MQTT.js (defaults: Nagle on)", "MQTT.js + TCP_NODELAY", "ceiling", "ours/ceiling p50", "ours/ceiling p99", "per round: ours/ceiling p50; p99", "target"]];
    for (const q of QOS) {
      const e = r.latency[q];
      const cell = (x: LatencyFigures): string => `${f3(x.p50)} / ${f3(x.p99)}${x.lost ? ` (lost ${x.lost})` : ""}`;
      const perRound = e.ours.rounds.map((x, i) => [x.p50 / e.ceiling.rounds[i].p50, x.p99 / e.ceiling.rounds[i].p99]);
      rows.push([
        q.toUpperCase(),
        cell(e.ours),
        cell(e.mqttjs),
        cell(e["mqttjs-nodelay"]),
        cell(e.ceiling),
        `${f2(e.p50VsCeiling)}x`,
        `${f2(e.p99VsCeiling)}x`,
        `${perRound.map((x) => f2(x[0])).join(" ")}; ${perRound.map((x) => f2(x[1])).join(" ")}`,
        "<= 1.5x / <= 3x",
      ]);
    }
    blocks.push({
      heading: `End-to-end latency (publisher and subscriber of the same kind in one process, subscribed at the same QoS; ${c.latency.messagesPerRound} messages per round after ${c.latency.warmupPerRound} warm-up, all rounds pooled)`,
      rows,
    });
  }

  if (r.bytes !== undefined) {
    const rows = [["bytes per QoS 1 message", "PUBLISH up", "PUBACK down", "total", "first message up"]];
    for (const row of r.bytes.rows) rows.push([row.name, f2(row.upPerMessage), f2(row.downPerMessage), f2(row.totalPerMessage), `${row.firstUp}`]);
    blocks.push({
      heading: "Bytes on the wire (counting proxy, client side; per message after the first, which carries the topic once with an alias)",
      rows,
      notes: [
        `Protocol minimum for this topic and payload in 3.1.1: ${r.bytes.protocolMinimum311} bytes. Topic alias saves ${(r.bytes.aliasSaving * 100).toFixed(1)}% vs our 3.1.1 PUBLISH, ${(r.bytes.aliasSavingVs50 * 100).toFixed(1)}% vs our 5.0 PUBLISH without alias.`,
      ],
    });
  }

  if (r.rss !== undefined && r.throughput !== undefined) {
    const rows = [["peak RSS, MB (maxRSS of the worker process)", "ours", "MQTT.js", "ceiling"]];
    for (const q of QOS) {
      const e = r.throughput[q].peakRssKb;
      rows.push([`throughput ${q.toUpperCase()}`, mb(e.ours), mb(e.mqttjs), mb(e.ceiling)]);
    }
    if (r.latency !== undefined) {
      const peak = (impl: "ours" | "mqttjs" | "ceiling"): number => Math.max(...QOS.map((q) => r.latency![q][impl].peakRssKb));
      rows.push(["latency (max over QoS; publisher + subscriber)", mb(peak("ours")), mb(peak("mqttjs")), mb(peak("ceiling"))]);
    }
    if (r.rssIdleKb !== undefined) rows.push(["idle: module loaded, one client connected", mb(r.rssIdleKb.ours), mb(r.rssIdleKb.mqttjs), "-"]);
    rows.push(["peak over all workloads", r.rss.oursPeakMb.toFixed(1), r.rss.mqttjsPeakMb.toFixed(1), r.rss.ceilingPeakMb.toFixed(1)]);
    blocks.push({
      heading: "Peak RSS: every workload runs in its own child process, so each implementation's peak is its own",
      rows,
      notes: [`An empty Node process (same worker, nothing loaded) peaks at ${r.rss.emptyNodeMb.toFixed(1)} MB here.`],
    });
  }

  if (r.xs !== undefined) {
    const xs = r.xs;
    const rows = [["XS, per operation", "compute", "in-memory transport (subtracted)", "slots allocated", "slots retained", "Moddable ECMA-419 client", "ours/Moddable", "target"]];
    const line = (name: string, s: XsFigures["qos0Publish"], moddable: number): string[] => [
      name,
      f0(s.compute),
      f0(s.transportCompute),
      s.slotsAllocated === null ? "?" : f2(s.slotsAllocated),
      f3(s.slotsRetained),
      f0(moddable),
      `${f2(s.compute / moddable)}x`,
      "<= 0.5x",
    ];
    rows.push(line("QoS 0 publish (encode + hand to transport)", xs.qos0Publish, xs.moddable.qos0Publish));
    rows.push(line("QoS 1 publish + PUBACK", xs.qos1PublishAck, xs.moddable.qos1PublishAck));
    rows.push(line("received QoS 0 message -> callback", xs.rxQos0, xs.moddable.rxQos0));
    rows.push(line("compatible API: QoS 0 publish", xs.compat.qos0Publish, xs.moddable.qos0Publish));
    rows.push(line("compatible API: QoS 1 publish + PUBACK", xs.compat.qos1PublishAck, xs.moddable.qos1PublishAck));
    rows.push(line("compatible API: received QoS 0 -> 'message'", xs.compat.rxQos0, xs.moddable.rxQos0));
    const idle = xs.idleClient;
    const off = xs.offline;
    const breakdown = Object.entries(xs.breakdown)
      .map(([name, v]) => `${name} ${f0(v.compute)}${v.slotsAllocated === null ? "" : ` (${v.slotsAllocated} slots)`}`)
      .join(", ");
    blocks.push({
      heading: `XS engine meters (${xs.engine}; core Client, and the compatible API at its defaults, over an in-memory socket, MQTT 3.1.1; deterministic, ${xs.calls} calls each)`,
      rows,
      notes: [
        `Idle connected client: ${idle.slots} heap slots (${idle.socketSlots} of them the in-memory socket object; Moddable: ${xs.moddable.idleSlots}) + ${f0(idle.arrayBufferBytes)} ArrayBuffer bytes in ${idle.arrayBuffers} buffers (chunks, outside the slot count).`,
        `Offline, 10,000 QoS 0 publish attempts: heap ${off.qos0.before} -> ${off.qos0.after} slots (${off.qos0.growthPercent.toFixed(3)}%), ${off.qos0.afterTwice} after 10,000 more; ${f0(off.qos0.dropped)} oldest QoS 0 dropped by the outbox policy.`,
        `Offline, 10,000 QoS 1 publish attempts: heap ${off.qos1.before} -> ${off.qos1.after} slots (${off.qos1.growthPercent.toFixed(3)}%), ${off.qos1.afterTwice} after 10,000 more; ${off.qos1.queued} queued, the rest refused with OutboxFull.`,
        `Per-layer breakdown (compute per call, slots allocated): ${breakdown}.`,
      ],
    });
  }

  if (r.nodeMicro !== undefined) {
    const m = r.nodeMicro;
    const ns = (name: string): string => (m[name] !== undefined ? f0(m[name].nsPerCall) : "-");
    const rows = [
      ["ns of CPU per operation (V8, in-memory socket)", "core Client", "compatible API (defaults)"],
      ["QoS 0 publish", ns("qos0Publish"), ns("compatQos0Publish")],
      ["QoS 1 publish + PUBACK", ns("qos1PublishAck"), ns("compatQos1PublishAck")],
      ["received QoS 0 message -> callback / 'message'", ns("rxQos0"), ns("compatRxQos0")],
    ];
    const notes = ["The same steps as the XS meters, evaluated in the orchestrator process: median of 5 runs of 100,000 calls after 20,000 warm-up calls."];
    if (r.throughput !== undefined) {
      notes.push(
        `For comparison, the throughput jobs spent ${r.throughput.qos0.cpuUsPerMessage.ours.toFixed(1)} / ${r.throughput.qos1.cpuUsPerMessage.ours.toFixed(1)} / ${r.throughput.qos2.cpuUsPerMessage.ours.toFixed(1)} us of CPU per QoS 0 / 1 / 2 message with a real socket: the rest is the socket path (Node streams, system calls).`,
      );
    }
    blocks.push({ heading: "Client cost on Node without the network", rows, notes });
  }

  if (r.targets !== undefined) {
    const rows = [["target", "measured (throughput: paired median (ratio of medians))", "wanted", "met"]];
    for (const t of r.targets) rows.push([t.name, t.value, t.target, t.met ? "yes" : "NO"]);
    blocks.push({ heading: "Targets (issue: benchmarks)", rows });
  }
  return { title, blocks };
}

/** The readable table printed on stdout. */
export function renderText(r: Results): string {
  const s = sections(r);
  const out = [s.title, ""];
  for (const b of s.blocks) {
    out.push(b.heading);
    if (b.rows !== undefined) out.push(table(b.rows));
    for (const note of b.notes ?? []) out.push(`  ${note}`);
    out.push("");
  }
  if (r.durationS !== undefined) out.push(`(run took ${r.durationS.toFixed(0)} s)`, "");
  return out.join("\n");
}

/** bench/RESULTS.md: the latest run's tables. */
export function renderMarkdown(r: Results): string {
  const s = sections(r);
  const out = [
    "# Benchmark results (latest run)",
    "",
    "Written by `npm run bench` (bench/run.mjs); the method is in [README.md](README.md), every figure in [results.json](results.json).",
    "",
    s.title,
    "",
  ];
  for (const b of s.blocks) {
    out.push(`## ${b.heading}`, "");
    if (b.rows !== undefined) out.push(mdTable(b.rows), "");
    for (const note of b.notes ?? []) out.push(`- ${note}`);
    if ((b.notes ?? []).length > 0) out.push("");
  }
  if (r.durationS !== undefined) out.push(`Run time: ${r.durationS.toFixed(0)} s.`, "");
  return out.join("\n");
}
