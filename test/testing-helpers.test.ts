import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createToniq, defineWorker, retryWithoutDelay } from '../src/index.js';
import { MemoryStore, waitForJob } from '../src/testing.js';
import { eventually } from './harness/eventually.js';
import { fixtureWorker, recordingLogger, toniqFactory, useRedis } from './harness/fixtures.js';

const delivered: string[] = [];
const deliver = defineWorker('Deliver', (args: { to: string }) => {
  if (args.to === 'nobody') throw new Error('no such recipient');
  delivered.push(args.to);
});

describe('testing helpers for apps', () => {
  it("mode 'inline' runs the job inside enqueue, on the MemoryStore", async () => {
    const toniq = createToniq({
      store: new MemoryStore(),
      mode: 'inline',
      workers: [deliver],
      logger: recordingLogger(),
    });
    await toniq.start();
    delivered.length = 0;
    await toniq.enqueue(deliver, { to: 'ann' });
    assert.deepEqual(delivered, ['ann']);
    await assert.rejects(toniq.enqueue(deliver, { to: 'nobody' }), /no such recipient/);
    const [failed] = await toniq.failedJobs();
    assert.equal(failed?.attempts, 1, 'inline mode does not retry in the background');
    assert.deepEqual(await toniq.heldJobs(), []);
    await toniq.stop();
  });

  it("mode 'manual' records jobs until drain runs them", async () => {
    const toniq = createToniq({
      store: new MemoryStore(),
      mode: 'manual',
      workers: [deliver],
      retry: retryWithoutDelay(),
      logger: recordingLogger(),
    });
    await toniq.start();
    delivered.length = 0;
    await toniq.enqueue(deliver, { to: 'bob' });
    await toniq.enqueue(deliver, { to: 'nobody' });
    const held = await toniq.heldJobs();
    assert.deepEqual(
      held.map((job) => job.args),
      [{ to: 'bob' }, { to: 'nobody' }],
    );
    assert.deepEqual(delivered, []);
    assert.deepEqual(await toniq.drain(), { finished: 1, failedAttempts: 1 });
    assert.deepEqual(delivered, ['bob']);
    assert.deepEqual(await toniq.drain({ withDelayed: true }), { finished: 0, failedAttempts: 2 });
    const [failed] = await toniq.failedJobs();
    assert.equal(failed?.attempts, 3);
    delivered.length = 0;
    await toniq.retry(failed!);
    assert.equal((await toniq.heldJobs()).length, 1, 'a retried job waits for drain in manual mode');
    await toniq.stop();
  });

  it('keeps the store contract on the MemoryStore: delayed jobs, failed jobs, retry', async () => {
    const toniq = createToniq({
      store: new MemoryStore(),
      workers: [fixtureWorker],
      logger: recordingLogger(),
      delayedJobsPollInterval: 10,
    });
    await toniq.start();
    const delayed = toniq.enqueue(fixtureWorker, { do: 'succeed' }, { delayFor: 30 });
    assert.equal((await waitForJob(toniq, delayed)).state, 'finished');
    const failing = await toniq.enqueue(fixtureWorker, { do: 'fail-times', times: 100, key: 'memory' });
    // Default retries wait 250 ms first; flush them to see the failure quickly.
    const outcome = waitForJob(toniq, failing, { timeout: 5000 });
    let settled = false;
    void outcome.finally(() => {
      settled = true;
    });
    // Retries are flushed until the job is out of them.
    await eventually(
      async () => {
        await toniq.flushDelayedJobs();
        assert.ok(settled, 'the job reached its outcome');
      },
      { timeout: 5000, interval: 20 },
    );
    const result = await outcome;
    assert.equal(result.state, 'failed');
    await toniq.stop();
  });

  describe('waitForJob on Redis', () => {
    const server = useRedis();
    const newToniq = toniqFactory(server);

    it('resolves with the final outcome of a job', async () => {
      const toniq = await newToniq({ workers: [fixtureWorker], retry: retryWithoutDelay() });
      const [okOutcome, badOutcome] = await Promise.all([
        waitForJob(toniq, toniq.enqueue(fixtureWorker, { do: 'succeed' })),
        waitForJob(toniq, toniq.enqueue(fixtureWorker, { do: 'throw', message: 'bad' })),
      ]);
      assert.equal(okOutcome.state, 'finished');
      assert.equal(badOutcome.state, 'failed');
      assert.equal(badOutcome.state === 'failed' && badOutcome.job.attempts, 3);
    });

    it('rejects with a clear message after its timeout', async () => {
      const toniq = await newToniq({ workers: [fixtureWorker] });
      const job = await toniq.enqueue(fixtureWorker, { do: 'hang' });
      await assert.rejects(
        waitForJob(toniq, job, { timeout: 50 }),
        new RegExp(`Job #${job.id} neither finished nor failed within 50 ms`),
      );
    });
  });
});
