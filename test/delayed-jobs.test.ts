import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defineWorker, type Job } from '../src/index.js';
import { eventually, nextEvent } from './harness/eventually.js';
import { randomPrefix, toniqFactory, useRedis } from './harness/fixtures.js';

const server = useRedis();
const newToniq = toniqFactory(server);

const ran: Array<{ id: string; at: number }> = [];
const remember = defineWorker('Remember', (_args: { label: string }, ctx) => {
  ran.push({ id: ctx.job.id, at: Date.now() });
});

describe('delayed jobs', () => {
  it('runs a delayed job when it is due, not before', async () => {
    const toniq = await newToniq({ workers: [remember] });
    const finished = nextEvent<[Job]>(toniq.events, 'finished');
    const before = Date.now();
    const job = await toniq.enqueue(remember, { label: 'later' }, { delayFor: 300 });
    assert.ok(job.dueAt instanceof Date && job.dueAt.getTime() >= before + 300);
    const [done] = await finished;
    assert.equal(done.id, job.id);
    assert.ok(Date.now() - before >= 300, 'ran after its delay');
  });

  it('enqueueWithDelay does the same', async () => {
    const toniq = await newToniq({ workers: [remember] });
    const finished = nextEvent<[Job]>(toniq.events, 'finished');
    const job = await toniq.enqueueWithDelay(remember, { label: 'x' }, { delayFor: 50 });
    assert.equal((await finished)[0].id, job.id);
  });

  it('keeps delayed jobs in Redis, not in the process', async () => {
    const toniq = await newToniq({ workers: [remember] });
    await toniq.enqueue(remember, { label: 'far' }, { delayFor: 3_600_000 });
    const client = server.redis.client();
    const [key] = await client.keys(`*:${toniq.processId}}:delayed`);
    assert.ok(key);
    assert.equal(await client.zcard(key), 1);
  });

  it('holds a job with an infinite delay until flushDelayedJobs', async () => {
    const toniq = await newToniq({ workers: [remember], delayedJobsPollInterval: 10 });
    const job = await toniq.enqueue(remember, { label: 'held' }, { delayFor: Infinity });
    assert.equal(job.dueAt, null);
    // Several polls pass without the job running.
    const client = server.redis.client();
    const [key] = await client.keys(`*:${toniq.processId}}:delayed`);
    assert.equal(await client.zscore(key!, job.id), 'inf');
    // Jobs due after it run, each taken by the same script that would take the held one: once
    // the last has finished, the timer has passed the held job many times.
    const others = [];
    for (const delayFor of [20, 60, 100])
      others.push(await toniq.enqueue(remember, { label: 'due' }, { delayFor }));
    const last = others.at(-1)!;
    await nextEvent<[Job]>(toniq.events, 'finished', { filter: (j) => j.id === last.id });
    assert.ok(
      others.every((other) => ran.some((r) => r.id === other.id)),
      'the jobs due after it ran',
    );
    assert.ok(!ran.some((r) => r.id === job.id), 'a held job does not run by itself');
    const finished = nextEvent<[Job]>(toniq.events, 'finished', { filter: (j) => j.id === job.id });
    assert.equal(await toniq.flushDelayedJobs(), 1);
    await finished;
  });

  it('runs delayed jobs after a restart under the same process id', async () => {
    const keyPrefix = randomPrefix();
    const processId = `web-${keyPrefix}`;
    const first = await newToniq({ workers: [remember], keyPrefix, processId });
    const job = await first.enqueue(remember, { label: 'survives' }, { delayFor: 200 });
    await first.stop();
    const second = await newToniq({ workers: [remember], keyPrefix, processId });
    const [done] = await nextEvent<[Job]>(second.events, 'finished', { filter: (j) => j.id === job.id });
    assert.equal(done.id, job.id);
  });

  it('runs many delayed jobs due at once, in batches', async () => {
    const toniq = await newToniq({ workers: [remember] });
    let finished = 0;
    toniq.events.on('finished', () => finished++);
    await Promise.all(
      Array.from({ length: 2500 }, (_, i) => toniq.enqueue(remember, { label: `n${i}` }, { delayFor: 20 })),
    );
    await eventually(() => assert.equal(finished, 2500), { timeout: 10_000 });
  });
});
