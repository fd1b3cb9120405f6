/**
 * The facade: createToniq() and the Toniq instance apps hold. It checks what callers pass,
 * then hands the work to the runtime (JobRunner, DelayedJobsTimer) and the JobStore.
 */
import { EventEmitter } from 'node:events';
import { Admin } from './admin/admin-api.js';
import {
  type AdminHandler,
  type AdminHandlerOptions,
  createAdminHandler,
} from './admin/http/admin-handler.js';
import {
  DamagedKeyError,
  InvalidArgumentsError,
  InvalidOptionsError,
  JobNotFoundError,
  NoSuchProcessError,
  NotStartedError,
  RanUnpersistedError,
  RedisUnavailableError,
  StoppedError,
  UnknownWorkerError,
} from './errors.js';
import { emitSafely, type ToniqEventEmitter, type ToniqEvents } from './events.js';
import { type FailedJob, type Job, toJobError } from './job/job.js';
import { newJobId } from './job/job-id.js';
import { decodeRecord, encodeRecord, type JobRecord, NO_ARGS, retryRecordOf } from './job/job-record.js';
import { ArgumentCodec, type EncodedArgs } from './job/serialization.js';
import { unknownKeys, unknownOptionsProblem } from './known-options.js';
import { type ResolvedOptions, resolveOptions, type ToniqOptions } from './options.js';
import { DelayedJobsTimer } from './runtime/delayed-jobs-timer.js';
import { JobRunner } from './runtime/job-runner.js';
import { OrphanCheck } from './runtime/orphan-check.js';
import { Presence } from './runtime/presence.js';
import { StatsReporter } from './runtime/stats-reporter.js';
import type { AdminJobStore } from './storage/admin-store.js';
import type { JobStore, ProcessStatus, StoredJob } from './storage/job-store.js';
import { RedisStore } from './storage/redis/redis-store.js';
import { durationProblem, LoopWatch, MAX_DATE_MS } from './timers.js';
import { PERSIST_MODES, type PersistMode, type Worker } from './worker.js';

export interface EnqueueOptions {
  /**
   * When this job is written to Redis: `'before-run'`, `'while-running'` or `'none'` (see
   * PersistMode). Default: the worker's `persist`, itself `'before-run'` by default.
   */
  persist?: PersistMode;
  /**
   * Run the job after this many milliseconds instead of now; `Infinity` holds it until
   * flushDelayedJobs(). Default: 0 (run now).
   * @example { delayFor: 60_000 }
   */
  delayFor?: number;
}

/** Arguments of enqueue after the worker: `args` may be left out when the worker takes none. */
export type EnqueueArgs<Args> = undefined extends Args
  ? [args?: Args, options?: EnqueueOptions]
  : [args: Args, options: EnqueueOptions] | [args: Args];

export interface StopOptions {
  /**
   * How long to wait for running jobs, in ms (any length; `Infinity` waits for them however long
   * they take); the rest stay persisted. Default: the `stopTimeout` option (30 s).
   */
  timeout?: number;
}

type State = 'new' | 'starting' | 'started' | 'stopping' | 'stopped';

export class Toniq {
  /** Typed events: enqueued, started, finished, retrying, failed. */
  readonly events: ToniqEventEmitter = new EventEmitter<ToniqEvents>();
  readonly #o: ResolvedOptions;
  readonly #workers: Map<string, Worker<any>>;
  readonly #codec: ArgumentCodec;
  #state: State = 'new';
  #starting: Promise<void> | undefined;
  #store: AdminJobStore | undefined;
  #runner: JobRunner | undefined;
  #timer: DelayedJobsTimer | undefined;
  #presence: Presence | undefined;
  #orphanCheck: OrphanCheck | undefined;
  #stats: StatsReporter | undefined;
  #admin: Admin | undefined;
  #stopping: Promise<void> | undefined;
  #loopWatch: LoopWatch | undefined;

  constructor(options: ToniqOptions) {
    this.#o = resolveOptions(options);
    this.#workers = new Map(this.#o.workers.map((worker) => [worker.name, worker]));
    try {
      this.#codec = new ArgumentCodec(this.#o.serializableClasses);
    } catch (error) {
      throw new InvalidOptionsError(`createToniq: ${(error as Error).message}`, { cause: error });
    }
  }

  /** This process's id in Redis. */
  get processId(): string {
    return this.#o.processId;
  }

  /** Connects to Redis, then runs this process's delayed jobs when due. Idempotent. */
  start(): Promise<void> {
    if (this.#state === 'stopping' || this.#state === 'stopped')
      return Promise.reject(new StoppedError('start'));
    this.#starting ??= this.#start().catch((error) => {
      this.#state = 'new';
      this.#starting = undefined;
      throw error;
    });
    return this.#starting;
  }

  async #start(): Promise<void> {
    this.#state = 'starting';
    const o = this.#o;
    const store =
      o.store ??
      new RedisStore({
        redisUrl: o.redisUrl,
        keyPrefix: o.keyPrefix,
        logger: o.logger,
        commandTimeout: o.enqueueTimeout,
      });
    const warnings = await store.open();
    for (const warning of warnings) o.logger.warn({}, warning);
    this.#store = store;
    try {
      await this.#startRuntime(store);
    } catch (error) {
      // Nothing may stay connected after a failed start: the app can fix the cause and start again.
      this.#store = undefined;
      this.#loopWatch?.stop();
      await this.#presence?.leave().catch(() => {});
      await store.close().catch(() => {});
      throw error;
    }
  }

  async #startRuntime(store: AdminJobStore): Promise<void> {
    const o = this.#o;
    const loopWatch = new LoopWatch(o.logger);
    this.#loopWatch = loopWatch;
    loopWatch.start();
    const runner = new JobRunner({
      loopWatch,
      store,
      processId: o.processId,
      workers: this.#workers,
      codec: this.#codec,
      retry: o.retry,
      logger: o.logger,
      events: this.events,
      now: o.now,
      onRetryScheduled: (dueAt) => this.#timer?.notify(dueAt),
    });
    this.#runner = runner;
    this.#timer = new DelayedJobsTimer({
      store,
      loopWatch,
      processId: o.processId,
      pollInterval: o.delayedJobsPollInterval,
      now: o.now,
      logger: o.logger,
      onDue: (jobs) => runner.runStored(jobs),
    });
    const timer = this.#timer;
    if (o.mode !== 'manual') {
      this.#presence = new Presence({
        store,
        processId: o.processId,
        workers: [...this.#workers.keys()],
        heartbeatInterval: o.heartbeatInterval,
        deadAfter: o.deadAfter,
        takeoverCheckInterval: o.takeoverCheckInterval,
        maxEventLoopStall: o.maxEventLoopStall,
        logger: o.logger,
        loopWatch,
        events: this.events,
        onJobs: (jobs) => runner.runStored(jobs),
        onDelayedJobs: () => timer.notify(0),
      });
      await this.#presence.register();
      this.#orphanCheck = new OrphanCheck({
        store,
        processId: o.processId,
        interval: o.orphanCheckInterval,
        minAge: 2000,
        now: o.now,
        logger: o.logger,
        loopWatch,
        isKnown: (id) => runner.isKnown(id),
        onOrphans: (jobs) => runner.runStored(jobs),
      });
      this.#stats = new StatsReporter({
        store,
        processId: o.processId,
        interval: 1000,
        now: o.now,
        logger: o.logger,
        report: () => runner.report(),
        takeCounts: () => runner.takeCounts(),
      });
    }
    this.#state = 'started';
    if (this.#presence) {
      // Jobs this process id held when it last stopped or died: run them again.
      runner.runStored(await store.listJobs(o.processId));
      timer.start();
      this.#presence.startTakeovers();
      this.#orphanCheck?.start();
      this.#stats?.start();
    }
    const where = o.store ? `on a ${o.store.constructor.name}` : `on Redis, key prefix "${o.keyPrefix}"`;
    o.logger.info(
      {},
      `toniq started as process ${o.processId} (${where}) with workers: ${[...this.#workers.keys()].join(', ') || 'none'}.`,
    );
  }

  /**
   * Stops taking jobs (enqueue then rejects with StoppedError), waits for running jobs up to
   * `timeout`, and leaves the rest persisted for the next start or a takeover.
   */
  stop(options: StopOptions = {}): Promise<void> {
    // Checked before anything stops: a bad timeout must not abandon running jobs (2³¹ ms or
    // Infinity used to become a 1 ms timer).
    const problem = durationProblem(options?.timeout, {
      allowZero: true,
      allowInfinity: true,
      max: Infinity,
    });
    if (options?.timeout !== undefined && problem) {
      return Promise.reject(
        new InvalidOptionsError(`stop: options.timeout ${problem}. Nothing was stopped.`),
      );
    }
    // A second call gets the first call's promise: it too resolves once everything is stopped.
    this.#stopping ??= this.#stop(options);
    return this.#stopping;
  }

  async #stop(options: StopOptions): Promise<void> {
    const wasStarting = this.#starting;
    this.#state = 'stopping';
    await wasStarting?.catch(() => {});
    const timeout = options.timeout ?? this.#o.stopTimeout;
    this.#timer?.stop();
    this.#orphanCheck?.stop();
    if (this.#runner) {
      const idle = await this.#runner.waitUntilIdle(timeout);
      const { abandoned, lost } = this.#runner.stop();
      if (!idle && abandoned) {
        this.#o.logger.warn(
          {},
          `toniq stopped with ${abandoned} job(s) still running or waiting after ${timeout} ms; they stay persisted and are handed over to a live process (or the next one to start).`,
        );
      }
      // Not "handed over": these have no copy in Redis.
      if (lost) {
        this.#o.logger.warn(
          {},
          `toniq stopped with ${lost} job(s) kept in memory only (persist: 'none', or 'while-running' jobs Redis did not take) still running, waiting or waiting for a retry; they are lost.`,
        );
      }
    }
    await this.#stats?.flush();
    await this.#stats?.stop();
    await this.#presence?.leave();
    await this.#store?.close();
    this.#loopWatch?.stop();
    this.#state = 'stopped';
  }

  /**
   * Persists a job and runs it in this process. Resolves with the job once it is persisted;
   * rejects with InvalidArgumentsError (nothing persisted) when the arguments cannot reach the
   * worker unchanged, and RedisUnavailableError when Redis does not confirm in time (nothing
   * ran: enqueue again later). With `persist: 'while-running'` the job starts before Redis
   * confirms, so that failure rejects with RanUnpersistedError instead: the job ran or runs here
   * without a copy in Redis, and must not be enqueued again.
   */
  enqueue<Args>(worker: Worker<Args>, ...[args, options]: EnqueueArgs<Args>): Promise<Job<Args>> {
    // Not async: the checks throw synchronously into a rejection, and a job with persist: 'none'
    // costs no more promises than the one returned.
    try {
      const store = this.#requireStarted('enqueue a job');
      const registered = this.#workers.get(worker?.name);
      if (!registered) {
        throw new UnknownWorkerError(typeof worker?.name === 'string' ? worker.name : String(worker), [
          ...this.#workers.keys(),
        ]);
      }
      checkEnqueueOptions(options);
      const delayFor = checkDelay(options?.delayFor, this.#o.now());
      const persist = checkPersist(options?.persist ?? registered.options.persist, delayFor);
      if (persist === 'none') return this.#enqueueUnpersisted(registered, args);
      return this.#enqueuePersisted(store, registered, args, delayFor, persist);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  async #enqueuePersisted<Args>(
    store: JobStore,
    registered: Worker<Args>,
    args: unknown,
    delayFor: number,
    persist: PersistMode,
  ): Promise<Job<Args>> {
    const { id, bytes, job, now, record } = await this.#prepare(registered, args, this.#o.processId);

    if (delayFor > 0) {
      const dueAt = now + delayFor;
      await this.#persisted(
        'enqueue a delayed job',
        store.addDelayedJobs(this.#o.processId, [{ id, record: bytes, dueAt }]),
      );
      this.#timer!.notify(dueAt);
      const delayed = { ...job, dueAt: dueAt === Infinity ? null : new Date(dueAt) };
      this.#emit('enqueued', delayed);
      return delayed;
    }
    const stored = { id, record: bytes };
    if (persist === 'while-running' && this.#o.mode === 'background') {
      const written = store.addJobs(this.#o.processId, [stored]);
      void this.#runner!.run(stored, { record, detached: true });
      try {
        await this.#persisted('enqueue a job', written);
      } catch (error) {
        // Starting at once is the point of this mode, so the job runs already: the rejection must
        // say so, or following RedisUnavailableError's advice (enqueue it again) runs it twice.
        // The store undoes a write that lands late, so the job is now this process's alone,
        // like one with persist: 'none' (retries in memory, no failed-list entry).
        this.#runner!.ranUnpersisted(id);
        throw new RanUnpersistedError(id, registered.name, { cause: error as RedisUnavailableError });
      }
      this.#emit('enqueued', job);
      return job;
    }
    await this.#persisted('enqueue a job', store.addJobs(this.#o.processId, [stored]));
    this.#emit('enqueued', job);
    if (this.#o.mode === 'background') void this.#runner!.run(stored, { record, detached: true });
    else if (this.#o.mode === 'inline') {
      // Inline mode is for tests: a failure rejects enqueue and goes to the failed list, no retries.
      const outcome = await this.#runner!.run(stored, { retryable: false, record });
      if (!outcome.ok) throw outcome.error;
    }
    return job;
  }

  /** A job with `persist: 'none'`: no serialization, no Redis; the worker gets the arguments themselves. */
  #enqueueUnpersisted<Args>(worker: Worker<Args>, args: unknown): Promise<Job<Args>> {
    if (this.#o.mode === 'manual') {
      throw new InvalidArgumentsError(
        'options.persist',
        "mode 'manual' keeps jobs in the store until drain(), but persist: 'none' jobs are never stored. Nothing was enqueued.",
      );
    }
    if (worker.options.schema || this.#o.mode === 'inline')
      return this.#enqueueUnpersistedSlowly(worker, args);
    const job = this.#unpersistedJob(worker, args);
    this.#emit('enqueued', job);
    this.#runner!.runUnpersisted(worker, job, { retryable: true });
    return Promise.resolve(job);
  }

  /** With a schema to await, or in inline mode (which waits for the job). */
  async #enqueueUnpersistedSlowly<Args>(worker: Worker<Args>, args: unknown): Promise<Job<Args>> {
    const job = this.#unpersistedJob(
      worker,
      worker.options.schema ? await this.#validate(worker, args) : args,
    );
    this.#emit('enqueued', job);
    const outcome = await this.#runner!.runUnpersisted(worker, job, { retryable: this.#o.mode !== 'inline' });
    if (this.#o.mode === 'inline' && !outcome.ok) throw outcome.error;
    return job;
  }

  #unpersistedJob<Args>(worker: Worker<Args>, args: unknown): Job<Args> {
    const now = this.#o.now();
    return {
      id: newJobId(now),
      worker: worker.name,
      args: args as Args,
      attempt: 1,
      createdAt: new Date(now),
      processId: this.#o.processId,
    };
  }

  /** Like enqueue with `{ delayFor }`, named for readability. */
  enqueueWithDelay<Args>(
    worker: Worker<Args>,
    args: Args,
    options: EnqueueOptions & { delayFor: number },
  ): Promise<Job<Args>> {
    if (typeof options?.delayFor !== 'number') {
      return Promise.reject(
        new InvalidArgumentsError(
          'options.delayFor',
          'enqueueWithDelay needs { delayFor: milliseconds } as its third argument.',
        ),
      );
    }
    return (this.enqueue as (w: Worker<Args>, a: Args, o: EnqueueOptions) => Promise<Job<Args>>)(
      worker,
      args,
      options,
    );
  }

  /**
   * Enqueues a job onto another live process (which must register the worker), to run there
   * at once (or after `delayFor`). The other process is woken through Redis; if it dies before
   * running the job, the job is taken over like its others. Resolves once the job is persisted.
   *
   * @example await toniq.enqueueOn(otherProcessId, resizeImage, { path })
   */
  async enqueueOn<Args>(
    processId: string,
    worker: Worker<Args>,
    ...[args, options]: EnqueueArgs<Args>
  ): Promise<Job<Args>> {
    const store = this.#requireStarted('enqueue a job on another process');
    checkEnqueueOptions(options);
    if (processId === this.#o.processId) {
      return (this.enqueue as (w: Worker<Args>, a: unknown, o: unknown) => Promise<Job<Args>>)(
        worker,
        args,
        options,
      );
    }
    const delayFor = checkDelay(options?.delayFor, this.#o.now());
    const target = (await store.listProcesses()).find((process) => process.id === processId);
    if (!target || target.heartbeatAge === null) {
      throw new NoSuchProcessError(`Cannot enqueue onto process ${processId}: no live process has that id.`);
    }
    if (!target.workers.includes(worker?.name)) {
      throw new NoSuchProcessError(
        `Cannot enqueue onto process ${processId}: it does not register a worker named "${worker?.name}" ` +
          `(it registers: ${target.workers.join(', ') || 'none'}).`,
      );
    }
    const { id, bytes, job, now } = await this.#prepare(worker, args, processId);
    // Other processes' jobs go through their delayed jobs, due at once (0) or after the delay,
    // so the target's own timer takes them over when the wake-up message is missed.
    const dueAt = delayFor > 0 ? now + delayFor : 0;
    await this.#persisted(
      'enqueue a job on another process',
      store.addDelayedJobs(processId, [{ id, record: bytes, dueAt }]),
    );
    store.publish(processId, { type: 'wake' }).catch(() => {
      // The target's poll finds the job anyway, within delayedJobsPollInterval.
    });
    const enqueued = delayFor > 0 ? { ...job, dueAt: dueAt === Infinity ? null : new Date(dueAt) } : job;
    this.#emit('enqueued', enqueued);
    return enqueued;
  }

  /** Enqueues a job onto a random live process that registers the worker (this one included). */
  async enqueueAnywhere<Args>(
    worker: Worker<Args>,
    ...[args, options]: EnqueueArgs<Args>
  ): Promise<Job<Args>> {
    const store = this.#requireStarted('enqueue a job anywhere');
    const candidates = (await store.listProcesses()).filter(
      (process) => process.heartbeatAge !== null && process.workers.includes(worker?.name),
    );
    if (!candidates.length) {
      throw new NoSuchProcessError(
        `Cannot enqueue a ${worker?.name} job anywhere: no live process registers that worker.`,
      );
    }
    const chosen = candidates[Math.floor(Math.random() * candidates.length)]!;
    return (this.enqueueOn as (p: string, w: Worker<Args>, a: unknown, o: unknown) => Promise<Job<Args>>)(
      chosen.id,
      worker,
      args,
      options,
    );
  }

  /** The processes registered under this key prefix, with the age of their heartbeat (null: dead). */
  async processes(): Promise<ProcessStatus[]> {
    return this.#requireStarted('list processes').listProcesses();
  }

  /**
   * The admin read API over this toniq's Redis and key prefix: stats, job lists, retry, delete,
   * run now (see Admin). Retries of this process's workers' jobs run here.
   */
  get admin(): Admin {
    const store = this.#requireStarted('use the admin API');
    this.#admin ??= new Admin({
      store,
      codec: this.#codec,
      logger: this.#o.logger,
      now: this.#o.now,
      local: {
        processId: this.#o.processId,
        registers: (worker) => this.#workers.has(worker),
      },
    });
    return this.#admin;
  }

  /**
   * A `(req, res)` handler serving the admin web UI and its JSON API, for `http.createServer`,
   * Express (`app.use('/admin', handler)`) or Fastify. It serves nothing unless told how to
   * authenticate: `auth` (a function or `{ username, password }`), or `insecureNoAuth: true`.
   * Requests before `start()` get a 503 that says so.
   *
   * @example app.use('/admin', toniq.adminHandler({ auth: { username: 'admin', password: process.env.ADMIN_PASSWORD } }))
   */
  adminHandler(options: AdminHandlerOptions): AdminHandler {
    return createAdminHandler(() => this.admin, { logger: this.#o.logger, ...options });
  }

  /** Checks and serializes the arguments of a new job. Throws InvalidArgumentsError; writes nothing. */
  async #prepare<Args>(worker: Worker<Args>, args: unknown, processId: string) {
    const value = await this.#validate(worker, args);
    let encoded: EncodedArgs;
    try {
      encoded = this.#codec.encode(value);
    } catch (error) {
      if (error instanceof InvalidArgumentsError) throw error;
      throw new InvalidArgumentsError(
        'args',
        `The arguments could not be serialized: ${(error as Error).message}. Nothing was enqueued.`,
        { cause: error },
      );
    }
    const now = this.#o.now();
    const id = newJobId(now);
    const record: JobRecord = { v: 2, id, worker: worker.name, args: encoded, attempt: 1, createdAt: now };
    const bytes = encodeRecord(record);
    const job: Job<Args> = {
      id,
      worker: worker.name,
      args: value as Args,
      attempt: 1,
      createdAt: new Date(now),
      processId,
    };
    return { id, bytes, job, now, record };
  }

  /** Runs every delayed job of this process now, including those held with `delayFor: Infinity`. Returns how many. */
  async flushDelayedJobs(): Promise<number> {
    const store = this.#requireStarted('flush delayed jobs');
    const jobs = await store.takeAllDelayedJobs(this.#o.processId);
    if (this.#o.mode !== 'manual') this.#runner!.runStored(jobs, { retryable: this.#o.mode !== 'inline' });
    return jobs.length;
  }

  /** The failed jobs of every process sharing this Redis and key prefix, oldest failure first. */
  async failedJobs(): Promise<FailedJob[]> {
    const store = this.#requireStarted('list failed jobs');
    return (await store.listFailedJobs()).map((stored) => this.#toFailedJob(stored));
  }

  /**
   * Runs a failed job again in this process, with the same id and a fresh retry budget. Throws
   * CannotRetryError, leaving the job as it is, when its record cannot be read.
   */
  async retry(job: FailedJob | string): Promise<Job> {
    const store = this.#requireStarted('retry a failed job');
    const id = jobIdOf(job);
    const current = await store.getFailedJob(id);
    if (!current) throw new JobNotFoundError(id);
    const fresh = retryRecordOf(id, current);
    // The admin's retry path too: back among this process's delayed jobs, due at once.
    const moved = await store.retryFailedJobs(this.#o.processId, [{ id, record: encodeRecord(fresh) }]);
    if (!moved.length) throw new JobNotFoundError(id);
    if (this.#o.mode === 'background') this.#timer!.notify(0);
    else {
      // Inline runs it now and waits; manual holds it for drain(). Both take it (and any other
      // job due at once) from the delayed jobs here rather than at the timer's next poll.
      const due = await store.takeDueJobs(this.#o.processId, 0, 1000);
      const mine = due.find((stored) => stored.id === id);
      if (this.#o.mode === 'inline') {
        this.#runner!.runStored(due.filter((stored) => stored !== mine));
        if (mine) await this.#runner!.run(mine, { retryable: false });
      }
    }
    return {
      id,
      worker: fresh.worker,
      args: this.#codec.tryDecode(fresh.args),
      attempt: 1,
      createdAt: new Date(fresh.createdAt),
      processId: this.#o.processId,
    };
  }

  /** Removes a failed job for good. */
  async delete(job: FailedJob | string): Promise<void> {
    const store = this.#requireStarted('delete a failed job');
    const id = jobIdOf(job);
    if (!(await store.deleteFailedJobs([id])).length) throw new JobNotFoundError(id);
  }

  /**
   * For `mode: 'manual'`: runs the jobs recorded so far, and those they enqueue, until none is
   * left. With `withDelayed`, delayed jobs and retries run too, at once.
   */
  async drain(
    options: { withDelayed?: boolean } = {},
  ): Promise<{ finished: number; failedAttempts: number }> {
    const store = this.#requireStarted('drain jobs');
    const counts = { finished: 0, failedAttempts: 0 };
    for (;;) {
      if (options.withDelayed) await store.takeAllDelayedJobs(this.#o.processId);
      const held = await store.listJobs(this.#o.processId);
      if (!held.length) return counts;
      const outcomes = await Promise.all(held.map((stored) => this.#runner!.run(stored)));
      for (const outcome of outcomes) outcome.ok ? counts.finished++ : counts.failedAttempts++;
    }
  }

  /** The jobs this process holds to run now: waiting or running, not delayed (for assertions in tests). */
  async heldJobs(): Promise<Job[]> {
    const store = this.#requireStarted('list held jobs');
    const records = (await store.listJobs(this.#o.processId)).map(({ id, record }) =>
      decodeRecord(record, id, 'storage'),
    );
    return records.map((record) => ({
      id: record.id,
      worker: record.worker,
      args: this.#codec.tryDecode(record.args),
      attempt: record.attempt,
      createdAt: new Date(record.createdAt),
      processId: this.#o.processId,
    }));
  }

  #toFailedJob(stored: StoredJob): FailedJob {
    const record = this.#decodeFailed(stored);
    const failed = record.failed ?? {
      error: toJobError(new Error('no error was recorded')),
      attempts: record.attempt,
      failedAt: null,
      processId: '',
    };
    return {
      id: record.id,
      worker: record.worker,
      args: this.#codec.tryDecode(record.args),
      attempt: record.attempt,
      attempts: failed.attempts,
      createdAt: new Date(record.createdAt),
      failedAt: failed.failedAt === null ? null : new Date(failed.failedAt),
      processId: failed.processId,
      error: failed.error,
    };
  }

  #decodeFailed(stored: StoredJob): JobRecord {
    try {
      return decodeRecord(stored.record, stored.id, 'the failed list');
    } catch (error) {
      return {
        v: 2,
        id: stored.id,
        worker: '(unreadable record)',
        args: NO_ARGS,
        attempt: 1,
        createdAt: 0,
        failed: { error: toJobError(error), attempts: 0, failedAt: null, processId: '', raw: stored.record },
      };
    }
  }

  async #validate(worker: Worker<any>, args: unknown): Promise<unknown> {
    const schema = worker.options.schema;
    if (!schema) return args;
    const result = await schema['~standard'].validate(args);
    if (!result.issues) return result.value;
    const issue = result.issues[0]!;
    const path = [
      'args',
      ...(issue.path ?? []).map((segment) => String(typeof segment === 'object' ? segment.key : segment)),
    ].join('.');
    throw new InvalidArgumentsError(
      path,
      `${worker.name}'s schema refused the arguments: ${result.issues.map((i) => i.message).join('; ')} (at ${path}). Nothing was enqueued.`,
    );
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
      const loopBlockedFor = this.#loopWatch?.explain(startedAt, `a write to ${action}`) || undefined;
      throw new RedisUnavailableError(action, this.#o.enqueueTimeout, { cause: error, loopBlockedFor });
    }
  }

  #requireStarted(action: string): AdminJobStore {
    if (this.#state === 'started') return this.#store!;
    if (this.#state === 'stopping' || this.#state === 'stopped') throw new StoppedError(action);
    throw new NotStartedError(action);
  }

  #emit<E extends keyof ToniqEvents>(event: E, ...args: ToniqEvents[E]): void {
    emitSafely(this.events, this.#o.logger, event, ...args);
  }
}

/** Creates a toniq instance; call `await toniq.start()` before enqueueing. */
export function createToniq(options: ToniqOptions = {}): Toniq {
  return new Toniq(options);
}

/**
 * A delay must give a due time a Date can hold (up to 8.64e15 ms, the year 275760): beyond it,
 * `job.dueAt` would be an Invalid Date. Infinity is the documented "hold until flushed".
 */
function checkDelay(delayFor: unknown, now: number): number {
  if (delayFor === undefined) return 0;
  const problem = durationProblem(delayFor, { allowZero: true, allowInfinity: true, max: MAX_DATE_MS - now });
  if (problem) {
    throw new InvalidArgumentsError(
      'options.delayFor',
      `options.delayFor ${problem} (Infinity holds the job until flushDelayedJobs(); a finite delay must end before the largest date, 8.64e15 ms since 1970). Nothing was enqueued.`,
    );
  }
  return delayFor as number;
}

const KNOWN_ENQUEUE_OPTIONS = ['delayFor', 'persist'];

function checkEnqueueOptions(options: unknown): void {
  if (options === undefined) return;
  if (typeof options !== 'object' || options === null) {
    throw new InvalidArgumentsError(
      'options',
      `enqueue's options must be an object like { delayFor: 1000 }, got ${String(options)}.`,
    );
  }
  const unknown = unknownKeys(options, KNOWN_ENQUEUE_OPTIONS)[0];
  if (unknown !== undefined) {
    throw new InvalidArgumentsError(
      `options.${unknown}`,
      `${unknownOptionsProblem('enqueue', options, KNOWN_ENQUEUE_OPTIONS)} Nothing was enqueued.`,
    );
  }
}

function checkPersist(persist: unknown, delayFor: number): PersistMode {
  if (persist === undefined) return 'before-run';
  if (!PERSIST_MODES.includes(persist as PersistMode)) {
    throw new InvalidArgumentsError(
      'options.persist',
      `options.persist must be ${PERSIST_MODES.map((m) => `'${m}'`).join(', ')}; got ${JSON.stringify(persist)}. Nothing was enqueued.`,
    );
  }
  if (persist !== 'before-run' && delayFor > 0) {
    throw new InvalidArgumentsError(
      'options.persist',
      `A delayed job waits in Redis, so it needs persist: 'before-run' (got '${String(persist)}'). Nothing was enqueued.`,
    );
  }
  return persist as PersistMode;
}

function jobIdOf(job: { id: string } | string): string {
  const id = typeof job === 'string' ? job : job?.id;
  if (typeof id !== 'string' || !id) {
    throw new InvalidArgumentsError(
      'job',
      `Pass a failed job (from failedJobs()) or its id, got ${String(job)}.`,
    );
  }
  return id;
}
