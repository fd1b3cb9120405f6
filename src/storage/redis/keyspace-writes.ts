/**
 * The changes that cross from one slot to another (docs/internals.md, "Keys and slots"). On a
 * Redis Cluster every script touches one slot, so each of these is a short sequence of one-slot
 * scripts, ordered so that a crash between two steps leaves a job in two places (it may run
 * twice) and never in none:
 * - writes into a process's keyspace, registering the process first when its keyspace is closed;
 * - failing a job: its process's "failing" hash first, then the failed list, then out of "failing";
 * - retrying failed jobs: claim them in the failed list, write them into a live process, remove them;
 * - handing jobs over to another process: write them there first, then remove them here.
 */
import type { DelayedStoredJob, HandOverResult, StoredJob } from '../job-store.js';
import type { Keys } from '../keys.js';
import type { UndoCommand } from './durable-writes.js';
import { openKeyspace } from './process-registry.js';
import { jobsFound, read, scoreOf } from './replies.js';
import { statusOf } from './script-results.js';
import type { ScriptedRedis, ScriptName } from './scripts.js';

/** A delayed job as written: its due time as a sorted-set score ("inf" when held until flushed). */
export interface ScoredJob {
  readonly id: string;
  readonly record: Buffer;
  readonly score: string;
}

/**
 * Sends a script that writes jobs: the store's sends it with a WAIT for the replicas under
 * `durability` (store-connections.ts, writeNew), and `undo` after it on the same connection when
 * the replicas do not confirm it; by default, on `redis` as it is.
 */
export type SendWrite = (
  script: ScriptName,
  args: Array<string | Buffer>,
  undo: UndoCommand,
) => Promise<unknown>;

const plainly =
  (redis: ScriptedRedis): SendWrite =>
  (script, args) =>
    redis[script](...args);

export function scored(jobs: readonly DelayedStoredJob[]): ScoredJob[] {
  return jobs.map((job) => ({ id: job.id, record: job.record, score: scoreOf(job.dueAt) }));
}

/**
 * Runs a write into `processId`'s keyspace; when the keyspace is closed (-1), registers the
 * process, opens the keyspace and writes again. Returns the script's reply.
 */
async function intoKeyspace(
  redis: ScriptedRedis,
  keys: Keys,
  script: 'addJobs' | 'addDelayedJobs',
  processId: string,
  write: () => Promise<unknown>,
): Promise<number> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const reply = await write();
    if (typeof reply === 'number' && reply >= 0) return reply;
    if (statusOf(script, reply) !== 'closed') return reply as number;
    await openKeyspace(redis, keys, processId);
  }
  // Closed again after each opening: something closes this keyspace as fast as it is opened.
  throw new Error(
    `Could not write jobs for process ${processId}: its Redis keyspace was closed again each of 3 times it was opened ` +
      '(a takeover or a stop of that process finishing each time). Nothing was written; try again, and if it goes on, ' +
      'look for two toniq versions or processes with the same processId under this key prefix.',
  );
}

/** Writes jobs to run now into a process's jobs (add-jobs.lua). */
export async function writeJobs(
  redis: ScriptedRedis,
  keys: Keys,
  processId: string,
  jobs: readonly StoredJob[],
  send: SendWrite = plainly(redis),
): Promise<void> {
  if (!jobs.length) return;
  const into = keys.process(processId);
  const args: Array<string | Buffer> = [into.jobs, into.open];
  for (const job of jobs) args.push(job.id, job.record);
  const undo = { command: 'hdel', args: [into.jobs, ...jobs.map((job) => job.id)] };
  await intoKeyspace(redis, keys, 'addJobs', processId, () => send('addJobs', args, undo));
}

/**
 * Writes delayed jobs into a process's delayed jobs (add-delayed-jobs.lua). With `aliveOnly`,
 * nothing is written unless the process's heartbeat has time to live left: then 'not-alive'.
 */
export async function writeDelayedJobs(
  redis: ScriptedRedis,
  keys: Keys,
  processId: string,
  jobs: readonly ScoredJob[],
  send: SendWrite = plainly(redis),
  aliveOnly = false,
): Promise<'written' | 'not-alive'> {
  if (!jobs.length) return 'written';
  const into = keys.process(processId);
  const args: Array<string | Buffer> = [
    into.delayed,
    into.delayedJobs,
    into.delayedCounts,
    into.open,
    into.heartbeat,
  ];
  args.push(aliveOnly ? '1' : '0');
  for (const job of jobs) args.push(job.id, job.record, job.score);
  const undo = {
    command: 'removeDelayedJobs',
    args: [into.delayed, into.delayedJobs, into.delayedCounts, ...jobs.map((job) => job.id)],
  };
  const reply = await intoKeyspace(redis, keys, 'addDelayedJobs', processId, () =>
    send('addDelayedJobs', args, undo),
  );
  return reply >= 0 ? 'written' : 'not-alive';
}

/**
 * Moves a job that used up its retries to the failed list: true when moved, false when the
 * process no longer holds it (taken over). Repeating it after a failure is safe.
 */
export async function failJob(
  redis: ScriptedRedis,
  keys: Keys,
  processId: string,
  job: StoredJob,
  failedAt: number,
): Promise<boolean> {
  const own = keys.process(processId);
  const reply = await redis.startFailing(own.jobs, own.failing, job.id, job.record, failedAt);
  if (statusOf('startFailing', reply) === 'not-held') return false;
  await redis.addFailedJobs(keys.failed, keys.failedIndex, keys.counts, job.id, job.record, failedAt);
  await redis.hdel(own.failing, job.id);
  return true;
}

/**
 * A failing entry (start-failing.lua: "<failure ms>\n<record>") as its failure time and record.
 * An entry not of that shape (damage) goes to the failed list whole, failed now: the failed list
 * quarantines a record it cannot read, and nothing stops the takeover.
 */
export function failingEntry(value: Buffer, now = Date.now()): { failedAt: string; record: Buffer } {
  const newline = value.indexOf(10);
  const failedAt = newline > 0 ? value.subarray(0, newline).toString() : '';
  if (!/^\d{1,16}$/.test(failedAt)) return { failedAt: String(now), record: value };
  return { failedAt, record: value.subarray(newline + 1) };
}

/** How long a retry's claim on a failed job holds (claim-failed-jobs.lua): far above the two writes it covers. */
const RETRY_CLAIM_FOR = 60_000;

/**
 * Retries failed jobs in a live process, due at once, with the fresh records given: claims them
 * (one retry wins when two race), writes them into the process, removes them from the failed
 * list. Returns the ids retried (the others were no longer in the failed list, or being retried).
 */
export async function retryFailedJobs(
  redis: ScriptedRedis,
  keys: Keys,
  processId: string,
  jobs: readonly StoredJob[],
  send: SendWrite = plainly(redis),
): Promise<string[]> {
  const ids = jobs.map((job) => job.id);
  const claimed = new Set(
    (await redis.claimFailedJobs(
      keys.failed,
      keys.failedRetrying,
      Date.now(),
      RETRY_CLAIM_FOR,
      ...ids,
    )) as string[],
  );
  if (!claimed.size) return [];
  const fresh = jobs.filter((job) => claimed.has(job.id)).map((job) => ({ ...job, score: '0' }));
  try {
    await writeDelayedJobs(redis, keys, processId, fresh, send);
  } catch (error) {
    // The write may have landed (a timeout, or replicas that did not confirm it): take it back,
    // then let the jobs be retried again at once rather than after the claim lapses. They stay
    // in the failed list all along.
    const into = keys.process(processId);
    redis
      .removeDelayedJobs(into.delayed, into.delayedJobs, into.delayedCounts, ...claimed)
      .then(() => redis.hdel(keys.failedRetrying, ...claimed))
      .catch(() => {});
    throw error;
  }
  await redis.deleteFailedJobs(keys.failed, keys.failedIndex, keys.counts, keys.failedRetrying, ...claimed);
  return [...claimed];
}

/**
 * Hands jobs `from` holds over to the delayed jobs of `to`, due at once, if `to` is alive: written
 * there first, then removed here. `gone`: the ids `from` no longer held.
 */
export async function handOverJobs(
  redis: ScriptedRedis,
  keys: Keys,
  from: string,
  to: string,
  ids: readonly string[],
  send: SendWrite = plainly(redis),
): Promise<HandOverResult> {
  const holder = keys.process(from).jobs;
  const found = ids.length ? jobsFound(ids, await read(redis.hmgetBuffer(holder, ...ids))) : [];
  const moved = new Set(found.map((job) => job.id));
  const gone = ids.filter((id) => !moved.has(id));
  const written = await writeDelayedJobs(
    redis,
    keys,
    to,
    found.map((job) => ({ ...job, score: '0' })),
    send,
    true,
  );
  if (written === 'not-alive') return { targetAlive: false, moved: [], gone: [] };
  if (moved.size) await redis.hdel(holder, ...moved);
  return { targetAlive: true, moved: [...moved], gone };
}
