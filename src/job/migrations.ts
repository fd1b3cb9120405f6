/**
 * Pure: brings a stored job's arguments from the version they were enqueued with up to the
 * worker's current version, one `migrate` step at a time (1 → 2 → 3). A step that throws, that
 * is missing, or that returns a promise (steps are synchronous, so a retry runs them the same
 * way) fails the attempt with MigrationError; the stored arguments are not touched.
 */
import { MigrationError } from '../errors.js';
import type { Worker } from '../worker.js';
import { type JobRecord, workerVersionOf } from './job-record.js';
import type { ArgumentCodec } from './serialization.js';

export function migrateArgs(worker: Worker<any>, args: unknown, fromVersion: number): unknown {
  const current = worker.options.version ?? 1;
  let value = args;
  for (let from = fromVersion; from < current; from++) {
    const step = worker.options.migrate?.[from];
    if (typeof step !== 'function') {
      throw new MigrationError(
        worker.name,
        from,
        `does not exist, so a job stored with version ${fromVersion} cannot be read by version ${current}; ` +
          `add the step to defineWorker's migrate option`,
      );
    }
    try {
      value = step(value);
    } catch (error) {
      const shown = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      throw new MigrationError(worker.name, from, `threw ${shown}`, { cause: error });
    }
    if (value instanceof Promise) {
      value.catch(() => {}); // Its outcome is not awaited: it must not surface as an unhandled rejection.
      throw new MigrationError(worker.name, from, 'returned a promise; a migration step must be synchronous');
    }
  }
  return value;
}

/**
 * The worker's own copy of a stored job's arguments, at its current version. `error` when they
 * cannot be made: arguments that cannot be decoded here (retrying cannot help), or a migration
 * that failed (retried like any failure, as a fixed deploy may run it).
 */
export function argumentsFor(
  codec: ArgumentCodec,
  worker: Worker<any>,
  record: JobRecord,
): { args: unknown; error?: Error; retryable?: boolean } {
  let args: unknown;
  try {
    args = codec.decode(record.args);
  } catch (error) {
    return { args: undefined, error: error as Error, retryable: false };
  }
  try {
    return { args: migrateArgs(worker, args, workerVersionOf(record)) };
  } catch (error) {
    return { args, error: error as Error, retryable: true };
  }
}
