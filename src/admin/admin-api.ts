/**
 * The admin read API: what the web UI, the JSON API and the CLI show and do. The runtime never
 * uses it (as Sidekiq's Web UI sits on Sidekiq::API). It reads through the JobStore contract:
 * 1. stats: counts of running, waiting, delayed and failed jobs, overall, per worker and per
 *    process (running and waiting come from each process's report, delayed and failed from the
 *    counts the Lua scripts keep), and the throughput per second over the last hour;
 * 2. job lists by state, filtered by worker and searched by text, paginated;
 * 3. actions on failed jobs (retry, delete) and delayed jobs (run now), each logged.
 *
 * A retry from here runs in the app's own process when the admin runs inside a toniq instance
 * that registers the job's worker; otherwise it goes to a live process that does, through that
 * process's delayed jobs (due at once) and a wake-up message, like enqueueOn.
 */
import { InvalidArgumentsError } from '../errors.js';
import { encodeRecord, type JobRecord } from '../job/job-record.js';
import { ArgumentCodec, type SerializableClass } from '../job/serialization.js';
import { consoleLogger, type Logger } from '../logger.js';
import type { AdminJobStore, JobPlace, PlacedId, StoreOverview } from '../storage/admin-store.js';
import { RedisStore } from '../storage/redis/redis-store.js';
import {
  type ActionResult,
  type ActionSource,
  type ActionTarget,
  JOB_STATES,
  type JobDetail,
  type JobPage,
  type JobQuery,
  type JobState,
  type JobSummary,
  type ProcessStats,
  type Stats,
  type Throughput,
  type WorkerStats,
} from './admin-types.js';
import { matchesSearch, type ReadRecord, readRecord, toDetail, toSummary } from './job-view.js';

const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 500;
const SCAN_CHUNK = 500;
/** Chunks read ahead while a scan decodes one. */
const SCAN_AHEAD = 4;
/** A whole job id (see job-id.ts): a search for one is a lookup. */
const JOB_ID = /^[0-9A-HJKMNP-TV-Z]{26}$/i;
/** Held jobs of dead processes are read to count them per worker, up to this many. */
const MAX_DEAD_HELD_READ = 10_000;

/** The toniq instance an admin runs inside, when it does. */
export interface LocalProcess {
  readonly processId: string;
  registers(worker: string): boolean;
  /** Runs a failed job again in this process; false when it is no longer in the failed list. */
  retryHere(id: string): Promise<boolean>;
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
 * RedisUnreachableError when Redis cannot be reached. Call `close()` when done.
 *
 * @example const admin = await connectAdmin({ redisUrl: process.env.REDIS_URL, keyPrefix: 'myapp' })
 */
export async function connectAdmin(options: ConnectAdminOptions = {}): Promise<Admin> {
  const logger = options.logger ?? consoleLogger();
  const store = new RedisStore({
    redisUrl: options.redisUrl ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0',
    keyPrefix: options.keyPrefix ?? 'toniq',
    logger,
    commandTimeout: 5000,
  });
  const warnings = await store.open();
  for (const warning of warnings) logger.warn({}, warning);
  return new Admin({
    store,
    codec: new ArgumentCodec(options.serializableClasses ?? []),
    logger,
    ownsStore: true,
  });
}

/** One held, delayed or failed job found by a scan, with where it is. */
interface Located {
  place: JobPlace;
  id: string;
  score: number;
  processId: string;
}

export class Admin {
  readonly #o: AdminOptions;
  readonly #now: () => number;

  constructor(options: AdminOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
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
    for (const [name, count] of Object.entries(await this.#deadHeldByWorker(overview)))
      workerStats(name).waiting += count;
    for (const [name, count] of Object.entries(overview.delayedByWorker)) workerStats(name).delayed += count;
    for (const [name, count] of Object.entries(overview.failedByWorker)) workerStats(name).failed += count;
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

  /** One page of the jobs in a state, filtered by worker and by a search text. */
  async jobs(query: JobQuery): Promise<JobPage> {
    const { state, worker, search } = checkQuery(query);
    const offset = query.offset ?? 0;
    const limit = query.limit ?? DEFAULT_LIMIT;
    const overview = await this.#o.store.readOverview();
    // Delayed and failed jobs are in their state by where they are: without a filter, read one page.
    if (!worker && !search && (state === 'delayed' || state === 'failed')) {
      return this.#plainPage(state, overview, offset, limit);
    }
    // A search for a whole job id looks it up instead of reading every job.
    if (search && JOB_ID.test(search)) {
      const page = await this.#exactId(state, overview, search.toUpperCase(), worker, limit);
      if (page) return page;
    }
    const jobs: JobSummary[] = [];
    // Delayed and failed jobs of one worker: the per-worker counts give the total, so the scan
    // stops once the page is full. A scan that reads to the end counts exactly instead (jobs
    // stored before the counts were kept are not in them).
    if (worker && !search && (state === 'delayed' || state === 'failed')) {
      const counted = (state === 'delayed' ? overview.delayedByWorker : overview.failedByWorker)[worker] ?? 0;
      let seen = 0;
      let full = false;
      await this.#scan(state, overview, worker, undefined, (entry, read) => {
        if (seen++ >= offset) jobs.push(this.#summary(entry, read, state));
        full = jobs.length === limit;
        return !full;
      });
      const total = full ? Math.max(counted, seen) : seen;
      return { jobs, offset, limit, total, hasMore: offset + limit < total };
    }
    // Otherwise every candidate is read, in chunks, to filter it; the total counts every match.
    let total = 0;
    await this.#scan(state, overview, worker, search, (entry, read) => {
      if (total >= offset && jobs.length < limit) jobs.push(this.#summary(entry, read, state));
      total++;
      return true;
    });
    return { jobs, offset, limit, total, hasMore: offset + limit < total };
  }

  async #plainPage(
    state: 'delayed' | 'failed',
    overview: StoreOverview,
    offset: number,
    limit: number,
  ): Promise<JobPage> {
    const { store } = this.#o;
    let located: Located[];
    let total: number;
    if (state === 'failed') {
      // Newest failure first: that is what a person looks for.
      const page = await store.pagePlaceIds({ kind: 'failed' }, offset, limit, true);
      located = page.ids.map((entry) => ({ place: { kind: 'failed' }, ...entry, processId: '' }));
      total = page.total;
    } else {
      // Soonest due first, across processes: each process's first offset + limit, merged.
      const pages = await Promise.all(
        overview.processes
          .filter((process) => process.delayed > 0)
          .map(async (process) => {
            const place = { kind: 'delayed', processId: process.id } as const;
            const page = await store.pagePlaceIds(place, 0, offset + limit, false);
            return {
              total: page.total,
              ids: page.ids.map((entry) => ({ place, ...entry, processId: process.id })),
            };
          }),
      );
      total = pages.reduce((sum, page) => sum + page.total, 0);
      located = sortLocated(pages.flatMap((page) => page.ids)).slice(offset, offset + limit);
    }
    const jobs = (await this.#read(located)).map(([entry, read]) => this.#summary(entry, read, state));
    return { jobs, offset, limit, total, hasMore: offset + limit < total };
  }

  async #exactId(
    state: JobState,
    overview: StoreOverview,
    id: string,
    worker: string | undefined,
    limit: number,
  ): Promise<JobPage | null> {
    const places: Located[] =
      state === 'failed'
        ? [{ place: { kind: 'failed' }, id, score: 0, processId: '' }]
        : overview.processes.map((process) => ({
            place: { kind: state === 'delayed' ? 'delayed' : 'held', processId: process.id },
            id,
            score: 0,
            processId: process.id,
          }));
    for (const [entry, read] of await this.#read(places)) {
      if (state === 'running' || state === 'waiting') {
        if (this.#heldState(entry, read, overview) !== state) continue;
      }
      if (worker && read.record.worker !== worker) continue;
      if (entry.place.kind === 'delayed') {
        entry.score = (await this.#o.store.dueTime(entry.processId, id)) ?? Infinity;
      }
      return { jobs: [this.#summary(entry, read, state)], offset: 0, limit, total: 1, hasMore: false };
    }
    return null;
  }

  /**
   * Reads every job that may be in `state`, in the list's order, and calls `onMatch` for those
   * that pass the filters, until it returns false.
   */
  async #scan(
    state: JobState,
    overview: StoreOverview,
    worker: string | undefined,
    search: string | undefined,
    onMatch: (entry: Located, read: ReadRecord) => boolean,
  ): Promise<void> {
    const located = await this.#locate(state, overview);
    const held = state === 'running' || state === 'waiting';
    // Reads run a few chunks ahead, so Redis round trips overlap with decoding.
    const ahead: Array<Promise<Array<[Located, ReadRecord]>>> = [];
    let next = 0;
    const readAhead = () => {
      while (ahead.length < SCAN_AHEAD && next < located.length) {
        const chunk = this.#read(located.slice(next, next + SCAN_CHUNK));
        chunk.catch(() => {}); // a chunk left unread when the scan stops early must not go unhandled
        ahead.push(chunk);
        next += SCAN_CHUNK;
      }
    };
    readAhead();
    while (ahead.length) {
      const chunk = await ahead.shift()!;
      readAhead();
      for (const [entry, read] of chunk) {
        if (held && this.#heldState(entry, read, overview) !== state) continue;
        if (worker && read.record.worker !== worker) continue;
        if (search && !matchesSearch(this.#o.codec, read, search)) continue;
        if (!onMatch(entry, read)) return;
      }
    }
  }

  /** One job, wherever it is (failed, delayed or held by a process); null when no job has that id. */
  async job(id: string): Promise<JobDetail | null> {
    checkId(id);
    const { store, codec } = this.#o;
    const failed = await store.getPlaceRecords({ kind: 'failed' }, [id]);
    if (failed[0]) {
      const read = readRecord(id, failed[0].record, 'the failed list');
      return toDetail(codec, read, { state: 'failed', processId: read.record.failed?.processId ?? '' });
    }
    const overview = await store.readOverview();
    for (const process of overview.processes) {
      const delayedPlace: JobPlace = { kind: 'delayed', processId: process.id };
      const delayed = await store.getPlaceRecords(delayedPlace, [id]);
      if (delayed[0]) {
        const score = await store.dueTime(process.id, id);
        const read = readRecord(id, delayed[0].record, `the delayed jobs of process ${process.id}`);
        return toDetail(codec, read, { state: 'delayed', processId: process.id, score: score ?? Infinity });
      }
      const held = await store.getPlaceRecords({ kind: 'held', processId: process.id }, [id]);
      if (held[0]) {
        const read = readRecord(id, held[0].record, `the jobs of process ${process.id}`);
        const entry = {
          place: { kind: 'held', processId: process.id },
          id,
          score: 0,
          processId: process.id,
        } as const;
        return toDetail(codec, read, {
          state: this.#heldState(entry, read, overview),
          processId: process.id,
        });
      }
    }
    return null;
  }

  /**
   * Runs failed jobs again (attempt 1, same id, a fresh retry budget): here when this process
   * registers the worker, else on a live process that does.
   */
  async retryFailedJobs(target: ActionTarget, source: ActionSource = { via: 'api' }): Promise<ActionResult> {
    const ids = await this.#targetIds(target);
    const result: ActionResult = { done: [], missing: [], refused: [] };
    const live = (await this.#o.store.listProcesses()).filter((process) => process.heartbeatAge !== null);
    for (const id of ids) {
      const bytes = (await this.#o.store.getPlaceRecords({ kind: 'failed' }, [id]))[0]?.record;
      if (!bytes) {
        result.missing.push(id);
        continue;
      }
      const read = readRecord(id, bytes, 'the failed list');
      if (read.unreadable) {
        result.refused.push({
          id,
          reason: `its record cannot be read (${read.unreadable.message}); delete it instead.`,
        });
        continue;
      }
      const worker = read.record.worker;
      const local = this.#o.local;
      if (local?.registers(worker)) {
        (await local.retryHere(id)) ? result.done.push(id) : result.missing.push(id);
        continue;
      }
      const candidates = live.filter((process) => process.workers.includes(worker));
      if (!candidates.length) {
        result.refused.push({
          id,
          reason: `no live process registers the worker "${worker}". Start a process that does, then retry.`,
        });
        continue;
      }
      const chosen = candidates[Math.floor(Math.random() * candidates.length)]!;
      const fresh: JobRecord = {
        v: 2,
        id,
        worker,
        args: read.record.args,
        attempt: 1,
        createdAt: read.record.createdAt,
      };
      if (await this.#o.store.requeueFailedJob(chosen.id, { id, record: encodeRecord(fresh) })) {
        result.done.push(id);
        this.#wake(chosen.id);
      } else {
        result.missing.push(id);
      }
    }
    this.#log(source, 'retried', 'failed', result);
    return result;
  }

  /** Removes failed jobs for good. */
  async deleteFailedJobs(target: ActionTarget, source: ActionSource = { via: 'api' }): Promise<ActionResult> {
    const ids = await this.#targetIds(target);
    const result: ActionResult = { done: [], missing: [], refused: [] };
    for (const id of ids) {
      (await this.#o.store.deleteFailedJob(id)) ? result.done.push(id) : result.missing.push(id);
    }
    this.#log(source, 'deleted', 'failed', result);
    return result;
  }

  /** Makes delayed jobs (and retries waiting for their time) due now, and wakes their processes. */
  async runDelayedJobsNow(
    ids: readonly string[],
    source: ActionSource = { via: 'api' },
  ): Promise<ActionResult> {
    checkIds(ids);
    const result: ActionResult = { done: [], missing: [], refused: [] };
    const processes = await this.#o.store.listProcesses();
    for (const id of ids) {
      let holder: string | undefined;
      for (const process of processes) {
        if (await this.#o.store.makeDelayedJobDue(process.id, id)) {
          holder = process.id;
          break;
        }
      }
      if (holder === undefined) {
        result.missing.push(id);
        continue;
      }
      result.done.push(id);
      this.#wake(holder);
    }
    this.#log(source, 'ran now', 'delayed', result);
    return result;
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
      startedAt: new Date(process.startedAt),
      version: process.version,
      workers: [...process.workers],
      alive,
      heartbeatAge: process.heartbeatAge,
      running,
      waiting,
      delayed: process.delayed,
    };
  }

  async #deadHeldByWorker(overview: StoreOverview): Promise<Record<string, number>> {
    const counts: Record<string, number> = {};
    let budget = MAX_DEAD_HELD_READ;
    for (const process of overview.processes) {
      if (process.heartbeatAge !== null || !process.held) continue;
      const place: JobPlace = { kind: 'held', processId: process.id };
      const ids = (await this.#o.store.listPlaceIds(place)).slice(0, budget).map((entry) => entry.id);
      budget -= ids.length;
      for (const stored of await this.#o.store.getPlaceRecords(place, ids)) {
        const worker = readRecord(stored.id, stored.record, 'held jobs').record.worker;
        counts[worker] = (counts[worker] ?? 0) + 1;
      }
      const unread = process.held - ids.length;
      if (unread > 0) counts['(not counted)'] = (counts['(not counted)'] ?? 0) + unread;
    }
    return counts;
  }

  /** Every job that may be in `state`, in the list's order. */
  async #locate(state: JobState, overview: StoreOverview): Promise<Located[]> {
    const { store } = this.#o;
    if (state === 'failed') {
      const ids = await store.listPlaceIds({ kind: 'failed' });
      // Newest failure first: that is what a person looks for.
      return ids.reverse().map((entry) => ({ place: { kind: 'failed' }, ...entry, processId: '' }));
    }
    const kind = state === 'delayed' ? 'delayed' : 'held';
    const located: Located[] = [];
    for (const process of overview.processes) {
      if (kind === 'delayed' ? !process.delayed : !process.held) continue;
      const place: JobPlace = { kind, processId: process.id };
      for (const entry of await store.listPlaceIds(place))
        located.push({ place, ...entry, processId: process.id });
    }
    return sortLocated(located);
  }

  /** Reads the records of located jobs; those gone meanwhile are left out. */
  async #read(entries: readonly Located[]): Promise<Array<[Located, ReadRecord]>> {
    const byPlace = new Map<string, Located[]>();
    for (const entry of entries) {
      const key = entry.place.kind === 'failed' ? 'failed' : `${entry.place.kind}:${entry.place.processId}`;
      const group = byPlace.get(key) ?? [];
      group.push(entry);
      byPlace.set(key, group);
    }
    const records = new Map<Located, Buffer>();
    await Promise.all(
      [...byPlace.values()].map(async (group) => {
        const stored = await this.#o.store.getPlaceRecords(
          group[0]!.place,
          group.map((entry) => entry.id),
        );
        const byId = new Map(stored.map((job) => [job.id, job.record]));
        for (const entry of group) {
          const record = byId.get(entry.id);
          if (record) records.set(entry, record);
        }
      }),
    );
    const read: Array<[Located, ReadRecord]> = [];
    for (const entry of entries) {
      const bytes = records.get(entry);
      if (bytes) read.push([entry, readRecord(entry.id, bytes, placeName(entry.place))]);
    }
    return read;
  }

  /** Running or waiting: what the holding process reports. */
  #heldState(entry: PlacedId & { processId: string }, read: ReadRecord, overview: StoreOverview): JobState {
    const reported = heldStates(overview).get(entry.processId);
    if (!reported) return 'waiting'; // its process is dead (or gone): the job waits for the takeover
    if (!reported.limitedWorkers.has(read.record.worker)) return 'running';
    return reported.runningIds.has(entry.id) ? 'running' : 'waiting';
  }

  #summary(entry: Located, read: ReadRecord, state: JobState): JobSummary {
    return toSummary(this.#o.codec, read, { state, processId: entry.processId, score: entry.score });
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
    const { worker, search } = target;
    const overview = await this.#o.store.readOverview();
    if (!worker && !search)
      return (await this.#o.store.listPlaceIds({ kind: 'failed' })).map((entry) => entry.id);
    const ids: string[] = [];
    await this.#scan('failed', overview, worker, search, (entry) => ids.push(entry.id) > 0);
    return ids;
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

/** Delayed: soonest due first; held: oldest first (ids sort by creation time). */
function sortLocated(located: Located[]): Located[] {
  return located.sort((a, b) => a.score - b.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

interface ReportedState {
  limitedWorkers: ReadonlySet<string>;
  runningIds: ReadonlySet<string>;
}

/** Per live process, its report as sets (made once per overview: a list may ask 100k times). */
const reportedStates = new WeakMap<StoreOverview, Map<string, ReportedState>>();
function heldStates(overview: StoreOverview): Map<string, ReportedState> {
  let states = reportedStates.get(overview);
  if (!states) {
    states = new Map();
    for (const process of overview.processes) {
      if (process.heartbeatAge === null) continue;
      states.set(process.id, {
        limitedWorkers: new Set(process.report?.limitedWorkers ?? []),
        runningIds: new Set(process.report?.runningIds ?? []),
      });
    }
    reportedStates.set(overview, states);
  }
  return states;
}

function placeName(place: JobPlace): string {
  return place.kind === 'failed'
    ? 'the failed list'
    : place.kind === 'delayed'
      ? `the delayed jobs of process ${place.processId}`
      : `the jobs of process ${place.processId}`;
}

function checkQuery(query: JobQuery): { state: JobState; worker?: string; search?: string } {
  if (!query || !JOB_STATES.includes(query.state)) {
    throw new InvalidArgumentsError(
      'state',
      `state must be one of ${JOB_STATES.join(', ')}; got ${JSON.stringify(query?.state)}.`,
    );
  }
  const { offset, limit } = query;
  if (offset !== undefined && (!Number.isInteger(offset) || offset < 0)) {
    throw new InvalidArgumentsError('offset', `offset must be a whole number ≥ 0, got ${offset}.`);
  }
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT)) {
    throw new InvalidArgumentsError(
      'limit',
      `limit must be a whole number from 1 to ${MAX_LIMIT}, got ${limit}.`,
    );
  }
  return {
    state: query.state,
    ...(query.worker ? { worker: query.worker } : {}),
    ...(query.search ? { search: query.search } : {}),
  };
}

function checkId(id: unknown): void {
  if (typeof id !== 'string' || !id || id.length > 200) {
    throw new InvalidArgumentsError('id', `A job id is a non-empty string, got ${JSON.stringify(id)}.`);
  }
}

function checkIds(ids: unknown): asserts ids is string[] {
  if (!Array.isArray(ids)) {
    throw new InvalidArgumentsError('ids', `ids must be an array of job ids, got ${JSON.stringify(ids)}.`);
  }
  for (const id of ids) checkId(id);
}
