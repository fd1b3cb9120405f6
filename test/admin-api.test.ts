import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { connectAdmin, defineWorker, type FailedJob, noRetry, RedisUnreachableError } from '../src/index.js';
import { eventually, nextEvent } from './harness/eventually.js';
import { randomPrefix, recordingLogger, toniqFactory, useRedis } from './harness/fixtures.js';
import { freePort } from './harness/redis-server.js';

const server = useRedis();
const newToniq = toniqFactory(server);

/** Workers whose jobs stay where a test puts them: hanging, or failing. */
const releases = new Map<string, () => void>();
const hang = defineWorker(
  'Hang',
  (args: { key: string }) => new Promise<void>((resolve) => releases.set(args.key, resolve)),
);
const limited = defineWorker(
  'Limited',
  (args: { key: string }) => new Promise<void>((resolve) => releases.set(args.key, resolve)),
  { maxConcurrency: 1 },
);
let healthy = false;
const sendEmail = defineWorker(
  'SendEmail',
  (_args: { to: string; at?: Date; tags?: Map<string, bigint> }) => {
    if (!healthy) throw Object.assign(new Error('SMTP refused'), { code: 'ESMTP' });
  },
  { retry: noRetry() },
);
const report = defineWorker('Report', () => {});

async function failEmails(
  toniq: Awaited<ReturnType<typeof newToniq>>,
  count: number,
  to = (n: number) => `user${n}@example.com`,
) {
  healthy = false;
  const failed: FailedJob[] = [];
  const all = new Promise<void>((resolve) => {
    const onFailed = (job: FailedJob) => {
      failed.push(job);
      if (failed.length === count) {
        toniq.events.off('failed', onFailed);
        resolve();
      }
    };
    toniq.events.on('failed', onFailed);
  });
  for (let n = 0; n < count; n++) await toniq.enqueue(sendEmail, { to: to(n) });
  await all;
  return failed;
}

describe('admin read API', () => {
  it('counts running, waiting, delayed and failed jobs overall, per worker and per process', async () => {
    const toniq = await newToniq({ workers: [hang, limited, sendEmail, report] });
    const prefix = `k${Date.now()}`;
    const started = nextEvent(toniq.events, 'started');
    await toniq.enqueue(hang, { key: `${prefix}-a` });
    await toniq.enqueue(hang, { key: `${prefix}-b` });
    for (const n of [1, 2, 3]) await toniq.enqueue(limited, { key: `${prefix}-l${n}` });
    await started;
    await toniq.enqueue(report, undefined, { delayFor: 60_000 });
    await toniq.enqueue(report, undefined, { delayFor: Infinity });
    await failEmails(toniq, 1);

    await eventually(async () => {
      const stats = await toniq.admin.stats();
      assert.deepEqual(stats.totals, { running: 3, waiting: 2, delayed: 2, failed: 1 });
      const byWorker = Object.fromEntries(stats.workers.map(({ worker, ...counts }) => [worker, counts]));
      assert.deepEqual(byWorker, {
        Hang: { running: 2, waiting: 0, delayed: 0, failed: 0 },
        Limited: { running: 1, waiting: 2, delayed: 0, failed: 0 },
        Report: { running: 0, waiting: 0, delayed: 2, failed: 0 },
        SendEmail: { running: 0, waiting: 0, delayed: 0, failed: 1 },
      });
      const [process, ...others] = stats.processes;
      assert.equal(others.length, 0);
      assert.equal(process!.id, toniq.processId);
      assert.equal(process!.alive, true);
      assert.deepEqual([process!.running, process!.waiting, process!.delayed], [3, 2, 2]);
    });
    for (const [key, release] of releases) if (key.startsWith(prefix)) release();
  });

  it('keeps the per-worker counts right through retries, deletes and delayed jobs coming due', async () => {
    const toniq = await newToniq({ workers: [sendEmail, report] });
    const failed = await failEmails(toniq, 3);
    await toniq.delete(failed[0]!);
    healthy = true;
    const finished = nextEvent(toniq.events, 'finished');
    await toniq.retry(failed[1]!);
    await finished;
    const reportRan = nextEvent(toniq.events, 'finished');
    await toniq.enqueue(report, undefined, { delayFor: 10 });
    await reportRan;
    const stats = await toniq.admin.stats();
    assert.deepEqual(stats.totals, { running: 0, waiting: 0, delayed: 0, failed: 1 });
    assert.deepEqual(
      stats.workers.map((w) => [w.worker, w.delayed, w.failed]),
      [
        ['Report', 0, 0],
        ['SendEmail', 0, 1],
      ],
    );
  });

  it('charts jobs finished and failed per second', async () => {
    const toniq = await newToniq({ workers: [sendEmail] });
    healthy = true;
    const done = new Promise<void>((resolve) => {
      let n = 0;
      toniq.events.on('finished', () => ++n === 5 && resolve());
    });
    for (let n = 0; n < 5; n++) await toniq.enqueue(sendEmail, { to: `ok${n}@example.com` });
    await done;
    await failEmails(toniq, 2);
    await eventually(async () => {
      const throughput = await toniq.admin.throughput(60);
      assert.equal(throughput.seconds, 60);
      assert.equal(throughput.finished.length, 60);
      assert.equal(
        throughput.finished.reduce((a, b) => a + b, 0),
        5,
      );
      assert.equal(
        throughput.failed.reduce((a, b) => a + b, 0),
        2,
      );
    });
  });

  it('lists failed jobs newest first, by page, filtered by worker and searched in arguments and errors', async () => {
    const toniq = await newToniq({ workers: [sendEmail] });
    const failed = await failEmails(toniq, 120);
    const admin = toniq.admin;
    const first = await admin.jobs({ state: 'failed' });
    assert.equal(first.total, 120);
    assert.equal(first.jobs.length, 50);
    assert.equal(first.hasMore, true);
    assert.equal(first.jobs[0]!.id, failed.at(-1)!.id, 'newest failure first');
    const last = await admin.jobs({ state: 'failed', offset: 100, limit: 50 });
    assert.equal(last.jobs.length, 20);
    assert.equal(last.hasMore, false);
    assert.equal(new Set([...first.jobs, ...last.jobs].map((job) => job.id)).size, 70);
    const summary = first.jobs[0]!;
    assert.equal(summary.worker, 'SendEmail');
    assert.equal(summary.state, 'failed');
    assert.equal(summary.attempts, 1);
    assert.deepEqual(summary.error, { name: 'Error', message: 'SMTP refused' });
    assert.equal(summary.argsPreview, "{ to: 'user119@example.com' }");

    const found = await admin.jobs({ state: 'failed', search: 'USER7@' });
    assert.deepEqual(
      found.jobs.map((job) => job.argsPreview),
      ["{ to: 'user7@example.com' }"],
    );
    assert.equal((await admin.jobs({ state: 'failed', search: 'smtp refused', limit: 10 })).total, 120);
    assert.equal((await admin.jobs({ state: 'failed', search: failed[3]!.id })).jobs[0]!.id, failed[3]!.id);
    assert.equal((await admin.jobs({ state: 'failed', worker: 'Other' })).total, 0);
    assert.equal((await admin.jobs({ state: 'failed', worker: 'SendEmail', limit: 500 })).jobs.length, 120);
    const byWorker = await admin.jobs({ state: 'failed', worker: 'SendEmail', offset: 100 });
    assert.deepEqual([byWorker.total, byWorker.hasMore, byWorker.jobs.length], [120, false, 20]);
    assert.deepEqual(
      byWorker.jobs.map((job) => job.id),
      last.jobs.map((job) => job.id),
      'the same order as the unfiltered list',
    );
  });

  it('shows one job with its arguments as util.inspect shows them, its error and stack', async () => {
    const toniq = await newToniq({ workers: [sendEmail] });
    healthy = false;
    const failedEvent = nextEvent<[FailedJob]>(toniq.events, 'failed');
    const at = new Date('2026-01-02T03:04:05.000Z');
    const job = await toniq.enqueue(sendEmail, { to: 'x@example.com', at, tags: new Map([['id', 7n]]) });
    await failedEvent;
    const detail = await toniq.admin.job(job.id);
    assert.ok(detail);
    assert.equal(detail.state, 'failed');
    assert.equal(
      detail.args,
      "{ to: 'x@example.com', at: 2026-01-02T03:04:05.000Z, tags: Map(1) { 'id' => 7n } }",
    );
    assert.equal(detail.error?.message, 'SMTP refused');
    assert.equal(detail.error?.code, 'ESMTP');
    assert.match(detail.error?.stack ?? '', /SMTP refused\n\s+at /);
    assert.equal(detail.processId, toniq.processId);
    assert.equal(detail.createdAt?.getTime(), job.createdAt.getTime());
    assert.ok(detail.failedAt instanceof Date);
    assert.equal(await toniq.admin.job('01NOSUCHJOB0000000000000000'), null);
  });

  it('lists delayed jobs soonest first and runs one now', async () => {
    const toniq = await newToniq({ workers: [report], logger: recordingLogger() });
    const later = await toniq.enqueue(report, undefined, { delayFor: 3_600_000 });
    const held = await toniq.enqueue(report, undefined, { delayFor: Infinity });
    const soon = await toniq.enqueue(report, undefined, { delayFor: 60_000 });
    const page = await toniq.admin.jobs({ state: 'delayed' });
    assert.deepEqual(
      page.jobs.map((job) => job.id),
      [soon.id, later.id, held.id],
    );
    assert.equal(page.jobs[2]!.dueAt, null, 'held until flushed');
    assert.equal(page.jobs[0]!.dueAt?.getTime(), soon.dueAt?.getTime());
    const finished = nextEvent<[{ id: string }]>(toniq.events, 'finished');
    const result = await toniq.admin.runDelayedJobsNow([later.id, 'nope'], { via: 'test', user: 'ada' });
    assert.deepEqual(result, { done: [later.id], missing: ['nope'], refused: [] });
    assert.equal((await finished)[0].id, later.id);
    assert.match(
      toniq.logger.text('info'),
      new RegExp(`Admin \\(test by ada\\): ran now 1 delayed job\\(s\\) ${later.id}; 1 not found`),
    );
  });

  it('tells running jobs from those waiting for a slot', async () => {
    const toniq = await newToniq({ workers: [limited] });
    const prefix = `w${Date.now()}`;
    const started = nextEvent(toniq.events, 'started');
    const first = await toniq.enqueue(limited, { key: `${prefix}-1` });
    const second = await toniq.enqueue(limited, { key: `${prefix}-2` });
    await started;
    await eventually(async () => {
      assert.deepEqual(
        (await toniq.admin.jobs({ state: 'running' })).jobs.map((job) => job.id),
        [first.id],
      );
      assert.deepEqual(
        (await toniq.admin.jobs({ state: 'waiting', worker: 'Limited' })).jobs.map((job) => job.id),
        [second.id],
      );
    });
    for (const [key, release] of releases) if (key.startsWith(prefix)) release();
  });

  it('retries failed jobs from outside the app on a live process that registers the worker', async () => {
    const keyPrefix = randomPrefix();
    const toniq = await newToniq({ workers: [sendEmail], keyPrefix });
    const failed = await failEmails(toniq, 3);
    const logger = recordingLogger();
    const admin = await connectAdmin({ redisUrl: server.redis.url, keyPrefix, logger });
    try {
      healthy = true;
      const finished = nextEvent<[{ id: string }]>(toniq.events, 'finished');
      const result = await admin.retryFailedJobs({ ids: [failed[0]!.id, 'gone'] }, { via: 'cli' });
      assert.deepEqual(result, { done: [failed[0]!.id], missing: ['gone'], refused: [] });
      assert.equal((await finished)[0].id, failed[0]!.id);
      assert.match(logger.text('info'), /Admin \(cli\): retried 1 failed job\(s\)/);

      const deleted = await admin.deleteFailedJobs({ all: true, worker: 'SendEmail' });
      assert.deepEqual(deleted.done.sort(), [failed[1]!.id, failed[2]!.id].sort());
      assert.equal((await admin.stats()).totals.failed, 0);
    } finally {
      await admin.close();
    }
  });

  it('refuses to retry a job no live process can run, saying why, and keeps it', async () => {
    const keyPrefix = randomPrefix();
    const toniq = await newToniq({ workers: [sendEmail], keyPrefix });
    const [failed] = await failEmails(toniq, 1);
    await toniq.stop();
    const admin = await connectAdmin({ redisUrl: server.redis.url, keyPrefix, logger: recordingLogger() });
    try {
      const result = await admin.retryFailedJobs({ ids: [failed!.id] });
      assert.deepEqual(result.done, []);
      assert.equal(result.refused[0]?.id, failed!.id);
      assert.match(result.refused[0]!.reason, /no live process registers the worker "SendEmail"/);
      assert.equal((await admin.jobs({ state: 'failed' })).total, 1);
    } finally {
      await admin.close();
    }
  });

  it('refuses a bad query with a clear error', async () => {
    const toniq = await newToniq({ workers: [report] });
    await assert.rejects(
      toniq.admin.jobs({ state: 'done' as never }),
      /state must be one of running, waiting, delayed, failed/,
    );
    await assert.rejects(
      toniq.admin.jobs({ state: 'failed', limit: 5000 }),
      /limit must be a whole number from 1 to 500/,
    );
  });

  it('says so when Redis cannot be reached', async () => {
    const port = await freePort();
    await assert.rejects(
      connectAdmin({ redisUrl: `redis://127.0.0.1:${port}`, logger: recordingLogger() }),
      (error) => error instanceof RedisUnreachableError && /could not connect to Redis/.test(error.message),
    );
  });
});
