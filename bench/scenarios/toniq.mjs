/**
 * toniq's side of each scenario: `node toniq.mjs <scenario> <redisUrl> <jobs>` prints one JSON
 * result line. A job runs in the process that enqueued it, so every scenario is one process
 * (scenario f adds a second one, the victim, which it kills).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createToniq, defineWorker } from '../../dist/src/index.js';
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

const KEY_PREFIX = 'bench';

/** Quiet, except for warnings and errors, which go to stderr where the conductor shows them. */
const logger = {
  debug() {},
  info() {},
  warn: (_obj, msg) => console.error(`[toniq warn] ${msg}`),
  error: (obj, msg) => console.error(`[toniq error] ${msg}${obj?.err ? ` ${obj.err}` : ''}`),
};

async function started(redisUrl, workers, options = {}) {
  const toniq = createToniq({ redisUrl, keyPrefix: KEY_PREFIX, workers, logger, ...options });
  await toniq.start();
  return toniq;
}

/** A failed enqueue ends the run with an error result, rather than a hang waiting for the job. */
function crash(error) {
  process.stdout.write(`${JSON.stringify({ error: String(error?.stack ?? error) })}\n`, () =>
    process.exit(1),
  );
}

/** Whether this toniq build has the `persist` option (an unknown worker option is refused). */
function hasPersistOption() {
  try {
    defineWorker('PersistProbe', () => {}, { persist: 'none' });
    return true;
  } catch {
    return false;
  }
}

/** Scenarios a and c: no-op jobs, at most 500 enqueued and not yet finished. */
async function throughput({ redisUrl, jobs }, enqueueOptions) {
  const noop = defineWorker('Noop', () => {});
  const toniq = await started(redisUrl, [noop]);
  const look = inspector(redisUrl);
  const window = new Window(500);
  let finished = 0;
  toniq.events.on('finished', () => {
    finished++;
    window.release();
  });
  const commandsBefore = await look.commandsProcessed();
  const t0 = performance.now();
  for (let i = 0; i < jobs; i++) {
    const wait = window.acquire();
    if (wait) await wait;
    const enqueued = toniq.enqueue(noop, undefined, enqueueOptions).catch(crash);
    // With persist: 'none' a no-op job is over before enqueue returns, so the window never fills
    // and this loop would never yield: a million unsettled promises would pile up. Await one in
    // every 500, as a caller with 500 in flight would.
    if (i % 500 === 499) await enqueued;
  }
  await until(() => finished === jobs, 1);
  const ran = performance.now();
  // toniq removes a finished job from Redis after the `finished` event: count it done once removed.
  const jobsKey = `{${KEY_PREFIX}:${toniq.processId}}:jobs`;
  await until(async () => (await look.client.hlen(jobsKey)) === 0, 1);
  const removed = performance.now();
  const commands = (await look.commandsProcessed()) - commandsBefore;
  return {
    jobsPerSecond: round(jobs / ((removed - t0) / 1000)),
    lastFinishedToRemovedMs: round(removed - ran, 1),
    redisCommandsPerJob: round(commands / jobs, 3),
  };
}

const scenarios = {
  a: (o) => throughput(o, undefined),

  async b({ redisUrl, jobs }) {
    const samples = [];
    const probe = defineWorker('Probe', (args) => {
      samples.push(performance.now() - args.sentAt);
    });
    const toniq = await started(redisUrl, [probe]);
    const rate = 1000;
    const total = await paced(rate, jobs / rate, (sentAt) => toniq.enqueue(probe, { sentAt }));
    await until(() => samples.length === total, 2);
    return latencyFigures(samples, Math.round(total / 10));
  },

  c(o) {
    if (!hasPersistOption())
      return { na: "this toniq build has no `persist` option (defineWorker refuses 'persist')" };
    return throughput(o, { persist: 'none' });
  },

  async d({ redisUrl, jobs }) {
    let open;
    const gate = new Promise((resolve) => {
      open = resolve;
    });
    const gated = defineWorker('Gated', () => gate, { maxConcurrency: 1 });
    const toniq = await started(redisUrl, [gated]);
    const look = inspector(redisUrl);
    const t0 = performance.now();
    await enqueueMany(jobs, 500, () => toniq.enqueue(gated));
    const seconds = (performance.now() - t0) / 1000;
    const result = {
      rssMb: await rssAfterGc(),
      redisMb: await look.usedMemoryMb(),
      enqueuePerSecond: round(jobs / seconds),
    };
    open();
    return result;
  },

  async e({ redisUrl, jobs }) {
    const sleeper = defineWorker('Sleeper', () => sleep(1000));
    const toniq = await started(redisUrl, [sleeper]);
    let finished = 0;
    toniq.events.on('finished', () => finished++);
    const rss = peakRss();
    const t0 = performance.now();
    await Promise.all(Array.from({ length: jobs }, () => toniq.enqueue(sleeper)));
    await until(() => finished === jobs, 5);
    return { wallSeconds: round((performance.now() - t0) / 1000, 2), peakRssMb: rss.stop() };
  },

  async f({ redisUrl, jobs }) {
    const timing = { heartbeatInterval: 100, deadAfter: 1000, takeoverCheckInterval: 100 };
    let ran = 0;
    const hang = defineWorker('Hang', () => {
      ran++;
    });
    const rescuer = await started(redisUrl, [hang], timing);
    let takenOverAt;
    let takenOver = 0;
    rescuer.events.on('takenOver', ({ jobs: count }) => {
      takenOverAt ??= performance.now();
      takenOver += count;
    });
    const victim = spawn(
      process.execPath,
      [fileURLToPath(import.meta.url), 'f-victim', redisUrl, String(jobs)],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let output = '';
    victim.stdout.on('data', (chunk) => {
      output += chunk;
    });
    const exited = new Promise((resolve) => victim.once('exit', resolve));
    await Promise.race([until(() => output.includes('ready'), 20), exited]);
    if (!output.includes('ready')) throw new Error(`the victim exited before enqueueing: ${output}`);
    const look = inspector(redisUrl);
    await look.resetSlowlog();
    victim.kill('SIGKILL');
    await exited;
    const killedAt = performance.now();
    await until(() => ran >= jobs, 5);
    const done = performance.now();
    return {
      detectionSeconds: round((takenOverAt - killedAt) / 1000, 2),
      takenOverToFinishedSeconds: round((done - takenOverAt) / 1000, 2),
      killToFinishedSeconds: round((done - killedAt) / 1000, 2),
      jobsTakenOver: takenOver,
      longestRedisCommandMs: await look.longestCommandMs(),
    };
  },

  /** The process scenario f kills: it holds `jobs` jobs that never finish here. */
  async 'f-victim'({ redisUrl, jobs }) {
    const hang = defineWorker('Hang', () => new Promise(() => {}));
    const toniq = await started(redisUrl, [hang], {
      heartbeatInterval: 100,
      deadAfter: 1000,
      takeoverCheckInterval: 100,
    });
    await enqueueMany(jobs, 500, () => toniq.enqueue(hang));
    process.stdout.write('ready\n');
    await new Promise(() => {});
  },

  async g({ redisUrl, jobs }) {
    const later = defineWorker('Later', () => {});
    const toniq = await started(redisUrl, [later]);
    const look = inspector(redisUrl);
    const t0 = performance.now();
    await enqueueMany(jobs, 500, () => toniq.enqueue(later, undefined, { delayFor: 3_600_000 }));
    const seconds = (performance.now() - t0) / 1000;
    return {
      enqueuePerSecond: round(jobs / seconds),
      rssMb: await rssAfterGc(),
      redisMb: await look.usedMemoryMb(),
    };
  },
};

await main(scenarios);
