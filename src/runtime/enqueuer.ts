/**
 * Writes new jobs and hands them to the runner: the part of enqueue after the checks of
 * enqueue-checks.ts. Three ways, by where and how the job is kept:
 * - persisted here: written to this process's jobs (or delayed jobs), then run here;
 * - unpersisted (persist: 'none'): not written, run here from memory;
 * - onto another process: written to that process's delayed jobs, due at once, and the
 *   process woken through Redis.
 */
import { checkEnqueueOptions, newJob, unpersistedJob, validateArgs } from '../enqueue-checks.js';
import {
  DamagedKeyError,
  InvalidArgumentsError,
  NoSuchProcessError,
  NotReplicatedError,
  RanUnpersistedError,
  RedisUnavailableError,
} from '../errors.js';
import { emitSafely, type ToniqEventEmitter } from '../events.js';
import type { Job } from '../job/job.js';
import type { ArgumentCodec } from '../job/serialization.js';
import type { ResolvedOptions } from '../options.js';
import type { JobStore, ProcessStatus } from '../storage/job-store.js';
import type { LoopWatch } from '../timers.js';
import { type PersistMode, versionOf, type Worker } from '../worker.js';
import type { DelayedJobsTimer } from './delayed-jobs-timer.js';
import type { JobRunner } from './job-runner.js';

export interface EnqueuerOptions {
  store: JobStore;
  runner: JobRunner;
  delayedJobs: DelayedJobsTimer;
  loopWatch: LoopWatch;
  codec: ArgumentCodec;
  options: ResolvedOptions;
  events: ToniqEventEmitter;
}

export class Enqueuer {
  readonly #o: EnqueuerOptions;

  constructor(options: EnqueuerOptions) {
    this.#o = options;
  }

  /**
   * A job written to this process's jobs (or delayed jobs) and run here. Resolves once written
   * (`'while-running'`: once written, the job already running; inline mode: once it ran).
   */
  async persisted<Args>(
    worker: Worker<Args>,
    args: unknown,
    delayFor: number,
    persist: PersistMode,
  ): Promise<Job<Args>> {
    const { store, runner, delayedJobs } = this.#o;
    const { processId, mode } = this.#o.options;
    const value = await validateArgs(worker, args);
    const now = this.#o.options.now();
    const { record, bytes, job } = newJob(this.#o.codec, worker, value, processId, now);
    const stored = { id: record.id, record: bytes };

    if (delayFor > 0) {
      const dueAt = now + delayFor;
      await this.#persisted('enqueue a delayed job', store.addDelayedJobs(processId, [{ ...stored, dueAt }]));
      delayedJobs.notify(dueAt);
      const delayed = { ...job, dueAt: dueAt === Infinity ? null : new Date(dueAt) };
      this.#emit(delayed);
      return delayed;
    }
    if (persist === 'while-running' && mode === 'background') {
      const written = store.addJobs(processId, [stored]);
      void runner.run(stored, { record, detached: true });
      try {
        await this.#persisted('enqueue a job', written);
      } catch (error) {
        // Starting at once is the point of this mode, so the job runs already: the rejection must
        // say so, or following RedisUnavailableError's advice (enqueue it again) runs it twice.
        // The store undoes a write that lands late, so the job is now this process's alone,
        // like one with persist: 'none' (retries in memory, no failed-list entry).
        runner.ranUnpersisted(record.id);
        throw new RanUnpersistedError(record.id, worker.name, { cause: error as RedisUnavailableError });
      }
      this.#emit(job);
      return job;
    }
    await this.#persisted('enqueue a job', store.addJobs(processId, [stored]));
    this.#emit(job);
    if (mode === 'background') void runner.run(stored, { record, detached: true });
    else if (mode === 'inline') {
      // Inline mode is for tests: a failure rejects enqueue and goes to the failed list, no retries.
      const outcome = await runner.run(stored, { retryable: false, record });
      if (!outcome.ok) throw outcome.error;
    }
    return job;
  }

  /** A job with `persist: 'none'`: no serialization, no Redis; the worker gets the arguments themselves. */
  unpersisted<Args>(worker: Worker<Args>, args: unknown): Promise<Job<Args>> {
    if (this.#o.options.mode === 'manual') {
      throw new InvalidArgumentsError(
        'options.persist',
        "mode 'manual' keeps jobs in the store until drain(), but persist: 'none' jobs are never stored. Nothing was enqueued.",
      );
    }
    if (worker.options.schema || this.#o.options.mode === 'inline')
      return this.#unpersistedSlowly(worker, args);
    const job = unpersistedJob(worker, args, this.#o.options.processId, this.#o.options.now());
    this.#emit(job);
    this.#o.runner.runUnpersisted(worker, job, { retryable: true });
    return Promise.resolve(job);
  }

  /** With a schema to await, or in inline mode (which waits for the job). */
  async #unpersistedSlowly<Args>(worker: Worker<Args>, args: unknown): Promise<Job<Args>> {
    const value = await validateArgs(worker, args);
    const job = unpersistedJob(worker, value, this.#o.options.processId, this.#o.options.now());
    this.#emit(job);
    const inline = this.#o.options.mode === 'inline';
    const outcome = await this.#o.runner.runUnpersisted(worker, job, { retryable: !inline });
    if (inline && !outcome.ok) throw outcome.error;
    return job;
  }

  /**
   * Another process's jobs go through its delayed jobs, due at once (0) or after the delay, so
   * the target's own timer takes them over when the wake-up message is missed.
   */
  async onOtherProcess<Args>(
    // Its id, or its status when the caller has just listed the processes.
    where: string | ProcessStatus,
    worker: Worker<Args>,
    args: unknown,
    options: unknown,
  ): Promise<Job<Args>> {
    const { store } = this.#o;
    const { delayFor } = checkEnqueueOptions(options, undefined, this.#o.options.now());
    const processId = typeof where === 'string' ? where : where.id;
    const target =
      typeof where === 'string'
        ? (await store.listProcesses()).find((process) => process.id === processId)
        : where;
    if (!target || target.heartbeatAge === null) {
      throw new NoSuchProcessError(`Cannot enqueue onto process ${processId}: no live process has that id.`);
    }
    if (!target.workers.includes(worker?.name)) {
      throw new NoSuchProcessError(
        `Cannot enqueue onto process ${processId}: it does not register a worker named "${worker?.name}" ` +
          `(it registers: ${target.workers.join(', ') || 'none'}).`,
      );
    }
    const theirs = target.workerVersions?.[worker.name] ?? 1;
    if (theirs < versionOf(worker)) {
      throw new NoSuchProcessError(
        `Cannot enqueue onto process ${processId}: it runs version ${theirs} of worker "${worker.name}", ` +
          `older than this job's version ${versionOf(worker)}, so it could not read the arguments. Enqueue it anywhere else, or once that process runs the new version.`,
      );
    }
    const value = await validateArgs(worker, args);
    const now = this.#o.options.now();
    const { record, bytes, job } = newJob(this.#o.codec, worker, value, processId, now);
    const dueAt = delayFor > 0 ? now + delayFor : 0;
    await this.#persisted(
      'enqueue a job on another process',
      store.addDelayedJobs(processId, [{ id: record.id, record: bytes, dueAt }]),
    );
    store.publish(processId, { type: 'wake' }).catch(() => {
      // The target's poll finds the job anyway, within delayedJobsPollInterval.
    });
    const enqueued = delayFor > 0 ? { ...job, dueAt: dueAt === Infinity ? null : new Date(dueAt) } : job;
    this.#emit(enqueued);
    return enqueued;
  }

  /**
   * Awaits a write of new jobs. The store bounds the wait itself (RedisStore: `enqueueTimeout`
   * as its command timeout, and it undoes a write that lands after the timeout), so no timer per
   * enqueue is needed here; this only turns a failure into the error users are told about.
   */
  async #persisted(action: string, write: Promise<void>): Promise<void> {
    const startedAt = Date.now();
    try {
      await write;
    } catch (error) {
      // A damaged key is not an outage: it says which key, and that nothing was written.
      if (error instanceof DamagedKeyError) throw error;
      // Nor is a write the replicas did not confirm (durability): it says so, and what to do.
      if (error instanceof NotReplicatedError) throw error;
      const loopBlockedFor = this.#o.loopWatch.explain(startedAt, `a write to ${action}`) || undefined;
      throw new RedisUnavailableError(action, this.#o.options.enqueueTimeout, {
        cause: error,
        loopBlockedFor,
      });
    }
  }

  #emit(job: Job<unknown>): void {
    emitSafely(this.#o.events, this.#o.options.logger, 'enqueued', job);
  }
}
