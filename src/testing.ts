/**
 * `toniq/testing`: helpers for apps' own tests.
 * - MemoryStore: keeps jobs in memory, no Redis; pair it with `mode: 'inline'` or `'manual'`.
 * - waitForJob: resolves with a job's final outcome (finished, or failed after its retries).
 */

import { InvalidOptionsError } from './errors.js';
import type { FailedJob, Job } from './job/job.js';
import { clearLongTimeout, durationProblem, setLongTimeout } from './timers.js';
import type { Toniq } from './toniq.js';

export { MemoryStore } from './storage/memory-store.js';

export type JobOutcome = { state: 'finished'; job: Job } | { state: 'failed'; job: FailedJob; error: Error };

/**
 * Waits until a job finishes or lands in the failed list (retries are waited through), or
 * rejects after `timeout` ms (default 10 000). Pass the promise that enqueue returns, so that a
 * job that ends at once is not missed; a job object works too when the job cannot have ended yet.
 *
 * @example
 * const outcome = await waitForJob(toniq, toniq.enqueue(sendEmail, { to: 'a@example.com' }));
 * assert.equal(outcome.state, 'finished');
 */
export function waitForJob(
  toniq: Toniq,
  job: { id: string } | Promise<{ id: string }>,
  options: { timeout?: number } = {},
): Promise<JobOutcome> {
  const timeout = options.timeout ?? 10_000;
  const problem = durationProblem(timeout, { max: Infinity, allowInfinity: true });
  if (problem) return Promise.reject(new InvalidOptionsError(`waitForJob: options.timeout ${problem}.`));
  // Outcomes seen before the id is known (the enqueue promise has not resolved yet).
  const early = new Map<string, JobOutcome>();
  let id: string | undefined;
  return new Promise((resolve, reject) => {
    const settle = (outcome: JobOutcome) => {
      if (id === undefined) early.set(outcome.job.id, outcome);
      else if (outcome.job.id === id) {
        done();
        resolve(outcome);
      }
    };
    const onFinished = (finished: Job) => settle({ state: 'finished', job: finished });
    const onFailed = (failed: FailedJob, error: Error) => settle({ state: 'failed', job: failed, error });
    const timer = setLongTimeout(() => {
      done();
      reject(
        new Error(`Job #${id ?? '(not yet enqueued)'} neither finished nor failed within ${timeout} ms.`),
      );
    }, timeout);
    function done() {
      clearLongTimeout(timer);
      toniq.events.off('finished', onFinished);
      toniq.events.off('failed', onFailed);
    }
    toniq.events.on('finished', onFinished);
    toniq.events.on('failed', onFailed);
    Promise.resolve(job).then(
      (resolved) => {
        id = resolved.id;
        const outcome = early.get(id);
        early.clear();
        if (outcome) settle(outcome);
      },
      (error: unknown) => {
        done();
        reject(error);
      },
    );
  });
}
