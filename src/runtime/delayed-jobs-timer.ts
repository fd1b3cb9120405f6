/**
 * Moves this process's delayed jobs (and retries) to the jobs it runs when they are due.
 *
 * The delayed jobs live in Redis, not in memory: the timer only remembers when the earliest
 * one is due. It wakes at that time, or every `pollInterval` at the latest (another process
 * may add delayed jobs for this one), and when told of a sooner job. Errors (Redis away) are
 * logged once per outage and retried on the next wake.
 */
import { OnceUntilReset } from '../log-once.js';
import type { Logger } from '../logger.js';
import type { JobStore, StoredJob } from '../storage/job-store.js';
import type { LoopWatch } from '../timers.js';

const BATCH = 1000;

export interface DelayedJobsTimerOptions {
  store: JobStore;
  processId: string;
  pollInterval: number;
  now: () => number;
  logger: Logger;
  /** Tells a call that timed out because the event loop was blocked from a Redis failure. */
  loopWatch?: LoopWatch;
  /** Receives jobs that are now due; they are already moved to the jobs this process runs. */
  onDue: (jobs: StoredJob[]) => void;
}

export class DelayedJobsTimer {
  readonly #options: DelayedJobsTimerOptions;
  #timer: NodeJS.Timeout | undefined;
  #wakeAt = Infinity;
  #running = false;
  #rerun = false;
  #stopped = true;
  /** Failures are logged once per outage, and the end of one once. */
  readonly #failing = new OnceUntilReset();

  constructor(options: DelayedJobsTimerOptions) {
    this.#options = options;
  }

  start(): void {
    this.#stopped = false;
    this.#schedule(0);
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  /** A delayed job due at `dueAt` was added: wake for it if that is sooner than planned. */
  notify(dueAt: number): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#rerun = true;
      return;
    }
    if (dueAt < this.#wakeAt) this.#schedule(Math.max(0, dueAt - this.#options.now()));
  }

  #schedule(delay: number): void {
    if (this.#stopped) return;
    clearTimeout(this.#timer);
    const wait = Math.min(delay, this.#options.pollInterval);
    this.#wakeAt = this.#options.now() + wait;
    this.#timer = setTimeout(() => void this.#tick(), wait);
    this.#timer.unref();
  }

  async #tick(): Promise<void> {
    const { store, processId, now, onDue, logger } = this.#options;
    this.#running = true;
    this.#wakeAt = Infinity;
    let next = this.#options.pollInterval;
    const startedAt = Date.now();
    try {
      for (;;) {
        const due = await store.takeDueJobs(processId, now(), BATCH);
        if (due.length) onDue(due);
        if (due.length < BATCH || this.#stopped) break;
      }
      const dueAt = await store.nextDueTime(processId);
      if (dueAt !== null) next = Math.max(0, dueAt - now());
      if (this.#failing.reset()) logger.info({}, 'Checking for due delayed jobs works again.');
    } catch (error) {
      // A job that blocked the loop makes a waiting call time out: that is not a Redis failure
      // (the watch says what it is), and the next wake tries again.
      if (this.#options.loopWatch?.explain(startedAt, 'a check for due delayed jobs')) {
        next = 0;
      } else {
        if (this.#failing.first())
          logger.error({ err: error }, 'Could not check for due delayed jobs; will try again.');
      }
    } finally {
      this.#running = false;
    }
    if (this.#rerun) {
      this.#rerun = false;
      next = 0;
    }
    this.#schedule(next);
  }
}
