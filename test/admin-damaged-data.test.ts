/**
 * The admin (API, JSON over HTTP) against entries in Redis that are not what toniq writes: a
 * damaged entry is shown as damaged, and everything else goes on working. Worker names that are
 * also Object.prototype's (`__proto__`, `constructor`) are names like any other.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { connectAdmin, createToniq, defineWorker, noRetry } from '../src/index.js';
import { encodeRecord, NO_ARGS } from '../src/job/job-record.js';
import { keysFor } from '../src/storage/keys.js';
import { serve } from './harness/browser.js';
import { collectEvents, eventually } from './harness/eventually.js';
import { randomPrefix, recordingLogger, toniqFactory, useRedis } from './harness/fixtures.js';

const server = useRedis();
const newToniq = toniqFactory(server);

const sendEmail = defineWorker('SendEmail', (_args: { to: string }) => {});

/** Registers a process the way keep-alive does, alive for a minute, with `info` as its registration. */
async function registerRaw(keyPrefix: string, id: string, info: string): Promise<void> {
  const client = server.redis.client();
  await client.hset(keysFor(keyPrefix).registry, id, info);
  await client.set(keysFor(keyPrefix).process(id).heartbeat, '1', 'PX', 60_000);
}

const registration = (id: string, fields: Record<string, unknown>) =>
  JSON.stringify({
    id,
    host: 'web-1',
    pid: 42,
    startedAt: Date.now(),
    version: '1.0.0',
    workers: ['SendEmail'],
    deadAfter: 60_000,
    ...fields,
  });

describe('the admin with damaged entries in Redis', () => {
  it('shows a process whose registration has workers null, 5 or is not JSON as damaged, and the overview, processes and enqueueAnywhere still work', async () => {
    const keyPrefix = randomPrefix();
    const toniq = await newToniq({ keyPrefix, workers: [sendEmail] });
    await registerRaw(keyPrefix, 'workers-null', registration('workers-null', { workers: null }));
    await registerRaw(keyPrefix, 'workers-five', registration('workers-five', { workers: 5 }));
    await registerRaw(keyPrefix, 'not-json', '{"id":');
    await registerRaw(
      keyPrefix,
      'bad-times',
      registration('bad-times', { startedAt: 'yesterday', pid: -0.5, workers: ['Other'] }),
    );

    const stats = await toniq.admin.stats();
    const byId = new Map(stats.processes.map((p) => [p.id, p]));
    assert.equal(byId.size, 5);
    const own = byId.get(toniq.processId)!;
    assert.equal(own.damaged, undefined, 'the sound process is not marked');
    assert.deepEqual(own.workers, ['SendEmail']);
    for (const id of ['workers-null', 'workers-five']) {
      const p = byId.get(id)!;
      assert.match(p.damaged ?? '', /no readable workers; no job is sent to it by worker/, id);
      assert.deepEqual(p.workers, [], `${id}: no workers`);
      assert.equal(p.host, 'web-1', `${id}: what could be read is shown`);
    }
    assert.match(byId.get('not-json')!.damaged ?? '', /registration is not JSON/);
    assert.equal(byId.get('not-json')!.startedAt, null);
    const times = byId.get('bad-times')!;
    assert.match(times.damaged ?? '', /no readable pid, startedAt/);
    assert.equal(times.startedAt, null, 'an unknown start is null, not an Invalid Date');
    assert.deepEqual(
      stats.workers.map((w) => w.worker),
      ['Other', 'SendEmail'],
    );
    assert.equal((await toniq.admin.processes()).length, 5);

    // enqueueAnywhere picks among the live processes that register the worker: the sound one.
    const job = await toniq.enqueueAnywhere(sendEmail, { to: 'a@example.com' });
    assert.equal(job.processId, toniq.processId);

    // The JSON API answers 200 with the notes.
    const { url } = await serve(toniq.adminHandler({ insecureNoAuth: true, logger: recordingLogger() }));
    const response = await fetch(`${url}/api/stats`);
    assert.equal(response.status, 200);
    const body = (await response.json()) as { processes: Array<{ id: string; damaged?: string }> };
    assert.match(body.processes.find((p) => p.id === 'workers-null')?.damaged ?? '', /workers/);
  });

  it('counts the readable workers of a report and notes the unreadable ones ({"workers":{"Good":null}})', async () => {
    const keyPrefix = randomPrefix();
    const toniq = await newToniq({ keyPrefix, workers: [sendEmail] });
    const client = server.redis.client();
    await registerRaw(keyPrefix, 'reporter', registration('reporter', { workers: ['Good', 'Bad'] }));
    await client.hset(
      `{${keyPrefix}}:reports`,
      'reporter',
      JSON.stringify({
        workers: { Good: { running: 2, waiting: 1 }, Bad: null, Worse: { running: 'many', waiting: 0 } },
        limitedWorkers: 7,
        runningIds: ['a', 3],
      }),
    );
    await registerRaw(keyPrefix, 'no-workers', registration('no-workers', {}));
    await client.hset(`{${keyPrefix}}:reports`, 'no-workers', '{"workers":5}');
    await registerRaw(keyPrefix, 'garbage', registration('garbage', {}));
    await client.hset(`{${keyPrefix}}:reports`, 'garbage', 'not json');

    const stats = await toniq.admin.stats();
    const reporter = stats.processes.find((p) => p.id === 'reporter')!;
    assert.deepEqual([reporter.running, reporter.waiting], [2, 1]);
    assert.match(reporter.damaged ?? '', /unreadable counts for the worker\(s\) "Bad", "Worse"/);
    assert.match(
      stats.processes.find((p) => p.id === 'no-workers')?.damaged ?? '',
      /lacks the per-worker counts/,
    );
    assert.match(stats.processes.find((p) => p.id === 'garbage')?.damaged ?? '', /report is not JSON/);
    const good = stats.workers.find((w) => w.worker === 'Good')!;
    assert.deepEqual([good.running, good.waiting], [2, 1]);
    assert.equal(stats.totals.running, 2);
    // The running list reads the report's ids; a damaged list of them lists nothing, and does not throw.
    assert.equal((await toniq.admin.jobs({ state: 'running' })).total, 0);
  });

  it('notes a process whose jobs key holds another type, and shows a takeover note without a readable time as null', async () => {
    // connectAdmin starts no process, so no takeover rewrites the note while the test reads it.
    const keyPrefix = randomPrefix();
    const admin = await connectAdmin({ redisUrl: server.redis.url, keyPrefix, logger: recordingLogger() });
    try {
      const client = server.redis.client();
      await registerRaw(keyPrefix, 'wrong-type', registration('wrong-type', {}));
      await client.set(keysFor(keyPrefix).process('wrong-type').jobs, 'a string');
      await client.hset(keysFor(keyPrefix).registry, 'noted', registration('noted', {}));
      await client.hset(
        `{${keyPrefix}}:takeover-errors`,
        'noted',
        JSON.stringify({ message: 'm', at: 1e300 }),
      );

      const processes = await admin.processes();
      const wrongType = processes.find((p) => p.id === 'wrong-type')!;
      assert.match(wrongType.damaged ?? '', /^Its jobs cannot be counted: WRONGTYPE /);
      assert.deepEqual([wrongType.waiting, wrongType.delayed], [0, 0]);
      const noted = processes.find((p) => p.id === 'noted')!;
      assert.equal(noted.alive, false);
      assert.deepEqual(noted.takeoverError, { message: 'm', at: null, by: '?' });
    } finally {
      await admin.close();
    }
  });

  it('leaves out per-worker counts and throughput fields that are not counts, instead of showing NaN', async () => {
    const keyPrefix = randomPrefix();
    const toniq = await newToniq({ keyPrefix, workers: [sendEmail] });
    const client = server.redis.client();
    await client.hset(
      `{${keyPrefix}}:counts`,
      'delayed:SendEmail',
      'abc',
      'failed:SendEmail',
      '2',
      'odd',
      '1',
    );
    const minute = Math.floor(Date.now() / 60_000);
    await client.hset(`{${keyPrefix}}:throughput:${minute}`, 'fxx', '3', 'f5', 'abc', 'x', '1', 'f70', '9');

    const stats = await toniq.admin.stats();
    const worker = stats.workers.find((w) => w.worker === 'SendEmail')!;
    assert.deepEqual([worker.delayed, worker.failed], [0, 2]);
    const throughput = await toniq.admin.throughput(120);
    for (const n of [...throughput.finished, ...throughput.failed])
      assert.ok(Number.isSafeInteger(n), String(n));
  });

  it('lists a failed record that lacks its error or failure time with an error that says it is damaged, and no Invalid Date', async () => {
    const keyPrefix = randomPrefix();
    const toniq = await newToniq({ keyPrefix, workers: [sendEmail] });
    const client = server.redis.client();
    const damaged = [
      ['01JDAMAGED0000000000000001', {}],
      ['01JDAMAGED0000000000000002', { error: null, failedAt: 'yesterday', attempts: 'x' }],
      ['01JDAMAGED0000000000000003', { error: { message: 'kept' }, failedAt: 1e300 }],
    ] as const;
    for (const [id, failed] of damaged) {
      const record = encodeRecord({
        v: 2,
        id,
        worker: 'SendEmail',
        args: NO_ARGS,
        attempt: 3,
        createdAt: Date.now(),
        failed: failed as never,
      });
      await client.hset(`{${keyPrefix}}:failed`, id, record);
      await client.zadd(`{${keyPrefix}}:failed-index`, 1_700_000_000_000, id);
    }

    const failedJobs = await toniq.failedJobs();
    assert.equal(failedJobs.length, 3);
    // The README's loop: job.error.message must be there for every job.
    const messages = failedJobs.map((job) => job.error.message);
    assert.match(messages[0]!, /is damaged: no error was recorded with it, or it cannot be read/);
    assert.match(messages[1]!, /no error was recorded/);
    assert.equal(messages[2], 'kept');
    assert.equal(failedJobs[0]!.error.code, 'TONIQ_CORRUPT_JOB_RECORD');
    for (const job of failedJobs) {
      assert.equal(job.failedAt, null, `${job.id}: an unknown failure time is null`);
      assert.equal(job.attempts, 3, `${job.id}: attempts fall back to the attempt`);
    }

    // The admin lists them with the failed list's time, which orders it by failure.
    const page = await toniq.admin.jobs({ state: 'failed' });
    assert.equal(page.total, 3);
    for (const job of page.jobs) {
      assert.equal(job.failedAt?.getTime(), 1_700_000_000_000);
      assert.equal(typeof job.error?.message, 'string');
    }
    const detail = await toniq.admin.job('01JDAMAGED0000000000000002');
    assert.match(detail?.error?.message ?? '', /damaged/);
  });
});

describe('worker names that are also names of Object.prototype', () => {
  it('counts running, delayed and failed jobs of workers named __proto__ and constructor under their names, and leaves Object.prototype alone', async () => {
    let release = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const names = ['__proto__', 'constructor'];
    const hanging = names.map((name) => defineWorker(name, () => released));
    const failing = defineWorker(
      'toString',
      () => {
        throw new Error('no');
      },
      { retry: noRetry() },
    );
    const keyPrefix = randomPrefix();
    const toniq = await newToniq({ keyPrefix, workers: [...hanging, failing] });
    try {
      for (const worker of hanging) {
        await toniq.enqueue(worker, undefined as never);
        await toniq.enqueue(worker, undefined as never);
        await toniq.enqueue(worker, undefined as never, { delayFor: 3_600_000 });
      }
      const failed = collectEvents(toniq.events, 'failed', 1, 10_000);
      await toniq.enqueue(failing, undefined as never);
      await failed;

      const stats = await eventually(
        async () => {
          const stats = await toniq.admin.stats();
          for (const name of names) {
            const worker = stats.workers.find((w) => w.worker === name);
            assert.deepEqual(
              worker && [worker.running, worker.delayed],
              [2, 1],
              `${name}: 2 running, 1 delayed`,
            );
          }
          return stats;
        },
        { timeout: 10_000, what: 'the stats of __proto__ and constructor' },
      );
      assert.equal(stats.totals.running, 4);
      assert.equal(stats.workers.find((w) => w.worker === 'toString')?.failed, 1);
      assert.equal(({} as { running?: unknown }).running, undefined, 'Object.prototype has no running');
      assert.equal(({} as { waiting?: unknown }).waiting, undefined, 'Object.prototype has no waiting');
      assert.equal(Object.getPrototypeOf({}), Object.prototype);
      // One worker's list uses the per-worker count for its total.
      const page = await toniq.admin.jobs({ state: 'delayed', worker: 'constructor', limit: 1 });
      assert.equal(page.total, 1);
      assert.equal((await toniq.admin.jobs({ state: 'failed', worker: 'toString', limit: 1 })).total, 1);
    } finally {
      release();
    }
  });

  it('reads the per-worker counts of __proto__ from another process (the CLI or toniq ui) the same', async () => {
    const keyPrefix = randomPrefix();
    const worker = defineWorker('__proto__', () => {});
    const toniq = await newToniq({ keyPrefix, workers: [worker] });
    await toniq.enqueue(worker, undefined as never, { delayFor: 3_600_000 });
    const reader = createToniq({
      redisUrl: server.redis.url,
      keyPrefix,
      logger: recordingLogger(),
      workers: [],
    });
    await reader.start();
    try {
      const stats = await reader.admin.stats();
      assert.equal(stats.workers.find((w) => w.worker === '__proto__')?.delayed, 1);
    } finally {
      await reader.stop();
    }
  });
});
