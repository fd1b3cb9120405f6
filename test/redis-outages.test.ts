import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { defineWorker, type Job, RedisUnavailableError } from '../src/index.js';
import { keysFor } from '../src/storage/keys.js';
import { eventually, nextEvent } from './harness/eventually.js';
import { fixtureWorker, jobKeys, randomPrefix, recordingLogger, toniqFactory } from './harness/fixtures.js';
import { startRedis, type TestRedis } from './harness/redis-server.js';

// One server per test: each test kills or pauses it.
describe('Redis outages', () => {
  let redis: TestRedis;
  const holder = {
    get redis() {
      return redis;
    },
  };
  const newToniq = toniqFactory(holder);
  before(async () => {
    redis = await startRedis({ appendonly: true });
  });
  after(async () => {
    await redis.stop();
  });

  it('enqueue rejects at once with a clear error while Redis is down, and recovers', async () => {
    const toniq = await newToniq({ workers: [fixtureWorker], enqueueTimeout: 1000 });
    await redis.kill();
    const started = Date.now();
    await assert.rejects(toniq.enqueue(fixtureWorker, { do: 'succeed' }), (error: unknown) => {
      assert.ok(error instanceof RedisUnavailableError);
      assert.equal(error.code, 'TONIQ_REDIS_UNAVAILABLE');
      assert.match(error.message, /Could not enqueue a job: Redis is not reachable right now/);
      assert.match(error.message, /enqueue it again once Redis is back/);
      return true;
    });
    // Bounded by enqueueTimeout (1 s), with room for a loaded machine; unbounded would hang.
    assert.ok(Date.now() - started <= 4000, 'within the bounded time');
    await redis.restart();
    await eventually(
      async () => {
        const finished = nextEvent(toniq.events, 'finished', { timeout: 500 });
        await toniq.enqueue(fixtureWorker, { do: 'succeed' });
        await finished;
      },
      { timeout: 10_000, what: 'enqueue to work again' },
    );
    assert.match(toniq.logger.text('error'), /Lost the connection to Redis/);
  });

  it('enqueue rejects within its timeout when Redis hangs, and leaves nothing behind once Redis answers', async () => {
    const keyPrefix = randomPrefix();
    const toniq = await newToniq({ workers: [fixtureWorker], enqueueTimeout: 300, keyPrefix });
    redis.pause();
    const started = Date.now();
    try {
      await assert.rejects(
        toniq.enqueue(fixtureWorker, { do: 'succeed' }),
        /Could not enqueue a job: Redis did not confirm the write within 300 ms/,
      );
      assert.ok(Date.now() - started < 3000, 'bounded by enqueueTimeout (300 ms), not by Redis');
    } finally {
      redis.resume();
    }
    const client = redis.client();
    await eventually(async () => assert.deepEqual(await jobKeys(client, toniq.processId), []), {
      timeout: 5000,
      what: 'the late write to be undone',
    });
  });

  it('a job that finishes while Redis is away is removed once Redis is back', async () => {
    let release!: () => void;
    const gated = defineWorker('Gated', () => new Promise<void>((resolve) => (release = resolve)));
    const keyPrefix = randomPrefix();
    const toniq = await newToniq({ workers: [gated], keyPrefix });
    const started = nextEvent(toniq.events, 'started');
    const job = await toniq.enqueue(gated);
    await started;
    const client = redis.client();
    const jobsKey = keysFor(keyPrefix).process(toniq.processId).jobs;
    assert.equal(await client.hexists(jobsKey, job.id), 1, 'persisted before the outage');
    await redis.kill();
    const finished = nextEvent<[Job]>(toniq.events, 'finished');
    release();
    await finished;
    await redis.restart();
    await eventually(
      async () =>
        assert.equal(await client.hexists(keysFor(keyPrefix).process(toniq.processId).jobs, job.id), 0),
      {
        timeout: 10_000,
        what: 'the finished job to be removed',
      },
    );
  });

  it('delayed jobs still run after an outage; the loops survive it', async () => {
    const logger = recordingLogger();
    const toniq = await newToniq({ workers: [fixtureWorker], delayedJobsPollInterval: 50, logger });
    const job = await toniq.enqueue(fixtureWorker, { do: 'succeed' }, { delayFor: 400 });
    const finished = nextEvent<[Job]>(toniq.events, 'finished', {
      filter: (done) => done.id === job.id,
      timeout: 15_000,
    });
    await redis.kill();
    await eventually(() => assert.match(logger.text('error'), /Could not check for due delayed jobs/), {
      timeout: 3000,
    });
    await redis.restart();
    await finished;
  });
});
