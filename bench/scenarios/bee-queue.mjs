/**
 * Bee-Queue's side of each scenario: `node bee-queue.mjs <scenario> <redisUrl> <jobs>` prints one
 * JSON result line. One queue object both adds and processes jobs in this process; finished jobs
 * are removed (removeOnSuccess), as toniq does, and no job events go through Redis.
 */
import BeeQueue from 'bee-queue';
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

function queue(redisUrl, isWorker) {
  const { hostname, port } = new URL(redisUrl);
  const q = new BeeQueue('bench', {
    redis: { host: hostname, port: Number(port) },
    isWorker,
    getEvents: false,
    sendEvents: false,
    storeJobs: false,
    removeOnSuccess: true,
    removeOnFailure: true,
    activateDelayedJobs: false,
  });
  q.on('error', (error) => console.error(`[bee-queue error] ${error}`));
  return q;
}

function crash(error) {
  process.stdout.write(`${JSON.stringify({ error: String(error?.stack ?? error) })}\n`, () =>
    process.exit(1),
  );
}

const scenarios = {
  async a({ redisUrl, jobs }) {
    const q = queue(redisUrl, true);
    const look = inspector(redisUrl);
    const window = new Window(500);
    let finished = 0;
    q.on('succeeded', () => {
      finished++;
      window.release();
    });
    q.process(500, async () => {});
    await q.ready();
    const commandsBefore = await look.commandsProcessed();
    const t0 = performance.now();
    for (let i = 0; i < jobs; i++) {
      const wait = window.acquire();
      if (wait) await wait;
      q.createJob({}).save().catch(crash);
    }
    await until(() => finished === jobs, 1);
    const seconds = (performance.now() - t0) / 1000;
    const commands = (await look.commandsProcessed()) - commandsBefore;
    return { jobsPerSecond: round(jobs / seconds), redisCommandsPerJob: round(commands / jobs, 3) };
  },

  async b({ redisUrl, jobs }) {
    const q = queue(redisUrl, true);
    const samples = [];
    q.process(500, async (job) => {
      samples.push(performance.now() - job.data.sentAt);
    });
    await q.ready();
    const rate = 1000;
    const total = await paced(rate, jobs / rate, (sentAt) => q.createJob({ sentAt }).save());
    await until(() => samples.length === total, 2);
    return latencyFigures(samples, Math.round(total / 10));
  },

  c() {
    return { na: 'Bee-Queue always persists a job before it runs' };
  },

  async d({ redisUrl, jobs }) {
    const q = queue(redisUrl, false);
    const look = inspector(redisUrl);
    await q.ready();
    const t0 = performance.now();
    await enqueueMany(jobs, 500, () => q.createJob({}).save());
    const seconds = (performance.now() - t0) / 1000;
    return {
      rssMb: await rssAfterGc(),
      redisMb: await look.usedMemoryMb(),
      enqueuePerSecond: round(jobs / seconds),
    };
  },

  async e({ redisUrl, jobs }) {
    const q = queue(redisUrl, true);
    let finished = 0;
    q.on('succeeded', () => finished++);
    q.process(jobs, () => sleep(1000));
    await q.ready();
    const rss = peakRss();
    const t0 = performance.now();
    await Promise.all(Array.from({ length: jobs }, () => q.createJob({}).save()));
    await until(() => finished === jobs, 5);
    return { wallSeconds: round((performance.now() - t0) / 1000, 2), peakRssMb: rss.stop() };
  },

  f() {
    return {
      na: "Bee-Queue's waiting jobs belong to no process; only a dead worker's active jobs wait for stall detection (stallInterval). Not measured.",
    };
  },

  async g({ redisUrl, jobs }) {
    const q = queue(redisUrl, false);
    const look = inspector(redisUrl);
    await q.ready();
    const t0 = performance.now();
    await enqueueMany(jobs, 500, () =>
      q
        .createJob({})
        .delayUntil(Date.now() + 3_600_000)
        .save(),
    );
    const seconds = (performance.now() - t0) / 1000;
    return {
      enqueuePerSecond: round(jobs / seconds),
      rssMb: await rssAfterGc(),
      redisMb: await look.usedMemoryMb(),
    };
  },
};

await main(scenarios);
