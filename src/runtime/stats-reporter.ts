/**
 * Reports this process to the admin UI once a second: what it runs and holds waiting per worker,
 * and how many jobs finished and failed since the last report (the overview's throughput chart).
 * One small script call a second; nothing is written per job. A report that cannot be written
 * (Redis away) is dropped: the counts go into the next one, and the UI shows the gap.
 */
import type { Logger } from '../logger.js';
import type { JobStore, ProcessReport } from '../storage/job-store.js';

export interface StatsReporterOptions {
  store: JobStore;
  processId: string;
  /** How often to report, in ms. */
  interval: number;
  now: () => number;
  logger: Logger;
  report: () => ProcessReport;
  takeCounts: () => { finished: number; failed: number };
}

export class StatsReporter {
  readonly #o: StatsReporterOptions;
  #timer: NodeJS.Timeout | undefined;
  #writing: Promise<void> | undefined;
  #carried = { finished: 0, failed: 0 };
  #lastReport = '';
  #lastWrittenAt = 0;

  constructor(options: StatsReporterOptions) {
    this.#o = options;
  }

  start(): void {
    this.#timer = setInterval(() => void this.flush(), this.#o.interval);
    this.#timer.unref();
  }

  /** Writes a report now (unless one is being written). */
  flush(): Promise<void> {
    this.#writing ??= this.#write().finally(() => {
      this.#writing = undefined;
    });
    return this.#writing;
  }

  async #write(): Promise<void> {
    const { store, processId, now } = this.#o;
    const taken = this.#o.takeCounts();
    const finished = this.#carried.finished + taken.finished;
    const failed = this.#carried.failed + taken.failed;
    const report = this.#o.report();
    const text = JSON.stringify(report);
    const at = now();
    // An idle process writes its unchanged report every 10 s only, so a stale one is refreshed.
    if (!finished && !failed && text === this.#lastReport && at - this.#lastWrittenAt < 10_000) return;
    try {
      await store.recordStats(processId, report, finished, failed, at);
      this.#carried = { finished: 0, failed: 0 };
      this.#lastReport = text;
      this.#lastWrittenAt = at;
    } catch {
      // Redis is away (the store logs outages): carry the counts into the next report.
      this.#carried = { finished, failed };
    }
  }

  /** Stops reporting and forgets this process's report (its jobs are counted no more). */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#writing;
    try {
      await this.#o.store.removeReport(this.#o.processId);
    } catch (error) {
      this.#o.logger.debug({ err: error }, 'Could not remove the stats report of this process.');
    }
  }
}
