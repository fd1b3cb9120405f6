/**
 * Where Redis is: one server (`redisUrl`), a Redis Cluster (`redisCluster`, its seed nodes) or a
 * master found through Sentinel (`redisSentinel`), and the `durability` asked of its replicas.
 *
 * 1. The options' types and their checks (createToniq, connectAdmin and the CLI share them):
 *    exactly one of the three, each of the right shape.
 * 2. `RedisLocation`, the resolved description: data only, so that the keepalive thread, the
 *    pub/sub subscriber and the admin connect the same way as the store from a copy of it.
 * 3. How a location reads in messages (passwords masked).
 */
import { maskRedisUrl } from './errors.js';
import { durationProblem } from './timers.js';

/**
 * A Redis master and its replicas, watched by Redis Sentinel: toniq asks the sentinels where the
 * master is, and asks again after a failover.
 * @example { sentinels: ['10.0.0.1:26379', '10.0.0.2:26379', '10.0.0.3:26379'], name: 'mymaster' }
 */
export interface RedisSentinelOptions {
  /** The sentinels, as `host:port`; one that answers is enough. */
  sentinels: readonly string[];
  /** The name the sentinels monitor the master under (`sentinel monitor <name> …`). */
  name: string;
  /** The password of the master and replicas (`requirepass`). Default: none. */
  password?: string;
  /** The password of the sentinels themselves (`requirepass` in sentinel.conf). Default: none. */
  sentinelPassword?: string;
}

/**
 * How many replicas must have a new job before `enqueue` resolves (Redis's WAIT; with `aof`,
 * WAITAOF). One WAIT covers every job written in the same event-loop turn.
 * @example { durability: { replicas: 1 } }
 */
export interface DurabilityOptions {
  /** How many replicas must confirm each write of new jobs (1 or more). */
  replicas: number;
  /**
   * How long to wait for them, in ms; then enqueue rejects with NotReplicatedError and the job
   * is not run. Must be below enqueueTimeout. Default: 2000, or half of enqueueTimeout when
   * that is less.
   */
  timeout?: number;
  /**
   * Also wait until the master and those replicas have the write in their append-only file
   * (WAITAOF, Redis 7.2 or later; start() refuses an older server). Default: false.
   */
  aof?: boolean;
}

/** `durability` with its default filled in. */
export interface ResolvedDurability {
  replicas: number;
  timeout: number;
  aof: boolean;
}

/** Where Redis is, resolved (a URL from a provider function awaited): data only, copied to threads. */
export type RedisLocation =
  | { kind: 'server'; url: string }
  | { kind: 'cluster'; seeds: string[] }
  | {
      kind: 'sentinel';
      sentinels: Array<{ host: string; port: number }>;
      name: string;
      password?: string;
      sentinelPassword?: string;
    };

/** The three ways to say where Redis is, as createToniq and connectAdmin take them. */
export interface RedisWhereOptions {
  redisUrl?: string | (() => string | Promise<string>);
  redisCluster?: readonly string[];
  redisSentinel?: RedisSentinelOptions;
}

const SENTINEL_OPTIONS = ['sentinels', 'name', 'password', 'sentinelPassword'];
const DURABILITY_OPTIONS = ['replicas', 'timeout', 'aof'];
const SEED_EXAMPLE = "['redis://10.0.0.1:7000', 'redis://10.0.0.2:7000']";

/**
 * Why the Redis options cannot be used (`where`: "createToniq"), or undefined when they can:
 * more than one of redisUrl, redisCluster and redisSentinel, or one of the wrong shape.
 * redisUrl's own checks stay with its callers.
 */
export function redisWhereProblem(where: string, options: RedisWhereOptions): string | undefined {
  const given = (['redisUrl', 'redisCluster', 'redisSentinel'] as const).filter(
    (name) => options[name] !== undefined,
  );
  if (given.length > 1) {
    return (
      `${where}: give one of redisUrl, redisCluster and redisSentinel, not ${given.join(' and ')}: ` +
      'one server, the seed nodes of a Redis Cluster, or the sentinels of a master.'
    );
  }
  if (options.redisCluster !== undefined) return clusterProblem(where, options.redisCluster);
  if (options.redisSentinel !== undefined) return sentinelProblem(where, options.redisSentinel);
  return undefined;
}

function clusterProblem(where: string, seeds: unknown): string | undefined {
  if (!Array.isArray(seeds) || seeds.length === 0) {
    return `${where}: redisCluster must be a non-empty array of seed node URLs, like ${SEED_EXAMPLE}; got ${describe(seeds)}.`;
  }
  for (const seed of seeds) {
    if (typeof seed !== 'string' || !/^rediss?:\/\/[^/]+:\d+\/?$/.test(seed)) {
      return (
        `${where}: every redisCluster seed must be a redis:// or rediss:// URL with a port and no database ` +
        `(a cluster has database 0 only), like ${SEED_EXAMPLE}; got ${typeof seed === 'string' ? JSON.stringify(maskRedisUrl(seed)) : describe(seed)}.`
      );
    }
  }
  const schemes = new Set(seeds.map((seed: string) => seed.slice(0, seed.indexOf(':'))));
  if (schemes.size > 1) {
    return `${where}: the redisCluster seeds mix redis:// and rediss://; the nodes of one cluster all speak TLS or none does.`;
  }
  return undefined;
}

function sentinelProblem(where: string, sentinel: unknown): string | undefined {
  const example = "{ sentinels: ['10.0.0.1:26379', '10.0.0.2:26379'], name: 'mymaster' }";
  if (typeof sentinel !== 'object' || sentinel === null || Array.isArray(sentinel)) {
    return `${where}: redisSentinel must be an object like ${example}; got ${describe(sentinel)}.`;
  }
  const unknown = Object.keys(sentinel).filter((key) => !SENTINEL_OPTIONS.includes(key));
  if (unknown.length) {
    return `${where}: redisSentinel got the unknown option "${unknown[0]}". Known options: ${SENTINEL_OPTIONS.join(', ')}.`;
  }
  const { sentinels, name, password, sentinelPassword } = sentinel as Record<string, unknown>;
  if (!Array.isArray(sentinels) || sentinels.length === 0) {
    return `${where}: redisSentinel.sentinels must be a non-empty array of 'host:port' strings, like ${example}; got ${describe(sentinels)}.`;
  }
  for (const address of sentinels) {
    if (typeof address !== 'string' || !/^[^\s:/]+:\d{1,5}$/.test(address)) {
      return `${where}: every redisSentinel.sentinels entry must be 'host:port', like '10.0.0.1:26379'; got ${describe(address)}.`;
    }
  }
  if (typeof name !== 'string' || name === '') {
    return `${where}: redisSentinel.name must be the name the sentinels monitor the master under (sentinel monitor <name> …), like 'mymaster'; got ${describe(name)}.`;
  }
  for (const [field, value] of [
    ['password', password],
    ['sentinelPassword', sentinelPassword],
  ] as const) {
    if (value !== undefined && typeof value !== 'string') {
      return `${where}: redisSentinel.${field} must be a string; got ${describe(value)}.`;
    }
  }
  return undefined;
}

/** Why `durability` cannot be used, or undefined; `enqueueTimeout` bounds its timeout. */
export function durabilityProblem(
  where: string,
  durability: unknown,
  enqueueTimeout: number,
): string | undefined {
  if (durability === undefined) return undefined;
  const example = '{ replicas: 1, timeout: 2000 }';
  if (typeof durability !== 'object' || durability === null || Array.isArray(durability)) {
    return `${where}: durability must be an object like ${example}; got ${describe(durability)}.`;
  }
  const unknown = Object.keys(durability).filter((key) => !DURABILITY_OPTIONS.includes(key));
  if (unknown.length) {
    return `${where}: durability got the unknown option "${unknown[0]}". Known options: ${DURABILITY_OPTIONS.join(', ')}.`;
  }
  const { replicas, timeout, aof } = durability as Record<string, unknown>;
  if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 1) {
    return (
      `${where}: durability.replicas must be an integer ≥ 1 (how many replicas must confirm each enqueue); ` +
      `got ${describe(replicas)}. Leave durability out to confirm on the master alone.`
    );
  }
  if (timeout !== undefined) {
    const problem = durationProblem(timeout, {});
    if (problem) return `${where}: durability.timeout ${problem}.`;
    if ((timeout as number) >= enqueueTimeout) {
      return (
        `${where}: durability.timeout (${timeout} ms) must be below enqueueTimeout (${enqueueTimeout} ms), ` +
        'or the enqueue gives up before the replicas can answer. Lower the one or raise the other.'
      );
    }
  }
  if (aof !== undefined && typeof aof !== 'boolean') {
    return `${where}: durability.aof must be true or false; got ${describe(aof)}.`;
  }
  return undefined;
}

/** `durability` with its default timeout (2000 ms, or half of enqueueTimeout when less); checked before. */
export function resolveDurability(
  durability: DurabilityOptions | undefined,
  enqueueTimeout: number,
): ResolvedDurability | undefined {
  if (!durability) return undefined;
  return {
    replicas: durability.replicas,
    timeout: durability.timeout ?? Math.min(2000, Math.floor(enqueueTimeout / 2)),
    aof: durability.aof ?? false,
  };
}

/** The location of checked options whose URL (if any) is known: a copy, data only. */
export function locationOf(
  options: RedisWhereOptions & { redisUrl?: string },
  defaultUrl: string,
): RedisLocation {
  if (options.redisCluster) return { kind: 'cluster', seeds: [...options.redisCluster] };
  const sentinel = options.redisSentinel;
  if (sentinel) {
    return {
      kind: 'sentinel',
      sentinels: sentinel.sentinels.map((address) => {
        const at = address.lastIndexOf(':');
        return { host: address.slice(0, at), port: Number(address.slice(at + 1)) };
      }),
      name: sentinel.name,
      ...(sentinel.password !== undefined ? { password: sentinel.password } : {}),
      ...(sentinel.sentinelPassword !== undefined ? { sentinelPassword: sentinel.sentinelPassword } : {}),
    };
  }
  return { kind: 'server', url: options.redisUrl ?? defaultUrl };
}

/** The location in words, for log lines and errors: "Redis at redis://…", passwords masked. */
export function describeLocation(location: RedisLocation): string {
  switch (location.kind) {
    case 'server':
      return `Redis at ${maskRedisUrl(location.url)}`;
    case 'cluster':
      return `the Redis Cluster seeded by ${location.seeds.map(maskRedisUrl).join(', ')}`;
    case 'sentinel':
      return `the Redis master "${location.name}" of the sentinels ${location.sentinels
        .map(({ host, port }) => `${host}:${port}`)
        .join(', ')}`;
  }
}

/** Whether connections to this location use TLS by its own saying (a rediss:// URL or seeds). */
export function locationSaysTls(location: RedisLocation): boolean | undefined {
  if (location.kind === 'server') return location.url.startsWith('rediss://');
  if (location.kind === 'cluster') return location.seeds[0]!.startsWith('rediss://');
  return undefined; // Sentinel: the tls option alone decides.
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array (${JSON.stringify(value).slice(0, 60)})`;
  if (typeof value === 'object') return `an object (${value.constructor?.name ?? 'Object'})`;
  return typeof value === 'string' ? JSON.stringify(value) : `${typeof value} ${String(value)}`;
}
