/**
 * A Redis Cluster, a Sentinel setup or a master with replicas, started before a test file's tests
 * and stopped after them. Apart from the modules that start them (redis-cluster.ts,
 * redis-sentinel.ts, redis-replicated.ts) so that the benches and the chaos check can start the
 * same topologies without importing node:test (which prints a TAP report at exit).
 */
import { after, before } from 'node:test';
import { type StartRedisClusterOptions, startRedisCluster, type TestRedisCluster } from './redis-cluster.js';
import { startReplicatedRedis, type TestReplicatedRedis } from './redis-replicated.js';
import {
  type StartRedisSentinelOptions,
  startRedisSentinel,
  type TestRedisSentinel,
} from './redis-sentinel.js';

/** `{ [name]: what start() made }`, filled in before the file's tests and stopped after them. */
function useStarted<K extends string, T extends { stop(): Promise<void> }>(
  name: K,
  start: () => Promise<T>,
): { readonly [P in K]: T } {
  const holder = {} as Record<K, T>;
  before(async () => {
    holder[name] = await start();
  });
  after(async () => {
    await holder[name]?.stop();
  });
  return holder;
}

export function useRedisCluster(options?: StartRedisClusterOptions): { readonly cluster: TestRedisCluster } {
  return useStarted('cluster', () => startRedisCluster(options));
}

export function useRedisSentinel(options?: StartRedisSentinelOptions): {
  readonly sentinel: TestRedisSentinel;
} {
  return useStarted('sentinel', () => startRedisSentinel(options));
}

export function useReplicatedRedis(options?: { replicas?: number }): { readonly setup: TestReplicatedRedis } {
  return useStarted('setup', () => startReplicatedRedis(options));
}
