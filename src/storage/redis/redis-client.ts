/**
 * Makes the ioredis client for a RedisLocation: one server, a Cluster, or a master found through
 * Sentinel. Every connection toniq opens comes from here (the store's, the subscriber's, the
 * keepalive thread's from its copy of the location), so all connect the same way and carry the
 * same failover settings:
 * 1. `READONLY` (a master demoted to replica under the connection) and `LOADING` (a restarted
 *    server reading its data) reconnect and send the command again (`reconnectOnError`);
 * 2. on a Cluster, a command that meets a failover, CLUSTERDOWN or TRYAGAIN is retried after
 *    a short delay, and the slots are read again;
 * 3. with Sentinel, the master is asked of the sentinels at every reconnection, and a
 *    `+switch-master` they announce drops the connection at once (`failoverDetector`).
 */
import { Cluster, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';
import type { RedisLocation } from '../../redis-location.js';
import type { RedisTlsOptions } from '../../tls-options.js';

export interface ClientSettings {
  /** How long a command may take, in ms. */
  commandTimeout: number;
  /** How long connecting may take, in ms. Default: commandTimeout. */
  connectTimeout?: number;
  /** The delay before the n-th reconnection attempt, in ms. */
  retryStrategy: (times: number) => number;
  /** Default: true. */
  lazyConnect?: boolean;
  /** Default: false (fail fast while disconnected: enqueue must answer within a bounded time). */
  enableOfflineQueue?: boolean;
  /**
   * Whether commands cut off by a lost connection, or answered READONLY/LOADING, are sent again
   * after reconnecting. Default: true. False for writes whose caller has been told they failed
   * and undoes them: a copy resent later would land after the undo.
   */
  resend?: boolean;
}

/** How long a command that met a failover, CLUSTERDOWN or TRYAGAIN waits before it is sent again, in ms. */
const CLUSTER_RETRY_DELAY = 200;

/** Replies after which the connection is made again, and the command resent (2) or failed (1). */
function reconnectOnError(resend: boolean): (error: Error) => 1 | 2 | false {
  return (error) => (/^(READONLY|LOADING)\b/.test(error.message) ? (resend ? 2 : 1) : false);
}

export function createRedisClient(
  location: RedisLocation,
  tls: RedisTlsOptions | undefined,
  settings: ClientSettings,
): Redis | Cluster {
  const common: RedisOptions = {
    // Only when given: ioredis turns TLS on for a rediss:// URL by itself, with node's default CAs.
    ...(tls ? { tls } : {}),
    commandTimeout: settings.commandTimeout,
    connectTimeout: settings.connectTimeout ?? settings.commandTimeout,
    maxRetriesPerRequest: 1,
    reconnectOnError: reconnectOnError(settings.resend ?? true),
    autoResendUnfulfilledCommands: settings.resend ?? true,
  };
  const lazyConnect = settings.lazyConnect ?? true;
  const enableOfflineQueue = settings.enableOfflineQueue ?? false;
  switch (location.kind) {
    case 'server':
      return new Redis(location.url, {
        ...common,
        lazyConnect,
        enableOfflineQueue,
        retryStrategy: settings.retryStrategy,
      });
    case 'cluster': {
      const seeds = location.seeds.map((seed) => new URL(seed));
      const first = seeds[0]!;
      const tlsOn = first.protocol === 'rediss:';
      const options: ClusterOptions = {
        lazyConnect,
        enableOfflineQueue,
        clusterRetryStrategy: settings.retryStrategy,
        retryDelayOnFailover: CLUSTER_RETRY_DELAY,
        retryDelayOnClusterDown: CLUSTER_RETRY_DELAY,
        retryDelayOnTryAgain: CLUSTER_RETRY_DELAY,
        slotsRefreshTimeout: Math.min(settings.commandTimeout, 2000),
        redisOptions: {
          ...common,
          ...(tlsOn && !tls ? { tls: {} } : {}),
          ...(first.username ? { username: decodeURIComponent(first.username) } : {}),
          ...(first.password ? { password: decodeURIComponent(first.password) } : {}),
        },
      };
      return new Cluster(
        seeds.map((seed) => ({ host: seed.hostname, port: Number(seed.port) })),
        options,
      );
    }
    case 'sentinel':
      return new Redis({
        ...common,
        lazyConnect,
        enableOfflineQueue,
        retryStrategy: settings.retryStrategy,
        sentinels: location.sentinels,
        name: location.name,
        role: 'master',
        ...(location.password !== undefined ? { password: location.password } : {}),
        ...(location.sentinelPassword !== undefined ? { sentinelPassword: location.sentinelPassword } : {}),
        // The sentinels speak TLS when the data nodes do (one tls option for both).
        ...(tls ? { enableTLSForSentinelMode: true, sentinelTLS: tls } : {}),
        // Never give up asking the sentinels: ioredis would leave the connection ended for good.
        sentinelRetryStrategy: settings.retryStrategy,
        // Drop the connection as soon as the sentinels announce a new master, not after a timeout.
        failoverDetector: true,
      });
  }
}

/**
 * Connects, or rejects after `ms`: ioredis's connect() can wait for ever on a Cluster whose
 * slots point at a dead master (before the failover) or behind sentinels that all stay silent,
 * and start() must answer. The client is disconnected on the timeout.
 */
export async function connectWithin(client: Redis | Cluster, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      client.disconnect();
      // ETIMEDOUT, as a socket's own timeout says: tls-diagnosis.ts then looks whether TLS on one
      // side only is why (a plain server waits for a command the TLS greeting never ends).
      reject(
        Object.assign(new Error(`Connection is closed: no connection within ${ms} ms`), {
          code: 'ETIMEDOUT',
        }),
      );
    }, ms);
  });
  try {
    await Promise.race([client.connect(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
