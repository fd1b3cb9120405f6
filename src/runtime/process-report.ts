/**
 * Pure: what a process reports every second for the admin UI — its running and waiting jobs
 * per worker, which workers have a maxConcurrency, the ids of their running jobs, and the held
 * jobs it does not run because a newer version of their worker stored them.
 */
import type { ProcessReport } from '../storage/job-store.js';
import type { ConcurrencyLimiter } from './concurrency-limiter.js';
import type { Attempt } from './perform-job.js';

export function reportOf(
  running: Iterable<Attempt>,
  limiters: ReadonlyMap<string, ConcurrencyLimiter>,
  newerVersion: ReadonlyArray<{ id: string; worker: string; version: number }> = [],
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
  // Held, not run: counted as waiting, and listed so the admin UI can say what for.
  if (newerVersion.length) {
    report.newerVersionIds = Object.create(null);
    for (const { id, worker, version } of newerVersion) {
      const counts = workers[worker] ?? { running: 0, waiting: 0 };
      counts.waiting++;
      workers[worker] = counts;
      report.newerVersionIds![id] = version;
    }
  }
  return report;
}
