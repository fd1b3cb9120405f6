/**
 * Every Redis key toniq uses, built in one place.
 *
 * Two kinds of keys, each under its own Redis Cluster hash tag, so that every Lua script touches
 * one slot and the processes of an app spread over the cluster's shards by themselves:
 * - the app's shared keys (the registry, the failed list, the counts of failed jobs, reports,
 *   throughput) under `{prefix}`;
 * - each process's keyspace (the jobs it runs, its delayed jobs, its heartbeat, and the markers
 *   of the takeover protocol) under `{prefix:processId}`.
 * A change that crosses the two (failing a job, retrying one, taking a process over) is a
 * sequence of one-slot scripts; docs/internals.md ("Keys and slots") gives the protocol and why
 * each crash point loses nothing.
 *
 * toniq before 0.2 kept every key under `{prefix}` (`legacyProcess`, `legacyRegistry`): a
 * process of that layout is found and taken over like any other once it is dead.
 */
import { InvalidOptionsError } from '../errors.js';

/** The key prefix toniq, connectAdmin and the CLI use when told none. */
export const DEFAULT_KEY_PREFIX = 'toniq';

/** The keys of one process's keyspace; all share one hash tag (one slot). */
export interface ProcessKeys {
  /** Hash: job id → record, for the jobs the process runs or holds waiting for a free slot. */
  readonly jobs: string;
  /** Sorted set: job id scored by due time (ms, `inf` when held until flushed), for delayed jobs and retries. */
  readonly delayed: string;
  /** Hash: job id → record of the delayed jobs in `delayed`. */
  readonly delayedJobs: string;
  /** Hash: "delayed:<worker>" → how many delayed jobs of that worker the process holds (for the admin UI). */
  readonly delayedCounts: string;
  /** Hash: job id → "<failure ms>\n<record>", for jobs on their way to the failed list (fail-job step 1). */
  readonly failing: string;
  /** String with a time to live: present while the process is alive. */
  readonly heartbeat: string;
  /** String with a time to live: the id of the process taking this one over now (its lease). */
  readonly takeoverClaim: string;
  /** String: the id of the last process that took this one over, until this one's next beat reads it. */
  readonly takenOverBy: string;
  /**
   * String: present while the process is registered; a write finding it absent registers the
   * process first. A takeover or a clean stop removes it before forgetting the process.
   */
  readonly open: string;
}

export interface Keys {
  /** The key prefix these keys were built from (keysFor(prefix) builds them again, in a worker thread). */
  readonly prefix: string;
  /** The keys of one process's keyspace, under its own hash tag. */
  process(processId: string): ProcessKeys;
  /** Hash: process id → process info (JSON), for every process that is alive or holds jobs. */
  readonly registry: string;
  /** Hash: process id → registration counter, raised by every registration (see forget-process.lua). */
  readonly registryEpochs: string;
  /** Hash: job id → record of every failed job, whatever process it failed on. */
  readonly failed: string;
  /** Sorted set: failed job id scored by failure time, for listing in order. */
  readonly failedIndex: string;
  /** Hash: failed job id → ms when a retry claimed it (claim-failed-jobs.lua). */
  readonly failedRetrying: string;
  /** Hash: "failed:<worker>" → how many failed jobs of that worker there are (for the admin UI). */
  readonly counts: string;
  /** Hash: process id → its last report (JSON: jobs running and waiting per worker), for the admin UI. */
  readonly reports: string;
  /** Hash of one minute (epoch minute): "f<second>" / "x<second>" → jobs finished / failed in that second. */
  throughput(minute: number): string;
  /** Hash: dead process id → why taking it over failed (JSON: message, at, by), for the admin UI. */
  readonly takeoverErrors: string;
  /** Pub/sub channel telling one process that jobs were added for it. */
  wakeChannel(processId: string): string;
  /** Pub/sub channel telling every process that a process stopped and left jobs to take over. */
  readonly processStoppedChannel: string;
  /** The registry of toniq before 0.2 (process id → info JSON). */
  readonly legacyRegistry: string;
  /** A process's keyspace in the layout of toniq before 0.2 (all under the app's tag). */
  legacyProcess(processId: string): ProcessKeys;
}

export function keysFor(prefix: string): Keys {
  if (typeof prefix !== 'string' || prefix === '' || /[{}\s]/.test(prefix)) {
    throw new InvalidOptionsError(
      `keyPrefix must be a non-empty string without braces or spaces (toniq adds the {hash tag} itself), got ${JSON.stringify(prefix)}.`,
    );
  }
  const tag = `{${prefix}}`;
  // The names of a process's keys differ from the app's, so `{prefix:id}` never meets a key of
  // another prefix that happens to read `prefix:id`.
  const processKeys = (processTag: string): ProcessKeys => ({
    jobs: `${processTag}:jobs`,
    delayed: `${processTag}:delayed`,
    delayedJobs: `${processTag}:delayed-jobs`,
    delayedCounts: `${processTag}:delayed-counts`,
    failing: `${processTag}:failing`,
    heartbeat: `${processTag}:heartbeat`,
    takeoverClaim: `${processTag}:takeover-claim`,
    takenOverBy: `${processTag}:taken-over-by`,
    open: `${processTag}:open`,
  });
  return {
    prefix,
    process: (processId) => processKeys(`{${prefix}:${processId}}`),
    registry: `${tag}:registry`,
    registryEpochs: `${tag}:registry-epochs`,
    failed: `${tag}:failed`,
    failedIndex: `${tag}:failed-index`,
    failedRetrying: `${tag}:failed-retrying`,
    counts: `${tag}:counts`,
    reports: `${tag}:reports`,
    throughput: (minute) => `${tag}:throughput:${minute}`,
    takeoverErrors: `${tag}:takeover-errors`,
    wakeChannel: (processId) => `${tag}:wake:${processId}`,
    processStoppedChannel: `${tag}:process-stopped`,
    legacyRegistry: `${tag}:processes`,
    legacyProcess: (processId) => ({
      jobs: `${tag}:jobs:${processId}`,
      delayed: `${tag}:delayed:${processId}`,
      delayedJobs: `${tag}:delayed-jobs:${processId}`,
      // The layout before 0.2 counted delayed jobs in the app's counts hash.
      delayedCounts: `${tag}:counts`,
      failing: `${tag}:failing:${processId}`,
      heartbeat: `${tag}:heartbeat:${processId}`,
      takeoverClaim: `${tag}:takeover-claim:${processId}`,
      takenOverBy: `${tag}:taken-over-by:${processId}`,
      open: `${tag}:open:${processId}`,
    }),
  };
}
