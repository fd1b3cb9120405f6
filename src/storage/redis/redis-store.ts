/**
 * The production JobStore: jobs in Redis, every multi-key change one Lua script (see ./lua).
 *
 * 1. Connects with ioredis, refuses to start with a clear paragraph when Redis is unreachable,
 *    and warns when Redis may evict keys.
 * 2. Coalesces the writes of one event-loop turn: one HSET for all new jobs, one HDEL for all
 *    finished jobs.
 * 3. Keeps finished jobs it could not remove (Redis away) and removes them once Redis is back.
 * 4. Keeps the process's heartbeat from a worker thread, and carries messages between processes
 *    over pub/sub on a second connection.
 */
import { Worker } from 'node:worker_threads';
import { Redis } from 'ioredis';
import {
  DamagedKeyError,
  describeRedisRefusal,
  maskRedisUrl,
  RedisRefusedError,
  RedisUnreachableError,
} from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { AdminStore, JobPlace, PlacedId, StoreOverview } from '../admin-store.js';
import type {
  DelayedStoredJob,
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
  TakeoverResult,
} from '../job-store.js';
import { type Keys, keysFor } from '../keys.js';
import type { KeepaliveThreadData } from './keepalive-thread.js';
import { databaseOfUrl } from './redis-url.js';
import { damagedKeyOf, defineScripts, type ScriptedRedis } from './scripts.js';
import { WriteCoalescer } from './write-coalescer.js';

export interface RedisStoreOptions {
  /** A redis:// or rediss:// URL, or an async function that returns one (awaited by open). */
  redisUrl: string | (() => string | Promise<string>);
  keyPrefix: string;
  logger: Logger;
  /** How long open() waits for Redis, and how long a command may take, in ms. */
  commandTimeout: number;
}

const RETRY_BACKOFF_MS = [100, 200, 500, 1000, 2000];
/** Jobs per script call of the verbs that take many: one call stays short, as Redis runs nothing else meanwhile. */
const SCRIPT_BATCH = 5000;

export class RedisStore implements JobStore, AdminStore {
  readonly #options: RedisStoreOptions;
  readonly #keys: Keys;
  #redis: ScriptedRedis | undefined;
  #url = '';
  #closed = false;
  #wasDown = false;
  readonly #adds = new Map<string, WriteCoalescer<StoredJob>>();
  readonly #delayedAdds = new Map<string, WriteCoalescer<DelayedStoredJob>>();
  /** Per process: ids finished here whose removal Redis has not confirmed yet. */
  readonly #finishes = new Map<string, Set<string>>();
  #finishWaiters: Array<() => void> = [];
  #finishTimer: NodeJS.Timeout | undefined;
  #finishImmediate = false;
  #finishConfirmed: Promise<void> | undefined;
  #finishFailures = 0;
  #subscriber: Redis | undefined;
  #warnedCounts = false;
  readonly #reconnectListeners: Array<() => void> = [];

  constructor(options: RedisStoreOptions) {
    this.#options = options;
    this.#keys = keysFor(options.keyPrefix);
  }

  get #client(): ScriptedRedis {
    if (!this.#redis) throw new Error('RedisStore used before open()');
    return this.#redis;
  }

  async open(): Promise<string[]> {
    const { redisUrl, commandTimeout, logger } = this.#options;
    try {
      this.#url = typeof redisUrl === 'function' ? await redisUrl() : redisUrl;
    } catch (error) {
      throw new RedisUnreachableError('(the URL provider function threw)', { cause: error });
    }
    const database = databaseOfUrl(this.#url);
    const redis = new Redis(this.#url, {
      lazyConnect: true,
      // Fail fast while disconnected instead of queueing: enqueue must answer within a bounded time.
      enableOfflineQueue: false,
      commandTimeout,
      connectTimeout: commandTimeout,
      maxRetriesPerRequest: 1,
      retryStrategy: (times) => RETRY_BACKOFF_MS[Math.min(times - 1, RETRY_BACKOFF_MS.length - 1)]!,
    });
    let lastError: unknown;
    // Without an 'error' listener ioredis would crash the app; the outage is reported on 'close'.
    redis.on('error', (error) => {
      lastError = error;
    });
    redis.on('close', () => {
      if (this.#redis && !this.#wasDown && !this.#closed) {
        this.#wasDown = true;
        const reason = lastError instanceof Error ? ` (${lastError.message})` : '';
        logger.error(
          { err: lastError },
          `Lost the connection to Redis at ${maskRedisUrl(this.#url)}${reason}; reconnecting. ` +
            `Running jobs go on; their outcomes are written once Redis is back, and enqueue fails until then.`,
        );
      }
    });
    redis.on('ready', () => {
      if (this.#wasDown) {
        this.#wasDown = false;
        logger.info({}, `Reconnected to Redis at ${maskRedisUrl(this.#url)}.`);
        this.#scheduleFinishFlush(0);
        for (const listener of this.#reconnectListeners) listener();
      }
    });
    try {
      await redis.connect();
    } catch (error) {
      redis.disconnect();
      throw new RedisUnreachableError(this.#url, { cause: lastError ?? error });
    }
    this.#wasDown = false;
    if (database !== 0) {
      // ioredis selected it already, but reports a refusal only as an 'error' event: ask again to hear it.
      try {
        await redis.select(database);
      } catch (error) {
        redis.disconnect();
        throw new RedisRefusedError(this.#url, `select database ${database}`, { cause: error });
      }
    }
    this.#redis = defineScripts(redis);
    return this.#checkServer();
  }

  async #checkServer(): Promise<string[]> {
    const warnings: string[] = [];
    try {
      const memory = await this.#client.info('memory');
      const used = Number(/^used_memory:(\d+)/m.exec(memory)?.[1]);
      const max = Number(/^maxmemory:(\d+)/m.exec(memory)?.[1]);
      if (max > 0 && used >= max * 0.9) {
        warnings.push(
          `Redis uses ${Math.round((used / max) * 100)}% of its maxmemory (${used} of ${max} bytes). Once full it refuses ` +
            `every write: enqueue fails, this process's heartbeat stops and other processes take its jobs over. ` +
            `Free memory or raise maxmemory now.`,
        );
      }
    } catch {
      // INFO may be disabled on managed services; nothing to check then.
    }
    try {
      const reply = (await this.#client.config('GET', 'maxmemory-policy')) as string[];
      const policy = reply[1];
      if (policy && policy !== 'noeviction') {
        warnings.push(
          `Redis's maxmemory-policy is "${policy}": when Redis runs out of memory it will silently delete keys, ` +
            `and with them jobs. Set it to "noeviction" (CONFIG SET maxmemory-policy noeviction, or in redis.conf).`,
        );
      }
    } catch {
      // Managed Redis services often disable CONFIG; nothing to check then.
    }
    return warnings;
  }

  async close(): Promise<void> {
    if (this.#finishes.size) await this.#flushFinishes().catch(() => {});
    this.#closed = true;
    clearTimeout(this.#finishTimer);
    for (const waiter of this.#finishWaiters) waiter();
    this.#finishWaiters = [];
    const redis = this.#redis;
    this.#redis = undefined;
    if (redis) await redis.quit().catch(() => redis.disconnect());
    const subscriber = this.#subscriber;
    this.#subscriber = undefined;
    if (subscriber) await subscriber.quit().catch(() => subscriber.disconnect());
  }

  addJobs(processId: string, jobs: readonly StoredJob[]): Promise<void> {
    let coalescer = this.#adds.get(processId);
    if (!coalescer) {
      const key = this.#keys.jobs(processId);
      coalescer = new WriteCoalescer<StoredJob>((batch) => {
        const args: Array<string | Buffer> = [processId, placeholderJson(processId)];
        for (const job of batch) args.push(job.id, job.record);
        return this.#client.addJobs(key, this.#keys.processes, ...args).catch((error: unknown) => {
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
      });
      this.#adds.set(processId, coalescer);
    }
    return coalescer.add(jobs);
  }

  finishJobs(processId: string, ids: readonly string[]): Promise<void> {
    let pending = this.#finishes.get(processId);
    if (!pending) {
      pending = new Set();
      this.#finishes.set(processId, pending);
    }
    for (const id of ids) pending.add(id);
    // One promise for all the finishes until the next flush.
    if (!this.#finishConfirmed) {
      this.#finishConfirmed = new Promise((resolve) => {
        this.#finishWaiters.push(resolve);
      });
    }
    this.#scheduleFinishFlush(0);
    return this.#finishConfirmed;
  }

  #scheduleFinishFlush(delay: number): void {
    if (this.#closed || !this.#finishes.size) return;
    if (this.#finishImmediate) return;
    if (delay > 0) {
      if (this.#finishTimer) return;
      this.#finishTimer = setTimeout(() => {
        this.#finishTimer = undefined;
        this.#runFinishFlush();
      }, delay);
      this.#finishTimer.unref();
      return;
    }
    // Now, even if a retry after a failure is pending: once Redis is back there is no reason to wait.
    if (this.#finishTimer && this.#redis?.status !== 'ready') return;
    clearTimeout(this.#finishTimer);
    this.#finishTimer = undefined;
    this.#finishImmediate = true;
    setImmediate(() => {
      this.#finishImmediate = false;
      this.#runFinishFlush();
    });
  }

  #runFinishFlush(): void {
    this.#flushFinishes().then(
      () => {
        this.#finishFailures = 0;
      },
      () => {
        // Redis is away: keep the ids and try again; the 'close' listener has logged the outage.
        this.#finishFailures++;
        this.#scheduleFinishFlush(
          RETRY_BACKOFF_MS[Math.min(this.#finishFailures, RETRY_BACKOFF_MS.length - 1)]!,
        );
      },
    );
  }

  async #flushFinishes(): Promise<void> {
    const batches = [...this.#finishes];
    const waiters = this.#finishWaiters;
    this.#finishConfirmed = undefined;
    this.#finishes.clear();
    this.#finishWaiters = [];
    try {
      if (batches.length === 1) {
        const [processId, ids] = batches[0]!;
        await this.#client.hdel(this.#keys.jobs(processId), ...ids);
      } else {
        const pipeline = this.#client.multi();
        for (const [processId, ids] of batches) pipeline.hdel(this.#keys.jobs(processId), ...ids);
        await pipeline.exec();
      }
    } catch (error) {
      for (const [processId, ids] of batches) {
        const pending = this.#finishes.get(processId) ?? new Set();
        for (const id of ids) pending.add(id);
        this.#finishes.set(processId, pending);
      }
      this.#finishWaiters.push(...waiters);
      throw error;
    }
    for (const waiter of waiters) waiter();
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
    const records = await read(this.#client.hmgetBuffer(this.#keys.jobs(processId), ...ids));
    const jobs: StoredJob[] = [];
    ids.forEach((id, i) => {
      const record = records[i];
      if (record) jobs.push({ id, record });
    });
    return jobs;
  }

  onReconnected(listener: () => void): void {
    this.#reconnectListeners.push(listener);
  }

  addDelayedJobs(processId: string, jobs: readonly DelayedStoredJob[]): Promise<void> {
    let coalescer = this.#delayedAdds.get(processId);
    if (!coalescer) {
      const delayedKey = this.#keys.delayed(processId);
      const delayedJobsKey = this.#keys.delayedJobs(processId);
      coalescer = new WriteCoalescer<DelayedStoredJob>((batch) => {
        const args: Array<string | Buffer> = [processId, placeholderJson(processId)];
        for (const job of batch) args.push(job.id, job.record, scoreOf(job.dueAt));
        return this.#client
          .addDelayedJobs(delayedKey, delayedJobsKey, this.#keys.processes, this.#keys.counts, ...args)
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
      });
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
    return moved === 1;
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
    return Number(reply[1] === 'inf' ? Infinity : reply[1]);
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
    return moved === 1;
  }

  getFailedJob(id: string): Promise<Buffer | null> {
    return read(this.#client.hgetBuffer(this.#keys.failed, id));
  }

  async listFailedJobs(): Promise<StoredJob[]> {
    const ids = await read(this.#client.zrange(this.#keys.failedIndex, 0, -1));
    if (!ids.length) return [];
    const records = await read(this.#client.hmgetBuffer(this.#keys.failed, ...ids));
    const jobs: StoredJob[] = [];
    ids.forEach((id, i) => {
      const record = records[i];
      if (record) jobs.push({ id, record });
    });
    return jobs;
  }

  async retryFailedJobs(processId: string, jobs: readonly StoredJob[]): Promise<string[]> {
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

  async deleteFailedJobs(ids: readonly string[]): Promise<string[]> {
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

  async keepAlive(info: ProcessInfo, deadAfter: number): Promise<boolean> {
    const k = this.#keys;
    try {
      const reply = await this.#client.keepAlive(
        k.processes,
        k.heartbeat(info.id),
        info.id,
        infoJson(info, deadAfter),
        deadAfter,
        Date.now(),
      );
      return reply === 1;
    } catch (error) {
      // At start this is the first write: an out-of-memory or permission refusal must say so.
      if (describeRedisRefusal(error)) {
        throw new RedisRefusedError(this.#url, 'register this process (its heartbeat)', { cause: error });
      }
      throw error;
    }
  }

  async startKeepalive(
    info: ProcessInfo,
    timing: KeepaliveTiming,
    callbacks: KeepaliveCallbacks,
  ): Promise<Keepalive> {
    const progress = new BigInt64Array(new SharedArrayBuffer(8));
    const tick = () => Atomics.store(progress, 0, BigInt(Date.now()));
    tick();
    // The main thread proves it makes progress; the heartbeat thread checks before each beat.
    const ticker = setInterval(tick, Math.max(10, Math.min(timing.interval, timing.maxEventLoopStall / 4)));
    ticker.unref();
    const data: KeepaliveThreadData = {
      url: this.#url,
      processesKey: this.#keys.processes,
      heartbeatKey: this.#keys.heartbeat(info.id),
      processId: info.id,
      infoJson: infoJson(info, timing.deadAfter),
      interval: timing.interval,
      deadAfter: timing.deadAfter,
      maxEventLoopStall: timing.maxEventLoopStall,
      progress: progress.buffer as SharedArrayBuffer,
    };
    const thread = new Worker(new URL('./keepalive-thread.js', import.meta.url), { workerData: data });
    thread.unref();
    // Until the thread's first beat (starting a thread under load can outlast deadAfter), beat from here.
    const bridge = setInterval(() => {
      this.keepAlive(info, timing.deadAfter).then(
        (wasTakenOver) => wasTakenOver && callbacks.onTakenOver(),
        () => {}, // the thread reports errors once it runs
      );
    }, timing.interval);
    bridge.unref();
    let stopped: (() => void) | undefined;
    thread.on('message', (message: { type: string; stalledFor?: number; message?: string }) => {
      if (message.type === 'beating') clearInterval(bridge);
      else if (message.type === 'taken-over') callbacks.onTakenOver();
      else if (message.type === 'stalled') callbacks.onStalled(message.stalledFor ?? 0);
      else if (message.type === 'error') callbacks.onError(new Error(message.message));
      else if (message.type === 'recovered') callbacks.onRecovered();
      else if (message.type === 'stopped') stopped?.();
    });
    thread.on('error', (error) => callbacks.onError(error));
    return {
      stop: async () => {
        clearInterval(ticker);
        clearInterval(bridge);
        // Wait for the thread to finish a beat in flight, so that no beat lands after endProcess.
        const done = new Promise<void>((resolve) => {
          stopped = resolve;
          thread.once('exit', () => resolve());
        });
        thread.postMessage('stop');
        const timer = setTimeout(() => void thread.terminate(), 2000);
        await done;
        clearTimeout(timer);
        await thread.terminate();
      },
    };
  }

  async endProcess(processId: string): Promise<boolean> {
    const k = this.#keys;
    const left = await this.#client.endProcess(
      k.processes,
      k.heartbeat(processId),
      k.jobs(processId),
      k.delayed(processId),
      processId,
    );
    return left === 1;
  }

  async listProcesses(): Promise<ProcessStatus[]> {
    const k = this.#keys;
    const [registered, takeoverErrors] = await Promise.all([
      read(this.#client.hgetall(k.processes)),
      // The notes are advisory, like the counts: a damaged key must not stop takeovers.
      this.#client.hgetall(k.takeoverErrors).catch((error: unknown) => {
        if (damagedKeyOf(error)) return {} as Record<string, string>;
        throw error;
      }),
    ]);
    const ids = Object.keys(registered);
    if (!ids.length) return [];
    const pipeline = this.#client.pipeline();
    for (const id of ids) pipeline.pttl(k.heartbeat(id));
    const ttls = (await pipeline.exec()) ?? [];
    return ids.map((id, i) => {
      const { deadAfter, damaged, ...info } = parseInfo(id, registered[id]!);
      const ttl = Number(ttls[i]?.[1] ?? -2);
      const alive = ttl > 0;
      const takeoverError = alive ? undefined : parseTakeoverError(takeoverErrors[id]);
      return {
        ...info,
        heartbeatAge: alive ? Math.max(0, deadAfter - ttl) : null,
        ...(takeoverError && { takeoverError }),
        ...(damaged && { damaged }),
      };
    });
  }

  async recordTakeoverError(deadId: string, error: TakeoverError): Promise<void> {
    await this.#client.hset(this.#keys.takeoverErrors, deadId, JSON.stringify(error));
  }

  async takeOverProcess(deadId: string, takerId: string): Promise<TakeoverResult | null> {
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
    if (status === 0 || status === -1 || status === -2 || status === -3) return null;
    if (status !== 1) throw new Error(`The takeover script answered an unknown status ${String(status)}.`);
    // A failure recorded by an earlier attempt is history now; losing this write only leaves a
    // note on a process that is no longer listed.
    this.#client.hdel(k.takeoverErrors, deadId).catch(() => {});
    return { jobs: pairs(jobs), delayed };
  }

  async publish(processId: string | null, message: StoreMessage): Promise<void> {
    const channel = processId === null ? this.#keys.processStoppedChannel : this.#keys.wakeChannel(processId);
    await this.#client.publish(channel, JSON.stringify(message));
  }

  async subscribe(processId: string, onMessage: (message: StoreMessage) => void): Promise<void> {
    const subscriber = this.#client.duplicate({ lazyConnect: true, enableOfflineQueue: true });
    subscriber.on('error', () => {
      // The main connection reports outages; ioredis resubscribes after reconnecting.
    });
    subscriber.on('message', (_channel: string, text: string) => {
      try {
        onMessage(JSON.parse(text) as StoreMessage);
      } catch {
        // Not ours; ignore.
      }
    });
    await subscriber.connect();
    await subscriber.subscribe(this.#keys.wakeChannel(processId), this.#keys.processStoppedChannel);
    this.#subscriber = subscriber;
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

  async readOverview(): Promise<StoreOverview> {
    const k = this.#keys;
    const [processes, reports, counts, failed] = await Promise.all([
      this.listProcesses(),
      read(this.#client.hgetall(k.reports)),
      this.#client.hgetall(k.counts).catch((error: unknown) => this.#damagedCounts(error)),
      read(this.#client.zcard(k.failedIndex)),
    ]);
    const pipeline = this.#client.pipeline();
    for (const process of processes) pipeline.hlen(k.jobs(process.id)).zcard(k.delayed(process.id));
    // A process's damaged key shows as 0 here, with a note (a dead one's takeover error names the key too).
    const sizes = (await pipeline.exec()) ?? [];
    return {
      processes: processes.map((process, i) => {
        const { report, damaged } = parseReport(reports[process.id]);
        const sizeError = sizes[2 * i]?.[0] ?? sizes[2 * i + 1]?.[0];
        const notes = [
          process.damaged,
          damaged,
          sizeError && `Its jobs cannot be counted: ${describeRedisRefusal(sizeError) ?? sizeError.message}`,
        ]
          .filter(Boolean)
          .join(' ');
        return {
          ...process,
          held: sizeOf(sizes[2 * i]),
          delayed: sizeOf(sizes[2 * i + 1]),
          report,
          ...(notes && { damaged: notes }),
        };
      }),
      delayedByWorker: countsOf(counts, 'delayed:'),
      failedByWorker: countsOf(counts, 'failed:'),
      failed,
    };
  }

  /**
   * The counts are advisory (the scripts leave a damaged counts key alone): the overview goes on
   * without them, and says once what to do.
   */
  #damagedCounts(error: unknown): Record<string, string> {
    const damaged = damagedKeyOf(error);
    if (!damaged) throw error;
    if (!this.#warnedCounts) {
      this.#warnedCounts = true;
      this.#options.logger.warn(
        { err: damaged },
        `${damaged.message} Until then the per-worker counts show 0.`,
      );
    }
    return {};
  }

  async readThroughput(
    fromSecond: number,
    seconds: number,
  ): Promise<{ finished: number[]; failed: number[] }> {
    const finished = new Array<number>(seconds).fill(0);
    const failed = new Array<number>(seconds).fill(0);
    const firstMinute = Math.floor(fromSecond / 60);
    const lastMinute = Math.floor((fromSecond + seconds - 1) / 60);
    const pipeline = this.#client.pipeline();
    for (let minute = firstMinute; minute <= lastMinute; minute++)
      pipeline.hgetall(this.#keys.throughput(minute));
    const replies = checked((await pipeline.exec()) ?? []);
    replies.forEach(([, fields], i) => {
      const minuteStart = (firstMinute + i) * 60;
      for (const [field, value] of Object.entries((fields ?? {}) as Record<string, string>)) {
        // Fields are f<second> and x<second> (record-stats.lua); anything else is not ours.
        const match = /^([fx])(\d{1,2})$/.exec(field);
        const count = Number(value);
        if (!match || !Number.isSafeInteger(count) || count < 0) continue;
        const index = minuteStart + Number(match[2]) - fromSecond;
        if (index < 0 || index >= seconds) continue;
        (match[1] === 'f' ? finished : failed)[index] = count;
      }
    });
    return { finished, failed };
  }

  async listPlaceIds(place: JobPlace): Promise<PlacedId[]> {
    const k = this.#keys;
    if (place.kind === 'held') {
      return (await read(this.#client.hkeys(k.jobs(place.processId)))).sort().map((id) => ({ id, score: 0 }));
    }
    const key = place.kind === 'delayed' ? k.delayed(place.processId) : k.failedIndex;
    const flat = await read(this.#client.zrange(key, 0, -1, 'WITHSCORES'));
    const ids: PlacedId[] = [];
    for (let i = 0; i < flat.length; i += 2) {
      ids.push({ id: flat[i]!, score: flat[i + 1] === 'inf' ? Infinity : Number(flat[i + 1]) });
    }
    return ids;
  }

  async pagePlaceIds(
    place: JobPlace & { kind: 'delayed' | 'failed' },
    offset: number,
    limit: number,
    newestFirst: boolean,
  ): Promise<{ ids: PlacedId[]; total: number }> {
    const key = place.kind === 'delayed' ? this.#keys.delayed(place.processId) : this.#keys.failedIndex;
    const last = offset + limit - 1;
    const batch = this.#client.multi();
    if (newestFirst) batch.zrevrange(key, offset, last, 'WITHSCORES');
    else batch.zrange(key, offset, last, 'WITHSCORES');
    const [[, flat], [, total]] = checked((await batch.zcard(key).exec()) ?? []) as [
      [unknown, string[]],
      [unknown, number],
    ];
    const ids: PlacedId[] = [];
    for (let i = 0; i < flat.length; i += 2) {
      ids.push({ id: flat[i]!, score: flat[i + 1] === 'inf' ? Infinity : Number(flat[i + 1]) });
    }
    return { ids, total };
  }

  async getPlaceRecords(place: JobPlace, ids: readonly string[]): Promise<StoredJob[]> {
    if (!ids.length) return [];
    const k = this.#keys;
    const key =
      place.kind === 'held'
        ? k.jobs(place.processId)
        : place.kind === 'delayed'
          ? k.delayedJobs(place.processId)
          : k.failed;
    const records = await read(this.#client.hmgetBuffer(key, ...ids));
    const jobs: StoredJob[] = [];
    ids.forEach((id, i) => {
      const record = records[i];
      if (record) jobs.push({ id, record });
    });
    return jobs;
  }

  async dueTime(processId: string, id: string): Promise<number | null> {
    const score = await read(this.#client.zscore(this.#keys.delayed(processId), id));
    return score === null ? null : score === 'inf' ? Infinity : Number(score);
  }

  async makeDelayedJobsDue(processId: string, ids: readonly string[]): Promise<string[]> {
    const key = this.#keys.delayed(processId);
    const found: string[] = [];
    for (let start = 0; start < ids.length; start += SCRIPT_BATCH) {
      const batch = ids.slice(start, start + SCRIPT_BATCH);
      found.push(...((await this.#client.makeDelayedJobsDue(key, ...batch)) as string[]));
    }
    return found;
  }
}

// ---- Replies read from Redis ----
// Whatever is read back is checked here, field by field: another program, a bug, or damage can
// leave anything under toniq's keys, and one bad entry must be shown as bad, not break the
// overview of every process. Maps keyed by worker names are Maps or null-prototype objects, so
// that a worker named "__proto__" is counted like any other.

/** A process's last report, with a note of what in it could not be read. */
function parseReport(json: string | undefined): { report: ProcessReport | null; damaged?: string } {
  if (json === undefined) return { report: null };
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return {
      report: null,
      damaged: 'Its last report is not JSON; its running and waiting jobs are not counted.',
    };
  }
  if (!isObject(value) || !isObject(value.workers)) {
    return {
      report: null,
      damaged: 'Its last report lacks the per-worker counts; its running and waiting jobs are not counted.',
    };
  }
  const workers: ProcessReport['workers'] = Object.create(null);
  const bad: string[] = [];
  for (const [name, counts] of Object.entries(value.workers)) {
    if (isObject(counts) && isCount(counts.running) && isCount(counts.waiting)) {
      workers[name] = { running: counts.running, waiting: counts.waiting };
    } else {
      bad.push(JSON.stringify(name));
    }
  }
  const report: ProcessReport = {
    workers,
    limitedWorkers: stringsOf(value.limitedWorkers),
    runningIds: stringsOf(value.runningIds),
  };
  if (!bad.length) return { report };
  return {
    report,
    damaged: `Its last report has unreadable counts for the worker(s) ${bad.join(', ')}; they are not counted.`,
  };
}

/** The per-worker counts kept under `prefix` in the counts hash; a value that is not a count is left out. */
function countsOf(counts: Record<string, string>, prefix: string): Map<string, number> {
  const result = new Map<string, number>();
  for (const [field, value] of Object.entries(counts)) {
    const n = Number(value);
    if (field.startsWith(prefix) && Number.isSafeInteger(n) && n > 0)
      result.set(field.slice(prefix.length), n);
  }
  return result;
}

/** The size a pipeline reply gives (HLEN, ZCARD), 0 when the command failed (a key of another type). */
function sizeOf(reply: [Error | null, unknown] | undefined): number {
  const n = Number(reply?.[1]);
  return !reply || reply[0] || !Number.isSafeInteger(n) ? 0 : n;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isCount(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

function stringsOf(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

function infoJson(info: ProcessInfo, deadAfter: number): string {
  return JSON.stringify({ ...info, deadAfter });
}

/** What a process is registered with when jobs are written for it while it is not registered. */
function placeholderJson(processId: string): string {
  return JSON.stringify({ id: processId, placeholder: true });
}

/**
 * A process's registration. A placeholder (written with jobs for a process not registered yet)
 * lacks fields by design: they show as unknown. Any other entry that lacks a field, or has one of
 * the wrong kind, shows what could be read and says what could not in `damaged`.
 */
function parseInfo(id: string, json: string): ProcessInfo & { deadAfter: number; damaged?: string } {
  const info = { id, host: '?', pid: 0, startedAt: 0, version: '?', workers: [] as string[], deadAfter: 0 };
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return {
      ...info,
      damaged: 'Its registration is not JSON: host, pid, start time and workers are unknown.',
    };
  }
  if (!isObject(value)) {
    return {
      ...info,
      damaged: 'Its registration is not an object: host, pid, start time and workers are unknown.',
    };
  }
  if (value.placeholder === true) return info;
  const bad: string[] = [];
  const take = <K extends keyof typeof info>(field: K, ok: (v: unknown) => boolean) => {
    if (ok(value[field])) info[field] = value[field] as (typeof info)[K];
    else bad.push(field);
  };
  take('host', (v) => typeof v === 'string');
  take('pid', (v) => Number.isSafeInteger(v));
  take('startedAt', (v) => Number.isFinite(v) && Math.abs(v as number) <= MAX_TIME);
  take('version', (v) => typeof v === 'string');
  take('workers', (v) => Array.isArray(v) && v.every((name) => typeof name === 'string'));
  take('deadAfter', (v) => Number.isFinite(v) && (v as number) >= 0);
  if (!bad.length) return info;
  return {
    ...info,
    damaged:
      `Its registration has no readable ${bad.join(', ')}` +
      (bad.includes('workers') ? '; no job is sent to it by worker.' : '.'),
  };
}

/** The largest epoch ms a Date holds. */
const MAX_TIME = 8.64e15;

function parseTakeoverError(json: string | undefined): TakeoverError | undefined {
  if (!json) return undefined;
  try {
    const { message, at, by } = (JSON.parse(json) ?? {}) as Partial<TakeoverError>;
    return {
      message: typeof message === 'string' ? message : '(no message recorded)',
      at: Number.isFinite(at) && Math.abs(at as number) <= MAX_TIME ? (at as number) : 0,
      by: typeof by === 'string' ? by : '?',
    };
  } catch {
    return { message: '(an unreadable note)', at: 0, by: '?' };
  }
}

function scoreOf(dueAt: number): string {
  return dueAt === Infinity ? 'inf' : String(dueAt);
}

function pairs(reply: Buffer[]): StoredJob[] {
  const jobs: StoredJob[] = [];
  for (let i = 0; i < reply.length; i += 2) jobs.push({ id: reply[i]!.toString(), record: reply[i + 1]! });
  return jobs;
}

/** A read whose key holds another type than toniq keeps there rejects with DamagedKeyError naming it. */
function read<T>(reply: Promise<T>): Promise<T> {
  return reply.catch((error: unknown) => {
    throw damagedKeyOf(error) ?? error;
  });
}

/** The replies of a pipeline or a MULTI, or the first error among them (a damaged key named as such). */
function checked(replies: Array<[Error | null, unknown]>): Array<[Error | null, unknown]> {
  for (const [error] of replies) if (error) throw damagedKeyOf(error) ?? error;
  return replies;
}
