/**
 * toniq behind a real Sentinel setup (a master, one replica, three sentinels, started by the
 * harness), with `durability: { replicas: 1 }`: the master is killed with SIGKILL while four
 * child processes enqueue and run jobs. No acknowledged job is lost, no process crashes, and every
 * enqueue during the failover either succeeds or rejects within enqueueTimeout.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startChild, type ToniqChild } from './harness/child-processes.js';
import { eventually } from './harness/eventually.js';
import { randomPrefix } from './harness/fixtures.js';
import { useRedisSentinel } from './harness/use-topologies.js';

const setup = useRedisSentinel({ name: 'mymaster', downAfter: 1000, failoverTimeout: 3000 });

const ENQUEUE_TIMEOUT = 3000;

interface Outcome {
  label: string;
  id?: string;
  error?: string;
}

describe('toniq with Redis Sentinel', () => {
  it('loses no acknowledged job when the master is killed with SIGKILL while 4 processes enqueue and run jobs', async () => {
    const { sentinel } = setup;
    const keyPrefix = randomPrefix();
    const redisSentinel = {
      sentinels: sentinel.sentinels.map(({ host, port }) => `${host}:${port}`),
      name: sentinel.name,
    };
    const children: ToniqChild[] = [];
    for (let i = 0; i < 4; i++) {
      children.push(
        await startChild({
          redisSentinel,
          keyPrefix,
          durability: { replicas: 1 },
          enqueueTimeout: ENQUEUE_TIMEOUT,
          // Above a failover (about 2 s with these sentinels), so no live process is taken over.
          heartbeatInterval: 500,
          deadAfter: 8000,
          takeoverCheckInterval: 500,
        }),
      );
    }

    const acknowledged = new Set<string>();
    const refusals = new Map<string, number>();
    let slowest = 0;
    let next = 0;
    let enqueuing = true;
    const loops = children.map(async (child, c) => {
      while (enqueuing) {
        const jobs = Array.from({ length: 5 }, () => ({ label: `c${c}-${next++}`, ms: 5 }));
        const before = Date.now();
        const outcomes = await child.request<Outcome[]>({ cmd: 'enqueueEach', jobs }, 20_000);
        slowest = Math.max(slowest, Date.now() - before);
        for (const outcome of outcomes) {
          if (outcome.id) acknowledged.add(outcome.label);
          else refusals.set(outcome.error!, (refusals.get(outcome.error!) ?? 0) + 1);
        }
        if (outcomes.some((outcome) => outcome.error))
          await new Promise((resolve) => setTimeout(resolve, 50));
      }
    });
    const acknowledgedAtLeast = (count: number, what: string) =>
      eventually(() => assert.ok(acknowledged.size >= count, `${acknowledged.size} acknowledged`), {
        timeout: 30_000,
        interval: 50,
        what,
      });

    await acknowledgedAtLeast(100, 'jobs to be enqueued before the kill');
    const killed = await sentinel.killMaster();
    await sentinel.waitForFailover();
    // With one replica promoted, no replica is left to confirm writes until the old master is back.
    await sentinel.restartDataNode(killed);
    const afterFailover = acknowledged.size;
    await acknowledgedAtLeast(afterFailover + 100, 'jobs to be enqueued after the failover');
    enqueuing = false;
    await Promise.all(loops);

    const client = sentinel.client();
    await eventually(
      async () => {
        const runs = await client.hgetall(`{${keyPrefix}}:test-runs`);
        const lost = [...acknowledged].filter((label) => !runs[label]);
        assert.deepEqual(
          lost.slice(0, 10),
          [],
          `${lost.length} of ${acknowledged.size} acknowledged jobs did not run`,
        );
      },
      { timeout: 30_000, interval: 200, what: 'every acknowledged job to run' },
    );
    for (const child of children) {
      assert.equal(await child.request({ cmd: 'processes' }).then(() => 'answers'), 'answers');
      assert.doesNotMatch(child.logText(), /Took over/);
    }
    // Refused enqueues said why, in toniq's words, within enqueueTimeout (and the IPC round trip).
    for (const code of refusals.keys()) assert.match(code, /^TONIQ_(REDIS_UNAVAILABLE|NOT_REPLICATED)$/);
    assert.ok(slowest < ENQUEUE_TIMEOUT + 1500, `the slowest enqueue round took ${slowest} ms`);
    console.log(
      `sentinel failover: ${acknowledged.size} acknowledged, 0 lost, refused: ${JSON.stringify(Object.fromEntries(refusals))}, slowest round ${slowest} ms`,
    );
    // Each child logged the outage per part (connection, heartbeat, timers), not once per failed
    // call: at most twice. Once in CI the keepalive thread's connection dropped a second time
    // after it had beaten again (cause not pinned down; likely a sentinel still naming the old
    // master, restarted above, before it turns replica): two outages, each logged once.
    for (const child of children) {
      const errors = child.logs.filter((line) => line.level === 'error').map((line) => line.msg);
      for (const message of new Set(errors)) {
        const times = errors.filter((other) => other === message).length;
        assert.ok(times <= 2, `an error logged ${times} times:\n${errors.join('\n')}`);
      }
      if (errors.length) assert.match(child.logText('info'), /Reconnected to the Redis master "mymaster"/);
    }
    for (const child of children) await child.request({ cmd: 'stop', timeout: 1000 });
  });
});
