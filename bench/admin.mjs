/**
 * `npm run bench:admin`: how fast the admin read API answers with many jobs. It starts a
 * throwaway redis-server, fails 100,000 jobs (and holds 10,000 delayed ones) through a real toniq
 * process, then times what the web UI asks for: stats, the first and the last page of the failed
 * list, a page filtered by worker, a search, and one job's detail.
 *
 *   node bench/admin.mjs [--jobs 100000]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { connectAdmin, createToniq, defineWorker, noRetry, silentLogger } from '../dist/src/index.js';

const jobsAt = process.argv.indexOf('--jobs');
const JOBS = jobsAt > 0 ? Number(process.argv[jobsAt + 1]) : 100_000;

async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const port = await freePort();
const dir = mkdtempSync(join(os.tmpdir(), 'toniq-bench-admin-'));
const redis = spawn(
  'redis-server',
  ['--port', String(port), '--save', '', '--appendonly', 'no', '--dir', dir],
  {
    stdio: 'ignore',
  },
);
const redisUrl = `redis://127.0.0.1:${port}`;
process.on('exit', () => {
  redis.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

const failing = defineWorker(
  'SendEmail',
  () => {
    throw new Error('SMTP refused');
  },
  { retry: noRetry() },
);
const other = defineWorker(
  'ChargeCard',
  () => {
    throw new Error('card declined');
  },
  { retry: noRetry() },
);
const later = defineWorker('SendReminder', () => {});

let toniq;
for (let tries = 0; ; tries++) {
  try {
    toniq = createToniq({ redisUrl, workers: [failing, other, later], logger: silentLogger() });
    await toniq.start();
    break;
  } catch (error) {
    if (tries > 50) throw error;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const started = performance.now();
let failed = 0;
const allFailed = new Promise((resolve) => {
  toniq.events.on('failed', () => ++failed === JOBS && resolve());
});
for (let n = 0; n < JOBS; n += 500) {
  const batch = [];
  for (let i = n; i < Math.min(JOBS, n + 500); i++) {
    batch.push(
      i % 10 === 0
        ? toniq.enqueue(other, { orderId: i })
        : toniq.enqueue(failing, { to: `user${i}@example.com`, tags: ['welcome'] }),
    );
  }
  await Promise.all(batch);
}
await allFailed;
const delayed = [];
for (let i = 0; i < JOBS / 10; i++) delayed.push(toniq.enqueue(later, { i }, { delayFor: 3_600_000 }));
await Promise.all(delayed);
console.log(
  `${JOBS.toLocaleString('en')} failed and ${(JOBS / 10).toLocaleString('en')} delayed jobs made in ${((performance.now() - started) / 1000).toFixed(1)} s`,
);

const admin = await connectAdmin({ redisUrl, logger: silentLogger() });
const some = (await admin.jobs({ state: 'failed', offset: Math.floor(JOBS / 2), limit: 1 })).jobs[0];
const timings = [
  ['stats()', () => admin.stats()],
  ['failed list, first page of 50', () => admin.jobs({ state: 'failed' })],
  ['failed list, last page of 50', () => admin.jobs({ state: 'failed', offset: JOBS - 50 })],
  ['delayed list, first page of 50', () => admin.jobs({ state: 'delayed' })],
  ['failed list filtered by worker, first page', () => admin.jobs({ state: 'failed', worker: 'ChargeCard' })],
  ['failed list searched for one id (a lookup)', () => admin.jobs({ state: 'failed', search: some.id })],
  [
    'failed list searched in arguments (scans all)',
    () => admin.jobs({ state: 'failed', search: 'user77777@' }),
  ],
  ['one job’s detail', () => admin.job(some.id)],
  ['throughput of the last hour', () => admin.throughput(3600)],
];
console.log('\nadmin read API, median of 5 runs:');
for (const [label, call] of timings) {
  const runs = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    await call();
    runs.push(performance.now() - t0);
  }
  runs.sort((a, b) => a - b);
  console.log(`  ${label.padEnd(48)} ${runs[2].toFixed(1).padStart(8)} ms`);
}
await admin.close();
await toniq.stop({ timeout: 1000 });
process.exit(0);
