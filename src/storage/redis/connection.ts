/**
 * The store's connection to Redis: opens it (refusing to start with a clear error when Redis is
 * unreachable, refuses the database, or TLS fails: see tls-diagnosis.ts), logs an outage once and
 * the reconnection once, and checks at start that Redis will not evict toniq's keys. Kept apart
 * from the store's verbs, which only need a connected client.
 */
import type { Cluster, Redis } from 'ioredis';
import { InvalidOptionsError, RedisRefusedError, RedisUnreachableError } from '../../errors.js';
import { OnceUntilReset } from '../../log-once.js';
import type { Logger } from '../../logger.js';
import {
  describeLocation,
  locationOf,
  type RedisLocation,
  type RedisWhereOptions,
  type ResolvedDurability,
} from '../../redis-location.js';
import { redisRetryDelay } from '../../timers.js';
import { insecureTlsWarning, type RedisTlsOptions, tlsOptionsProblem } from '../../tls-options.js';
import { connectWithin, createRedisClient } from './redis-client.js';
import { DEFAULT_REDIS_URL, databaseOfUrl } from './redis-url.js';
import { defineScripts, type ScriptedRedis } from './scripts.js';
import { tlsErrorOf } from './tls-diagnosis.js';

export interface ConnectOptions {
  location: RedisLocation;
  /** ioredis's `tls`, for every connection made from this one (duplicate()) too. */
  tls: RedisTlsOptions | undefined;
  logger: Logger;
  /** How long connecting may take, and how long a command may take, in ms. */
  commandTimeout: number;
  /** Whether the store uses the connection now: an outage is logged only then (not while opening or closing). */
  inUse: () => boolean;
  /** Called when the connection is back after an outage. */
  onReconnected: () => void;
  /**
   * Called with a new connection when ioredis left this one in its terminal `end` state (it then
   * never reconnects, and every command fails): the caller uses the new one from then on.
   */
  onReplaced: (redis: ScriptedRedis) => void;
  /** Log outages and recoveries (false for a second connection to the same Redis). Default: true. */
  logOutages?: boolean;
  /** Resend commands cut off by a reconnection (see ClientSettings.resend). Default: true. */
  resend?: boolean;
}

/** The text for RedisUnreachableError and the like: a URL, or the location in words. */
export function addressOf(location: RedisLocation): string {
  return location.kind === 'server' ? location.url : describeLocation(location).replace(/^Redis at /, '');
}

/**
 * Connects to Redis with toniq's scripts defined; rejects with RedisUnreachableError,
 * RedisTlsError or RedisRefusedError (InvalidOptionsError for tls with a redis:// URL).
 */
export async function connectRedis(options: ConnectOptions): Promise<ScriptedRedis> {
  const { location, logger, commandTimeout } = options;
  const url = location.kind === 'server' ? location.url : undefined;
  const database = url === undefined ? 0 : databaseOfUrl(url);
  // createToniq and connectAdmin checked a URL given as a string; one from a function is known only now.
  const tlsProblem = tlsOptionsProblem(
    'toniq',
    options.tls,
    url ?? (location.kind === 'cluster' ? location.seeds[0] : undefined),
  );
  if (tlsProblem) throw new InvalidOptionsError(tlsProblem);
  const insecure = insecureTlsWarning(options.tls);
  if (insecure) logger.warn({}, insecure);
  const where = describeLocation(location);
  const logOutages = options.logOutages ?? true;
  let lastError: unknown;
  let opened = false;
  const outage = new OnceUntilReset();
  const ended = new OnceUntilReset();
  const make = (): ScriptedRedis => {
    const redis = createRedisClient(location, options.tls, {
      commandTimeout,
      resend: options.resend ?? true,
      retryStrategy: (times) => redisRetryDelay(times - 1),
    });
    // Without an 'error' listener ioredis would crash the app; the outage is reported on 'close'.
    redis.on('error', (error) => {
      lastError = error;
    });
    redis.on('close', () => {
      if (logOutages && options.inUse() && outage.first()) {
        const reason = lastError instanceof Error ? ` (${lastError.message})` : '';
        logger.error(
          { err: lastError },
          `Lost the connection to ${where}${reason}; reconnecting. ` +
            `Running jobs go on; their outcomes are written once Redis is back, and enqueue fails until then.`,
        );
      }
    });
    redis.on('ready', () => {
      ended.reset();
      if (outage.reset()) {
        if (logOutages) logger.info({}, `Reconnected to ${where}.`);
        options.onReconnected();
      }
    });
    redis.on('end', () => {
      // ioredis gives up for good in a few cases (a Sentinel lookup cut short, a connect that
      // failed before its socket existed) and then fails every command without a word: a process
      // would go on with no Redis. Replace the connection, after the usual reconnection delay.
      if (!opened || !options.inUse()) return;
      if (logOutages && ended.first()) {
        logger.warn({}, `The connection to ${where} ended for good inside ioredis; opening a new one.`);
      }
      outage.first();
      const replacement = make();
      setTimeout(() => {
        // Not if the store closed meanwhile (connect() would open a connection nobody closes).
        if (options.inUse() && replacement.status === 'wait') replacement.connect().catch(() => {});
      }, redisRetryDelay(1)).unref();
      options.onReplaced(replacement);
    });
    return defineScripts(redis);
  };
  const redis = make();
  try {
    // ioredis's own connect timeout (commandTimeout) comes first where it applies, with its error.
    await connectWithin(redis, commandTimeout + 1000);
  } catch (error) {
    // connect() rejects at the first failure, and disconnect() ends ioredis's retries: a refused
    // certificate is not retried for ever.
    redis.disconnect();
    const cause = lastError ?? error;
    const tlsError = url === undefined ? undefined : await tlsErrorOf(url, options.tls, cause);
    throw tlsError ?? new RedisUnreachableError(addressOf(location), { cause });
  }
  outage.reset();
  if (database !== 0) {
    // ioredis selected it already, but reports a refusal only as an 'error' event: ask again to hear it.
    try {
      await (redis as Redis).select(database);
    } catch (error) {
      redis.disconnect();
      throw new RedisRefusedError(url!, `select database ${database}`, { cause: error });
    }
  }
  opened = true;
  return redis;
}

/**
 * With `durability`: refuses `aof` on a Redis older than 7.2 (no WAITAOF), and warns when the
 * master has fewer replicas connected than asked for (every enqueue would then fail).
 */
export async function checkDurability(
  redis: Redis | Cluster,
  durability: ResolvedDurability,
  location: RedisLocation,
): Promise<string[]> {
  const masters = 'nodes' in redis && typeof redis.nodes === 'function' ? redis.nodes('master') : [redis];
  const warnings: string[] = [];
  for (const master of masters) {
    const info = await master.info();
    const version = /^redis_version:(\d+)\.(\d+)/m.exec(info);
    const [major, minor] = [Number(version?.[1] ?? 0), Number(version?.[2] ?? 0)];
    if (durability.aof && (major < 7 || (major === 7 && minor < 2))) {
      throw new InvalidOptionsError(
        `durability.aof needs WAITAOF, which Redis 7.2 added, but ${describeLocation(location)} runs Redis ` +
          `${major}.${minor}. Upgrade Redis to 7.2 or later, or leave aof out: replicas then confirm that they ` +
          'hold each write in memory (with appendfsync always on them, it reaches their disk within a moment).',
      );
    }
    const replicas = Number(/^connected_slaves:(\d+)/m.exec(info)?.[1] ?? 0);
    if (replicas < durability.replicas) {
      warnings.push(
        `durability.replicas is ${durability.replicas}, but a Redis master of ${describeLocation(location)} has ` +
          `${replicas} replica${replicas === 1 ? '' : 's'} connected: every enqueue fails with NotReplicatedError until ` +
          'enough replicas are connected. Start them, or lower durability.replicas.',
      );
    }
  }
  return warnings;
}

/** Warnings about the server's settings that put jobs at risk (nearly full, or evicting keys). */
export async function checkServer(redis: Redis | Cluster): Promise<string[]> {
  const warnings: string[] = [];
  try {
    const memory = await redis.info('memory');
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
    const reply = (await redis.config('GET', 'maxmemory-policy')) as string[];
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

/** The location of the store's options, a URL provider function awaited (its throw: RedisUnreachableError). */
export async function resolveLocation(options: RedisWhereOptions): Promise<RedisLocation> {
  const { redisUrl } = options;
  let url: string | undefined;
  try {
    url = typeof redisUrl === 'function' ? await redisUrl() : redisUrl;
  } catch (error) {
    throw new RedisUnreachableError('(the URL provider function threw)', { cause: error });
  }
  return locationOf({ ...options, redisUrl: url }, DEFAULT_REDIS_URL);
}
