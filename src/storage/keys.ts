/**
 * Every Redis key toniq uses, built in one place. All keys of one prefix share the hash tag
 * `{prefix}`, so they live in one slot and the same Lua scripts run on Redis Cluster.
 */
import { InvalidOptionsError } from '../errors.js';

/** The key prefix toniq, connectAdmin and the CLI use when told none. */
export const DEFAULT_KEY_PREFIX = 'toniq';

export interface Keys {
  /** Hash: job id → record, for the jobs a process runs or holds waiting for a free slot. */
  jobs(processId: string): string;
  /** Sorted set: job id scored by due time (ms, `inf` when held until flushed), for delayed jobs and retries. */
  delayed(processId: string): string;
  /** Hash: job id → record of the delayed jobs in `delayed`. */
  delayedJobs(processId: string): string;
  /** Hash: job id → record of every failed job, whatever process it failed on. */
  readonly failed: string;
  /** Sorted set: failed job id scored by failure time, for listing in order. */
  readonly failedIndex: string;
  /** Hash: "delayed:<worker>" / "failed:<worker>" → how many such jobs there are (for the admin UI). */
  readonly counts: string;
  /** Hash: process id → its last report (JSON: jobs running and waiting per worker), for the admin UI. */
  readonly reports: string;
  /** Hash of one minute (epoch minute): "f<second>" / "x<second>" → jobs finished / failed in that second. */
  throughput(minute: number): string;
  /** Hash: process id → process info (JSON), for every process that is alive or holds jobs. */
  readonly processes: string;
  /** Hash: dead process id → why taking it over failed (JSON: message, at, by), for the admin UI. */
  readonly takeoverErrors: string;
  /** String with a time to live: present while the process is alive. */
  heartbeat(processId: string): string;
  /** Pub/sub channel telling one process that jobs were added for it. */
  wakeChannel(processId: string): string;
  /** Pub/sub channel telling every process that a process stopped and left jobs to take over. */
  readonly processStoppedChannel: string;
}

export function keysFor(prefix: string): Keys {
  if (typeof prefix !== 'string' || prefix === '' || /[{}\s]/.test(prefix)) {
    throw new InvalidOptionsError(
      `keyPrefix must be a non-empty string without braces or spaces (toniq adds the {hash tag} itself), got ${JSON.stringify(prefix)}.`,
    );
  }
  const tag = `{${prefix}}`;
  return {
    jobs: (processId) => `${tag}:jobs:${processId}`,
    delayed: (processId) => `${tag}:delayed:${processId}`,
    delayedJobs: (processId) => `${tag}:delayed-jobs:${processId}`,
    failed: `${tag}:failed`,
    failedIndex: `${tag}:failed-index`,
    counts: `${tag}:counts`,
    reports: `${tag}:reports`,
    throughput: (minute) => `${tag}:throughput:${minute}`,
    processes: `${tag}:processes`,
    takeoverErrors: `${tag}:takeover-errors`,
    heartbeat: (processId) => `${tag}:heartbeat:${processId}`,
    wakeChannel: (processId) => `${tag}:wake:${processId}`,
    processStoppedChannel: `${tag}:process-stopped`,
  };
}
