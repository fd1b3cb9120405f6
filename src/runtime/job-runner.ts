/**
 * Runs the jobs of this process, from persisted record to outcome:
 * 1. resolves the worker (an unknown one fails the job with a message saying how to register it);
 * 2. waits for a free slot when the worker has a maxConcurrency;
 * 3. performs the attempt (see perform-job.ts);
 * 4. records the outcome in one store call: finished (removed), retrying (moved to the delayed
 *    jobs with the next attempt) or failed (moved to the failed list), and emits the event.
 * A store call that fails because Redis is away is tried again until it lands or toniq stops;
 * the job stays persisted meanwhile, so at worst it runs again.
 */
import { RetryStrategyError, StoppedError, UnknownWorkerError } from '../errors.js';
import { emitSafely, type ToniqEventEmitter, type ToniqEvents } from '../events.js';
import { type Job, toJobError } from '../job/job.js';
import {
  decodeRecord,
  encodeRecord,
  failedJobOf,
  type JobRecord,
  jobOf,
  nextAttemptRecord,
  quarantineRecord,
  toFailedInfo,
} from '../job/job-record.js';
import { argumentsFor } from '../job/migrations.js';
import { askRetryStrategy, type RetryStrategy } from '../job/retry-strategies.js';
import type { ArgumentCodec } from '../job/serialization.js';
import type { Logger } from '../logger.js';
import type { JobStore, ProcessReport, StoredJob } from '../storage/job-store.js';
import { clearLongTimeout, type LongTimeout, type LoopWatch, setLongTimeout } from '../timers.js';
import { versionOf, type Worker } from '../worker.js';
import { ConcurrencyLimiter } from './concurrency-limiter.js';
import type { DelayedJobsTimer } from './delayed-jobs-timer.js';
import { DEFAULT_WARN_AFTER, jobLogger, logFailedJob, logTakenOver, SlowJobWarnings } from './job-logs.js';
import type { NewerVersionJobs } from './newer-version-jobs.js';
import { Attempt, type Outcome, performJob } from './perform-job.js';
import { reportOf } from './process-report.js';
import { IdleSignal, untilStored } from './runner-waits.js';

export interface JobRunnerOptions {
  store: JobStore;
  processId: string;
  workers: ReadonlyMap<string, Worker<any>>;
  codec: ArgumentCodec;
  retry: RetryStrategy;
  logger: Logger;
  /** Tells a call that timed out because the event loop was blocked from a Redis failure. */
  loopWatch?: LoopWatch;
  events: ToniqEventEmitter;
  now: () => number;
  /** Holds and hands over the jobs stored by a newer version of their worker than this process runs. */
  newerVersionJobs: NewerVersionJobs;
  /** Told when a retry was scheduled, so that it wakes for it. */
  delayedJobs: Pick<DelayedJobsTimer, 'notify'>;
}

export interface RunOptions {
  /** False fails the job at its first failure, whatever the retry strategy (inline mode). Default: true. */
  retryable?: boolean;
  /** The record the bytes were made from, when the caller has it (enqueue): saves decoding them. */
  record?: JobRecord;
  /** The caller ignores the outcome; a job waiting for a slot then costs no promise. */
  detached?: boolean;
}

/** What run() returns when detached: the outcome is not known yet, and nobody asked for it. */
const DETACHED: Promise<Outcome> = Promise.resolve({ ok: true });
/** What run() returns for a job it holds for a process that runs a newer version of its worker. */
const NOT_RUN: Promise<Outcome> = Promise.resolve({
  ok: false,
  error: new Error('stored by a newer worker version'),
});

export class JobRunner {
  readonly #o: JobRunnerOptions;
  readonly #limiters = new Map<string, ConcurrencyLimiter>();
  /** The attempts running now that returned a promise (a synchronous one is over before anyone could look). */
  readonly #running = new Map<string, Attempt>();
  /** Ids of the jobs running or waiting here. */
  readonly #active = new Set<string>();
  /** Ids of the jobs whose outcome is being written (for a finished one: until Redis confirms). */
  readonly #settling = new Set<string>();
  #waiting = 0;
  /** Of those waiting, the jobs that are in memory only (persist: 'none'). */
  #waitingInMemory = 0;
  /** Jobs finished and failed since the last takeCounts(), for the admin's throughput chart. */
  #finishedCount = 0;
  #failedCount = 0;
  readonly #idle = new IdleSignal(() => this.#isIdle());
  readonly #slowJobs: SlowJobWarnings;
  /** The timers of retries that wait in memory (persist: 'none', or a failed 'while-running' write). */
  readonly #memoryRetries = new Set<LongTimeout>();
  #stopped = false;

  constructor(options: JobRunnerOptions) {
    this.#o = options;
    this.#slowJobs = new SlowJobWarnings(this.#running, options.workers, options.logger, options.now);
    for (const worker of options.workers.values()) {
      if (worker.options.maxConcurrency)
        this.#limiters.set(worker.name, new ConcurrencyLimiter(worker.options.maxConcurrency));
    }
  }

  /**
   * Jobs that started before their first write (persist: 'while-running') whose write failed:
   * they are in memory only, so their outcome is not written, and a retry stays in memory.
   */
  readonly #unpersisted = new Set<string>();

  /** A job started with persist: 'while-running' could not be written: see #unpersisted. */
  ranUnpersisted(id: string): void {
    if (this.#active.has(id) || this.#settling.has(id)) this.#unpersisted.add(id);
  }

  /** Whether a job is running, waiting, or has its outcome being written here. */
  isKnown(id: string): boolean {
    return this.#active.has(id) || this.#settling.has(id) || this.#o.newerVersionJobs.has(id);
  }

  /** What this process runs and holds waiting now, per worker (for the admin UI). */
  report(): ProcessReport {
    return reportOf(this.#running.values(), this.#limiters, this.#o.newerVersionJobs.report());
  }

  /** How many jobs finished and failed since the last call. */
  takeCounts(): { finished: number; failed: number } {
    const counts = { finished: this.#finishedCount, failed: this.#failedCount };
    this.#finishedCount = 0;
    this.#failedCount = 0;
    return counts;
  }

  /** Runs persisted jobs (see run). */
  runStored(stored: readonly StoredJob[], options?: RunOptions): void {
    for (const job of stored) void this.run(job, { ...options, detached: true });
  }

  /**
   * Runs a persisted job; resolves once its outcome is recorded (or, if toniq stops first, left
   * persisted). The worker gets its own copy of the arguments, decoded from the stored bytes, so
   * nothing the caller or an attempt changes leaks into a retry. A record that cannot be read
   * goes to the failed list.
   */
  run(stored: StoredJob, options: RunOptions = {}): Promise<Outcome> {
    // The same job can arrive twice (say, through a takeover reply and an orphan check): run it once.
    if (this.#active.has(stored.id)) return Promise.resolve({ ok: true });
    this.#active.add(stored.id);
    let record: JobRecord;
    try {
      record =
        options.record ?? decodeRecord(stored.record, stored.id, `the jobs of process ${this.#o.processId}`);
    } catch (error) {
      this.#o.logger.error({ err: error, jobId: stored.id }, (error as Error).message);
      return this.#failUnreadable(stored.id, stored.record, error as Error);
    }
    const worker = this.#o.workers.get(record.worker);
    if (!worker) {
      const error = new UnknownWorkerError(record.worker, [...this.#o.workers.keys()]);
      return this.#settle(
        record,
        jobOf(record, this.#o.codec.tryDecode(record.args), this.#o.processId),
        { ok: false, error },
        false,
      );
    }
    // Stored by a newer version of the worker: its arguments may not be what perform expects.
    if (this.#o.newerVersionJobs.holdIfNewer(record, versionOf(worker))) {
      this.#active.delete(record.id);
      return NOT_RUN;
    }
    const retryable = options.retryable ?? true;
    const limiter = this.#limiters.get(worker.name);
    if (!limiter) return this.#start(worker, record, retryable);
    // A waiting job keeps its record, not a decoded copy of its arguments: that is made when its
    // turn comes.
    this.#waiting++;
    if (options.detached) {
      // No one waits for the outcome: no promise per waiting job.
      limiter.run(() => {
        this.#waiting--;
        return this.#start(worker, record, retryable) as Promise<unknown> as Promise<void>;
      });
      return DETACHED;
    }
    return new Promise((resolve) => {
      limiter.run(async () => {
        this.#waiting--;
        resolve(await this.#start(worker, record, retryable));
      });
    });
  }

  /**
   * Decodes the arguments (a copy for the worker), brings them up to the worker's version, and
   * makes the attempt. A migration that throws fails the attempt like the worker would.
   */
  #start(worker: Worker<any>, record: JobRecord, retryable: boolean): Promise<Outcome> {
    const { args, error, retryable: retryHelps } = argumentsFor(this.#o.codec, worker, record);
    const job = jobOf(record, args, this.#o.processId);
    if (error) return this.#settle(record, job, { ok: false, error }, retryable && retryHelps === true);
    return this.#attempt(worker, record, job, retryable);
  }

  /**
   * Runs a job that is not in storage (`persist: 'none'`): the same attempt, limiter and events,
   * retries on a timer in memory, and a failure is logged and emitted but not stored.
   */
  runUnpersisted(worker: Worker<any>, job: Job, options: { retryable: boolean }): Outcome | Promise<Outcome> {
    const attempt = () => this.#attemptUnpersisted(worker, job, options.retryable);
    const limiter = this.#limiters.get(worker.name);
    if (!limiter) return attempt();
    this.#waiting++;
    this.#waitingInMemory++;
    return new Promise((resolve) => {
      limiter.run(async () => {
        this.#waiting--;
        this.#waitingInMemory--;
        resolve(await attempt());
      });
    });
  }

  #attemptUnpersisted(worker: Worker<any>, job: Job, retryable: boolean): Outcome | Promise<Outcome> {
    if (this.#stopped) return { ok: false, error: new StoppedError('run the job') };
    const outcome = this.#perform(worker, job);
    return outcome instanceof Promise
      ? outcome.then((settled) => this.#settleUnpersisted(worker, job, retryable, settled))
      : this.#settleUnpersisted(worker, job, retryable, outcome);
  }

  #settleUnpersisted(
    worker: Worker<any>,
    job: Job,
    retryable: boolean,
    outcome: Outcome,
    // The strategy's answer when already asked (a 'while-running' job that turned out unpersisted).
    known?: number | null | RetryStrategyError,
  ): Outcome {
    if (this.#stopped) return outcome;
    if (outcome.ok) {
      this.#finishedCount++;
      this.#emit('finished', job);
    } else {
      const answer =
        known !== undefined
          ? known
          : retryable
            ? this.#retryDelay(worker.name, job.attempt, outcome.error)
            : null;
      if (typeof answer === 'number') {
        const next = { ...job, attempt: job.attempt + 1 };
        this.#emit('retrying', job, outcome.error, new Date(this.#o.now() + answer));
        // Up to 365 days: longer than one timer holds. Cleared by stop(), or a stopped process
        // would be kept alive until the retry's time only for the attempt to refuse to run.
        const retry = setLongTimeout(() => {
          this.#memoryRetries.delete(retry);
          void this.runUnpersisted(worker, next, { retryable });
        }, answer);
        this.#memoryRetries.add(retry);
      } else {
        this.#reportFailure(job, answer ?? outcome.error, this.#o.now());
      }
    }
    this.#notifyIfIdle();
    return outcome;
  }

  /** One attempt, tracked as running (for stop, warnAfter and the started event). */
  #perform(worker: Worker<any>, job: Job): Outcome | Promise<Outcome> {
    const attempt = new Attempt(
      job,
      this.#o.now(),
      worker.options.warnAfter ?? DEFAULT_WARN_AFTER,
      this.#makeJobLogger,
    );
    this.#emit('started', job);
    const outcome = performJob(worker, attempt);
    if (!(outcome instanceof Promise)) return outcome;
    this.#running.set(job.id, attempt);
    this.#slowJobs.watch();
    return outcome.then((settled) => {
      this.#running.delete(job.id);
      return settled;
    });
  }

  async #attempt(worker: Worker<any>, record: JobRecord, job: Job, retryable: boolean): Promise<Outcome> {
    if (this.#stopped) return { ok: false, error: new StoppedError('run the job') };
    const outcome = await this.#perform(worker, job);
    if (this.#stopped) return outcome; // left persisted: it runs again after a restart or takeover
    await this.#settle(record, job, outcome, retryable);
    this.#notifyIfIdle();
    return outcome;
  }

  async #settle(record: JobRecord, job: Job, outcome: Outcome, retryable: boolean): Promise<Outcome> {
    const { store, processId, now } = this.#o;
    // No longer active: a retry may come back through the delayed jobs before this call returns.
    this.#active.delete(record.id);
    if (this.#unpersisted.has(record.id)) return this.#settleInMemory(record, job, outcome, retryable);
    this.#settling.add(record.id);
    if (outcome.ok) {
      // Settling until Redis confirms the removal, so that an orphan check does not run it again.
      // (A 'while-running' job whose write failed after it finished is marked unpersisted here
      // meanwhile: nothing to do for it but forget the mark.)
      void store.finishJobs(processId, [record.id]).then(() => {
        this.#settling.delete(record.id);
        this.#unpersisted.delete(record.id);
      });
      this.#finishedCount++;
      this.#emit('finished', job);
      return outcome;
    }
    let error = outcome.error;
    const answer = retryable ? this.#retryDelay(record.worker, record.attempt, error) : null;
    if (answer instanceof RetryStrategyError) error = answer;
    const delay = typeof answer === 'number' ? answer : null;
    // The record keeps the arguments' stored bytes, so what the worker changed in its copy is not written.
    if (delay !== null) {
      const dueAt = now() + delay;
      const next = nextAttemptRecord(record);
      const moved = await this.#persist(
        `schedule the retry of job #${record.id}`,
        () => store.scheduleRetry(processId, { id: record.id, record: encodeRecord(next), dueAt }),
        // Its first write failed meanwhile (persist: 'while-running'): it is not in Redis to move.
        () => this.#unpersisted.has(record.id),
      );
      this.#settling.delete(record.id);
      if (this.#unpersisted.has(record.id))
        return this.#settleInMemory(record, job, outcome, retryable, answer);
      if (moved === false) logTakenOver(this.#o.logger, record.id, record.worker);
      if (moved) {
        this.#o.delayedJobs.notify(dueAt);
        this.#emit('retrying', job, error, new Date(dueAt));
      }
      return outcome;
    }
    const failedAt = now();
    const failedRecord: JobRecord = {
      ...record,
      failed: { error: toJobError(error), attempts: record.attempt, failedAt, processId },
    };
    const moved = await this.#persist(
      `move job #${record.id} to the failed list`,
      () => store.failJob(processId, { id: record.id, record: encodeRecord(failedRecord) }, failedAt),
      () => this.#unpersisted.has(record.id),
    );
    this.#settling.delete(record.id);
    if (this.#unpersisted.has(record.id))
      return this.#settleInMemory(record, job, outcome, retryable, answer);
    if (moved === false) logTakenOver(this.#o.logger, record.id, record.worker);
    if (moved) this.#reportFailure(job, error, failedAt);
    return outcome;
  }

  #retryDelay(workerName: string, attempt: number, error: Error): number | null | RetryStrategyError {
    const own = this.#o.workers.get(workerName)?.options.retry;
    return askRetryStrategy(own ?? this.#o.retry, own !== undefined, workerName, attempt, error);
  }

  /** Logs a job that used up its retries, with its arguments as util.inspect shows them, and emits failed. */
  #reportFailure(job: Job, error: Error, failedAt: number): void {
    this.#failedCount++;
    logFailedJob(this.#o.logger, job, error);
    this.#emit('failed', failedJobOf(job, toFailedInfo(job, error, failedAt)), error);
  }

  async #failUnreadable(id: string, raw: Buffer, error: Error): Promise<Outcome> {
    const failedAt = this.#o.now();
    const record = quarantineRecord(id, raw, error, failedAt, this.#o.processId);
    await this.#persist(`move unreadable job #${id} to the failed list`, () =>
      this.#o.store.failJob(this.#o.processId, { id, record: encodeRecord(record) }, failedAt),
    );
    this.#active.delete(id);
    return { ok: false, error };
  }

  /**
   * The outcome of a job that is not in Redis after all (its 'while-running' write failed):
   * like a job with persist: 'none', a retry waits in memory and a failure is logged and emitted,
   * not written. Nothing here claims the job "may run twice": it was never taken over.
   */
  #settleInMemory(
    record: JobRecord,
    job: Job,
    outcome: Outcome,
    retryable: boolean,
    known?: number | null | RetryStrategyError,
  ): Outcome {
    this.#unpersisted.delete(record.id);
    const worker = this.#o.workers.get(record.worker);
    if (worker) this.#settleUnpersisted(worker, job, retryable, outcome, known);
    return outcome;
  }

  /** See untilStored: gives up when toniq stops, or when `abandon` says the call is moot. */
  #persist<T>(what: string, call: () => Promise<T>, abandon?: () => boolean): Promise<T | undefined> {
    return untilStored(what, call, {
      logger: this.#o.logger,
      loopWatch: this.#o.loopWatch,
      abandon: () => this.#stopped || (abandon?.() ?? false),
    });
  }

  /** Made once: a closure per job would be garbage for every job that never logs. */
  readonly #makeJobLogger = (job: Job): Logger => jobLogger(this.#o.logger, job);

  #emit<E extends keyof ToniqEvents>(event: E, ...args: ToniqEvents[E]): void {
    emitSafely(this.#o.events, this.#o.logger, event, ...args);
  }

  /** Resolves when no job runs or waits, or after `timeout` ms (any length); returns whether it became idle. */
  waitUntilIdle(timeout: number): Promise<boolean> {
    return this.#idle.wait(timeout);
  }

  /**
   * Stops running: aborts the signals of jobs still running and forgets waiting ones.
   * `abandoned` counts the persisted ones (they stay in Redis); `lost` those that were in memory
   * only (persist: 'none', or a 'while-running' job whose write failed), running, waiting or
   * waiting for a retry.
   */
  stop(): { abandoned: number; lost: number } {
    this.#stopped = true;
    this.#o.newerVersionJobs.stop();
    this.#slowJobs.stop();
    let lostNow = this.#waitingInMemory;
    for (const id of this.#running.keys()) if (!this.#active.has(id) || this.#unpersisted.has(id)) lostNow++;
    const lost = lostNow + this.#memoryRetries.size;
    for (const retry of this.#memoryRetries) clearLongTimeout(retry);
    this.#memoryRetries.clear();
    const abandoned = this.#running.size + this.#waiting - lostNow;
    for (const attempt of this.#running.values())
      attempt.abort(new Error('toniq stopped before the job finished'));
    for (const limiter of this.#limiters.values()) limiter.clear();
    this.#running.clear();
    this.#active.clear();
    this.#waiting = 0;
    this.#waitingInMemory = 0;
    this.#notifyIfIdle();
    return { abandoned, lost };
  }

  #isIdle(): boolean {
    return this.#running.size === 0 && this.#waiting === 0;
  }

  #notifyIfIdle(): void {
    if (this.#isIdle()) this.#idle.reached();
  }
}
