/**
 * toniq on a real Redis Cluster that speaks only TLS (clients, cluster bus, replication): the
 * store, the keepalive thread, the pub/sub subscriber and the admin all connect with the `tls`
 * option and rediss:// seeds.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { connectAdmin, createToniq, defineWorker, type Toniq } from '../src/index.js';
import { keysFor } from '../src/storage/keys.js';
import { eventually } from './harness/eventually.js';
import { FAST_TAKEOVER, randomPrefix, recordingLogger } from './harness/fixtures.js';
import { useRedisCluster } from './harness/use-topologies.js';

const topology = useRedisCluster({ masters: 3, replicasPerMaster: 1, tls: true });
const ran: string[] = [];
const work = defineWorker('Work', (args: { label: string }) => {
  ran.push(args.label);
});

const started: Toniq[] = [];
after(async () => {
  await Promise.all(started.map((toniq) => toniq.stop({ timeout: 100 })));
});

describe('a Redis Cluster over TLS', () => {
  it('enqueues and runs jobs, keeps its heartbeat, wakes another process and is read by the admin', async () => {
    const { cluster } = topology;
    assert.ok(cluster.seedUrls.every((url) => url.startsWith('rediss://')));
    const keyPrefix = randomPrefix();
    const start = async () => {
      const toniq = createToniq({
        redisCluster: cluster.seedUrls,
        tls: cluster.tls!,
        keyPrefix,
        workers: [work],
        logger: recordingLogger(),
        ...FAST_TAKEOVER,
      });
      started.push(toniq);
      await toniq.start();
      return toniq;
    };
    const one = await start();
    const two = await start();
    await one.enqueue(work, { label: 'here' });
    // Over pub/sub: the other process is woken at once.
    await one.enqueueOn(two.processId, work, { label: 'there' });
    await eventually(() => assert.deepEqual([...ran].sort(), ['here', 'there']), {
      what: 'both jobs to run',
    });
    // The keepalive threads beat over TLS: each heartbeat (it holds the beat's time) is renewed.
    const client = cluster.client();
    for (const toniq of [one, two]) {
      const heartbeat = keysFor(keyPrefix).process(toniq.processId).heartbeat;
      const first = Number(await client.get(heartbeat));
      await eventually(async () => assert.ok(Number(await client.get(heartbeat)) > first, 'beat again'), {
        what: `a new heartbeat of ${toniq.processId}`,
      });
    }
    const processes = await one.processes();
    assert.equal(processes.filter((process) => process.heartbeatAge !== null).length, 2);
    const admin = await connectAdmin({ redisCluster: cluster.seedUrls, tls: cluster.tls!, keyPrefix });
    try {
      const stats = await admin.stats();
      assert.equal(stats.processes.length, 2);
    } finally {
      await admin.close();
    }
  });
});
