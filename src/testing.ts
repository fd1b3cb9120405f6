/**
 * `toniq/testing`: helpers for apps' own tests.
 * - MemoryStore: keeps jobs in memory, no Redis; pair it with `mode: 'inline'` or `'manual'`.
 * - waitForJob: resolves with a job's final outcome (finished, or failed after its retries).
 */

import type { FailedJob, Job } from './job/job.js';
import type { Toniq } from './toniq.js';

export { MemoryStore } from './storage/memory-store.js';

export type JobOutcome = { state: 'finished'; job: Job } | { state: 'failed'; job: FailedJob; error: Error };

/**
 * Waits until the job finishes or lands in the failed list (retries are waited through), or
 * rejects after `timeout` ms (default 10 000). Call it right after enqueue, before the job can end.
 *
 * @example
 * const job = await toniq.enqueue(sendEmail, { to: 'a@example.com' });
 * const outcome = await waitForJob(toniq, job);
 * assert.equal(outcome.state, 'finished');
 */
export function waitForJob(
  toniq: Toniq,
  job: { id: string },
  options: { timeout?: number } = {},
): Promise<JobOutcome> {
  const timeout = options.timeout ?? 10_000;
  return new Promise((resolve, reject) => {
    const onFinished = (finished: Job) => {
      if (finished.id !== job.id) return;
      done();
      resolve({ state: 'finished', job: finished });
    };
    const onFailed = (failed: FailedJob, error: Error) => {
      if (failed.id !== job.id) return;
      done();
      resolve({ state: 'failed', job: failed, error });
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`Job #${job.id} neither finished nor failed within ${timeout} ms.`));
    }, timeout);
    function done() {
      clearTimeout(timer);
      toniq.events.off('finished', onFinished);
      toniq.events.off('failed', onFailed);
    }
    toniq.events.on('finished', onFinished);
    toniq.events.on('failed', onFailed);
  });
}
