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
import { endProcess, keepAlive, startKeepaliveThread } from './keepalive.js';
import * as keyspace from './keyspace-writes.js';
import { channelOf } from './messages.js';
import { asRequest } from './redis-errors.js';
import { jobsFound, pairs, read, timeOfScore } from './replies.js';
import { statusOf } from './script-results.js';
import type { ScriptedRedis } from './scripts.js';
import { StoreConnections } from './store-connections.js';
import { takeOverProcess } from './takeover-protocol.js';
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
  #takeoverLease = 30_000;
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

  /** Sends a write of jobs, with a WAIT for the replicas under `durability` (store-connections.ts). */
  #send(action: string, since = Date.now(), afterwards?: string): keyspace.SendWrite {
    return (script, args, undo) =>
      this.#connections.writeNew(action, script, args, { undo, since, afterwards });
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
      coalescer = new WriteCoalescer<StoredJob>(
        (batch, since) =>
          keyspace
            .writeJobs(this.#client, this.#keys, processId, batch, this.#send('enqueue a job', since))
            .catch((error: unknown) => {
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
            }),
        this.#connections.coalescing,
      );
      this.#adds.set(processId, coalescer);
    }
    return coalescer.add(jobs);
  }

  finishJobs(processId: string, ids: readonly string[]): Promise<void> {
    return this.#finishes.add(processId, ids);
  }

  async listJobs(processId: string): Promise<StoredJob[]> {
    const all = await read(this.#client.hgetallBuffer(this.#keys.process(processId).jobs));
    return Object.entries(all).map(([id, record]) => ({ id, record }));
  }

  listJobIds(processId: string): Promise<string[]> {
    return read(this.#client.hkeys(this.#keys.process(processId).jobs));
  }

  async getJobs(processId: string, ids: readonly string[]): Promise<StoredJob[]> {
    if (!ids.length) return [];
    return jobsFound(ids, await read(this.#client.hmgetBuffer(this.#keys.process(processId).jobs, ...ids)));
  }

  onReconnected(listener: () => void): void {
    this.#reconnectListeners.push(listener);
  }

  addDelayedJobs(processId: string, jobs: readonly DelayedStoredJob[]): Promise<void> {
    let coalescer = this.#delayedAdds.get(processId);
    if (!coalescer) {
      coalescer = new WriteCoalescer<DelayedStoredJob>(async (batch, since) => {
        try {
          await keyspace.writeDelayedJobs(
            this.#client,
            this.#keys,
            processId,
            keyspace.scored(batch),
            this.#send('enqueue a delayed job', since),
          );
        } catch (error) {
          // As for addJobs: a refusal before the first write leaves nothing to undo.
          if (!(error instanceof DamagedKeyError)) {
            void this.#undoDelayed(
              processId,
              batch.map((job) => job.id),
            );
          }
          throw error;
        }
      }, this.#connections.coalescing);
      this.#delayedAdds.set(processId, coalescer);
    }
    return coalescer.add(jobs);
  }

  /** Removes delayed jobs whose write failed (it may land late); tries until Redis answers, for a while. */
  async #undoDelayed(processId: string, ids: string[]): Promise<void> {
    const k = this.#keys.process(processId);
    for (let attempt = 0; attempt < 60 && !this.#closed; attempt++) {
      try {
        // One script: the due time, the record and the count go together.
        await this.#client.removeDelayedJobs(k.delayed, k.delayedJobs, k.delayedCounts, ...ids);
        return;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  }

  async scheduleRetry(processId: string, job: DelayedStoredJob): Promise<boolean> {
    const k = this.#keys.process(processId);
    const [{ score }] = keyspace.scored([job]) as [keyspace.ScoredJob];
    const moved = await this.#client.scheduleRetry(
      k.jobs,
      k.delayed,
      k.delayedJobs,
      k.delayedCounts,
      job.id,
      job.record,
      score,
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
    const k = this.#keys.process(processId);
    const reply = (await this.#client.takeDueJobsBuffer(
      k.delayed,
      k.delayedJobs,
      k.jobs,
      k.delayedCounts,
      upTo,
      limit,
    )) as Buffer[];
    return pairs(reply);
  }

  async nextDueTime(processId: string): Promise<number | null> {
    const reply = await read(this.#client.zrange(this.#keys.process(processId).delayed, 0, 0, 'WITHSCORES'));
    if (reply.length < 2) return null;
    return timeOfScore(reply[1]!);
  }

  failJob(processId: string, job: StoredJob, failedAt: number): Promise<boolean> {
    return keyspace.failJob(this.#client, this.#keys, processId, job, failedAt);
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
    const moved: string[] = [];
    for (let start = 0; start < jobs.length; start += SCRIPT_BATCH) {
      const batch = jobs.slice(start, start + SCRIPT_BATCH);
      moved.push(
        ...(await keyspace.retryFailedJobs(
          this.#client,
          this.#keys,
          processId,
          batch,
          this.#send(
            'retry failed jobs',
            undefined,
            'The jobs stay in the failed list; retry them again once the replicas are back.',
          ),
        )),
      );
    }
    return moved;
  }

  handOverJobs(from: string, to: string, ids: readonly string[]): Promise<HandOverResult> {
    return keyspace.handOverJobs(
      this.#client,
      this.#keys,
      from,
      to,
      ids,
      this.#send(
        'hand jobs over',
        undefined,
        'This process keeps the jobs and tries again (a job copied already may run twice).',
      ),
    );
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
        ...((await this.#client.deleteFailedJobs(
          k.failed,
          k.failedIndex,
          k.counts,
          k.failedRetrying,
          ...batch,
        )) as string[]),
      );
    }
    return removed;
  }

  keepAlive(info: ProcessInfo, deadAfter: number): Promise<boolean> {
    // A takeover's claim lasts as long as a heartbeat: a taker stalled longer counts as dead too.
    this.#takeoverLease = deadAfter;
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

  takeOverProcess(deadId: string, takerId: string): Promise<TakeoverOutcome> {
    const send = this.#send(
      'take over a dead process',
      undefined,
      'The dead process keeps its jobs, and toniq tries again at its next check (a job copied already may run twice).',
    );
    return takeOverProcess(this.#client, this.#keys, { deadId, takerId, lease: this.#takeoverLease, send });
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
