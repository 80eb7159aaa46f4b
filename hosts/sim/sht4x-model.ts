/**
 * A command-level model of a Sensirion SHT4x humidity and temperature
 * sensor, for `SimI2C`: what the sensor does on the bus, byte for byte and
 * in simulated time.
 *
 * Theory of operation
 * -------------------
 * The SHT4x has no registers; it executes one-byte commands (Datasheet
 * SHT4x, "Command Overview"). The model is a small state machine:
 *
 * - idle: nothing to send. A read is NACKed.
 * - busy until time B (measuring, or restarting after a soft reset): every
 *   transaction, read or write, is NACKed until `clock.now() >= B` (the
 *   SHT4x does not stretch the clock; it ignores its address while busy).
 * - ready: a response (6 bytes: word, CRC, word, CRC) waits; the next read
 *   returns it (bytes beyond 6 read as 0xFF, the released bus) and the
 *   model goes idle. A new command replaces an unread response.
 *
 * Commands: 0xFD / 0xF6 / 0xE0 start a measurement (high / medium / low
 * precision) that ends after the datasheet's maximum duration (8.3 / 4.5 /
 * 1.7 ms; a worst-case part), with the temperature and humidity set at the
 * time of the command; 0x89 makes the serial number ready at once; 0x94
 * soft-resets (busy for 1 ms, any response dropped). Anything else
 * (including the heater commands, not modelled) is NACKed, as is a write of
 * more than one byte. A write of no bytes (an address probe) is
 * acknowledged when not busy.
 *
 * The CRC here is computed independently of the driver's (polynomial
 * division of the 24-bit word·00 by 0x131 with the init folded into the
 * first byte), so a wrong CRC in either would show in the tests.
 *
 * Every transaction the model sees is recorded in `transactions` (newest
 * last, at most `logLimit`), acknowledged or not, for tests to check the
 * exact bytes on the bus.
 */
import { SimClock } from "./clock";
import type { SimI2CModel } from "./i2c";

/** One bus transaction as the model saw it. `bytes` is what was written, or what was read ([] when NACKed). */
export interface SimI2CTransaction {
  op: "read" | "write";
  address: number;
  bytes: number[];
  ack: boolean;
  stop: boolean;
  /** Simulated time (ms) when the device answered its address. */
  time: number;
}

export interface Sht4xModelOptions {
  /** Simulated time. Default: a new `SimClock` at 0 (read it back from `clock`). */
  clock?: SimClock;
  /** 7-bit address. Default 0x44. */
  address?: number;
  /** Serial number returned by command 0x89, 0..0xFFFFFFFF. Default 0x1A2B3C4D. */
  serialNumber?: number;
  /** Initial temperature, °C. Default 21. */
  temperature?: number;
  /** Initial relative humidity, %RH. Default 45. */
  humidity?: number;
  /** Transactions kept in `transactions`; older ones are dropped. Default 256. */
  logLimit?: number;
}

/** Maximum measurement durations in ms by command (the datasheet's timing table). */
const MEASURE_MS: { readonly [command: number]: number } = Object.freeze({ 0xfd: 8.3, 0xf6: 4.5, 0xe0: 1.7 });
/** Soft reset time, ms (datasheet: at most 1 ms). */
const RESET_MS = 1;

/** Sensirion CRC-8 (poly 0x31, init 0xFF) of a 16-bit word, by long division. */
function crcOfWord(word: number): number {
  let value = ((word ^ 0xff00) & 0xffff) * 256;
  for (let bit = 23; bit >= 8; bit--) {
    if (value & (1 << bit)) value ^= 0x131 << (bit - 8);
  }
  return value & 0xff;
}

function clampTicks(value: number): number {
  const ticks = Math.round(value);
  return ticks < 0 ? 0 : ticks > 0xffff ? 0xffff : ticks;
}

export class Sht4xModel implements SimI2CModel {
  readonly clock: SimClock;
  readonly address: number;
  /** Serial number answered to 0x89. */
  serialNumber: number;
  /** Temperature in °C that the next measurement reports (converted with the datasheet formula, rounded). */
  temperature: number;
  /** Relative humidity in %RH that the next measurement reports. */
  humidity: number;
  /** Exact raw words for the next measurements, overriding `temperature`/`humidity` while not null. */
  rawTemperature: number | null = null;
  rawHumidity: number | null = null;
  /** Transactions seen, oldest first. */
  readonly transactions: SimI2CTransaction[] = [];
  /** Count of measurement commands accepted. */
  measurements = 0;
  /** Count of soft resets accepted. */
  resets = 0;

  private readonly logLimit: number;
  private busyUntil = -Infinity;
  private response: Uint8Array | null = null;
  private corruptWord = -1;

  constructor(options: Sht4xModelOptions = {}) {
    this.clock = options.clock ?? new SimClock();
    this.address = options.address ?? 0x44;
    this.serialNumber = options.serialNumber ?? 0x1a2b3c4d;
    this.temperature = options.temperature ?? 21;
    this.humidity = options.humidity ?? 45;
    this.logLimit = options.logLimit ?? 256;
    if (!Number.isInteger(this.address) || this.address < 0 || this.address > 127) throw new RangeError("Sht4xModel: address 0..127");
    if (!Number.isInteger(this.logLimit) || this.logLimit < 0) throw new RangeError("Sht4xModel: logLimit must be an integer >= 0");
  }

  /** True while a measurement or reset is in progress (the sensor NACKs everything). */
  get busy(): boolean {
    return this.clock.now() < this.busyUntil;
  }

  /** Sets the raw words of the next measurements (0..0xFFFF each); `null` goes back to `temperature`/`humidity`. */
  setRaw(temperatureTicks: number | null, humidityTicks: number | null): void {
    this.rawTemperature = temperatureTicks;
    this.rawHumidity = humidityTicks;
  }

  /**
   * Fault injection: the next response the sensor prepares (for the next
   * measurement or serial-number command) carries a wrong CRC on word `word`
   * (0 = first, the temperature; 1 = second, the humidity): the CRC byte's
   * lowest bit is flipped. One response only.
   */
  corruptNextCrc(word = 0): void {
    if (word !== 0 && word !== 1) throw new RangeError("Sht4xModel: word is 0 or 1");
    this.corruptWord = word;
  }

  /** Forgets the recorded transactions. */
  clearTransactions(): void {
    this.transactions.length = 0;
  }

  /** See `SimI2CModel.transfer`. */
  transfer(op: "read" | "write", address: number, bytes: Uint8Array, stop: boolean): boolean {
    const ack = address === this.address && !this.busy && (op === "write" ? this.command(bytes) : this.send(bytes));
    this.record(op, address, op === "read" && !ack ? [] : Array.from(bytes), ack, stop);
    return ack;
  }

  private command(bytes: Uint8Array): boolean {
    if (bytes.length === 0) return true;
    if (bytes.length !== 1) return false;
    const command = bytes[0];
    const now = this.clock.now();
    const measureMs = MEASURE_MS[command];
    if (measureMs !== undefined) {
      const t = this.rawTemperature ?? clampTicks(((this.temperature + 45) * 65535) / 175);
      const rh = this.rawHumidity ?? clampTicks(((this.humidity + 6) * 65535) / 125);
      this.response = this.words(t, rh);
      this.busyUntil = now + measureMs;
      this.measurements++;
      return true;
    }
    if (command === 0x89) {
      const serial = this.serialNumber >>> 0;
      this.response = this.words(serial >>> 16, serial & 0xffff);
      return true;
    }
    if (command === 0x94) {
      this.response = null;
      this.busyUntil = now + RESET_MS;
      this.resets++;
      return true;
    }
    return false;
  }

  private send(into: Uint8Array): boolean {
    const response = this.response;
    if (response === null) return false;
    for (let i = 0; i < into.length; i++) into[i] = i < response.length ? response[i] : 0xff;
    this.response = null;
    return true;
  }

  private words(first: number, second: number): Uint8Array {
    const out = new Uint8Array([first >> 8, first & 0xff, crcOfWord(first), second >> 8, second & 0xff, crcOfWord(second)]);
    if (this.corruptWord >= 0) {
      out[this.corruptWord * 3 + 2] ^= 0x01;
      this.corruptWord = -1;
    }
    return out;
  }

  private record(op: "read" | "write", address: number, bytes: number[], ack: boolean, stop: boolean): void {
    if (this.logLimit === 0) return;
    if (this.transactions.length >= this.logLimit) this.transactions.shift();
    this.transactions.push({ op, address, bytes, ack, stop, time: this.clock.now() });
  }
}
