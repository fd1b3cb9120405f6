import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  createToniq,
  defineWorker,
  InvalidArgumentsError,
  NotStartedError,
  UnknownWorkerError,
} from '../src/index.js';
import { eventually, nextEvent } from './harness/eventually.js';
import { fixtureWorker, jobKeys, toniqFactory, useRedis } from './harness/fixtures.js';
import { allowListenerThrows } from './harness/traps.js';

const server = useRedis();
const newToniq = toniqFactory(server);

describe('running jobs', () => {
  it('runs an enqueued job in the enqueueing process with its arguments', async () => {
    const seen: unknown[] = [];
    const sendEmail = defineWorker('SendEmail', async (args: { to: string; subject: string }, ctx) => {
      seen.push({ args, jobId: ctx.job.id, attempt: ctx.job.attempt });
    });
    const toniq = await newToniq({ workers: [sendEmail] });
    const finished = nextEvent(toniq.events, 'finished');
    const job = await toniq.enqueue(sendEmail, { to: 'a@example.com', subject: 'Hi' });
    assert.equal(job.worker, 'SendEmail');
    assert.equal(job.attempt, 1);
    assert.equal(job.processId, toniq.processId);
    assert.ok(job.createdAt instanceof Date);
    assert.match(job.id, /^[0-9A-Z]{26}$/);
    await finished;
    assert.deepEqual(seen, [{ args: { to: 'a@example.com', subject: 'Hi' }, jobId: job.id, attempt: 1 }]);
  });

  it('persists the job before enqueue resolves and removes it once finished', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const waits = defineWorker('Waits', () => gate);
    const toniq = await newToniq({ workers: [waits] });
    const client = server.redis.client();
    const job = await toniq.enqueue(waits);
    const keys = await jobKeys(client, toniq.processId);
    assert.equal(keys.length, 1);
    assert.ok(await client.hexists(keys[0]!, job.id), 'the job is persisted while it runs');
    release();
    await eventually(async () => assert.equal(await client.hexists(keys[0]!, job.id), 0), {
      what: 'the job to be removed',
    });
  });

  it('runs jobs without arguments', async () => {
    let ran = 0;
    const ping = defineWorker('Ping', () => {
      ran++;
    });
    const toniq = await newToniq({ workers: [ping] });
    const finished = nextEvent(toniq.events, 'finished');
    await toniq.enqueue(ping);
    await finished;
    assert.equal(ran, 1);
  });

  it('emits enqueued, started and finished in order', async () => {
    const toniq = await newToniq({ workers: [fixtureWorker] });
    const events: string[] = [];
    for (const name of ['enqueued', 'started', 'finished'] as const)
      toniq.events.on(name, () => events.push(name));
    const finished = nextEvent(toniq.events, 'finished');
    await toniq.enqueue(fixtureWorker, { do: 'succeed' });
    await finished;
    assert.deepEqual(events, ['enqueued', 'started', 'finished']);
  });

  it('refuses a worker this process has not registered, naming it', async () => {
    const toniq = await newToniq({ workers: [fixtureWorker] });
    const other = defineWorker('NotRegistered', () => {});
    await assert.rejects(toniq.enqueue(other), (error: unknown) => {
      assert.ok(error instanceof UnknownWorkerError);
      assert.equal(error.code, 'TONIQ_UNKNOWN_WORKER');
      assert.match(error.message, /"NotRegistered"/);
      assert.match(error.message, /createToniq\(\{ workers/);
      return true;
    });
  });

  it('refuses to enqueue before start with a message that says to start', async () => {
    const toniq = createToniq({ redisUrl: server.redis.url, workers: [fixtureWorker] });
    await assert.rejects(toniq.enqueue(fixtureWorker, { do: 'succeed' }), (error: unknown) => {
      assert.ok(error instanceof NotStartedError);
      assert.match(error.message, /await toniq\.start\(\)/);
      return true;
    });
  });

  it('refuses a negative delay and persists nothing', async () => {
    const toniq = await newToniq({ workers: [fixtureWorker] });
    await assert.rejects(
      toniq.enqueue(fixtureWorker, { do: 'succeed' }, { delayFor: -1 }),
      InvalidArgumentsError,
    );
    assert.deepEqual(await jobKeys(server.redis.client(), toniq.processId), []);
  });

  it('refuses an unknown enqueue option, naming the known ones', async () => {
    const toniq = await newToniq({ workers: [fixtureWorker] });
    await assert.rejects(
      toniq.enqueue(fixtureWorker, { do: 'succeed' }, { persits: 'none' } as never),
      /enqueue got the unknown option "persits". Known options: delayFor, persist/,
    );
    assert.deepEqual(await jobKeys(server.redis.client(), toniq.processId), []);
  });

  it('lets a listener that throws break nothing', async () => {
    allowListenerThrows(); // on purpose: the point of this test
    const toniq = await newToniq({ workers: [fixtureWorker] });
    toniq.events.on('started', () => {
      throw new Error('listener bug');
    });
    const finished = nextEvent(toniq.events, 'finished');
    await toniq.enqueue(fixtureWorker, { do: 'succeed' });
    await finished;
    assert.match(toniq.logger.text('error'), /listener of the "started" event threw/);
  });
});

describe('the job context', () => {
  it('gives the worker a logger that tags lines with the job', async () => {
    const chatty = defineWorker('Chatty', (_args: undefined, ctx) => {
      ctx.log.info({ extra: 1 }, 'hello');
    });
    const toniq = await newToniq({ workers: [chatty] });
    const finished = nextEvent(toniq.events, 'finished');
    const job = await toniq.enqueue(chatty);
    await finished;
    const line = toniq.logger.lines.find((l) => l.msg.endsWith('hello'));
    assert.equal(line?.msg, `Job #${job.id} (Chatty): hello`);
    assert.deepEqual(line?.obj, { jobId: job.id, worker: 'Chatty', extra: 1 });
  });
});
