/**
 * A simulated synchronous I²C initiator shaped like the ECMA-419 `I2C` class
 * (ECMA-419 2nd ed. §10.5), for desktop hosts and tests.
 *
 * Theory of operation
 * -------------------
 * A `SimI2C` instance talks to one device model, given in the constructor
 * options as `model` (an extra property that a real I2C class would ignore,
 * §8.2), exactly as a driver would construct it:
 *
 * ```ts
 * const clock = new SimClock();
 * const sht = new Sht4xModel({ clock });
 * new Sht4x({ sensor: { io: SimI2C, data: 21, clock: 22, model: sht } });
 * ```
 *
 * Every `read` and `write` is one transaction (START, address, data, STOP —
 * or a repeated START when `stop` is false) handed to the model's
 * `transfer`, which decides whether the address is acknowledged and, for a
 * read, supplies the bytes. A NACK makes the call throw an `Error`, as the
 * hardware implementations do (Moddable: "read failed" / "write failed").
 *
 * Time: when the model has a `clock`, each transaction advances it by the
 * time it occupies the bus at `hz`: 10 bit times (START, 7-bit address, R/W,
 * acknowledge) before the model is asked, then 9 bit times per data byte
 * (8 bits + acknowledge) and 1 for the STOP. A NACKed transaction costs 11
 * bit times. So a driver that polls a busy device advances simulated time
 * the way it would advance real time.
 *
 * Checks a board would make are made here too, so a mistake fails in a test
 * rather than on a device: `data`, `clock`, `hz` and `address` are required
 * (§10.5 table), `address` is 7-bit, and every method throws after `close`.
 */
import type { SimClock } from "./clock";

/** What `SimI2C` needs from a device model. */
export interface SimI2CModel {
  /** Simulated time, advanced by each transaction's bus time. Optional: without it time does not move. */
  readonly clock?: SimClock;
  /**
   * One transaction addressed to `address` (the instance's 7-bit address).
   * For `"write"`, `bytes` holds the data written (a copy the model may keep).
   * For `"read"`, the model fills `bytes` (its length is the count requested).
   * Returns true when the device acknowledged its address (and, for a write,
   * every byte); false for a NACK, which makes `read`/`write` throw.
   */
  transfer(op: "read" | "write", address: number, bytes: Uint8Array, stop: boolean): boolean;
}

/** Constructor options: the §10.5 I2C options plus the simulated `model`. */
export interface SimI2COptions {
  data?: unknown;
  clock?: unknown;
  hz?: number;
  address?: number;
  port?: unknown;
  /** The device on the other end of the wires. Required. */
  model?: SimI2CModel;
  [extra: string]: unknown;
}

/** Bit times before the device answers its address: START, 7 address bits, R/W, acknowledge. */
const HEADER_BITS = 10;

export class SimI2C {
  /** Opaque value for the caller (ECMA-419 §8.4). */
  target: unknown;
  /** The address this instance talks to. */
  readonly address: number;
  /** Bus speed in Hz. */
  readonly hz: number;

  private model: SimI2CModel | null;

  constructor(options: SimI2COptions) {
    if (options === null || typeof options !== "object") throw new TypeError("SimI2C: options object required");
    if (options.data === undefined) throw new RangeError("SimI2C: data required (ECMA-419 §10.5)");
    if (options.clock === undefined) throw new RangeError("SimI2C: clock required (ECMA-419 §10.5)");
    const hz = options.hz;
    if (typeof hz !== "number" || !(hz > 0)) throw new RangeError("SimI2C: hz required, a positive number (ECMA-419 §10.5)");
    const address = options.address;
    if (typeof address !== "number" || !Number.isInteger(address) || address < 0 || address > 127) {
      throw new RangeError("SimI2C: address required, 0..127 (ECMA-419 Annex A I2C)");
    }
    const model = options.model;
    if (model === undefined || model === null || typeof model.transfer !== "function") {
      throw new TypeError("SimI2C: options.model must be a device model with transfer()");
    }
    this.address = address;
    this.hz = hz;
    this.model = model;
    this.target = options.target;
  }

  /** Always `"buffer"` (§10.5 Data format). */
  get format(): "buffer" {
    return "buffer";
  }

  set format(value: "buffer") {
    if (value !== "buffer") throw new Error('SimI2C: format must be "buffer"');
  }

  /**
   * Reads `count` bytes into a new ArrayBuffer, or fills `buffer` and
   * returns its length (§9.4). Throws on NACK.
   */
  read(option: number | ArrayBuffer | ArrayBufferView, stop = true): ArrayBuffer | number {
    const model = this.open();
    let bytes: Uint8Array;
    let result: ArrayBuffer | number;
    if (typeof option === "number") {
      if (!Number.isInteger(option) || option < 0) throw new RangeError("SimI2C: read count must be a non-negative integer");
      const buffer = new ArrayBuffer(option);
      bytes = new Uint8Array(buffer);
      result = buffer;
    } else if (option instanceof ArrayBuffer) {
      bytes = new Uint8Array(option);
      result = option.byteLength;
    } else if (ArrayBuffer.isView(option)) {
      bytes = new Uint8Array(option.buffer, option.byteOffset, option.byteLength);
      result = option.byteLength;
    } else {
      throw new TypeError("SimI2C: read takes a byte count or a byte buffer");
    }
    this.elapse(model, HEADER_BITS);
    const ack = model.transfer("read", this.address, bytes, stop !== false);
    if (!ack) {
      this.elapse(model, 1);
      throw new Error(`SimI2C: read failed: address 0x${this.address.toString(16)} not acknowledged`);
    }
    this.elapse(model, 9 * bytes.length + 1);
    return result;
  }

  /** Writes all of `buffer` (§9.5). Throws on NACK. */
  write(buffer: ArrayBuffer | ArrayBufferView, stop = true): void {
    const model = this.open();
    let bytes: Uint8Array;
    if (buffer instanceof ArrayBuffer) bytes = new Uint8Array(buffer.slice(0));
    else if (ArrayBuffer.isView(buffer)) bytes = new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength).slice();
    else throw new TypeError("SimI2C: write takes a byte buffer");
    this.elapse(model, HEADER_BITS);
    const ack = model.transfer("write", this.address, bytes, stop !== false);
    if (!ack) {
      this.elapse(model, 1);
      throw new Error(`SimI2C: write failed: not acknowledged at address 0x${this.address.toString(16)}`);
    }
    this.elapse(model, 9 * bytes.length + 1);
  }

  /** Releases the instance (§8.3). Calling it again does nothing. */
  close(): void {
    this.model = null;
  }

  private open(): SimI2CModel {
    const model = this.model;
    if (model === null) throw new Error("SimI2C: closed");
    return model;
  }

  private elapse(model: SimI2CModel, bits: number): void {
    if (model.clock) model.clock.advance((bits * 1000) / this.hz);
  }
}
