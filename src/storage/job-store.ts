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

export interface JobStore {
  /** Connects; rejects with a clear error when storage is unreachable. Returns warnings to log. */
  open(): Promise<string[]>;
  close(): Promise<void>;

  /** Persists jobs that the process runs now. Resolves once they are durable. */
  addJobs(processId: string, jobs: readonly StoredJob[]): Promise<void>;
  /** Removes finished jobs. Retries by itself until storage confirms, so callers need not wait. */
  finishJobs(processId: string, ids: readonly string[]): Promise<void>;
  /** The jobs a process holds to run (after a restart under the same process id). */
  listJobs(processId: string): Promise<StoredJob[]>;

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
  /** Moves a failed job to the jobs the process runs, with its fresh record. False if it is not in the failed list. */
  retryFailedJob(processId: string, job: StoredJob): Promise<boolean>;
  /** Removes a failed job. False if it is not in the failed list. */
  deleteFailedJob(id: string): Promise<boolean>;
}
