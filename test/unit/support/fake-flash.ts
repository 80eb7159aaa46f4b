/**
 * A simulated NOR-flash partition shaped like Moddable's legacy `flash`
 * module (`erase(sector)`, `read(offset, byteLength)` -> ArrayBuffer,
 * `write(offset, byteLength, buffer)`, `byteLength`, `blockSize`), with the
 * rules a real part enforces:
 * - erase sets a whole block to 0xFF;
 * - programming only clears bits (writing a 1 over a 0 is an error: it
 *   means the writer forgot to erase);
 * - writes are 4-byte aligned in offset and length (ESP8266 SDK
 *   `spi_flash_write`);
 * and a power-cut switch: `cutAfter(n)` lets n more operations (erase or
 * write) happen, then the next one writes only `tornBytes` of its bytes and
 * throws, as if power failed in the middle; later operations throw until
 * `restore()`. No Node APIs.
 */
export class FakeFlash {
  readonly byteLength: number;
  readonly blockSize: number;
  readonly bytes: Uint8Array;
  /** Erase count per block. */
  readonly erases: number[];
  /** Every write as [offset, length]. */
  readonly writes: Array<[number, number]> = [];
  operations = 0;
  private budget = Infinity;
  private torn = 0;
  private dead = false;

  constructor(byteLength = 4 * 4096, blockSize = 4096) {
    this.byteLength = byteLength;
    this.blockSize = blockSize;
    this.bytes = new Uint8Array(byteLength).fill(0xff);
    this.erases = new Array(byteLength / blockSize).fill(0);
  }

  /** Power fails at the (n+1)-th operation from now, after `tornBytes` bytes of it (writes only). */
  cutAfter(n: number, tornBytes = 0): void {
    this.budget = n;
    this.torn = tornBytes;
  }

  /** Power is back. */
  restore(): void {
    this.budget = Infinity;
    this.dead = false;
  }

  private step(): boolean {
    if (this.dead) throw new Error("power is off");
    this.operations += 1;
    if (this.budget === 0) {
      this.dead = true;
      return false;
    }
    this.budget -= 1;
    return true;
  }

  erase(sector: number): void {
    if (!Number.isInteger(sector) || sector < 0 || sector >= this.erases.length) throw new RangeError(`invalid sector ${sector}`);
    if (!this.step()) throw new Error("power cut during erase");
    this.bytes.fill(0xff, sector * this.blockSize, (sector + 1) * this.blockSize);
    this.erases[sector] += 1;
  }

  read(offset: number, byteLength: number): ArrayBuffer {
    if (this.dead) throw new Error("power is off");
    if (offset < 0 || offset + byteLength > this.byteLength) throw new RangeError("read out of range");
    return this.bytes.slice(offset, offset + byteLength).buffer;
  }

  write(offset: number, byteLength: number, buffer: ArrayBuffer): void {
    if (offset % 4 !== 0 || byteLength % 4 !== 0) throw new RangeError(`unaligned write ${offset}+${byteLength}`);
    if (offset < 0 || offset + byteLength > this.byteLength) throw new RangeError("write out of range");
    if (!(buffer instanceof ArrayBuffer) || buffer.byteLength < byteLength) throw new TypeError("write needs an ArrayBuffer of byteLength bytes");
    const ok = this.step();
    const data = new Uint8Array(buffer, 0, byteLength);
    const n = ok ? byteLength : Math.min(this.torn, byteLength);
    for (let i = 0; i < n; i++) {
      const old = this.bytes[offset + i];
      const value = data[i];
      if ((old & value) !== value) throw new Error(`programming a 1 over a 0 at ${offset + i} (not erased)`);
      this.bytes[offset + i] = old & value;
    }
    this.writes.push([offset, n]);
    if (!ok) throw new Error("power cut during write");
  }
}

/** A Moddable `Preference`-shaped store in RAM. */
export class FakePreference {
  readonly values = new Map<string, unknown>();
  get(domain: string, key: string): unknown {
    return this.values.get(`${domain}/${key}`);
  }
  set(domain: string, key: string, value: unknown): void {
    this.values.set(`${domain}/${key}`, value instanceof ArrayBuffer ? value.slice(0) : value);
  }
  delete(domain: string, key: string): void {
    this.values.delete(`${domain}/${key}`);
  }
}
