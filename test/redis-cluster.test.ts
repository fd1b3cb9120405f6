/**
 * toniq on a real Redis Cluster (3 masters, 3 replicas, started by the harness): it enqueues and
 * runs jobs, a process killed with SIGKILL is taken over, the admin reads the cluster, and when
 * the master holding the app's slot is killed, toniq carries on on the promoted replica by itself.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { main } from '../src/cli/main.js';
import { connectAdmin, createToniq, defineWorker, type Toniq } from '../src/index.js';
import { startChild } from './harness/child-processes.js';
import { eventually, nextEvent } from './harness/eventually.js';
import { FAST_TAKEOVER, randomPrefix, recordingLogger } from './harness/fixtures.js';
import { useRedisCluster } from './harness/use-topologies.js';

const topology = useRedisCluster({ masters: 3, replicasPerMaster: 1, nodeTimeout: 1000 });

/** The children's "Record" worker: counts each run of a label in {prefix}:test-runs. */
function recordWorker(keyPrefix: string) {
  const client = topology.cluster.client();
  return defineWorker('Record', async (args: { label: string; ms?: number }) => {
    if (args.ms) await new Promise((resolve) => setTimeout(resolve, args.ms));
    await client.hincrby(`{${keyPrefix}}:test-runs`, args.label, 1);
  });
}

const runCounts = (keyPrefix: string) => topology.cluster.client().hgetall(`{${keyPrefix}}:test-runs`);

const started: Toniq[] = [];
after(async () => {
  await Promise.all(started.map((toniq) => toniq.stop({ timeout: 100 })));
});

async function startToniq(keyPrefix: string, options: Partial<Parameters<typeof createToniq>[0]> = {}) {
  const logger = recordingLogger();
  const record = recordWorker(keyPrefix);
  const toniq = createToniq({
    redisCluster: topology.cluster.seedUrls.slice(0, 2),
    keyPrefix,
    workers: [record],
    logger,
    ...FAST_TAKEOVER,
    ...options,
  });
  started.push(toniq);
  await toniq.start();
  return Object.assign(toniq, { logger, record });
}

describe('toniq on a Redis Cluster', () => {
  it('enqueues and runs jobs, delayed ones too, on a real cluster', async () => {
    const keyPrefix = randomPrefix();
    const toniq = await startToniq(keyPrefix);
    const { record } = toniq;
    await Promise.all(Array.from({ length: 50 }, (_, i) => toniq.enqueue(record, { label: `now-${i}` })));
    await toniq.enqueue(record, { label: 'later' }, { delayFor: 100 });
    await eventually(async () => assert.equal(Object.keys(await runCounts(keyPrefix)).length, 51), {
      what: 'every job to run once',
    });
    const counts = await runCounts(keyPrefix);
    assert.ok(
      Object.values(counts).every((count) => count === '1'),
      JSON.stringify(counts),
    );
    await toniq.stop();
    assert.equal(toniq.logger.text('error'), '');
  });

  it('takes over the jobs of a process killed with SIGKILL on the cluster', async () => {
    const keyPrefix = randomPrefix();
    const doomed = await startChild({
      redisCluster: topology.cluster.seedUrls,
      keyPrefix,
      hang: true,
      ...FAST_TAKEOVER,
    });
    const ids = await doomed.request<string[]>({
      cmd: 'enqueue',
      jobs: Array.from({ length: 10 }, (_, i) => ({ label: `held-${i}` })),
    });
    await doomed.request({ cmd: 'enqueue', jobs: [{ label: 'delayed' }], options: { delayFor: 300 } });
    assert.equal(ids.length, 10);
    const taker = await startToniq(keyPrefix);
    const takenOver = nextEvent(taker.events, 'takenOver', { timeout: 10_000 });
    await doomed.kill();
    const [event] = (await takenOver) as [{ processId: string; jobs: number; delayedJobs: number }];
    assert.equal(event.processId, doomed.processId);
    assert.equal(event.jobs + event.delayedJobs, 11);
    await eventually(async () => assert.equal(Object.keys(await runCounts(keyPrefix)).length, 11), {
      what: 'the taken-over jobs to run',
    });
  });

  it('enqueueOn wakes the other process over pub/sub on the cluster', async () => {
    const keyPrefix = randomPrefix();
    // Its delayed jobs are looked at only every minute: the job runs at once only if the wake arrives.
    const sleepy = await startToniq(keyPrefix, { delayedJobsPollInterval: 60_000 });
    const caller = await startToniq(keyPrefix);
    await caller.enqueueOn(sleepy.processId, caller.record, { label: 'woken' });
    await eventually(async () => assert.equal((await runCounts(keyPrefix)).woken, '1'), {
      timeout: 3000,
      what: 'the woken process to run the job',
    });
  });

  it('connectAdmin reads the cluster: processes, counts and failed jobs', async () => {
    const keyPrefix = randomPrefix();
    const toniq = await startToniq(keyPrefix);
    await toniq.enqueue(toniq.record, { label: 'waiting' }, { delayFor: 60_000 });
    const admin = await connectAdmin({
      redisCluster: topology.cluster.seedUrls,
      keyPrefix,
      logger: recordingLogger(),
    });
    try {
      const stats = await eventually(async () => {
        const stats = await admin.stats();
        assert.equal(stats.totals.delayed, 1);
        return stats;
      });
      assert.deepEqual(
        stats.processes.map((process) => process.id),
        [toniq.processId],
      );
      const page = await admin.jobs({ state: 'delayed' });
      assert.equal(page.total, 1);
      assert.equal(page.jobs.length, 1);
    } finally {
      await admin.close();
    }
    // And the CLI, with --cluster.
    const out: string[] = [];
    const code = await main(
      ['stats', '--json', '--prefix', keyPrefix, '--cluster', topology.cluster.seedUrls.join(',')],
      {
        env: {},
        io: { out: (text) => out.push(text), err: (text) => out.push(text) },
      },
    );
    assert.equal(code, 0, out.join('\n'));
    assert.equal(JSON.parse(out.join('\n')).totals.delayed, 1);
  });

  it('carries on by itself when the master holding its slot is killed: enqueues work again and no process is taken over', async () => {
    const { cluster } = topology;
    const keyPrefix = randomPrefix();
    // deadAfter well above a failover (about 2 s with a 1 s node timeout), as in production.
    const toniq = await startToniq(keyPrefix, {
      heartbeatInterval: 250,
      deadAfter: 6000,
      takeoverCheckInterval: 250,
    });
    const watcher = await startToniq(keyPrefix, {
      heartbeatInterval: 250,
      deadAfter: 6000,
      takeoverCheckInterval: 250,
    });
    const { record } = toniq;
    await toniq.enqueue(record, { label: 'before' });
    const victim = await cluster.masterForKey(`{${keyPrefix}}:registry`);
    await cluster.killMaster(victim);
    await cluster.waitForFailover(victim);
    const job = await eventually(() => toniq.enqueue(record, { label: 'after' }), {
      timeout: 10_000,
      interval: 100,
      what: 'an enqueue to succeed after the failover',
    });
    assert.ok(job.id);
    await eventually(async () => assert.ok((await runCounts(keyPrefix)).after), { what: 'the job to run' });
    // Both processes beat again: each lists the other alive.
    await eventually(async () => {
      const processes = await watcher.processes();
      assert.equal(processes.filter((process) => process.heartbeatAge !== null).length, 2);
    });
    await cluster.restartNode(victim);
    for (const instance of [toniq, watcher]) {
      assert.doesNotMatch(instance.logger.text(), /Took over/);
    }
    // The outage is logged once and its end once (a Cluster that loses one master stays connected
    // to the others, so it is the heartbeat that notices), and nothing else went wrong.
    const recoveries: Array<[RegExp, RegExp]> = [
      [/^Could not refresh the heartbeat of this process/, /^The heartbeat of this process works again\.$/],
      [/^Could not check for dead processes to take over/, /^Checking for dead processes works again\.$/],
    ];
    await eventually(
      () => {
        for (const instance of [toniq, watcher]) {
          const errors = instance.logger.lines
            .filter((line) => line.level === 'error')
            .map((line) => line.msg);
          const infos = instance.logger.lines.filter((line) => line.level === 'info').map((line) => line.msg);
          for (const message of errors) {
            const known = recoveries.find(([outage]) => outage.test(message));
            assert.ok(known, `an unexpected error: ${message}`);
            assert.equal(errors.filter((other) => known[0].test(other)).length, 1, `logged once: ${message}`);
            assert.equal(
              infos.filter((info) => known[1].test(info)).length,
              1,
              `its recovery logged once: ${message}`,
            );
          }
        }
      },
      { what: 'each outage logged once, and its recovery once' },
    );
  });
});
