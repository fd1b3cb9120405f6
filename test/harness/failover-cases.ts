/**
 * The failover cases (keepalive, takeover with real child processes killed by SIGKILL, SIGSTOP
 * and blocked event loops, hand-over on stop, enqueue onto another process), for one Redis
 * topology: failover.test.ts runs them on one server, failover-cluster.test.ts on a real Redis
 * Cluster, where each process's keys are in a slot of their own.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defineWorker, NoSuchProcessError } from '../../src/index.js';
import { startChild } from './child-processes.js';
import { eventually, nextEvent } from './eventually.js';
import { FAST_TAKEOVER, randomPrefix } from './fixtures.js';
import type { RedisTarget } from './redis-target.js';

export function failoverCases(target: RedisTarget): void {
  const newToniq = target.newToniq;

  /** Short timings so that a dead process is noticed in a few hundred ms. */
  const fast = {
    ...FAST_TAKEOVER,
    delayedJobsPollInterval: 200,
  };

  /** The same "Record" worker as the children's: counts each run of a label in Redis. */
  function recordWorker(keyPrefix: string) {
    const client = target.client();
    return defineWorker('Record', async (args: { label: string; ms?: number }) => {
      if (args.ms) await new Promise((resolve) => setTimeout(resolve, args.ms));
      await client.hincrby(`{${keyPrefix}}:test-runs`, args.label, 1);
    });
  }

  async function runCounts(keyPrefix: string): Promise<Record<string, string>> {
    return target.client().hgetall(`{${keyPrefix}}:test-runs`);
  }

  const nextTick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  const labels = (count: number, prefix = 'job') =>
    Array.from({ length: count }, (_, i) => ({ label: `${prefix}-${i}` }));

  describe('keepalive', () => {
    it('registers each started process and lists it with the age of its heartbeat', async () => {
      const keyPrefix = randomPrefix();
      // This process's deadAfter is far above the bound checked below: a process listed alive has a
      // heartbeatAge under its deadAfter by definition, so only a bound well under it shows that
      // the heartbeat is renewed. (The child keeps a short one, to be seen dead soon after its kill.)
      const toniq = await newToniq({
        keyPrefix,
        workers: [recordWorker(keyPrefix)],
        ...fast,
        deadAfter: 20_000,
      });
      const child = await startChild({ ...target.where(), keyPrefix, ...fast });
      const processes = await toniq.processes();
      const ids = processes.map((p) => p.id).sort();
      assert.deepEqual(ids, [toniq.processId, child.processId].sort());
      const mine = processes.find((p) => p.id === toniq.processId)!;
      assert.equal(mine.pid, process.pid);
      assert.deepEqual(mine.workers, ['Record']);
      assert.match(mine.version, /^\d+\.\d+\.\d+/);
      // Sampled for 2 s (40 heartbeat intervals): each process's heartbeat stays young. Without
      // renewal it would age past 2 s; 1500 ms leaves a loaded machine 30 missed beats.
      const until = Date.now() + 2000;
      while (Date.now() < until) {
        for (const listed of await toniq.processes()) {
          assert.ok(
            listed.heartbeatAge !== null && listed.heartbeatAge >= 0 && listed.heartbeatAge < 1500,
            `process ${listed.id} has a heartbeat ${listed.heartbeatAge} ms old`,
          );
        }
        await nextTick(100);
      }
      const theirs = processes.find((p) => p.id === child.processId)!;
      assert.equal(theirs.pid, child.pid);
      await child.kill();
      await eventually(async () => {
        const after = (await toniq.processes()).find((p) => p.id === child.processId);
        assert.ok(
          !after || after.heartbeatAge === null,
          'a killed process is dead once its heartbeat lapses',
        );
      });
    });
  });

  describe('takeover', () => {
    it('runs every job of a process killed with SIGKILL elsewhere, keeping ids and attempts', async () => {
      const keyPrefix = randomPrefix();
      const doomed = await startChild({ ...target.where(), keyPrefix, ...fast, hang: true });
      const ids = await doomed.request<string[]>({ cmd: 'enqueue', jobs: labels(50) });
      await doomed.request({ cmd: 'enqueue', jobs: [{ label: 'delayed' }], options: { delayFor: 300 } });
      const survivor = await newToniq({ keyPrefix, workers: [recordWorker(keyPrefix)], ...fast });
      // Collected here and checked below: an assert inside the listener would only be logged.
      const started = new Map<string, number>();
      survivor.events.on('started', (job) => started.set(job.id, job.attempt));
      const takenOver = nextEvent<[{ processId: string; jobs: number; delayedJobs: number }]>(
        survivor.events,
        'takenOver',
        {
          timeout: 5000,
        },
      );
      const killedAt = Date.now();
      await doomed.kill();
      const [takeover] = await takenOver;
      assert.deepEqual(takeover, { processId: doomed.processId, jobs: 50, delayedJobs: 1 });
      await eventually(async () => assert.equal(Object.keys(await runCounts(keyPrefix)).length, 51), {
        timeout: 5000,
      });
      for (const id of ids)
        assert.equal(started.get(id), 1, `job ${id} ran with its id, on its first attempt`);
      const counts = await runCounts(keyPrefix);
      assert.ok(Object.values(counts).every((count) => count === '1'));
      console.log(
        `# takeover after SIGKILL: all 51 jobs done ${Date.now() - killedAt} ms after the kill (deadAfter ${fast.deadAfter} ms)`,
      );
      assert.ok(
        !(await survivor.processes()).some((p) => p.id === doomed.processId),
        'the dead process is forgotten',
      );
    });

    it('moves each job exactly once when two processes race to take over', async () => {
      const keyPrefix = randomPrefix();
      const doomed = await startChild({ ...target.where(), keyPrefix, ...fast, hang: true });
      await doomed.request({ cmd: 'enqueue', jobs: labels(300) });
      const racers = await Promise.all(
        [1, 2, 3].map(() => startChild({ ...target.where(), keyPrefix, ...fast })),
      );
      const takeovers: number[] = [];
      for (const racer of racers)
        racer.on('takenOver', (payload: { jobs: number }) => takeovers.push(payload.jobs));
      await doomed.kill();
      await eventually(async () => assert.equal(Object.keys(await runCounts(keyPrefix)).length, 300), {
        timeout: 8000,
      });
      assert.deepEqual(takeovers, [300], 'one racer took all the jobs, the others none');
      // Stopped, the racers can run nothing more: a duplicate would have run by now.
      await Promise.all(racers.map((racer) => racer.request({ cmd: 'stop', timeout: 1000 })));
      assert.deepEqual(takeovers, [300], 'still one takeover');
      const counts = await runCounts(keyPrefix);
      assert.equal(Object.keys(counts).length, 300);
      assert.ok(
        Object.values(counts).every((count) => count === '1'),
        'no job ran twice',
      );
    });

    it('never takes over from itself, nor while its own heartbeat is alive', async () => {
      const keyPrefix = randomPrefix();
      const a = await newToniq({ keyPrefix, workers: [recordWorker(keyPrefix)], ...fast });
      const b = await newToniq({ keyPrefix, workers: [recordWorker(keyPrefix)], ...fast });
      let takeovers = 0;
      a.events.on('takenOver', () => takeovers++);
      b.events.on('takenOver', () => takeovers++);
      // The job lasts 2 × deadAfter: 20 takeover checks in each process while it runs.
      const finished = nextEvent(a.events, 'finished', { timeout: 10_000 });
      await a.enqueue(recordWorker(keyPrefix), { label: 'x', ms: fast.deadAfter * 2 });
      await finished;
      assert.equal(takeovers, 0);
    });

    it('lets a paused process (SIGSTOP past its expiry) recover after SIGCONT, warning that jobs may run twice', async () => {
      const keyPrefix = randomPrefix();
      const paused = await startChild({ ...target.where(), keyPrefix, ...fast, hang: true });
      await paused.request({ cmd: 'enqueue', jobs: labels(5, 'paused') });
      const survivor = await newToniq({ keyPrefix, workers: [recordWorker(keyPrefix)], ...fast });
      const takenOver = nextEvent(survivor.events, 'takenOver', { timeout: 5000 });
      paused.pause();
      await takenOver;
      paused.resume();
      await eventually(
        () => assert.match(paused.logText(), /another process took over its jobs.*may run twice/s),
        {
          timeout: 5000,
        },
      );
      await eventually(async () => {
        const again = (await survivor.processes()).find((p) => p.id === paused.processId);
        assert.ok(again && again.heartbeatAge !== null, 'it registered again');
      });
      await eventually(async () => assert.equal(Object.keys(await runCounts(keyPrefix)).length, 5), {
        what: 'the survivor to run the 5 taken-over jobs',
      });
      // It keeps working: a job enqueued onto it starts there (its Record jobs hang, so the
      // 'started' event it reports is the proof).
      const startedThere = nextEvent<[{ id: string; processId: string }]>(paused, 'started', {
        filter: (job) => job.processId === paused.processId,
      });
      const job = await survivor.enqueueOn(paused.processId, recordWorker(keyPrefix), {
        label: 'after-resume',
      });
      const [started] = await startedThere;
      assert.equal(started.id, job.id);
    });

    it('does not take over a process whose event loop is blocked for less than maxEventLoopStall', async () => {
      const keyPrefix = randomPrefix();
      // The "30 s of CPU work" case, shortened: blocked for 2 × deadAfter. The heartbeat comes
      // from a worker thread, so it goes on. deadAfter is 3 s here (not the fast 500 ms): on two
      // cores, a spinning process beside another test file starved the thread for over a second.
      const timing = { ...fast, heartbeatInterval: 250, deadAfter: 3000 };
      const busy = await startChild({
        ...target.where(),
        keyPrefix,
        ...timing,
        maxEventLoopStall: 60_000,
        hang: true,
      });
      await busy.request({ cmd: 'enqueue', jobs: labels(3, 'busy') });
      const observer = await newToniq({ keyPrefix, workers: [recordWorker(keyPrefix)], ...timing });
      let takeovers = 0;
      observer.events.on('takenOver', () => takeovers++);
      await busy.request({ cmd: 'block', ms: timing.deadAfter * 2 }, 20_000);
      assert.equal(takeovers, 0);
      const status = (await observer.processes()).find((p) => p.id === busy.processId);
      assert.ok(status && status.heartbeatAge !== null, 'the blocked process stayed alive');
    });

    it('takes over a process whose event loop is stuck longer than maxEventLoopStall', async () => {
      const keyPrefix = randomPrefix();
      const stuck = await startChild({
        ...target.where(),
        keyPrefix,
        ...fast,
        maxEventLoopStall: 300,
        hang: true,
      });
      await stuck.request({ cmd: 'enqueue', jobs: labels(3, 'stuck') });
      const observer = await newToniq({ keyPrefix, workers: [recordWorker(keyPrefix)], ...fast });
      const takenOver = nextEvent(observer.events, 'takenOver', { timeout: 10_000 });
      stuck.tell({ cmd: 'block', ms: 2500 });
      await takenOver;
      await eventually(async () => assert.equal(Object.keys(await runCounts(keyPrefix)).length, 3));
    });
  });

  describe('hand-over on stop', () => {
    it('hands the jobs over on SIGTERM with stopOnSignals', async () => {
      const keyPrefix = randomPrefix();
      const leaving = await startChild({
        ...target.where(),
        keyPrefix,
        ...fast,
        deadAfter: 60_000,
        hang: true,
      });
      await leaving.request({ cmd: 'stopOnSignals', timeout: 100 });
      await leaving.request({ cmd: 'enqueue', jobs: labels(5, 'sigterm') });
      const staying = await newToniq({
        keyPrefix,
        workers: [recordWorker(keyPrefix)],
        ...fast,
        deadAfter: 60_000,
      });
      const takenOver = nextEvent<[{ jobs: number }]>(staying.events, 'takenOver', { timeout: 5000 });
      process.kill(leaving.pid, 'SIGTERM');
      const [takeover] = await takenOver;
      assert.equal(takeover.jobs, 5);
      await leaving.exited;
      await eventually(async () => assert.equal(Object.keys(await runCounts(keyPrefix)).length, 5), {
        timeout: 5000,
      });
    });

    it('gives the jobs still running at stop to a live process, which starts them within a second', async () => {
      const keyPrefix = randomPrefix();
      const leaving = await startChild({
        ...target.where(),
        keyPrefix,
        ...fast,
        deadAfter: 60_000,
        hang: true,
      });
      await leaving.request({ cmd: 'enqueue', jobs: labels(20, 'handed') });
      await leaving.request({
        cmd: 'enqueue',
        jobs: [{ label: 'handed-delayed' }],
        // Due well after the stop, so that it is still delayed then on a loaded machine too.
        options: { delayFor: 3000 },
      });
      const staying = await newToniq({
        keyPrefix,
        workers: [recordWorker(keyPrefix)],
        ...fast,
        deadAfter: 60_000,
      });
      const takenOver = nextEvent<[{ jobs: number; delayedJobs: number }]>(staying.events, 'takenOver', {
        timeout: 5000,
      });
      const stoppedAt = Date.now();
      await leaving.request({ cmd: 'stop', timeout: 100 });
      const [takeover] = await takenOver;
      const handOver = Date.now() - stoppedAt;
      assert.deepEqual(takeover, { processId: leaving.processId, jobs: 20, delayedJobs: 1 });
      // Far below the 60 s deadAfter: the stop announced itself (the figure is printed below).
      assert.ok(handOver < 10_000, `handed over in ${handOver} ms, not after the 60 s deadAfter`);
      await eventually(async () => assert.equal(Object.keys(await runCounts(keyPrefix)).length, 21), {
        timeout: 10_000,
      });
      console.log(
        `# hand-over on stop: taken over ${handOver} ms after stop() was called (100 ms of it the stop timeout)`,
      );
    });

    it('leaves the jobs for the next process to start when no other is alive', async () => {
      const keyPrefix = randomPrefix();
      const leaving = await startChild({ ...target.where(), keyPrefix, ...fast, hang: true });
      await leaving.request({ cmd: 'enqueue', jobs: labels(4, 'orphan') });
      await leaving.request({ cmd: 'stop', timeout: 50 });
      const next = await newToniq({ keyPrefix, workers: [recordWorker(keyPrefix)], ...fast });
      await eventually(async () => assert.equal(Object.keys(await runCounts(keyPrefix)).length, 4), {
        timeout: 5000,
      });
      assert.deepEqual(
        (await next.processes()).map((p) => p.id),
        [next.processId],
      );
    });

    it('leaves the registry at once when it stops with no jobs left', async () => {
      const keyPrefix = randomPrefix();
      const a = await newToniq({ keyPrefix, ...fast });
      const b = await newToniq({ keyPrefix, ...fast });
      await b.stop();
      assert.deepEqual(
        (await a.processes()).map((p) => p.id),
        [a.processId],
      );
    });
  });

  describe('enqueue onto another process', () => {
    it('runs a job enqueued with enqueueOn on that process at once, woken through Redis rather than by its poll', async () => {
      const keyPrefix = randomPrefix();
      const other = await startChild({
        ...target.where(),
        keyPrefix,
        ...fast,
        // A poll this slow never fires during the test: only the wake-up message can start the jobs.
        delayedJobsPollInterval: 60_000,
      });
      const here = await newToniq({ keyPrefix, ...fast });
      const latencies: number[] = [];
      for (let i = 0; i < 30; i++) {
        const started = nextEvent<[{ id: string; processId: string }]>(other, 'started');
        const before = performance.now();
        const job = await here.enqueueOn(other.processId, recordWorker(keyPrefix), { label: `on-${i}` });
        const [payload] = await started;
        latencies.push(performance.now() - before);
        assert.equal(payload.id, job.id);
        assert.equal(job.processId, other.processId);
      }
      latencies.sort((a, b) => a - b);
      const median = latencies[Math.floor(latencies.length / 2)]!;
      console.log(
        `# enqueueOn → started on the other process: median ${median.toFixed(2)} ms, max ${latencies.at(-1)!.toFixed(2)} ms`,
      );
      // The speed itself is a figure (printed above), not asserted: a loaded machine may be slow.
      assert.ok(
        latencies.at(-1)! < 10_000,
        `slowest ${latencies.at(-1)} ms: every job started long before the 60 s poll, so the wake-up message works`,
      );
    });

    it('enqueueAnywhere picks a live process that registers the worker', async () => {
      const keyPrefix = randomPrefix();
      const other = await startChild({ ...target.where(), keyPrefix, ...fast });
      const here = await newToniq({ keyPrefix, ...fast }); // registers no worker
      const job = await here.enqueueAnywhere(recordWorker(keyPrefix), { label: 'anywhere' });
      assert.equal(job.processId, other.processId);
      await eventually(async () => assert.equal((await runCounts(keyPrefix)).anywhere, '1'));
    });

    it('refuses a dead process, or one without the worker, saying which processes there are', async () => {
      const keyPrefix = randomPrefix();
      // Default timings: nothing here is taken over, and a 500 ms deadAfter could let a loaded
      // machine see the other process as dead.
      const here = await newToniq({ keyPrefix });
      await assert.rejects(
        here.enqueueOn('nobody', recordWorker(keyPrefix), { label: 'x' }),
        (error: unknown) => {
          assert.ok(error instanceof NoSuchProcessError);
          assert.match(error.message, /no live process has that id.*toniq\.processes\(\)/);
          return true;
        },
      );
      const other = await newToniq({ keyPrefix });
      await assert.rejects(
        here.enqueueOn(other.processId, recordWorker(keyPrefix), { label: 'x' }),
        /does not register a worker named "Record"/,
      );
      await assert.rejects(
        here.enqueueAnywhere(recordWorker(keyPrefix), { label: 'x' }),
        /no live process registers that worker/,
      );
    });
  });
}
