import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { serialize } from 'node:v8';
import { defineWorker, type Job } from '../src/index.js';
import { newJobId } from '../src/job/job-id.js';
import { CURRENT_RECORD_VERSION, decodeRecord, encodeRecord } from '../src/job/job-record.js';
import { ArgumentCodec } from '../src/job/serialization.js';
import { keysFor } from '../src/storage/keys.js';
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
    assert.equal(record.id, 'ID1');
    assert.equal(record.worker, 'SendEmail');
    assert.equal(record.attempt, 3);
    assert.equal(record.createdAt, Date.parse('2026-01-01T00:00:00.000Z'));
    assert.deepEqual(new ArgumentCodec().decode(record.args), { to: 'a@example.com' });
    // Version 1: the whole record as one structured-clone object.
    const v1 = decodeRecord(
      serialize({ v: 1, id: 'ID2', worker: 'W', args: new Map([[1, 2]]), attempt: 2, createdAt: 5 }),
      'ID2',
      'test',
    );
    assert.deepEqual(new ArgumentCodec().decode(v1.args), new Map([[1, 2]]));
    assert.equal(v1.attempt, 2);
  });

  it('re-reads a current record exactly, arguments untouched', () => {
    const args = new ArgumentCodec().encode({ when: new Date(5), list: [1, 2] });
    const bytes = encodeRecord({ v: 2, id: 'X', worker: 'W', args, attempt: 4, createdAt: 9 });
    const back = decodeRecord(bytes, 'X', 'test');
    assert.equal(back.attempt, 4);
    assert.ok(back.args.bytes.equals(args.bytes));
    assert.deepEqual(new ArgumentCodec().decode(back.args), { when: new Date(5), list: [1, 2] });
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
    await server.redis.client().hset(keysFor(keyPrefix).process(processId).jobs, 'OLDJOB', old);
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
      .hset(keysFor(keyPrefix).process(processId).jobs, 'BROKEN', Buffer.from('not a record'));
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
      () => decodeRecord(Buffer.from([0x03, 0x4a, 0, 0, 0, 2, 0x7b, 0x7d]), 'NEW', 'test'),
      /newer than this toniq understands/,
    );
  });
});
