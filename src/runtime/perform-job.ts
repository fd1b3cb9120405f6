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

/**
 * The abort side of ctx.signal, made only when a worker reads ctx.signal or has a timeout:
 * an AbortController per job is a noticeable cost when jobs are cheap.
 */
export class LazyAbort {
  #controller: AbortController | undefined;
  #reason: unknown;
  #aborted = false;

  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
  }
}

export async function performJob(
  worker: Worker<any>,
  job: Job,
  makeLog: () => Logger,
  controller: LazyAbort,
): Promise<Outcome> {
  const timeout = worker.options.timeout;
  let timer: NodeJS.Timeout | undefined;
  try {
    let log: Logger | undefined;
    const ctx = {
      job,
      get signal() {
        return controller.signal;
      },
      get log() {
        log ??= makeLog();
        return log;
      },
    };
    // Called directly (a synchronous throw lands in the catch below); awaited only when it returns a promise.
    const running = worker.perform(job.args, ctx);
    if (timeout === undefined) {
      if (isThenable(running)) await running;
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

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function';
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
