/**
 * Durations: Node turns a timer of 2³¹ ms or more (or Infinity) into 1 ms, so every duration
 * toniq takes is either refused with a message that names it, or honoured at any length.
 * And a blocked event loop is told apart from a slow Redis.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import {
  createToniq,
  defineWorker,
  InvalidArgumentsError,
  InvalidOptionsError,
  type Job,
  startStatsWebhook,
  stopOnSignals,
} from '../src/index.js';
import { waitForJob } from '../src/testing.js';
import { eventually, nextEvent } from './harness/eventually.js';
import { fixtureWorker, jobKeys, toniqFactory, useRedis } from './harness/fixtures.js';

// DEBUG SLEEP makes Redis slow on purpose, for the blocked-loop test.
const server = useRedis({ args: ['--enable-debug-command', 'yes'] });
const newToniq = toniqFactory(server);

const TIMER_OPTIONS = [
  'enqueueTimeout',
  'delayedJobsPollInterval',
  'heartbeatInterval',
  'deadAfter',
  'takeoverCheckInterval',
  'orphanCheckInterval',
] as const;

/** Resolves with 'pending' if `promise` has not settled within `ms`: to show something still waits. */
async function stillPending(promise: Promise<unknown>, ms: number): Promise<'pending' | 'settled'> {
  let timer: NodeJS.Timeout | undefined;
  const result = await Promise.race([
    promise.then(
      () => 'settled' as const,
      () => 'settled' as const,
    ),
    new Promise<'pending'>((resolve) => {
      timer = setTimeout(() => resolve('pending'), ms);
    }),
  ]);
  clearTimeout(timer);
  return result;
}

function blockEventLoop(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // Busy: what a job's synchronous code does.
  }
}

describe('durations', () => {
  describe('createToniq refuses durations a timer cannot hold', () => {
    for (const key of TIMER_OPTIONS) {
      for (const value of [2 ** 31, 3e9, Infinity, Number.NaN, 0, -1]) {
        it(`refuses ${key}: ${value}, naming the option, the value and the range`, () => {
          assert.throws(
            () => createToniq({ [key]: value }),
            (error: unknown) => {
              assert.ok(error instanceof InvalidOptionsError);
              assert.match(error.message, new RegExp(`createToniq: ${key} must be`));
              assert.match(error.message, /from 1 to 2147483647/);
              assert.match(error.message, new RegExp(`got ${String(value)}`));
              return true;
            },
          );
        });
      }
    }

    it('accepts the longest delay a timer holds, 2³¹−1 ms', () => {
      const longest = 2 ** 31 - 1;
      createToniq({ delayedJobsPollInterval: longest, orphanCheckInterval: longest, deadAfter: longest });
    });

    it('takes stopTimeout and maxEventLoopStall of Infinity (no limit), and refuses a string', () => {
      createToniq({ stopTimeout: Infinity, maxEventLoopStall: Infinity });
      createToniq({ stopTimeout: 0 });
      assert.throws(
        () => createToniq({ stopTimeout: '100' as unknown as number }),
        /stopTimeout must be a number of milliseconds .*or Infinity for no limit; got "100"/,
      );
    });
  });

  describe("a worker's timeout and warnAfter", () => {
    it('refuses NaN, negative, zero and non-numbers, naming the worker and the option', () => {
      for (const bad of [Number.NaN, -1, 0, '5', null]) {
        assert.throws(
          () => defineWorker('Bad', () => {}, { timeout: bad as number }),
          (error: unknown) =>
            error instanceof InvalidOptionsError &&
            /defineWorker\('Bad'\): timeout must be a number of milliseconds ≥ 1, or Infinity for no limit/.test(
              error.message,
            ),
        );
      }
      assert.throws(() => defineWorker('Bad', () => {}, { warnAfter: -5 }), /warnAfter must be/);
    });

    for (const timeout of [Infinity, 2 ** 31, 3e9]) {
      it(`lets a job with timeout: ${timeout} run to its end instead of failing after 1 ms`, async () => {
        const slow = defineWorker(
          `LongTimeout${timeout}`,
          () => new Promise((resolve) => setTimeout(resolve, 50)),
          {
            timeout,
          },
        );
        const toniq = await newToniq({ workers: [slow] });
        const outcome = await waitForJob(toniq, toniq.enqueue(slow));
        assert.equal(outcome.state, 'finished', outcome.state === 'failed' ? outcome.error.message : '');
      });
    }
  });

  describe("stop's timeout", () => {
    it('stop({ timeout: Infinity }) waits for a running job, however long it takes', async () => {
      let release!: () => void;
      let aborted = false;
      const gated = defineWorker('GatedForStop', (_args: undefined, ctx) => {
        ctx.signal.addEventListener('abort', () => {
          aborted = true;
        });
        return new Promise<void>((resolve) => {
          release = resolve;
        });
      });
      const toniq = await newToniq({ workers: [gated] });
      const started = nextEvent(toniq.events, 'started');
      await toniq.enqueue(gated);
      await started;
      const finished = nextEvent<[Job]>(toniq.events, 'finished');
      const stopped = toniq.stop({ timeout: Infinity });
      // Before the fix, Infinity became a 1 ms timer and stop returned at once.
      assert.equal(await stillPending(stopped, 300), 'pending', 'stop still waits for the job');
      release();
      await stopped;
      await finished;
      assert.equal(aborted, false, 'the job was not abandoned');
      assert.deepEqual(await jobKeys(server.redis.client(), toniq.processId), []);
    });

    it('stop refuses a bad timeout and stops nothing', async () => {
      const toniq = await newToniq({ workers: [fixtureWorker] });
      for (const bad of [-1, Number.NaN, '100']) {
        await assert.rejects(
          toniq.stop({ timeout: bad as number }),
          (error: unknown) =>
            error instanceof InvalidOptionsError &&
            /stop: options\.timeout must be a number of milliseconds ≥ 0, or Infinity for no limit/.test(
              error.message,
            ),
        );
      }
      await waitForJob(toniq, toniq.enqueue(fixtureWorker, { do: 'succeed' }));
    });

    it('stopOnSignals refuses a bad timeout when called, not when the signal comes', () => {
      const toniq = createToniq();
      assert.throws(() => stopOnSignals(toniq, { timeout: -1 }), /stopOnSignals: timeout must be/);
      const remove = stopOnSignals(toniq, { timeout: Infinity, signals: ['SIGUSR2'] });
      remove();
    });
  });

  it('waitForJob refuses a bad timeout, and takes Infinity', async () => {
    const toniq = await newToniq({ workers: [fixtureWorker] });
    await assert.rejects(
      waitForJob(toniq, { id: 'x' }, { timeout: -1 }),
      /waitForJob: options\.timeout must be a number of milliseconds ≥ 1, or Infinity/,
    );
    const outcome = await waitForJob(toniq, toniq.enqueue(fixtureWorker, { do: 'succeed' }), {
      timeout: Infinity,
    });
    assert.equal(outcome.state, 'finished');
  });

  it('startStatsWebhook refuses an interval or timeout a timer cannot hold', async () => {
    const toniq = await newToniq();
    for (const options of [{ interval: 3e9 }, { interval: Infinity }, { timeout: 2 ** 31 }]) {
      assert.throws(
        () => startStatsWebhook(toniq.admin, { url: 'http://127.0.0.1:9/', ...options }),
        (error: unknown) => error instanceof InvalidOptionsError && /2147483647/.test(error.message),
      );
    }
  });

  it('stop() clears the timers of retries waiting in memory, so a stopped process can exit', async () => {
    // A child process: whether the process stays alive is the thing under test.
    const index = new URL('../src/index.js', import.meta.url).href;
    const testing = new URL('../src/testing.js', import.meta.url).href;
    const script = `
      const { createToniq, defineWorker, silentLogger } = await import(${JSON.stringify(index)});
      const { MemoryStore } = await import(${JSON.stringify(testing)});
      const worker = defineWorker('RetriesInAnHour', () => { throw new Error('later'); }, {
        persist: 'none', retry: { delayAfterFailure: () => 3_600_000 },
      });
      const toniq = createToniq({ store: new MemoryStore(), workers: [worker], logger: silentLogger() });
      await toniq.start();
      const retrying = new Promise((resolve) => toniq.events.once('retrying', resolve));
      await toniq.enqueue(worker);
      await retrying;
      await toniq.stop();
      console.log('stopped');
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const exit = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      assert.equal(await stillPending(exit, 10_000), 'settled', 'the stopped process exits by itself');
      assert.equal(await exit, 0);
      assert.match(output, /stopped/);
    } finally {
      child.kill('SIGKILL');
    }
  });

  describe('delayFor', () => {
    it('refuses a delay past the largest Date, which would make dueAt an Invalid Date', async () => {
      const toniq = await newToniq({ workers: [fixtureWorker] });
      for (const delayFor of [1e300, 8.64e15, Number.MAX_VALUE]) {
        await assert.rejects(
          toniq.enqueue(fixtureWorker, { do: 'succeed' }, { delayFor }),
          (error: unknown) =>
            error instanceof InvalidArgumentsError &&
            error.path === 'options.delayFor' &&
            /largest date/.test(error.message),
        );
      }
      assert.deepEqual(await jobKeys(server.redis.client(), toniq.processId), []);
    });

    it('takes Infinity (held until flushed) and a delay of years, with a valid dueAt', async () => {
      const toniq = await newToniq({ workers: [fixtureWorker] });
      const held = await toniq.enqueue(fixtureWorker, { do: 'succeed' }, { delayFor: Infinity });
      assert.equal(held.dueAt, null);
      const years = await toniq.enqueue(
        fixtureWorker,
        { do: 'succeed' },
        { delayFor: 100 * 365 * 86_400_000 },
      );
      assert.ok(years.dueAt instanceof Date && !Number.isNaN(years.dueAt.getTime()));
    });
  });

  describe('a blocked event loop is not a Redis failure', () => {
    it('checks for due delayed jobs and dead processes that timed out while a job blocked the loop are logged as that, once, at warn level', async () => {
      const toniq = await newToniq({
        delayedJobsPollInterval: 10,
        takeoverCheckInterval: 10,
        enqueueTimeout: 500,
      });
      const client = server.redis.client();
      await client.ping(); // connected, so that DEBUG SLEEP goes out at once
      // Redis sleeps 300 ms, so the timer's and the takeover's next calls are surely waiting when the loop blocks.
      const sleeping = client.call('DEBUG', 'SLEEP', '0.3');
      await new Promise((resolve) => setTimeout(resolve, 100));
      // Blocked from the check phase, as a job started by a Redis reply or setImmediate is: the
      // loop then runs the expired timers (the call's 500 ms timeout) before it reads the reply
      // that Redis sent long before.
      await new Promise((resolve) => setImmediate(resolve));
      blockEventLoop(1500);
      await sleeping;
      await eventually(
        () => assert.match(toniq.logger.text('warn'), /event loop of this process was blocked for/),
        {
          what: 'the warning about the blocked loop',
        },
      );
      const warning = toniq.logger.lines.find((line) => /was blocked for/.test(line.msg))!;
      assert.match(warning.msg, /\(the first: a check for (due delayed jobs|dead processes to take over)\)/);
      assert.match(warning.msg, /a job's synchronous code/);
      assert.doesNotMatch(toniq.logger.text('error'), /Could not check for due delayed jobs/);
      assert.doesNotMatch(toniq.logger.text('error'), /Could not check for dead processes/);
      assert.equal(
        toniq.logger.lines.filter((line) => /was blocked for/.test(line.msg)).length,
        1,
        'said once',
      );
    });

    it('an enqueue whose reply was not read in time because the loop was blocked says so, not that Redis was slow', async () => {
      const toniq = await newToniq({ workers: [fixtureWorker], enqueueTimeout: 500 });
      const client = server.redis.client();
      await client.ping();
      const sleeping = client.call('DEBUG', 'SLEEP', '0.3');
      const enqueued = toniq.enqueue(fixtureWorker, { do: 'succeed' });
      const rejected = assert.rejects(enqueued, (error: unknown) => {
        assert.ok(error instanceof Error);
        assert.match(error.message, /event loop of this process was blocked for \d+ ms/);
        assert.match(error.message, /nothing of it is left in Redis; enqueue it again/);
        return true;
      });
      await new Promise((resolve) => setTimeout(resolve, 100));
      await new Promise((resolve) => setImmediate(resolve));
      blockEventLoop(1500);
      await sleeping;
      await rejected;
      await eventually(async () => assert.deepEqual(await jobKeys(client, toniq.processId), []), {
        what: 'the write that landed to be undone',
      });
    });
  });
});
