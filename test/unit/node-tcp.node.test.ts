/**
 * The Node host's ECMA-419 TCP and TLS sockets (hosts/node) against local
 * node:net / node:tls servers on 127.0.0.1, and its timer. Node-only.
 */
import test from "tape";
import net from "node:net";
import tls from "node:tls";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TCP, TLSSocket, DEFAULT_WRITE_HIGH_WATER_MARK, MAX_STAGING, setTimer, clearTimer, now, device } from "../../hosts/node";
import type { SocketError, SocketSpec, TcpSocket } from "../../modules/io/tcp-types";
import { generatePki } from "../support/certs";
import type { TestPki } from "../support/certs";
import { delay, freePort, waitUntil } from "../support/net-util";

interface Server {
  port: number;
  sockets: net.Socket[];
  close(): Promise<void>;
}

function listen(server: net.Server, onSocket: (socket: net.Socket) => void): Promise<Server> {
  const sockets: net.Socket[] = [];
  server.on(server instanceof tls.Server ? "secureConnection" : "connection", (socket: net.Socket) => {
    sockets.push(socket);
    socket.on("error", () => {});
    onSocket(socket);
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      resolve({
        port: (server.address() as net.AddressInfo).port,
        sockets,
        close: () =>
          new Promise<void>((done) => {
            for (const socket of sockets) socket.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}

function echoServer(): Promise<Server> {
  return listen(net.createServer(), (socket) => socket.pipe(socket));
}

const text = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, "latin1"));
const str = (b: ArrayBuffer | Uint8Array): string =>
  Buffer.from(b instanceof ArrayBuffer ? new Uint8Array(b) : b).toString("latin1");

/** Records every callback of one socket, in order. */
function recorder() {
  const events: string[] = [];
  let inCallback = false;
  let reentered = false;
  const wrap = <A extends unknown[]>(name: string, body?: (this: TcpSocket, ...args: A) => void) =>
    function (this: TcpSocket, ...args: A): void {
      if (inCallback) reentered = true;
      inCallback = true;
      try {
        const detail = args[0] as unknown;
        events.push(
          detail === undefined
            ? name
            : typeof detail === "number"
              ? `${name}:${detail}`
              : `${name}:${(detail as SocketError).code ?? "?"}`,
        );
        body?.apply(this, args);
      } finally {
        inCallback = false;
      }
    };
  return { events, wrap, reentered: () => reentered };
}

test("connects; the first onWritable reports the whole budget and data echoes back [ECMA-419 §10 TCP socket]", async (t) => {
  const server = await echoServer();
  const r = recorder();
  let received = "";
  let socket!: TCP;
  let firstWritable = -1;
  let readBeforeConnect: unknown = "unset";
  await new Promise<void>((resolve, reject) => {
    socket = new TCP({
      address: "127.0.0.1",
      port: server.port,
      onWritable: r.wrap("writable", function (count: number) {
        if (firstWritable !== -1) return;
        firstWritable = count;
        this.write(text("hello "));
        this.write(new DataView(text("xworld").buffer, 1, 5));
      }),
      onReadable: r.wrap("readable", function () {
        received += str(this.read() as ArrayBuffer);
        if (received.length === 11) resolve();
      }),
      onError: r.wrap("error", () => reject(new Error("unexpected onError"))),
    });
    readBeforeConnect = socket.read();
    t.equal(socket.remoteAddress, undefined, "remoteAddress undefined before connecting");
  });
  t.equal(readBeforeConnect, undefined, "read() before any data returns undefined [ECMA-419 Annex A IO read step 4]");
  t.equal(firstWritable, DEFAULT_WRITE_HIGH_WATER_MARK, "first onWritable = whole write budget (16384)");
  t.equal(r.events[0], `writable:${DEFAULT_WRITE_HIGH_WATER_MARK}`, "onWritable is the first callback");
  t.equal(received, "hello world", "bytes echoed in order; DataView offset honoured");
  t.equal(socket.remoteAddress, "127.0.0.1", "remoteAddress");
  t.equal(socket.remotePort, server.port, "remotePort");
  t.equal(socket.format, "buffer", 'default format is "buffer" [ECMA-419 §10 Data format]');
  t.equal(socket.read(), undefined, "read() with nothing queued returns undefined");
  t.notOk(r.reentered(), "no callback ran inside another");
  socket.close();
  await server.close();
});

test("read(count) returns at most count, read(view) fills the view, number format reads bytes [ECMA-419 §9 read]", async (t) => {
  const server = await listen(net.createServer(), (s) => s.write(Buffer.from("ABCDEFGHIJ")));
  let socket!: TCP;
  let available = 0;
  await new Promise<void>((resolve) => {
    socket = new TCP({
      address: "127.0.0.1",
      port: server.port,
      onReadable(count) {
        available = count;
        if (count === 10) resolve();
      },
    });
  });
  t.equal(available, 10, "onReadable reports all 10 queued bytes");
  const two = socket.read(2);
  t.ok(two instanceof ArrayBuffer, "read(count) returns an ArrayBuffer");
  t.equal(str(two as ArrayBuffer), "AB", "read(2)");
  const backing = new Uint8Array(8).fill(0xee);
  const view = new Uint8Array(backing.buffer, 2, 3);
  t.equal(socket.read(view), 3, "read(view) returns the count copied");
  t.deepEqual([...backing], [0xee, 0xee, 0x43, 0x44, 0x45, 0xee, 0xee, 0xee], "only the view's bytes were written");
  socket.format = "number";
  t.equal(socket.read(), 0x46, 'read() in "number" format returns the next byte');
  t.throws(() => socket.read(1), TypeError, '"number" format takes no read argument [ECMA-419 Annex A]');
  socket.format = "buffer";
  t.throws(() => socket.read(0), RangeError, "read(0) is a RangeError (count must be a positive integer)");
  t.throws(() => socket.read(1.5), RangeError, "read(1.5) is a RangeError");
  t.throws(() => socket.read("x" as unknown as number), TypeError, "read(string) is a TypeError");
  const rest = socket.read(100);
  t.equal(str(rest as ArrayBuffer), "GHIJ", "read(count > available) returns what is queued [ECMA-419 Annex A step 6.3.3]");
  t.equal(socket.read(4), undefined, "read(count) with nothing queued returns undefined");
  t.equal(socket.read(new Uint8Array(4)), undefined, "read(view) with nothing queued returns undefined");
  t.throws(
    () => {
      socket.format = "string;utf8" as "buffer";
    },
    RangeError,
    "unsupported format throws and keeps the old value [ECMA-419 §9 format]",
  );
  t.equal(socket.format, "buffer", "format unchanged after a rejected set");
  socket.close();
  await server.close();
});

test("write throws beyond the writable count and sends nothing; type errors; number format writes a byte [ECMA-419 §9 write]", async (t) => {
  const chunks: Buffer[] = [];
  const server = await listen(net.createServer(), (s) => s.on("data", (c) => chunks.push(c)));
  let socket!: TCP;
  let returned = -1;
  let writable = -1;
  const results: string[] = [];
  await new Promise<void>((resolve) => {
    socket = new TCP({
      address: "127.0.0.1",
      port: server.port,
      writeHighWaterMark: 100,
      onWritable(count) {
        if (writable !== -1) return;
        writable = count;
        try {
          this.write(new Uint8Array(count + 1));
          results.push("no throw");
        } catch (error) {
          results.push(error instanceof Error ? "Error" : "other");
        }
        try {
          this.write(42 as unknown as Uint8Array);
        } catch (error) {
          results.push(error instanceof TypeError ? "TypeError" : "other");
        }
        try {
          this.write("text" as unknown as Uint8Array);
        } catch (error) {
          results.push(error instanceof TypeError ? "TypeError" : "other");
        }
        returned = this.write(text("0123456789")) as number;
        this.format = "number";
        this.write(0x21);
        try {
          this.write(256);
        } catch (error) {
          results.push(error instanceof RangeError ? "RangeError" : "other");
        }
        this.format = "buffer";
        resolve();
      },
    });
  });
  await waitUntil(() => Buffer.concat(chunks).length >= 11, 2000, "server did not receive 11 bytes");
  await delay(20);
  t.equal(writable, 100, "writeHighWaterMark option sets the budget");
  t.deepEqual(results, ["Error", "TypeError", "TypeError", "RangeError"], "oversize write and bad data throw");
  t.equal(returned, 90, "write returns the writable count left (3rd ed. §10 TCP socket write)");
  t.equal(Buffer.concat(chunks).toString("latin1"), "0123456789!", "the refused write sent nothing");
  socket.close();
  await server.close();
});

/** Counts Node-level writes (`_write` / `_writev`) while `armed()`. */
function countNodeWrites(armed: () => boolean): { calls: string[]; restore(): void } {
  const proto = net.Socket.prototype as unknown as Record<"_write" | "_writev", (...args: unknown[]) => unknown>;
  const originalWrite = proto._write;
  const originalWritev = proto._writev;
  const calls: string[] = [];
  proto._write = function (this: unknown, ...args: unknown[]) {
    if (armed()) calls.push(`write:${(args[0] as Uint8Array).byteLength}`);
    return originalWrite.apply(this, args);
  };
  proto._writev = function (this: unknown, ...args: unknown[]) {
    if (armed()) calls.push(`writev:${(args[0] as unknown[]).length}`);
    return originalWritev.apply(this, args);
  };
  return {
    calls,
    restore() {
      proto._write = originalWrite;
      proto._writev = originalWritev;
    },
  };
}

test("writes made in one turn leave in one Node write; write() copies at once and counts staged bytes [ECMA-419 §9 write]", async (t) => {
  const chunks: Buffer[] = [];
  const server = await listen(net.createServer(), (s) => s.on("data", (c) => chunks.push(c)));
  let armed = false;
  const spy = countNodeWrites(() => armed);
  let socket: TCP | undefined;
  const returned: number[] = [];
  let first = 0;
  try {
    socket = new TCP({
      address: "127.0.0.1",
      port: server.port,
      onWritable(count) {
        if (this.target === "done") return;
        this.target = "done";
        first = count;
        armed = true;
        // One source buffer, overwritten after every write: write() must have copied it.
        const source = new Uint8Array(6);
        for (let i = 0; i < 5; i++) {
          source.set(text(`part${i};`));
          returned.push(this.write(source) as number);
          source.fill(0x58);
        }
        this.format = "number";
        returned.push(this.write(0x21) as number);
        this.format = "buffer";
      },
    });
    await waitUntil(() => Buffer.concat(chunks).length >= 31, 2000, "server did not receive 31 bytes");
  } finally {
    spy.restore();
  }
  t.deepEqual(spy.calls, ["write:31"], "one Node write carrying the six writes of the turn");
  t.equal(Buffer.concat(chunks).toString(), "part0;part1;part2;part3;part4;!", "in order, as they were when written");
  t.deepEqual(returned, [first - 6, first - 12, first - 18, first - 24, first - 30, first - 31], "write returns the budget minus the bytes staged in the turn");
  socket?.close();
  await server.close();
});

test("onWritable after a flush comes once per turn, never inside write(), and not before the flush", async (t) => {
  const server = await listen(net.createServer(), (s) => s.on("data", () => {}));
  const r = recorder();
  let writes = 0;
  let wroteInTurn = false;
  const socket = new TCP({
    address: "127.0.0.1",
    port: server.port,
    onWritable: r.wrap("writable", function (this: TcpSocket) {
      if (writes >= 3) return;
      writes += 1;
      // Ten writes in one turn: one flush, so one onWritable afterwards.
      for (let i = 0; i < 10; i++) this.write(text("0123456789"));
      wroteInTurn = true;
      t.equal(r.events.length, writes, "no callback ran inside the writes");
    }),
    onError: r.wrap("error"),
  });
  await waitUntil(() => writes === 3 && r.events.length === 4, 2000, "onWritable did not follow each flush", () => r.events.join(","));
  await delay(30);
  t.ok(wroteInTurn, "wrote");
  t.notOk(r.reentered(), "no callback re-entered another");
  t.deepEqual(
    r.events,
    [`writable:${DEFAULT_WRITE_HIGH_WATER_MARK}`, `writable:${DEFAULT_WRITE_HIGH_WATER_MARK}`, `writable:${DEFAULT_WRITE_HIGH_WATER_MARK}`, `writable:${DEFAULT_WRITE_HIGH_WATER_MARK}`],
    "exactly one onWritable per flushed turn, with the whole budget free again",
  );
  socket.close();
  await server.close();
});

test("a turn larger than the staging buffer (writeHighWaterMark above MAX_STAGING) arrives whole and in order", async (t) => {
  let received = 0;
  let ok = true;
  const server = await listen(net.createServer(), (s) =>
    s.on("data", (c: Buffer) => {
      for (let i = 0; i < c.length; i++) if (c[i] !== (received + i) % 253) ok = false;
      received += c.length;
    }),
  );
  const total = 3 * MAX_STAGING + 1000;
  const pattern = new Uint8Array(total);
  for (let i = 0; i < total; i++) pattern[i] = i % 253;
  const counts: number[] = [];
  const socket = new TCP({
    address: "127.0.0.1",
    port: server.port,
    writeHighWaterMark: 4 * MAX_STAGING,
    onWritable(count) {
      if (counts.length > 0) return;
      counts.push(count);
      // 40,000 + 2 * MAX_STAGING (one piece bigger than the staging buffer) + the rest.
      const cuts = [0, 40000, 40000 + 2 * MAX_STAGING, total];
      for (let i = 0; i + 1 < cuts.length; i++) counts.push(this.write(pattern.subarray(cuts[i], cuts[i + 1])) as number);
    },
  });
  await waitUntil(() => received === total, 5000, "not everything arrived", () => `${received}/${total}`);
  t.equal(counts[0], 4 * MAX_STAGING, "budget as configured");
  t.ok(counts[1] <= counts[0] - 40000, `the count fell by at least the first piece (${counts[1]})`);
  t.equal(counts.length, 4, "three writes accepted, none threw");
  t.ok(ok, "every byte arrived once, in order");
  socket.close();
  await server.close();
});

test("write before the connection is ready throws; no callback runs inside the constructor [ECMA-419 §8 Callbacks]", async (t) => {
  const server = await echoServer();
  let called = 0;
  const socket = new TCP({
    address: "127.0.0.1",
    port: server.port,
    onWritable() {
      called++;
    },
    onError() {
      called++;
    },
  });
  t.equal(called, 0, "no callback during the constructor");
  t.throws(() => socket.write(text("x")), (e: unknown) => e instanceof Error && /not connected/.test(e.message), "write before onWritable throws");
  await waitUntil(() => called > 0, 2000, "never connected");
  t.equal(called, 1, "onWritable arrived later");
  socket.close();
  await server.close();
});

test("backpressure: with a paused reader onWritable stops, counts stay within the budget, and everything arrives after resume", async (t) => {
  let serverSocket!: net.Socket;
  let receivedBytes = 0;
  let patternOk = true;
  const server = await listen(net.createServer(), (s) => {
    serverSocket = s;
    s.pause();
    s.on("data", (chunk: Buffer) => {
      for (let i = 0; i < chunk.length; i++) {
        if (chunk[i] !== (receivedBytes + i) % 251) patternOk = false;
      }
      receivedBytes += chunk.length;
    });
  });
  const hwm = DEFAULT_WRITE_HIGH_WATER_MARK;
  let written = 0;
  let limit = 256 * 1024 * 1024;
  let maxReported = 0;
  let writableCalls = 0;
  let lastWritableAt = Date.now();
  let lastCount = 0;
  let overflowThrew = false;
  const pattern = new Uint8Array(251 * 64 + 4096);
  for (let i = 0; i < pattern.length; i++) pattern[i] = i % 251;
  const socket = new TCP({
    address: "127.0.0.1",
    port: server.port,
    onWritable(count) {
      writableCalls++;
      lastWritableAt = Date.now();
      if (count > maxReported) maxReported = count;
      if (writableCalls === 1) {
        try {
          this.write(new Uint8Array(count + 1));
        } catch {
          overflowThrew = true;
        }
      }
      let left = count;
      while (left > 0 && written < limit) {
        const n = Math.min(left, 4096, limit - written);
        const start = written % 251;
        left = this.write(pattern.subarray(start, start + n)) as number;
        written += n;
      }
      lastCount = left;
    },
    onError() {
      t.fail("unexpected onError");
    },
  });
  await waitUntil(() => Date.now() - lastWritableAt > 300 && writableCalls > 0, 20000, "writer never stalled");
  const stalledAt = written;
  const callsAtStall = writableCalls;
  t.ok(overflowThrew, "writing count + 1 bytes throws");
  t.ok(maxReported <= hwm, `onWritable never reported more than the budget (max ${maxReported})`);
  t.ok(stalledAt > hwm, `the kernel took more than the budget before stalling (${stalledAt} bytes)`);
  t.ok(stalledAt < limit, "stalled before the safety limit");
  t.ok(lastCount < 4096, `after the stall less than one chunk is writable (${lastCount})`);
  t.throws(() => socket.write(new Uint8Array(lastCount + 4096)), Error, "a write larger than the remaining count throws while stalled");
  limit = stalledAt + 200 * 1024;
  serverSocket.resume();
  await waitUntil(() => receivedBytes === limit && written === limit, 10000, "not everything arrived", () => `${receivedBytes}/${written}/${limit}`);
  t.ok(writableCalls > callsAtStall, "onWritable resumed after the reader resumed");
  t.equal(receivedBytes, written, "every written byte arrived");
  t.ok(patternOk, "bytes arrived in order, unaltered");
  socket.close();
  await server.close();
});

test("an unread receive queue pauses the socket at readHighWaterMark; reading resumes it", async (t) => {
  const total = 512 * 1024;
  const server = await listen(net.createServer(), (s) => s.end(Buffer.alloc(total, 0x5a)));
  let queued = 0;
  let received = 0;
  let reading = false;
  let ended = false;
  const socket = new TCP({
    address: "127.0.0.1",
    port: server.port,
    readHighWaterMark: 4096,
    onReadable(count) {
      queued = count;
      if (!reading) return;
      received += (this.read() as ArrayBuffer).byteLength;
    },
    onError() {
      ended = true;
    },
  });
  await waitUntil(() => queued > 0, 2000, "no data");
  await delay(100);
  t.ok(queued < 4096 + 65536 + 1, `unread queue bounded while not reading (${queued} bytes)`);
  t.notOk(ended, "no onError while bytes are unread");
  reading = true;
  received += (socket.read() as ArrayBuffer).byteLength;
  await waitUntil(() => ended, 5000, "did not reach the end", () => `${received}/${total}`);
  t.equal(received, total, "every byte arrived once reading resumed");
  socket.close();
  await server.close();
});

test("peer closes after sending: onReadable delivers the last bytes before onError(EOF) [ECMA-419 §10 TCP socket onError]", async (t) => {
  const server = await listen(net.createServer(), (s) => s.end(Buffer.from("bye")));
  const r = recorder();
  let got = "";
  let error: SocketError | undefined;
  const socket = new TCP({
    host: "127.0.0.1",
    port: server.port,
    onReadable: r.wrap("readable", function () {
      got += str(this.read() as ArrayBuffer);
    }),
    onError: r.wrap("error", (e?: SocketError) => {
      error = e;
    }),
  });
  await waitUntil(() => error !== undefined, 2000, "no onError");
  await delay(30);
  t.equal(got, "bye", "last bytes read");
  t.deepEqual(r.events.slice(-2), ["readable:3", "error:EOF"], "readable then error, nothing after");
  t.equal(error?.code, "EOF", "code EOF for a clean close");
  t.equal(error?.layer, "tcp", "layer tcp");
  t.equal(socket.write(text("late")), 0, "write after the failure sends nothing and returns 0");
  socket.close();
  await server.close();
});

test("onError waits until the receive queue is read empty (Moddable's lwIP order)", async (t) => {
  const server = await listen(net.createServer(), (s) => s.end(Buffer.from("0123456789")));
  const events: string[] = [];
  let socket!: TCP;
  let readableCalls = 0;
  let errorAt = -1;
  socket = new TCP({
    address: "127.0.0.1",
    port: server.port,
    onReadable(count) {
      readableCalls++;
      events.push(`readable:${count}`);
    },
    onError() {
      errorAt = events.length;
      events.push("error");
    },
  });
  await waitUntil(() => readableCalls > 0, 2000, "no onReadable");
  await delay(50);
  t.equal(errorAt, -1, "no onError while 10 bytes are unread");
  for (let i = 0; i < 10; i++) {
    events.push(`read:${str(socket.read(1) as ArrayBuffer)}`);
    await delay(5);
    if (i < 9) t.equal(errorAt, -1, `no onError with ${9 - i} bytes unread`);
  }
  await waitUntil(() => errorAt !== -1, 1000, "no onError after draining");
  t.equal(events[events.length - 1], "error", "onError came after the last read");
  t.equal(readableCalls, 1, "onReadable was not repeated without new data [ECMA-419 §9 onReadable]");
  socket.close();
  await server.close();
});

test("connection refused reports onError(ECONNREFUSED) and never onWritable", async (t) => {
  const port = await freePort();
  const r = recorder();
  let error: SocketError | undefined;
  new TCP({
    address: "127.0.0.1",
    port,
    onWritable: r.wrap("writable"),
    onError: r.wrap("error", (e?: SocketError) => {
      error = e;
    }),
  });
  await waitUntil(() => error !== undefined, 2000, "no onError");
  await delay(20);
  t.deepEqual(r.events, ["error:ECONNREFUSED"], "only onError");
  t.equal(error?.layer, "tcp", "layer tcp");
  t.ok(error instanceof Error, "an Error instance");
});

test("close() is synchronous and final: no callbacks after it, methods throw, close twice is harmless [ECMA-419 §8 close]", async (t) => {
  let serverSocket!: net.Socket;
  let serverClosed = false;
  const server = await listen(net.createServer(), (s) => {
    serverSocket = s;
    s.on("close", () => {
      serverClosed = true;
    });
  });
  const r = recorder();
  let lastData = "";
  const socket = new TCP({
    address: "127.0.0.1",
    port: server.port,
    onWritable: r.wrap("writable"),
    onReadable: r.wrap("readable", function () {
      this.write(text("bye"));
      this.close();
    }),
    onError: r.wrap("error"),
  });
  await waitUntil(() => serverSocket !== undefined && r.events.length > 0, 2000, "no connection");
  serverSocket.on("data", (c) => {
    lastData += c.toString();
  });
  serverSocket.write("ping");
  await waitUntil(() => serverClosed, 3000, "server side did not see the close");
  serverSocket.destroy();
  await delay(30);
  t.deepEqual(r.events, [`writable:${DEFAULT_WRITE_HIGH_WATER_MARK}`, "readable:4"], "no callback after close");
  t.equal(lastData, "bye", "bytes written just before close() were still sent (graceful close)");
  t.throws(() => socket.read(), TypeError, "read after close throws");
  t.throws(() => socket.write(text("x")), TypeError, "write after close throws");
  t.throws(() => socket.format, TypeError, "format after close throws");
  t.throws(() => socket.remoteAddress, TypeError, "remoteAddress after close throws");
  t.doesNotThrow(() => socket.close(), "second close is harmless");
  await server.close();
});

test("constructor validates its options before connecting [ECMA-419 §8 constructor, Annex A TCP socket]", (t) => {
  t.throws(() => new TCP(undefined as unknown as { port: number }), TypeError, "no options bag");
  t.throws(() => new TCP({ port: 1883 }), TypeError, "neither address nor host");
  t.throws(() => new TCP({ address: "localhost", port: 1883 }), TypeError, "address must be an IP address");
  t.throws(() => new TCP({ address: "127.0.0.1" } as { address: string; port: number }), TypeError, "missing port");
  t.throws(() => new TCP({ address: "127.0.0.1", port: -1 }), RangeError, "port -1");
  t.throws(() => new TCP({ address: "127.0.0.1", port: 65536 }), RangeError, "port 65536");
  t.throws(() => new TCP({ address: "127.0.0.1", port: 1883, format: "text" as "buffer" }), RangeError, "bad format");
  t.throws(() => new TCP({ address: "127.0.0.1", port: 1883, onReadable: 5 as unknown as () => void }), TypeError, "non-function callback");
  t.throws(() => new TCP({ address: "127.0.0.1", port: 1883, from: {} as TcpSocket }), RangeError, "from is not supported here");
  t.throws(() => new TCP({ address: "127.0.0.1", port: 1883, keepAlive: 0 }), RangeError, "keepAlive must be positive");
  t.end();
});

test("noDelay defaults to true; noDelay:false and Moddable's nodelay spelling are honoured", async (t) => {
  const server = await echoServer();
  const calls: boolean[] = [];
  const original = net.Socket.prototype.setNoDelay;
  net.Socket.prototype.setNoDelay = function (this: net.Socket, value?: boolean) {
    calls.push(value === undefined ? true : value);
    return original.call(this, value);
  };
  try {
    const sockets = [
      new TCP({ address: "127.0.0.1", port: server.port }),
      new TCP({ address: "127.0.0.1", port: server.port, noDelay: false }),
      new TCP({ address: "127.0.0.1", port: server.port, nodelay: false }),
      new TCP({ address: "127.0.0.1", port: server.port, noDelay: true, nodelay: false }),
    ];
    t.deepEqual(calls.slice(0, 4), [true, false, false, true], "setNoDelay(true), (false), (false), noDelay wins");
    for (const s of sockets) s.close();
  } finally {
    net.Socket.prototype.setNoDelay = original;
  }
  await server.close();
});

test("a host name is resolved (extension: host instead of address)", async (t) => {
  const server = await echoServer();
  let writable = 0;
  let error: SocketError | undefined;
  const socket = new TCP({
    host: "localhost",
    port: server.port,
    onWritable(count) {
      writable = count;
    },
    onError(e) {
      error = e;
    },
  });
  await waitUntil(() => writable > 0 || error !== undefined, 3000, "no callback");
  t.equal(error, undefined, "no error");
  t.equal(socket.remoteAddress, "127.0.0.1", "connected to the IPv4 loopback the server listens on");
  socket.close();
  await server.close();
});

let pki: TestPki;
let otherPki: TestPki;
let pkiDir: string;

test("TLS setup: generate two PKIs with openssl", (t) => {
  pkiDir = mkdtempSync(join(tmpdir(), "mqtt-xs-tls-"));
  pki = generatePki(join(pkiDir, "a"), "mqtt-xs test CA A");
  otherPki = generatePki(join(pkiDir, "b"), "mqtt-xs test CA B");
  t.ok(pki.caCertPem.includes("BEGIN CERTIFICATE"), "CA certificate generated");
  t.equal(pki.caCertDer[0], 0x30, "DER starts with a SEQUENCE");
  t.end();
});

function tlsEchoServer(requestCert = false, seen?: (authorized: boolean) => void): Promise<Server> {
  const server = tls.createServer({
    key: pki.serverKeyPem,
    cert: pki.serverCertPem,
    ca: pki.caCertPem,
    requestCert,
    rejectUnauthorized: requestCert,
  });
  return listen(server, (socket) => {
    seen?.((socket as tls.TLSSocket).authorized);
    socket.pipe(socket);
  });
}

function tlsRoundTrip(options: ConstructorParameters<typeof TLSSocket>[0]): Promise<{ events: string[]; echoed: string; error?: SocketError }> {
  return new Promise((resolve) => {
    const events: string[] = [];
    let echoed = "";
    let socket: TLSSocket | undefined;
    const timeout = setTimeout(() => finish(), 3000);
    const finish = (error?: SocketError) => {
      clearTimeout(timeout);
      socket?.close();
      resolve({ events, echoed, error });
    };
    socket = new TLSSocket({
      ...options,
      onWritable(count) {
        events.push("writable");
        if (events.length === 1) {
          t0 = count;
          this.write(text("secure hello"));
        }
      },
      onReadable() {
        echoed += str(this.read() as ArrayBuffer);
        if (echoed.length >= 12) finish();
      },
      onError(error) {
        events.push(`error:${error?.code}`);
        finish(error);
      },
    });
  });
}
let t0 = 0;

test("TLS: connects with the CA in Moddable's secure bag (PEM) and echoes [ECMA-419 §10 TLS Client socket]", async (t) => {
  const server = await tlsEchoServer();
  const result = await tlsRoundTrip({ address: "127.0.0.1", host: "localhost", port: server.port, secure: { ca: pki.caCertPem } });
  t.equal(result.error, undefined, "no error");
  t.equal(result.echoed, "secure hello", "echoed through TLS");
  t.equal(t0, DEFAULT_WRITE_HIGH_WATER_MARK, "first onWritable after the handshake with the full budget");
  await server.close();
});

test("TLS: the standard's tls bag with a DER CA and tls.host as server name", async (t) => {
  const server = await tlsEchoServer();
  const result = await tlsRoundTrip({ address: "127.0.0.1", port: server.port, tls: { host: "localhost", ca: pki.caCertDer } });
  t.equal(result.error, undefined, "no error");
  t.equal(result.echoed, "secure hello", "echoed");
  const byIp = await tlsRoundTrip({ address: "127.0.0.1", port: server.port, secure: { certificate: pki.caCertDer.buffer as ArrayBuffer } });
  t.equal(byIp.echoed, "secure hello", "no server name: verified against the IP subjectAltName (Moddable's secure.certificate)");
  await server.close();
});

test("TLS: a server certificate from another CA fails with onError(layer tls) and no onWritable", async (t) => {
  const server = await tlsEchoServer();
  const result = await tlsRoundTrip({ address: "127.0.0.1", host: "localhost", port: server.port, secure: { ca: otherPki.caCertPem } });
  t.equal(result.events.length, 1, "one callback only");
  t.ok(result.events[0]?.startsWith("error:"), "it is onError");
  t.equal(result.error?.layer, "tls", "layer tls");
  t.ok(/UNABLE_TO_VERIFY|SELF_SIGNED|UNABLE_TO_GET_ISSUER/.test(result.error?.code ?? ""), `verification code (${result.error?.code})`);
  const unverified = await tlsRoundTrip({ address: "127.0.0.1", port: server.port, secure: { ca: otherPki.caCertPem, verify: false } });
  t.equal(unverified.echoed, "secure hello", "secure.verify false skips verification");
  await server.close();
});

test("TLS: a server name not in the certificate fails [RFC 6125 via Node checkServerIdentity]", async (t) => {
  const server = await tlsEchoServer();
  const result = await tlsRoundTrip({ address: "127.0.0.1", port: server.port, tls: { host: "wrong.example", ca: pki.caCertDer } });
  t.equal(result.error?.code, "ERR_TLS_CERT_ALTNAME_INVALID", "altname error");
  t.equal(result.error?.layer, "tls", "layer tls");
  await server.close();
});

test("TLS: mutual TLS with a DER client certificate and key (tls.clientCertificate / tls.clientKey)", async (t) => {
  let authorized: boolean | undefined;
  const server = await tlsEchoServer(true, (a) => {
    authorized = a;
  });
  const result = await tlsRoundTrip({
    address: "127.0.0.1",
    port: server.port,
    tls: { host: "localhost", ca: pki.caCertDer, clientCertificate: pki.clientCertDer, clientKey: pki.clientKeyDer },
  });
  t.equal(result.echoed, "secure hello", "echoed");
  t.equal(authorized, true, "server verified the client certificate");
  const pem = await tlsRoundTrip({
    address: "127.0.0.1",
    port: server.port,
    secure: { ca: pki.caCertPem, cert: pki.clientCertPem, key: pki.clientKeyPem, servername: "localhost" },
  });
  t.equal(pem.echoed, "secure hello", "Node-style names (cert/key/servername) work too");
  await server.close();
});

test("TLS: invalid material throws from the constructor", (t) => {
  t.throws(() => new TLSSocket({ address: "127.0.0.1", port: 1, tls: { ca: new Uint8Array([1, 2, 3]) } }), TypeError, "garbage CA");
  t.throws(() => new TLSSocket({ address: "127.0.0.1", port: 1, tls: { minimumVersion: "SSLv3" as "TLSv1.2" } }), RangeError, "bad version");
  t.throws(() => new TLSSocket({ address: "127.0.0.1", port: 1, secure: { protocolVersion: 0x200 } }), RangeError, "bad protocolVersion");
  t.end();
});

test("TLS teardown", (t) => {
  rmSync(pkiDir, { recursive: true, force: true });
  t.pass("removed");
  t.end();
});

test("device provider exposes the classes the ECMA-419 way [ECMA-419 §26]", (t) => {
  t.equal(device.io.TCP, TCP, "device.io.TCP");
  t.equal(device.network.mqtts.socket.io, TLSSocket, "device.network.mqtts.socket.io");
  t.equal(device.network.mqtt.port, 1883, "mqtt default port");
  t.ok(Object.isFrozen(device.network), "frozen");
  // Type-level: both classes fit the contract's socket specification.
  const plain: SocketSpec = { ...device.network.mqtt.socket, noDelay: true, nodelay: true };
  const secure: SocketSpec = { io: TLSSocket, secure: { serverName: "localhost" }, tls: { host: "localhost" } };
  t.equal(plain.io, TCP, "spread socket specification keeps io");
  t.equal(secure.io, TLSSocket, "TLS socket specification");
  t.end();
});

test("timer: fires once after the delay, clearTimer cancels, long delays are not clamped", async (t) => {
  const start = now();
  let firedAt = -1;
  setTimer(30, () => {
    firedAt = now();
  });
  let cancelled = false;
  const handle = setTimer(10, () => {
    cancelled = true;
  });
  clearTimer(handle);
  clearTimer(handle);
  clearTimer(undefined);
  let far = false;
  const longHandle = setTimer(2 ** 31 + 10, () => {
    far = true;
  });
  await delay(80);
  t.ok(firedAt - start >= 29, `fired after ${Math.round(firedAt - start)} ms`);
  t.notOk(cancelled, "cleared timer did not fire");
  t.notOk(far, "a delay beyond 2^31-1 ms did not fire early (Node would clamp it to 1 ms)");
  clearTimer(longHandle);
  t.throws(() => setTimer(-1, () => {}), RangeError, "negative delay");
  t.throws(() => setTimer(Number.NaN, () => {}), RangeError, "NaN delay");
  t.ok(now() >= firedAt, "now() is monotonic");
});
