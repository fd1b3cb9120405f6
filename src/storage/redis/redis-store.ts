/**
 * The production JobStore: jobs in Redis, every multi-key change one Lua script (see ./lua).
 *
 * 1. Connects with ioredis, refuses to start with a clear paragraph when Redis is unreachable,
 *    and warns when Redis may evict keys (connection.ts).
 * 2. Coalesces the writes of one event-loop turn: one HSET for all new jobs, one HDEL for all
 *    finished jobs.
 * 3. Keeps finished jobs it could not remove (Redis away) and removes them once Redis is back
 *    (finish-queue.ts).
 * 4. Keeps the process's heartbeat from a worker thread (keepalive.ts), and carries messages
 *    between processes over pub/sub on a second connection (messages.ts).
 * 5. Answers the admin's reads (admin-reads.ts). Replies are checked in replies.ts, script
 *    statuses mapped in script-results.ts, Redis's errors in redis-errors.ts.
 */
import { DamagedKeyError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { RedisWhereOptions, ResolvedDurability } from '../../redis-location.js';
import type { RedisTlsOptions } from '../../tls-options.js';
import type { AdminStore, JobPlace, PlacedId, StoreOverview } from '../admin-store.js';
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
} from '../job-store.js';
import { type Keys, keysFor } from '../keys.js';
import { AdminReads, SCRIPT_BATCH } from './admin-reads.js';
import { FinishQueue } from './finish-queue.js';
import { endProcess, keepAlive, placeholderJson, startKeepaliveThread } from './keepalive.js';
import { channelOf } from './messages.js';
import { asRequest } from './redis-errors.js';
import { handOverOf, jobsFound, pairs, read, scoreOf, timeOfScore } from './replies.js';
import { statusOf } from './script-results.js';
import type { ScriptedRedis } from './scripts.js';
import { StoreConnections } from './store-connections.js';
import { WriteCoalescer } from './write-coalescer.js';

/**
 * Where Redis is: `redisUrl` (a URL, or an async function that returns one, awaited by open; the
 * default URL when none is given), or `redisCluster`, or `redisSentinel` (store-connections.ts).
 */
export interface RedisStoreOptions extends RedisWhereOptions {
  /** Wait for this many replicas after each write of new jobs (durable-writes.ts). Default: none. */
  durability?: ResolvedDurability;
  /** ioredis's `tls` for every connection (the keepalive thread's too); refused with a redis:// URL. */
  tls?: RedisTlsOptions;
  keyPrefix: string;
  logger: Logger;
  /** How long open() waits for Redis, and how long a command may take, in ms. */
  commandTimeout: number;
}

export class RedisStore implements JobStore, AdminStore {
  readonly #options: RedisStoreOptions;
  readonly #keys: Keys;
  readonly #connections: StoreConnections;
  #closed = false;
  readonly #adds = new Map<string, WriteCoalescer<StoredJob>>();
  readonly #delayedAdds = new Map<string, WriteCoalescer<DelayedStoredJob>>();
  readonly #finishes: FinishQueue;
  readonly #admin: AdminReads;
  readonly #reconnectListeners: Array<() => void> = [];

  constructor(options: RedisStoreOptions) {
    this.#options = options;
    this.#keys = keysFor(options.keyPrefix);
    this.#connections = new StoreConnections({
      ...options,
      onReconnected: () => {
        this.#finishes.flushNow();
        for (const listener of this.#reconnectListeners) listener();
      },
    });
    const client = () => this.#client;
    this.#finishes = new FinishQueue({
      client,
      isReady: () => this.#connections.isReady,
      keys: this.#keys,
    });
    this.#admin = new AdminReads({ client, keys: this.#keys, logger: options.logger });
  }

  get #client(): ScriptedRedis {
    return this.#connections.main;
  }

  /** Connects (store-connections.ts); resolves with warnings about the server's settings. */
  open(): Promise<string[]> {
    return this.#connections.open();
  }

  async close(): Promise<void> {
    await this.#finishes.close();
    this.#closed = true;
    await this.#connections.close();
  }

  addJobs(processId: string, jobs: readonly StoredJob[]): Promise<void> {
    let coalescer = this.#adds.get(processId);
    if (!coalescer) {
      const key = this.#keys.jobs(processId);
      coalescer = new WriteCoalescer<StoredJob>((batch, since) => {
        const args: Array<string | Buffer> = [processId, placeholderJson(processId)];
        for (const job of batch) args.push(job.id, job.record);
        const ids = batch.map((job) => job.id);
        const undo = { command: 'hdel', args: [key, ...ids] };
        const write = this.#connections.writeNew(
          'enqueue a job',
          'addJobs',
          [key, this.#keys.processes, ...args],
          {
            undo,
            since,
          },
        );
        return write.catch((error: unknown) => {
          // The write may still land after the command timed out: remove it then, so that a
          // rejected enqueue leaves nothing behind (finishJobs retries until Redis answers). A
          // damaged key was refused before anything was written: nothing to remove.
          if (!(error instanceof DamagedKeyError)) {
            void this.finishJobs(
              processId,
              batch.map((job) => job.id),
            );
          }
          throw error;
        });
      }, this.#connections.coalescing);
      this.#adds.set(processId, coalescer);
    }
    return coalescer.add(jobs);
  }

  finishJobs(processId: string, ids: readonly string[]): Promise<void> {
    return this.#finishes.add(processId, ids);
  }

  async listJobs(processId: string): Promise<StoredJob[]> {
    const all = await read(this.#client.hgetallBuffer(this.#keys.jobs(processId)));
    return Object.entries(all).map(([id, record]) => ({ id, record }));
  }

  listJobIds(processId: string): Promise<string[]> {
    return read(this.#client.hkeys(this.#keys.jobs(processId)));
  }

  async getJobs(processId: string, ids: readonly string[]): Promise<StoredJob[]> {
    if (!ids.length) return [];
    return jobsFound(ids, await read(this.#client.hmgetBuffer(this.#keys.jobs(processId), ...ids)));
  }

  onReconnected(listener: () => void): void {
    this.#reconnectListeners.push(listener);
  }

  addDelayedJobs(processId: string, jobs: readonly DelayedStoredJob[]): Promise<void> {
    let coalescer = this.#delayedAdds.get(processId);
    if (!coalescer) {
      const delayedKey = this.#keys.delayed(processId);
      const delayedJobsKey = this.#keys.delayedJobs(processId);
      coalescer = new WriteCoalescer<DelayedStoredJob>((batch, since) => {
        const args: Array<string | Buffer> = [processId, placeholderJson(processId)];
        for (const job of batch) args.push(job.id, job.record, scoreOf(job.dueAt));
        const keys = [delayedKey, delayedJobsKey, this.#keys.processes, this.#keys.counts];
        const undo = { command: 'removeDelayedJobs', args: [delayedKey, delayedJobsKey, this.#keys.counts] };
        undo.args.push(...batch.map((job) => job.id));
        return this.#connections
          .writeNew('enqueue a delayed job', 'addDelayedJobs', [...keys, ...args], { undo, since })
          .catch((error: unknown) => {
            // As for addJobs: a refusal before the first write leaves nothing to undo.
            if (!(error instanceof DamagedKeyError)) {
              void this.#undoDelayed(
                delayedKey,
                delayedJobsKey,
                batch.map((job) => job.id),
              );
            }
            throw error;
          });
      }, this.#connections.coalescing);
      this.#delayedAdds.set(processId, coalescer);
    }
    return coalescer.add(jobs);
  }

  /** Removes delayed jobs whose write failed (it may land late); tries until Redis answers, for a while. */
  async #undoDelayed(delayedKey: string, delayedJobsKey: string, ids: string[]): Promise<void> {
    for (let attempt = 0; attempt < 60 && !this.#closed; attempt++) {
      try {
        // One script: the due time, the record and the count go together.
        await this.#client.removeDelayedJobs(delayedKey, delayedJobsKey, this.#keys.counts, ...ids);
        return;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  }

  async scheduleRetry(processId: string, job: DelayedStoredJob): Promise<boolean> {
    const k = this.#keys;
    const moved = await this.#client.scheduleRetry(
      k.jobs(processId),
      k.delayed(processId),
      k.delayedJobs(processId),
      k.counts,
      job.id,
      job.record,
      scoreOf(job.dueAt),
    );
    return statusOf('scheduleRetry', moved) === 'moved';
  }

  takeDueJobs(processId: string, now: number, limit: number): Promise<StoredJob[]> {
    return this.#takeDelayed(processId, String(now), limit);
  }

  async takeAllDelayedJobs(processId: string): Promise<StoredJob[]> {
    const taken: StoredJob[] = [];
    for (;;) {
      const batch = await this.#takeDelayed(processId, '+inf', 1000);
      taken.push(...batch);
      if (batch.length < 1000) return taken;
    }
  }

  async #takeDelayed(processId: string, upTo: string, limit: number): Promise<StoredJob[]> {
    const k = this.#keys;
    const reply = (await this.#client.takeDueJobsBuffer(
      k.delayed(processId),
      k.delayedJobs(processId),
      k.jobs(processId),
      k.counts,
      upTo,
      limit,
    )) as Buffer[];
    return pairs(reply);
  }

  async nextDueTime(processId: string): Promise<number | null> {
    const reply = await read(this.#client.zrange(this.#keys.delayed(processId), 0, 0, 'WITHSCORES'));
    if (reply.length < 2) return null;
    return timeOfScore(reply[1]!);
  }

  async failJob(processId: string, job: StoredJob, failedAt: number): Promise<boolean> {
    const k = this.#keys;
    const moved = await this.#client.failJob(
      k.jobs(processId),
      k.failed,
      k.failedIndex,
      k.counts,
      job.id,
      job.record,
      failedAt,
    );
    return statusOf('failJob', moved) === 'moved';
  }

  getFailedJob(id: string): Promise<Buffer | null> {
    return read(this.#client.hgetBuffer(this.#keys.failed, id));
  }

  async listFailedJobs(): Promise<StoredJob[]> {
    const ids = await read(this.#client.zrange(this.#keys.failedIndex, 0, -1));
    if (!ids.length) return [];
    return jobsFound(ids, await read(this.#client.hmgetBuffer(this.#keys.failed, ...ids)));
  }

  retryFailedJobs(processId: string, jobs: readonly StoredJob[]): Promise<string[]> {
    return asRequest('a retry of failed jobs', () => this.#retryFailedJobs(processId, jobs));
  }

  async #retryFailedJobs(processId: string, jobs: readonly StoredJob[]): Promise<string[]> {
    const k = this.#keys;
    const moved: string[] = [];
    for (let start = 0; start < jobs.length; start += SCRIPT_BATCH) {
      const args: Array<string | Buffer> = [processId, placeholderJson(processId)];
      for (const job of jobs.slice(start, start + SCRIPT_BATCH)) args.push(job.id, job.record);
      const reply = (await this.#client.retryFailedJobs(
        k.failed,
        k.failedIndex,
        k.delayed(processId),
        k.delayedJobs(processId),
        k.processes,
        k.counts,
        ...args,
      )) as string[];
      moved.push(...reply);
    }
    return moved;
  }

  async handOverJobs(from: string, to: string, ids: readonly string[]): Promise<HandOverResult> {
    const k = this.#keys;
    const keys = [k.jobs(from), k.heartbeat(to), k.delayed(to), k.delayedJobs(to), k.counts];
    return handOverOf((await this.#client.handOverJobs(...keys, ...ids)) as [number, ...string[]]);
  }

  deleteFailedJobs(ids: readonly string[]): Promise<string[]> {
    return asRequest('a deletion of failed jobs', () => this.#deleteFailedJobs(ids));
  }

  async #deleteFailedJobs(ids: readonly string[]): Promise<string[]> {
    const k = this.#keys;
    const removed: string[] = [];
    for (let start = 0; start < ids.length; start += SCRIPT_BATCH) {
      const batch = ids.slice(start, start + SCRIPT_BATCH);
      removed.push(
        ...((await this.#client.deleteFailedJobs(k.failed, k.failedIndex, k.counts, ...batch)) as string[]),
      );
    }
    return removed;
  }

  keepAlive(info: ProcessInfo, deadAfter: number): Promise<boolean> {
    return keepAlive(this.#client, this.#keys, this.#connections.address, info, deadAfter);
  }

  async startKeepalive(
    info: ProcessInfo,
    timing: KeepaliveTiming,
    callbacks: KeepaliveCallbacks,
  ): Promise<Keepalive> {
    return startKeepaliveThread({
      location: this.#connections.location,
      tls: this.#options.tls,
      keys: this.#keys,
      info,
      timing,
      callbacks,
      beatHere: () => this.keepAlive(info, timing.deadAfter),
    });
  }

  endProcess(processId: string): Promise<boolean> {
    return endProcess(this.#client, this.#keys, processId);
  }

  listProcesses(): Promise<ProcessStatus[]> {
    return asRequest('a read of the processes', () => this.#admin.listProcesses());
  }

  async recordTakeoverError(deadId: string, error: TakeoverError): Promise<void> {
    await this.#client.hset(this.#keys.takeoverErrors, deadId, JSON.stringify(error));
  }

  async takeOverProcess(deadId: string, takerId: string): Promise<TakeoverOutcome> {
    const k = this.#keys;
    const reply = (await this.#client.takeOverProcessBuffer(
      k.processes,
      k.heartbeat(deadId),
      k.heartbeat(takerId),
      k.jobs(deadId),
      k.delayed(deadId),
      k.delayedJobs(deadId),
      k.jobs(takerId),
      k.delayed(takerId),
      k.delayedJobs(takerId),
      k.reports,
      deadId,
      takerId,
    )) as [number, number, ...Buffer[]];
    const [status, delayed, ...jobs] = reply;
    // Not dead, already taken over, or the taker itself not alive: someone else's move, not a fault.
    const outcome = statusOf('takeOverProcess', status);
    if (outcome !== 'taken-over') return { status: outcome };
    // A failure recorded by an earlier attempt is history now; losing this write only leaves a
    // note on a process that is no longer listed.
    this.#client.hdel(k.takeoverErrors, deadId).catch(() => {});
    return { status: 'taken-over', jobs: pairs(jobs), delayed };
  }

  async publish(processId: string | null, message: StoreMessage): Promise<void> {
    await this.#client.publish(channelOf(this.#keys, processId), JSON.stringify(message));
  }

  async subscribe(processId: string, onMessage: (message: StoreMessage) => void): Promise<void> {
    await this.#connections.subscribe(this.#keys, processId, onMessage);
  }

  async recordStats(
    processId: string,
    report: ProcessReport,
    finished: number,
    failed: number,
    now: number,
  ): Promise<void> {
    const second = Math.floor(now / 1000);
    await this.#client.recordStats(
      this.#keys.reports,
      this.#keys.throughput(Math.floor(second / 60)),
      processId,
      JSON.stringify(report),
      second % 60,
      finished,
      failed,
    );
  }

  async removeReport(processId: string): Promise<void> {
    await this.#client.hdel(this.#keys.reports, processId);
  }

  // ---- The admin's reads (admin-reads.ts) ----

  readOverview(): Promise<StoreOverview> {
    return this.#admin.readOverview();
  }

  readThroughput(fromSecond: number, seconds: number): Promise<{ finished: number[]; failed: number[] }> {
    return this.#admin.readThroughput(fromSecond, seconds);
  }

  listPlaceIds(place: JobPlace): Promise<PlacedId[]> {
    return this.#admin.listPlaceIds(place);
  }

  pagePlaceIds(
    place: JobPlace & { kind: 'delayed' | 'failed' },
    offset: number,
    limit: number,
    newestFirst: boolean,
  ): Promise<{ ids: PlacedId[]; total: number }> {
    return this.#admin.pagePlaceIds(place, offset, limit, newestFirst);
  }

  getPlaceRecords(place: JobPlace, ids: readonly string[]): Promise<StoredJob[]> {
    return this.#admin.getPlaceRecords(place, ids);
  }

  dueTime(processId: string, id: string): Promise<number | null> {
    return this.#admin.dueTime(processId, id);
  }

  makeDelayedJobsDue(processId: string, ids: readonly string[]): Promise<string[]> {
    return this.#admin.makeDelayedJobsDue(processId, ids);
  }
}
