/**
 * Fault injection: for every key toniq writes (src/storage/keys.ts, docs/internals.md), garbage of
 * each kind is put there, and every public path is tried on it: a process starting, enqueueing
 * and running jobs now and delayed, taking over a dead process, the failed list (read, retry,
 * delete), the admin API, the HTTP handler and the CLI.
 *
 * The rule each case checks:
 * - damage to one entry (a record, a registration, a report, a count) is contained: the
 *   record is quarantined in the failed list with its bytes, the bad entry is shown as bad, and
 *   every path still works (resolves, answers 200, exits 0), good jobs included;
 * - damage to a whole key (a value of the wrong Redis type) may stop what needs that key, but
 *   only with a clear error: a ToniqError whose message says what happened, an HTTP error
 *   that leaks no internals, a CLI message without a stack trace or raw Lua text;
 * - nothing crashes: no uncaught exception, no unhandled rejection, no listener error (the
 *   harness's traps fail the case), and no value leaks as NaN, Invalid Date or undefined.
 *
 * Each case is one world (its own key prefix): a dead process that left jobs, now and delayed,
 * and a failed job; then the damage; then a live process starts and the paths are tried. A case
 * reports every problem it found, not just the first, so its failure reads as a list.
 * The cases are generated from two tables: TARGETS (where) × the garbage that fits each.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { main as cli } from '../src/cli/main.js';
import { createToniq, defineWorker, noRetry, type Toniq, ToniqError } from '../src/index.js';
import { newJobId } from '../src/job/job-id.js';
import { decodeRecord, encodeRecord } from '../src/job/job-record.js';
import { ArgumentCodec } from '../src/job/serialization.js';
import { keysFor } from '../src/storage/keys.js';
import { eventually } from './harness/eventually.js';
import { FAST_TAKEOVER, randomPrefix, recordingLogger, useRedis } from './harness/fixtures.js';

const server = useRedis();

/** Short timings: a dead process is noticed in well under a second. */
const fast = {
  ...FAST_TAKEOVER,
  delayedJobsPollInterval: 50,
  orphanCheckInterval: 100,
};

/** Runs of the Good worker, by label (labels are unique per case: they start with the prefix). */
const runs = new Map<string, number>();
const good = defineWorker(
  'Good',
  (args: { label: string }) => {
    runs.set(args.label, (runs.get(args.label) ?? 0) + 1);
  },
  { retry: noRetry() },
);
const ran = (label: string) => (runs.get(label) ?? 0) > 0;

const codec = new ArgumentCodec();
const goodRecord = (id: string, label: string) =>
  encodeRecord({
    v: 2,
    id,
    worker: 'Good',
    args: codec.encode({ label }),
    attempt: 1,
    createdAt: Date.now(),
  });

// ---------------------------------------------------------------------------------------------
// The garbage.

/** A record whose bytes cannot be read, of each kind. */
const RECORD_GARBAGE: Record<string, () => Buffer> = {
  'a truncated record': () => goodRecord(newJobId(), 'x').subarray(0, 9),
  'an empty record': () => Buffer.alloc(0),
  'a huge unreadable record (2 MB)': () => Buffer.alloc(2 * 1024 * 1024, 'x'),
  'a record whose header is not JSON': () => {
    const header = Buffer.from('{"id":"broken","worker":');
    return Buffer.concat([Buffer.from([2, 0x4a]), u32(header.length), header, Buffer.from('{}')]);
  },
  'a record whose header length runs past its end': () =>
    Buffer.concat([Buffer.from([2, 0x4a]), u32(1_000_000), Buffer.from('{"id":"x"}')]),
  'a record of an unknown version': () => Buffer.from([0x09, 1, 2, 3, 4, 5, 6, 7]),
};

/** A JSON entry (a registration, a report, a takeover note) that is not what it should be. */
const JSON_GARBAGE: Record<string, string> = {
  'an empty entry': '',
  'truncated JSON': '{"id":"ghost","workers":["Go',
  'JSON null': 'null',
  'a number': '5',
  'workers: null': '{"id":"ghost","pid":1,"host":"h","workers":null,"version":"0.1.0"}',
  'workers: 5': '{"id":"ghost","pid":1,"host":"h","workers":5,"version":"0.1.0"}',
  'a worker whose count is null': '{"workers":{"Good":null}}',
  'dates that are not dates': '{"id":"ghost","startedAt":"soon","at":"never","workers":[]}',
  'a huge entry (1 MB)': JSON.stringify({ id: 'ghost', filler: 'x'.repeat(1024 * 1024) }),
};

/** A count that is not a count. */
const COUNT_GARBAGE: Record<string, string> = {
  'a count that is not a number': 'abc',
  'a negative count': '-5',
  'a count too large for a double': '1e999',
  'an empty count': '',
};

function u32(n: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(n);
  return bytes;
}

// ---------------------------------------------------------------------------------------------
// Where it goes.

type Redis = ReturnType<typeof server.redis.client>;

interface World {
  prefix: string;
  tag: string;
  client: Redis;
  /** The process that died and left jobs. */
  dead: string;
  /** The process started after the damage. */
  live: string;
  /** Labels of the good jobs the dead process left, all of which must run. */
  deadLabels: string[];
  /** The id of the failed job that was there before the damage. */
  failedId: string;
}

interface Damage {
  /** The ids of records put where jobs live: each must end up quarantined in the failed list. */
  quarantine?: Array<{ id: string; bytes: Buffer }>;
  /** The whole key holds the wrong type: a clear error is acceptable wherever it is needed. */
  keyLevel?: boolean;
  /** Unreadable records put straight into the failed list: shown, never lost unless deleted. */
  unreadableFailed?: Array<{ id: string; bytes: Buffer }>;
}

interface Target {
  /** The key, as docs/internals.md names it. */
  name: string;
  key: (world: World) => string;
  /** The Redis type toniq keeps there, to put another one instead. */
  type: 'hash' | 'zset' | 'string';
  /** The entry-level garbage that fits this key: case name → how to put it there. */
  entries: Record<string, (world: World, key: string) => Promise<Damage>>;
}

/** Unreadable records where jobs wait (quarantined when read) or in the failed list (kept). */
const recordEntries = (where: 'held' | 'failed', alsoIndex?: (world: World) => string): Target['entries'] =>
  Object.fromEntries(
    Object.entries(RECORD_GARBAGE).map(([name, make]) => [
      name,
      async (world: World, key: string): Promise<Damage> => {
        const id = newJobId(Date.now() - 10_000); // old enough for the orphan check
        const bytes = make();
        await world.client.hset(key, id, bytes);
        if (alsoIndex) await world.client.zadd(alsoIndex(world), Date.now() - 1000, id);
        return where === 'held' ? { quarantine: [{ id, bytes }] } : { unreadableFailed: [{ id, bytes }] };
      },
    ]),
  );

/**
 * A heartbeat for processes whose entries are garbage: alive, they stay listed (a dead one is
 * taken over and forgotten at once), so every reader of the registry and reports meets them.
 */
async function keepAlive(world: World, ...processIds: string[]): Promise<void> {
  for (const id of processIds) {
    await world.client.set(keysFor(world.prefix).process(id).heartbeat, '1', 'PX', 60_000);
    // Registered (unless the garbage is its registration), so that its report is read too.
    const info = {
      id,
      host: 'elsewhere',
      pid: 1,
      startedAt: Date.now(),
      version: '0.1.0',
      workers: ['Other'],
    };
    await world.client.hsetnx(keysFor(world.prefix).registry, id, JSON.stringify(info));
  }
}

const jsonEntries = (fieldNames: (world: World) => string[]): Target['entries'] =>
  Object.fromEntries([
    ...Object.entries(JSON_GARBAGE).map(([name, value]) => [
      name,
      async (world: World, key: string) => {
        for (const field of fieldNames(world)) await world.client.hset(key, field, value);
        await keepAlive(world, 'ghost');
        return {};
      },
    ]),
    [
      'an entry named __proto__',
      async (world: World, key: string) => {
        await world.client.hset(key, '__proto__', '{"id":"__proto__","workers":{"Good":{"running":7}}}');
        await world.client.hset(key, 'constructor', '{"id":"constructor","workers":["Good"]}');
        await keepAlive(world, '__proto__', 'constructor');
        return {};
      },
    ],
  ]);

const countEntries = (fieldNames: (world: World) => string[]): Target['entries'] =>
  Object.fromEntries([
    ...Object.entries(COUNT_GARBAGE).map(([name, value]) => [
      name,
      async (world: World, key: string) => {
        for (const field of fieldNames(world)) await world.client.hset(key, field, value);
        return {};
      },
    ]),
    [
      'a count for a worker named __proto__',
      async (world: World, key: string) => {
        await world.client.hset(key, 'failed:__proto__', '3', 'delayed:constructor', '2');
        return {};
      },
    ],
  ]);

const zsetEntries = (): Target['entries'] => ({
  'an id without a record': async (world, key) => {
    await world.client.zadd(key, Date.now() - 1000, newJobId());
    return {};
  },
  'an empty id': async (world, key) => {
    await world.client.zadd(key, Date.now() - 1000, '');
    return {};
  },
  'a huge id (100 kB)': async (world, key) => {
    await world.client.zadd(key, Date.now() - 1000, 'x'.repeat(100 * 1024));
    return {};
  },
});

const heartbeatEntries = (): Target['entries'] => ({
  'a heartbeat without a time to live': async (world, key) => {
    await world.client.set(key, 'garbage');
    return {};
  },
});

const minute = () => Math.floor(Date.now() / 60_000);

/** The keys of one process, for the dead process and for the starting process's own leftovers. */
function processTargets(whose: string, pid: (w: World) => string, jobsNote = ''): Target[] {
  const keys = (w: World) => keysFor(w.prefix).process(pid(w));
  return [
    {
      name: `${whose} jobs${jobsNote} ({p:pid}:jobs)`,
      key: (w) => keys(w).jobs,
      type: 'hash',
      entries: recordEntries('held'),
    },
    {
      name: `${whose} delayed jobs ({p:pid}:delayed-jobs)`,
      key: (w) => keys(w).delayedJobs,
      type: 'hash',
      entries: recordEntries('held', (w) => keys(w).delayed),
    },
    {
      name: `${whose} due times ({p:pid}:delayed)`,
      key: (w) => keys(w).delayed,
      type: 'zset',
      entries: zsetEntries(),
    },
    {
      name: `${whose} heartbeat ({p:pid}:heartbeat)`,
      key: (w) => keys(w).heartbeat,
      type: 'string',
      entries: heartbeatEntries(),
    },
    {
      name: `${whose} counts of delayed jobs ({p:pid}:delayed-counts)`,
      key: (w) => keys(w).delayedCounts,
      type: 'hash',
      entries: countEntries(() => ['delayed:Good']),
    },
    {
      name: `${whose} jobs on their way to the failed list ({p:pid}:failing)`,
      key: (w) => keys(w).failing,
      type: 'hash',
      entries: {},
    },
  ];
}

const TARGETS: Target[] = [
  ...processTargets("a dead process's", (w) => w.dead),
  ...processTargets("the starting process's own", (w) => w.live, ', left from before'),
  {
    name: 'the failed list ({p}:failed)',
    key: (w) => `${w.tag}:failed`,
    type: 'hash',
    entries: recordEntries('failed', (w) => `${w.tag}:failed-index`),
  },
  {
    name: 'the failed list order ({p}:failed-index)',
    key: (w) => `${w.tag}:failed-index`,
    type: 'zset',
    entries: zsetEntries(),
  },
  {
    name: 'the process registry ({p}:registry)',
    key: (w) => keysFor(w.prefix).registry,
    type: 'hash',
    entries: jsonEntries((w) => ['ghost', w.dead]),
  },
  {
    name: 'the registration epochs ({p}:registry-epochs)',
    key: (w) => keysFor(w.prefix).registryEpochs,
    type: 'hash',
    entries: countEntries((w) => ['ghost', w.dead]),
  },
  {
    name: 'the reports ({p}:reports)',
    key: (w) => `${w.tag}:reports`,
    type: 'hash',
    entries: jsonEntries((w) => ['ghost', w.dead]),
  },
  {
    name: 'the takeover notes ({p}:takeover-errors)',
    key: (w) => `${w.tag}:takeover-errors`,
    type: 'hash',
    entries: jsonEntries((w) => ['ghost', w.dead]),
  },
  {
    name: 'the per-worker counts ({p}:counts)',
    key: (w) => `${w.tag}:counts`,
    type: 'hash',
    entries: countEntries(() => ['failed:Good']),
  },
  {
    name: 'the throughput of this minute ({p}:throughput:<minute>)',
    key: (w) => `${w.tag}:throughput:${minute()}`,
    type: 'hash',
    entries: countEntries(() => ['f1', 'x2']),
  },
];

/** A value of another Redis type than toniq keeps at the key. */
async function wrongType(client: Redis, key: string, type: Target['type']): Promise<void> {
  await client.del(key);
  if (type === 'string') await client.hset(key, 'not', 'a string');
  else if (type === 'hash') await client.rpush(key, 'not', 'a', 'hash');
  else await client.set(key, 'not a sorted set');
}

// ---------------------------------------------------------------------------------------------
// The world before the damage.

async function makeWorld(): Promise<World> {
  const prefix = randomPrefix();
  const tag = `{${prefix}}`;
  const client = server.redis.client();
  const world: World = {
    prefix,
    tag,
    client,
    dead: `dead-${prefix}`,
    live: `live-${prefix}`,
    deadLabels: [`${prefix}-dead-now`, `${prefix}-dead-delayed`],
    failedId: '',
  };
  // A process that stopped with jobs it held and never came back: manual mode keeps them
  // unrun, registers it, and never beats.
  const dead = createToniq({
    redisUrl: server.redis.url,
    keyPrefix: prefix,
    processId: world.dead,
    mode: 'manual',
    workers: [good],
    logger: recordingLogger(),
  });
  await dead.start();
  await dead.enqueue(good, { label: world.deadLabels[0]! });
  await dead.enqueue(good, { label: world.deadLabels[1]! }, { delayFor: 100 });
  await dead.stop();
  // A job in the failed list, as a person would find it.
  world.failedId = newJobId(Date.now() - 60_000);
  const failed = encodeRecord({
    v: 2,
    id: world.failedId,
    worker: 'Good',
    args: codec.encode({ label: `${prefix}-failed` }),
    attempt: 1,
    createdAt: Date.now() - 60_000,
    failed: {
      error: { name: 'Error', message: 'it failed before the damage' },
      attempts: 1,
      failedAt: Date.now() - 30_000,
      processId: world.dead,
    },
  });
  await client.hset(`${tag}:failed`, world.failedId, failed);
  await client.zadd(`${tag}:failed-index`, Date.now() - 30_000, world.failedId);
  await client.hincrby(`${tag}:counts`, 'failed:Good', 1);
  return world;
}

// ---------------------------------------------------------------------------------------------
// The paths, and what each must do.

/** A failure the probe judged clear (an HTTP or CLI answer that says what happened). */
class ClearFailure extends Error {}

/** Why an error is not a clear one, or undefined when it is. */
function unclear(error: unknown): string | undefined {
  if (!(error instanceof ToniqError)) {
    if (error instanceof ClearFailure) return undefined;
    return `a raw ${error instanceof Error ? error.name : typeof error}: ${show(error)}`;
  }
  if (LEAKS.test(error.message)) return `an unclear ${error.name}: ${error.message.slice(0, 300)}`;
  return undefined;
}

/** Text that means an internal error or a broken value reached a person. */
const LEAKS =
  /user_script|Error running script|\bTypeError\b|\bSyntaxError\b|\bRangeError\b|Cannot read prop|is not a function|is not iterable|\bNaN\b|Invalid Date|\[object Object\]|\bundefined\b/;

function show(error: unknown): string {
  return (error instanceof Error ? `${error.name}: ${error.message}` : String(error)).slice(0, 300);
}

/** Whether a quarantined record in the failed list keeps the unreadable bytes it was made from. */
function keepsBytes(stored: Buffer, id: string, bytes: Buffer): boolean {
  try {
    const raw = decodeRecord(stored, id, 'the failed list').failed?.raw;
    return raw ? raw.equals(bytes) : bytes.length === 0;
  } catch {
    return false;
  }
}

/** Fails after `ms` instead of hanging the case. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Numbers in an admin answer must be finite and not negative; dates must be dates. */
function saneValues(value: unknown, path: string, problems: string[]): void {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) problems.push(`${path} is ${value}`);
  } else if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) problems.push(`${path} is an Invalid Date`);
  } else if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) saneValues(item, `${path}[${i}]`, problems);
  } else if (value && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) saneValues(item, `${path}.${key}`, problems);
  }
}

class Probe {
  readonly problems: string[] = [];
  constructor(readonly damage: Damage) {}

  /** Runs one path: it must work, or (for key-level damage) fail with a clear error. */
  async path<T>(what: string, run: () => Promise<T>, ms = 5000): Promise<T | undefined> {
    try {
      return await within(run(), ms, what);
    } catch (error) {
      const why = unclear(error);
      if (why) this.problems.push(`${what}: ${why}`);
      else if (!this.damage.keyLevel) this.problems.push(`${what} failed: ${show(error)}`);
      return undefined;
    }
  }

  check(what: string, ok: boolean): void {
    if (!ok) this.problems.push(what);
  }
}

async function tryEverything(world: World, damage: Damage, probe: Probe): Promise<void> {
  const logger = recordingLogger();
  const toniq: Toniq = createToniq({
    redisUrl: server.redis.url,
    keyPrefix: world.prefix,
    processId: world.live,
    workers: [good],
    logger,
    ...fast,
  });
  // Without a start (refused, clearly, for key-level damage) only the CLI is left to try.
  const running = (await probe.path('start()', () => toniq.start().then(() => true))) === true;
  try {
    if (running) {
      await probe.path('processes()', () => toniq.processes());
      await tryProcess(world, damage, probe, toniq);
    }
    await tryAdminPaths(world, damage, probe, toniq, running);
  } finally {
    await within(toniq.stop({ timeout: 100 }), 5000, 'stop()').catch((error) =>
      probe.problems.push(`stop(): ${show(error)}`),
    );
  }
  // Lines that show an internal error reached the log (a warning or error names what happened).
  for (const line of logger.lines) {
    if (
      (line.level === 'error' || line.level === 'warn') &&
      /\bTypeError\b|Cannot read prop/.test(line.msg)
    ) {
      probe.problems.push(`logged a raw error: ${line.msg.slice(0, 200)}`);
    }
  }
}

async function tryProcess(world: World, damage: Damage, probe: Probe, toniq: Toniq): Promise<void> {
  // Runtime: a job now and a delayed one run.
  const now = `${world.prefix}-fresh-now`;
  const later = `${world.prefix}-fresh-delayed`;
  const enqueuedNow = await probe.path('enqueue()', () => toniq.enqueue(good, { label: now }));
  const enqueuedLater = await probe.path('enqueue() with delayFor', () =>
    toniq.enqueue(good, { label: later }, { delayFor: 50 }),
  );
  const expected = [
    ...(enqueuedNow ? [now] : []),
    ...(enqueuedLater ? [later] : []),
    // Takeover: the dead process's good jobs run here (unless its own keys are wholly damaged:
    // then its takeover error must be shown, checked below).
    ...world.deadLabels,
  ];
  await probe.path(
    `the good jobs run (${expected.map((label) => label.slice(world.prefix.length + 1)).join(', ')})`,
    () =>
      eventually(
        async () => {
          const missing = expected.filter((label) => !ran(label));
          if (missing.length && damage.keyLevel) {
            // A whole key of the dead process damaged: its takeover may fail, visibly.
            const dead = (await toniq.processes()).find((p) => p.id === world.dead);
            if (dead?.takeoverError && missing.every((label) => world.deadLabels.includes(label))) return;
          }
          assert.deepEqual(missing, []);
        },
        { timeout: 4000, what: 'the good jobs to run' },
      ),
    6000,
  );
  for (const label of expected) probe.check(`job ${label} ran more than once`, (runs.get(label) ?? 0) <= 1);
  if (!enqueuedNow && !damage.keyLevel) probe.check('enqueue() failed', false);

  // Quarantine: each unreadable record is in the failed list, with its bytes.
  for (const { id, bytes } of damage.quarantine ?? []) {
    await probe.path(`record ${id} quarantined in the failed list with its bytes`, () =>
      eventually(
        async () => {
          const stored = await world.client.hgetBuffer(`${world.tag}:failed`, id);
          assert.ok(stored, 'in the failed list');
          assert.ok(await world.client.zscore(`${world.tag}:failed-index`, id), 'in the failed order');
          assert.ok(keepsBytes(stored, id, bytes), 'its bytes kept');
          for (const place of ['jobs', 'delayedJobs'] as const)
            for (const pid of [world.dead, world.live])
              assert.equal(
                await world.client.hexists(keysFor(world.prefix).process(pid)[place], id),
                0,
                `left in ${place}`,
              );
        },
        { timeout: 3000, what: 'the quarantine' },
      ),
    );
  }

  // The failed list: read, every entry with an error and dates.
  const failed = await probe.path('failedJobs()', () => toniq.failedJobs());
  for (const job of failed ?? []) {
    probe.check(`failed job ${job.id} has no error message`, typeof job.error?.message === 'string');
    probe.check(`failed job ${job.id} failedAt is ${job.failedAt}`, !Number.isNaN(job.failedAt?.getTime()));
    probe.check(
      `failed job ${job.id} createdAt is ${job.createdAt}`,
      !Number.isNaN(job.createdAt?.getTime()),
    );
  }
  // Retry of the good failed job runs it; retry of a damaged one refuses clearly or keeps it.
  await probe.path('retry() of the good failed job', () => toniq.retry(world.failedId));
  for (const { id } of [...(damage.quarantine ?? []), ...(damage.unreadableFailed ?? [])]) {
    await probe.path(`retry() of unreadable ${id}`, async () => {
      try {
        await toniq.retry(id);
      } catch (error) {
        if (unclear(error)) throw error;
      }
      // Refused or not, its bytes must not be lost: it cannot run, so it stays in the failed
      // list as it was (a rewrite as a job of worker "(unreadable record)" loses them).
      await eventually(
        async () => {
          const kept = await world.client.hgetBuffer(`${world.tag}:failed`, id);
          assert.ok(kept, 'still in the failed list');
          const unreadable = damage.unreadableFailed?.find((entry) => entry.id === id);
          if (unreadable) assert.ok(kept.equals(unreadable.bytes), 'its bytes unchanged');
          else
            assert.ok(
              keepsBytes(kept, id, damage.quarantine!.find((entry) => entry.id === id)!.bytes),
              'its bytes kept',
            );
        },
        { timeout: 1000, what: 'the unreadable record to keep its bytes after retry()' },
      );
    });
  }
  // enqueueAnywhere picks this live process (the only one with Good), whatever the registry holds.
  await probe.path('enqueueAnywhere()', () =>
    toniq.enqueueAnywhere(good, { label: `${world.prefix}-anywhere` }),
  );
}

async function tryAdminPaths(
  world: World,
  damage: Damage,
  probe: Probe,
  toniq: Toniq,
  running: boolean,
): Promise<void> {
  if (running) await tryAdminApi(world, damage, probe, toniq);
  await tryHttpAndCli(world, damage, probe, toniq, running);
}

async function tryAdminApi(world: World, damage: Damage, probe: Probe, toniq: Toniq): Promise<void> {
  const { admin } = toniq;
  const stats = await probe.path('admin.stats()', () => admin.stats());
  if (stats) saneValues(stats, 'stats', probe.problems);
  const processes = await probe.path('admin.processes()', () => admin.processes());
  if (processes) saneValues(processes, 'processes', probe.problems);
  const throughput = await probe.path('admin.throughput()', () => admin.throughput(120));
  if (throughput) saneValues(throughput, 'throughput', probe.problems);
  const pages: Partial<Record<string, string[]>> = {};
  for (const state of ['running', 'waiting', 'delayed', 'failed'] as const) {
    const page = await probe.path(`admin.jobs({ state: '${state}' })`, () => admin.jobs({ state }));
    if (page) saneValues(page, `jobs(${state})`, probe.problems);
    pages[state] = page?.jobs.map((job) => job.id) ?? [];
  }
  const unreadable = [...(damage.quarantine ?? []), ...(damage.unreadableFailed ?? [])];
  for (const { id } of unreadable) {
    const detail = await probe.path(`admin.job(${id})`, () => admin.job(id));
    if (detail) saneValues(detail, `job(${id})`, probe.problems);
  }
  // The actions answer for each id (done, missing or refused) instead of throwing; an
  // unreadable record refused by retry keeps its bytes (checked again after the CLI's delete).
  await probe.path('admin.runDelayedJobsNow(the delayed page)', () =>
    admin.runDelayedJobsNow((pages.delayed ?? []).slice(0, 50)),
  );
  await probe.path('admin.retryFailedJobs(unreadable ids)', () =>
    admin.retryFailedJobs({ ids: unreadable.map(({ id }) => id) }),
  );
  for (const { id } of damage.unreadableFailed ?? []) {
    const kept = await world.client.hgetBuffer(`${world.tag}:failed`, id);
    const bytes = damage.unreadableFailed?.find((entry) => entry.id === id)?.bytes;
    probe.check(
      `admin.retryFailedJobs lost the bytes of unreadable ${id}`,
      Boolean(kept && bytes && kept.equals(bytes)),
    );
  }
  if (Object.keys(Object.prototype).length || ({} as Record<string, unknown>).Good !== undefined) {
    probe.problems.push(`Object.prototype was polluted: ${Object.keys(Object.prototype).join(', ')}`);
    for (const key of Object.keys(Object.prototype))
      delete (Object.prototype as Record<string, unknown>)[key];
  }
}

async function tryHttpAndCli(
  world: World,
  damage: Damage,
  probe: Probe,
  toniq: Toniq,
  running: boolean,
): Promise<void> {
  // The HTTP handler: every read answers 200 (or, for key-level damage, an error that leaks nothing).
  if (running) {
    const http: Server = createServer(toniq.adminHandler({ insecureNoAuth: true }));
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    try {
      const paths = [
        '/api/stats',
        '/api/processes',
        '/api/throughput?seconds=120',
        ...['running', 'waiting', 'delayed', 'failed'].map((state) => `/api/jobs?state=${state}`),
        ...[...(damage.quarantine ?? []), ...(damage.unreadableFailed ?? [])].map(
          ({ id }) => `/api/jobs/${encodeURIComponent(id)}`,
        ),
      ];
      for (const path of paths) {
        await probe.path(`GET ${path}`, async () => {
          const response = await fetch(base + path);
          const body = await response.text();
          if (response.status === 200) {
            if (/\bNaN\b|Invalid Date/.test(body))
              throw new Error(`answered 200 with NaN or Invalid Date: ${body.slice(0, 200)}`);
            return;
          }
          const problem = `answered ${response.status}: ${body.slice(0, 300)}`;
          if (damage.keyLevel && !LEAKS.test(body)) throw new ClearFailure(problem);
          throw new Error(problem);
        });
      }
    } finally {
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    }
  }

  // The CLI, in this process (so an uncaught exception in it fails the case through the traps).
  const at = ['--redis-url', server.redis.url, '--prefix', world.prefix];
  for (const command of [['stats'], ['processes'], ['failed'], ['delete', '--all']]) {
    const out: string[] = [];
    const err: string[] = [];
    await probe.path(`toniq ${command.join(' ')}`, async () => {
      const code = await cli([...command, ...at], {
        env: {},
        io: { out: (text) => out.push(text), err: (text) => err.push(text) },
      });
      const text = `${out.join('\n')}\n${err.join('\n')}`;
      const broken = /\bNaN\b|Invalid Date|\bundefined\b|\n\s+at /.exec(text);
      if (broken) {
        const line = text.slice(text.lastIndexOf('\n', broken.index) + 1).split('\n', 1)[0] ?? '';
        throw new Error(`printed "${broken[0].trim()}" (exit ${code}) in the line: ${line.slice(0, 300)}`);
      }
      if (code === 0) return;
      const problem = `exit ${code}: ${err.join(' ').slice(0, 300)}`;
      if (damage.keyLevel && !LEAKS.test(text)) throw new ClearFailure(problem);
      throw new Error(problem);
    });
  }
  // After `toniq delete --all`, the failed list is empty: nothing invisible is left behind.
  if (!damage.keyLevel) {
    const left = await world.client.zcard(`${world.tag}:failed-index`).catch(() => -1);
    const records = await world.client.hlen(`${world.tag}:failed`).catch(() => -1);
    probe.check(
      `after toniq delete --all, ${left} ids and ${records} records are left in the failed list`,
      left === 0 && records === 0,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// The cases.

async function runCase(damageIt: (world: World) => Promise<Damage>): Promise<void> {
  const world = await makeWorld();
  const damage = await damageIt(world);
  const probe = new Probe(damage);
  await tryEverything(world, damage, probe);
  assert.deepEqual(
    probe.problems,
    [],
    `${probe.problems.length} problem(s):\n  - ${probe.problems.join('\n  - ')}`,
  );
}

describe('fault injection', { concurrency: 4 }, () => {
  it('runs a clean world without a problem (the baseline every case is compared with)', async () => {
    await runCase(async () => ({}));
  });
  for (const target of TARGETS) {
    describe(target.name, { concurrency: 2 }, () => {
      it(`survives a value of the wrong type there`, async () => {
        await runCase(async (world) => {
          await wrongType(world.client, target.key(world), target.type);
          return { keyLevel: true };
        });
      });
      for (const [garbage, put] of Object.entries(target.entries)) {
        it(`survives ${garbage} there`, async () => {
          await runCase((world) => put(world, target.key(world)));
        });
      }
    });
  }
});
