/**
 * The storage contract: the job-level verbs the runtime needs, and nothing of Redis.
 * Two implementations: RedisStore (production) and MemoryStore (apps' unit tests, the demo
 * without Redis). Records are opaque bytes here; the runtime encodes and decodes them.
 *
 * Verbs that move a job check that it is where they expect it. A job that is no longer there
 * was moved by someone else (another process took it over, a person deleted it), and the verb
 * returns false instead of writing it back, so a job is never duplicated by a late write.
 */

export interface StoredJob {
  readonly id: string;
  readonly record: Buffer;
}

export interface DelayedStoredJob extends StoredJob {
  /** Epoch ms; Infinity holds the job until takeAllDelayedJobs. */
  readonly dueAt: number;
}

/** What a process says of itself when it registers. */
export interface ProcessInfo {
  readonly id: string;
  readonly host: string;
  readonly pid: number;
  /** Epoch ms. */
  readonly startedAt: number;
  /** The toniq version it runs. */
  readonly version: string;
  /** The workers it registers (enqueueOn checks them). */
  readonly workers: readonly string[];
  /**
   * The version of each worker's arguments it runs, for workers above version 1 (a worker not
   * listed runs version 1; so do all workers of a process from before versions existed).
   */
  readonly workerVersions?: Readonly<Record<string, number>>;
}

/** A registered process as the store sees it. */
export interface ProcessStatus extends ProcessInfo {
  /** Milliseconds since its last heartbeat, or null when its heartbeat has lapsed (it counts as dead). */
  readonly heartbeatAge: number | null;
  /** Set on a dead process whose takeover failed (damaged keys, a script error): why, when, and who tried. */
  readonly takeoverError?: TakeoverError | undefined;
  /**
   * Set when its entry in storage could not be read in full (a registration or report that is not
   * what toniq writes): what is missing. The fields that could be read are shown; the rest as unknown.
   */
  readonly damaged?: string | undefined;
}

/** Why taking over a dead process failed; it is tried again at every check. */
export interface TakeoverError {
  readonly message: string;
  /** Epoch ms of the failed attempt. */
  readonly at: number;
  /** The process that tried. */
  readonly by: string;
}

export interface KeepaliveTiming {
  /** How often the heartbeat is refreshed, in ms. */
  interval: number;
  /** How long after its last heartbeat a process counts as dead, in ms. */
  deadAfter: number;
  /** How long the main thread may make no progress before the heartbeat stops, in ms. */
  maxEventLoopStall: number;
}

export interface KeepaliveCallbacks {
  /** The heartbeat found the process taken over (it had lapsed); it is registered again. */
  onTakenOver(): void;
  /** The main thread made no progress for maxEventLoopStall: heartbeats stop until it does. */
  onStalled(stalledFor: number): void;
  /** A heartbeat could not be written (Redis away); called once per outage. */
  onError(error: Error): void;
  /** Heartbeats work again after an error or a stall. */
  onRecovered(): void;
}

export interface Keepalive {
  stop(): Promise<void>;
}

export type StoreMessage = { type: 'wake' } | { type: 'process-stopped'; processId: string };

/** A takeover that happened: the dead process's jobs are the taker's now. */
export interface TakeoverResult {
  readonly status: 'taken-over';
  /** Jobs to run now, moved to the taker's jobs. */
  readonly jobs: StoredJob[];
  /** How many delayed jobs moved to the taker's delayed jobs. */
  readonly delayed: number;
}

/**
 * A takeover that did not happen, and why; none is a fault, each is another process's move:
 * - 'alive': the process's heartbeat has not lapsed;
 * - 'same-process': the taker is the dead process itself;
 * - 'taker-not-alive': the taker's own heartbeat lapsed, so it must not take jobs;
 * - 'not-registered': already taken over (or never registered);
 * - 'claimed-by-another': another process is taking it over now.
 */
export interface TakeoverSkipped {
  readonly status: 'alive' | 'same-process' | 'taker-not-alive' | 'not-registered' | 'claimed-by-another';
}

export type TakeoverOutcome = TakeoverResult | TakeoverSkipped;

/** What a process reports of itself every second, for the admin UI. */
export interface ProcessReport {
  /**
   * Per worker: jobs performing now, and jobs waiting for a free slot (maxConcurrency). A
   * null-prototype object, so that a worker named "__proto__" is a key like any other.
   */
  workers: Record<string, { running: number; waiting: number }>;
  /** The workers with a maxConcurrency: only their held jobs can be waiting. */
  limitedWorkers: string[];
  /** Ids of the running jobs of those workers (the held jobs of the others all run). */
  runningIds: string[];
  /**
   * Held jobs this process does not run because they were stored by a newer version of their
   * worker than it runs: id → that version. They wait for a process that runs it.
   */
  newerVersionIds?: Record<string, number>;
}

export interface HandOverResult {
  /** False when the target process is not alive: nothing was moved. */
  targetAlive: boolean;
  moved: string[];
  gone: string[];
}

export interface JobStore {
  /**
   * Moves held jobs of `fromProcessId` into the delayed jobs of `toProcessId`, due at once, if
   * that process is alive (else moves nothing). `gone`: ids no longer held by `fromProcessId`.
   * The caller then wakes the process.
   */
  handOverJobs(fromProcessId: string, toProcessId: string, ids: readonly string[]): Promise<HandOverResult>;
  /** Connects; rejects with a clear error when storage is unreachable. Returns warnings to log. */
  open(): Promise<string[]>;
  close(): Promise<void>;

  /** Persists jobs that the process runs now. Resolves once they are durable. */
  addJobs(processId: string, jobs: readonly StoredJob[]): Promise<void>;
  /** Removes finished jobs. Retries by itself until storage confirms, so callers need not wait. */
  finishJobs(processId: string, ids: readonly string[]): Promise<void>;
  /** The jobs a process holds to run (after a restart under the same process id). */
  listJobs(processId: string): Promise<StoredJob[]>;
  /** The ids of the jobs a process holds to run. */
  listJobIds(processId: string): Promise<string[]>;
  /** Some of the jobs a process holds, by id; ids it no longer holds are left out. */
  getJobs(processId: string, ids: readonly string[]): Promise<StoredJob[]>;
  /** Calls `listener` each time storage is reachable again after an outage. */
  onReconnected(listener: () => void): void;

  /** Persists delayed jobs of a process. */
  addDelayedJobs(processId: string, jobs: readonly DelayedStoredJob[]): Promise<void>;
  /** Moves a running job to the delayed jobs with its updated record. False if the process no longer holds it. */
  scheduleRetry(processId: string, job: DelayedStoredJob): Promise<boolean>;
  /** Moves up to `limit` delayed jobs due at `now` to the jobs to run, and returns them. */
  takeDueJobs(processId: string, now: number, limit: number): Promise<StoredJob[]>;
  /** Moves every delayed job, including those held forever, to the jobs to run. */
  takeAllDelayedJobs(processId: string): Promise<StoredJob[]>;
  /** Due time of the earliest delayed job, or null when there is none. */
  nextDueTime(processId: string): Promise<number | null>;

  /** Moves a running job to the failed list with its updated record. False if the process no longer holds it. */
  failJob(processId: string, job: StoredJob, failedAt: number): Promise<boolean>;
  /** One failed job's record, or null when it is not in the failed list. */
  getFailedJob(id: string): Promise<Buffer | null>;
  /** Every failed job, oldest failure first. */
  listFailedJobs(): Promise<StoredJob[]>;
  /**
   * Moves failed jobs to a process's delayed jobs, due at once, each with its fresh record; the
   * caller then wakes that process. The one retry path (toniq.retry and the admin). Returns the
   * ids moved; the others were no longer in the failed list.
   */
  retryFailedJobs(processId: string, jobs: readonly StoredJob[]): Promise<string[]>;
  /** Removes failed jobs. Returns the ids removed; the others were not in the failed list. */
  deleteFailedJobs(ids: readonly string[]): Promise<string[]>;

  /** Registers the process and writes its first heartbeat. True when it had been taken over. */
  keepAlive(info: ProcessInfo, deadAfter: number): Promise<boolean>;
  /** Keeps the heartbeat going in the background (for Redis, from a worker thread). */
  startKeepalive(
    info: ProcessInfo,
    timing: KeepaliveTiming,
    callbacks: KeepaliveCallbacks,
  ): Promise<Keepalive>;
  /**
   * Ends the heartbeat of a stopping process. It stays registered while it holds jobs, so a live
   * process takes them over; returns whether it left jobs.
   */
  endProcess(processId: string): Promise<boolean>;
  /** Every registered process with the age of its heartbeat. */
  listProcesses(): Promise<ProcessStatus[]>;
  /**
   * Moves every job of a dead process to `takerId`, atomically, once. Null when the process is
   * not dead, already taken over, or the taker is not alive.
   */
  takeOverProcess(deadId: string, takerId: string): Promise<TakeoverOutcome>;
  /**
   * Records why taking over a dead process failed, for the admin UI (listProcesses shows it on
   * the process until a takeover of it succeeds).
   */
  recordTakeoverError(deadId: string, error: TakeoverError): Promise<void>;
  /** Sends a message to one process (wake) or to all (process-stopped). Best effort: polls back it up. */
  publish(processId: string | null, message: StoreMessage): Promise<void>;
  /** Receives the messages for this process and the broadcasts. */
  subscribe(processId: string, onMessage: (message: StoreMessage) => void): Promise<void>;

  // What the admin UI shows of this process (see AdminStore for the reading side).

  /** Saves this process's report and adds the jobs finished and failed since the last one to the second `now` falls in. */
  recordStats(
    processId: string,
    report: ProcessReport,
    finished: number,
    failed: number,
    now: number,
  ): Promise<void>;
  /** Forgets a stopped process's report. */
  removeReport(processId: string): Promise<void>;
}
