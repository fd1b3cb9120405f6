/**
 * The facade: createToniq() and the Toniq instance apps hold. It checks what callers pass
 * (enqueue-checks.ts), then hands the work to the Runtime (runner, timer, keepalive) and the store.
 * Nothing calls back into it: the runtime's parts are wired to each other in runtime.ts.
 */
import { EventEmitter } from 'node:events';
import { Admin } from './admin/admin-api.js';
import {
  type AdminHandler,
  type AdminHandlerOptions,
  createAdminHandler,
} from './admin/http/admin-handler.js';
import { checkEnqueueOptions, jobIdOf } from './enqueue-checks.js';
import {
  InvalidArgumentsError,
  InvalidOptionsError,
  JobNotFoundError,
  NoSuchProcessError,
  NotStartedError,
  StoppedError,
  UnknownWorkerError,
} from './errors.js';
import type { ToniqEventEmitter, ToniqEvents } from './events.js';
import { readFailedJob } from './job/failed-job.js';
import type { FailedJob, Job } from './job/job.js';
import { decodeRecord, encodeRecord, jobOf, retryRecordOf } from './job/job-record.js';
import { ArgumentCodec } from './job/serialization.js';
import { type ResolvedOptions, resolveOptions, type ToniqOptions } from './options.js';
import { Runtime } from './runtime/runtime.js';
import type { AdminJobStore } from './storage/admin-store.js';
import type { ProcessStatus } from './storage/job-store.js';
import { RedisStore } from './storage/redis/redis-store.js';
import { durationProblem } from './timers.js';
import type { PersistMode, Worker } from './worker.js';

export interface EnqueueOptions {
  /**
   * When this job is written to Redis: `'before-run'`, `'while-running'` or `'none'` (see
   * PersistMode). Default: the worker's `persist`, itself `'before-run'` by default.
   */
  persist?: PersistMode;
  /**
   * Run the job after this many milliseconds instead of now; `Infinity` keeps it until
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
  #stopping: Promise<void> | undefined;
  #store: AdminJobStore | undefined;
  #runtime: Runtime | undefined;
  #admin: Admin | undefined;

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
        ...(o.redisCluster ? { redisCluster: o.redisCluster } : {}),
        ...(o.redisSentinel ? { redisSentinel: o.redisSentinel } : {}),
        ...(o.redisCluster || o.redisSentinel ? {} : { redisUrl: o.redisUrl }),
        ...(o.durability ? { durability: o.durability } : {}),
        tls: o.tls,
        keyPrefix: o.keyPrefix,
        logger: o.logger,
        commandTimeout: o.enqueueTimeout,
      });
    const warnings = await store.open();
    for (const warning of warnings) o.logger.warn({}, warning);
    const runtime = new Runtime({
      store,
      options: o,
      workers: this.#workers,
      codec: this.#codec,
      events: this.events,
    });
    this.#store = store;
    this.#runtime = runtime;
    try {
      await runtime.register();
      this.#state = 'started';
      await runtime.start();
    } catch (error) {
      // Nothing may stay connected after a failed start: the app can fix the cause and start again.
      this.#store = undefined;
      await runtime.abandon();
      await store.close().catch(() => {});
      throw error;
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
    // After a failed start, #store is unset and the runtime has already been abandoned.
    if (this.#store) {
      await this.#runtime?.stop(options.timeout ?? this.#o.stopTimeout);
      await this.#store.close();
    }
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
    return this.#enqueue('enqueue a job', this.#o.processId, worker, args, options);
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
    return this.#enqueue('enqueue a job', this.#o.processId, worker, args, options);
  }

  /**
   * Enqueues a job onto another live process (which must register the worker), to run there
   * at once (or after `delayFor`). The other process is woken through Redis; if it dies before
   * running the job, the job is taken over like its others. Resolves once the job is persisted.
   *
   * @example await toniq.enqueueOn(otherProcessId, resizeImage, { path })
   */
  enqueueOn<Args>(
    processId: string,
    worker: Worker<Args>,
    ...[args, options]: EnqueueArgs<Args>
  ): Promise<Job<Args>> {
    return this.#enqueue('enqueue a job on another process', processId, worker, args, options);
  }

  /** Enqueues a job onto a random live process that registers the worker (this one included). */
  async enqueueAnywhere<Args>(
    worker: Worker<Args>,
    ...[args, options]: EnqueueArgs<Args>
  ): Promise<Job<Args>> {
    const store = this.#requireStarted('enqueue a job anywhere');
    const version = worker?.options?.version ?? 1;
    const registering = (await store.listProcesses()).filter(
      (process) => process.heartbeatAge !== null && process.workers.includes(worker?.name),
    );
    // Only a process that runs the job's version (or a newer one) of the worker can read it.
    const candidates = registering.filter(
      (process) => (process.workerVersions?.[worker.name] ?? 1) >= version,
    );
    if (!candidates.length) {
      throw new NoSuchProcessError(
        registering.length
          ? `Cannot enqueue a ${worker?.name} job anywhere: the live processes that register that worker run an older version of it than ${version}.`
          : `Cannot enqueue a ${worker?.name} job anywhere: no live process registers that worker.`,
      );
    }
    const chosen = candidates[Math.floor(Math.random() * candidates.length)]!;
    return this.#enqueue('enqueue a job anywhere', chosen, worker, args, options);
  }

  /**
   * The one enqueue path. Not async: the checks throw synchronously into a rejection, and a job
   * with persist: 'none' costs no more promises than the one returned.
   */
  #enqueue<Args>(
    action: string,
    // A process id, or the live process enqueueAnywhere just listed (not listed again).
    where: string | ProcessStatus,
    worker: Worker<Args>,
    args: unknown,
    options: unknown,
  ): Promise<Job<Args>> {
    try {
      this.#requireStarted(action);
      const enqueuer = this.#runtime!.enqueuer;
      const processId = typeof where === 'string' ? where : where.id;
      if (processId !== this.#o.processId) return enqueuer.onOtherProcess(where, worker, args, options);
      const registered = this.#workers.get(worker?.name);
      if (!registered) {
        throw new UnknownWorkerError(typeof worker?.name === 'string' ? worker.name : String(worker), [
          ...this.#workers.keys(),
        ]);
      }
      const { delayFor, persist } = checkEnqueueOptions(options, registered, this.#o.now());
      if (persist === 'none') return enqueuer.unpersisted(registered, args);
      return enqueuer.persisted(registered, args, delayFor, persist);
    } catch (error) {
      return Promise.reject(error);
    }
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

  /** Runs every delayed job of this process now, including those kept with `delayFor: Infinity`. Returns how many. */
  async flushDelayedJobs(): Promise<number> {
    const store = this.#requireStarted('flush delayed jobs');
    const jobs = await store.takeAllDelayedJobs(this.#o.processId);
    if (this.#o.mode !== 'manual')
      this.#runtime!.runner.runStored(jobs, { retryable: this.#o.mode !== 'inline' });
    return jobs.length;
  }

  /** The failed jobs of every process sharing this Redis and key prefix, oldest failure first. */
  async failedJobs(): Promise<FailedJob[]> {
    const store = this.#requireStarted('list failed jobs');
    return (await store.listFailedJobs()).map((stored) => readFailedJob(this.#codec, stored));
  }

  /**
   * Runs a failed job again in this process, with the same id and a fresh retry budget. Throws
   * CannotRetryError, leaving the job as it is, when its record cannot be read.
   */
  async retry(job: FailedJob | string): Promise<Job> {
    const store = this.#requireStarted('retry a failed job');
    const { runner, delayedJobs } = this.#runtime!;
    const id = jobIdOf(job);
    const current = await store.getFailedJob(id);
    if (!current) throw new JobNotFoundError(id);
    const fresh = retryRecordOf(id, current);
    // The admin's retry path too: back among this process's delayed jobs, due at once.
    const moved = await store.retryFailedJobs(this.#o.processId, [{ id, record: encodeRecord(fresh) }]);
    if (!moved.length) throw new JobNotFoundError(id);
    if (this.#o.mode === 'background') delayedJobs.notify(0);
    else {
      // Inline runs it now and waits; manual holds it for drain(). Both take it (and any other
      // job due at once) from the delayed jobs here rather than at the timer's next poll.
      const due = await store.takeDueJobs(this.#o.processId, 0, 1000);
      const mine = due.find((stored) => stored.id === id);
      if (this.#o.mode === 'inline') {
        runner.runStored(due.filter((stored) => stored !== mine));
        if (mine) await runner.run(mine, { retryable: false });
      }
    }
    return jobOf(fresh, this.#codec.tryDecode(fresh.args), this.#o.processId);
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
      // Jobs stored by a newer worker version than this process runs wait for another process.
      const held = (await store.listJobs(this.#o.processId)).filter(
        (stored) => !this.#runtime!.runner.isKnown(stored.id),
      );
      if (!held.length) return counts;
      const outcomes = await Promise.all(held.map((stored) => this.#runtime!.runner.run(stored)));
      for (const outcome of outcomes) outcome.ok ? counts.finished++ : counts.failedAttempts++;
    }
  }

  /** The jobs this process holds to run now: waiting or running, not delayed (for assertions in tests). */
  async heldJobs(): Promise<Job[]> {
    const store = this.#requireStarted('list held jobs');
    return (await store.listJobs(this.#o.processId)).map(({ id, record }) => {
      const read = decodeRecord(record, id, 'storage');
      return jobOf(read, this.#codec.tryDecode(read.args), this.#o.processId);
    });
  }

  #requireStarted(action: string): AdminJobStore {
    if (this.#state === 'started') return this.#store!;
    if (this.#state === 'stopping' || this.#state === 'stopped') throw new StoppedError(action);
    throw new NotStartedError(action);
  }
}

/** Creates a toniq instance; call `await toniq.start()` before enqueueing. */
export function createToniq(options: ToniqOptions = {}): Toniq {
  return new Toniq(options);
}
