/**
 * The key layout of docs/internals.md, "Keys and slots": each process's keys under a hash tag of
 * its own, the takeover protocol's crash points (a taker that died holding the claim, a job copied
 * but not yet dropped, a job on its way to the failed list), and the upgrade from the layout of
 * toniq before 0.2, where every key was under the app's tag.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createToniq, defineWorker } from '../src/index.js';
import { newJobId } from '../src/job/job-id.js';
import { encodeRecord } from '../src/job/job-record.js';
import { ArgumentCodec } from '../src/job/serialization.js';
import { keysFor } from '../src/storage/keys.js';
import { eventually, nextEvent } from './harness/eventually.js';
import { FAST_TAKEOVER, randomPrefix, recordingLogger, toniqFactory, useRedis } from './harness/fixtures.js';

const server = useRedis();
const newToniq = toniqFactory(server);

const runs = new Map<string, number>();
const recorder = defineWorker('Record', (args: { label: string }) => {
  runs.set(args.label, (runs.get(args.label) ?? 0) + 1);
});

/** Leaves jobs under `processId` as a process that died would: registered, no heartbeat. */
async function leaveJobs(keyPrefix: string, processId: string, now: string[], delayed: string[] = []) {
  const dead = createToniq({
    redisUrl: server.redis.url,
    keyPrefix,
    processId,
    mode: 'manual', // writes the jobs, never runs them, never beats
    workers: [recorder],
    logger: recordingLogger(),
  });
  await dead.start();
  for (const label of now) await dead.enqueue(recorder, { label });
  for (const label of delayed) await dead.enqueue(recorder, { label }, { delayFor: 1 });
  await dead.stop();
}

describe('keys and slots', () => {
  it("keeps each process's jobs under a hash tag of its own, so processes spread over a cluster's slots", async () => {
    const keyPrefix = randomPrefix();
    await leaveJobs(keyPrefix, 'one', ['a']);
    await leaveJobs(keyPrefix, 'two', ['b']);
    const keys = (await server.redis.client().keys(`{${keyPrefix}*`)).sort();
    assert.ok(keys.includes(`{${keyPrefix}:one}:jobs`));
    assert.ok(keys.includes(`{${keyPrefix}:two}:jobs`));
    assert.ok(keys.includes(`{${keyPrefix}}:registry`), 'the registry is shared');
    assert.deepEqual(
      keys.filter((key) => !key.startsWith(`{${keyPrefix}}:`) && !/^\{[^}]+:(one|two)\}:/.test(key)),
      [],
      'no key outside the two kinds',
    );
  });

  it('finishes the takeover of a process whose first taker died holding the claim, once its lease lapses', async () => {
    const keyPrefix = randomPrefix();
    const labels = [`${keyPrefix}-held`, `${keyPrefix}-delayed`];
    await leaveJobs(keyPrefix, 'dead', [labels[0]!], [labels[1]!]);
    // A taker claimed it and died before copying anything.
    const leaseEnds = Date.now() + 1500;
    await server.redis.client().set(keysFor(keyPrefix).process('dead').takeoverClaim, 'ghost', 'PX', 1500);
    const toniq = await newToniq({ keyPrefix, workers: [recorder], ...FAST_TAKEOVER });
    const [taken] = await nextEvent<[{ processId: string; jobs: number; delayedJobs: number }]>(
      toniq.events,
      'takenOver',
      { filter: (event) => event.processId === 'dead', timeout: 5000 },
    );
    assert.ok(Date.now() >= leaseEnds, 'not before the lease lapsed');
    assert.equal(taken.jobs, 1);
    await eventually(
      () =>
        assert.deepEqual(
          labels.map((label) => runs.get(label)),
          [1, 1],
        ),
      {
        what: 'both jobs to run once',
      },
    );
    assert.deepEqual(await server.redis.client().keys(`{${keyPrefix}:dead}*`), [], 'nothing left of it');
  });

  it('runs a job that a dead taker copied but had not dropped from the dead process yet: twice at worst, never lost', async () => {
    const keyPrefix = randomPrefix();
    const label = `${keyPrefix}-copied`;
    await leaveJobs(keyPrefix, 'dead', [label]);
    // The taker 'ghost' copied the job into its own keyspace, then died before dropping it.
    const client = server.redis.client();
    const keys = keysFor(keyPrefix);
    const held = await client.hgetallBuffer(keys.process('dead').jobs);
    await leaveJobs(keyPrefix, 'ghost', []);
    for (const [id, record] of Object.entries(held))
      await client.hset(keys.process('ghost').jobs, id, record);
    await client.hset(keys.registry, 'ghost', JSON.stringify({ id: 'ghost', placeholder: true }));

    await newToniq({ keyPrefix, workers: [recorder], ...FAST_TAKEOVER });
    await eventually(async () => {
      assert.ok((runs.get(label) ?? 0) >= 1, 'ran');
      assert.deepEqual(await client.keys(`{${keyPrefix}:dead}*`), []);
      assert.deepEqual(await client.keys(`{${keyPrefix}:ghost}*`), []);
    });
    assert.ok((runs.get(label) ?? 0) <= 2);
  });

  it('a racer that finds the process emptied by another taker takes nothing, and forgets it if the other could not', async () => {
    const keyPrefix = randomPrefix();
    const label = `${keyPrefix}-once`;
    await leaveJobs(keyPrefix, 'dead', [label]);
    const keys = keysFor(keyPrefix);
    const client = server.redis.client();
    const registration = (await client.hget(keys.registry, 'dead'))!;
    const toniq = await newToniq({ keyPrefix, workers: [recorder], ...FAST_TAKEOVER });
    const takeovers: number[] = [];
    toniq.events.on('takenOver', (event) => takeovers.push(event.jobs));
    await eventually(() => assert.equal(runs.get(label), 1), { what: 'the takeover' });
    // As if the first taker had died between emptying the keyspace and forgetting the process.
    await client.hset(keys.registry, 'dead', registration);
    await eventually(async () => assert.equal(await client.hexists(keys.registry, 'dead'), 0), {
      what: 'the process to be forgotten',
    });
    assert.deepEqual(takeovers, [1], 'no second takeover, not even of 0 jobs');
    assert.equal(runs.get(label), 1);
  });

  it('carries a job a process left on its way to the failed list into the failed list', async () => {
    const keyPrefix = randomPrefix();
    await leaveJobs(keyPrefix, 'dead', []);
    const keys = keysFor(keyPrefix);
    const id = newJobId(Date.now() - 10_000);
    const failedAt = Date.now() - 5000;
    const record = encodeRecord({
      v: 2,
      id,
      worker: 'Record',
      args: new ArgumentCodec().encode({ label: 'failing' }),
      attempt: 3,
      createdAt: failedAt - 1000,
      failed: { error: { name: 'Error', message: 'it broke' }, attempts: 3, failedAt, processId: 'dead' },
    });
    const client = server.redis.client();
    // start-failing.lua ran; the process died before add-failed-jobs.lua.
    await client.hset(
      keys.process('dead').failing,
      id,
      Buffer.concat([Buffer.from(`${failedAt}\n`), record]),
    );
    await client.hset(keys.registry, 'dead', JSON.stringify({ id: 'dead', placeholder: true }));

    const toniq = await newToniq({ keyPrefix, workers: [recorder], ...FAST_TAKEOVER });
    await eventually(async () => {
      const [failed] = await toniq.failedJobs();
      assert.equal(failed?.id, id);
      assert.equal(failed?.error.message, 'it broke');
      assert.equal(failed?.failedAt?.getTime(), failedAt);
    });
    assert.equal(await client.hget(keys.counts, 'failed:Record'), '1', 'counted');
    assert.equal(await client.exists(keys.process('dead').failing), 0);
  });
});

describe('damage in the takeover protocol keys', () => {
  it('puts a failing entry that is not "<ms>\\n<record>" in the failed list whole, and the takeover goes on', async () => {
    const keyPrefix = randomPrefix();
    const label = `${keyPrefix}-beside`;
    await leaveJobs(keyPrefix, 'dead', [label]);
    const keys = keysFor(keyPrefix);
    const client = server.redis.client();
    await client.hset(keys.process('dead').failing, 'garbled', 'no failure time here');
    const toniq = await newToniq({ keyPrefix, workers: [recorder], ...FAST_TAKEOVER });
    await eventually(async () => {
      assert.equal(runs.get(label), 1, 'its held job ran');
      assert.equal(await client.hget(keys.failed, 'garbled'), 'no failure time here');
      assert.notEqual(await client.zscore(keys.failedIndex, 'garbled'), null);
      assert.ok(!(await toniq.processes()).some((process) => process.id === 'dead'), 'forgotten');
    });
  });
});

describe('upgrading from the layout of toniq before 0.2', () => {
  /** Moves a dead process's keys to the names toniq before 0.2 used, all under `{prefix}`. */
  async function toLegacyLayout(keyPrefix: string, processId: string) {
    const client = server.redis.client();
    const keys = keysFor(keyPrefix);
    const own = keys.process(processId);
    const old = keys.legacyProcess(processId);
    for (const kind of ['jobs', 'delayed', 'delayedJobs'] as const) {
      if (await client.exists(own[kind])) await client.rename(own[kind], old[kind]);
    }
    for (const [field, count] of Object.entries(await client.hgetall(own.delayedCounts)))
      await client.hincrby(keys.counts, field, Number(count));
    await client.del(own.delayedCounts, own.open);
    await client.hset(keys.legacyRegistry, processId, (await client.hget(keys.registry, processId))!);
    await client.hdel(keys.registry, processId);
    await client.hdel(keys.registryEpochs, processId);
  }

  it('takes over the jobs an old process left, with their due times, and removes its old keys', async () => {
    const keyPrefix = randomPrefix();
    const labels = [`${keyPrefix}-old-held`, `${keyPrefix}-old-delayed`];
    await leaveJobs(keyPrefix, 'old', [labels[0]!], [labels[1]!]);
    await toLegacyLayout(keyPrefix, 'old');
    const client = server.redis.client();
    const keys = keysFor(keyPrefix);
    assert.equal(await client.hget(keys.counts, 'delayed:Record'), '1');

    const toniq = await newToniq({ keyPrefix, workers: [recorder], ...FAST_TAKEOVER });
    await eventually(
      () =>
        assert.deepEqual(
          labels.map((label) => runs.get(label)),
          [1, 1],
        ),
      {
        what: "the old process's jobs to run",
      },
    );
    await eventually(async () => {
      assert.deepEqual(await client.keys(`{${keyPrefix}}:*:old`), [], 'its old keys are gone');
      assert.equal(await client.hexists(keys.legacyRegistry, 'old'), 0);
      assert.equal(await client.hget(keys.counts, 'delayed:Record'), null, 'its delayed count went with it');
    });
    assert.ok(!(await toniq.processes()).some((process) => process.id === 'old'));
  });

  it('leaves an old process alone while its old heartbeat lives, and lists it', async () => {
    const keyPrefix = randomPrefix();
    const label = `${keyPrefix}-old-alive`;
    await leaveJobs(keyPrefix, 'old', [label]);
    await toLegacyLayout(keyPrefix, 'old');
    const client = server.redis.client();
    const keys = keysFor(keyPrefix);
    await client.set(keys.legacyProcess('old').heartbeat, String(Date.now()), 'PX', 60_000);
    // A dead process of the new layout: once it is taken over, the check has seen 'old' too.
    const other = `${keyPrefix}-other`;
    await leaveJobs(keyPrefix, 'dead', [other]);

    const toniq = await newToniq({ keyPrefix, workers: [recorder], ...FAST_TAKEOVER });
    await eventually(() => assert.equal(runs.get(other), 1), { what: 'the takeover of the dead process' });
    const old = (await toniq.processes()).find((process) => process.id === 'old');
    assert.ok(old, 'listed');
    assert.notEqual(old.heartbeatAge, null, 'alive');
    assert.equal(runs.get(label), undefined, 'its job stays with it');
    assert.equal(await client.hlen(keys.legacyProcess('old').jobs), 1);
  });
});
