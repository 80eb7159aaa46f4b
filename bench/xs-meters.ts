/**
 * Node side of the XS engine figures: runs bench/xs-entry.ts (bundled) in
 * fresh xsnap-workers and reads the worker's deterministic meters.
 *
 * Method (the same as bench/xs-heap.mjs uses):
 * - compute per call: `compute` of a request that loops a step N times,
 *   minus the same loop over an empty step, divided by N. The meter is
 *   deterministic, so one run is exact; each figure is taken twice and the
 *   two must agree.
 * - heap slots allocated per call: `currentHeapCount` after the loop minus
 *   before it (a gc() just before), minus the empty loop's growth, over N
 *   calls that stay below the initial heap (256 K slots), so no collection
 *   runs in between; "retained" is the same after a gc(): what stays live.
 * - object size: three fresh workers run the same requests and keep 0, 1
 *   and 2 connected idle clients; slots per client = keep2 - keep1.
 * - transport cost: the in-memory socket's calls per operation are counted
 *   and the same calls are metered without a client (`transport*` steps);
 *   the net figure subtracts them.
 *
 * Node-only.
 */
import { readFile } from "node:fs/promises";
import { pathToFileURL } from "node:url";

/** One metered step. */
export interface StepFigures {
  /** XS compute steps per call, transport and harness included. */
  computeGross: number;
  /** The same minus the in-memory transport's and harness's own cost (see `transportCompute`). */
  compute: number;
  transportCompute: number;
  /** Heap slots allocated per call (live or garbage). */
  slotsAllocated: number | null;
  /** Heap slots still live after a gc(), per call (0 = no growth). */
  slotsRetained: number;
  /** What the step asked of the transport per call. */
  perCall: { writes: number; writtenBytes: number; reads: number; readBytes: number; timerSets: number; timerClears: number };
  deterministic: boolean;
}

export interface XsFigures {
  engine: string;
  calls: number;
  qos0Publish: StepFigures;
  qos1PublishAck: StepFigures;
  rxQos0: StepFigures;
  /** The same three operations through the MQTT.js-compatible API (modules/mqtt/compat.ts) at its defaults. */
  compat: { qos0Publish: StepFigures; qos1PublishAck: StepFigures; rxQos0: StepFigures };
  idleClient: { slots: number; firstTimeSlots: number; socketSlots: number; slotsWithoutSocket: number; arrayBufferBytes: number; arrayBuffers: number };
  offline: {
    qos0: { attempts: number; before: number; after: number; afterTwice: number; growthPercent: number; dropped: number };
    qos1: { attempts: number; before: number; after: number; afterTwice: number; growthPercent: number; refused: number; queued: number };
  };
  breakdown: Record<string, { compute: number; slotsAllocated: number | null }>;
  moddable: { qos0Publish: number; rxQos0: number; qos1PublishAck: number; idleSlots: number };
}

/** The Moddable SDK ECMA-419 MQTT client on the same work, as measured for the issue (xsnap meters). */
const MODDABLE = Object.freeze({ qos0Publish: 563, rxQos0: 3996, qos1PublishAck: 1270, idleSlots: 136 });

const CALLS = 1000;
/** Layer steps of bench/xs-entry.ts, cheapest first within each direction. */
const BREAKDOWN = [
  "viewOfTx",
  "copyPayload",
  "utf8LengthTopic",
  "assertTopic",
  "encodeLength",
  "encodeTopic",
  "encodePublish",
  "outboxEnqueueRemove",
  "sessionPollIdle",
  "sessionPublishQos0",
  "clientServiceIdle",
  "floorQos0Publish",
  "clientQos0TwoTopics",
  "decodeTopic",
  "decodePublish",
  "sessionReceiveQos0",
  "decodePuback",
  "outboxQos1Cycle",
  "sessionQos1Cycle",
];
const OFFLINE_ATTEMPTS = 10000;
const INITIAL_HEAP_COUNT = 256 * 1024;

interface Worker {
  evaluate(code: string): Promise<{ meters: { compute: number; currentHeapCount: number }; result: Uint8Array }>;
  close(): Promise<number | null>;
}

export async function measureXs(entryPath: string, xsnapWorkerPath: string): Promise<XsFigures> {
  const { XsnapWorker } = (await import(pathToFileURL(xsnapWorkerPath).href)) as {
    XsnapWorker: new (options: object) => Worker;
  };
  const bundle = await readFile(entryPath, "utf8");
  const decoder = new TextDecoder();
  const workers = new Set<Worker>();
  const spawn = async (): Promise<Worker> => {
    const worker = new XsnapWorker({ onStdout: (text: string) => process.stderr.write(text) });
    workers.add(worker);
    await worker.evaluate(bundle);
    return worker;
  };
  const done = async (worker: Worker): Promise<void> => {
    workers.delete(worker);
    await worker.close();
  };
  const report = async (worker: Worker): Promise<any> => JSON.parse(decoder.decode((await worker.evaluate("__bench.report()")).result));
  const heap = async (worker: Worker): Promise<number> => (await worker.evaluate("gc();")).meters.currentHeapCount;

  /** Compute and heap per call of `step` after `setup`. */
  const meter = async (setup: string, step: string): Promise<Omit<StepFigures, "compute" | "transportCompute"> & { counts: any }> => {
    const worker = await spawn();
    await worker.evaluate(`__bench.setup(${JSON.stringify(setup)});`);
    // Warm-up: first-time work (lazy tables, first alias, ...) is not per call.
    await worker.evaluate(`__bench.loop(${JSON.stringify(step)}, 10); __bench.loop("empty", 10);`);
    const base0 = await heap(worker);
    const empty = (await worker.evaluate(`__bench.loop("empty", ${CALLS});`)).meters;
    const base1 = await heap(worker);
    await worker.evaluate("__bench.resetCounts();");
    const base2 = await heap(worker);
    const full = (await worker.evaluate(`__bench.loop(${JSON.stringify(step)}, ${CALLS});`)).meters;
    const counts = await report(worker);
    const after = await heap(worker);
    const repeat = (await worker.evaluate(`__bench.loop(${JSON.stringify(step)}, ${CALLS});`)).meters;
    const emptyGrowth = empty.currentHeapCount - base0;
    const grown = full.currentHeapCount - base2 - emptyGrowth;
    const collected = full.currentHeapCount < base2 || full.currentHeapCount >= INITIAL_HEAP_COUNT;
    const perCall: StepFigures["perCall"] = {
      writes: counts.counts.writes / CALLS,
      writtenBytes: counts.counts.writtenBytes / CALLS,
      reads: counts.counts.reads / CALLS,
      readBytes: counts.counts.readBytes / CALLS,
      timerSets: counts.counts.timerSets / CALLS,
      timerClears: counts.counts.timerClears / CALLS,
    };
    void base1;
    await done(worker);
    return {
      computeGross: (full.compute - empty.compute) / CALLS,
      slotsAllocated: collected ? null : grown / CALLS,
      slotsRetained: (after - base2) / CALLS,
      perCall,
      deterministic: full.compute === repeat.compute,
      counts,
    };
  };

  try {
    // Transport and harness costs, measured without a client.
    const write = await meter("transport", "transportWrite");
    const deliverPuback = await meter("transport", "transportDeliverPuback");
    const deliverPublish = await meter("transport", "transportDeliverPublish");
    // The floor step writes to the socket too: it needs the transport fixture.

    const finish = (m: Awaited<ReturnType<typeof meter>>, transport: number): StepFigures => {
      const { counts: _counts, ...rest } = m;
      return { ...rest, compute: m.computeGross - transport, transportCompute: transport };
    };
    const q0 = await meter("connected", "qos0Publish");
    if (q0.counts.state !== "connected") throw new Error(`XS: client left the connected state (${q0.counts.state})`);
    const q1 = await meter("connected", "qos1PublishAck");
    const rx = await meter("connected", "rxQos0");
    if (rx.counts.received !== CALLS) throw new Error(`XS: ${rx.counts.received} of ${CALLS} messages reached onMessage`);
    const c0 = await meter("compat", "compatQos0Publish");
    const c1 = await meter("compat", "compatQos1PublishAck");
    if (c1.counts.outbox.inflight !== 0 || c1.counts.outbox.queued !== 0) throw new Error("XS: compat QoS 1 step left messages unacknowledged");
    const crx = await meter("compat", "compatRxQos0");
    if (crx.counts.received !== CALLS) throw new Error(`XS: ${crx.counts.received} of ${CALLS} messages reached the compat message listener`);
    const qos0Publish = finish(q0, q0.perCall.writes * write.computeGross);
    const qos1PublishAck = finish(q1, q1.perCall.writes * write.computeGross + deliverPuback.computeGross);
    const rxQos0 = finish(rx, rx.perCall.writes * write.computeGross + deliverPublish.computeGross);

    // Idle connected client: three workers, identical requests, 0/1/2 clients kept.
    const counts: number[] = [];
    for (const n of [0, 1, 2]) {
      const worker = await spawn();
      await worker.evaluate(`__bench.setup("none"); __bench.keep(${n});`);
      counts.push(await heap(worker));
      await done(worker);
    }
    const socketCounts: number[] = [];
    for (const n of [1, 2]) {
      const worker = await spawn();
      await worker.evaluate(`__bench.setup("none"); __bench.keepSockets(${n});`);
      socketCounts.push(await heap(worker));
      await done(worker);
    }
    const probe = await spawn();
    await probe.evaluate(`__bench.setup("none"); __bench.keep(1);`);
    const reach = JSON.parse(decoder.decode((await probe.evaluate("__bench.reach()")).result));
    await done(probe);
    const slots = counts[2] - counts[1];
    const socketSlots = socketCounts[1] - socketCounts[0];

    // Offline publish attempts: the heap must stay flat (fixed ring).
    const offline = async (step: string): Promise<any> => {
      const worker = await spawn();
      await worker.evaluate(`__bench.setup("offline"); __bench.loop(${JSON.stringify(step)}, 100);`);
      const before = await heap(worker);
      await worker.evaluate(`__bench.loop(${JSON.stringify(step)}, ${OFFLINE_ATTEMPTS});`);
      const after = await heap(worker);
      await worker.evaluate(`__bench.loop(${JSON.stringify(step)}, ${OFFLINE_ATTEMPTS});`);
      const afterTwice = await heap(worker);
      const r = await report(worker);
      await done(worker);
      return { attempts: OFFLINE_ATTEMPTS, before, after, afterTwice, growthPercent: ((after - before) / before) * 100, outbox: r.outbox };
    };
    const off0 = await offline("offlineQos0");
    const off1 = await offline("offlineQos1");

    // Breakdown by layer.
    const breakdown: XsFigures["breakdown"] = {};
    for (const step of BREAKDOWN) {
      const m = await meter("layers", step);
      breakdown[step] = { compute: m.computeGross, slotsAllocated: m.slotsAllocated };
    }
    breakdown.transportWrite = { compute: write.computeGross, slotsAllocated: write.slotsAllocated };
    breakdown.transportDeliverPuback = { compute: deliverPuback.computeGross, slotsAllocated: deliverPuback.slotsAllocated };
    breakdown.transportDeliverPublish = { compute: deliverPublish.computeGross, slotsAllocated: deliverPublish.slotsAllocated };

    return {
      engine: "XS 13.3 in xsnap-worker (@agoric/xsnap), default creation settings",
      calls: CALLS,
      qos0Publish,
      qos1PublishAck,
      rxQos0,
      compat: {
        qos0Publish: finish(c0, c0.perCall.writes * write.computeGross),
        qos1PublishAck: finish(c1, c1.perCall.writes * write.computeGross + deliverPuback.computeGross),
        rxQos0: finish(crx, crx.perCall.writes * write.computeGross + deliverPublish.computeGross),
      },
      idleClient: {
        slots,
        firstTimeSlots: counts[1] - counts[0] - slots,
        socketSlots,
        slotsWithoutSocket: slots - socketSlots,
        arrayBufferBytes: reach.bytes,
        arrayBuffers: reach.buffers,
      },
      offline: {
        qos0: { attempts: off0.attempts, before: off0.before, after: off0.after, afterTwice: off0.afterTwice, growthPercent: off0.growthPercent, dropped: off0.outbox.dropped },
        qos1: {
          attempts: off1.attempts,
          before: off1.before,
          after: off1.after,
          afterTwice: off1.afterTwice,
          growthPercent: off1.growthPercent,
          refused: 2 * OFFLINE_ATTEMPTS + 100 - off1.outbox.queued,
          queued: off1.outbox.queued,
        },
      },
      breakdown,
      moddable: { ...MODDABLE },
    };
  } finally {
    await Promise.all([...workers].map((worker) => worker.close()));
  }
}
