/**
 * Held jobs this process must not run: they were stored by a newer version of their worker than
 * the one it runs (a rolling deploy, with old and new processes side by side, or a rollback).
 * Running them would hand `perform` arguments of a shape it does not know. Instead:
 * 1. the job stays held here (the runner counts it as known, so the orphan check leaves it);
 * 2. it is handed over to a live process that runs the job's version, through the store, and
 *    that process is woken; this is tried at once and then every `retryInterval` while any wait;
 * 3. what happened is logged once per worker and version, and the admin UI shows the job as
 *    waiting, with the reason (the process report's `newerVersionIds`).
 * When this process stops, the jobs are handed over like any other held jobs, and the process
 * that gets them decides the same way.
 */
import { type JobRecord, workerVersionOf } from '../job/job-record.js';
import { OnceUntilReset } from '../log-once.js';
import type { Logger } from '../logger.js';
import type { JobStore, ProcessStatus } from '../storage/job-store.js';
import { type LoopWatch, redisRetryDelay } from '../timers.js';

export interface NewerVersionJobsOptions {
  store: JobStore;
  processId: string;
  logger: Logger;
  /** The version this process runs of each of its workers. */
  versionOf: (worker: string) => number;
  /** How often to look again for a process that runs a waiting job's version, in ms. */
  retryInterval: number;
  loopWatch?: LoopWatch | undefined;
}

interface Waiting {
  worker: string;
  version: number;
}

export class NewerVersionJobs {
  readonly #o: NewerVersionJobsOptions;
  readonly #waiting = new Map<string, Waiting>();
  /** "worker@version" pairs already logged. */
  readonly #logged = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #handingOver = false;
  /** Failed hand-over attempts in a row: the retry backs off, and the failure is logged once. */
  #failures = 0;
  readonly #failing = new OnceUntilReset();
  #stopped = false;

  constructor(options: NewerVersionJobsOptions) {
    this.#o = options;
  }

  /** Whether a job waits here for a newer version. */
  has(id: string): boolean {
    return this.#waiting.has(id);
  }

  /** The jobs waiting here, for the process report. */
  report(): Array<{ id: string; worker: string; version: number }> {
    return [...this.#waiting].map(([id, { worker, version }]) => ({ id, worker, version }));
  }

  /**
   * Takes a held job when it was stored by a newer version of its worker than `runs`, the one
   * this process runs; returns whether it did (the runner then leaves the job alone).
   */
  holdIfNewer(record: JobRecord, runs: number): boolean {
    const version = workerVersionOf(record);
    if (version <= runs) return false;
    if (this.#stopped) return true;
    this.#waiting.set(record.id, { worker: record.worker, version });
    const key = `${record.worker}@${version}`;
    if (!this.#logged.has(key)) {
      this.#logged.add(key);
      this.#o.logger.warn(
        { jobId: record.id, worker: record.worker, workerVersion: version },
        `Job #${record.id} (${record.worker}) was stored by version ${version} of the worker's arguments, and this ` +
          `process runs version ${this.#o.versionOf(record.worker)}, so it does not run it (nor others like it). ` +
          `It goes to a live process that runs version ${version}; until one is found it waits here, shown as waiting ` +
          `in the admin UI. During a rolling deploy the new processes take it; after a rollback, deploy version ${version} again or enqueue it anew.`,
      );
    }
    this.#schedule(0);
    return true;
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #schedule(delay: number): void {
    if (this.#stopped || this.#timer || this.#handingOver) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#handOver();
    }, delay);
    this.#timer.unref();
  }

  async #handOver(): Promise<void> {
    this.#handingOver = true;
    const startedAt = Date.now();
    try {
      const processes = await this.#o.store.listProcesses();
      for (const [target, ids] of this.#targets(processes)) {
        const { moved, gone } = await this.#o.store.handOverJobs(this.#o.processId, target, ids);
        // A job no longer held here (taken over meanwhile) is not ours to wait for either.
        for (const id of [...moved, ...gone]) this.#waiting.delete(id);
        if (moved.length) {
          this.#o.logger.info(
            { processId: target },
            `Handed ${moved.length} job(s) stored by a newer worker version to process ${target}, which runs it.`,
          );
          await this.#o.store.publish(target, { type: 'wake' }).catch(() => {});
        }
      }
      this.#failures = 0;
      if (this.#failing.reset())
        this.#o.logger.info({}, 'Handing over jobs stored by a newer worker version works again.');
    } catch (error) {
      this.#failures++;
      // Once per outage, and not at all when a blocked event loop made the call time out.
      if (
        !this.#o.loopWatch?.explain(startedAt, 'a hand-over of jobs stored by a newer worker version') &&
        this.#failing.first()
      ) {
        this.#o.logger.warn(
          { err: error },
          `Could not hand over jobs stored by a newer worker version: ${(error as Error).message}. Trying again until Redis answers; they wait here meanwhile.`,
        );
      }
    } finally {
      this.#handingOver = false;
    }
    if (this.#waiting.size)
      this.#schedule(this.#failures ? redisRetryDelay(this.#failures - 1) : this.#o.retryInterval);
  }

  /** For each live process that runs a waiting job's version, the ids it should get. */
  #targets(processes: readonly ProcessStatus[]): Map<string, string[]> {
    const targets = new Map<string, string[]>();
    for (const [id, { worker, version }] of this.#waiting) {
      const capable = processes.filter(
        (process) =>
          process.id !== this.#o.processId &&
          process.heartbeatAge !== null &&
          process.workers.includes(worker) &&
          (process.workerVersions?.[worker] ?? 1) >= version,
      );
      if (!capable.length) continue;
      const target = capable[Math.floor(Math.random() * capable.length)]!.id;
      const ids = targets.get(target) ?? [];
      ids.push(id);
      targets.set(target, ids);
    }
    return targets;
  }
}
