/**
 * Terminology (the same words in code, logs, docs, the admin UI and the CLI)
 * - job: one call of a worker with its arguments, persisted in Redis until it finishes.
 * - worker: a named function that performs jobs (see defineWorker).
 * - process: one started toniq instance; it runs the jobs it enqueued.
 * - enqueue: persist a job and hand it to a process to run (this one, or another with enqueueOn).
 * - held: a job a process has taken on to run now, in `{p:pid}:jobs`; a held job is either
 *   running (its worker is performing it) or waiting (for a free slot of a maxConcurrency).
 * - attempt: which try of the job this is, 1 for the first run.
 * - delayed job: a job waiting in Redis for its due time (a retry is a delayed job too); one
 *   enqueued with `delayFor: Infinity` is kept until flushDelayedJobs().
 * - failed job: a job that used up its retries; it waits in the failed list for a person.
 * - keepalive: how a process shows it is alive: it registers, then refreshes its heartbeat from
 *   the keepalive thread. The heartbeat is the Redis key the keepalive refreshes; its age tells
 *   a live process from a dead one.
 * - takeover: a live process moving a dead one's held and delayed jobs to itself; hand-over is
 *   the same at once, when a process stops and leaves jobs behind.
 */

/** A job as the app sees it: in `enqueue`'s result, in `ctx.job` and in events. */
export interface Job<Args = unknown> {
  /** Unique, made by the client, sorts by creation time. */
  readonly id: string;
  /** The worker's name, as given to defineWorker. */
  readonly worker: string;
  /** The arguments, exactly as enqueued. */
  readonly args: Args;
  /** 1 for the first run, 2 for the first retry, and so on. */
  readonly attempt: number;
  readonly createdAt: Date;
  /** The process that holds the job (for a failed job, the one it failed on). */
  readonly processId: string;
  /** When a delayed job is due; `null` when it waits for flushDelayedJobs(); `undefined` when it runs now. */
  readonly dueAt?: Date | null | undefined;
}

/** What is kept of the error a job failed with. */
export interface JobError {
  readonly name: string;
  readonly message: string;
  readonly stack?: string | undefined;
  readonly code?: string | number | undefined;
}

/**
 * A job in the failed list. A record that cannot be read in full is still listed: its `error`
 * then says it is damaged (`code: 'TONIQ_CORRUPT_JOB_RECORD'`), `failedAt` is null when the
 * record does not say, and when even its header is unreadable, `worker` is "(unreadable record)"
 * and `createdAt` the epoch (new Date(0)).
 */
export interface FailedJob<Args = unknown> extends Job<Args> {
  /** Always there (a placeholder for a damaged record), so `job.error.message` is safe. */
  readonly error: JobError;
  /** How many times it ran. */
  readonly attempts: number;
  /** When it failed; null when its record does not say (a damaged record). */
  readonly failedAt: Date | null;
}

/** Turns anything a worker threw into the fields kept with a failed job. */
export function toJobError(error: unknown): JobError {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return {
      name: error.name,
      message: error.message,
      stack: error.stack,
      code: typeof code === 'string' || typeof code === 'number' ? code : undefined,
    };
  }
  return { name: 'Error', message: String(error) };
}
