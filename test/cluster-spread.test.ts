/**
 * Spread over a real Redis Cluster (3 masters, 3 replicas): each process's keys carry a hash tag
 * of their own, so the jobs of 12 processes land on every master, with no configuration.
 *
 * The process ids and the key prefix are fixed, so the slots (CRC16 of `prefix:id`) and therefore
 * the masters are the same on every run: the test cannot pass or fail by chance. Ids made by
 * toniq (host:pid:random) spread the same way; 12 random ones leave a master without jobs about
 * 2% of the time, which is why this test does not use them.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { createToniq, defineWorker, type Toniq } from '../src/index.js';
import { keysFor } from '../src/storage/keys.js';
import { recordingLogger } from './harness/fixtures.js';
import { useRedisCluster } from './harness/use-topologies.js';

const topology = useRedisCluster({ masters: 3, replicasPerMaster: 1 });
const keyPrefix = 'spread';
const later = defineWorker('Later', () => {});

const started: Toniq[] = [];
after(async () => {
  await Promise.all(started.map((toniq) => toniq.stop({ timeout: 100 })));
});

describe('spread over a Redis Cluster', () => {
  it("puts the jobs of 12 processes on every one of the cluster's 3 masters", async () => {
    const { cluster } = topology;
    for (let i = 1; i <= 12; i++) {
      const toniq = createToniq({
        redisCluster: cluster.seedUrls,
        keyPrefix,
        processId: `web-${i}`,
        workers: [later],
        logger: recordingLogger(),
      });
      started.push(toniq);
      await toniq.start();
      await toniq.enqueue(later, undefined, { delayFor: 3_600_000 });
    }
    const keys = keysFor(keyPrefix);
    const byMaster = new Map<number, string[]>();
    for (const toniq of started) {
      const key = keys.process(toniq.processId).delayed;
      assert.equal(await cluster.client().zcard(key), 1, `${toniq.processId} holds its job`);
      const master = await cluster.masterForKey(key);
      byMaster.set(master, [...(byMaster.get(master) ?? []), toniq.processId]);
    }
    const masters = await cluster.masters();
    assert.equal(masters.length, 3);
    for (const master of masters) {
      assert.ok(
        byMaster.get(master)?.length,
        `master ${master} holds jobs of some process (${JSON.stringify([...byMaster])})`,
      );
    }
    // The app's shared keys are in one slot, on one master.
    const shared = await cluster.masterForKey(keys.registry);
    assert.equal(await cluster.masterForKey(keys.failed), shared);
  });
});
