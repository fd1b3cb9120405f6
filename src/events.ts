/**
 * The events a toniq instance emits, typed. Listeners run synchronously; one that throws is
 * logged and does not disturb the job.
 */
import type { EventEmitter } from 'node:events';
import type { FailedJob, Job } from './job/job.js';
import type { Logger } from './logger.js';

export interface ToniqEvents {
  /** A job was persisted and will run here (or, with a delay, when due). */
  enqueued: [job: Job];
  /** An attempt of a job started. */
  started: [job: Job];
  /** A job finished successfully; its removal from Redis is under way. */
  finished: [job: Job];
  /** An attempt failed and the job will run again at `dueAt`. */
  retrying: [job: Job, error: Error, dueAt: Date];
  /** A job used up its retries and is now in the failed list. */
  failed: [job: FailedJob, error: Error];
  /** This process took over the jobs of a dead (or stopped) process; they run here now. */
  takenOver: [takeover: { processId: string; jobs: number; delayedJobs: number }];
}

export type ToniqEventEmitter = EventEmitter<ToniqEvents>;

/** Emits an event; a listener that throws is logged instead of breaking the caller. */
export function emitSafely<E extends keyof ToniqEvents>(
  events: ToniqEventEmitter,
  logger: Logger,
  event: E,
  ...args: ToniqEvents[E]
): void {
  try {
    (events.emit as (event: E, ...args: ToniqEvents[E]) => boolean)(event, ...args);
  } catch (error) {
    logger.error({ err: error }, `A listener of the "${event}" event threw; the job is not affected.`);
  }
}
