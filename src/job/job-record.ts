/**
 * The stored form of a job: the bytes kept in Redis (or in the MemoryStore).
 *
 * Version 2, the current one, is a small frame:
 *   byte 0      0x02 (the version; older records start with 0xFF, the structured clone header)
 *   byte 1      how the arguments are stored: 'J' (JSON), 'V' (structured clone) or 'U' (undefined)
 *   bytes 2–5   length of the header, unsigned 32-bit big-endian
 *   header      JSON: id, worker, attempt, createdAt, workerVersion?, hasClasses?, failed?
 *   rest        the arguments' bytes, exactly as ArgumentCodec made them
 * The arguments stay bytes until a worker needs them, so a retry or a failure rewrites the
 * header and copies the arguments' bytes untouched.
 *
 * Reading migrates older versions (0 and 1 were whole structured-clone objects) step by step,
 * so records written by an older toniq stay readable after an upgrade. Records are opaque to
 * Redis: Lua scripts move them, never parse them.
 */
import { CannotRetryError, CorruptJobRecordError } from '../errors.js';
import { type FailedJob, type Job, type JobError, toJobError } from './job.js';
import { deserializeValue, type EncodedArgs, NO_ARGS, serializeValue } from './serialization.js';

export { NO_ARGS };

export const CURRENT_RECORD_VERSION = 2;

export interface FailedInfo {
  /** Always there: a placeholder that says the record is damaged when it lacks one. */
  error: JobError;
  attempts: number;
  /** Null when the record does not say (a damaged record). */
  failedAt: number | null;
  processId: string;
  /** The raw bytes of a record that could not be read. */
  raw?: Buffer;
}

/** A job record, read. Times are epoch milliseconds. */
export interface JobRecord {
  v: 2;
  id: string;
  worker: string;
  /** The arguments as stored; ArgumentCodec.decode makes the worker's copy. */
  args: EncodedArgs;
  /** Which try the job is on (1 for the first run). */
  attempt: number;
  createdAt: number;
  /**
   * The version of the worker's arguments the job was enqueued with (defineWorker's `version`);
   * absent for version 1, so that records of workers without versions stay as they were.
   */
  workerVersion?: number;
  /** Set once the job is in the failed list. */
  failed?: FailedInfo;
}

const VERSION_2 = 0x02;
const STRUCTURED_CLONE = 0xff;
const NO_ARGS_FORMAT = 0x55; // 'U': undefined, no bytes
const JSON_ARGS = 0x4a; // 'J'
const V8_ARGS = 0x56; // 'V'
const FORMAT_BYTES = { none: NO_ARGS_FORMAT, json: JSON_ARGS, v8: V8_ARGS } as const;

/** Worker names as JSON strings, made once per name: the header of every job repeats them. */
const workerJson = new Map<string, string>();

export function encodeRecord(record: JobRecord): Buffer {
  let headerText: string;
  if (!record.failed && !record.args.hasClasses && !record.workerVersion) {
    // The common case, written directly: the same JSON as below, without building an object.
    let worker = workerJson.get(record.worker);
    if (worker === undefined) {
      worker = JSON.stringify(record.worker);
      if (workerJson.size < 10_000) workerJson.set(record.worker, worker);
    }
    headerText = `{"id":${JSON.stringify(record.id)},"worker":${worker},"attempt":${record.attempt},"createdAt":${record.createdAt}}`;
  } else {
    const header: Record<string, unknown> = {
      id: record.id,
      worker: record.worker,
      attempt: record.attempt,
      createdAt: record.createdAt,
    };
    if (record.workerVersion && record.workerVersion > 1) header.workerVersion = record.workerVersion;
    if (record.args.hasClasses) header.hasClasses = true;
    if (record.failed) {
      const { raw, ...failed } = record.failed;
      header.failed = raw ? { ...failed, raw: raw.toString('base64') } : failed;
    }
    headerText = JSON.stringify(header);
  }
  const headerLength = Buffer.byteLength(headerText);
  const bytes = Buffer.allocUnsafe(6 + headerLength + record.args.bytes.length);
  bytes[0] = VERSION_2;
  bytes[1] = FORMAT_BYTES[record.args.format];
  bytes.writeUInt32BE(headerLength, 2);
  bytes.write(headerText, 6, 'utf8');
  record.args.bytes.copy(bytes, 6 + headerLength);
  return bytes;
}

/** The worker name shown for a record whose header cannot be read (admin UI, failed list, counts). */
export const UNREADABLE_WORKER = '(unreadable record)';

/**
 * The stand-in for a record that cannot be read, so that it is listed and shown rather than
 * hidden. `failed` is given when the stand-in goes to (or is read from) the failed list.
 */
export function unreadableRecord(id: string, createdAt: number, failed?: FailedInfo): JobRecord {
  const record: JobRecord = { v: 2, id, worker: UNREADABLE_WORKER, args: NO_ARGS, attempt: 1, createdAt };
  if (failed) record.failed = failed;
  return record;
}

/**
 * The failed-list entry for stored bytes that could not be read when they were to run: the
 * bytes are kept (`failed.raw`) for a person to look at, and the entry cannot be retried.
 */
export function quarantineRecord(
  id: string,
  raw: Buffer,
  error: unknown,
  failedAt: number,
  processId: string,
): JobRecord {
  return unreadableRecord(id, failedAt, { error: toJobError(error), attempts: 0, failedAt, processId, raw });
}

/** The job the app sees (ctx.job, events, enqueue's result) for a record and its decoded arguments. */
export function jobOf<Args>(record: JobRecord, args: Args, processId: string): Job<Args> {
  return {
    id: record.id,
    worker: record.worker,
    args,
    attempt: record.attempt,
    createdAt: new Date(record.createdAt),
    processId,
  };
}

/** What is kept of a job that failed on `processId` (its own) with `error` after `job.attempt` attempts. */
export function toFailedInfo(job: Job<unknown>, error: unknown, failedAt: number): FailedInfo {
  return { error: toJobError(error), attempts: job.attempt, failedAt, processId: job.processId };
}

/** A job in the failed list as the app sees it (failedJobs(), the failed event). */
export function failedJobOf<Args>(job: Job<Args>, failed: FailedInfo): FailedJob<Args> {
  return {
    ...job,
    processId: failed.processId,
    error: failed.error,
    attempts: failed.attempts,
    failedAt: failed.failedAt === null ? null : new Date(failed.failedAt),
  };
}

/** The record of a job's next attempt after a failed one: the same arguments' bytes, attempt + 1. */
export function nextAttemptRecord(record: JobRecord): JobRecord {
  const next: JobRecord = { ...record, attempt: record.attempt + 1 };
  delete next.failed;
  return next;
}

/** A failed job's record for running it again: same id, worker, arguments and creation time; attempt 1. */
export function freshAttempt(failed: JobRecord): JobRecord {
  const fresh: JobRecord = {
    v: 2,
    id: failed.id,
    worker: failed.worker,
    args: failed.args,
    attempt: 1,
    createdAt: failed.createdAt,
  };
  // Its arguments are still of the version they were stored with: they are migrated when it runs.
  if (failed.workerVersion) fresh.workerVersion = failed.workerVersion;
  return fresh;
}

/**
 * The fresh record for retrying a failed job, from its stored bytes; what toniq.retry and the
 * admin's retry both use. Throws CannotRetryError when the bytes cannot be read, or when they are
 * the quarantine of a record that could not be read when it was to run (its raw bytes kept in
 * `failed.raw`): there is no worker and no arguments to run.
 */
export function retryRecordOf(id: string, bytes: Buffer): JobRecord {
  let failed: JobRecord;
  try {
    failed = decodeRecord(bytes, id, 'the failed list');
  } catch (error) {
    throw new CannotRetryError(id, `its record cannot be read (${(error as Error).message})`, {
      cause: error,
    });
  }
  if (failed.failed?.raw) {
    throw new CannotRetryError(
      id,
      'its record could not be read when it was to run, so there is no worker and no arguments to run again',
    );
  }
  return freshAttempt(failed);
}

/**
 * The worker's name from a record's header, read the way lua/lib/job-counts.lua reads it (the
 * per-worker counts of the admin UI): older versions count as "(older record)".
 */
export function workerOfRecord(bytes: Buffer): string {
  if (bytes[0] !== VERSION_2) return '(older record)';
  try {
    const header = JSON.parse(bytes.toString('utf8', 6, 6 + bytes.readUInt32BE(2)));
    if (typeof header?.worker === 'string') return header.worker;
  } catch {
    // Falls through: the header is damaged.
  }
  return UNREADABLE_WORKER;
}

/**
 * Reads a record, migrating it from an older version when needed.
 * Throws CorruptJobRecordError when the bytes are not a job record.
 */
export function decodeRecord(bytes: Buffer, id: string, where: string): JobRecord {
  const corrupt = (reason: string, cause?: unknown) =>
    new CorruptJobRecordError(id, where, { cause: cause ?? new Error(reason) });
  if (bytes[0] === STRUCTURED_CLONE) return decodeStructuredCloneRecord(bytes, id, where);
  if (bytes[0] !== VERSION_2) {
    if (typeof bytes[0] === 'number' && bytes[0] > VERSION_2 && bytes[0] < 0x20) {
      throw corrupt(
        `record version ${bytes[0]} is newer than this toniq understands (${CURRENT_RECORD_VERSION}); upgrade toniq`,
      );
    }
    throw corrupt('it is not in any record format toniq knows');
  }
  if (bytes.length < 6) throw corrupt('it is truncated');
  const format = bytes[1];
  if (format !== JSON_ARGS && format !== V8_ARGS && format !== NO_ARGS_FORMAT) {
    throw corrupt(`unknown argument format ${String(format)}`);
  }
  const headerLength = bytes.readUInt32BE(2);
  if (6 + headerLength > bytes.length) throw corrupt('it is truncated');
  let header: any;
  try {
    header = JSON.parse(bytes.toString('utf8', 6, 6 + headerLength));
  } catch (error) {
    throw corrupt('its header is not JSON', error);
  }
  if (
    typeof header?.worker !== 'string' ||
    !Number.isFinite(header.attempt) ||
    !Number.isFinite(header.createdAt)
  ) {
    throw corrupt('the record lacks worker, attempt or createdAt');
  }
  if (Math.abs(header.createdAt) > MAX_TIME) throw corrupt('its createdAt is not a time');
  const workerVersion = header.workerVersion;
  if (workerVersion !== undefined && !(Number.isSafeInteger(workerVersion) && workerVersion >= 1)) {
    throw corrupt(`its workerVersion is not a whole number ≥ 1 (${JSON.stringify(workerVersion)})`);
  }
  const record: JobRecord = {
    v: 2,
    id,
    worker: header.worker,
    attempt: header.attempt,
    createdAt: header.createdAt,
    args:
      format === NO_ARGS_FORMAT
        ? NO_ARGS
        : {
            bytes: bytes.subarray(6 + headerLength),
            format: format === JSON_ARGS ? 'json' : 'v8',
            hasClasses: header.hasClasses === true,
          },
  };
  if (workerVersion > 1) record.workerVersion = workerVersion;
  if (header.failed) record.failed = readFailedInfo(header.failed, record, where);
  return record;
}

/** The largest epoch ms a Date holds. */
const MAX_TIME = 8.64e15;

/**
 * A failed record's failure, each field checked: what it cannot tell is a placeholder (an error
 * that says the record is damaged, the job's attempt, null for the time), so that readers never
 * get `error: undefined` or an Invalid Date.
 */
function readFailedInfo(value: unknown, record: JobRecord, where: string): FailedInfo {
  const failed = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  const error = failed.error as Record<string, unknown> | null | undefined;
  const code = error?.code;
  const info: FailedInfo = {
    error:
      typeof error === 'object' && error !== null && typeof error.message === 'string'
        ? {
            name: typeof error.name === 'string' ? error.name : 'Error',
            message: error.message,
            ...(typeof error.stack === 'string' && { stack: error.stack }),
            ...((typeof code === 'string' || typeof code === 'number') && { code }),
          }
        : {
            name: 'CorruptJobRecordError',
            message:
              `The record of job #${record.id} in ${where} is damaged: no error was recorded with it, or it ` +
              'cannot be read. Its worker and arguments are as stored; retry or delete it.',
            code: 'TONIQ_CORRUPT_JOB_RECORD',
          },
    attempts: Number.isSafeInteger(failed.attempts) ? (failed.attempts as number) : record.attempt,
    failedAt:
      Number.isFinite(failed.failedAt) && Math.abs(failed.failedAt as number) <= MAX_TIME
        ? (failed.failedAt as number)
        : null,
    processId: typeof failed.processId === 'string' ? failed.processId : '',
  };
  if (typeof failed.raw === 'string') info.raw = Buffer.from(failed.raw, 'base64');
  else if (failed.raw instanceof Uint8Array) info.raw = Buffer.from(failed.raw); // a version 1 record
  return info;
}

/**
 * Versions 0 and 1 stored the whole record as one structured-clone object.
 * - Version 0 (before records were versioned): `{ workerName, arguments, retries, created }`,
 *   with the failure count in `retries` and the creation time as an ISO string.
 * - Version 1: `{ v: 1, id, worker, args, hasClasses?, attempt, createdAt, failed? }`.
 */
const migrations: Record<number, (record: any, id: string) => any> = {
  0: (old: { workerName: string; arguments: unknown; retries: number; created: string }, id: string) => ({
    v: 1,
    id,
    worker: old.workerName,
    args: old.arguments,
    attempt: old.retries + 1,
    createdAt: Date.parse(old.created),
  }),
  1: (old: any, id: string): JobRecord => ({
    v: 2,
    id,
    worker: old.worker,
    attempt: old.attempt,
    createdAt: old.createdAt,
    args: { bytes: serializeValue(old.args), format: 'v8', hasClasses: old.hasClasses === true },
    ...(old.failed ? { failed: old.failed } : {}),
  }),
};

function decodeStructuredCloneRecord(bytes: Buffer, id: string, where: string): JobRecord {
  let value: any;
  try {
    value = deserializeValue(bytes);
  } catch (error) {
    throw new CorruptJobRecordError(id, where, { cause: error });
  }
  if (typeof value !== 'object' || value === null) {
    throw new CorruptJobRecordError(id, where, {
      cause: new Error(`expected an object, found ${typeof value}`),
    });
  }
  let version: number = typeof value.v === 'number' ? value.v : 0;
  if (version > 1) {
    throw new CorruptJobRecordError(id, where, {
      cause: new Error(`a structured-clone record cannot be version ${version}`),
    });
  }
  while (version < CURRENT_RECORD_VERSION) {
    value = migrations[version]!(value, id);
    version = value.v;
  }
  if (
    typeof value.worker !== 'string' ||
    !Number.isFinite(value.attempt) ||
    !Number.isFinite(value.createdAt)
  ) {
    throw new CorruptJobRecordError(id, where, {
      cause: new Error('the record lacks worker, attempt or createdAt'),
    });
  }
  const record = value as JobRecord;
  if (record.failed) record.failed = readFailedInfo(record.failed, record, where);
  return record;
}

/** The version of the worker's arguments a record was stored with (1 when it says none). */
export function workerVersionOf(record: JobRecord): number {
  return record.workerVersion ?? 1;
}
