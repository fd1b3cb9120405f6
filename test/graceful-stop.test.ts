import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createToniq, defineWorker, StoppedError, ToniqError } from '../src/index.js';
import { keysFor } from '../src/storage/keys.js';
import { nextEvent } from './harness/eventually.js';
import { fixtureWorker, randomPrefix, recordingLogger, toniqFactory, useRedis } from './harness/fixtures.js';

const server = useRedis();
const newToniq = toniqFactory(server);

describe('graceful stop', () => {
  it('returns from stop() at once after a start() that failed half-way', async () => {
    const keyPrefix = randomPrefix();
    const processId = `refused-${keyPrefix}`;
    // Its leftover jobs cannot be read (a list where a hash belongs): start() fails after the
    // heartbeat began, and leaves. stop() used to wait for that heartbeat thread forever.
    await server.redis.client().rpush(keysFor(keyPrefix).process(processId).jobs, 'not a hash');
    const toniq = createToniq({
      redisUrl: server.redis.url,
      keyPrefix,
      processId,
      logger: recordingLogger(),
    });
    await assert.rejects(toniq.start(), ToniqError);
    const stopped = toniq.stop({ timeout: 100 }).then(() => 'stopped');
    const late = new Promise((resolve) => setTimeout(resolve, 5000, 'still stopping after 5 s').unref());
    assert.equal(await Promise.race([stopped, late]), 'stopped');
  });

  it('refuses new jobs once stop was called, saying why', async () => {
    const toniq = await newToniq({ workers: [fixtureWorker] });
    await toniq.stop();
    await assert.rejects(toniq.enqueue(fixtureWorker, { do: 'succeed' }), (error: unknown) => {
      assert.ok(error instanceof StoppedError);
      assert.equal(error.code, 'TONIQ_STOPPED');
      assert.match(error.message, /toniq is stopping or stopped, so it takes no new jobs/);
      return true;
    });
  });

  it('waits for running jobs, which finish and leave Redis', async () => {
    const keyPrefix = randomPrefix();
    const toniq = await newToniq({ workers: [fixtureWorker], keyPrefix });
    let finished = 0;
    toniq.events.on('finished', () => finished++);
    const started = nextEvent(toniq.events, 'started');
    await toniq.enqueue(fixtureWorker, { do: 'sleep', ms: 150 });
    await started;
    await toniq.stop({ timeout: 5000 });
    assert.equal(finished, 1);
    // The per-second throughput the admin UI charts stays; it expires by itself after two hours.
    const keys = await server.redis.client().keys(`{${keyPrefix}}:*`);
    assert.deepEqual(
      keys.filter((key) => !key.includes(':throughput:')),
      [],
      'no jobs, no counts, and the process left the registry',
    );
  });

  it('leaves jobs that outlast the timeout, and waiting ones, persisted', async () => {
    const keyPrefix = randomPrefix();
    let signal: AbortSignal | undefined;
    const slow = defineWorker(
      'SlowOne',
      (_args: { n: number }, ctx) => {
        signal = ctx.signal;
        return new Promise(() => {});
      },
      { maxConcurrency: 1 },
    );
    const toniq = await newToniq({ workers: [slow], keyPrefix });
    const started = nextEvent(toniq.events, 'started');
    for (const n of [1, 2, 3]) await toniq.enqueue(slow, { n });
    await started;
    const before = Date.now();
    await toniq.stop({ timeout: 100 });
    assert.ok(
      Date.now() - before < 5000,
      'stop gives up after its 100 ms timeout instead of waiting for the hanging job',
    );
    assert.ok(signal?.aborted, 'the running job is told to stop');
    assert.equal(await server.redis.client().hlen(keysFor(keyPrefix).process(toniq.processId).jobs), 3);
    assert.match(
      toniq.logger.text('warn'),
      /stopped with 3 job\(s\) still running or waiting after 100 ms; they stay persisted/,
    );
  });

  it('is idempotent and can be awaited twice', async () => {
    const toniq = await newToniq({ workers: [fixtureWorker] });
    const finished = nextEvent(toniq.events, 'finished');
    await toniq.enqueue(fixtureWorker, { do: 'sleep', ms: 50 });
    let done = 0;
    toniq.events.on('finished', () => done++);
    // The second call resolves only once the first has waited for the running job.
    const first = toniq.stop();
    await toniq.stop();
    assert.equal(done, 1, 'the second stop() resolved after the job finished');
    await first;
    await finished;
    await toniq.stop();
    await assert.rejects(toniq.enqueue(fixtureWorker, { do: 'succeed' }), StoppedError);
  });
});
