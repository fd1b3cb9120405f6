/**
 * What the Lua scripts answer, mapped in this one place (as BullMQ's finishedErrors): a table per
 * script that returns a status, each code with its meaning, and one function that turns a reply
 * into that meaning, or throws for a code no script returns (a script and this table out of step).
 * The scripts that return data (ids, records, counts) are read where they are called. A script's
 * error replies are mapped in redis-errors.ts (scriptErrorOf), with the other Redis errors.
 */
import { ToniqError } from '../../errors.js';
import type { ScriptName } from './scripts.js';

/** Status code → meaning, per script (see each script's header in ./lua). */
const STATUSES = {
  /** add-jobs.lua */
  addJobs: {
    [-1]: 'closed', // the keyspace is not open: register the process first (nothing written)
  },
  /** add-delayed-jobs.lua */
  addDelayedJobs: {
    [-1]: 'closed', // the keyspace is not open: register the process first (nothing written)
    [-2]: 'not-alive', // asked to write only to a live process, and it is not (nothing written)
  },
  /** start-failing.lua */
  startFailing: {
    1: 'moved', // to the process's failing jobs, on its way to the failed list
    0: 'not-held', // the process no longer holds the job (taken over): nothing written
  },
  /** schedule-retry.lua */
  scheduleRetry: {
    1: 'moved', // to the process's delayed jobs
    0: 'not-held', // the process no longer holds the job (taken over): nothing written
  },
  /** register-process.lua */
  registerProcess: {
    1: 'registered-again', // it was not registered with its own info: first beat, or taken over
    0: 'registered',
  },
  /** beat.lua */
  beat: {
    1: 'taken-over', // a takeover's note was waiting: the process was taken over while paused
    0: 'beating',
  },
  /** end-process.lua */
  endProcess: {
    1: 'jobs-left', // it stays registered, for a takeover of the jobs it holds
    0: 'closed', // it held nothing: its keyspace is closed, and it may be forgotten
  },
  /** forget-process.lua */
  forgetProcess: {
    1: 'forgotten',
    0: 'registered-again', // registered again meanwhile: it stays
  },
  /** claim-process.lua */
  claimProcess: {
    1: 'claimed',
    0: 'alive', // the process's heartbeat has not lapsed
    [-4]: 'claimed-by-another', // another process is taking it over now
    [-3]: 'not-registered', // taken over already (its keyspace closed and empty): only forget it
  },
  /** drop-process-jobs.lua */
  dropProcessJobs: {
    1: 'dropped',
    0: 'claim-lost', // the taker's lease lapsed and another process claimed it
  },
  /** finish-takeover.lua */
  finishTakeover: {
    1: 'finished',
    2: 'jobs-left', // jobs were written meanwhile: copy another round
    0: 'claim-lost', // the taker's lease lapsed and another process claimed it
  },
  /** record-stats.lua */
  recordStats: {
    1: 'recorded',
  },
} as const satisfies Partial<Record<ScriptName, Record<number, string>>>;

export type ScriptWithStatus = keyof typeof STATUSES;
export type ScriptStatus<S extends ScriptWithStatus> = (typeof STATUSES)[S][keyof (typeof STATUSES)[S]];

/** A script answered a status its table does not have: the script and this file are out of step. */
export class UnexpectedScriptReplyError extends ToniqError {
  constructor(script: ScriptName, reply: unknown) {
    super(
      'TONIQ_UNEXPECTED_SCRIPT_REPLY',
      `The Redis script ${script} answered ${JSON.stringify(reply)}, which toniq does not know. ` +
        'Is a newer or older toniq running against the same Redis with the same key prefix? Run one version of toniq per key prefix.',
    );
  }
}

/** What a script's status code means; throws UnexpectedScriptReplyError for a code it never returns. */
export function statusOf<S extends ScriptWithStatus>(script: S, status: unknown): ScriptStatus<S> {
  const table: Record<number, string> = STATUSES[script];
  if (typeof status !== 'number' || !Object.hasOwn(table, status)) {
    throw new UnexpectedScriptReplyError(script, status);
  }
  return table[status] as ScriptStatus<S>;
}
