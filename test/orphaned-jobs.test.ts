import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defineWorker, type Job } from '../src/index.js';
import { newJobId } from '../src/job/job-id.js';
import { encodeRecord } from '../src/job/job-record.js';
import { ArgumentCodec } from '../src/job/serialization.js';
import { keysFor } from '../src/storage/keys.js';
import { eventually, nextEvent } from './harness/eventually.js';
import { randomPrefix, toniqFactory, useRedis } from './harness/fixtures.js';

const server = useRedis();
const newToniq = toniqFactory(server);

/** A job moved here by a script whose reply never arrived: in Redis, unknown to the runner. */
async function plantOrphan(keyPrefix: string, processId: string, id: string, worker: string): Promise<void> {
  const record = encodeRecord({
    v: 2,
    id,
    worker,
    args: new ArgumentCodec().encode({ n: 1 }),
    attempt: 1,
    createdAt: Date.now() - 10_000,
  });
  await server.redis.client().hset(keysFor(keyPrefix).process(processId).jobs, id, record);
}

describe('orphaned jobs', () => {
  it('runs a job it holds in Redis but does not run (as after a reply lost in an outage)', async () => {
    const keyPrefix = randomPrefix();
    const ran: string[] = [];
    const work = defineWorker('Work', (_args: { n: number }, ctx) => {
      ran.push(ctx.job.id);
    });
    const toniq = await newToniq({ keyPrefix, workers: [work], orphanCheckInterval: 50 });
    // A job moved here by a script whose reply never arrived: in Redis, unknown to the runner.
    const id = newJobId(Date.now() - 10_000);
    const record = encodeRecord({
      v: 2,
      id,
      worker: 'Work',
      args: new ArgumentCodec().encode({ n: 1 }),
      attempt: 1,
      createdAt: Date.now() - 10_000,
    });
    await server.redis.client().hset(keysFor(keyPrefix).process(toniq.processId).jobs, id, record);
    const [done] = await nextEvent<[Job]>(toniq.events, 'finished', { timeout: 3000 });
    assert.equal(done.id, id);
    assert.match(
      toniq.logger.text('warn'),
      /Found 1 job\(s\) held by this process in Redis but not running here/,
    );
  });

  it('does not run again a job that is running or waiting here', async () => {
    const keyPrefix = randomPrefix();
    let runs = 0;
    let release!: () => void;
    const slow = defineWorker(
      'SlowWork',
      () => {
        runs++;
        return new Promise<void>((resolve) => {
          release = resolve;
        });
      },
      { maxConcurrency: 1 },
    );
    const work = defineWorker('Work', () => {});
    // Old ids, so that the check does not skip them for being fresh.
    const toniq = await newToniq({
      keyPrefix,
      workers: [slow, work],
      orphanCheckInterval: 20,
      now: () => Date.now() + 60_000,
    });
    await toniq.enqueue(slow);
    await toniq.enqueue(slow);
    // Orphans planted one after the other: each runs only once a check has found it, so when
    // the third has finished, at least three checks have passed over the two SlowWork jobs.
    for (let n = 1; n <= 3; n++) {
      const id = newJobId(Date.now() - 10_000);
      const finished = nextEvent<[Job]>(toniq.events, 'finished', { filter: (job) => job.id === id });
      await plantOrphan(keyPrefix, toniq.processId, id, 'Work');
      await finished;
    }
    assert.equal(runs, 1, 'one runs, one waits; neither was run again');
    release();
    await eventually(() => assert.equal(runs, 2));
    release();
    // The only orphans found were the three planted ones, one at a time.
    const found = toniq.logger.lines.filter((line) => /not running here/.test(line.msg));
    assert.deepEqual(
      found.map((line) => line.obj.count),
      [1, 1, 1],
    );
  });
});
