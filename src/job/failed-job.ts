/**
 * Pure: a stored failed-list entry as the app sees it (failedJobs()). A record that cannot be
 * read is still listed, as "(unreadable record)" with the read error, so that a person can see
 * and delete it.
 */
import type { StoredJob } from '../storage/job-store.js';
import { type FailedJob, toJobError } from './job.js';
import { decodeRecord, failedJobOf, type JobRecord, jobOf, unreadableRecord } from './job-record.js';
import type { ArgumentCodec } from './serialization.js';

export function readFailedJob(codec: ArgumentCodec, stored: StoredJob): FailedJob {
  const record = decodeFailed(stored);
  const failed = record.failed ?? {
    error: toJobError(new Error('no error was recorded')),
    attempts: record.attempt,
    failedAt: null,
    processId: '',
  };
  return failedJobOf(jobOf(record, codec.tryDecode(record.args), failed.processId), failed);
}

function decodeFailed(stored: StoredJob): JobRecord {
  try {
    return decodeRecord(stored.record, stored.id, 'the failed list');
  } catch (error) {
    return unreadableRecord(stored.id, 0, {
      error: toJobError(error),
      attempts: 0,
      failedAt: null,
      processId: '',
      raw: stored.record,
    });
  }
}
