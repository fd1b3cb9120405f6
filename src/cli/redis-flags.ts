/**
 * Where the CLI finds Redis: --redis-url (or $REDIS_URL), --cluster url,url,… (a Redis Cluster's
 * seed nodes) or --sentinel host:port,… with --sentinel-name (a master watched by Sentinel).
 * The same checks as createToniq's (redis-location.ts), reported as usage errors.
 */
import { maskRedisUrl } from '../errors.js';
import {
  describeLocation,
  locationOf,
  type RedisWhereOptions,
  redisWhereProblem,
} from '../redis-location.js';
import { DEFAULT_REDIS_URL } from '../storage/redis/redis-url.js';
import type { GlobalValues } from './args.js';
import { UsageError } from './cli-errors.js';

export interface RedisFlags {
  /** What connectAdmin takes. */
  where: RedisWhereOptions & { redisUrl?: string };
  /** A URL whose scheme says whether TLS is used (the URL, the first seed), if there is one. */
  url: string | undefined;
  /** "Redis at redis://…", "the Redis Cluster seeded by …", passwords masked. */
  description: string;
}

const list = (text: string) =>
  text
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);

export function redisFlagsOf(global: GlobalValues, env: Record<string, string | undefined>): RedisFlags {
  const given = (
    [
      ['--redis-url', global.redisUrl],
      ['--cluster', global.cluster],
      ['--sentinel', global.sentinel],
    ] as const
  ).filter(([, value]) => value !== undefined);
  if (given.length > 1) {
    throw new UsageError(
      `Give one of --redis-url, --cluster and --sentinel, not ${given.map(([flag]) => flag).join(' and ')}.`,
    );
  }
  if (global.sentinelName !== undefined && global.sentinel === undefined) {
    throw new UsageError('--sentinel-name goes with --sentinel host:port,… (the sentinels to ask).');
  }
  let where: RedisFlags['where'];
  if (global.cluster !== undefined) {
    where = { redisCluster: list(global.cluster) };
  } else if (global.sentinel !== undefined) {
    if (global.sentinelName === undefined) {
      throw new UsageError(
        '--sentinel needs --sentinel-name <name>: the name the sentinels monitor the master under (like mymaster).',
      );
    }
    where = { redisSentinel: { sentinels: list(global.sentinel), name: global.sentinelName } };
  } else {
    const redisUrl = global.redisUrl ?? env.REDIS_URL ?? DEFAULT_REDIS_URL;
    checkRedisUrl(redisUrl, global.redisUrl !== undefined ? '--redis-url' : 'REDIS_URL');
    where = { redisUrl };
  }
  const problem = redisWhereProblem('toniq', where);
  if (problem) {
    // "toniq: redisCluster must …" speaks of the option; the CLI user gave the flag.
    throw new UsageError(
      problem
        .replace(/^toniq: /, '')
        .replace(/redisCluster( seeds?)?/g, '--cluster$1')
        .replace(/redisSentinel\.sentinels/g, '--sentinel'),
    );
  }
  return {
    where,
    url: where.redisUrl ?? where.redisCluster?.[0],
    description: describeLocation(locationOf(where, DEFAULT_REDIS_URL)),
  };
}

/** A URL that is not redis:// or rediss:// would fail later with a puzzling network error. */
function checkRedisUrl(url: string, from: '--redis-url' | 'REDIS_URL'): void {
  let protocol: string | undefined;
  try {
    protocol = new URL(url).protocol;
  } catch {}
  if (protocol !== 'redis:' && protocol !== 'rediss:') {
    throw new UsageError(
      `${from} must be a redis:// or rediss:// URL, like redis://user:password@host:6379/0; got "${maskRedisUrl(url)}".`,
    );
  }
}
