import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  defineWorker,
  type FailedJob,
  InvalidArgumentsError,
  InvalidOptionsError,
  type Job,
  noRetry,
  RanUnpersistedError,
  retryWithoutDelay,
  type WorkerOptions,
} from '../src/index.js';
import { keysFor } from '../src/storage/keys.js';
import { eventually, nextEvent } from './harness/eventually.js';
import { jobKeys, randomPrefix, toniqFactory, useRedis } from './harness/fixtures.js';

const server = useRedis();
const newToniq = toniqFactory(server);

function gated(name: string, options: WorkerOptions<{ n: number }> = {}) {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const worker = defineWorker(name, (_args: { n: number }) => gate, options);
  return { worker, release };
}

describe('persistence modes', () => {
  it("'none' runs the job without writing anything to Redis", async () => {
    const { worker, release } = gated('NotPersisted', { persist: 'none' });
    const toniq = await newToniq({ workers: [worker] });
    const started = nextEvent(toniq.events, 'started');
    const job = await toniq.enqueue(worker, { n: 1 });
    await started;
    assert.deepEqual(
      await jobKeys(server.redis.client(), toniq.processId),
      [],
      'nothing stored while it runs',
    );
    const finished = nextEvent<[{ id: string }]>(toniq.events, 'finished');
    release();
    assert.equal((await finished)[0].id, job.id);
  });

  it("'none' gives the worker the very arguments and retries in memory", async () => {
    const seen: unknown[] = [];
    const flaky = defineWorker(
      'FlakyInMemory',
      (args: { fn: () => number }, ctx) => {
        seen.push(args);
        if (ctx.job.attempt < 3) throw new Error('again');
      },
      { persist: 'none', retry: retryWithoutDelay() },
    );
    const toniq = await newToniq({ workers: [flaky] });
    const finished = nextEvent(toniq.events, 'finished');
    const args = { fn: () => 1 }; // a function: fine, since nothing is serialized
    await toniq.enqueue(flaky, args);
    await finished;
    assert.equal(seen.length, 3);
    assert.ok(seen.every((s) => s === args));
    assert.deepEqual(await toniq.failedJobs(), []);
  });

  it("'while-running' starts the job before the write is confirmed, and persists it", async () => {
    const { worker, release } = gated('WhileRunning', { persist: 'while-running' });
    const keyPrefix = randomPrefix();
    const toniq = await newToniq({ workers: [worker], keyPrefix });
    let startedBeforeEnqueueResolved = false;
    let resolved = false;
    toniq.events.once('started', () => {
      startedBeforeEnqueueResolved = !resolved;
    });
    const job = await toniq.enqueue(worker, { n: 1 });
    resolved = true;
    assert.ok(startedBeforeEnqueueResolved);
    const client = server.redis.client();
    assert.equal(await client.hexists(keysFor(keyPrefix).process(toniq.processId).jobs, job.id), 1);
    release();
    await eventually(async () => assert.deepEqual(await jobKeys(client, toniq.processId), []));
  });

  it("'while-running' with Redis hanging: enqueue rejects with RanUnpersistedError, and the job runs once, its retry in memory", async () => {
    const runs: number[] = [];
    const worker = defineWorker(
      'WhileRunningOutage',
      (_args: { n: number }, ctx) => {
        runs.push(ctx.job.attempt);
        if (ctx.job.attempt === 1) throw new Error('first attempt fails while Redis hangs');
      },
      { persist: 'while-running', retry: retryWithoutDelay() },
    );
    const keyPrefix = randomPrefix();
    const toniq = await newToniq({ workers: [worker], keyPrefix, enqueueTimeout: 300 });
    const finished = nextEvent<[Job]>(toniq.events, 'finished', { timeout: 10_000 });
    server.redis.pause();
    let rejection: unknown;
    try {
      await toniq.enqueue(worker, { n: 1 }).catch((error: unknown) => {
        rejection = error;
      });
    } finally {
      server.redis.resume();
    }
    assert.ok(rejection instanceof RanUnpersistedError, `got ${String(rejection)}`);
    assert.equal(rejection.code, 'TONIQ_RAN_UNPERSISTED');
    assert.match(rejection.message, /do NOT enqueue it again/);
    assert.equal(rejection.jobId, (await finished)[0].id);
    assert.deepEqual(runs, [1, 2], 'ran once, and retried once, in memory');
    const client = server.redis.client();
    await eventually(async () => assert.deepEqual(await jobKeys(client, toniq.processId), []), {
      what: 'no copy of the job in Redis',
    });
    assert.doesNotMatch(toniq.logger.text(), /may run twice/, 'nothing took it over');
  });

  it("'while-running' with Redis hanging: a job that fails for good is reported failed once, not 'taken over'", async () => {
    const worker = defineWorker(
      'WhileRunningFailsForGood',
      () => {
        throw new Error('fails while Redis hangs');
      },
      { persist: 'while-running', retry: noRetry() },
    );
    const toniq = await newToniq({ workers: [worker], enqueueTimeout: 300 });
    const failed = nextEvent<[FailedJob, Error]>(toniq.events, 'failed', { timeout: 10_000 });
    server.redis.pause();
    try {
      await assert.rejects(toniq.enqueue(worker), RanUnpersistedError);
    } finally {
      server.redis.resume();
    }
    const [, error] = await failed;
    assert.equal(error.message, 'fails while Redis hangs');
    assert.doesNotMatch(toniq.logger.text(), /may run twice/);
    // As its rejection said: no copy in Redis, neither held nor in the failed list.
    await eventually(async () => assert.deepEqual(await jobKeys(server.redis.client(), toniq.processId), []));
    assert.deepEqual(await toniq.failedJobs(), []);
  });

  it("stop() says that 'none' jobs still running are lost, not that they stay persisted", async () => {
    const { worker } = gated('NotPersistedAtStop', { persist: 'none' });
    const toniq = await newToniq({ workers: [worker] });
    const started = nextEvent(toniq.events, 'started');
    await toniq.enqueue(worker, { n: 1 });
    await started;
    await toniq.stop({ timeout: 0 });
    const warnings = toniq.logger.text('warn');
    assert.match(warnings, /1 job\(s\) kept in memory only .* they are lost/);
    assert.doesNotMatch(warnings, /stay persisted/);
  });

  it('lets an enqueue override the worker’s mode', async () => {
    const { worker, release } = gated('PersistedByDefault');
    const toniq = await newToniq({ workers: [worker] });
    const started = nextEvent(toniq.events, 'started');
    await toniq.enqueue(worker, { n: 1 }, { persist: 'none' });
    await started;
    assert.deepEqual(await jobKeys(server.redis.client(), toniq.processId), []);
    release();
  });

  it('refuses unknown modes, and delayed jobs that would not be persisted', async () => {
    assert.throws(
      () => defineWorker('Bad', () => {}, { persist: 'sometimes' as never }),
      InvalidOptionsError,
    );
    const { worker } = gated('Refuses');
    const toniq = await newToniq({ workers: [worker] });
    await assert.rejects(
      toniq.enqueue(worker, { n: 1 }, { persist: 'later' as never }),
      InvalidArgumentsError,
    );
    await assert.rejects(
      toniq.enqueue(worker, { n: 1 }, { persist: 'none', delayFor: 10 }),
      /A delayed job waits in Redis, so it needs persist: 'before-run'/,
    );
  });
});
