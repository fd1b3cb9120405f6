/**
 * Hand-over and takeover timed at the default settings (no timing options anywhere), since that
 * is what users run: other tests shorten the heartbeat to 50 ms, which hides any delay counted in
 * heartbeat intervals. The measured times are printed (t.diagnostic) for release notes.
 *
 * The defaults (src/options.ts, README): heartbeatInterval 2000 ms, deadAfter 10 000 ms,
 * takeoverCheckInterval = heartbeatInterval, and a process first seen dead is confirmed dead
 * heartbeatInterval later (src/runtime/keepalive.ts: confirmAfter) unless it announced its stop.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defineWorker } from '../src/index.js';
import { startChild } from './harness/child-processes.js';
import { collectEvents, eventually, nextEvent } from './harness/eventually.js';
import { randomPrefix, toniqFactory, useRedis } from './harness/fixtures.js';

const server = useRedis();
const newToniq = toniqFactory(server);

const HEARTBEAT_INTERVAL = 2000;
const DEAD_AFTER = 10_000;
const TAKEOVER_CHECK_INTERVAL = HEARTBEAT_INTERVAL;
const CONFIRM_AFTER = HEARTBEAT_INTERVAL;

/** The same "Record" worker as the children's: counts each run of a label in Redis. */
function recordWorker(keyPrefix: string) {
  const client = server.redis.client();
  return defineWorker('Record', async (args: { label: string }) => {
    await client.hincrby(`{${keyPrefix}}:test-runs`, args.label, 1);
  });
}

const labels = (count: number, prefix: string) =>
  Array.from({ length: count }, (_, i) => ({ label: `${prefix}-${i}` }));

describe('timings at the default settings', () => {
  it('starts the jobs of a process that stopped while holding them on another live process within 1 s', async (t) => {
    const keyPrefix = randomPrefix();
    const leaving = await startChild({ redisUrl: server.redis.url, keyPrefix, hang: true });
    const ids = await leaving.request<string[]>({ cmd: 'enqueue', jobs: labels(10, 'handed') });
    const staying = await newToniq({ keyPrefix, workers: [recordWorker(keyPrefix)] });
    const started = collectEvents<[{ id: string }]>(staying.events, 'started', ids.length, 15_000);
    const stopCalledAt = performance.now();
    // The jobs hang, so stop() gives up on them after its timeout (100 ms) and hands them over.
    await leaving.request({ cmd: 'stop', timeout: 100 });
    const stopResolvedAt = performance.now();
    const startedIds = (await started).map(([job]) => job.id);
    const allStartedAt = performance.now();
    assert.deepEqual(startedIds.sort(), [...ids].sort());
    const afterResolve = allStartedAt - stopResolvedAt;
    t.diagnostic(
      `hand-over at default settings: all ${ids.length} jobs started elsewhere ${afterResolve.toFixed(0)} ms after stop() resolved (${(allStartedAt - stopCalledAt).toFixed(0)} ms after it was called, with a 100 ms stop timeout)`,
    );
    // A stopped process announces it, so no heartbeat interval is waited for: before that was
    // so, this took confirmAfter (one heartbeat interval, 2 s). 1 s leaves a loaded machine room
    // and still tells the two apart.
    assert.ok(afterResolve < 1000, `handed over ${afterResolve.toFixed(0)} ms after stop() resolved`);
  });

  it('takes over the jobs of a process killed with SIGKILL within deadAfter + a check interval + confirmAfter', async (t) => {
    const keyPrefix = randomPrefix();
    const doomed = await startChild({ redisUrl: server.redis.url, keyPrefix, hang: true });
    await doomed.request({ cmd: 'enqueue', jobs: labels(10, 'killed') });
    const survivor = await newToniq({ keyPrefix, workers: [recordWorker(keyPrefix)] });
    // Bound: the last heartbeat (at most at the kill) lives deadAfter; the next check sees the
    // process dead at most one check interval after that; it is confirmed dead confirmAfter
    // later. 10 + 2 + 2 = 14 s, plus 1 s for a loaded machine: an extra heartbeat interval of
    // waiting anywhere in the chain (16 s) fails. The earliest possible is deadAfter minus one
    // heartbeat interval (the last beat may have been that long before the kill).
    const upper = DEAD_AFTER + TAKEOVER_CHECK_INTERVAL + CONFIRM_AFTER + 1000;
    const lower = DEAD_AFTER - HEARTBEAT_INTERVAL;
    const takenOver = nextEvent<[{ processId: string; jobs: number }]>(survivor.events, 'takenOver', {
      timeout: upper + 5000,
    });
    const killedAt = performance.now();
    await doomed.kill();
    const [takeover] = await takenOver;
    const tookOver = performance.now() - killedAt;
    assert.equal(takeover.processId, doomed.processId);
    assert.equal(takeover.jobs, 10);
    await eventually(
      async () =>
        assert.equal(Object.keys(await server.redis.client().hgetall(`{${keyPrefix}}:test-runs`)).length, 10),
      { timeout: 5000, what: 'the 10 taken-over jobs to run' },
    );
    const ran = performance.now() - killedAt;
    t.diagnostic(
      `takeover at default settings: taken over ${tookOver.toFixed(0)} ms after SIGKILL, all 10 jobs done after ${ran.toFixed(0)} ms (bound ${lower}–${upper} ms)`,
    );
    assert.ok(tookOver >= lower - 100, `taken over ${tookOver.toFixed(0)} ms after the kill: too early`);
    assert.ok(tookOver <= upper, `taken over ${tookOver.toFixed(0)} ms after the kill, bound ${upper} ms`);
    assert.ok(
      !(await survivor.processes()).some((p) => p.id === doomed.processId),
      'the dead process is forgotten',
    );
  });
});
