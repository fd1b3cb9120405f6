/**
 * The shapes of the admin read API: what the web UI, the JSON API and the CLI show.
 * Times are Dates here; the JSON API sends them as ISO 8601 strings.
 *
 * A job is in one of four states:
 * - running: a process is performing it now;
 * - waiting: a process holds it and will run it when its worker has a free slot (maxConcurrency),
 *   or its process died and it waits to be taken over;
 * - delayed: it waits in Redis for its due time (retries are delayed jobs too);
 * - failed: it used up its retries and waits in the failed list for a person.
 */
import type { JobError } from '../job/job.js';

export const JOB_STATES = ['running', 'waiting', 'delayed', 'failed'] as const;
export type JobState = (typeof JOB_STATES)[number];

export interface JobCounts {
  running: number;
  waiting: number;
  delayed: number;
  failed: number;
}

export interface WorkerStats extends JobCounts {
  /** The worker's name, as given to defineWorker. */
  worker: string;
}

/** A registered process with what it holds. */
export interface ProcessStats {
  id: string;
  host: string;
  pid: number;
  /** Null when unknown: a placeholder registration (jobs written for it before it registered), or a damaged one. */
  startedAt: Date | null;
  version: string;
  workers: string[];
  /** False once its heartbeat lapsed: its jobs are about to be taken over. */
  alive: boolean;
  /** Milliseconds since its last heartbeat; null when it lapsed. */
  heartbeatAge: number | null;
  running: number;
  waiting: number;
  delayed: number;
  /**
   * Set on a dead process whose jobs could not be taken over (a damaged key, a failing script):
   * what went wrong, when, and which process tried. Takeover keeps trying; fix or delete its keys.
   */
  takeoverError?: TakeoverFailure;
  /**
   * Set when its entry in Redis could not be read in full (its registration or its last report is
   * not what toniq writes): what is missing. What could be read is shown; unknown fields are '?',
   * 0 or null. Another program writing under the key prefix, or damage, leaves such entries.
   */
  damaged?: string;
}

/** Why the jobs of a dead process could not be taken over. */
export interface TakeoverFailure {
  message: string;
  /** Null when the note does not say (a damaged note). */
  at: Date | null;
  /** The id of the process that tried. */
  by: string;
}

export interface Stats {
  /** When the figures were read. */
  at: Date;
  totals: JobCounts;
  /** One entry per worker that has jobs or that a live process registers, by name. */
  workers: WorkerStats[];
  processes: ProcessStats[];
}

/** Jobs finished and failed per second, oldest second first. */
export interface Throughput {
  /** The start of the first second. */
  from: Date;
  /** How many seconds the arrays cover (the last is the current, incomplete second). */
  seconds: number;
  finished: number[];
  failed: number[];
}

export interface JobQuery {
  state: JobState;
  /** Only jobs of this worker. */
  worker?: string | undefined;
  /** Only jobs whose id, arguments (as util.inspect shows them) or error contain this text, case-insensitive. */
  search?: string | undefined;
  /** Jobs to skip. Default: 0. */
  offset?: number | undefined;
  /** Jobs to return, 1 to 500. Default: 50. */
  limit?: number | undefined;
}

/** A job in a list. */
export interface JobSummary {
  id: string;
  worker: string;
  state: JobState;
  /** The process that holds it; for a failed job, the one it failed on. */
  processId: string;
  /** Which try it is on (1 for the first run). */
  attempt: number;
  /** Null when unknown: the record cannot be read. */
  createdAt: Date | null;
  /** Delayed jobs: when due; null when kept until flushDelayedJobs(). */
  dueAt?: Date | null;
  /** Failed jobs: when it failed (null when neither the record nor the failed list says) and how many times it ran. */
  failedAt?: Date | null;
  attempts?: number;
  /** Failed jobs: the error's name and message (for a damaged record, an error that says so). */
  error?: { name: string; message: string };
  /** The arguments on one line, as util.inspect shows them, cut to 200 characters. */
  argsPreview: string;
  /** The version of the worker's arguments the job was stored with (defineWorker's `version`; 1 when none). */
  workerVersion: number;
  /** Why the job is where it is, when that needs saying (a held job waiting for a newer worker version). */
  note?: string;
}

/** One job with everything known about it. */
export interface JobDetail extends Omit<JobSummary, 'error'> {
  /** The arguments as util.inspect shows them (a Date stays a Date, a Map a Map). */
  args: string;
  error?: JobError;
}

export interface JobPage {
  jobs: JobSummary[];
  offset: number;
  limit: number;
  /** How many jobs match the query in all. */
  total: number;
  hasMore: boolean;
}

/** Which jobs an action applies to: some ids, or every job of a filtered list. */
export type ActionTarget =
  | { ids: string[] }
  | { all: true; worker?: string | undefined; search?: string | undefined };

export interface ActionResult {
  /** Ids the action was done to. */
  done: string[];
  /** Ids that were not found in the state the action needs (say, a failed job already retried). */
  missing: string[];
  /** Ids that were found but could not be acted on, with why (say, no live process registers the worker). */
  refused: Array<{ id: string; reason: string }>;
}

/** Who did an admin action, for the log line. */
export interface ActionSource {
  /** 'ui', 'api', 'cli' or what the app says. */
  via: string;
  /** The user, when auth tells. */
  user?: string | undefined;
}
