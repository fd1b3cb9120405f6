/**
 * A JobStore in process memory, for apps' unit tests and the demo without Redis. It keeps the
 * same contract as RedisStore (a job is in one place at a time; late moves are refused), but
 * nothing survives the process, and processes cannot share it.
 */
import type { DelayedStoredJob, JobStore, StoredJob } from './job-store.js';

export class MemoryStore implements JobStore {
  readonly #jobs = new Map<string, Map<string, Buffer>>();
  readonly #delayed = new Map<string, Map<string, { record: Buffer; dueAt: number }>>();
  readonly #failed = new Map<string, { record: Buffer; failedAt: number }>();

  async open(): Promise<string[]> {
    return [];
  }

  async close(): Promise<void> {}

  #jobsOf(processId: string): Map<string, Buffer> {
    let jobs = this.#jobs.get(processId);
    if (!jobs) {
      jobs = new Map();
      this.#jobs.set(processId, jobs);
    }
    return jobs;
  }

  #delayedOf(processId: string): Map<string, { record: Buffer; dueAt: number }> {
    let delayed = this.#delayed.get(processId);
    if (!delayed) {
      delayed = new Map();
      this.#delayed.set(processId, delayed);
    }
    return delayed;
  }

  async addJobs(processId: string, jobs: readonly StoredJob[]): Promise<void> {
    const held = this.#jobsOf(processId);
    for (const job of jobs) held.set(job.id, job.record);
  }

  async finishJobs(processId: string, ids: readonly string[]): Promise<void> {
    const held = this.#jobsOf(processId);
    for (const id of ids) held.delete(id);
  }

  async listJobs(processId: string): Promise<StoredJob[]> {
    return [...this.#jobsOf(processId)].map(([id, record]) => ({ id, record }));
  }

  async addDelayedJobs(processId: string, jobs: readonly DelayedStoredJob[]): Promise<void> {
    const delayed = this.#delayedOf(processId);
    for (const job of jobs) delayed.set(job.id, { record: job.record, dueAt: job.dueAt });
  }

  async scheduleRetry(processId: string, job: DelayedStoredJob): Promise<boolean> {
    if (!this.#jobsOf(processId).delete(job.id)) return false;
    this.#delayedOf(processId).set(job.id, { record: job.record, dueAt: job.dueAt });
    return true;
  }

  async takeDueJobs(processId: string, now: number, limit: number): Promise<StoredJob[]> {
    const delayed = this.#delayedOf(processId);
    const due = [...delayed]
      .filter(([, job]) => job.dueAt <= now)
      .sort((a, b) => a[1].dueAt - b[1].dueAt)
      .slice(0, limit);
    const held = this.#jobsOf(processId);
    return due.map(([id, job]) => {
      delayed.delete(id);
      held.set(id, job.record);
      return { id, record: job.record };
    });
  }

  takeAllDelayedJobs(processId: string): Promise<StoredJob[]> {
    return this.takeDueJobs(processId, Infinity, Infinity);
  }

  async nextDueTime(processId: string): Promise<number | null> {
    let next: number | null = null;
    for (const { dueAt } of this.#delayedOf(processId).values())
      if (next === null || dueAt < next) next = dueAt;
    return next;
  }

  async failJob(processId: string, job: StoredJob, failedAt: number): Promise<boolean> {
    if (!this.#jobsOf(processId).delete(job.id)) return false;
    this.#failed.set(job.id, { record: job.record, failedAt });
    return true;
  }

  async getFailedJob(id: string): Promise<Buffer | null> {
    return this.#failed.get(id)?.record ?? null;
  }

  async listFailedJobs(): Promise<StoredJob[]> {
    return [...this.#failed]
      .sort((a, b) => a[1].failedAt - b[1].failedAt)
      .map(([id, { record }]) => ({ id, record }));
  }

  async retryFailedJob(processId: string, job: StoredJob): Promise<boolean> {
    if (!this.#failed.delete(job.id)) return false;
    this.#jobsOf(processId).set(job.id, job.record);
    return true;
  }

  async deleteFailedJob(id: string): Promise<boolean> {
    return this.#failed.delete(id);
  }
}
