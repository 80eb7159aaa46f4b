/**
 * The demo's terminal view: a small model of what the observer client saw
 * (status, state, mode per node) plus what the demo did (kills, restarts,
 * XS worker meters), drawn one of two ways:
 *
 * - TTY: a full-screen table redrawn twice a second on the alternate screen
 *   (ANSI: cursor home, clear to end of line/screen, colours), with the last
 *   events underneath. The normal screen is restored on `close()`.
 * - not a TTY (a pipe, a log file, CI): one plain line per event,
 *   `[  12.3s] <node> <what>`, nothing else; stable enough for a test to
 *   read.
 *
 * Node-only demo tooling.
 */

/** One node as the view knows it. */
export interface NodeRow {
  id: string;
  kind: "thermostat" | "soil";
  status: string | undefined;
  statusAt: number;
  state: Record<string, unknown> | undefined;
  stateAt: number;
  states: number;
  online: number;
  offline: number;
  wills: number;
  mode: string | undefined;
  phase: string | undefined;
  cycle: number;
  pid: number | undefined;
  starts: number;
  heap: number | undefined;
  compute: number | undefined;
  /** Between a kill and the restart. */
  killed: boolean;
  /** During the graceful shutdown. */
  stopping: boolean;
}

/** Header lines: what runs where. */
export interface ViewInfo {
  title: string;
  broker: string;
  subscribe: string;
  keys: string;
}

const ESC = "\x1b[";
const green = (s: string): string => `${ESC}32m${s}${ESC}0m`;
const red = (s: string): string => `${ESC}31m${s}${ESC}0m`;
const yellow = (s: string): string => `${ESC}33m${s}${ESC}0m`;
const dim = (s: string): string => `${ESC}2m${s}${ESC}0m`;
const bold = (s: string): string => `${ESC}1m${s}${ESC}0m`;

function visibleLength(s: string): number {
  // Strip colour sequences (CSI ... m) before measuring.
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) === 0x1b) {
      while (i < s.length && s[i] !== "m") i++;
      continue;
    }
    n++;
  }
  return n;
}

function pad(s: string, width: number): string {
  const n = visibleLength(s);
  return n >= width ? s : s + " ".repeat(width - n);
}

function num(value: unknown, digits: number): string {
  return typeof value === "number" ? value.toFixed(digits) : "–";
}

function age(ms: number): string {
  if (ms < 0 || !Number.isFinite(ms)) return "";
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)}s` : `${Math.round(ms / 1000)}s`;
}

/** The telemetry column for a row. */
export function telemetryText(row: NodeRow): string {
  const s = row.state;
  if (s === undefined) return "(no telemetry yet)";
  if (row.kind === "thermostat") {
    const heater = s.heater === true ? "heater ON" : s.heater === false ? "heater off" : "";
    return `${num(s.temperature, 2)} °C  ${num(s.humidity, 1)} %RH  setpoint ${num(s.setpoint, 1)}  ${row.mode ?? (s.heating ? "heat" : "off")}  ${heater}`;
  }
  const phase = row.phase === undefined ? "" : `  (${row.phase}${row.cycle ? `, wake #${row.cycle}` : ""})`;
  return `moisture ${num(s.moisture, 1)} %  raw ${num(s.raw, 0)}${phase}`;
}

/** The demo's view (see the module header). */
export class DemoView {
  readonly rows: NodeRow[] = [];
  readonly tty: boolean;
  private readonly out: NodeJS.WriteStream;
  private readonly started = Date.now();
  private readonly log: string[] = [];
  private info: ViewInfo | undefined;
  private timer: NodeJS.Timeout | undefined;
  private footer = "";
  private closed = false;

  /** `tty` false forces plain lines. */
  constructor(out: NodeJS.WriteStream, tty: boolean) {
    this.out = out;
    this.tty = tty;
  }

  /** Adds a node row. */
  add(id: string, kind: NodeRow["kind"]): NodeRow {
    const row: NodeRow = {
      id,
      kind,
      status: undefined,
      statusAt: 0,
      state: undefined,
      stateAt: 0,
      states: 0,
      online: 0,
      offline: 0,
      wills: 0,
      mode: undefined,
      phase: undefined,
      cycle: 0,
      pid: undefined,
      starts: 0,
      heap: undefined,
      compute: undefined,
      killed: false,
      stopping: false,
    };
    this.rows.push(row);
    return row;
  }

  /** The row of node `id`. */
  row(id: string): NodeRow | undefined {
    return this.rows.find((r) => r.id === id);
  }

  /** Seconds since start, for the plain lines. */
  elapsed(): number {
    return (Date.now() - this.started) / 1000;
  }

  /** Starts drawing: the header (plain: printed once), then redraws twice a second (TTY). */
  begin(info: ViewInfo): void {
    this.info = info;
    if (!this.tty) {
      this.line(`${info.title}`);
      this.line(`broker ${info.broker}`);
      this.line(`subscribe with: ${info.subscribe}`);
      return;
    }
    this.out.write(`${ESC}?1049h${ESC}?25l`);
    this.draw();
    this.timer = setInterval(() => this.draw(), 500);
  }

  /** An event: a plain line, or a line in the TTY view's recent list. */
  event(text: string): void {
    if (this.closed) return;
    if (!this.tty) {
      this.line(text);
      return;
    }
    const t = new Date();
    const stamp = `${String(t.getHours()).padStart(2, "0")}:${String(t.getMinutes()).padStart(2, "0")}:${String(t.getSeconds()).padStart(2, "0")}`;
    this.log.push(`${dim(stamp)}  ${text}`);
    if (this.log.length > 12) this.log.shift();
  }

  /** A status line under the table (TTY), e.g. the next kill. */
  setFooter(text: string): void {
    this.footer = text;
  }

  /** Stops drawing and restores the terminal. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    if (this.tty) this.out.write(`${ESC}?25h${ESC}?1049l`);
  }

  /** Writes a plain line (also after `close`, e.g. the summary). */
  line(text: string): void {
    this.out.write(`[${this.elapsed().toFixed(1).padStart(6)}s] ${text}\n`);
  }

  private draw(): void {
    const info = this.info;
    if (info === undefined || this.closed) return;
    const now = Date.now();
    const lines: string[] = [];
    lines.push(bold(info.title));
    lines.push(`broker    ${info.broker}`);
    lines.push(`subscribe ${info.subscribe}`);
    lines.push(dim(`${info.keys}    uptime ${Math.floor(this.elapsed())}s`));
    lines.push("");
    lines.push(bold(`${pad("NODE", 15)}${pad("STATUS", 10)}${pad("TELEMETRY", 62)}${pad("AGE", 7)}XS WORKER`));
    for (const row of this.rows) {
      const status = row.status === "online" ? green("online") : row.status === "offline" ? red("offline") : dim(row.status ?? "?");
      const worker = row.killed ? yellow("killed") : row.pid === undefined ? dim("–") : `pid ${row.pid}`;
      const meters = row.heap === undefined ? "" : dim(` · heap ${row.heap} slots · ${(row.compute! / 1e6).toFixed(1)}M steps`);
      const starts = row.starts > 1 ? dim(` · start #${row.starts}`) : "";
      lines.push(`${pad(row.id, 15)}${pad(status, 10)}${pad(telemetryText(row), 62)}${pad(row.stateAt ? age(now - row.stateAt) : "", 7)}${worker}${starts}${meters}`);
    }
    lines.push("");
    lines.push(dim(`${this.rows.map((r) => `${r.id}: ${r.states} states, online ×${r.online}, offline ×${r.offline} (will ×${r.wills})`).join("   ")}`));
    if (this.footer) lines.push(this.footer);
    lines.push("");
    lines.push(bold("recent"));
    for (const entry of this.log) lines.push(`  ${entry}`);
    const text = lines.map((l) => `${l}${ESC}K`).join("\n");
    this.out.write(`${ESC}H${text}\n${ESC}J`);
  }
}
