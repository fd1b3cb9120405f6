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

const FINISHED: Outcome = Object.freeze({ ok: true });

/** ctx: the signal and logger are made when first read (most jobs read neither). */
class Context {
  readonly job: Job;
  readonly #abort: LazyAbort;
  readonly #makeLog: (job: Job) => Logger;
  #log: Logger | undefined;

  constructor(job: Job, abort: LazyAbort, makeLog: (job: Job) => Logger) {
    this.job = job;
    this.#abort = abort;
    this.#makeLog = makeLog;
  }

  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  get log(): Logger {
    this.#log ??= this.#makeLog(this.job);
    return this.#log;
  }
}

/**
 * Performs one attempt. Synchronous when the worker is (it returns no promise): the outcome
 * comes back at once, with no promise or timer made for it, which is what lets cheap jobs run by
 * the million per second.
 */
export function performJob(
  worker: Worker<any>,
  job: Job,
  makeLog: (job: Job) => Logger,
  controller: LazyAbort,
): Outcome | Promise<Outcome> {
  const ctx = new Context(job, controller, makeLog);
  let running: unknown;
  try {
    running = worker.perform(job.args, ctx);
  } catch (thrown) {
    return { ok: false, error: toError(thrown) };
  }
  if (!isThenable(running)) return FINISHED;
  const timeout = worker.options.timeout;
  if (timeout === undefined) {
    return Promise.resolve(running).then(
      () => FINISHED,
      (thrown: unknown) => ({ ok: false, error: toError(thrown) }),
    );
  }
  return new Promise<Outcome>((resolve) => {
    const timer = setTimeout(() => {
      const error = new JobTimeoutError(job.worker, job.id, timeout);
      controller.abort(error);
      resolve({ ok: false, error });
    }, timeout);
    Promise.resolve(running).then(
      () => {
        clearTimeout(timer);
        resolve(FINISHED);
      },
      (thrown: unknown) => {
        clearTimeout(timer);
        resolve({ ok: false, error: toError(thrown) });
      },
    );
  });
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
