/**
 * `durability` on a real Redis Cluster (3 masters, a replica each): the WAIT goes to the master
 * that took the write, and after that master is killed and its replica promoted, writes follow
 * the slot to the new master (the cluster answers MOVED to the old route).
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { createToniq, defineWorker, NotReplicatedError, type Toniq } from '../src/index.js';
import { keysFor } from '../src/storage/keys.js';
import { eventually, nextEvent } from './harness/eventually.js';
import { randomPrefix, recordingLogger } from './harness/fixtures.js';
import { useRedisCluster } from './harness/use-topologies.js';

const topology = useRedisCluster({ masters: 3, replicasPerMaster: 1, nodeTimeout: 1000 });
const work = defineWorker('Work', () => {});

const started: Toniq[] = [];
after(async () => {
  await Promise.all(started.map((toniq) => toniq.stop({ timeout: 100 })));
});

describe('durability on a Redis Cluster', () => {
  it('enqueues on the promoted master once it has a replica again, after the master of its slot was killed', async () => {
    const { cluster } = topology;
    const keyPrefix = randomPrefix();
    const toniq = createToniq({
      redisCluster: cluster.seedUrls,
      keyPrefix,
      workers: [work],
      logger: recordingLogger(),
      durability: { replicas: 1, timeout: 500 },
      enqueueTimeout: 2000,
      deadAfter: 10_000,
    });
    started.push(toniq);
    const done = new Set<string>();
    toniq.events.on('finished', (finished) => done.add(finished.id));
    await toniq.start();
    const finished = nextEvent(toniq.events, 'finished');
    await toniq.enqueue(work);
    await finished;

    const victim = await cluster.masterForKey(keysFor(keyPrefix).process(toniq.processId).jobs);
    await cluster.killMaster(victim);
    await cluster.waitForFailover(victim);
    // The promoted master has no replica yet: durability refuses, saying so.
    await eventually(
      () =>
        assert.rejects(toniq.enqueue(work), (error: unknown) => {
          assert.ok(error instanceof NotReplicatedError, String(error));
          return true;
        }),
      { timeout: 10_000, what: 'a NotReplicatedError from the promoted master' },
    );
    await cluster.restartNode(victim);
    const job = await eventually(() => toniq.enqueue(work), {
      timeout: 15_000,
      interval: 200,
      what: 'an enqueue to succeed once the old master is back as a replica',
    });
    await eventually(() => assert.ok(done.has(job.id), 'the job ran'), { what: 'the job to run' });
  });
});
