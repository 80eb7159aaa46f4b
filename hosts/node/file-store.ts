/**
 * FileStore: the `Store` of the Node host, one file per blob.
 *
 * `save` writes the blob to `<path>.tmp`, flushes it to the disk
 * (`fsync`), renames it over `<path>` (atomic on POSIX file systems: a
 * reader sees the old file or the new one, never a mix), then flushes the
 * directory entry (best effort: some platforms cannot open a directory).
 * A crash during `save` leaves the previous blob in place and at worst a
 * stale `<path>.tmp`, which the next `save` overwrites. Node-only.
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import type { Store } from "../../modules/persist/store";

/** A `Store` in the file at `path` (see the module header). Synchronous, like the Store contract. */
export class FileStore implements Store {
  /** The file the blob lives in. */
  readonly path: string;

  /** No I/O here; the directory must exist when `save` runs. */
  constructor(path: string) {
    if (typeof path !== "string" || path.length === 0) throw new TypeError("FileStore needs a file path");
    this.path = path;
  }

  /** The file's bytes (a new Uint8Array), or undefined when the file does not exist. Throws on other I/O errors. */
  load(): Uint8Array | undefined {
    let data: Buffer;
    try {
      data = readFileSync(this.path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
    return new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
  }

  /** Atomic replace: temp file, fsync, rename, fsync of the directory. */
  save(bytes: Uint8Array): void {
    if (!(bytes instanceof Uint8Array)) throw new TypeError("FileStore.save takes a Uint8Array");
    const temp = `${this.path}.tmp`;
    const fd = openSync(temp, "w", 0o600);
    try {
      let done = 0;
      while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, this.path);
    syncDirectory(dirname(this.path));
  }

  /** Deletes the file (and a stale temp file); missing files are fine. */
  clear(): void {
    rmSync(this.path, { force: true });
    rmSync(`${this.path}.tmp`, { force: true });
  }
}

/** fsync of a directory so that a rename in it is durable; skipped where directories cannot be opened (Windows). */
function syncDirectory(path: string): void {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return; // cannot open directories here: the rename is as durable as the platform makes it
  }
  try {
    fsyncSync(fd);
  } catch (error) {
    // EINVAL/EISDIR/EPERM: this file system does not sync directories.
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== "EINVAL" && code !== "EISDIR" && code !== "EPERM") throw error;
  } finally {
    closeSync(fd);
  }
}
