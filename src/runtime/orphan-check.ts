/**
 * Finds jobs that this process holds in Redis but does not run: the reply of a script that
 * moved jobs here (a takeover, due delayed jobs, a retry from the failed list) can be lost when
 * Redis goes away at that moment, although the move itself happened. Those jobs would wait until
 * this process dies. The check runs after every reconnection and every `interval`, and runs
 * what it finds. Jobs younger than `minAge` (by their id's time) are left alone: their own
 * dispatch may simply not have happened yet.
 */

import { jobIdTime } from '../job/job-id.js';
import type { Logger } from '../logger.js';
import type { JobStore, StoredJob } from '../storage/job-store.js';
import type { LoopWatch } from '../timers.js';

export interface OrphanCheckOptions {
  store: JobStore;
  processId: string;
  interval: number;
  minAge: number;
  now: () => number;
  logger: Logger;
  loopWatch?: LoopWatch;
  isKnown: (id: string) => boolean;
  onOrphans: (jobs: StoredJob[]) => void;
}

export class OrphanCheck {
  readonly #o: OrphanCheckOptions;
  #timer: NodeJS.Timeout | undefined;
  #checking = false;
  #stopped = true;

  constructor(options: OrphanCheckOptions) {
    this.#o = options;
    options.store.onReconnected(() => {
      void this.check();
      // And once more when the jobs moved just before the outage are old enough to count.
      setTimeout(() => void this.check(), options.minAge).unref();
    });
  }

  start(): void {
    this.#stopped = false;
    this.#timer = setInterval(() => void this.check(), this.#o.interval);
    this.#timer.unref();
  }

  stop(): void {
    this.#stopped = true;
    clearInterval(this.#timer);
  }

  async check(): Promise<void> {
    if (this.#stopped || this.#checking) return;
    this.#checking = true;
    const { store, processId, now, minAge, isKnown, logger } = this.#o;
    const startedAt = Date.now();
    try {
      const ids = await store.listJobIds(processId);
      const cutoff = now() - minAge;
      const unknown = ids.filter((id) => !isKnown(id) && jobIdTime(id) < cutoff);
      if (!unknown.length) return;
      // Fetched again: any that were finished or moved in the meantime are left out.
      const orphans = (await store.getJobs(processId, unknown)).filter((job) => !isKnown(job.id));
      if (!orphans.length || this.#stopped) return;
      logger.warn(
        { count: orphans.length },
        `Found ${orphans.length} job(s) held by this process in Redis but not running here ` +
          `(a reply lost while Redis was away); running them now.`,
      );
      this.#o.onOrphans(orphans);
    } catch (error) {
      if (this.#o.loopWatch?.explain(startedAt, 'a check for orphaned jobs')) return;
      logger.debug({ err: error }, 'The check for orphaned jobs failed; it runs again later.');
    } finally {
      this.#checking = false;
    }
  }
}
