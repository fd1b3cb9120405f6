/**
 * Takes over the jobs of dead processes.
 * 1. Every `checkInterval`, and at once when a process announces it stopped, lists the
 *    registered processes and finds those whose heartbeat lapsed. A process must be seen dead
 *    for `confirmAfter` first (unless it announced its stop): after a Redis outage every heartbeat
 *    has lapsed, and live processes need a moment to beat again.
 * 2. Moves each one's jobs here with one store call, which claims the process inside Redis (only
 *    if it is really dead, and for one taker at a time), so racing processes never split jobs.
 *    Each dead process is taken over on its own: one that fails (damaged keys) is logged with its
 *    id and recorded for the admin UI, and the others are taken over all the same.
 * 3. Runs the jobs it got, wakes the delayed-jobs timer for the delayed ones, emits `takenOver`.
 * While this process's own heartbeat is failing (Redis away), and for a grace period after it or
 * after the listing failed (Redis, or one shard of a Redis Cluster, away), it takes over
 * nothing: after an outage every heartbeat has lapsed, and the others need a moment to beat again.
 */
import type { ToniqEventEmitter } from '../events.js';
import { emitSafely } from '../events.js';
import { OnceUntilReset } from '../log-once.js';
import type { Logger } from '../logger.js';
import type { JobStore, ProcessStatus, StoredJob, TakeoverOutcome } from '../storage/job-store.js';
import type { LoopWatch } from '../timers.js';

export interface TakeoverOptions {
  store: JobStore;
  processId: string;
  checkInterval: number;
  /** How long to wait after this process's own heartbeat recovered before taking over again. */
  graceAfterOutage: number;
  /** How long a process must be seen dead before it is taken over. */
  confirmAfter: number;
  /** How often a takeover that keeps failing with the same error is logged again, in ms. */
  repeatFailureLogAfter: number;
  logger: Logger;
  /** Tells a call that timed out because the event loop was blocked from a Redis failure. */
  loopWatch?: LoopWatch;
  events: ToniqEventEmitter;
  onJobs: (jobs: StoredJob[]) => void;
  onDelayedJobs: () => void;
}

export class Takeover {
  readonly #o: TakeoverOptions;
  #timer: NodeJS.Timeout | undefined;
  #checking: Promise<void> | undefined;
  #again = false;
  #stopped = true;
  #pausedUntil = 0;
  /** Failures to list the processes are logged once per outage, and the end of one once. */
  readonly #failing = new OnceUntilReset();
  /** When each dead-looking process was first seen dead. */
  readonly #deadSince = new Map<string, number>();
  /** Processes that announced they stopped (and when): no need to confirm they are dead. */
  readonly #announced = new Map<string, number>();
  /** Dead processes whose takeover failed, with the last error logged and when. */
  readonly #failures = new Map<string, { message: string; loggedAt: number }>();

  constructor(options: TakeoverOptions) {
    this.#o = options;
  }

  start(): void {
    this.#stopped = false;
    this.checkNow();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    clearTimeout(this.#confirmationTimer);
    await this.#checking;
  }

  /** This process's heartbeat failed: take nothing over until it works again (and a while after). */
  pause(): void {
    this.#pausedUntil = Number.POSITIVE_INFINITY;
  }

  resume(): void {
    this.#pausedUntil = Date.now() + this.#o.graceAfterOutage;
  }

  /** A process announced that it stopped and left jobs: take them over without waiting. */
  processStopped(processId: string): void {
    this.#announced.set(processId, Date.now());
    this.checkNow();
  }

  /** Checks for dead processes now (or right after the check under way). */
  checkNow(): void {
    if (this.#stopped) return;
    if (this.#checking) {
      this.#again = true;
      return;
    }
    clearTimeout(this.#timer);
    this.#checking = this.#check().finally(() => {
      this.#checking = undefined;
      if (this.#again) {
        this.#again = false;
        this.checkNow();
      } else this.#schedule();
    });
  }

  #confirmationTimer: NodeJS.Timeout | undefined;

  /** Looks again once a process first seen dead may be confirmed dead. */
  #scheduleConfirmation(): void {
    if (this.#confirmationTimer || this.#stopped) return;
    this.#confirmationTimer = setTimeout(() => {
      this.#confirmationTimer = undefined;
      this.checkNow();
    }, this.#o.confirmAfter);
    this.#confirmationTimer.unref();
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => this.checkNow(), this.#o.checkInterval);
    this.#timer.unref();
  }

  async #check(): Promise<void> {
    if (Date.now() < this.#pausedUntil) return;
    const { store, processId, logger } = this.#o;
    const startedAt = Date.now();
    let processes: ProcessStatus[];
    try {
      processes = await store.listProcesses();
    } catch (error) {
      // The loop was blocked (a job's synchronous code), not Redis: the watch says so; next check.
      if (this.#o.loopWatch?.explain(startedAt, 'a check for dead processes to take over')) return;
      if (this.#failing.first())
        logger.error({ err: error }, 'Could not check for dead processes to take over; will try again.');
      return;
    }
    if (this.#failing.reset()) {
      logger.info({}, 'Checking for dead processes works again.');
      // Redis (or, on a Redis Cluster, a shard) was away: heartbeats lapsed meanwhile, and live
      // processes need a moment to beat again. As after this process's own outage (pause()).
      this.#pausedUntil = Date.now() + this.#o.graceAfterOutage;
      return;
    }
    const now = Date.now();
    const deadIds = new Set<string>();
    for (const dead of processes) {
      if (this.#stopped) return;
      if (dead.heartbeatAge !== null || dead.id === processId) continue;
      deadIds.add(dead.id);
      const since = this.#deadSince.get(dead.id) ?? now;
      this.#deadSince.set(dead.id, since);
      if (now - since < this.#o.confirmAfter && !this.#announced.has(dead.id)) {
        this.#scheduleConfirmation();
        continue;
      }
      // Each dead process on its own: one that cannot be taken over (damaged keys, a script
      // error) must not keep the others' jobs from running.
      await this.#takeOver(dead.id);
    }
    for (const id of this.#deadSince.keys()) if (!deadIds.has(id)) this.#deadSince.delete(id);
    // An announcement that arrived after this check listed the processes is kept for the next one.
    for (const [id, at] of this.#announced)
      if (!deadIds.has(id) && at < startedAt) this.#announced.delete(id);
    for (const id of this.#failures.keys()) if (!deadIds.has(id)) this.#failures.delete(id);
  }

  async #takeOver(deadId: string): Promise<void> {
    const { store, processId, logger, events } = this.#o;
    let taken: TakeoverOutcome;
    const startedAt = Date.now();
    try {
      taken = await store.takeOverProcess(deadId, processId);
    } catch (error) {
      // Not recorded as this dead process's failure when the loop was blocked: nothing is wrong with it.
      if (this.#o.loopWatch?.explain(startedAt, `the takeover of process ${deadId}`)) return;
      await this.#takeoverFailed(deadId, error);
      return;
    }
    if (this.#failures.delete(deadId)) {
      logger.info({ from: deadId }, `Taking over process ${deadId} works again.`);
    }
    // Another process's move (or this one's heartbeat lapsed: its keepalive says so): not a fault.
    if (taken.status !== 'taken-over') return;
    logger.info(
      { from: deadId, jobs: taken.jobs.length, delayedJobs: taken.delayed },
      `Took over ${taken.jobs.length} job(s) and ${taken.delayed} delayed job(s) of process ${deadId}, whose heartbeat stopped.`,
    );
    if (taken.jobs.length) this.#o.onJobs(taken.jobs);
    if (taken.delayed) this.#o.onDelayedJobs();
    emitSafely(events, logger, 'takenOver', {
      processId: deadId,
      jobs: taken.jobs.length,
      delayedJobs: taken.delayed,
    });
  }

  /**
   * Logs a failed takeover with the dead process's id (again whenever the error changes, and
   * every `repeatFailureLogAfter` while it lasts) and records it in the store, where the admin
   * UI's processes page shows it. The next check tries again.
   */
  async #takeoverFailed(deadId: string, error: unknown): Promise<void> {
    const { store, processId, logger } = this.#o;
    const message = error instanceof Error ? error.message : String(error);
    const previous = this.#failures.get(deadId);
    const now = Date.now();
    if (previous?.message === message && now - previous.loggedAt < this.#o.repeatFailureLogAfter) return;
    this.#failures.set(deadId, { message, loggedAt: now });
    logger.error(
      { err: error, from: deadId },
      `Could not take over the jobs of dead process ${deadId}: ${message}. ` +
        `Its jobs stay in Redis and are not run until this is fixed; other dead processes are taken over as usual. ` +
        `Will try again every check. Look at this process's keys in Redis (the admin UI's processes page shows the error).`,
    );
    try {
      await store.recordTakeoverError(deadId, { message, at: now, by: processId });
    } catch {
      // Redis refusing this too is logged above already; the log line is the record then.
    }
  }
}
