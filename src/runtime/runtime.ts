/**
 * The runtime of one started toniq: builds the parts that run jobs and wires them to each other,
 * so that the facade only hands work in. Jobs flow one way:
 *
 *   enqueue → Enqueuer → JobRunner → store (finished / retry / failed)
 *                  └─ a retry → DelayedJobsTimer → JobRunner
 *   Keepalive (takeover, wake messages) and OrphanCheck → JobRunner
 *
 * In mode 'manual' only the runner and the timer exist: no heartbeat, takeover, orphan check or
 * stats, and nothing runs until drain().
 */
import type { ToniqEventEmitter } from '../events.js';
import type { ArgumentCodec } from '../job/serialization.js';
import type { ResolvedOptions } from '../options.js';
import type { JobStore } from '../storage/job-store.js';
import { LoopWatch } from '../timers.js';
import { versionOf, type Worker } from '../worker.js';
import { DelayedJobsTimer } from './delayed-jobs-timer.js';
import { Enqueuer } from './enqueuer.js';
import { JobRunner } from './job-runner.js';
import { Keepalive } from './keepalive.js';
import { NewerVersionJobs } from './newer-version-jobs.js';
import { OrphanCheck } from './orphan-check.js';
import { StatsReporter } from './stats-reporter.js';

/** How old (by its id's time) a stored job must be before the orphan check may run it, in ms. */
const ORPHAN_MIN_AGE = 2000;
/** How often a job stored by a newer worker version looks again for a process that runs it, in ms. */
const NEWER_VERSION_RETRY_INTERVAL = 5000;
/** How often this process's report (running and waiting jobs) is written for the admin UI, in ms. */
const STATS_INTERVAL = 1000;

export interface RuntimeOptions {
  store: JobStore;
  options: ResolvedOptions;
  workers: ReadonlyMap<string, Worker<any>>;
  codec: ArgumentCodec;
  events: ToniqEventEmitter;
}

export class Runtime {
  readonly runner: JobRunner;
  readonly delayedJobs: DelayedJobsTimer;
  /** Tells a Redis call that timed out because the event loop was blocked from a Redis failure. */
  readonly loopWatch: LoopWatch;
  /** Writes new jobs and hands them to the runner (enqueue after its checks). */
  readonly enqueuer: Enqueuer;
  readonly #o: ResolvedOptions;
  readonly #store: JobStore;
  readonly #keepalive: Keepalive | undefined;
  readonly #orphanCheck: OrphanCheck | undefined;
  readonly #stats: StatsReporter | undefined;

  constructor({ store, options: o, workers, codec, events }: RuntimeOptions) {
    this.#o = o;
    this.#store = store;
    const loopWatch = new LoopWatch(o.logger);
    this.loopWatch = loopWatch;
    const runJobs = (jobs: Parameters<JobRunner['runStored']>[0]) => this.runner.runStored(jobs);
    this.delayedJobs = new DelayedJobsTimer({
      store,
      loopWatch,
      processId: o.processId,
      pollInterval: o.delayedJobsPollInterval,
      now: o.now,
      logger: o.logger,
      onDue: runJobs,
    });
    const newerVersionJobs = new NewerVersionJobs({
      store,
      processId: o.processId,
      logger: o.logger,
      loopWatch,
      versionOf: (name) => versionOf(workers.get(name)!),
      retryInterval: NEWER_VERSION_RETRY_INTERVAL,
    });
    this.runner = new JobRunner({
      newerVersionJobs,
      loopWatch,
      store,
      processId: o.processId,
      workers,
      codec,
      retry: o.retry,
      logger: o.logger,
      events,
      now: o.now,
      delayedJobs: this.delayedJobs,
    });
    this.enqueuer = new Enqueuer({
      store,
      runner: this.runner,
      delayedJobs: this.delayedJobs,
      loopWatch,
      codec,
      options: o,
      events,
    });
    if (o.mode === 'manual') return;
    this.#keepalive = new Keepalive({
      store,
      processId: o.processId,
      workers: [...workers.keys()],
      workerVersions: Object.fromEntries(
        [...workers.values()].filter((worker) => versionOf(worker) > 1).map((w) => [w.name, versionOf(w)]),
      ),
      heartbeatInterval: o.heartbeatInterval,
      deadAfter: o.deadAfter,
      takeoverCheckInterval: o.takeoverCheckInterval,
      maxEventLoopStall: o.maxEventLoopStall,
      logger: o.logger,
      loopWatch,
      events,
      onJobs: runJobs,
      onDelayedJobs: () => this.delayedJobs.notify(0),
    });
    this.#orphanCheck = new OrphanCheck({
      store,
      processId: o.processId,
      interval: o.orphanCheckInterval,
      minAge: ORPHAN_MIN_AGE,
      now: o.now,
      logger: o.logger,
      loopWatch,
      isKnown: (id) => this.runner.isKnown(id),
      onOrphans: runJobs,
    });
    this.#stats = new StatsReporter({
      store,
      processId: o.processId,
      interval: STATS_INTERVAL,
      now: o.now,
      logger: o.logger,
      report: () => this.runner.report(),
      takeCounts: () => this.runner.takeCounts(),
    });
  }

  /** Registers this process (its heartbeat starts). Enqueue may be opened once this resolves. */
  async register(): Promise<void> {
    this.loopWatch.start();
    await this.#keepalive?.register();
  }

  /** Runs the jobs this process id held when it last stopped or died, then starts the timers. */
  async start(): Promise<void> {
    if (!this.#keepalive) return;
    this.runner.runStored(await this.#store.listJobs(this.#o.processId));
    this.delayedJobs.start();
    this.#keepalive.startTakeovers();
    this.#orphanCheck?.start();
    this.#stats?.start();
  }

  /** Undoes register() after a start that failed: nothing may stay running. */
  async abandon(): Promise<void> {
    this.loopWatch.stop();
    await this.#keepalive?.leave().catch(() => {});
  }

  /**
   * Stops the timers, waits up to `timeout` ms for running jobs, then leaves: the jobs still
   * running or waiting stay persisted and the other processes are told to take them over.
   */
  async stop(timeout: number): Promise<void> {
    const { logger } = this.#o;
    this.delayedJobs.stop();
    this.#orphanCheck?.stop();
    const idle = await this.runner.waitUntilIdle(timeout);
    const { abandoned, lost } = this.runner.stop();
    if (!idle && abandoned) {
      logger.warn(
        {},
        `toniq stopped with ${abandoned} job(s) still running or waiting after ${timeout} ms; they stay persisted and are handed over to a live process (or the next one to start).`,
      );
    }
    // Not "handed over": these have no copy in Redis.
    if (lost) {
      logger.warn(
        {},
        `toniq stopped with ${lost} job(s) kept in memory only (persist: 'none', or 'while-running' jobs Redis did not take) still running, waiting or waiting for a retry; they are lost.`,
      );
    }
    await this.#stats?.flush();
    await this.#stats?.stop();
    await this.#keepalive?.leave();
    this.loopWatch.stop();
  }
}
