/**
 * The store's connection to Redis: opens it (refusing to start with a clear error when Redis is
 * unreachable, refuses the database, or TLS fails: see tls-diagnosis.ts), logs an outage once and
 * the reconnection once, and checks at start that Redis will not evict toniq's keys. Kept apart
 * from the store's verbs, which only need a connected client.
 */
import { Redis } from 'ioredis';
import { InvalidOptionsError, maskRedisUrl, RedisRefusedError, RedisUnreachableError } from '../../errors.js';
import { OnceUntilReset } from '../../log-once.js';
import type { Logger } from '../../logger.js';
import { redisRetryDelay } from '../../timers.js';
import { insecureTlsWarning, type RedisTlsOptions, tlsOptionsProblem } from '../../tls-options.js';
import { databaseOfUrl } from './redis-url.js';
import { defineScripts, type ScriptedRedis } from './scripts.js';
import { tlsErrorOf } from './tls-diagnosis.js';

export interface ConnectOptions {
  url: string;
  /** ioredis's `tls`, for every connection made from this one (duplicate()) too. */
  tls: RedisTlsOptions | undefined;
  logger: Logger;
  /** How long connecting may take, and how long a command may take, in ms. */
  commandTimeout: number;
  /** Whether the store uses the connection now: an outage is logged only then (not while opening or closing). */
  inUse: () => boolean;
  /** Called when the connection is back after an outage. */
  onReconnected: () => void;
}

/**
 * Connects to Redis with toniq's scripts defined; rejects with RedisUnreachableError,
 * RedisTlsError or RedisRefusedError (InvalidOptionsError for tls with a redis:// URL).
 */
export async function connectRedis(options: ConnectOptions): Promise<ScriptedRedis> {
  const { url, logger, commandTimeout } = options;
  const database = databaseOfUrl(url);
  // createToniq and connectAdmin checked a URL given as a string; one from a function is known only now.
  const tlsProblem = tlsOptionsProblem('toniq', options.tls, url);
  if (tlsProblem) throw new InvalidOptionsError(tlsProblem);
  const insecure = insecureTlsWarning(options.tls);
  if (insecure) logger.warn({}, insecure);
  const redis = new Redis(url, {
    // Only when given: ioredis turns TLS on for a rediss:// URL by itself, with node's default CAs.
    ...(options.tls ? { tls: options.tls } : {}),
    lazyConnect: true,
    // Fail fast while disconnected instead of queueing: enqueue must answer within a bounded time.
    enableOfflineQueue: false,
    commandTimeout,
    connectTimeout: commandTimeout,
    maxRetriesPerRequest: 1,
    retryStrategy: (times) => redisRetryDelay(times - 1),
  });
  let lastError: unknown;
  const outage = new OnceUntilReset();
  // Without an 'error' listener ioredis would crash the app; the outage is reported on 'close'.
  redis.on('error', (error) => {
    lastError = error;
  });
  redis.on('close', () => {
    if (options.inUse() && outage.first()) {
      const reason = lastError instanceof Error ? ` (${lastError.message})` : '';
      logger.error(
        { err: lastError },
        `Lost the connection to Redis at ${maskRedisUrl(url)}${reason}; reconnecting. ` +
          `Running jobs go on; their outcomes are written once Redis is back, and enqueue fails until then.`,
      );
    }
  });
  redis.on('ready', () => {
    if (outage.reset()) {
      logger.info({}, `Reconnected to Redis at ${maskRedisUrl(url)}.`);
      options.onReconnected();
    }
  });
  try {
    await redis.connect();
  } catch (error) {
    // connect() rejects at the first failure, and disconnect() ends ioredis's retries: a refused
    // certificate is not retried for ever.
    redis.disconnect();
    const cause = lastError ?? error;
    throw (await tlsErrorOf(url, options.tls, cause)) ?? new RedisUnreachableError(url, { cause });
  }
  outage.reset();
  if (database !== 0) {
    // ioredis selected it already, but reports a refusal only as an 'error' event: ask again to hear it.
    try {
      await redis.select(database);
    } catch (error) {
      redis.disconnect();
      throw new RedisRefusedError(url, `select database ${database}`, { cause: error });
    }
  }
  return defineScripts(redis);
}

/** Warnings about the server's settings that put jobs at risk (nearly full, or evicting keys). */
export async function checkServer(redis: Redis): Promise<string[]> {
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
