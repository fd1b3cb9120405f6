/**
 * Opens a Redis store for an admin that runs without a toniq process (connectAdmin: the CLI,
 * `toniq ui`, an app serving the admin apart from its workers), so that the admin API depends on
 * the storage contract only, not on RedisStore.
 */
import type { Logger } from '../../logger.js';
import type { RedisWhereOptions } from '../../redis-location.js';
import type { RedisTlsOptions } from '../../tls-options.js';
import type { AdminJobStore } from '../admin-store.js';
import { RedisStore } from './redis-store.js';

/** Where Redis is: one of redisUrl (a URL or an async function that returns one), redisCluster, redisSentinel. */
export interface OpenAdminStoreOptions extends RedisWhereOptions {
  /** ioredis's `tls` (see RedisTlsOptions); refused with a redis:// URL. */
  tls?: RedisTlsOptions;
  keyPrefix: string;
  logger: Logger;
  /** How long opening waits for Redis, and how long a command may take, in ms. */
  commandTimeout: number;
}

/**
 * The opened store and the warnings about the server (nearly full, evicting keys). Rejects with
 * RedisUnreachableError, RedisTlsError or RedisRefusedError as the store's open does. The caller closes the store.
 */
export async function openAdminStore(
  options: OpenAdminStoreOptions,
): Promise<{ store: AdminJobStore; warnings: string[] }> {
  const store = new RedisStore(options);
  const warnings = await store.open();
  return { store, warnings };
}
