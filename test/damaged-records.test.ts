import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  CannotRetryError,
  CorruptJobRecordError,
  createToniq,
  DamagedKeyError,
  type Job,
} from '../src/index.js';
import { decodeRecord } from '../src/job/job-record.js';
import { keysFor } from '../src/storage/keys.js';
import { RedisStore } from '../src/storage/redis/redis-store.js';
import { collectEvents, eventually, nextEvent } from './harness/eventually.js';
import {
  FAST_TAKEOVER,
  fixtureWorker,
  randomPrefix,
  recordingLogger,
  toniqFactory,
  useRedis,
} from './harness/fixtures.js';

const server = useRedis();
const newToniq = toniqFactory(server);

const fast = {
  ...FAST_TAKEOVER,
  delayedJobsPollInterval: 5000,
};
/** A store of its own on the test's server, for what only the store's verbs can reach. */
async function openStore(keyPrefix: string): Promise<RedisStore> {
  const store = new RedisStore({
    redisUrl: server.redis.url,
    keyPrefix,
    logger: recordingLogger(),
    commandTimeout: 2000,
  });
  await store.open();
  return store;
}

/** A record cut short inside its header: version byte 2, then not even the header's length. */
const TRUNCATED = Buffer.from([2, 0, 0]);

const BIN = fileURLToPath(new URL('../../bin/toniq.js', import.meta.url));
function toniqCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { timeout: 20_000 }, (error, stdout, stderr) => {
      resolve({ code: typeof error?.code === 'number' ? error.code : 0, stdout, stderr });
    });
  });
}

/** Puts bytes in the failed list as if a job had failed with them. */
async function putFailed(keyPrefix: string, id: string, bytes: Buffer): Promise<void> {
  const client = server.redis.client();
  await client.hset(`{${keyPrefix}}:failed`, id, bytes);
  await client.zadd(`{${keyPrefix}}:failed-index`, Date.now(), id);
}

describe('damaged records and keys', () => {
  it('runs due delayed jobs on time when a truncated record is among them, and moves that one to the failed list with its bytes', async () => {
    const keyPrefix = randomPrefix();
    const toniq = await newToniq({ keyPrefix, workers: [fixtureWorker], ...fast });
    const jobs = await Promise.all(
      [1, 2, 3].map(() => toniq.enqueue(fixtureWorker, { do: 'succeed' }, { delayFor: 300 })),
    );
    const bad = jobs[1]!.id;
    await server.redis.client().hset(keysFor(keyPrefix).process(toniq.processId).delayedJobs, bad, TRUNCATED);
    const finished = collectEvents<[Job]>(toniq.events, 'finished', 2, 3000);

    // Within 3 s, not at the orphan check ~30 s later: the script that took them did not fail half-way.
    assert.deepEqual((await finished).map(([job]) => job.id).sort(), [jobs[0]!.id, jobs[2]!.id].sort());
    const [listed] = await eventually(
      async () => {
        const list = await toniq.failedJobs();
        assert.equal(list.length, 1);
        return list;
      },
      { what: 'the truncated record in the failed list' },
    );
    assert.equal(listed?.id, bad);
    assert.equal(listed.worker, '(unreadable record)');
    assert.equal(listed.error.code, 'TONIQ_CORRUPT_JOB_RECORD');
    const stored = await server.redis.client().hgetBuffer(`{${keyPrefix}}:failed`, bad);
    assert.deepEqual(decodeRecord(stored!, bad, 'test').failed?.raw, TRUNCATED, 'the bytes are kept');

    // Its quarantine cannot run again (there is no worker or arguments): both retry paths say so.
    await assert.rejects(toniq.retry(bad), CannotRetryError);
    const refused = await toniq.admin.retryFailedJobs({ ids: [bad] });
    assert.equal(refused.refused[0]?.id, bad);
    assert.match(refused.refused[0]!.reason, /could not be read when it was to run/);
    assert.deepEqual(await server.redis.client().hgetBuffer(`{${keyPrefix}}:failed`, bad), stored);
  });

  it('refuses to retry a truncated failed record on both paths, leaving its bytes, and deletes it (also with toniq delete --all)', async () => {
    const keyPrefix = randomPrefix();
    const toniq = await newToniq({ keyPrefix, workers: [fixtureWorker], ...fast });
    const client = server.redis.client();
    await putFailed(keyPrefix, 'cut', TRUNCATED);
    await putFailed(keyPrefix, 'cut2', TRUNCATED);

    await assert.rejects(toniq.retry('cut'), (error: unknown) => {
      assert.ok(error instanceof CannotRetryError, String(error));
      assert.equal(error.code, 'TONIQ_CANNOT_RETRY');
      assert.ok(error.cause instanceof CorruptJobRecordError);
      assert.match(error.message, /stays in the failed list as it is/);
      return true;
    });
    const viaAdmin = await toniq.admin.retryFailedJobs({ ids: ['cut'] });
    assert.deepEqual(viaAdmin.done, []);
    assert.match(viaAdmin.refused[0]?.reason ?? '', /cannot be read.*delete it instead/);
    assert.deepEqual(await client.hgetBuffer(`{${keyPrefix}}:failed`, 'cut'), TRUNCATED, 'bytes untouched');
    assert.notEqual(await client.zscore(`{${keyPrefix}}:failed-index`, 'cut'), null, 'still listed');
    assert.deepEqual(
      (await toniq.failedJobs()).map((job) => [job.id, job.worker]),
      [
        ['cut', '(unreadable record)'],
        ['cut2', '(unreadable record)'],
      ],
    );

    await toniq.delete('cut');
    const cli = await toniqCli([
      'delete',
      '--all',
      '--json',
      '--redis-url',
      server.redis.url,
      '--prefix',
      keyPrefix,
    ]);
    assert.equal(cli.code, 0, cli.stderr);
    assert.deepEqual(await toniq.failedJobs(), []);
    assert.equal(await client.exists(`{${keyPrefix}}:failed`, `{${keyPrefix}}:failed-index`), 0);
    const counts = await client.hgetall(`{${keyPrefix}}:counts`);
    assert.ok(
      Object.values(counts).every((value) => Number(value) > 0),
      `no count below zero: ${JSON.stringify(counts)}`,
    );
  });

  it('lists a failed record whose failure fields are damaged with a readable error and valid dates', async () => {
    const keyPrefix = randomPrefix();
    const toniq = await newToniq({ keyPrefix, workers: [fixtureWorker], ...fast });
    const header = JSON.stringify({
      id: 'odd',
      worker: 'Fixture',
      attempt: 1,
      createdAt: 1_700_000_000_000,
      failed: { error: null, attempts: 'three', failedAt: 'yesterday', raw: 5 },
    });
    const frame = Buffer.alloc(6);
    frame[0] = 2;
    frame[1] = 'U'.charCodeAt(0);
    frame.writeUInt32BE(Buffer.byteLength(header), 2);
    await putFailed(keyPrefix, 'odd', Buffer.concat([frame, Buffer.from(header)]));
    const [job] = await toniq.failedJobs();
    assert.equal(job?.id, 'odd');
    assert.match(job.error.message, /no error was recorded/);
    assert.equal(job.failedAt, null, 'a failure time the record does not say is null');
    assert.equal(job.attempts, 1, 'attempts fall back to the attempt the job is on');
    assert.equal(job.createdAt.getTime(), 1_700_000_000_000);
  });

  it('takes over a dead process whose heartbeat key has no time to live, as listProcesses calls it dead', async () => {
    const keyPrefix = randomPrefix();
    const dead = createToniq({
      redisUrl: server.redis.url,
      keyPrefix,
      processId: 'stuck',
      mode: 'manual',
      workers: [fixtureWorker],
      logger: recordingLogger(),
    });
    await dead.start();
    await dead.enqueue(fixtureWorker, { do: 'succeed' });
    await dead.stop();
    // Someone SET it by hand: it never lapses.
    await server.redis.client().set(keysFor(keyPrefix).process('stuck').heartbeat, String(Date.now()));

    const toniq = await newToniq({ keyPrefix, workers: [fixtureWorker], ...fast });
    const [taken] = await nextEvent<[{ processId: string; jobs: number }]>(toniq.events, 'takenOver', {
      filter: (event) => event.processId === 'stuck',
    });
    assert.equal(taken.jobs, 1);
    assert.equal(await server.redis.client().exists(keysFor(keyPrefix).process('stuck').heartbeat), 0);
    assert.equal(
      (await toniq.processes()).find((process) => process.id === 'stuck'),
      undefined,
    );
  });

  it('enqueues delayed jobs when the per-worker counts key is damaged (counts are advisory)', async () => {
    const keyPrefix = randomPrefix();
    const toniq = await newToniq({ keyPrefix, workers: [fixtureWorker], ...fast });
    const client = server.redis.client();
    const counts = keysFor(keyPrefix).process(toniq.processId).delayedCounts;

    await client.hset(counts, 'delayed:Fixture', 'not a number');
    await toniq.enqueue(fixtureWorker, { do: 'succeed' }, { delayFor: 60_000 });
    assert.equal(await client.hget(counts, 'delayed:Fixture'), '1', 'a garbled count starts afresh');

    await client.del(counts);
    await client.set(counts, 'a string');
    const job = await toniq.enqueue(fixtureWorker, { do: 'succeed' }, { delayFor: 10 });
    await nextEvent<[Job]>(toniq.events, 'finished', { filter: (done) => done.id === job.id });
    assert.equal(await client.get(counts), 'a string', 'left alone');
    const stats = await toniq.admin.stats();
    assert.equal(stats.totals.failed, 0, 'the overview goes on without the counts');
    assert.match(toniq.logger.text('warn'), /counts" is damaged.*per-worker counts show 0/);
  });

  it('refuses a write whose key holds another type before writing anything, naming the key', async () => {
    const keyPrefix = randomPrefix();
    const toniq = await newToniq({ keyPrefix, workers: [fixtureWorker], ...fast });
    const client = server.redis.client();
    const delayed = keysFor(keyPrefix).process(toniq.processId).delayed;
    await client.set(delayed, 'not a sorted set');
    await assert.rejects(
      toniq.enqueue(fixtureWorker, { do: 'succeed' }, { delayFor: 60_000 }),
      (error: unknown) => {
        assert.ok(error instanceof DamagedKeyError, String(error));
        assert.equal(error.code, 'TONIQ_DAMAGED_KEY');
        assert.equal(error.key, delayed);
        assert.match(error.message, /holds a string where toniq keeps a zset.*redis-cli DEL/);
        return true;
      },
    );
    assert.equal(
      await client.exists(keysFor(keyPrefix).process(toniq.processId).delayedJobs),
      0,
      'no record written',
    );
  });

  it('refuses a due time Redis cannot store before moving the job, so the job stays where it was', async () => {
    const keyPrefix = randomPrefix();
    const store = await openStore(keyPrefix);
    try {
      const job = { id: 'j', record: Buffer.from('record') };
      await store.addJobs('p', [job]);
      await assert.rejects(store.scheduleRetry('p', { ...job, dueAt: Number.NaN }), /TONIQ_BAD_SCORE NaN/);
      await assert.rejects(store.failJob('p', job, Number.NaN), /TONIQ_BAD_SCORE/);
      await assert.rejects(store.addDelayedJobs('p', [{ id: 'd', record: job.record, dueAt: Number.NaN }]));
      assert.deepEqual(
        (await store.listJobs('p')).map((stored) => stored.id),
        ['j'],
        'still held by its process',
      );
      assert.equal(
        await server.redis
          .client()
          .exists(keysFor(keyPrefix).process('p').delayedJobs, `{${keyPrefix}}:failed`),
        0,
      );
    } finally {
      await store.close();
    }
  });

  it('records stats when a second of the throughput holds a garbled count (it starts afresh)', async () => {
    const keyPrefix = randomPrefix();
    const store = await openStore(keyPrefix);
    try {
      const now = 1_000_000_000_500;
      const second = Math.floor(now / 1000);
      await server.redis
        .client()
        .hset(`{${keyPrefix}}:throughput:${Math.floor(second / 60)}`, `f${second % 60}`, 'garbled');
      const report = { workers: {}, limitedWorkers: [], runningIds: [] };
      await store.recordStats('p', report, 3, 0, now);
      assert.deepEqual((await store.readThroughput(second, 1)).finished, [3]);
    } finally {
      await store.close();
    }
  });

  it('says which key is damaged when a read finds another type (failed list, registry, reports)', async () => {
    const keyPrefix = randomPrefix();
    const toniq = await newToniq({ keyPrefix, workers: [fixtureWorker], ...fast });
    const client = server.redis.client();
    const damaged = (key: string) => (error: unknown) => {
      assert.ok(error instanceof DamagedKeyError, String(error));
      assert.equal(error.key, key);
      return true;
    };

    const index = `{${keyPrefix}}:failed-index`;
    await client.set(index, 'x');
    await assert.rejects(toniq.failedJobs(), damaged(index));
    await assert.rejects(toniq.admin.jobs({ state: 'failed' }), damaged(index));
    await client.del(index);

    const reports = `{${keyPrefix}}:reports`;
    // In one MULTI: the process writes its report every second.
    await client.multi().del(reports).rpush(reports, 'x').exec();
    await assert.rejects(toniq.admin.stats(), damaged(reports));
    await client.del(reports);

    // The takeover notes are advisory: the processes are listed without them.
    await client.set(`{${keyPrefix}}:takeover-errors`, 'x');
    assert.ok((await toniq.processes()).some((process) => process.id === toniq.processId));

    const processes = keysFor(keyPrefix).registry;
    await client.multi().del(processes).sadd(processes, 'x').exec();
    await assert.rejects(toniq.processes(), damaged(processes));
    await assert.rejects(toniq.admin.processes(), damaged(processes));
    await client.del(processes);
  });
});
