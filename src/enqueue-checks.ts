/**
 * Pure: what enqueue checks before anything is written, and the new job it prepares. Every
 * check throws InvalidArgumentsError naming the argument and saying that nothing was enqueued.
 * Kept apart from the facade so that each enqueue variant (enqueue, enqueueWithDelay,
 * enqueueOn, enqueueAnywhere) goes through the same checks in the same order.
 */
import { InvalidArgumentsError } from './errors.js';
import type { Job } from './job/job.js';
import { newJobId } from './job/job-id.js';
import { encodeRecord, type JobRecord, jobOf } from './job/job-record.js';
import type { ArgumentCodec, EncodedArgs } from './job/serialization.js';
import { unknownKeys, unknownOptionsProblem } from './known-options.js';
import { durationProblem, MAX_DATE_MS } from './timers.js';
import { PERSIST_MODES, type PersistMode, versionOf, type Worker } from './worker.js';

const KNOWN_ENQUEUE_OPTIONS = ['delayFor', 'persist'];

/** The options of one enqueue call, checked. */
export interface CheckedEnqueueOptions {
  /** 0 to run now; Infinity keeps the job until flushDelayedJobs(). */
  delayFor: number;
  persist: PersistMode;
}

/**
 * Checks enqueue's options, with the worker's `persist` as the default; throws
 * InvalidArgumentsError. `worker` is undefined for a job enqueued onto another process: that one
 * always goes through Redis, whatever `persist` says.
 */
export function checkEnqueueOptions(
  options: unknown,
  worker: Worker<any> | undefined,
  now: number,
): CheckedEnqueueOptions {
  // The common case, without options: no object or key list made per job.
  if (options === undefined) {
    return { delayFor: 0, persist: worker ? checkPersist(worker.options.persist, 0) : 'before-run' };
  }
  if (typeof options !== 'object' || options === null) {
    throw new InvalidArgumentsError(
      'options',
      `enqueue's options must be an object like { delayFor: 1000 }, got ${String(options)}.`,
    );
  }
  const given = options as { delayFor?: unknown; persist?: unknown };
  const unknown = unknownKeys(given, KNOWN_ENQUEUE_OPTIONS)[0];
  if (unknown !== undefined) {
    throw new InvalidArgumentsError(
      `options.${unknown}`,
      `${unknownOptionsProblem('enqueue', given, KNOWN_ENQUEUE_OPTIONS)} Nothing was enqueued.`,
    );
  }
  const delayFor = checkDelay(given.delayFor, now);
  if (!worker) return { delayFor, persist: 'before-run' };
  return { delayFor, persist: checkPersist(given.persist ?? worker.options.persist, delayFor) };
}

/**
 * A delay must give a due time a Date can hold (up to 8.64e15 ms, the year 275760): beyond it,
 * `job.dueAt` would be an Invalid Date. Infinity is the documented "hold until flushed".
 */
function checkDelay(delayFor: unknown, now: number): number {
  if (delayFor === undefined) return 0;
  const problem = durationProblem(delayFor, { allowZero: true, allowInfinity: true, max: MAX_DATE_MS - now });
  if (problem) {
    throw new InvalidArgumentsError(
      'options.delayFor',
      `options.delayFor ${problem} (Infinity keeps the job until flushDelayedJobs(); a finite delay must end before the largest date, 8.64e15 ms since 1970). Nothing was enqueued.`,
    );
  }
  return delayFor as number;
}

function checkPersist(persist: unknown, delayFor: number): PersistMode {
  if (persist === undefined) return 'before-run';
  if (!PERSIST_MODES.includes(persist as PersistMode)) {
    throw new InvalidArgumentsError(
      'options.persist',
      `options.persist must be ${PERSIST_MODES.map((m) => `'${m}'`).join(', ')}; got ${JSON.stringify(persist)}. Nothing was enqueued.`,
    );
  }
  if (persist !== 'before-run' && delayFor > 0) {
    throw new InvalidArgumentsError(
      'options.persist',
      `A delayed job waits in Redis, so it needs persist: 'before-run' (got '${String(persist)}'). Nothing was enqueued.`,
    );
  }
  return persist as PersistMode;
}

/** Runs the worker's schema, if it has one: resolves with the value it makes of the arguments. */
export async function validateArgs(worker: Worker<any>, args: unknown): Promise<unknown> {
  const schema = worker.options.schema;
  if (!schema) return args;
  const result = await schema['~standard'].validate(args);
  if (!result.issues) return result.value;
  const issue = result.issues[0]!;
  const path = [
    'args',
    ...(issue.path ?? []).map((segment) => String(typeof segment === 'object' ? segment.key : segment)),
  ].join('.');
  throw new InvalidArgumentsError(
    path,
    `${worker.name}'s schema refused the arguments: ${result.issues.map((i) => i.message).join('; ')} (at ${path}). Nothing was enqueued.`,
  );
}

/** A new job ready to be written: its record, the record's bytes, and the job the app gets back. */
export interface NewJob<Args> {
  record: JobRecord;
  bytes: Buffer;
  job: Job<Args>;
}

/**
 * Serializes checked arguments into the record of a new job (attempt 1) for `processId`.
 * Throws InvalidArgumentsError, with the value's path, for what cannot reach the worker unchanged.
 */
export function newJob<Args>(
  codec: ArgumentCodec,
  worker: Worker<Args>,
  value: unknown,
  processId: string,
  now: number,
): NewJob<Args> {
  let encoded: EncodedArgs;
  try {
    encoded = codec.encode(value);
  } catch (error) {
    if (error instanceof InvalidArgumentsError) throw error;
    throw new InvalidArgumentsError(
      'args',
      `The arguments could not be serialized: ${(error as Error).message}. Nothing was enqueued.`,
      { cause: error },
    );
  }
  const record: JobRecord = {
    v: 2,
    id: newJobId(now),
    worker: worker.name,
    args: encoded,
    attempt: 1,
    createdAt: now,
  };
  // Absent for version 1: the records of workers without versions stay as they always were.
  if (versionOf(worker) > 1) record.workerVersion = versionOf(worker);
  return { record, bytes: encodeRecord(record), job: jobOf(record, value as Args, processId) };
}

/** The job of a `persist: 'none'` enqueue: no record, the arguments themselves. */
export function unpersistedJob<Args>(
  worker: Worker<Args>,
  args: unknown,
  processId: string,
  now: number,
): Job<Args> {
  return {
    id: newJobId(now),
    worker: worker.name,
    args: args as Args,
    attempt: 1,
    createdAt: new Date(now),
    processId,
  };
}

/** The id of a failed job given as the job or its id. */
export function jobIdOf(job: { id: string } | string): string {
  const id = typeof job === 'string' ? job : job?.id;
  if (typeof id !== 'string' || !id) {
    throw new InvalidArgumentsError(
      'job',
      `Pass a failed job (from failedJobs()) or its id, got ${String(job)}.`,
    );
  }
  return id;
}
