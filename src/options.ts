/**
 * The options of createToniq, their defaults, and the check that refuses unknown ones.
 */

import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { InvalidOptionsError } from './errors.js';
import { type RetryStrategy, retryWithIncreasingDelay } from './job/retry-strategies.js';
import type { SerializableClass } from './job/serialization.js';
import { unknownOptionsProblem } from './known-options.js';
import { consoleLogger, type Logger } from './logger.js';
import {
  type DurabilityOptions,
  durabilityProblem,
  type RedisSentinelOptions,
  type ResolvedDurability,
  redisWhereProblem,
  resolveDurability,
} from './redis-location.js';
import type { AdminJobStore } from './storage/admin-store.js';
import { DEFAULT_KEY_PREFIX, keysFor } from './storage/keys.js';
import { DEFAULT_REDIS_URL, databaseOfUrl } from './storage/redis/redis-url.js';
import { type DurationRange, durationProblem } from './timers.js';
import { copyTlsOptions, type RedisTlsOptions, tlsOptionsProblem } from './tls-options.js';
import type { Worker } from './worker.js';

export interface ToniqOptions {
  /**
   * Where Redis is: a URL (password and TLS through it: `rediss://user:pass@host:6380/0`), or an
   * async function that returns one, awaited by start(). Default: `redis://127.0.0.1:6379/0`.
   * @example { redisUrl: process.env.REDIS_URL }
   */
  redisUrl?: string | (() => string | Promise<string>);
  /**
   * The seed nodes of a Redis Cluster, instead of redisUrl: redis:// (or rediss://, TLS) URLs with
   * a port; any few of the cluster's nodes, toniq learns the rest from them. A password goes in the
   * URLs. Default: none (one server, at redisUrl).
   * @example { redisCluster: ['redis://10.0.0.1:7000', 'redis://10.0.0.2:7000', 'redis://10.0.0.3:7000'] }
   */
  redisCluster?: readonly string[];
  /**
   * A master watched by Redis Sentinel, instead of redisUrl: the sentinels (`host:port`) and the
   * name they monitor it under; toniq asks them for the master, and again after a failover.
   * Default: none (one server, at redisUrl).
   * @example { redisSentinel: { sentinels: ['10.0.0.1:26379', '10.0.0.2:26379'], name: 'mymaster' } }
   */
  redisSentinel?: RedisSentinelOptions;
  /**
   * Makes enqueue (and every write of new jobs: delayed, enqueueOn) resolve only once `replicas`
   * replicas have the jobs (Redis's WAIT; with `aof: true`, WAITAOF: in their append-only file,
   * Redis 7.2 or later). One WAIT covers all jobs enqueued in the same event-loop turn. When fewer
   * confirm within `timeout` (default 2000 ms, or half of enqueueTimeout when less), enqueue
   * rejects with NotReplicatedError and the job is not run. Default: none (the master's reply).
   * @example { durability: { replicas: 1 } }
   */
  durability?: DurabilityOptions;
  /**
   * TLS settings for a rediss:// URL, passed to ioredis for every connection (the keepalive
   * thread's too): the CA that signed the server's certificate, a client certificate, the server
   * name. Data only (no checkServerIdentity function), as the keepalive thread gets a copy.
   * Refused with a redis:// URL: the URL says whether TLS is used. Default: none, so a rediss://
   * URL trusts node's default CAs.
   * @example { redisUrl: 'rediss://redis.internal:6380/0', tls: { ca: readFileSync('redis-ca.crt') } }
   */
  tls?: RedisTlsOptions;
  /**
   * Prefix of every Redis key, so apps sharing a server never see each other's jobs. Default: `toniq`.
   * @example { keyPrefix: 'billing' }
   */
  keyPrefix?: string;
  /**
   * The workers this process can run. A job is only run by a process that registers its worker.
   * @example { workers: [sendEmail, resizeImage] }
   */
  workers?: readonly Worker<any>[];
  /** A pino-compatible logger. Default: one that writes to the console. */
  logger?: Logger;
  /** The retry strategy of workers that do not set their own. Default: `retryWithIncreasingDelay()`. */
  retry?: RetryStrategy;
  /**
   * Classes whose instances may travel in job arguments; register the same ones in every process.
   * Default: none.
   * @example { serializableClasses: [Money] }
   */
  serializableClasses?: readonly SerializableClass[];
  /**
   * Where jobs are kept. Default: Redis at `redisUrl`. Pass `new MemoryStore()` (from 'toniq/testing')
   * for unit tests or a demo without Redis. A store implements the runtime's contract (JobStore)
   * and the admin's (AdminStore).
   */
  store?: AdminJobStore;
  /**
   * `'background'` (default) runs jobs after enqueue resolves; `'inline'` runs a job inside
   * enqueue, which resolves once it finished and rejects with its error; `'manual'` only records
   * jobs until `drain()` runs them. The last two are for apps' tests.
   */
  mode?: 'background' | 'inline' | 'manual';
  /**
   * This process's id in Redis. Default: `<hostname>:<pid>:<random>`, new for every toniq instance.
   * Set a stable id (say, a container name) to pick up this process's own jobs after a restart.
   */
  processId?: string;
  /** How long enqueue waits for Redis to confirm before rejecting, in ms. Default: 5000. */
  enqueueTimeout?: number;
  /** How often to look for due delayed jobs added by others, in ms. Default: 1000. */
  delayedJobsPollInterval?: number;
  /**
   * How long stop() waits for running jobs when not told, in ms; `Infinity` waits for them
   * however long they take. Default: 30 000.
   */
  stopTimeout?: number;
  /**
   * How often this process refreshes its heartbeat in Redis, in ms (from a worker thread, so a
   * busy event loop does not delay it). Default: 2000.
   */
  heartbeatInterval?: number;
  /**
   * How long after its last heartbeat a process counts as dead and its jobs are taken over, in
   * ms. Default: 10 000. Must be well above heartbeatInterval.
   * @example { deadAfter: 30_000 } // for processes with long GC pauses
   */
  deadAfter?: number;
  /** How often to look for dead processes, in ms. Default: heartbeatInterval. */
  takeoverCheckInterval?: number;
  /**
   * How long the main event loop may make no progress before the heartbeat stops, so that a hung
   * process is taken over, in ms. Default: 300 000 (5 minutes). CPU-heavy jobs that block the
   * loop for less than this keep their process alive. `Infinity` never stops the heartbeat.
   */
  maxEventLoopStall?: number;
  /**
   * How often to look for jobs this process holds in Redis but does not run (after a reply
   * lost in a Redis outage), in ms. It also runs after every reconnection. Default: 30 000.
   */
  orphanCheckInterval?: number;
  /** The clock, in epoch ms. Default: `Date.now`. Tests may pass their own. */
  now?: () => number;
}

export const KNOWN_OPTIONS = [
  'redisUrl',
  'tls',
  'keyPrefix',
  'workers',
  'logger',
  'retry',
  'serializableClasses',
  'store',
  'redisCluster',
  'redisSentinel',
  'durability',
  'mode',
  'processId',
  'enqueueTimeout',
  'delayedJobsPollInterval',
  'stopTimeout',
  'heartbeatInterval',
  'deadAfter',
  'takeoverCheckInterval',
  'maxEventLoopStall',
  'orphanCheckInterval',
  'now',
] as const;

/**
 * The options that are durations in milliseconds, and what each allows beyond a number from 1 to
 * MAX_TIMER_DELAY (they feed timers, which hold no more). stopTimeout may be 0 (do not wait) or
 * Infinity (wait for the running jobs however long they take); maxEventLoopStall may be
 * Infinity (never stop the heartbeat of a stalled process), since it is compared, not waited.
 */
const MILLISECOND_OPTIONS = {
  enqueueTimeout: {},
  delayedJobsPollInterval: {},
  stopTimeout: { allowZero: true, allowInfinity: true },
  heartbeatInterval: {},
  deadAfter: {},
  takeoverCheckInterval: {},
  maxEventLoopStall: { allowInfinity: true },
  orphanCheckInterval: {},
} as const satisfies Partial<Record<(typeof KNOWN_OPTIONS)[number], DurationRange>>;

export type ResolvedOptions = Required<
  Omit<ToniqOptions, 'store' | 'tls' | 'redisCluster' | 'redisSentinel' | 'durability'>
> & {
  store: AdminJobStore | undefined;
  tls: RedisTlsOptions | undefined;
  redisCluster: readonly string[] | undefined;
  redisSentinel: RedisSentinelOptions | undefined;
  durability: ResolvedDurability | undefined;
};

export function resolveOptions(options: ToniqOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionsError(`createToniq expects an options object, got ${String(options)}.`);
  }
  const unknown = unknownOptionsProblem('createToniq', options, KNOWN_OPTIONS);
  if (unknown) throw new InvalidOptionsError(unknown);
  const where = redisWhereProblem('createToniq', options);
  if (where) throw new InvalidOptionsError(where);
  const enqueueTimeout = options.enqueueTimeout ?? 5000;
  const durability = durabilityProblem('createToniq', options.durability, enqueueTimeout);
  if (durability) throw new InvalidOptionsError(durability);
  const resolved: ResolvedOptions = {
    redisUrl: options.redisUrl ?? DEFAULT_REDIS_URL,
    redisCluster: options.redisCluster && [...options.redisCluster],
    redisSentinel: options.redisSentinel && {
      ...options.redisSentinel,
      sentinels: [...options.redisSentinel.sentinels],
    },
    durability: resolveDurability(options.durability, enqueueTimeout),
    tls: copyTlsOptions(options.tls),
    keyPrefix: options.keyPrefix ?? DEFAULT_KEY_PREFIX,
    workers: options.workers ?? [],
    logger: options.logger ?? consoleLogger(),
    retry: options.retry ?? retryWithIncreasingDelay(),
    serializableClasses: options.serializableClasses ?? [],
    store: options.store,
    mode: options.mode ?? 'background',
    processId: options.processId ?? `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`,
    enqueueTimeout,
    delayedJobsPollInterval: options.delayedJobsPollInterval ?? 1000,
    stopTimeout: options.stopTimeout ?? 30_000,
    heartbeatInterval: options.heartbeatInterval ?? 2000,
    deadAfter: options.deadAfter ?? 10_000,
    takeoverCheckInterval: options.takeoverCheckInterval ?? options.heartbeatInterval ?? 2000,
    maxEventLoopStall: options.maxEventLoopStall ?? 300_000,
    orphanCheckInterval: options.orphanCheckInterval ?? 30_000,
    now: options.now ?? Date.now,
  };
  if (typeof resolved.redisUrl !== 'string' && typeof resolved.redisUrl !== 'function') {
    throw new InvalidOptionsError('createToniq: redisUrl must be a URL string or a function returning one.');
  }
  if (typeof resolved.redisUrl === 'string' && !/^rediss?:\/\//.test(resolved.redisUrl)) {
    throw new InvalidOptionsError(
      `createToniq: redisUrl must start with redis:// or rediss:// (TLS), like redis://127.0.0.1:6379/0; got ${JSON.stringify(resolved.redisUrl)}.`,
    );
  }
  if (typeof resolved.redisUrl === 'string') databaseOfUrl(resolved.redisUrl); // a database must be a number
  // Checked on the option as given: copyTlsOptions keeps the known options only.
  const tlsProblem = tlsOptionsProblem(
    'createToniq',
    options.tls,
    // Behind Sentinel there is no URL to agree with: tls applies to the sentinels and data nodes.
    options.redisSentinel
      ? undefined
      : (options.redisCluster?.[0] ??
          (typeof resolved.redisUrl === 'string' ? resolved.redisUrl : undefined)),
  );
  if (tlsProblem) throw new InvalidOptionsError(tlsProblem);
  keysFor(resolved.keyPrefix); // throws a clear error for a prefix that cannot be used
  if (!['background', 'inline', 'manual'].includes(resolved.mode)) {
    throw new InvalidOptionsError(
      `createToniq: mode must be 'background', 'inline' or 'manual', got ${JSON.stringify(resolved.mode)}.`,
    );
  }
  if (typeof resolved.processId !== 'string' || !/^[^\s{}]+$/.test(resolved.processId)) {
    throw new InvalidOptionsError(
      `createToniq: processId must be a non-empty string without spaces or braces, got ${JSON.stringify(resolved.processId)}.`,
    );
  }
  for (const [key, allowed] of Object.entries(MILLISECOND_OPTIONS)) {
    const problem = durationProblem(resolved[key as keyof typeof MILLISECOND_OPTIONS], allowed);
    if (problem) throw new InvalidOptionsError(`createToniq: ${key} ${problem}.`);
  }
  if (resolved.deadAfter < resolved.heartbeatInterval * 2) {
    throw new InvalidOptionsError(
      `createToniq: deadAfter (${resolved.deadAfter} ms) must be at least twice heartbeatInterval (${resolved.heartbeatInterval} ms), ` +
        `or one late heartbeat would get a live process's jobs taken over.`,
    );
  }
  if (!Array.isArray(resolved.workers))
    throw new InvalidOptionsError('createToniq: workers must be an array of workers made by defineWorker().');
  const names = new Set<string>();
  for (const worker of resolved.workers) {
    if (typeof worker?.name !== 'string' || typeof worker.perform !== 'function') {
      throw new InvalidOptionsError('createToniq: every entry of workers must be made by defineWorker().');
    }
    if (names.has(worker.name))
      throw new InvalidOptionsError(
        `createToniq: two workers are named "${worker.name}"; worker names must be unique.`,
      );
    names.add(worker.name);
  }
  for (const method of ['debug', 'info', 'warn', 'error'] as const) {
    if (typeof resolved.logger[method] !== 'function') {
      throw new InvalidOptionsError(
        `createToniq: logger must have debug, info, warn and error methods (pino's work); ${method} is missing.`,
      );
    }
  }
  return resolved;
}
