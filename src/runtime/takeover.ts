/**
 * Takes over the jobs of dead processes.
 * 1. Every `checkInterval`, and at once when a process announces it stopped, lists the
 *    registered processes and finds those whose heartbeat lapsed. A process must be seen dead
 *    for `confirmAfter` first (unless it announced its stop): after a Redis outage every heartbeat
 *    has lapsed, and live processes need a moment to beat again.
 * 2. Moves each one's jobs here with one atomic store call, which checks again that the process
 *    is really dead and not yet taken over, so racing processes never split or duplicate jobs.
 * 3. Runs the jobs it got, wakes the delayed-jobs timer for the delayed ones, emits `takenOver`.
 * While this process's own heartbeat is failing (Redis away), it takes over nothing: after an
 * outage every heartbeat has lapsed, and the others need a moment to beat again.
 */
import type { ToniqEventEmitter } from '../events.js';
import { emitSafely } from '../events.js';
import type { Logger } from '../logger.js';
import type { JobStore, StoredJob } from '../storage/job-store.js';

export interface TakeoverOptions {
  store: JobStore;
  processId: string;
  checkInterval: number;
  /** How long to wait after this process's own heartbeat recovered before taking over again. */
  graceAfterOutage: number;
  /** How long a process must be seen dead before it is taken over. */
  confirmAfter: number;
  logger: Logger;
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
  #failing = false;
  /** When each dead-looking process was first seen dead. */
  readonly #deadSince = new Map<string, number>();
  /** Processes that announced they stopped: no need to confirm they are dead. */
  readonly #announced = new Set<string>();

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
    this.#announced.add(processId);
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
    const { store, processId, logger, events } = this.#o;
    try {
      const processes = await store.listProcesses();
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
        const taken = await store.takeOverProcess(dead.id, processId);
        if (!taken) continue;
        logger.info(
          { from: dead.id, jobs: taken.jobs.length, delayedJobs: taken.delayed },
          `Took over ${taken.jobs.length} job(s) and ${taken.delayed} delayed job(s) of process ${dead.id}, whose heartbeat stopped.`,
        );
        if (taken.jobs.length) this.#o.onJobs(taken.jobs);
        if (taken.delayed) this.#o.onDelayedJobs();
        emitSafely(events, logger, 'takenOver', {
          processId: dead.id,
          jobs: taken.jobs.length,
          delayedJobs: taken.delayed,
        });
      }
      for (const id of this.#deadSince.keys()) if (!deadIds.has(id)) this.#deadSince.delete(id);
      for (const id of this.#announced) if (!deadIds.has(id)) this.#announced.delete(id);
      if (this.#failing) logger.info({}, 'Checking for dead processes works again.');
      this.#failing = false;
    } catch (error) {
      if (!this.#failing)
        logger.error({ err: error }, 'Could not check for dead processes to take over; will try again.');
      this.#failing = true;
    }
  }
}
