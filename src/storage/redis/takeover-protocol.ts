/**
 * Taking a dead process over when its jobs and the taker's live in different slots (each process
 * has its own hash tag). No script can move them in one step, so the taker:
 * 1. claims the dead process's keyspace (claim-process.lua, in its slot): only if its heartbeat
 *    has lapsed, and one taker at a time, with a lease renewed at every batch;
 * 2. copies the jobs batch by batch (read-process-jobs.lua), writing them into its own keyspace
 *    (held jobs to run now, delayed jobs with their due times) and the failing ones to the failed
 *    list, and only then drops what it copied (drop-process-jobs.lua);
 * 3. when nothing is left, releases the claim and retires the keyspace (finish-takeover.lua), and
 *    forgets the process in the registry if no one registered it again meanwhile (forget-process.lua).
 * A crash or a lost Redis master between two steps leaves a job in both places (it may run
 * twice) and never in none; a taker that dies lets its lease lapse, and the next taker goes on
 * where it stopped. docs/internals.md, "Keys and slots", walks each crash point.
 */
import type { StoredJob, TakeoverOutcome } from '../job-store.js';
import type { Keys, ProcessKeys } from '../keys.js';
import { failingEntry, type SendWrite, writeDelayedJobs, writeJobs } from './keyspace-writes.js';
import { forgetProcess, TAKEOVER_NOTE_FOR } from './process-registry.js';
import { statusOf } from './script-results.js';
import type { ScriptedRedis } from './scripts.js';

/** The keys of a keyspace that hold jobs, in the order the takeover scripts take them. */
function placesOf(keys: ProcessKeys): [string, string, string, string] {
  return [keys.jobs, keys.delayed, keys.delayedJobs, keys.failing];
}

/** About how many jobs of each kind one batch copies. */
const TAKEOVER_BATCH = 1000;

export interface KeyspaceTakeover {
  /** The dead process's keyspace (its own, or the layout of toniq before 0.2). */
  dead: ProcessKeys;
  deadId: string;
  takerId: string;
  /** The registry that lists the dead process, and its epoch read before the claim ("*": any). */
  registry: string;
  epoch: string;
  /** How long the claim holds without a batch renewing it, in ms. */
  lease: number;
  /** Sends the copies: under `durability`, each waits for the replicas before the originals are dropped. */
  send: SendWrite;
}

export type KeyspaceTakeoverOutcome =
  | { status: 'taken-over'; jobs: StoredJob[]; delayed: number }
  | { status: 'alive' | 'claimed-by-another' | 'not-registered' };

/**
 * Takes over a dead process: its keyspace, and that of the layout of toniq before 0.2 when the
 * old registry lists it. Checks first that the dead process is registered and the taker alive.
 */
export async function takeOverProcess(
  redis: ScriptedRedis,
  keys: Keys,
  options: { deadId: string; takerId: string; lease: number; send: SendWrite },
): Promise<TakeoverOutcome> {
  const { deadId, takerId } = options;
  if (deadId === takerId) return { status: 'same-process' };
  const [registered, epoch, legacy, takerTtl] = await Promise.all([
    redis.hexists(keys.registry, deadId),
    redis.hget(keys.registryEpochs, deadId),
    redis.hexists(keys.legacyRegistry, deadId),
    redis.pttl(keys.process(takerId).heartbeat),
  ]);
  if (!registered && !legacy) return { status: 'not-registered' };
  if (takerTtl <= 0) return { status: 'taker-not-alive' };
  const layouts: Array<{ dead: ProcessKeys; registry: string; epoch: string }> = [];
  if (registered) layouts.push({ dead: keys.process(deadId), registry: keys.registry, epoch: epoch ?? '' });
  // Jobs left by a process of toniq before 0.2 (one hash tag for every key).
  if (legacy) layouts.push({ dead: keys.legacyProcess(deadId), registry: keys.legacyRegistry, epoch: '*' });
  const jobs: StoredJob[] = [];
  let delayed = 0;
  for (const layout of layouts) {
    const outcome = await takeOverKeyspace(redis, keys, { ...options, ...layout });
    if (outcome.status !== 'taken-over') return outcome;
    jobs.push(...outcome.jobs);
    delayed += outcome.delayed;
  }
  return { status: 'taken-over', jobs, delayed };
}

export async function takeOverKeyspace(
  redis: ScriptedRedis,
  keys: Keys,
  takeover: KeyspaceTakeover,
): Promise<KeyspaceTakeoverOutcome> {
  const { dead, deadId, takerId, lease, send } = takeover;
  const claim = statusOf(
    'claimProcess',
    await redis.claimProcess(
      dead.heartbeat,
      dead.takeoverClaim,
      dead.takenOverBy,
      dead.open,
      ...placesOf(dead),
      takerId,
      lease,
      TAKEOVER_NOTE_FOR,
    ),
  );
  if (claim === 'not-registered') {
    // Another taker emptied it and died before forgetting it, or is forgetting it now: the
    // epoch read before keeps a process registered again meanwhile.
    await forgetProcess(redis, keys, takeover.registry, deadId, takeover.epoch);
    return { status: claim };
  }
  if (claim !== 'claimed') return { status: claim };
  const jobs: StoredJob[] = [];
  let delayed = 0;
  for (;;) {
    const batch = await readBatch(redis, dead, takerId, lease);
    // Lost the lease (this process stalled for longer than it): the other taker goes on; what
    // was copied here runs here too.
    if (!batch) return { status: 'taken-over', jobs, delayed };
    if (!batch.jobs.length && !batch.delayed.length && !batch.failing.length) {
      const finish = await redis.finishTakeover(dead.takeoverClaim, ...placesOf(dead), dead.open, takerId);
      const finished = statusOf('finishTakeover', finish);
      if (finished === 'jobs-left') continue;
      // Forgotten, the process learns it was taken over from the registry, should it come back:
      // the note is needed only when it stays registered.
      if (
        finished === 'finished' &&
        (await forgetProcess(redis, keys, takeover.registry, deadId, takeover.epoch))
      ) {
        await redis.del(dead.takenOverBy);
      }
      return { status: 'taken-over', jobs, delayed };
    }
    // Copies first: they are idempotent (the same id overwrites itself), so a crash here only
    // means the next taker copies again.
    await writeJobs(redis, keys, takerId, batch.jobs, send);
    const dueJobs = batch.delayed.filter((job) => job.record !== null) as Array<{
      id: string;
      score: string;
      record: Buffer;
    }>;
    await writeDelayedJobs(redis, keys, takerId, dueJobs, send);
    if (batch.failing.length) {
      const args: Array<string | Buffer> = [];
      for (const { id, value } of batch.failing) {
        const { failedAt, record } = failingEntry(value);
        args.push(id, record, failedAt);
      }
      // Undone if the replicas do not confirm: the jobs stay in `failing` for the next try.
      const ids = batch.failing.map((entry) => entry.id);
      const undo = {
        command: 'deleteFailedJobs',
        args: [keys.failed, keys.failedIndex, keys.counts, keys.failedRetrying, ...ids],
      };
      await send('addFailedJobs', [keys.failed, keys.failedIndex, keys.counts, ...args], undo);
    }
    const dropped = await redis.dropProcessJobs(
      dead.takeoverClaim,
      dead.jobs,
      dead.delayed,
      dead.delayedJobs,
      dead.delayedCounts,
      dead.failing,
      takerId,
      batch.jobs.length,
      ...batch.jobs.map((job) => job.id),
      batch.delayed.length,
      ...batch.delayed.map((job) => job.id),
      ...batch.failing.map((entry) => entry.id),
    );
    jobs.push(...batch.jobs);
    delayed += dueJobs.length;
    if (statusOf('dropProcessJobs', dropped) === 'claim-lost') return { status: 'taken-over', jobs, delayed };
  }
}

interface Batch {
  jobs: StoredJob[];
  delayed: Array<{ id: string; score: string; record: Buffer | null }>;
  failing: Array<{ id: string; value: Buffer }>;
}

/** One batch of the dead process's jobs (read-process-jobs.lua), or null when the claim is lost. */
async function readBatch(
  redis: ScriptedRedis,
  dead: ProcessKeys,
  takerId: string,
  lease: number,
): Promise<Batch | null> {
  const reply = (await redis.readProcessJobsBuffer(
    dead.takeoverClaim,
    ...placesOf(dead),
    takerId,
    lease,
    TAKEOVER_BATCH,
  )) as [number, Buffer[]?, Array<Buffer | null>?, Buffer[]?];
  const [status, jobs = [], delayed = [], failing = []] = reply;
  if (status !== 1) return null;
  const batch: Batch = { jobs: [], delayed: [], failing: [] };
  for (let i = 0; i < jobs.length; i += 2) batch.jobs.push({ id: jobs[i]!.toString(), record: jobs[i + 1]! });
  for (let i = 0; i < delayed.length; i += 3) {
    batch.delayed.push({
      id: String(delayed[i]),
      score: String(delayed[i + 1]),
      record: delayed[i + 2] ?? null,
    });
  }
  for (let i = 0; i < failing.length; i += 2)
    batch.failing.push({ id: failing[i]!.toString(), value: failing[i + 1]! });
  return batch;
}
