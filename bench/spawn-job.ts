/**
 * Runs one benchmark job (bench/node-worker.ts) in a forked Node process and
 * collects its messages. For QoS 0 throughput the caller passes a
 * `subscriber` hook: it is told when the worker starts publishing and must
 * resolve with the epoch time (ms) at which the last message arrived.
 *
 * Node-only benchmark support.
 */
import { fork } from "node:child_process";
import type { Job } from "./node-worker";

/** What a worker reports at the end, plus the timestamps it sent on the way. */
export interface JobResult {
  [field: string]: any;
  maxRssKb: number;
  startedAt?: number;
  publishedAt?: number;
}

/** Hooks for a job whose end is observed outside the worker (QoS 0 throughput). */
export interface SubscriberHook {
  /** Called once the worker is connected, before it is told to go; resolves with the epoch ms of the last message. */
  arm(): Promise<number>;
}

/** Wall-clock limit per job, ms. */
const JOB_TIMEOUT_MS = 120_000;

/**
 * Forks `workerPath` with `job`, drives the ready/go/finish exchange, and
 * resolves with the worker's result. With `hook`, `endAt` (epoch ms) is
 * added from the hook. Rejects when the worker fails or exceeds the time
 * limit (it is then killed).
 */
export function runJob(workerPath: string, job: Job, hook?: SubscriberHook, execArgv: string[] = []): Promise<JobResult & { endAt?: number }> {
  return new Promise((resolve, reject) => {
    const child = fork(workerPath, [JSON.stringify(job)], {
      stdio: ["ignore", "inherit", "pipe", "ipc"],
      execArgv,
    });
    let stderr = "";
    child.stderr!.setEncoding("utf8").on("data", (text: string) => {
      stderr = (stderr + text).slice(-4000);
    });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`job ${job.kind}/${job.impl}/qos${job.qos} timed out after ${JOB_TIMEOUT_MS} ms\n${stderr}`));
    }, JOB_TIMEOUT_MS);
    let result: (JobResult & { endAt?: number }) | undefined;
    let startedAt: number | undefined;
    let publishedAt: number | undefined;
    let subscriberDone: Promise<void> | undefined;
    let endAt: number | undefined;
    child.on("message", (message: any) => {
      switch (message?.type) {
        case "ready":
          if (hook !== undefined) {
            // The worker is told as soon as the subscriber has everything (it samples its CPU
            // time then), and told to finish once it has also handed everything to its client.
            subscriberDone = hook.arm().then(
              (at) => {
                endAt = at;
                child.send({ type: "subscriberDone" });
              },
              (error) => {
                child.kill("SIGKILL");
                reject(error);
              },
            );
          }
          child.send({ type: "go" });
          break;
        case "started":
          startedAt = message.at;
          break;
        case "published":
          publishedAt = message.at;
          if (subscriberDone !== undefined) subscriberDone.then(() => child.send({ type: "finish" }));
          break;
        case "result":
          result = { ...message, startedAt, publishedAt };
          if (endAt !== undefined) result!.endAt = endAt;
          break;
      }
    });
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      if (code === 0 && result !== undefined && result.type === "result") resolve(result);
      else reject(new Error(`job ${job.kind}/${job.impl}/qos${job.qos} failed (${code ?? signal})\n${stderr}`));
    });
  });
}
