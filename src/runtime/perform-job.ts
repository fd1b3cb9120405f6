/**
 * Performs one attempt of a job and turns whatever happens into an outcome: the worker may
 * return, reject, throw synchronously, throw a non-Error, or never settle (then `timeout`
 * fails it and aborts ctx.signal). Nothing a worker does escapes as an exception.
 */
import { inspect } from 'node:util';
import { JobTimeoutError, WorkerThrewNonErrorError } from '../errors.js';
import type { Job } from '../job/job.js';
import type { Logger } from '../logger.js';
import { clearLongTimeout, setLongTimeout } from '../timers.js';
import type { Worker } from '../worker.js';

export type Outcome = { ok: true } | { ok: false; error: Error };

const FINISHED: Outcome = Object.freeze({ ok: true });

/**
 * One attempt of a job: the `ctx` its worker gets (job, signal, log) and what the runner keeps
 * of a running job. The AbortController and the logger are made only when first needed: most
 * jobs read neither, and a job that runs synchronously costs this one object.
 */
export class Attempt {
  readonly job: Job;
  /** When the attempt started, epoch ms (for warnAfter). */
  readonly startedAt: number;
  /** When to warn that it runs long; Infinity once warned. */
  warnAt: number;
  readonly #makeLog: (job: Job) => Logger;
  #log: Logger | undefined;
  #controller: AbortController | undefined;
  #abortReason: unknown;
  #aborted = false;

  constructor(job: Job, startedAt: number, warnAfter: number, makeLog: (job: Job) => Logger) {
    this.job = job;
    this.startedAt = startedAt;
    this.warnAt = startedAt + warnAfter;
    this.#makeLog = makeLog;
  }

  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#abortReason);
    }
    return this.#controller.signal;
  }

  get log(): Logger {
    this.#log ??= this.#makeLog(this.job);
    return this.#log;
  }

  /** Aborts ctx.signal (timeout, or stop giving up on the job). */
  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#abortReason = reason;
    this.#controller?.abort(reason);
  }
}

/**
 * Performs one attempt. Synchronous when the worker is (it returns no promise): the outcome
 * comes back at once, with no promise or timer made for it, which is what lets cheap jobs run by
 * the million per second.
 */
export function performJob(worker: Worker<any>, attempt: Attempt): Outcome | Promise<Outcome> {
  const job = attempt.job;
  let running: unknown;
  try {
    running = worker.perform(job.args, attempt);
  } catch (thrown) {
    return { ok: false, error: toError(thrown) };
  }
  if (!isThenable(running)) return FINISHED;
  const timeout = worker.options.timeout;
  if (timeout === undefined || timeout === Infinity) {
    return Promise.resolve(running).then(
      () => FINISHED,
      (thrown: unknown) => ({ ok: false, error: toError(thrown) }),
    );
  }
  return new Promise<Outcome>((resolve) => {
    // A long timeout: a plain setTimeout would turn 2³¹ ms or more into 1 ms.
    const timer = setLongTimeout(() => {
      const error = new JobTimeoutError(job.worker, job.id, timeout);
      attempt.abort(error);
      resolve({ ok: false, error });
    }, timeout);
    Promise.resolve(running).then(
      () => {
        clearLongTimeout(timer);
        resolve(FINISHED);
      },
      (thrown: unknown) => {
        clearLongTimeout(timer);
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
