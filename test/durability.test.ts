/**
 * `durability: { replicas }` on a real master with one real replica: enqueue resolves once the
 * replica holds the job; when the replica does not confirm in time (paused with SIGSTOP, or more
 * replicas asked for than run), enqueue rejects with NotReplicatedError, the job does not run and
 * nothing of it stays in Redis; and one WAIT covers every job enqueued in the same turn.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createToniq, InvalidOptionsError, NotReplicatedError, type Toniq } from '../src/index.js';
import { eventually } from './harness/eventually.js';
import { fixtureWorker, jobKeys, randomPrefix, recordingLogger } from './harness/fixtures.js';
import { useReplicatedRedis } from './harness/use-topologies.js';

const replicated = useReplicatedRedis({ replicas: 1 });

async function startToniq(durability: { replicas: number; timeout?: number }) {
  const logger = recordingLogger();
  const toniq = createToniq({
    redisUrl: replicated.setup.master.url,
    keyPrefix: randomPrefix(),
    workers: [fixtureWorker],
    logger,
    durability,
  });
  await toniq.start();
  const started: string[] = [];
  toniq.events.on('started', (job) => started.push(job.id));
  return { toniq, logger, started };
}

const stopped = (toniq: Toniq) => toniq.stop({ timeout: 100 });

describe('durability: enqueue waits for replicas', () => {
  it('enqueue resolves only once the replica holds the job', async () => {
    const { toniq } = await startToniq({ replicas: 1 });
    try {
      const replica = replicated.setup.replicas[0]!.client();
      for (let i = 0; i < 20; i++) {
        const job = await toniq.enqueue(fixtureWorker, { do: 'hang' });
        // Asked of the replica the moment enqueue resolved: the job is there already.
        const keys = await jobKeys(replica, toniq.processId);
        assert.ok(keys.length > 0, 'the replica has the jobs key');
        assert.ok(await replica.hexists(keys[0]!, job.id), `the replica holds job ${i}`);
      }
      const delayed = await toniq.enqueue(fixtureWorker, { do: 'succeed' }, { delayFor: 60_000 });
      const delayedKey = (await jobKeys(replica, toniq.processId)).find((key) =>
        key.endsWith(':delayed-jobs'),
      );
      assert.ok(
        delayedKey && (await replica.hexists(delayedKey, delayed.id)),
        'the replica holds the delayed job',
      );
    } finally {
      await stopped(toniq);
    }
  });

  it('with the replica paused, enqueue rejects with NotReplicatedError after the timeout, and the job neither runs nor stays in Redis', async () => {
    const { toniq, started } = await startToniq({ replicas: 1, timeout: 300 });
    const replica = replicated.setup.replicas[0]!;
    const master = replicated.setup.master.client();
    replica.pause();
    try {
      for (const options of [{}, { delayFor: 60_000 }]) {
        const before = Date.now();
        await assert.rejects(toniq.enqueue(fixtureWorker, { do: 'succeed' }, options), (error: unknown) => {
          assert.ok(error instanceof NotReplicatedError, String(error));
          assert.equal(error.code, 'TONIQ_NOT_REPLICATED');
          assert.equal(error.replicas, 1);
          assert.equal(error.confirmed, 0);
          assert.match(
            error.message,
            /^Could not enqueue a (delayed )?job: the Redis master took the write, but only 0 of the 1 replica that durability\.replicas asks for confirmed it within 300 ms \(durability\.timeout\)\. The job was removed again and will not run/,
          );
          assert.match(error.message, /INFO replication/);
          assert.match(String((error.cause as Error).message), /^WAIT 1 300 answered 0$/);
          return true;
        });
        assert.ok(Date.now() - before >= 290, 'it waited for the timeout');
      }
      // The write landed on the master and was undone: nothing of either job is left.
      await eventually(
        async () => {
          for (const key of await jobKeys(master, toniq.processId)) {
            const type = await master.type(key);
            const size = type === 'hash' ? await master.hlen(key) : await master.zcard(key);
            assert.equal(size, 0, key);
          }
        },
        { what: 'the undone writes to leave nothing behind' },
      );
      assert.deepEqual(started, [], 'no job ran');
    } finally {
      replica.resume();
      await stopped(toniq);
    }
    await replicated.setup.waitForSync();
  });

  it('with replicas: 2 and one replica, start warns and every enqueue rejects after the timeout', async () => {
    const { toniq, logger, started } = await startToniq({ replicas: 2, timeout: 200 });
    try {
      assert.match(
        logger.text('warn'),
        /durability\.replicas is 2, but a Redis master of Redis at .* has 1 replica connected/,
      );
      await assert.rejects(
        toniq.enqueue(fixtureWorker, { do: 'succeed' }),
        (error: unknown) =>
          error instanceof NotReplicatedError &&
          error.confirmed === 1 &&
          /only 1 of the 2 replicas/.test(error.message),
      );
      assert.deepEqual(started, []);
    } finally {
      await stopped(toniq);
    }
  });

  it('with aof: true, start refuses a Redis older than 7.2 (no WAITAOF) and says what to do', async () => {
    const info = await replicated.setup.master.client().info('server');
    const [major, minor] = (/^redis_version:(\d+)\.(\d+)/m.exec(info) ?? []).slice(1).map(Number);
    const toniq = createToniq({
      redisUrl: replicated.setup.master.url,
      keyPrefix: randomPrefix(),
      logger: recordingLogger(),
      durability: { replicas: 1, aof: true },
    });
    if (major! > 7 || (major === 7 && minor! >= 2)) {
      await toniq.start(); // WAITAOF exists: nothing to refuse
      await stopped(toniq);
      return;
    }
    await assert.rejects(toniq.start(), (error: unknown) => {
      assert.ok(error instanceof InvalidOptionsError, String(error));
      assert.match(
        error.message,
        new RegExp(
          `^durability\\.aof needs WAITAOF, which Redis 7\\.2 added, but Redis at .* runs Redis ${major}\\.${minor}\\. Upgrade Redis to 7\\.2 or later, or leave aof out`,
        ),
      );
      return true;
    });
  });

  it('one WAIT covers every job enqueued in the same event-loop turn', async () => {
    const { toniq } = await startToniq({ replicas: 1 });
    const master = replicated.setup.master.client();
    try {
      await master.config('RESETSTAT');
      const jobs = await Promise.all(
        Array.from({ length: 200 }, (_, i) => toniq.enqueue(fixtureWorker, { do: 'sleep', ms: i % 3 })),
      );
      assert.equal(jobs.length, 200);
      const stats = await master.info('commandstats');
      const waits = Number(/^cmdstat_wait:calls=(\d+)/m.exec(stats)?.[1] ?? 0);
      assert.equal(
        waits,
        1,
        `one WAIT for 200 jobs enqueued in one turn (${stats.match(/^cmdstat_(wait|evalsha).*$/gm)})`,
      );
    } finally {
      await stopped(toniq);
    }
  });
});
