/**
 * Pure: what a process reports every second for the admin UI — its running and waiting jobs
 * per worker, which workers have a maxConcurrency, and the ids of their running jobs.
 */
import type { ProcessReport } from '../storage/job-store.js';
import type { ConcurrencyLimiter } from './concurrency-limiter.js';
import type { Attempt } from './perform-job.js';

export function reportOf(
  running: Iterable<Attempt>,
  limiters: ReadonlyMap<string, ConcurrencyLimiter>,
  newerVersionIds?: Record<string, number>,
): ProcessReport {
  // Keyed by worker names: a null prototype, so that a worker named "__proto__" is a key like any other.
  const workers: ProcessReport['workers'] = Object.create(null);
  const runningIds: string[] = [];
  for (const attempt of running) {
    const name = attempt.job.worker;
    const counts = workers[name] ?? { running: 0, waiting: 0 };
    counts.running++;
    workers[name] = counts;
    if (limiters.has(name)) runningIds.push(attempt.job.id);
  }
  for (const [name, limiter] of limiters) {
    if (!limiter.waiting) continue;
    const counts = workers[name] ?? { running: 0, waiting: 0 };
    counts.waiting = limiter.waiting;
    workers[name] = counts;
  }
  const report: ProcessReport = { workers, limitedWorkers: [...limiters.keys()], runningIds };
  if (newerVersionIds) report.newerVersionIds = newerVersionIds;
  return report;
}
