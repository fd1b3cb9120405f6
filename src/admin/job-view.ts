/**
 * Pure: turns a stored job record into what the admin UI, the JSON API and the CLI show. The
 * arguments are shown as util.inspect shows them (a Date stays a Date, a Map a Map), decoded with
 * the app's registered classes when the admin runs inside the app.
 */
import { inspect } from 'node:util';
import type { JobError } from '../job/job.js';
import { decodeRecord, type JobRecord, unreadableRecord } from '../job/job-record.js';
import type { ArgumentCodec } from '../job/serialization.js';
import type { JobDetail, JobState, JobSummary } from './admin-types.js';

const PREVIEW_LENGTH = 200;

/** Where a record was read and what is known about it there. */
export interface RecordContext {
  state: JobState;
  processId: string;
  /** Delayed: due time (Infinity when kept until flushed); failed: failure time. */
  score?: number;
  /** Why the job is where it is, when that needs saying. */
  note?: string | undefined;
}

/** A record read for display; an unreadable record is shown as such rather than hidden. */
export interface ReadRecord {
  record: JobRecord;
  /** Set when the record itself could not be read. */
  unreadable?: Error;
}

export function readRecord(id: string, bytes: Buffer, where: string): ReadRecord {
  try {
    return { record: decodeRecord(bytes, id, where) };
  } catch (error) {
    return { record: unreadableRecord(id, 0), unreadable: error as Error };
  }
}

/** The arguments as util.inspect shows them; a note when they cannot be decoded here. */
export function inspectArgs(codec: ArgumentCodec, read: ReadRecord, full: boolean): string {
  if (read.unreadable) return `(the record cannot be read: ${read.unreadable.message})`;
  // The quarantine of a record that could not be read when it was to run has no arguments, only its bytes.
  const raw = read.record.failed?.raw;
  if (raw) return `(the record could not be read when it was to run; its ${raw.length} bytes are kept)`;
  let args: unknown;
  try {
    args = codec.decode(read.record.args);
  } catch (error) {
    return `(the arguments cannot be shown here: ${(error as Error).message})`;
  }
  if (full)
    return inspect(args, { depth: 8, breakLength: 100, maxArrayLength: 200, maxStringLength: 10_000 });
  const line = inspect(args, { depth: 3, breakLength: Infinity, maxArrayLength: 20, maxStringLength: 200 });
  return line.length > PREVIEW_LENGTH ? `${line.slice(0, PREVIEW_LENGTH - 1)}…` : line;
}

export function toSummary(codec: ArgumentCodec, read: ReadRecord, context: RecordContext): JobSummary {
  const { record } = read;
  const summary: JobSummary = {
    id: record.id,
    worker: record.worker,
    state: context.state,
    processId: record.failed?.processId || context.processId,
    attempt: record.attempt,
    // An unreadable record does not say when it was created.
    createdAt: read.unreadable ? null : new Date(record.createdAt),
    argsPreview: inspectArgs(codec, read, false),
    workerVersion: record.workerVersion ?? 1,
  };
  if (context.note) summary.note = context.note;
  if (context.state === 'delayed') {
    summary.dueAt =
      context.score === undefined || context.score === Infinity ? null : new Date(context.score);
  }
  if (context.state === 'failed') {
    const failed = record.failed;
    // The failed list's order is by failure time: its score stands in when the record does not say.
    const failedAt = failed?.failedAt ?? context.score;
    summary.failedAt = failedAt === undefined || !Number.isFinite(failedAt) ? null : new Date(failedAt);
    summary.attempts = failed?.attempts ?? record.attempt;
    const error = errorOf(read);
    summary.error = { name: error.name, message: error.message };
  }
  return summary;
}

export function toDetail(codec: ArgumentCodec, read: ReadRecord, context: RecordContext): JobDetail {
  const { error: _summaryError, ...summary } = toSummary(codec, read, context);
  const detail: JobDetail = { ...summary, args: inspectArgs(codec, read, true) };
  if (context.state === 'failed' || read.unreadable) detail.error = errorOf(read);
  return detail;
}

function errorOf(read: ReadRecord): JobError {
  if (read.unreadable) {
    return { name: read.unreadable.name, message: read.unreadable.message, stack: read.unreadable.stack };
  }
  return read.record.failed?.error ?? { name: 'Error', message: '(no error was recorded)' };
}

/** Whether a job matches a search: its id, worker, arguments (as inspected) or error contain the text. */
export function matchesSearch(codec: ArgumentCodec, read: ReadRecord, search: string): boolean {
  const needle = search.toLowerCase();
  const { record } = read;
  if (record.id.toLowerCase().includes(needle) || record.worker.toLowerCase().includes(needle)) return true;
  const error = record.failed?.error;
  if (error && `${error.name}: ${error.message}`.toLowerCase().includes(needle)) return true;
  return inspectArgs(codec, read, true).toLowerCase().includes(needle);
}
