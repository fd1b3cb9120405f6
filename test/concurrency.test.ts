import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defineWorker } from '../src/index.js';
import { eventually } from './harness/eventually.js';
import { toniqFactory, useRedis } from './harness/fixtures.js';

const server = useRedis();
const newToniq = toniqFactory(server);

/** A worker whose jobs run until the test releases them; `running` holds the jobs running now. */
function gatedWorker(name: string, maxConcurrency?: number) {
  const running = new Set<number>();
  const gates = new Map<number, () => void>();
  const worker = defineWorker(
    name,
    (args: { n: number }) =>
      new Promise<void>((resolve) => {
        running.add(args.n);
        gates.set(args.n, () => {
          running.delete(args.n);
          resolve();
        });
      }),
    maxConcurrency ? { maxConcurrency } : {},
  );
  const release = async (n: number) => {
    await eventually(() => assert.ok(gates.has(n), `job ${n} is running`));
    gates.get(n)!();
  };
  return { worker, running, release };
}

describe('limiting concurrency', () => {
  it('runs [1,2] → [2,3] → [3,4] → [4] → [] with maxConcurrency 2 and 4 jobs', async () => {
    const { worker, running, release } = gatedWorker('Limited', 2);
    const toniq = await newToniq({ workers: [worker] });
    for (const n of [1, 2, 3, 4]) await toniq.enqueue(worker, { n });
    const settled = async (remaining: number) => {
      // Once a released job's slot is taken again (or nothing is left to take it).
      await eventually(() => assert.equal(running.size, Math.min(2, remaining)));
      return [...running].sort();
    };
    const states: number[][] = [await settled(4)];
    for (const n of [1, 2, 3, 4]) {
      await release(n);
      states.push(await settled(4 - n));
    }
    assert.deepEqual(states, [[1, 2], [2, 3], [3, 4], [4], []]);
  });

  it('keeps limiting after the first jobs are done', async () => {
    const { worker, running, release } = gatedWorker('LimitedAgain', 2);
    const toniq = await newToniq({ workers: [worker] });
    for (const n of [1, 2]) await toniq.enqueue(worker, { n });
    await release(1);
    await release(2);
    await eventually(() => assert.equal(running.size, 0));
    for (const n of [3, 4, 5]) await toniq.enqueue(worker, { n });
    await eventually(() => assert.deepEqual([...running].sort(), [3, 4]));
    await release(3);
    await eventually(() => assert.deepEqual([...running].sort(), [4, 5]));
    await release(4);
    await release(5);
  });

  it('keeps jobs that wait for a slot persisted', async () => {
    const { worker, release } = gatedWorker('LimitedPersisted', 1);
    const toniq = await newToniq({ workers: [worker] });
    const jobs = [];
    for (const n of [1, 2, 3]) jobs.push(await toniq.enqueue(worker, { n }));
    const client = server.redis.client();
    const [jobsKey] = await client.keys(`*:${toniq.processId}}:jobs`);
    assert.equal(await client.hlen(jobsKey!), 3, 'the running job and the two waiting ones');
    for (const n of [1, 2, 3]) await release(n);
    await eventually(async () => assert.equal(await client.exists(jobsKey!), 0));
  });

  it('runs thousands of jobs at once when no limit is set', async () => {
    const { worker, running, release } = gatedWorker('Unlimited');
    const toniq = await newToniq({ workers: [worker] });
    await Promise.all(Array.from({ length: 2000 }, (_, n) => toniq.enqueue(worker, { n })));
    await eventually(() => assert.equal(running.size, 2000));
    for (let n = 0; n < 2000; n++) await release(n);
  });
});
