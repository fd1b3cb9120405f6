/**
 * The Redis the chaos check runs on, and how it is crashed:
 * - `server` (the default): one redis-server, SIGKILLed and restarted on the same port and data;
 * - `cluster` (--cluster): a real Redis Cluster of 3 masters and 3 replicas; the master holding
 *   the app's slot is SIGKILLed, its replica takes over, and the killed node rejoins as a replica;
 * - `sentinel` (--sentinel): a master, a replica and three sentinels; the master is SIGKILLed, the
 *   sentinels promote the replica, and the killed node comes back as its replica.
 * With a Cluster or Sentinel the workers run with `durability: { replicas: 1 }`, so that an
 * acknowledged enqueue is on the replica that a failover promotes.
 */
import type { Cluster, Redis } from 'ioredis';
import { startRedisCluster } from '../../test/harness/redis-cluster.js';
import { startRedisSentinel } from '../../test/harness/redis-sentinel.js';
import { startRedis } from '../../test/harness/redis-server.js';
import type { ChaosWorkerConfig } from './chaos-worker.js';

export type ChaosTopology = 'server' | 'cluster' | 'sentinel';

/** Where the workers find Redis (the part of their config that says so). */
export type ChaosWhere = Pick<
  ChaosWorkerConfig,
  'redisUrl' | 'redisCluster' | 'redisSentinel' | 'tls' | 'durability'
>;

export interface ChaosRedis {
  readonly topology: ChaosTopology;
  /** One line for the progress output. */
  readonly description: string;
  /** The port of the single server, or of the first node. */
  readonly port: number;
  readonly where: ChaosWhere;
  /** A client for the conductor's reads and probes. */
  client(): Redis | Cluster;
  /**
   * SIGKILLs the server or master, and brings the topology back to full strength: the server
   * restarted after `downMs`, or the failover waited for and the killed node restarted as a
   * replica. Resolves with what happened, for the progress output.
   */
  crash(downMs: number, progress: (line: string) => void): Promise<void>;
  /** The keys matching `pattern` on every master. */
  scanKeys(pattern: string): Promise<string[]>;
  stop(): Promise<void>;
}

async function scanNode(client: Redis, pattern: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  return keys;
}

export async function startChaosRedis(
  topology: ChaosTopology,
  tls: boolean,
  keyPrefix: string,
): Promise<ChaosRedis> {
  if (topology === 'server') {
    const redis = await startRedis({ appendonly: true, tls });
    const client = redis.client();
    return {
      topology,
      description: `redis-server on port ${redis.port} (appendonly yes, appendfsync always${tls ? ', TLS only' : ''})`,
      port: redis.port,
      where: {
        redisUrl: redis.url,
        ...(redis.certificates ? { tls: { ca: redis.certificates.ca } } : {}),
      },
      client: () => client,
      async crash(downMs, progress) {
        progress(`SIGKILL redis-server; restarting it in ${downMs} ms`);
        await redis.kill();
        await new Promise((resolve) => setTimeout(resolve, downMs));
        await redis.restart();
        progress('redis-server is back (same port, same appendonly file)');
      },
      scanKeys: (pattern) => scanNode(client, pattern),
      stop: () => redis.stop(),
    };
  }
  if (tls) throw new Error('--tls goes with the single server only');
  if (topology === 'cluster') {
    const cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1, nodeTimeout: 1000 });
    const client = cluster.client();
    return {
      topology,
      description: `a Redis Cluster of 3 masters and 3 replicas on ports ${cluster.nodes.map((node) => node.port).join(', ')} (appendonly yes, appendfsync always); durability: { replicas: 1 }`,
      port: cluster.nodes[0]!.port,
      where: { redisCluster: cluster.seedUrls, durability: { replicas: 1 } },
      client: () => client,
      async crash(_downMs, progress) {
        const victim = await cluster.masterForKey(`{${keyPrefix}}:processes`);
        progress(`SIGKILL the master on port ${victim}, which holds the slot of {${keyPrefix}}`);
        const killedAt = Date.now();
        await cluster.killMaster(victim);
        const promoted = await cluster.waitForFailover(victim, 30_000);
        progress(
          `its replica on port ${promoted} is master, ${Date.now() - killedAt} ms after the kill; restarting ${victim}`,
        );
        await cluster.restartNode(victim);
        progress(`${victim} is back, as a replica of ${promoted}`);
      },
      async scanKeys(pattern) {
        const masters = client.nodes('master');
        return (await Promise.all(masters.map((node) => scanNode(node, pattern)))).flat();
      },
      stop: () => cluster.stop(),
    };
  }
  const sentinel = await startRedisSentinel({ name: 'mymaster', downAfter: 1000, failoverTimeout: 3000 });
  const client = sentinel.client();
  return {
    topology,
    description: `a Sentinel setup: master on ${sentinel.dataPorts[0]}, replica on ${sentinel.dataPorts[1]}, sentinels on ${sentinel.sentinels.map((s) => s.port).join(', ')}; durability: { replicas: 1 }`,
    port: sentinel.dataPorts[0]!,
    where: {
      redisSentinel: {
        sentinels: sentinel.sentinels.map(({ host, port }) => `${host}:${port}`),
        name: sentinel.name,
      },
      durability: { replicas: 1 },
    },
    client: () => client,
    async crash(_downMs, progress) {
      const killedAt = Date.now();
      const killed = await sentinel.killMaster();
      progress(`SIGKILL the master on port ${killed}`);
      const promoted = await sentinel.waitForFailover(30_000);
      progress(
        `the sentinels promoted ${promoted}, ${Date.now() - killedAt} ms after the kill; restarting ${killed}`,
      );
      await sentinel.restartDataNode(killed);
      progress(`${killed} is back, as a replica of ${promoted}`);
    },
    scanKeys: (pattern) => scanNode(client, pattern),
    stop: () => sentinel.stop(),
  };
}
