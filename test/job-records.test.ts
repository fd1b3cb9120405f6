import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { serialize } from 'node:v8';
import { defineWorker, type Job } from '../src/index.js';
import { newJobId } from '../src/job/job-id.js';
import { CURRENT_RECORD_VERSION, decodeRecord } from '../src/job/job-record.js';
import { eventually, nextEvent } from './harness/eventually.js';
import { randomPrefix, toniqFactory, useRedis } from './harness/fixtures.js';

const server = useRedis();
const newToniq = toniqFactory(server);

describe('job records', () => {
  it('makes ids on the client that sort by creation time', () => {
    const ids = Array.from({ length: 1000 }, () => newJobId());
    assert.deepEqual([...ids].sort(), ids);
    assert.equal(new Set(ids).size, ids.length);
    assert.ok(newJobId(Date.now() + 1000) > ids.at(-1)!);
  });

  it('migrates a record of an older version when it is read', () => {
    // Version 0, written by hand as that version stored it.
    const old = serialize({
      workerName: 'SendEmail',
      arguments: { to: 'a@example.com' },
      retries: 2,
      created: '2026-01-01T00:00:00.000Z',
    });
    const record = decodeRecord(old, 'ID1', 'test');
    assert.equal(record.v, CURRENT_RECORD_VERSION);
    assert.deepEqual(
      { ...record },
      {
        v: 1,
        id: 'ID1',
        worker: 'SendEmail',
        args: { to: 'a@example.com' },
        attempt: 3,
        createdAt: Date.parse('2026-01-01T00:00:00.000Z'),
      },
    );
  });

  it('runs an old-version job found in Redis, migrated', async () => {
    const seen: Job[] = [];
    const sendEmail = defineWorker('SendEmail', (_args: { to: string }, ctx) => {
      seen.push(ctx.job);
    });
    const keyPrefix = randomPrefix();
    const processId = 'old-process';
    const old = serialize({
      workerName: 'SendEmail',
      arguments: { to: 'old@example.com' },
      retries: 1,
      created: '2026-01-01T00:00:00.000Z',
    });
    await server.redis.client().hset(`{${keyPrefix}}:jobs:${processId}`, 'OLDJOB', old);
    await newToniq({ workers: [sendEmail], keyPrefix, processId });
    await eventually(() => assert.equal(seen.length, 1));
    assert.equal(seen[0]!.id, 'OLDJOB');
    assert.deepEqual(seen[0]!.args, { to: 'old@example.com' });
    assert.equal(seen[0]!.attempt, 2);
  });

  it('moves a corrupt record to the failed list with its raw bytes, and keeps working', async () => {
    const keyPrefix = randomPrefix();
    const processId = 'corrupt-process';
    await server.redis
      .client()
      .hset(`{${keyPrefix}}:jobs:${processId}`, 'BROKEN', Buffer.from('not a record'));
    const ok = defineWorker('Ok', () => {});
    const toniq = await newToniq({ workers: [ok], keyPrefix, processId });
    const [failed] = await eventually(async () => {
      const jobs = await toniq.failedJobs();
      assert.equal(jobs.length, 1);
      return jobs;
    });
    assert.equal(failed!.id, 'BROKEN');
    assert.equal(failed!.worker, '(unreadable record)');
    assert.equal(failed!.error.name, 'CorruptJobRecordError');
    assert.match(
      failed!.error.message,
      /The record of job #BROKEN in the jobs of process corrupt-process could not be read/,
    );
    assert.match(toniq.logger.text('error'), /could not be read/);
    const finished = nextEvent(toniq.events, 'finished');
    await toniq.enqueue(ok);
    await finished;
  });

  it('refuses a record from a newer toniq clearly', () => {
    assert.throws(
      () => decodeRecord(serialize({ v: 99, worker: 'X', attempt: 1, createdAt: 1 }), 'NEW', 'test'),
      /newer than this toniq understands/,
    );
  });
});
