/**
 * A worker's arguments change across deploys while jobs of the old shape wait in Redis: waiting,
 * delayed, failed, or held by a process about to be taken over. `version` + `migrate` bring
 * them up to date before `perform` sees them, and no process runs a job stored by a newer
 * version than its own.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  defineWorker,
  InvalidOptionsError,
  type Job,
  NoSuchProcessError,
  noRetry,
  retryWithoutDelay,
  type Toniq,
} from '../src/index.js';
import { startChild } from './harness/child-processes.js';
import { eventually, nextEvent } from './harness/eventually.js';
import { FAST_TAKEOVER, randomPrefix, toniqFactory, useRedis } from './harness/fixtures.js';

const server = useRedis();
const newToniq = toniqFactory(server);
const fast = { ...FAST_TAKEOVER, delayedJobsPollInterval: 100 };

type V1 = { to: string };
type V2 = { to: string[] };
type V3 = { to: string[]; locale: string };

/** What each version's perform saw: the job id, the worker version that ran it, its arguments. */
type Seen = { id: string; ranBy: number; args: unknown; processId: string };

/** The same worker, "Email", as three deploys define it; every run is recorded in `seen`. */
function emailWorkers(seen: Seen[], options: { fail?: boolean } = {}) {
  const record = (ranBy: number) => (args: unknown, ctx: { job: Job<unknown> }) => {
    seen.push({ id: ctx.job.id, ranBy, args, processId: ctx.job.processId });
    if (options.fail) throw new Error('the mail server is down');
  };
  const retry = noRetry();
  return {
    v1: defineWorker<V1>('Email', record(1), { retry }),
    v2: defineWorker<V2>('Email', record(2), {
      retry,
      version: 2,
      migrate: { 1: (v1: V1): V2 => ({ to: [v1.to] }) },
    }),
    v3: defineWorker<V3>('Email', record(3), {
      retry,
      version: 3,
      migrate: {
        1: (v1: V1): V2 => ({ to: [v1.to] }),
        2: (v2: V2): V3 => ({ ...v2, locale: 'en' }),
      },
    }),
  };
}

/** Leaves, in Redis, one waiting, one delayed and one failed job of a worker version. */
async function leaveJobs(
  worker: ReturnType<typeof emailWorkers>['v1'] | ReturnType<typeof emailWorkers>['v2'],
  args: V1 | V2,
  keyPrefix: string,
): Promise<Toniq> {
  // Manual mode runs nothing until drain(): the job waits in Redis as this deploy stored it.
  const old = await newToniq({ keyPrefix, workers: [worker], mode: 'manual' });
  await (old.enqueue as (w: unknown, a: unknown) => Promise<Job>)(worker, args);
  await old.drain(); // fails it (noRetry): into the failed list
  await (old.enqueue as (w: unknown, a: unknown) => Promise<Job>)(worker, args);
  await (old.enqueue as (w: unknown, a: unknown, o: unknown) => Promise<Job>)(worker, args, {
    delayFor: 60_000,
  });
  await old.stop();
  return old;
}

describe('worker argument versions', () => {
  it('runs waiting, delayed and failed jobs stored by versions 1 and 2 with version-3 arguments', async () => {
    const keyPrefix = randomPrefix();
    const before: Seen[] = [];
    const old = emailWorkers(before, { fail: true });
    await leaveJobs(old.v1, { to: 'one@example.com' }, keyPrefix);
    await leaveJobs(old.v2, { to: ['two@example.com'] }, keyPrefix);
    assert.deepEqual(
      before.map((run) => run.ranBy),
      [1, 2],
      'one failed run per old deploy',
    );

    const seen: Seen[] = [];
    const current = await newToniq({ keyPrefix, workers: [emailWorkers(seen).v3], ...fast });
    // The waiting jobs of the stopped processes are taken over; the delayed ones are flushed;
    // the failed ones retried.
    await eventually(async () => assert.equal((await current.processes()).length, 1), {
      what: 'the takeover of both old processes',
    });
    await current.flushDelayedJobs();
    for (const failed of await current.failedJobs()) await current.retry(failed);
    await eventually(() => assert.equal(seen.length, 6), { what: 'six runs' });
    assert.ok(seen.every((run) => run.ranBy === 3));
    const shapes = seen
      .map((run) => run.args)
      .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
    assert.deepEqual(shapes, [
      ...Array(3).fill({ to: ['one@example.com'], locale: 'en' }),
      ...Array(3).fill({ to: ['two@example.com'], locale: 'en' }),
    ]);
  });

  it('stores the version with each job, shows it in the admin UI, and lists failed jobs of old versions as they were stored', async () => {
    const keyPrefix = randomPrefix();
    const seen: Seen[] = [];
    const workers = emailWorkers(seen, { fail: true });
    await leaveJobs(workers.v2, { to: ['a@example.com'] }, keyPrefix);
    const admin = (await newToniq({ keyPrefix, workers: [emailWorkers([]).v3], mode: 'manual' })).admin;
    const [failed] = (await admin.jobs({ state: 'failed' })).jobs;
    assert.equal(failed!.workerVersion, 2);
    const detail = await admin.job(failed!.id);
    assert.equal(detail?.workerVersion, 2);
    assert.equal(detail?.args, "{ to: [ 'a@example.com' ] }", 'as stored, before any migration');
  });

  it('fails an attempt whose migration throws, retries it like any failure, and keeps the error in the failed list', async () => {
    const keyPrefix = randomPrefix();
    await leaveJobs(emailWorkers([], { fail: true }).v1, { to: 'x@example.com' }, keyPrefix);
    let performed = 0;
    const broken = defineWorker<V2>(
      'Email',
      () => {
        performed++;
      },
      {
        version: 2,
        retry: retryWithoutDelay({ retries: 1 }),
        migrate: {
          1: () => {
            throw new TypeError('cannot read the old address');
          },
        },
      },
    );
    const toniq = await newToniq({ keyPrefix, workers: [broken], ...fast });
    const retrying = nextEvent<[Job, Error]>(toniq.events, 'retrying');
    const failed = nextEvent<[Job, Error]>(toniq.events, 'failed');
    await eventually(async () => assert.equal((await toniq.processes()).length, 1), { what: 'the takeover' });
    const [, firstError] = await retrying;
    assert.equal((firstError as { code?: string }).code, 'TONIQ_MIGRATION_FAILED');
    const [, error] = await failed;
    assert.match(
      error.message,
      /Worker "Email": migrate\[1\] \(version 1 → 2 of its arguments\) threw TypeError: cannot read the old address\. The job's stored arguments are unchanged/,
    );
    assert.equal(performed, 0, 'perform never saw arguments of the wrong shape');
    const stored = (await toniq.failedJobs()).find((job) => job.error.code === 'TONIQ_MIGRATION_FAILED');
    assert.ok(stored, 'in the failed list with its error');
    assert.equal(stored.attempts, 2);
    assert.deepEqual(stored.args, { to: 'x@example.com' }, 'the stored arguments are untouched');
  });

  it('does not run a job stored by a newer version on an older process, and hands it to a process that runs that version', async () => {
    const keyPrefix = randomPrefix();
    const seen: Seen[] = [];
    const workers = emailWorkers(seen);
    // A new process (version 2) stores a job and stops before running it.
    const newer = await newToniq({ keyPrefix, workers: [workers.v2], mode: 'manual' });
    const job = await newer.enqueue(workers.v2, { to: ['new@example.com'] });
    await newer.stop();
    // An old process (version 1) takes it over, but must not run it.
    const older = await newToniq({ keyPrefix, workers: [workers.v1], ...fast });
    await eventually(() => assert.match(older.logger.text('warn'), /was stored by version 2/), {
      what: "the old process's warning",
    });
    assert.match(
      older.logger.text('warn'),
      new RegExp(
        `Job #${job.id} \\(Email\\) was stored by version 2 of the worker's arguments, and this process runs version 1, so it does not run it`,
      ),
    );
    // The admin UI reads the process's report, written once a second.
    await eventually(
      async () => {
        const [waiting] = (await older.admin.jobs({ state: 'waiting' })).jobs;
        assert.equal(waiting?.id, job.id, 'shown as waiting in the admin UI');
        const detail = await older.admin.job(job.id);
        assert.match(
          detail?.note ?? '',
          /Stored by version 2 of worker Email, newer than the one process .* runs/,
        );
      },
      { what: 'the job shown as waiting, with the reason' },
    );
    assert.equal(seen.length, 0);
    // A process that runs version 2 starts: the job goes to it and runs there.
    const current = await newToniq({ keyPrefix, workers: [workers.v2], ...fast });
    await eventually(() => assert.equal(seen.length, 1), { timeout: 10_000, what: 'the hand-over' });
    assert.deepEqual(seen[0], {
      id: job.id,
      ranBy: 2,
      args: { to: ['new@example.com'] },
      processId: current.processId,
    });
  });

  it('side by side in a rolling deploy, runs every job with the shape its code expects', async () => {
    const keyPrefix = randomPrefix();
    const seen: Seen[] = [];
    const workers = emailWorkers(seen);
    const old = await newToniq({ keyPrefix, workers: [workers.v1], ...fast });
    const fresh = await newToniq({ keyPrefix, workers: [workers.v2], ...fast });
    const ids = new Set<string>();
    for (let i = 0; i < 10; i++) {
      ids.add((await old.enqueue(workers.v1, { to: `old${i}@example.com` }, { delayFor: 200 })).id);
      ids.add((await fresh.enqueue(workers.v2, { to: [`new${i}@example.com`] }, { delayFor: 200 })).id);
    }
    // enqueueAnywhere from the new code only picks processes that can read its arguments...
    for (let i = 0; i < 5; i++) {
      const job = await fresh.enqueueAnywhere(workers.v2, { to: [`any${i}@example.com`] });
      assert.equal(job.processId, fresh.processId);
      ids.add(job.id);
    }
    // ...and enqueueOn refuses the old process, saying why.
    await assert.rejects(fresh.enqueueOn(old.processId, workers.v2, { to: ['x'] }), (error: unknown) => {
      assert.ok(error instanceof NoSuchProcessError);
      assert.match(error.message, /runs version 1 of worker "Email", older than this job's version 2/);
      return true;
    });
    // The new process stops with its delayed jobs left: the old one is the only live process.
    await fresh.stop({ timeout: 0 });
    // A second new process starts, as a rolling deploy goes on.
    const next = await newToniq({ keyPrefix, workers: [workers.v2], ...fast });
    await eventually(() => assert.equal(new Set(seen.map((run) => run.id)).size, ids.size), {
      timeout: 15_000,
      what: 'every job to run',
    });
    for (const run of seen) {
      const expected =
        run.ranBy === 1 ? typeof (run.args as V1).to === 'string' : Array.isArray((run.args as V2).to);
      assert.ok(expected, `job ${run.id} ran on version ${run.ranBy} with ${JSON.stringify(run.args)}`);
    }
    assert.ok(
      seen.filter((run) => run.ranBy === 2).every((run) => run.processId !== old.processId),
      'no version-2 job ran on the old process',
    );
    assert.ok(
      seen.some((run) => run.processId === next.processId),
      'the new process took the left jobs',
    );
  });

  it('in a rolling deploy of real processes, the jobs of a killed new process wait on the old one and run on the next new one', async () => {
    const keyPrefix = randomPrefix();
    const redis = server.redis.client();
    const options = { redisUrl: server.redis.url, keyPrefix, ...fast };
    const old = await startChild({ ...options, recordVersion: 1 });
    const doomed = await startChild({ ...options, recordVersion: 2, hang: true });
    const oldJobs = Array.from({ length: 10 }, (_, i) => ({ label: `old-${i}` }));
    const newJobs = Array.from({ length: 10 }, (_, i) => ({ label: `new-${i}` }));
    await old.request({ cmd: 'enqueue', jobs: oldJobs });
    await doomed.request({ cmd: 'enqueue', jobs: newJobs });
    // The new process dies with its version-2 jobs running: the old one is the only one alive.
    await doomed.kill();
    await eventually(
      () => assert.match(old.logText('warn'), /was stored by version 2 of the worker's arguments/),
      {
        timeout: 10_000,
        what: 'the old process to take the jobs over and hold them',
      },
    );
    // The deploy goes on: a new process starts and gets them from the old one.
    const next = await startChild({ ...options, recordVersion: 2 });
    await eventually(
      async () => assert.equal(Object.keys(await redis.hgetall(`{${keyPrefix}}:test-runs`)).length, 20),
      { timeout: 15_000, what: 'all 20 jobs to finish' },
    );
    const shapes = Object.keys(await redis.hgetall(`{${keyPrefix}}:test-shapes`));
    assert.deepEqual(
      shapes.filter((run) => run.includes('wrong')),
      [],
      'nothing ran with the wrong shape',
    );
    for (const { label } of newJobs) {
      assert.ok(
        !shapes.includes(`${label} ran by version 1 with the right shape`),
        `${label} did not run on version 1`,
      );
    }
    assert.match(
      old.logText('info'),
      new RegExp(`Handed \\d+ job\\(s\\) stored by a newer worker version to process ${next.processId}`),
    );
  });

  it('refuses a version or migrate option that cannot work, saying what to write', () => {
    const perform = () => {};
    assert.throws(
      () => defineWorker('A', perform, { version: 0 }),
      /version must be a whole number ≥ 1, got 0/,
    );
    assert.throws(() => defineWorker('A', perform, { version: 1.5 }), InvalidOptionsError);
    assert.throws(
      () => defineWorker('A', perform, { version: 2, migrate: { 2: (a: unknown) => a } }),
      /migrate has a step "2", but steps are numbered by the version they start from, 1 to 1/,
    );
    assert.throws(
      () =>
        defineWorker('A', perform, { version: 4, migrate: { 1: (a: unknown) => a, 3: (a: unknown) => a } }),
      /migrate has no step 2 \(version 2 → 3\)/,
    );
    assert.throws(
      () => defineWorker('A', perform, { version: 2, migrate: { 1: 'upgrade' as never } }),
      /migrate\[1\] must be a function/,
    );
  });
});
