/**
 * Where a test's Redis is, for test files that run the same cases on several topologies: a
 * single server (redis-server.ts) or a real Redis Cluster (redis-cluster.ts). Each gives the
 * options createToniq and the child processes take, a client for looking in, and a toniq factory.
 */
import { after } from 'node:test';
import type { Cluster, Redis } from 'ioredis';
import { createToniq, type Toniq, type ToniqOptions } from '../../src/index.js';
import { randomPrefix, recordingLogger, useRedis } from './fixtures.js';
import { useRedisCluster } from './use-topologies.js';

export interface RedisTarget {
  /** createToniq's (and startChild's) option that says where Redis is. */
  where(): { redisUrl: string } | { redisCluster: string[] };
  client(): Redis | Cluster;
  /** Starts a toniq on this Redis (a random key prefix unless given), stopped after the file. */
  newToniq(options?: ToniqOptions): Promise<Toniq & { logger: ReturnType<typeof recordingLogger> }>;
}

function targetOf(where: RedisTarget['where'], client: RedisTarget['client']): RedisTarget {
  const started: Toniq[] = [];
  after(async () => {
    await Promise.all(started.map((toniq) => toniq.stop({ timeout: 100 })));
  });
  return {
    where,
    client,
    async newToniq(options = {}) {
      const logger = recordingLogger();
      const toniq = createToniq({ ...where(), keyPrefix: randomPrefix(), logger, ...options });
      started.push(toniq);
      await toniq.start();
      return Object.assign(toniq, {
        logger: (options.logger as ReturnType<typeof recordingLogger>) ?? logger,
      });
    },
  };
}

export function singleServer(): RedisTarget {
  const server = useRedis();
  return targetOf(
    () => ({ redisUrl: server.redis.url }),
    () => server.redis.client(),
  );
}

export function redisCluster(): RedisTarget {
  const topology = useRedisCluster({ masters: 3, replicasPerMaster: 1, nodeTimeout: 1000 });
  return targetOf(
    () => ({ redisCluster: topology.cluster.seedUrls }),
    () => topology.cluster.client(),
  );
}
