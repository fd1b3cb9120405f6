/**
 * One contract, two stores: the same cases run against MemoryStore and RedisStore, the latter on
 * one server and on a real Redis Cluster (3 masters, 3 replicas), where each process's keys are
 * in a slot of their own and every cross-slot change is a sequence of one-slot scripts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeRecord, NO_ARGS } from '../src/job/job-record.js';
import type { AdminJobStore } from '../src/storage/admin-store.js';
import { MemoryStore } from '../src/storage/memory-store.js';
import { RedisStore } from '../src/storage/redis/redis-store.js';
import { randomPrefix, recordingLogger, useRedis } from './harness/fixtures.js';
import { useRedisCluster } from './harness/use-topologies.js';

const server = useRedis();
const topology = useRedisCluster({ masters: 3, replicasPerMaster: 1 });
/** A RedisStore with a key prefix of its own, on one server or on the cluster. */
async function redisStore(where: { redisUrl: string } | { redisCluster: string[] }): Promise<AdminJobStore> {
  const store = new RedisStore({
    ...where,
    keyPrefix: randomPrefix(),
    logger: recordingLogger(),
    commandTimeout: 2000,
  });
  await store.open();
  return store;
}

const stores: Array<[string, () => Promise<AdminJobStore>]> = [
  ['MemoryStore', async () => new MemoryStore()],
  ['RedisStore', () => redisStore({ redisUrl: server.redis.url })],
  ['RedisStore on a Redis Cluster', () => redisStore({ redisCluster: topology.cluster.seedUrls })],
];

const bytes = (text: string) => Buffer.from(text);
const ids = (jobs: Array<{ id: string }>) => jobs.map((job) => job.id).sort();
/** A real record, whose header names the worker (the per-worker counts read it). */
const recordOf = (id: string, worker: string) =>
  encodeRecord({ v: 2, id, worker, args: NO_ARGS, attempt: 1, createdAt: 0 });

for (const [name, open] of stores) {
  describe(`the ${name} store contract`, () => {
    it('adds, lists and finishes the jobs of a process, apart from other processes', async () => {
      const store = await open();
      await store.addJobs('p1', [
        { id: 'a', record: bytes('A') },
        { id: 'b', record: bytes('B') },
      ]);
      await store.addJobs('p2', [{ id: 'c', record: bytes('C') }]);
      assert.deepEqual(ids(await store.listJobs('p1')), ['a', 'b']);
      await store.finishJobs('p1', ['a']);
      const left = await store.listJobs('p1');
      assert.deepEqual(ids(left), ['b']);
      assert.equal(left[0]!.record.toString(), 'B');
      assert.deepEqual(ids(await store.listJobs('p2')), ['c']);
      await store.close();
    });

    it('takes due delayed jobs in due order, leaving later and held ones', async () => {
      const store = await open();
      await store.addDelayedJobs('p', [
        { id: 'late', record: bytes('L'), dueAt: 300 },
        { id: 'early', record: bytes('E'), dueAt: 100 },
        { id: 'held', record: bytes('H'), dueAt: Infinity },
      ]);
      assert.equal(await store.nextDueTime('p'), 100);
      assert.deepEqual(await store.takeDueJobs('p', 50, 10), []);
      const due = await store.takeDueJobs('p', 300, 10);
      assert.deepEqual(
        due.map((job) => job.id),
        ['early', 'late'],
      );
      assert.deepEqual(ids(await store.listJobs('p')), ['early', 'late']);
      assert.equal(await store.nextDueTime('p'), Infinity);
      assert.deepEqual(ids(await store.takeAllDelayedJobs('p')), ['held']);
      assert.equal(await store.nextDueTime('p'), null);
      await store.close();
    });

    it('moves a job to retry or to the failed list only while the process holds it', async () => {
      const store = await open();
      await store.addJobs('p', [
        { id: 'r', record: bytes('R1') },
        { id: 'f', record: bytes('F1') },
      ]);
      assert.equal(await store.scheduleRetry('p', { id: 'r', record: bytes('R2'), dueAt: 10 }), true);
      assert.equal(
        await store.scheduleRetry('p', { id: 'r', record: bytes('R3'), dueAt: 10 }),
        false,
        'no longer held',
      );
      assert.equal((await store.takeDueJobs('p', 10, 10))[0]!.record.toString(), 'R2');
      assert.equal(await store.failJob('p', { id: 'f', record: bytes('F2') }, 5), true);
      assert.equal(await store.failJob('p', { id: 'f', record: bytes('F3') }, 6), false, 'no longer held');
      assert.equal(
        await store.failJob('other', { id: 'r', record: bytes('X') }, 6),
        false,
        'held by another process',
      );
      assert.deepEqual(ids(await store.listJobs('p')), ['r']);
      await store.close();
    });

    it('registers a process that jobs are written for, so that a takeover finds them', async () => {
      const store = await open();
      const info = (id: string) => ({ id, host: 'h', pid: 1, startedAt: 1, version: '0', workers: ['W'] });
      assert.equal(await store.keepAlive(info('live'), 60_000), true, 'the first registration');
      assert.equal(await store.keepAlive(info('live'), 60_000), false);
      // 'gone' was taken over earlier (not registered) but still writes jobs, then dies.
      await store.addJobs('gone', [{ id: 'j1', record: bytes('J1') }]);
      await store.addDelayedJobs('gone', [{ id: 'j2', record: bytes('J2'), dueAt: 5 }]);
      const gone = (await store.listProcesses()).find((p) => p.id === 'gone');
      assert.ok(gone, 'registered by its jobs');
      assert.equal(gone.heartbeatAge, null, 'with no heartbeat it counts as dead');
      assert.deepEqual(gone.workers, []);
      const taken = await store.takeOverProcess('gone', 'live');
      assert.deepEqual(taken.status === 'taken-over' && taken.jobs.map((job) => job.id), ['j1']);
      assert.equal(taken.status === 'taken-over' && taken.delayed, 1);
      assert.deepEqual(
        await store.takeOverProcess('gone', 'live'),
        { status: 'not-registered' },
        'only once',
      );
      // Had it lived, its next heartbeat would have told it that it had been taken over.
      await store.addJobs('paused', [{ id: 'j3', record: bytes('J3') }]);
      assert.equal(await store.keepAlive(info('paused'), 60_000), true);
      await store.close();
    });

    it('hands held jobs over to the delayed jobs of a live process, due at once, and none to a dead one', async () => {
      const store = await open();
      const info = (id: string) => ({
        id,
        host: 'h',
        pid: 1,
        startedAt: 1,
        version: '0',
        workers: ['W'],
        workerVersions: { W: 2 },
      });
      await store.keepAlive(info('old'), 60_000);
      await store.addJobs('old', [
        { id: 'x', record: bytes('X') },
        { id: 'y', record: bytes('Y') },
      ]);
      assert.deepEqual(await store.handOverJobs('old', 'nobody', ['x']), {
        targetAlive: false,
        moved: [],
        gone: [],
      });
      await store.keepAlive(info('new'), 60_000);
      assert.deepEqual(
        { ...(await store.listProcesses()).find((p) => p.id === 'new')?.workerVersions },
        { W: 2 },
        'the registration keeps the worker versions',
      );
      assert.deepEqual(await store.handOverJobs('old', 'new', ['x', 'gone']), {
        targetAlive: true,
        moved: ['x'],
        gone: ['gone'],
      });
      assert.deepEqual(ids(await store.listJobs('old')), ['y']);
      assert.deepEqual(ids(await store.takeDueJobs('new', 0, 10)), ['x'], 'due at once');
      await store.close();
    });

    it('takes over only a dead process, never itself, and only for a live taker', async () => {
      const store = await open();
      const info = (id: string) => ({ id, host: 'h', pid: 1, startedAt: 1, version: '0', workers: [] });
      await store.keepAlive(info('a'), 60_000);
      await store.keepAlive(info('b'), 60_000);
      await store.addJobs('b', [{ id: 'x', record: bytes('X') }]);
      await store.recordStats('b', { workers: {}, limitedWorkers: [], runningIds: ['x'] }, 0, 0, 0);
      assert.deepEqual(await store.takeOverProcess('b', 'a'), { status: 'alive' }, 'b is alive');
      assert.deepEqual(await store.takeOverProcess('a', 'a'), { status: 'same-process' }, 'not from itself');
      assert.equal(await store.endProcess('b'), true, 'b stops, leaving a job');
      assert.deepEqual(
        await store.takeOverProcess('b', 'nobody'),
        { status: 'taker-not-alive' },
        'the taker must be alive',
      );
      const taken = await store.takeOverProcess('b', 'a');
      assert.deepEqual(taken.status === 'taken-over' && taken.jobs.map((job) => job.id), ['x']);
      assert.deepEqual(ids(await store.listJobs('a')), ['x']);
      // Its report went with it: a process registered again under its id reports afresh.
      await store.keepAlive(info('b'), 60_000);
      assert.equal((await store.readOverview()).processes.find((p) => p.id === 'b')?.report, null);
      assert.equal(await store.endProcess('b'), false);
      assert.equal(await store.endProcess('a'), true);
      await store.finishJobs('a', ['x']);
      assert.equal(await store.endProcess('a'), false, 'nothing left: it leaves the registry');
      assert.deepEqual(await store.listProcesses(), []);
      await store.close();
    });

    it('lists failed jobs oldest first; retries and deletes each exactly once', async () => {
      const store = await open();
      await store.addJobs('p', [
        { id: 'x', record: bytes('X') },
        { id: 'y', record: bytes('Y') },
      ]);
      await store.failJob('p', { id: 'y', record: bytes('Yf') }, 1);
      await store.failJob('p', { id: 'x', record: bytes('Xf') }, 2);
      assert.deepEqual(
        (await store.listFailedJobs()).map((job) => job.id),
        ['y', 'x'],
      );
      assert.equal((await store.getFailedJob('x'))?.toString(), 'Xf');
      assert.equal(await store.getFailedJob('nope'), null);
      assert.deepEqual(await store.retryFailedJobs('q', [{ id: 'y', record: bytes('Y1') }]), ['y']);
      assert.deepEqual(await store.retryFailedJobs('q', [{ id: 'y', record: bytes('Y1') }]), []);
      assert.deepEqual(ids(await store.takeDueJobs('q', 0, 10)), ['y'], 'a retried job is due at once');
      assert.equal(
        (await store.listProcesses()).find((p) => p.id === 'q')?.heartbeatAge,
        null,
        'q is registered',
      );
      assert.deepEqual(await store.deleteFailedJobs(['x', 'nope']), ['x']);
      assert.deepEqual(await store.deleteFailedJobs(['x']), []);
      assert.deepEqual(await store.listFailedJobs(), []);
      await store.close();
    });
    it('counts delayed and failed jobs per worker through every move', async () => {
      const store = await open();
      await store.addDelayedJobs('p', [
        { id: 'd1', record: recordOf('d1', 'Mail'), dueAt: 10 },
        { id: 'd2', record: recordOf('d2', 'Mail'), dueAt: Infinity },
        { id: 'd3', record: recordOf('d3', 'Zip'), dueAt: 20 },
      ]);
      await store.addJobs('p', [
        { id: 'r1', record: recordOf('r1', 'Zip') },
        { id: 'f1', record: recordOf('f1', 'Mail') },
        { id: 'f2', record: recordOf('f2', 'Zip') },
      ]);
      await store.scheduleRetry('p', { id: 'r1', record: recordOf('r1', 'Zip'), dueAt: 30 });
      await store.failJob('p', { id: 'f1', record: recordOf('f1', 'Mail') }, 1);
      await store.failJob('p', { id: 'f2', record: recordOf('f2', 'Zip') }, 2);
      let overview = await store.readOverview();
      assert.deepEqual(
        overview.delayedByWorker,
        new Map([
          ['Mail', 2],
          ['Zip', 2],
        ]),
      );
      assert.deepEqual(
        overview.failedByWorker,
        new Map([
          ['Mail', 1],
          ['Zip', 1],
        ]),
      );
      assert.equal(overview.failed, 2);
      const p = overview.processes.find((process) => process.id === 'p');
      assert.deepEqual([p?.held, p?.delayed], [0, 4]);

      // A name that JSON escapes is read whole, quotes and backslashes included.
      const odd = 'Say "hi" \\ é';
      await store.addDelayedJobs('o', [{ id: 'e1', record: recordOf('e1', odd), dueAt: 5 }]);
      assert.equal((await store.readOverview()).delayedByWorker.get(odd), 1);
      await store.takeDueJobs('o', 10, 10);
      assert.equal((await store.readOverview()).delayedByWorker.get(odd), undefined);

      // Names that are also Object.prototype's are counted like any other.
      for (const name of ['__proto__', 'constructor']) {
        await store.addDelayedJobs('o', [
          { id: `n-${name}`, record: recordOf(`n-${name}`, name), dueAt: 50 },
        ]);
      }
      const named = (await store.readOverview()).delayedByWorker;
      assert.deepEqual([named.get('__proto__'), named.get('constructor')], [1, 1]);
      await store.takeDueJobs('o', 60, 10);

      await store.takeDueJobs('p', 25, 10); // d1 and d3
      await store.retryFailedJobs('p', [{ id: 'f1', record: recordOf('f1', 'Mail') }]);
      await store.retryFailedJobs('q', [{ id: 'f2', record: recordOf('f2', 'Zip') }]);
      overview = await store.readOverview();
      assert.deepEqual(
        overview.delayedByWorker,
        new Map([
          ['Mail', 2],
          ['Zip', 2],
        ]),
      );
      assert.deepEqual(overview.failedByWorker, new Map());
      assert.deepEqual(
        (await store.listPlaceIds({ kind: 'delayed', processId: 'q' })).map((e) => [e.id, e.score]),
        [['f2', 0]],
        'a requeued job is due at once in the process it was sent to',
      );
      await store.close();
    });

    it('lists the ids of a place in order and reads their records', async () => {
      const store = await open();
      await store.addJobs('p', [
        { id: 'b', record: bytes('B') },
        { id: 'a', record: bytes('A') },
      ]);
      await store.addDelayedJobs('p', [
        { id: 'late', record: bytes('L'), dueAt: 300 },
        { id: 'held', record: bytes('H'), dueAt: Infinity },
        { id: 'soon', record: bytes('S'), dueAt: 100 },
      ]);
      assert.deepEqual(await store.listPlaceIds({ kind: 'held', processId: 'p' }), [
        { id: 'a', score: 0 },
        { id: 'b', score: 0 },
      ]);
      assert.deepEqual(await store.listPlaceIds({ kind: 'delayed', processId: 'p' }), [
        { id: 'soon', score: 100 },
        { id: 'late', score: 300 },
        { id: 'held', score: Infinity },
      ]);
      const records = await store.getPlaceRecords({ kind: 'delayed', processId: 'p' }, [
        'held',
        'gone',
        'soon',
      ]);
      assert.deepEqual(
        records.map((job) => [job.id, job.record.toString()]),
        [
          ['held', 'H'],
          ['soon', 'S'],
        ],
      );
      assert.equal(await store.dueTime('p', 'late'), 300);
      assert.equal(await store.dueTime('p', 'held'), Infinity);
      assert.equal(await store.dueTime('p', 'gone'), null);
      const page = await store.pagePlaceIds({ kind: 'delayed', processId: 'p' }, 1, 5, true);
      assert.deepEqual(page, {
        ids: [
          { id: 'late', score: 300 },
          { id: 'soon', score: 100 },
        ],
        total: 3,
      });
      assert.deepEqual(await store.makeDelayedJobsDue('p', ['gone', 'held']), ['held']);
      assert.deepEqual(await store.makeDelayedJobsDue('other', ['late']), []);
      assert.deepEqual(ids(await store.takeDueJobs('p', 50, 10)), ['held']);
      await store.close();
    });

    it('makes due, retries and deletes many jobs at once, past one script call of them', async () => {
      const store = await open();
      const many = Array.from({ length: 12_000 }, (_, i) => `j${i}`);
      const held = many.filter((_, i) => i % 2 === 0);
      await store.addDelayedJobs(
        'p',
        held.map((id) => ({ id, record: recordOf(id, 'Mail'), dueAt: 1_000 })),
      );
      assert.deepEqual(await store.makeDelayedJobsDue('p', many), held);
      assert.equal((await store.takeDueJobs('p', 0, 20_000)).length, held.length, 'all due at once');

      await store.addJobs(
        'p',
        held.map((id) => ({ id, record: recordOf(id, 'Mail') })),
      );
      for (const id of held) await store.failJob('p', { id, record: recordOf(id, 'Mail') }, 1);
      const retried = held.slice(0, 500);
      assert.deepEqual(
        await store.retryFailedJobs(
          'q',
          [...retried, 'gone'].map((id) => ({ id, record: recordOf(id, 'Mail') })),
        ),
        retried,
      );
      assert.deepEqual(await store.deleteFailedJobs(many), held.slice(500), 'the other 5,500');
      assert.deepEqual(await store.listFailedJobs(), []);
      const overview = await store.readOverview();
      assert.deepEqual(overview.failedByWorker, new Map());
      assert.equal(overview.delayedByWorker.get('Mail'), 500);
      await store.close();
    });

    it('keeps reports and sums throughput per second', async () => {
      const store = await open();
      await store.keepAlive(
        { id: 'p', host: 'h', pid: 1, startedAt: 0, version: '0', workers: ['W'] },
        10_000,
      );
      const report = {
        workers: { W: { running: 2, waiting: 1 } },
        limitedWorkers: ['W'],
        runningIds: ['x', 'y'],
      };
      await store.recordStats('p', report, 3, 1, 1_000_000_500);
      await store.recordStats('p', report, 2, 0, 1_000_000_900);
      await store.recordStats('p', report, 4, 0, 1_000_002_100);
      // The per-worker counts come back with a null prototype (worker names are any strings).
      const [read] = (await store.readOverview()).processes.map((process) => process.report);
      assert.equal(Object.getPrototypeOf(read?.workers), null);
      assert.deepEqual({ ...read, workers: { ...read?.workers } }, report);
      assert.deepEqual(await store.readThroughput(999_999, 5), {
        finished: [0, 5, 0, 4, 0],
        failed: [0, 1, 0, 0, 0],
      });
      await store.removeReport('p');
      assert.deepEqual(
        (await store.readOverview()).processes.map((process) => process.report),
        [null],
      );
      await store.close();
    });
  });
}
