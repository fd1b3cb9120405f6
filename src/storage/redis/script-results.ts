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
  /** fail-job.lua */
  failJob: {
    1: 'moved', // to the failed list
    0: 'not-held', // the process no longer holds the job (taken over): nothing written
  },
  /** schedule-retry.lua */
  scheduleRetry: {
    1: 'moved', // to the process's delayed jobs
    0: 'not-held', // the process no longer holds the job (taken over): nothing written
  },
  /** keep-alive.lua */
  keepAlive: {
    1: 'registered-again', // it was not registered with its own info: first beat, or taken over
    0: 'beating', // registered as it was
  },
  /** end-process.lua */
  endProcess: {
    1: 'jobs-left', // it stays registered, for a takeover of the jobs it holds
    0: 'left', // it held nothing and left the registry
  },
  /** take-over-process.lua (the first element of its reply) */
  takeOverProcess: {
    1: 'taken-over',
    0: 'alive', // the process's heartbeat has not lapsed
    [-1]: 'same-process', // the taker is the dead process itself
    [-2]: 'taker-not-alive', // the taker's own heartbeat lapsed: it must not take jobs
    [-3]: 'not-registered', // already taken over (or never registered)
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
