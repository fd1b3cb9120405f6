/**
 * BullMQ's side of each scenario: `node bullmq.mjs <scenario> <redisUrl> <jobs>` prints one JSON
 * result line. Producer (Queue) and consumer (Worker) live in this one process, each on its own
 * ioredis connection, and finished jobs are removed (removeOnComplete), as toniq does.
 */
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import {
  enqueueMany,
  inspector,
  latencyFigures,
  main,
  paced,
  peakRss,
  performance,
  round,
  rssAfterGc,
  sleep,
  until,
  Window,
} from './common.mjs';

const QUEUE = 'bench';

/** BullMQ in native ESM needs ready-made ioredis clients (it cannot require() one itself). */
function connection(redisUrl) {
  return new Redis(redisUrl, { maxRetriesPerRequest: null });
}

function queue(redisUrl) {
  return new Queue(QUEUE, {
    connection: connection(redisUrl),
    defaultJobOptions: { removeOnComplete: true, removeOnFail: true },
  });
}

function worker(redisUrl, processor, concurrency) {
  const w = new Worker(QUEUE, processor, { connection: connection(redisUrl), concurrency });
  w.on('error', (error) => console.error(`[bullmq worker error] ${error}`));
  return w;
}

function crash(error) {
  process.stdout.write(`${JSON.stringify({ error: String(error?.stack ?? error) })}\n`, () =>
    process.exit(1),
  );
}

const scenarios = {
  async a({ redisUrl, jobs }) {
    const q = queue(redisUrl);
    const look = inspector(redisUrl);
    const window = new Window(500);
    let finished = 0;
    const w = worker(redisUrl, async () => {}, 500);
    w.on('completed', () => {
      finished++;
      window.release();
    });
    await Promise.all([q.waitUntilReady(), w.waitUntilReady()]);
    const commandsBefore = await look.commandsProcessed();
    const t0 = performance.now();
    for (let i = 0; i < jobs; i++) {
      const wait = window.acquire();
      if (wait) await wait;
      q.add('noop', {}).catch(crash);
    }
    await until(() => finished === jobs, 1);
    const seconds = (performance.now() - t0) / 1000;
    const commands = (await look.commandsProcessed()) - commandsBefore;
    return { jobsPerSecond: round(jobs / seconds), redisCommandsPerJob: round(commands / jobs, 3) };
  },

  async b({ redisUrl, jobs }) {
    const q = queue(redisUrl);
    const samples = [];
    const w = worker(
      redisUrl,
      async (job) => {
        samples.push(performance.now() - job.data.sentAt);
      },
      500,
    );
    await Promise.all([q.waitUntilReady(), w.waitUntilReady()]);
    const rate = 1000;
    const total = await paced(rate, jobs / rate, (sentAt) => q.add('probe', { sentAt }));
    await until(() => samples.length === total, 2);
    return latencyFigures(samples, Math.round(total / 10));
  },

  c() {
    return { na: 'BullMQ always persists a job before it runs' };
  },

  async d({ redisUrl, jobs }) {
    const q = queue(redisUrl);
    const look = inspector(redisUrl);
    await q.waitUntilReady();
    const t0 = performance.now();
    await enqueueMany(jobs, 500, () => q.add('waiting', {}));
    const seconds = (performance.now() - t0) / 1000;
    return {
      rssMb: await rssAfterGc(),
      redisMb: await look.usedMemoryMb(),
      enqueuePerSecond: round(jobs / seconds),
    };
  },

  async e({ redisUrl, jobs }) {
    const q = queue(redisUrl);
    let finished = 0;
    const w = worker(redisUrl, () => sleep(1000), jobs);
    w.on('completed', () => finished++);
    await Promise.all([q.waitUntilReady(), w.waitUntilReady()]);
    const rss = peakRss();
    const t0 = performance.now();
    await Promise.all(Array.from({ length: jobs }, () => q.add('sleep', {})));
    await until(() => finished === jobs, 5);
    return { wallSeconds: round((performance.now() - t0) / 1000, 2), peakRssMb: rss.stop() };
  },

  f() {
    return {
      na: "BullMQ's waiting jobs belong to no process (any worker takes them at once); only active jobs of a dead worker wait for stalled-job recovery (lockDuration, 30 s by default). Not measured.",
    };
  },

  async g({ redisUrl, jobs }) {
    const q = queue(redisUrl);
    const look = inspector(redisUrl);
    await q.waitUntilReady();
    const t0 = performance.now();
    await enqueueMany(jobs, 500, () => q.add('later', {}, { delay: 3_600_000 }));
    const seconds = (performance.now() - t0) / 1000;
    return {
      enqueuePerSecond: round(jobs / seconds),
      rssMb: await rssAfterGc(),
      redisMb: await look.usedMemoryMb(),
    };
  },
};

await main(scenarios);
