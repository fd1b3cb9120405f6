/**
 * The admin's side of the storage contract: what the admin read API (web UI, JSON API, CLI)
 * reads and the few actions it takes. The runtime never calls these; it only writes its reports
 * (JobStore.recordStats). Both RedisStore and MemoryStore implement it, and the same contract
 * test runs against both.
 */
import type { JobStore, ProcessReport, ProcessStatus, StoredJob } from './job-store.js';

/** Where a job is kept: the jobs a process runs or holds, its delayed jobs, or the failed list. */
export type JobPlace =
  | { readonly kind: 'held'; readonly processId: string }
  | { readonly kind: 'delayed'; readonly processId: string }
  | { readonly kind: 'failed' };

/** A job id with its order in its place: due time (delayed, Infinity when held), failure time (failed), 0 (held). */
export interface PlacedId {
  readonly id: string;
  readonly score: number;
}

/** What the admin overview needs, read in one go. */
export interface StoreOverview {
  readonly processes: ReadonlyArray<
    ProcessStatus & { readonly held: number; readonly delayed: number; readonly report: ProcessReport | null }
  >;
  /** Per worker name (a Map: any name, "__proto__" too, is a key like any other). */
  readonly delayedByWorker: ReadonlyMap<string, number>;
  readonly failedByWorker: ReadonlyMap<string, number>;
  /** How many jobs the failed list holds (exact, whatever the per-worker counts say). */
  readonly failed: number;
}

export interface AdminStore {
  /** Every registered process with what it holds and reports, and the per-worker counts of delayed and failed jobs. */
  readOverview(): Promise<StoreOverview>;
  /** Jobs finished and failed per second, for the seconds from `fromSecond` (epoch s) on, `seconds` of them. */
  readThroughput(fromSecond: number, seconds: number): Promise<{ finished: number[]; failed: number[] }>;
  /** Every id in a place, in its order (held: by id, which sorts by creation; delayed: by due time; failed: by failure time). */
  listPlaceIds(place: JobPlace): Promise<PlacedId[]>;
  /**
   * One page of the ids of a delayed or failed place, in its order (`newestFirst` reverses it),
   * and how many ids the place holds: a page of 100k failed jobs without reading them all.
   */
  pagePlaceIds(
    place: JobPlace & { kind: 'delayed' | 'failed' },
    offset: number,
    limit: number,
    newestFirst: boolean,
  ): Promise<{ ids: PlacedId[]; total: number }>;
  /** Some records of a place, by id; ids no longer there are left out. */
  getPlaceRecords(place: JobPlace, ids: readonly string[]): Promise<StoredJob[]>;
  /** When a delayed job is due (Infinity: held until flushed), or null when the process does not hold it as delayed. */
  dueTime(processId: string, id: string): Promise<number | null>;
  /** Makes delayed jobs of a process due now. Returns the ids it held as delayed; the others are left alone. */
  makeDelayedJobsDue(processId: string, ids: readonly string[]): Promise<string[]>;
}

/** A store the admin can use: the runtime's contract and the admin's. */
export type AdminJobStore = JobStore & AdminStore;
