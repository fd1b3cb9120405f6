/**
 * What `durability: { replicas: 1 }` costs (`npm run bench:durability`): enqueue + run throughput
 * on one redis-server with one replica (both on this machine, started here on free ports, never
 * 6379), without and with durability, in two shapes:
 * - batched: 100 enqueues in flight at a time (they share one WAIT per event-loop turn);
 * - one at a time: each enqueue awaited before the next (one WAIT per job: the latency cost).
 * Each figure is the best of `--rounds` runs (default 3), after a warm-up.
 */
import { performance } from 'node:perf_hooks';
import { createToniq, defineWorker, silentLogger } from '../src/index.js';
import { startReplicatedRedis } from '../test/harness/redis-replicated.js';

const args = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const at = args.indexOf(name);
  return at >= 0 ? Number(args[at + 1]) : fallback;
};
const JOBS = option('--jobs', 20_000);
const ONE_AT_A_TIME = option('--sequential-jobs', 2000);
const ROUNDS = option('--rounds', 3);
const IN_FLIGHT = 100;

const setup = await startReplicatedRedis({ replicas: 1 });
let round = 0;

async function measure(durable: boolean, sequential: boolean, jobs: number): Promise<number> {
  let finished = 0;
  let allDone: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    allDone = resolve;
  });
  const noop = defineWorker('Noop', () => {
    if (++finished === jobs) allDone();
  });
  const toniq = createToniq({
    redisUrl: setup.master.url,
    keyPrefix: `bench-durability-${round++}`,
    workers: [noop],
    logger: silentLogger(),
    ...(durable ? { durability: { replicas: 1 } } : {}),
  });
  await toniq.start();
  const started = performance.now();
  if (sequential) {
    for (let i = 0; i < jobs; i++) await toniq.enqueue(noop);
  } else {
    let next = 0;
    const lane = async () => {
      while (next < jobs) {
        next++;
        await toniq.enqueue(noop);
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
  }
  await done;
  const seconds = (performance.now() - started) / 1000;
  await toniq.stop();
  return jobs / seconds;
}

async function best(durable: boolean, sequential: boolean): Promise<number> {
  const jobs = sequential ? ONE_AT_A_TIME : JOBS;
  await measure(durable, sequential, Math.min(jobs, 1000)); // warm-up
  let top = 0;
  for (let i = 0; i < ROUNDS; i++) top = Math.max(top, await measure(durable, sequential, jobs));
  return top;
}

try {
  console.log(
    `durability bench: one master and one replica on 127.0.0.1 (ports ${setup.master.port}, ${setup.replicas[0]!.port}); ` +
      `${JOBS} jobs batched (${IN_FLIGHT} enqueues in flight), ${ONE_AT_A_TIME} one at a time; best of ${ROUNDS}`,
  );
  const rows: Array<[string, number, number]> = [];
  for (const sequential of [false, true]) {
    const without = await best(false, sequential);
    const withReplicas = await best(true, sequential);
    rows.push([sequential ? 'one at a time' : `batched (${IN_FLIGHT} in flight)`, without, withReplicas]);
  }
  for (const [shape, without, withReplicas] of rows) {
    console.log(
      `${shape.padEnd(22)} without durability ${Math.round(without).toString().padStart(6)} jobs/s   ` +
        `with { replicas: 1 } ${Math.round(withReplicas).toString().padStart(6)} jobs/s   ` +
        `(${Math.round((withReplicas / without) * 100)} %)`,
    );
  }
} finally {
  await setup.stop();
}
