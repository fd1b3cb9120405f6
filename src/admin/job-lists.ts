/**
 * The admin's job lists: one page of the jobs in a state, filtered by worker and searched by
 * text, and one job wherever it is. Reads through the AdminStore contract:
 * - an unfiltered page of delayed or failed jobs reads only that page (ZRANGE with limits);
 * - a search for a whole job id is a lookup;
 * - otherwise the ids of the state are read in order and their records in chunks of 500, a few
 *   chunks ahead, and filtered here; a page of one worker's delayed or failed jobs stops once
 *   full (the per-worker counts give the total).
 * Running and waiting jobs are told apart by the report of the process that holds them.
 */
import { InvalidArgumentsError } from '../errors.js';
import type { ArgumentCodec } from '../job/serialization.js';
import type { AdminJobStore, JobPlace, PlacedId, StoreOverview } from '../storage/admin-store.js';
import {
  JOB_STATES,
  type JobDetail,
  type JobPage,
  type JobQuery,
  type JobState,
  type JobSummary,
} from './admin-types.js';
import { matchesSearch, type ReadRecord, readRecord, toDetail, toSummary } from './job-view.js';

const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 500;
const SCAN_CHUNK = 500;
/** Chunks read ahead while a scan decodes one. */
const SCAN_AHEAD = 4;
/** A whole job id (see job-id.ts): a search for one is a lookup. */
const JOB_ID = /^[0-9A-HJKMNP-TV-Z]{26}$/i;

/** One held, delayed or failed job found by a scan, with where it is. */
interface Located {
  place: JobPlace;
  id: string;
  score: number;
  processId: string;
}

export class JobLists {
  readonly #store: AdminJobStore;
  readonly #codec: ArgumentCodec;

  constructor(store: AdminJobStore, codec: ArgumentCodec) {
    this.#store = store;
    this.#codec = codec;
  }

  /** One page of the jobs in a state, filtered by worker and by a search text. */
  async page(query: JobQuery): Promise<JobPage> {
    const { state, worker, search } = checkQuery(query);
    const offset = query.offset ?? 0;
    const limit = query.limit ?? DEFAULT_LIMIT;
    const overview = await this.#store.readOverview();
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
      const counted =
        (state === 'delayed' ? overview.delayedByWorker : overview.failedByWorker).get(worker) ?? 0;
      let seen = 0;
      let full = false;
      await this.#scan(state, overview, worker, undefined, (entry, read) => {
        if (seen++ >= offset) jobs.push(this.#summary(entry, read, state, overview));
        full = jobs.length === limit;
        return !full;
      });
      const total = full ? Math.max(counted, seen) : seen;
      return { jobs, offset, limit, total, hasMore: offset + limit < total };
    }
    // Otherwise every candidate is read, in chunks, to filter it; the total counts every match.
    let total = 0;
    await this.#scan(state, overview, worker, search, (entry, read) => {
      if (total >= offset && jobs.length < limit) jobs.push(this.#summary(entry, read, state, overview));
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
    const store = this.#store;
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
        entry.score = (await this.#store.dueTime(entry.processId, id)) ?? Infinity;
      }
      return {
        jobs: [this.#summary(entry, read, state, overview)],
        offset: 0,
        limit,
        total: 1,
        hasMore: false,
      };
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
        if (search && !matchesSearch(this.#codec, read, search)) continue;
        if (!onMatch(entry, read)) return;
      }
    }
  }

  /** One job, wherever it is (failed, delayed or held by a process); null when no job has that id. */
  async find(id: string): Promise<JobDetail | null> {
    checkId(id);
    const store = this.#store;
    const codec = this.#codec;
    const failed = await store.getPlaceRecords({ kind: 'failed' }, [id]);
    if (failed[0]) {
      const read = readRecord(id, failed[0].record, 'the failed list');
      return toDetail(codec, read, { state: 'failed', processId: read.record.failed?.processId ?? '' });
    }
    const overview = await store.readOverview();
    // Every process's delayed jobs and held jobs at once: one round trip, not two per process.
    const places: Located[] = overview.processes.flatMap((process) =>
      (['delayed', 'held'] as const).map((kind) => ({
        place: { kind, processId: process.id },
        id,
        score: 0,
        processId: process.id,
      })),
    );
    const [found] = await this.#read(places);
    if (found) {
      const [entry, read] = found;
      if (entry.place.kind === 'delayed') {
        const dueAt = await store.dueTime(entry.processId, id);
        return toDetail(codec, read, {
          state: 'delayed',
          processId: entry.processId,
          score: dueAt ?? Infinity,
        });
      }
      return toDetail(codec, read, {
        state: this.#heldState(entry, read, overview),
        processId: entry.processId,
        note: heldNote(entry, read, overview),
      });
    }
    return null;
  }

  /** Every job that may be in `state`, in the list's order. */
  async #locate(state: JobState, overview: StoreOverview): Promise<Located[]> {
    const store = this.#store;
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
        const stored = await this.#store.getPlaceRecords(
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
    if (Object.hasOwn(reported.newerVersionIds, entry.id)) return 'waiting';
    if (!reported.limitedWorkers.has(read.record.worker)) return 'running';
    return reported.runningIds.has(entry.id) ? 'running' : 'waiting';
  }

  #summary(entry: Located, read: ReadRecord, state: JobState, overview?: StoreOverview): JobSummary {
    const note = overview && entry.place.kind === 'held' ? heldNote(entry, read, overview) : undefined;
    return toSummary(this.#codec, read, { state, processId: entry.processId, score: entry.score, note });
  }

  /** The ids of the failed jobs that pass the filters, newest failure first. */
  async matchingFailedIds(worker: string | undefined, search: string | undefined): Promise<string[]> {
    if (!worker && !search)
      return (await this.#store.listPlaceIds({ kind: 'failed' })).map((entry) => entry.id);
    const overview = await this.#store.readOverview();
    const ids: string[] = [];
    await this.#scan('failed', overview, worker, search, (entry) => ids.push(entry.id) > 0);
    return ids;
  }
}

/** Delayed: soonest due first; held: oldest first (ids sort by creation time). */
function sortLocated(located: Located[]): Located[] {
  return located.sort((a, b) => a.score - b.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

interface ReportedState {
  limitedWorkers: ReadonlySet<string>;
  runningIds: ReadonlySet<string>;
  /** Held jobs it does not run: stored by a newer version of their worker (id → that version). */
  newerVersionIds: Readonly<Record<string, number>>;
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
        newerVersionIds: process.report?.newerVersionIds ?? {},
      });
    }
    reportedStates.set(overview, states);
  }
  return states;
}

/** Why a held job does not run, when its process says it waits for a newer worker version. */
function heldNote(
  entry: PlacedId & { processId: string },
  read: ReadRecord,
  overview: StoreOverview,
): string | undefined {
  const version = heldStates(overview).get(entry.processId)?.newerVersionIds[entry.id];
  if (version === undefined) return undefined;
  return (
    `Stored by version ${version} of worker ${read.record.worker}, newer than the one process ${entry.processId} runs: ` +
    `it waits there for a live process that runs version ${version}, and is handed to one as soon as one is alive.`
  );
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

export function checkId(id: unknown): void {
  if (typeof id !== 'string' || !id || id.length > 200) {
    throw new InvalidArgumentsError('id', `A job id is a non-empty string, got ${JSON.stringify(id)}.`);
  }
}
