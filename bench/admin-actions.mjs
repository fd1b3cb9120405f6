/**
 * `node bench/admin-actions.mjs [--jobs 120000] [--dist ../dist]`: how long the admin's bulk
 * actions take on many jobs: run now (delayed jobs spread over 1 and 2 live processes, as the
 * admin asks every process for every id), retry and delete of failed jobs. It starts a throwaway
 * redis-server and writes the jobs straight into Redis, so only the actions are timed. `--dist`
 * points at another build (say, of main) to compare.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';

const arg = (name, fallback) => {
  const at = process.argv.indexOf(name);
  return at > 0 ? process.argv[at + 1] : fallback;
};
const JOBS = Number(arg('--jobs', 120_000));
const dist = arg('--dist', new URL('../dist', import.meta.url).pathname);
const { connectAdmin, silentLogger } = await import(pathToFileURL(resolve(dist, 'src/index.js')).href);
const { encodeRecord } = await import(pathToFileURL(resolve(dist, 'src/job/job-record.js')).href);
const { ArgumentCodec } = await import(pathToFileURL(resolve(dist, 'src/job/serialization.js')).href);

async function freePort() {
  const server = createServer();
  await new Promise((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address();
  await new Promise((done) => server.close(done));
  return port;
}

const port = await freePort();
const dir = mkdtempSync(join(os.tmpdir(), 'toniq-bench-actions-'));
const redisServer = spawn(
  'redis-server',
  ['--port', String(port), '--save', '', '--appendonly', 'no', '--dir', dir],
  {
    stdio: 'ignore',
  },
);
process.on('exit', () => {
  redisServer.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});
const redisUrl = `redis://127.0.0.1:${port}`;
// Queued until the server listens.
const client = new Redis(redisUrl, { retryStrategy: () => 100 });
client.on('error', () => {});
await client.ping();

const codec = new ArgumentCodec();
const ids = Array.from({ length: JOBS }, (_, i) => `bench-${String(i).padStart(7, '0')}`);
const recordOf = (id) =>
  encodeRecord({ v: 2, id, worker: 'W', args: codec.encode({ i: id }), attempt: 1, createdAt: Date.now() });

/** Registers live processes (heartbeat for an hour) that register the worker W. */
async function liveProcesses(prefix, count) {
  const processes = Array.from({ length: count }, (_, i) => `p${i + 1}`);
  for (const id of processes) {
    const info = {
      id,
      host: 'bench',
      pid: 1,
      startedAt: Date.now(),
      version: '0',
      workers: ['W'],
      deadAfter: 3_600_000,
    };
    await client.hset(`{${prefix}}:registry`, id, JSON.stringify(info));
    await client.set(`{${prefix}:${id}}:heartbeat`, String(Date.now()), 'PX', 3_600_000);
    await client.set(`{${prefix}:${id}}:open`, '1');
  }
  return processes;
}

async function time(label, action, check) {
  const t0 = performance.now();
  const result = await action();
  const seconds = (performance.now() - t0) / 1000;
  console.log(`  ${label.padEnd(52)} ${seconds.toFixed(2).padStart(7)} s  (${check(result)})`);
}

console.log(`${JOBS.toLocaleString('en')} jobs, build ${dist}`);
for (const count of [1, 2]) {
  const prefix = `bench-run-now-${count}`;
  const processes = await liveProcesses(prefix, count);
  for (let start = 0; start < JOBS; start += 5000) {
    const batch = client.pipeline();
    ids.slice(start, start + 5000).forEach((id, i) => {
      const processId = processes[(start + i) % count];
      batch.zadd(`{${prefix}}:delayed:${processId}`, Date.now() + 3_600_000, id);
      batch.hset(`{${prefix}}:delayed-jobs:${processId}`, id, 'x');
    });
    await batch.exec();
  }
  const admin = await connectAdmin({ redisUrl, keyPrefix: prefix, logger: silentLogger() });
  await time(
    `run now, ${count} live process${count > 1 ? 'es' : ''}`,
    () => admin.runDelayedJobsNow(ids),
    (r) => `${r.done.length} done, ${r.missing.length} missing`,
  );
  await admin.close();
}

for (const action of ['retry', 'delete']) {
  const prefix = `bench-${action}`;
  await liveProcesses(prefix, 1);
  for (let start = 0; start < JOBS; start += 5000) {
    const batch = client.pipeline();
    for (const id of ids.slice(start, start + 5000)) {
      batch.hset(`{${prefix}}:failed`, id, recordOf(id));
      batch.zadd(`{${prefix}}:failed-index`, Date.now(), id);
    }
    await batch.exec();
  }
  const admin = await connectAdmin({ redisUrl, keyPrefix: prefix, logger: silentLogger() });
  await time(
    `${action} ${JOBS.toLocaleString('en')} failed jobs (all)`,
    () => (action === 'retry' ? admin.retryFailedJobs({ all: true }) : admin.deleteFailedJobs({ all: true })),
    (r) => `${r.done.length} done, ${r.missing.length} missing, ${r.refused.length} refused`,
  );
  await admin.close();
}
client.disconnect();
process.exit(0);
