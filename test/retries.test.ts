import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  defineWorker,
  type FailedJob,
  type Job,
  MAX_RETRY_DELAY,
  type RetryStrategy,
  RetryStrategyError,
  retryWithIncreasingDelay,
  retryWithoutDelay,
} from '../src/index.js';
import { decodeRecord } from '../src/job/job-record.js';
import { keysFor } from '../src/storage/keys.js';
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
    const delayedKey = keysFor(keyPrefix).process(processId).delayedJobs;
    const stored = await client.hgetallBuffer(delayedKey);
    const [[id, bytes]] = Object.entries(stored) as [[string, Buffer]];
    assert.equal(decodeRecord(bytes, id, 'test').attempt, 2);

    const second = await newToniq({ workers: [worker], keyPrefix, processId });
    const failed = nextEvent(second.events, 'failed', { timeout: 5000 });
    await failed;
    assert.deepEqual(attempts, [1, 2, 3]);
    await eventually(async () => assert.equal(await client.exists(delayedKey), 0));
  });

  describe("a retry strategy's answer is checked", () => {
    const garbage: Array<[string, unknown, RegExp]> = [
      ['a string of digits', '100', /returned the string "100"/],
      ['Infinity', Infinity, /returned Infinity/],
      ['1e20', 1e20, /returned 100000000000000000000/],
      ['more than 365 days', MAX_RETRY_DELAY + 1, new RegExp(`returned ${MAX_RETRY_DELAY + 1}`)],
      ['-1', -1, /returned -1/],
      ['NaN', Number.NaN, /returned NaN/],
      ['an object', {}, /returned an object/],
      ['undefined', undefined, /returned undefined/],
    ];
    for (const [what, answer, shown] of garbage) {
      it(`fails the job into the failed list with RetryStrategyError when the strategy returns ${what}`, async () => {
        const strategy: RetryStrategy = { delayAfterFailure: () => answer as number };
        const worker = defineWorker(
          'BadStrategy',
          () => {
            throw new Error('the attempt failed');
          },
          { retry: strategy },
        );
        const toniq = await newToniq({ workers: [worker] });
        let retried = false;
        toniq.events.on('retrying', () => {
          retried = true;
        });
        const failed = nextEvent<[FailedJob, Error]>(toniq.events, 'failed');
        const job = await toniq.enqueue(worker);
        const [failedJob, error] = await failed;
        assert.equal(failedJob.id, job.id);
        assert.ok(error instanceof RetryStrategyError, `got ${error?.name}`);
        assert.equal(error.code, 'TONIQ_BAD_RETRY_STRATEGY');
        assert.match(error.message, /worker "BadStrategy"/);
        assert.match(error.message, /its own, defineWorker's retry option/);
        assert.match(error.message, shown);
        assert.match(error.message, /the attempt failed/, "names the attempt's own error");
        assert.equal(retried, false, 'no retrying event (whose dueAt would be an Invalid Date)');
        const [stored] = await toniq.failedJobs();
        assert.equal(stored?.id, job.id);
        assert.equal(stored?.error.code, 'TONIQ_BAD_RETRY_STRATEGY');
        assert.match(toniq.logger.text('error'), /retry strategy of worker "BadStrategy"/);
      });
    }

    it('fails the job with RetryStrategyError naming the instance-wide strategy when it throws', async () => {
      const worker = defineWorker('DefaultStrategyThrows', () => {
        throw new Error('the attempt failed');
      });
      const toniq = await newToniq({
        workers: [worker],
        retry: {
          delayAfterFailure: () => {
            throw new TypeError('strategy bug');
          },
        },
      });
      const failed = nextEvent<[FailedJob, Error]>(toniq.events, 'failed');
      await toniq.enqueue(worker);
      const [, error] = await failed;
      assert.ok(error instanceof RetryStrategyError);
      assert.match(error.message, /the toniq instance's retry option/);
      assert.match(error.message, /threw TypeError: strategy bug/);
    });

    it('takes 0 and MAX_RETRY_DELAY as delays, and null as giving up', async () => {
      const answers = [0, null];
      const worker = defineWorker(
        'GoodStrategy',
        () => {
          throw new Error('again');
        },
        { retry: { delayAfterFailure: (attempt) => answers[attempt - 1] ?? null } },
      );
      const toniq = await newToniq({ workers: [worker] });
      const retrying = nextEvent<[Job, Error, Date]>(toniq.events, 'retrying');
      const failed = nextEvent<[FailedJob, Error]>(toniq.events, 'failed');
      await toniq.enqueue(worker);
      assert.ok(!Number.isNaN((await retrying)[2].getTime()));
      const [failedJob, error] = await failed;
      assert.equal(failedJob.attempts, 2);
      assert.equal(error.message, 'again', "null gives up with the job's own error");

      const longest = defineWorker(
        'LongestDelay',
        () => {
          throw new Error('later');
        },
        { retry: { delayAfterFailure: () => MAX_RETRY_DELAY } },
      );
      const other = await newToniq({ workers: [longest] });
      const scheduled = nextEvent<[Job, Error, Date]>(other.events, 'retrying');
      await other.enqueue(longest);
      const [, , dueAt] = await scheduled;
      assert.ok(Math.abs(dueAt.getTime() - (Date.now() + MAX_RETRY_DELAY)) < 60_000);
    });

    it("checks the answer for a persist: 'none' job's retry in memory too", async () => {
      const worker = defineWorker(
        'BadStrategyInMemory',
        () => {
          throw new Error('the attempt failed');
        },
        { persist: 'none', retry: { delayAfterFailure: () => '100' as unknown as number } },
      );
      const toniq = await newToniq({ workers: [worker] });
      const failed = nextEvent<[FailedJob, Error]>(toniq.events, 'failed');
      await toniq.enqueue(worker);
      const [, error] = await failed;
      assert.ok(error instanceof RetryStrategyError);
    });
  });
});
