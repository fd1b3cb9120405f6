/**
 * The stored form of a job: the bytes kept in Redis (or in the MemoryStore).
 *
 * A record is a structured-clone object carrying a format version `v`. Reading migrates an
 * older version step by step to the current one, so records written by an older toniq stay
 * readable after an upgrade. Records are opaque to Redis: Lua scripts move them, never parse them.
 */
import { CorruptJobRecordError } from '../errors.js';
import type { JobError } from './job.js';
import { deserializeValue, serializeValue } from './serialization.js';

export const CURRENT_RECORD_VERSION = 1;

/** Version 1, the current one. Times are epoch milliseconds. */
export interface JobRecord {
  v: 1;
  id: string;
  worker: string;
  /** Arguments as prepared by ArgumentCodec.encode. */
  args: unknown;
  /** True when `args` holds registered class instances to rebuild. */
  hasClasses?: boolean;
  /** Which try the job is on (1 for the first run). */
  attempt: number;
  createdAt: number;
  /** Due time of a delayed job; Infinity when it waits for flushDelayedJobs(). */
  dueAt?: number;
  /** Set once the job is in the failed list. */
  failed?: { error: JobError; attempts: number; failedAt: number; processId: string; raw?: Buffer };
}

/**
 * Version 0: the format before records were versioned. It had no `v`, no id inside (the id was
 * the hash field), counted failures in `retries` and kept the creation time as an ISO string.
 */
interface JobRecordV0 {
  workerName: string;
  arguments: unknown;
  retries: number;
  created: string;
}

const migrations: Record<number, (record: any, id: string) => any> = {
  0: (old: JobRecordV0, id: string) => ({
    v: 1,
    id,
    worker: old.workerName,
    args: old.arguments,
    attempt: old.retries + 1,
    createdAt: Date.parse(old.created),
  }),
};

export function encodeRecord(record: JobRecord): Buffer {
  return serializeValue(record);
}

/**
 * Reads a record, migrating it from an older version when needed.
 * Throws CorruptJobRecordError when the bytes are not a job record.
 */
export function decodeRecord(bytes: Buffer, id: string, where: string): JobRecord {
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
  if (version > CURRENT_RECORD_VERSION) {
    throw new CorruptJobRecordError(id, where, {
      cause: new Error(
        `record version ${version} is newer than this toniq understands (${CURRENT_RECORD_VERSION}); upgrade toniq`,
      ),
    });
  }
  while (version < CURRENT_RECORD_VERSION) {
    const migrate = migrations[version];
    if (!migrate)
      throw new CorruptJobRecordError(id, where, {
        cause: new Error(`no migration from record version ${version}`),
      });
    value = migrate(value, id);
    version = value.v;
  }
  if (
    typeof value.worker !== 'string' ||
    typeof value.attempt !== 'number' ||
    typeof value.createdAt !== 'number'
  ) {
    throw new CorruptJobRecordError(id, where, {
      cause: new Error('the record lacks worker, attempt or createdAt'),
    });
  }
  value.id = id;
  return value as JobRecord;
}
