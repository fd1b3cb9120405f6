/**
 * The admin read API: what the web UI, the JSON API and the CLI show and do. The runtime never
 * uses it (as Sidekiq's Web UI sits on Sidekiq::API). It reads through the AdminStore contract:
 * 1. stats: counts of running, waiting, delayed and failed jobs, overall, per worker and per
 *    process (running and waiting come from each process's report, delayed and failed from the
 *    counts the Lua scripts keep), and the throughput per second over the last hour;
 * 2. job lists by state, filtered by worker and searched by text, paginated (job-lists.ts);
 * 3. actions on failed jobs (retry, delete) and delayed jobs (run now), each logged.
 *
 * A retry from here goes to the app's own process when the admin runs inside a toniq instance
 * that registers the job's worker, otherwise to a live process that does: through that process's
 * delayed jobs (due at once, the store's one retry verb, as toniq.retry) and a wake-up message.
 */
import { CannotRetryError, InvalidArgumentsError, InvalidOptionsError } from '../errors.js';
import { encodeRecord, type JobRecord, retryRecordOf, workerOfRecord } from '../job/job-record.js';
import { ArgumentCodec, type SerializableClass } from '../job/serialization.js';
import { consoleLogger, type Logger } from '../logger.js';
import { type RedisSentinelOptions, redisWhereProblem } from '../redis-location.js';
import type { AdminJobStore, JobPlace, StoreOverview } from '../storage/admin-store.js';
import type { StoredJob } from '../storage/job-store.js';
import { DEFAULT_KEY_PREFIX } from '../storage/keys.js';
import { openAdminStore } from '../storage/redis/open-admin-store.js';
import { DEFAULT_REDIS_URL } from '../storage/redis/redis-url.js';
import { copyTlsOptions, type RedisTlsOptions, tlsOptionsProblem } from '../tls-options.js';
import type {
  ActionResult,
  ActionSource,
  ActionTarget,
  JobDetail,
  JobPage,
  JobQuery,
  JobState,
  ProcessStats,
  Stats,
  Throughput,
  WorkerStats,
} from './admin-types.js';
import { checkId, JobLists } from './job-lists.js';

/** Held jobs of dead processes are read to count them per worker, up to this many. */
const MAX_DEAD_HELD_READ = 10_000;

/** The toniq instance an admin runs inside, when it does. */
export interface LocalProcess {
  readonly processId: string;
  registers(worker: string): boolean;
}

export interface AdminOptions {
  store: AdminJobStore;
  /** Decodes arguments for display; with the app's serializableClasses when inside the app. */
  codec: ArgumentCodec;
  logger: Logger;
  now?: () => number;
  local?: LocalProcess;
  /** Close the store with the admin (connectAdmin opened it). Default: false. */
  ownsStore?: boolean;
}

export interface ConnectAdminOptions {
  /**
   * The Redis to read, or an async function that returns its URL.
   * Default: `process.env.REDIS_URL`, else `'redis://127.0.0.1:6379/0'`.
   */
  redisUrl?: string | (() => string | Promise<string>);
  /**
   * The seed nodes of a Redis Cluster, instead of redisUrl, as createToniq's. Default: none.
   * @example { redisCluster: ['redis://10.0.0.1:7000', 'redis://10.0.0.2:7000'] }
   */
  redisCluster?: readonly string[];
  /**
   * A master watched by Redis Sentinel, instead of redisUrl, as createToniq's. Default: none.
   * @example { redisSentinel: { sentinels: ['10.0.0.1:26379'], name: 'mymaster' } }
   */
  redisSentinel?: RedisSentinelOptions;
  /**
   * TLS settings for a rediss:// URL, as createToniq's `tls`: the CA that signed the server's
   * certificate, a client certificate, the server name. Refused with a redis:// URL. Default:
   * none, so a rediss:// URL trusts node's default CAs.
   * @example { redisUrl: 'rediss://redis.internal:6380/0', tls: { ca: readFileSync('redis-ca.crt') } }
   */
  tls?: RedisTlsOptions;
  /** The key prefix the apps use. Default: `'toniq'`. */
  keyPrefix?: string;
  /** Where admin actions and warnings are logged. Default: a console logger. */
  logger?: Logger;
  /** The app's serializableClasses, so arguments holding them can be shown. Default: none. */
  serializableClasses?: readonly SerializableClass[];
}

/**
 * Connects an admin to Redis without starting a toniq process: for the CLI, `toniq ui`, or an app
 * that serves the admin UI apart from the processes that run jobs. Rejects with
 * RedisUnreachableError when Redis cannot be reached, RedisTlsError when TLS fails (a certificate
 * not trusted, TLS on one side only). Call `close()` when done.
 *
 * @example const admin = await connectAdmin({ redisUrl: process.env.REDIS_URL, keyPrefix: 'myapp' })
 */
export async function connectAdmin(options: ConnectAdminOptions = {}): Promise<Admin> {
  const logger = options.logger ?? consoleLogger();
  const whereProblem = redisWhereProblem('connectAdmin', options);
  if (whereProblem) throw new InvalidOptionsError(whereProblem);
  const { redisCluster, redisSentinel } = options;
  const redisUrl =
    redisCluster || redisSentinel
      ? undefined
      : (options.redisUrl ?? process.env.REDIS_URL ?? DEFAULT_REDIS_URL);
  const tlsProblem = tlsOptionsProblem(
    'connectAdmin',
    options.tls,
    redisCluster?.[0] ?? (typeof redisUrl === 'string' ? redisUrl : undefined),
  );
  if (tlsProblem) throw new InvalidOptionsError(tlsProblem);
  const { store, warnings } = await openAdminStore({
    ...(redisUrl !== undefined ? { redisUrl } : {}),
    ...(redisCluster ? { redisCluster: [...redisCluster] } : {}),
    ...(redisSentinel
      ? { redisSentinel: { ...redisSentinel, sentinels: [...redisSentinel.sentinels] } }
      : {}),
    tls: copyTlsOptions(options.tls),
    keyPrefix: options.keyPrefix ?? DEFAULT_KEY_PREFIX,
    logger,
    commandTimeout: 5000,
  });
  for (const warning of warnings) logger.warn({}, warning);
  return new Admin({
    store,
    codec: new ArgumentCodec(options.serializableClasses ?? []),
    logger,
    ownsStore: true,
  });
}

export class Admin {
  readonly #o: AdminOptions;
  readonly #now: () => number;
  readonly #lists: JobLists;

  constructor(options: AdminOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#lists = new JobLists(options.store, options.codec);
  }

  /** Counts of jobs by state, overall, per worker and per process. */
  async stats(): Promise<Stats> {
    const overview = await this.#o.store.readOverview();
    const processes = overview.processes.map((process) => this.#processStats(process));
    const workers = new Map<string, WorkerStats>();
    const workerStats = (name: string): WorkerStats => {
      let stats = workers.get(name);
      if (!stats) {
        stats = { worker: name, running: 0, waiting: 0, delayed: 0, failed: 0 };
        workers.set(name, stats);
      }
      return stats;
    };
    for (const process of overview.processes) {
      if (process.heartbeatAge === null) continue;
      for (const name of process.workers) workerStats(name);
      for (const [name, counts] of Object.entries(process.report?.workers ?? {})) {
        workerStats(name).running += counts.running;
        workerStats(name).waiting += counts.waiting;
      }
    }
    // The held jobs of dead processes wait to be taken over: count them under their workers.
    for (const [name, count] of await this.#deadHeldByWorker(overview)) workerStats(name).waiting += count;
    for (const [name, count] of overview.delayedByWorker) workerStats(name).delayed += count;
    for (const [name, count] of overview.failedByWorker) workerStats(name).failed += count;
    return {
      at: new Date(this.#now()),
      totals: {
        running: processes.reduce((sum, p) => sum + p.running, 0),
        waiting: processes.reduce((sum, p) => sum + p.waiting, 0),
        delayed: processes.reduce((sum, p) => sum + p.delayed, 0),
        failed: overview.failed,
      },
      workers: [...workers.values()].sort((a, b) => (a.worker < b.worker ? -1 : 1)),
      processes,
    };
  }

  /** Jobs finished and failed per second over the last `seconds` (default: one hour), the current second last. */
  async throughput(seconds = 3600): Promise<Throughput> {
    if (!Number.isInteger(seconds) || seconds < 1 || seconds > 7200) {
      throw new InvalidArgumentsError(
        'seconds',
        `seconds must be a whole number from 1 to 7200, got ${seconds}.`,
      );
    }
    const fromSecond = Math.floor(this.#now() / 1000) - seconds + 1;
    const { finished, failed } = await this.#o.store.readThroughput(fromSecond, seconds);
    return { from: new Date(fromSecond * 1000), seconds, finished, failed };
  }

  /** The registered processes with what they hold. */
  async processes(): Promise<ProcessStats[]> {
    const overview = await this.#o.store.readOverview();
    return overview.processes.map((process) => this.#processStats(process));
  }

  /**
   * Runs failed jobs again (attempt 1, same id, a fresh retry budget): here when this process
   * registers the worker, else on a live process that does.
   */
  async retryFailedJobs(target: ActionTarget, source: ActionSource = { via: 'api' }): Promise<ActionResult> {
    const ids = await this.#targetIds(target);
    const { store, local } = this.#o;
    const live = (await store.listProcesses()).filter((process) => process.heartbeatAge !== null);
    const woken = new Set<string>();
    const result = await inChunks(
      ids,
      async (chunk) => {
        const records = new Map(
          (await store.getPlaceRecords({ kind: 'failed' }, chunk)).map((job) => [job.id, job.record]),
        );
        // Each job's process, then one store call per process for the chunk.
        const outcomes = new Map<string, Outcome>();
        const byProcess = new Map<string, StoredJob[]>();
        for (const id of chunk) {
          const bytes = records.get(id);
          if (!bytes) {
            outcomes.set(id, MISSING);
            continue;
          }
          let fresh: JobRecord;
          try {
            fresh = retryRecordOf(id, bytes);
          } catch (error) {
            if (!(error instanceof CannotRetryError)) throw error;
            outcomes.set(id, { refused: `${error.reason}; delete it instead.` });
            continue;
          }
          const candidates = local?.registers(fresh.worker)
            ? [local.processId]
            : live.filter((process) => process.workers.includes(fresh.worker)).map((process) => process.id);
          if (!candidates.length) {
            outcomes.set(id, {
              refused: `no live process registers the worker "${fresh.worker}". Start a process that does, then retry.`,
            });
            continue;
          }
          const chosen = candidates[Math.floor(Math.random() * candidates.length)]!;
          const jobs = byProcess.get(chosen) ?? [];
          jobs.push({ id, record: encodeRecord(fresh) });
          byProcess.set(chosen, jobs);
        }
        for (const [processId, jobs] of byProcess) {
          const moved = new Set(await store.retryFailedJobs(processId, jobs));
          if (moved.size) woken.add(processId);
          for (const job of jobs) outcomes.set(job.id, moved.has(job.id) ? DONE : MISSING);
        }
        return chunk.map(async (id) => outcomes.get(id)!);
      },
      BATCH_CHUNK,
    );
    for (const processId of woken) this.#wake(processId);
    this.#log(source, 'retried', 'failed', result);
    return result;
  }

  /** Removes failed jobs for good. */
  async deleteFailedJobs(target: ActionTarget, source: ActionSource = { via: 'api' }): Promise<ActionResult> {
    const ids = await this.#targetIds(target);
    const result = await inChunks(
      ids,
      async (chunk) => {
        const removed = new Set(await this.#o.store.deleteFailedJobs(chunk));
        return chunk.map(async (id) => (removed.has(id) ? DONE : MISSING));
      },
      BATCH_CHUNK,
    );
    this.#log(source, 'deleted', 'failed', result);
    return result;
  }

  /** Makes delayed jobs (and retries waiting for their time) due now, and wakes their processes. */
  async runDelayedJobsNow(
    ids: readonly string[],
    source: ActionSource = { via: 'api' },
  ): Promise<ActionResult> {
    checkIds(ids);
    const processes = await this.#o.store.listProcesses();
    const woken = new Set<string>();
    const result = await inChunks(
      [...new Set(ids)],
      async (chunk) => {
        // A job is delayed in one process at most, and which one is not known: ask them all at
        // once, each with one script call for the whole chunk.
        const found = await Promise.all(
          processes.map((process) => this.#o.store.makeDelayedJobsDue(process.id, chunk)),
        );
        const holders = new Set<string>();
        found.forEach((ids, i) => {
          if (ids.length) woken.add(processes[i]!.id);
          for (const id of ids) holders.add(id);
        });
        return chunk.map(async (id) => (holders.has(id) ? DONE : MISSING));
      },
      BATCH_CHUNK,
    );
    for (const processId of woken) this.#wake(processId);
    this.#log(source, 'ran now', 'delayed', result);
    return result;
  }

  /** One page of the jobs in a state, filtered by worker and by a search text (see JobLists). */
  jobs(query: JobQuery): Promise<JobPage> {
    return this.#lists.page(query);
  }

  /** One job, wherever it is (failed, delayed or held by a process); null when no job has that id. */
  job(id: string): Promise<JobDetail | null> {
    return this.#lists.find(id);
  }

  /** Closes the Redis connection when connectAdmin opened it. */
  async close(): Promise<void> {
    if (this.#o.ownsStore) await this.#o.store.close();
  }

  /**
   * A live process's running and waiting jobs come from its last report (at most a second old),
   * the same figures the per-worker counts add up, so the overview agrees with itself. A dead
   * process runs nothing: everything it holds waits for the takeover.
   */
  #processStats(process: StoreOverview['processes'][number]): ProcessStats {
    const alive = process.heartbeatAge !== null;
    let running = 0;
    let waiting = 0;
    if (alive) {
      for (const counts of Object.values(process.report?.workers ?? {})) {
        running += counts.running;
        waiting += counts.waiting;
      }
    } else {
      waiting = process.held;
    }
    return {
      id: process.id,
      host: process.host,
      pid: process.pid,
      // 0: a placeholder or damaged registration does not say.
      startedAt: process.startedAt ? new Date(process.startedAt) : null,
      version: process.version,
      workers: [...process.workers],
      alive,
      heartbeatAge: process.heartbeatAge,
      running,
      waiting,
      delayed: process.delayed,
      ...(process.takeoverError && {
        takeoverError: {
          ...process.takeoverError,
          // 0: the note does not say when.
          at: process.takeoverError.at ? new Date(process.takeoverError.at) : null,
        },
      }),
      ...(process.damaged && { damaged: process.damaged }),
    };
  }

  async #deadHeldByWorker(overview: StoreOverview): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    const add = (worker: string, n: number) => counts.set(worker, (counts.get(worker) ?? 0) + n);
    let budget = MAX_DEAD_HELD_READ;
    for (const process of overview.processes) {
      if (process.heartbeatAge !== null || !process.held) continue;
      const place: JobPlace = { kind: 'held', processId: process.id };
      const ids = (await this.#o.store.listPlaceIds(place)).slice(0, budget).map((entry) => entry.id);
      budget -= ids.length;
      for (const { record } of await this.#o.store.getPlaceRecords(place, ids)) {
        add(workerOfRecord(record), 1);
      }
      const unread = process.held - ids.length;
      if (unread > 0) add('(not counted)', unread);
    }
    return counts;
  }

  async #targetIds(target: ActionTarget): Promise<string[]> {
    if (target && 'ids' in target) {
      checkIds(target.ids);
      return [...new Set(target.ids)];
    }
    if (!target || (target as { all?: unknown }).all !== true) {
      throw new InvalidArgumentsError(
        'target',
        'Say which jobs: { ids: ["…"] }, or { all: true } with an optional worker and search.',
      );
    }
    return this.#lists.matchingFailedIds(target.worker, target.search);
  }

  #wake(processId: string): void {
    this.#o.store.publish(processId, { type: 'wake' }).catch(() => {
      // Its delayed-jobs poll finds the job anyway.
    });
  }

  #log(source: ActionSource, verb: string, state: JobState, result: ActionResult): void {
    const who = `${source.via}${source.user ? ` by ${source.user}` : ''}`;
    const ids =
      result.done.length > 10 ? `${result.done.slice(0, 10).join(', ')}, …` : result.done.join(', ');
    const notes = [
      result.missing.length ? `${result.missing.length} not found` : '',
      result.refused.length ? `${result.refused.length} refused (${result.refused[0]!.reason})` : '',
    ].filter(Boolean);
    this.#o.logger.info(
      { action: verb, via: source.via, user: source.user, done: result.done.length, ids: result.done },
      `Admin (${who}): ${verb} ${result.done.length} ${state} job(s)${ids ? ` ${ids}` : ''}${notes.length ? `; ${notes.join('; ')}` : ''}.`,
    );
  }
}

/** What an action did to one job. */
type Outcome = typeof DONE | typeof MISSING | { refused: string };
const DONE = { done: true } as const;
const MISSING = { missing: true } as const;
/** Jobs acted on at once: their Redis calls travel together instead of one round trip each. */
const ACTION_CHUNK = 500;
/** Jobs per chunk of the actions that are one store call per chunk and process (retry, delete, run now). */
const BATCH_CHUNK = 5000;

/** Runs an action over ids, a chunk at a time, the jobs of a chunk at once; the result keeps the ids' order. */
async function inChunks(
  ids: readonly string[],
  act: (chunk: string[]) => Promise<Array<Promise<Outcome>>>,
  size = ACTION_CHUNK,
): Promise<ActionResult> {
  const result: ActionResult = { done: [], missing: [], refused: [] };
  for (let start = 0; start < ids.length; start += size) {
    const chunk = ids.slice(start, start + size);
    const outcomes = await Promise.all(await act(chunk));
    outcomes.forEach((outcome, i) => {
      const id = chunk[i]!;
      if ('refused' in outcome) result.refused.push({ id, reason: outcome.refused });
      else if ('done' in outcome) result.done.push(id);
      else result.missing.push(id);
    });
  }
  return result;
}

function checkIds(ids: unknown): asserts ids is string[] {
  if (!Array.isArray(ids)) {
    throw new InvalidArgumentsError('ids', `ids must be an array of job ids, got ${JSON.stringify(ids)}.`);
  }
  for (const id of ids) checkId(id);
}
