/**
 * Performs one attempt of a job and turns whatever happens into an outcome: the worker may
 * return, reject, throw synchronously, throw a non-Error, or never settle (then `timeout`
 * fails it and aborts ctx.signal). Nothing a worker does escapes as an exception.
 */
import { inspect } from 'node:util';
import { JobTimeoutError, WorkerThrewNonErrorError } from '../errors.js';
import type { Job } from '../job/job.js';
import type { Logger } from '../logger.js';
import type { Worker } from '../worker.js';

export type Outcome = { ok: true } | { ok: false; error: Error };

export async function performJob(
  worker: Worker<any>,
  job: Job,
  log: Logger,
  controller: AbortController,
): Promise<Outcome> {
  const timeout = worker.options.timeout;
  let timer: NodeJS.Timeout | undefined;
  try {
    const ctx = { job, signal: controller.signal, log };
    const running = Promise.resolve().then(() => worker.perform(job.args, ctx));
    if (timeout === undefined) {
      await running;
    } else {
      const timedOut = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          const error = new JobTimeoutError(job.worker, job.id, timeout);
          controller.abort(error);
          reject(error);
        }, timeout);
      });
      await Promise.race([running, timedOut]);
    }
    return { ok: true };
  } catch (thrown) {
    return { ok: false, error: toError(thrown) };
  } finally {
    clearTimeout(timer);
  }
}

/** Wraps a thrown non-Error so that the failure has a message, keeping the original as `cause`. */
export function toError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  let description: string;
  if (thrown === undefined) description = 'undefined';
  else if (thrown === null) description = 'null';
  else if (typeof thrown === 'string') description = `the string ${JSON.stringify(thrown)}`;
  else
    description = `${typeof thrown === 'object' ? 'the object' : `the ${typeof thrown}`} ${inspect(thrown, { depth: 2, breakLength: Infinity })}`;
  return new WorkerThrewNonErrorError(description, thrown);
}
