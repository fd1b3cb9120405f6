import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defineWorker, type Job, retryWithIncreasingDelay, retryWithoutDelay } from '../src/index.js';
import { decodeRecord } from '../src/job/job-record.js';
import { collectEvents, eventually, nextEvent } from './harness/eventually.js';
import { randomPrefix, toniqFactory, useRedis } from './harness/fixtures.js';

const server = useRedis();
const newToniq = toniqFactory(server);

describe('automatic retries', () => {
  it('runs a failing job 3 times with retryWithoutDelay, then fails it', async () => {
    const attempts: number[] = [];
    const flaky = defineWorker(
      'AlwaysFails',
      (_args: undefined, ctx) => {
        attempts.push(ctx.job.attempt);
        throw new Error('nope');
      },
      { retry: retryWithoutDelay() },
    );
    const toniq = await newToniq({ workers: [flaky] });
    const retrying = collectEvents(toniq.events, 'retrying', 2);
    const failed = nextEvent(toniq.events, 'failed');
    await toniq.enqueue(flaky);
    await failed;
    assert.deepEqual(attempts, [1, 2, 3]);
    assert.equal((await retrying).length, 2);
  });

  it('finishes a job that succeeds on a retry, with the same id', async () => {
    let runs = 0;
    const ids = new Set<string>();
    const flaky = defineWorker(
      'FailsOnce',
      (_args: undefined, ctx) => {
        ids.add(ctx.job.id);
        if (++runs === 1) throw new Error('first time');
      },
      { retry: retryWithoutDelay() },
    );
    const toniq = await newToniq({ workers: [flaky] });
    const finished = nextEvent<[Job]>(toniq.events, 'finished');
    const job = await toniq.enqueue(flaky);
    const [done] = await finished;
    assert.equal(runs, 2);
    assert.equal(done.attempt, 2);
    assert.deepEqual([...ids], [job.id]);
  });

  it('waits attempt⁴ × 250 ms by default, as told by the retrying event', async () => {
    let clock = 1_000_000;
    const alwaysFails = defineWorker('DefaultStrategy', () => {
      throw new Error('x');
    });
    const toniq = await newToniq({ workers: [alwaysFails], now: () => clock, delayedJobsPollInterval: 10 });
    const waits: number[] = [];
    toniq.events.on('retrying', (_job, _error, dueAt) => {
      waits.push(dueAt.getTime() - clock);
      clock = dueAt.getTime(); // time jumps to the due time: the retry runs on the next poll
    });
    const failed = nextEvent(toniq.events, 'failed', { timeout: 10_000 });
    await toniq.enqueue(alwaysFails);
    await failed;
    assert.deepEqual(waits, [250, 4000, 20250, 64000, 156250]);
  });

  it('gives every attempt the arguments as enqueued, even when the caller or an attempt changed them', async () => {
    const seen: number[][] = [];
    const mutates = defineWorker(
      'Mutates',
      (args: { list: number[] }) => {
        seen.push([...args.list]);
        args.list.push(99);
        throw new Error('x');
      },
      { retry: retryWithoutDelay() },
    );
    const toniq = await newToniq({ workers: [mutates] });
    const failed = nextEvent(toniq.events, 'failed');
    const args = { list: [1, 2, 3] };
    await toniq.enqueue(mutates, args);
    args.list.pop();
    await failed;
    assert.deepEqual(seen, [
      [1, 2, 3],
      [1, 2, 3],
      [1, 2, 3],
    ]);
  });

  it('lets a worker strategy override the default one', async () => {
    let runs = 0;
    const worker = defineWorker(
      'OwnStrategy',
      () => {
        runs++;
        throw new Error('x');
      },
      { retry: { delayAfterFailure: (attempt) => (attempt < 4 ? 0 : null) } },
    );
    const toniq = await newToniq({ workers: [worker], retry: retryWithoutDelay({ retries: 0 }) });
    const failed = nextEvent(toniq.events, 'failed');
    await toniq.enqueue(worker);
    await failed;
    assert.equal(runs, 4);
  });

  it('uses the instance-wide retry option for workers without their own', async () => {
    let runs = 0;
    const worker = defineWorker('InstanceStrategy', () => {
      runs++;
      throw new Error('x');
    });
    const toniq = await newToniq({ workers: [worker], retry: retryWithoutDelay({ retries: 1 }) });
    const failed = nextEvent(toniq.events, 'failed');
    await toniq.enqueue(worker);
    await failed;
    assert.equal(runs, 2);
  });

  it('persists the attempt count, so the retry budget survives a restart', async () => {
    const keyPrefix = randomPrefix();
    const processId = `restartable-${keyPrefix}`;
    const attempts: number[] = [];
    const worker = defineWorker(
      'Budgeted',
      (_args: undefined, ctx) => {
        attempts.push(ctx.job.attempt);
        throw new Error('x');
      },
      { retry: retryWithIncreasingDelay({ retries: 2, baseDelay: 150 }) },
    );
    const first = await newToniq({ workers: [worker], keyPrefix, processId });
    const retrying = nextEvent(first.events, 'retrying');
    await first.enqueue(worker);
    await retrying;
    await first.stop();

    const client = server.redis.client();
    const delayedKey = `{${keyPrefix}}:delayed-jobs:${processId}`;
    const stored = await client.hgetallBuffer(delayedKey);
    const [[id, bytes]] = Object.entries(stored) as [[string, Buffer]];
    assert.equal(decodeRecord(bytes, id, 'test').attempt, 2);

    const second = await newToniq({ workers: [worker], keyPrefix, processId });
    const failed = nextEvent(second.events, 'failed', { timeout: 5000 });
    await failed;
    assert.deepEqual(attempts, [1, 2, 3]);
    await eventually(async () => assert.equal(await client.exists(delayedKey), 0));
  });
});
