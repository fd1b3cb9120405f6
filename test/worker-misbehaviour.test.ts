import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  defineWorker,
  type FailedJob,
  JobTimeoutError,
  noRetry,
  WorkerThrewNonErrorError,
} from '../src/index.js';
import { eventually, nextEvent } from './harness/eventually.js';
import { fixtureWorker, type Outcome, toniqFactory, useRedis } from './harness/fixtures.js';

const server = useRedis();
const newToniq = toniqFactory(server);

async function failureOf(outcome: Outcome) {
  const toniq = await newToniq({ workers: [fixtureWorker], retry: noRetry() });
  const failed = nextEvent<[FailedJob, Error]>(toniq.events, 'failed');
  await toniq.enqueue(fixtureWorker, outcome);
  const [job, error] = await failed;
  return { job, error, toniq };
}

describe('a worker that misbehaves fails readably', () => {
  it('rejecting with an Error keeps its message and stack', async () => {
    const { job } = await failureOf({ do: 'throw', message: 'disk full' });
    assert.equal(job.error.message, 'disk full');
    assert.match(job.error.stack ?? '', /disk full/);
  });

  it('throwing synchronously is a failure like any other', async () => {
    const { job } = await failureOf({ do: 'throw-sync' });
    assert.equal(job.error.name, 'TypeError');
    assert.equal(job.error.message, 'thrown synchronously');
  });

  it('throwing a string says so, keeping the string', async () => {
    const { job, error } = await failureOf({ do: 'throw-string' });
    assert.ok(error instanceof WorkerThrewNonErrorError);
    assert.equal(error.cause, 'a plain string');
    assert.equal(
      job.error.message,
      'The worker threw the string "a plain string" instead of an Error. Throw an Error to get a stack trace.',
    );
  });

  it('throwing undefined says so', async () => {
    const { job } = await failureOf({ do: 'throw-undefined' });
    assert.match(job.error.message, /^The worker threw undefined instead of an Error/);
  });

  it('throwing an object shows the object', async () => {
    const { job } = await failureOf({ do: 'throw-object' });
    assert.match(
      job.error.message,
      /^The worker threw the object \{ reason: 'an object' \} instead of an Error/,
    );
  });

  it('a job that never settles is failed by its timeout, and its signal is aborted', async () => {
    let signal: AbortSignal | undefined;
    const hangs = defineWorker(
      'Hangs',
      (_args: undefined, ctx) => {
        signal = ctx.signal;
        return new Promise(() => {});
      },
      { timeout: 50, retry: noRetry() },
    );
    const toniq = await newToniq({ workers: [hangs] });
    const failed = nextEvent<[FailedJob, Error]>(toniq.events, 'failed');
    const job = await toniq.enqueue(hangs);
    const [failedJob, error] = await failed;
    assert.ok(error instanceof JobTimeoutError);
    assert.equal(error.code, 'TONIQ_JOB_TIMEOUT');
    assert.equal(failedJob.error.name, 'JobTimeoutError');
    assert.match(
      error.message,
      new RegExp(`Job #${job.id} \\(Hangs\\) did not finish within its timeout of 50 ms`),
    );
    assert.ok(signal?.aborted);
    assert.equal(signal?.reason, error);
  });

  it('warns when a job runs longer than warnAfter, once', async () => {
    const slow = defineWorker('Slow', () => new Promise((resolve) => setTimeout(resolve, 150)), {
      warnAfter: 40,
    });
    const toniq = await newToniq({ workers: [slow] });
    const finished = nextEvent(toniq.events, 'finished');
    const job = await toniq.enqueue(slow);
    await eventually(() =>
      assert.match(
        toniq.logger.text('warn'),
        new RegExp(`Job #${job.id} \\(Slow\\) has been running for \\d+ ms`),
      ),
    );
    await finished;
    assert.equal(toniq.logger.lines.filter((l) => l.level === 'warn').length, 1);
  });

  it('a job whose worker is not registered goes to the failed list saying how to register it', async () => {
    // Another process (same prefix and id, as after a deploy that dropped the worker) holds a job of "Retired".
    const retired = defineWorker('Retired', () => {});
    const keyPrefix = `p${Date.now()}`;
    const processId = 'deploy-1';
    const before = await newToniq({ workers: [retired], keyPrefix, processId });
    await before.enqueue(retired, undefined, { delayFor: 100 });
    await before.stop();
    const after = await newToniq({ workers: [fixtureWorker], keyPrefix, processId });
    const [failedJob, error] = await nextEvent<[FailedJob, Error]>(after.events, 'failed');
    assert.equal(failedJob.worker, 'Retired');
    assert.equal(error.name, 'UnknownWorkerError');
    assert.match(
      failedJob.error.message,
      /No worker named "Retired" is registered in this process \(registered: "Fixture"\)/,
    );
    assert.match(failedJob.error.message, /createToniq\(\{ workers: \[\.\.\.\] \}\)/);
    assert.equal((await after.failedJobs()).length, 1);
  });
});
