/**
 * Pure: brings a stored job's arguments from the version they were enqueued with up to the
 * worker's current version, one `migrate` step at a time (1 → 2 → 3). A step that throws, that
 * is missing, or that returns a promise (steps are synchronous, so a retry runs them the same
 * way) fails the attempt with MigrationError; the stored arguments are not touched.
 */
import { MigrationError } from '../errors.js';
import type { Worker } from '../worker.js';

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
