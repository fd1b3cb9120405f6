/**
 * A JobStore in process memory, for apps' unit tests and the demo without Redis. It keeps the
 * same contract as RedisStore (a job is in one place at a time; late moves are refused), but
 * nothing survives the process, and only toniq instances in one process can share it.
 */
import { EventEmitter } from 'node:events';
import { workerOfRecord } from '../job/job-record.js';
import type { AdminStore, JobPlace, PlacedId, StoreOverview } from './admin-store.js';
import type {
  DelayedStoredJob,
  HandOverResult,
  JobStore,
  Keepalive,
  KeepaliveCallbacks,
  KeepaliveTiming,
  ProcessInfo,
  ProcessReport,
  ProcessStatus,
  StoredJob,
  StoreMessage,
  TakeoverError,
  TakeoverOutcome,
} from './job-store.js';

export class MemoryStore implements JobStore, AdminStore {
  readonly #jobs = new Map<string, Map<string, Buffer>>();
  readonly #delayed = new Map<string, Map<string, { record: Buffer; dueAt: number }>>();
  readonly #failed = new Map<string, { record: Buffer; failedAt: number }>();
  readonly #processes = new Map<
    string,
    { info: ProcessInfo; deadAfter: number; lastBeat: number; placeholder?: boolean }
  >();
  readonly #messages = new EventEmitter();
  readonly #reports = new Map<string, ProcessReport>();
  readonly #takeoverErrors = new Map<string, TakeoverError>();
  /** Epoch second → jobs finished and failed in it. */
  readonly #throughput = new Map<number, { finished: number; failed: number }>();

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

  /** Jobs written for a process that is not registered register it, so a takeover finds them (as add-jobs.lua). */
  #registerPlaceholder(processId: string): void {
    if (this.#processes.has(processId)) return;
    const info = { id: processId, host: '?', pid: 0, startedAt: 0, version: '?', workers: [] };
    this.#processes.set(processId, {
      info,
      deadAfter: 0,
      lastBeat: Number.NEGATIVE_INFINITY,
      placeholder: true,
    });
  }

  async addJobs(processId: string, jobs: readonly StoredJob[]): Promise<void> {
    this.#registerPlaceholder(processId);
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

  async listJobIds(processId: string): Promise<string[]> {
    return [...this.#jobsOf(processId).keys()];
  }

  async getJobs(processId: string, ids: readonly string[]): Promise<StoredJob[]> {
    const held = this.#jobsOf(processId);
    return ids.flatMap((id) => {
      const record = held.get(id);
      return record ? [{ id, record }] : [];
    });
  }

  onReconnected(): void {
    // Memory is never away.
  }

  async addDelayedJobs(processId: string, jobs: readonly DelayedStoredJob[]): Promise<void> {
    this.#registerPlaceholder(processId);
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

  async retryFailedJobs(processId: string, jobs: readonly StoredJob[]): Promise<string[]> {
    const moved = jobs.filter((job) => this.#failed.delete(job.id));
    if (!moved.length) return [];
    this.#registerPlaceholder(processId);
    const delayed = this.#delayedOf(processId);
    for (const job of moved) delayed.set(job.id, { record: job.record, dueAt: 0 });
    return moved.map((job) => job.id);
  }

  async handOverJobs(
    fromProcessId: string,
    toProcessId: string,
    ids: readonly string[],
  ): Promise<HandOverResult> {
    if (!this.#isAlive(toProcessId)) return { targetAlive: false, moved: [], gone: [] };
    const held = this.#jobsOf(fromProcessId);
    const delayed = this.#delayedOf(toProcessId);
    const moved: string[] = [];
    const gone: string[] = [];
    for (const id of ids) {
      const record = held.get(id);
      if (!record) {
        gone.push(id);
        continue;
      }
      held.delete(id);
      delayed.set(id, { record, dueAt: 0 });
      moved.push(id);
    }
    return { targetAlive: true, moved, gone };
  }

  async deleteFailedJobs(ids: readonly string[]): Promise<string[]> {
    return ids.filter((id) => this.#failed.delete(id));
  }

  #isAlive(processId: string): boolean {
    const entry = this.#processes.get(processId);
    return !!entry && Number.isFinite(entry.lastBeat) && Date.now() - entry.lastBeat < entry.deadAfter;
  }

  async keepAlive(info: ProcessInfo, deadAfter: number): Promise<boolean> {
    const entry = this.#processes.get(info.id);
    this.#processes.set(info.id, { info, deadAfter, lastBeat: Date.now() });
    return !entry || entry.placeholder === true;
  }

  async startKeepalive(
    info: ProcessInfo,
    timing: KeepaliveTiming,
    callbacks: KeepaliveCallbacks,
  ): Promise<Keepalive> {
    // In memory there is no other process to keep alive for: a timer on the main thread will do.
    const timer = setInterval(() => {
      void this.keepAlive(info, timing.deadAfter).then((wasTakenOver) => {
        if (wasTakenOver) callbacks.onTakenOver();
      });
    }, timing.interval);
    timer.unref();
    return { stop: async () => clearInterval(timer) };
  }

  async endProcess(processId: string): Promise<boolean> {
    const entry = this.#processes.get(processId);
    if (entry) entry.lastBeat = Number.NEGATIVE_INFINITY;
    if (this.#jobsOf(processId).size || this.#delayedOf(processId).size) return true;
    this.#processes.delete(processId);
    return false;
  }

  async listProcesses(): Promise<ProcessStatus[]> {
    return [...this.#processes.values()].map(({ info, lastBeat }) => {
      const alive = this.#isAlive(info.id);
      const takeoverError = alive ? undefined : this.#takeoverErrors.get(info.id);
      return {
        ...info,
        heartbeatAge: alive ? Date.now() - lastBeat : null,
        ...(takeoverError && { takeoverError }),
      };
    });
  }

  async recordTakeoverError(deadId: string, error: TakeoverError): Promise<void> {
    this.#takeoverErrors.set(deadId, { ...error });
  }

  async takeOverProcess(deadId: string, takerId: string): Promise<TakeoverOutcome> {
    // In the order take-over-process.lua checks.
    if (deadId === takerId) return { status: 'same-process' };
    if (this.#isAlive(deadId)) return { status: 'alive' };
    if (!this.#isAlive(takerId)) return { status: 'taker-not-alive' };
    if (!this.#processes.has(deadId)) return { status: 'not-registered' };
    const jobs = [...this.#jobsOf(deadId)].map(([id, record]) => ({ id, record }));
    const held = this.#jobsOf(takerId);
    for (const job of jobs) held.set(job.id, job.record);
    const delayed = this.#delayedOf(takerId);
    const dead = this.#delayedOf(deadId);
    for (const [id, job] of dead) delayed.set(id, job);
    this.#jobs.delete(deadId);
    this.#delayed.delete(deadId);
    this.#processes.delete(deadId);
    this.#reports.delete(deadId);
    this.#takeoverErrors.delete(deadId);
    return { status: 'taken-over', jobs, delayed: dead.size };
  }

  async publish(processId: string | null, message: StoreMessage): Promise<void> {
    this.#messages.emit(processId ?? '*', message);
  }

  async subscribe(processId: string, onMessage: (message: StoreMessage) => void): Promise<void> {
    this.#messages.on(processId, onMessage);
    this.#messages.on('*', onMessage);
  }

  async recordStats(
    processId: string,
    report: ProcessReport,
    finished: number,
    failed: number,
    now: number,
  ): Promise<void> {
    // A null prototype, as RedisStore reads it back: a worker named "__proto__" is a key like any other.
    const workers = Object.assign(Object.create(null), structuredClone(report.workers));
    this.#reports.set(processId, { ...structuredClone(report), workers });
    if (!finished && !failed) return;
    const second = Math.floor(now / 1000);
    const bucket = this.#throughput.get(second) ?? { finished: 0, failed: 0 };
    bucket.finished += finished;
    bucket.failed += failed;
    this.#throughput.set(second, bucket);
    // Keep two hours, as the Redis keys expire.
    for (const key of this.#throughput.keys()) if (key < second - 7200) this.#throughput.delete(key);
  }

  async removeReport(processId: string): Promise<void> {
    this.#reports.delete(processId);
  }

  async readOverview(): Promise<StoreOverview> {
    const processes = (await this.listProcesses()).map((process) => ({
      ...process,
      held: this.#jobsOf(process.id).size,
      delayed: this.#delayedOf(process.id).size,
      report: this.#reports.get(process.id) ?? null,
    }));
    const delayedByWorker = new Map<string, number>();
    for (const delayed of this.#delayed.values())
      for (const { record } of delayed.values()) count(delayedByWorker, record);
    const failedByWorker = new Map<string, number>();
    for (const { record } of this.#failed.values()) count(failedByWorker, record);
    return { processes, delayedByWorker, failedByWorker, failed: this.#failed.size };
  }

  async readThroughput(
    fromSecond: number,
    seconds: number,
  ): Promise<{ finished: number[]; failed: number[] }> {
    const finished = new Array<number>(seconds).fill(0);
    const failed = new Array<number>(seconds).fill(0);
    for (let i = 0; i < seconds; i++) {
      const bucket = this.#throughput.get(fromSecond + i);
      if (bucket) {
        finished[i] = bucket.finished;
        failed[i] = bucket.failed;
      }
    }
    return { finished, failed };
  }

  async listPlaceIds(place: JobPlace): Promise<PlacedId[]> {
    if (place.kind === 'held') {
      return [...this.#jobsOf(place.processId).keys()].sort().map((id) => ({ id, score: 0 }));
    }
    const entries =
      place.kind === 'delayed'
        ? [...this.#delayedOf(place.processId)].map(([id, { dueAt }]) => ({ id, score: dueAt }))
        : [...this.#failed].map(([id, { failedAt }]) => ({ id, score: failedAt }));
    return entries.sort((a, b) => a.score - b.score || (a.id < b.id ? -1 : 1));
  }

  async pagePlaceIds(
    place: JobPlace & { kind: 'delayed' | 'failed' },
    offset: number,
    limit: number,
    newestFirst: boolean,
  ): Promise<{ ids: PlacedId[]; total: number }> {
    const all = await this.listPlaceIds(place);
    if (newestFirst) all.reverse();
    return { ids: all.slice(offset, offset + limit), total: all.length };
  }

  async getPlaceRecords(place: JobPlace, ids: readonly string[]): Promise<StoredJob[]> {
    const lookup = (id: string): Buffer | undefined =>
      place.kind === 'held'
        ? this.#jobsOf(place.processId).get(id)
        : place.kind === 'delayed'
          ? this.#delayedOf(place.processId).get(id)?.record
          : this.#failed.get(id)?.record;
    return ids.flatMap((id) => {
      const record = lookup(id);
      return record ? [{ id, record }] : [];
    });
  }

  async dueTime(processId: string, id: string): Promise<number | null> {
    return this.#delayedOf(processId).get(id)?.dueAt ?? null;
  }

  async makeDelayedJobsDue(processId: string, ids: readonly string[]): Promise<string[]> {
    const delayed = this.#delayedOf(processId);
    return ids.filter((id) => {
      const job = delayed.get(id);
      if (job) job.dueAt = 0;
      return !!job;
    });
  }
}

/** Counts a record under its worker's name, as lua/lib/job-counts.lua does. */
function count(counts: Map<string, number>, record: Buffer): void {
  const worker = workerOfRecord(record);
  counts.set(worker, (counts.get(worker) ?? 0) + 1);
}
