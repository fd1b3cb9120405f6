/**
 * What the runner logs about jobs, in one place so the lines read alike:
 * - warnings about jobs that run longer than their worker's `warnAfter` (default 60 s), once per
 *   attempt, saying what to do (give the worker a timeout); a timer runs only while jobs do;
 * - the logger a job gets as `ctx.log`, every line tagged with the job's id and worker;
 * - the line for a job that used up its retries, with its arguments as util.inspect shows them;
 * - the warning for an outcome not recorded because another process took the job over.
 */
import { inspect } from 'node:util';
import type { Job } from '../job/job.js';
import type { Logger } from '../logger.js';
import type { Worker } from '../worker.js';
import type { Attempt } from './perform-job.js';

/** The `warnAfter` of a worker that sets none, in ms. */
export const DEFAULT_WARN_AFTER = 60_000;

export class SlowJobWarnings {
  readonly #running: ReadonlyMap<string, Attempt>;
  readonly #interval: number;
  readonly #logger: Logger;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;

  /** `running` is the runner's own map of running attempts, read on each check. */
  constructor(
    running: ReadonlyMap<string, Attempt>,
    workers: ReadonlyMap<string, Worker<any>>,
    logger: Logger,
    now: () => number,
  ) {
    this.#running = running;
    this.#logger = logger;
    this.#now = now;
    let shortest = DEFAULT_WARN_AFTER;
    for (const worker of workers.values())
      shortest = Math.min(shortest, worker.options.warnAfter ?? DEFAULT_WARN_AFTER);
    // Often enough to warn close to each worker's warnAfter, never busier than every 10 ms.
    this.#interval = Math.min(1000, Math.max(10, shortest / 4));
  }

  /** A job started: checks run until no job does. */
  watch(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => this.#check(), this.#interval);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #check(): void {
    if (!this.#running.size) {
      this.stop();
      return;
    }
    const now = this.#now();
    for (const entry of this.#running.values()) {
      if (now < entry.warnAt) continue;
      entry.warnAt = Infinity;
      this.#logger.warn(
        { jobId: entry.job.id, worker: entry.job.worker },
        `Job #${entry.job.id} (${entry.job.worker}) has been running for ${now - entry.startedAt} ms. ` +
          `If it is stuck, give the worker a timeout option so it fails and is retried.`,
      );
    }
  }
}

/** The logger a job gets: each line tagged with the job's id and worker. */
export function jobLogger(logger: Logger, job: Job): Logger {
  const tag = `Job #${job.id} (${job.worker}): `;
  const fields = { jobId: job.id, worker: job.worker };
  return {
    debug: (obj, msg) => logger.debug({ ...fields, ...obj }, tag + msg),
    info: (obj, msg) => logger.info({ ...fields, ...obj }, tag + msg),
    warn: (obj, msg) => logger.warn({ ...fields, ...obj }, tag + msg),
    error: (obj, msg) => logger.error({ ...fields, ...obj }, tag + msg),
  };
}

/** Logs a job that used up its retries (or could not be retried), with its arguments. */
export function logFailedJob(logger: Logger, job: Job, error: Error): void {
  const times = job.attempt === 1 ? '1 attempt' : `${job.attempt} attempts`;
  logger.error(
    { err: error, jobId: job.id, worker: job.worker },
    `Job #${job.id}: ${job.worker}.perform(${inspect(job.args, { depth: 4, breakLength: Infinity })}) failed after ${times}: ${error.name}: ${error.message}`,
  );
}

/** The outcome of a job was not recorded: this process no longer holds it (it was taken over). */
export function logTakenOver(logger: Logger, jobId: string, worker: string): void {
  logger.warn(
    { jobId, worker },
    `Job #${jobId} (${worker}) is no longer held by this process (another process took it over, ` +
      `perhaps while this one was paused), so its outcome here was not recorded; it may run twice.`,
  );
}
