/**
 * One contract, two stores: the same cases run against RedisStore and MemoryStore.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { JobStore } from '../src/storage/job-store.js';
import { MemoryStore } from '../src/storage/memory-store.js';
import { RedisStore } from '../src/storage/redis/redis-store.js';
import { randomPrefix, recordingLogger, useRedis } from './harness/fixtures.js';

const server = useRedis();
const stores: Array<[string, () => Promise<JobStore>]> = [
  ['MemoryStore', async () => new MemoryStore()],
  [
    'RedisStore',
    async () => {
      const store = new RedisStore({
        redisUrl: server.redis.url,
        keyPrefix: randomPrefix(),
        logger: recordingLogger(),
        commandTimeout: 2000,
      });
      await store.open();
      return store;
    },
  ],
];

const bytes = (text: string) => Buffer.from(text);
const ids = (jobs: Array<{ id: string }>) => jobs.map((job) => job.id).sort();

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
      assert.deepEqual(
        taken?.jobs.map((job) => job.id),
        ['j1'],
      );
      assert.equal(taken?.delayed, 1);
      assert.equal(await store.takeOverProcess('gone', 'live'), null, 'only once');
      // Had it lived, its next heartbeat would have told it that it had been taken over.
      await store.addJobs('paused', [{ id: 'j3', record: bytes('J3') }]);
      assert.equal(await store.keepAlive(info('paused'), 60_000), true);
      await store.close();
    });

    it('takes over only a dead process, never itself, and only for a live taker', async () => {
      const store = await open();
      const info = (id: string) => ({ id, host: 'h', pid: 1, startedAt: 1, version: '0', workers: [] });
      await store.keepAlive(info('a'), 60_000);
      await store.keepAlive(info('b'), 60_000);
      await store.addJobs('b', [{ id: 'x', record: bytes('X') }]);
      assert.equal(await store.takeOverProcess('b', 'a'), null, 'b is alive');
      assert.equal(await store.takeOverProcess('a', 'a'), null, 'not from itself');
      assert.equal(await store.endProcess('b'), true, 'b stops, leaving a job');
      assert.equal(await store.takeOverProcess('b', 'nobody'), null, 'the taker must be alive');
      assert.deepEqual(
        (await store.takeOverProcess('b', 'a'))?.jobs.map((job) => job.id),
        ['x'],
      );
      assert.deepEqual(ids(await store.listJobs('a')), ['x']);
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
      assert.equal(await store.retryFailedJob('q', { id: 'y', record: bytes('Y1') }), true);
      assert.equal(await store.retryFailedJob('q', { id: 'y', record: bytes('Y1') }), false);
      assert.deepEqual(ids(await store.listJobs('q')), ['y']);
      assert.equal(await store.deleteFailedJob('x'), true);
      assert.equal(await store.deleteFailedJob('x'), false);
      assert.deepEqual(await store.listFailedJobs(), []);
      await store.close();
    });
  });
}
