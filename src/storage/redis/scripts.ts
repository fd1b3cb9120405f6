/**
 * Loads the Lua scripts beside this file and registers them on an ioredis client. Each script
 * is one atomic change; its header says what it guarantees, its KEYS, ARGV and return value.
 */
import { readFileSync } from 'node:fs';
import type { Cluster, Redis } from 'ioredis';
import { scriptErrorOf } from './redis-errors.js';

/**
 * Every script starts with lua/lib/guards.lua (expect_types: its keys' types are checked before
 * its first write, as Redis keeps the writes made before an error). `libs`: the other helpers it
 * is prepended with, in order: 'job-counts' (the per-worker counts) and 'job-moves' (the steps of
 * moving a job between places that several scripts share; it needs job-counts).
 */
const MOVES = ['job-counts', 'job-moves'];
const SCRIPTS = {
  // In a process's keyspace (one slot: its hash tag).
  addJobs: { file: 'add-jobs.lua', keys: 2 },
  addDelayedJobs: { file: 'add-delayed-jobs.lua', keys: 5, libs: MOVES },
  removeDelayedJobs: { file: 'remove-delayed-jobs.lua', keys: 3, libs: MOVES },
  scheduleRetry: { file: 'schedule-retry.lua', keys: 4, libs: MOVES },
  takeDueJobs: { file: 'take-due-jobs.lua', keys: 4, libs: MOVES },
  startFailing: { file: 'start-failing.lua', keys: 2 },
  makeDelayedJobsDue: { file: 'make-delayed-jobs-due.lua', keys: 1 },
  beat: { file: 'beat.lua', keys: 3 },
  endProcess: { file: 'end-process.lua', keys: 6 },
  claimProcess: { file: 'claim-process.lua', keys: 8 },
  readProcessJobs: { file: 'read-process-jobs.lua', keys: 5 },
  dropProcessJobs: { file: 'drop-process-jobs.lua', keys: 6, libs: MOVES },
  finishTakeover: { file: 'finish-takeover.lua', keys: 6 },
  // In the app's shared keys (one slot: the app's hash tag).
  addFailedJobs: { file: 'add-failed-jobs.lua', keys: 3, libs: MOVES },
  claimFailedJobs: { file: 'claim-failed-jobs.lua', keys: 2 },
  deleteFailedJobs: { file: 'delete-failed-jobs.lua', keys: 4, libs: MOVES },
  registerProcess: { file: 'register-process.lua', keys: 2 },
  forgetProcess: { file: 'forget-process.lua', keys: 4 },
  recordStats: { file: 'record-stats.lua', keys: 2 },
} as const;

export type ScriptName = keyof typeof SCRIPTS;

type ScriptArg = string | number | Buffer;
/**
 * The client (one server or a Cluster: defineCommand exists on both) with the scripts as
 * commands; the `…Buffer` variants return records as Buffers.
 */
export type ScriptedRedis = (Redis | Cluster) & {
  [K in ScriptName]: (...args: ScriptArg[]) => Promise<unknown>;
} & {
  [K in ScriptName as `${K}Buffer`]: (...args: ScriptArg[]) => Promise<unknown>;
};

const sources = new Map<string, string>();
function source(file: string): string {
  let text = sources.get(file);
  if (text === undefined) {
    text = readFileSync(new URL(`./lua/${file}`, import.meta.url), 'utf8');
    sources.set(file, text);
  }
  return text;
}

export function defineScripts(redis: Redis | Cluster): ScriptedRedis {
  for (const [name, script] of Object.entries(SCRIPTS)) {
    const libs = ['guards', ...('libs' in script ? script.libs : [])].map((lib) => `lib/${lib}.lua`);
    const lua = [...libs, script.file].map(source).join('\n');
    redis.defineCommand(name, { numberOfKeys: script.keys, lua });
    // A script's refusal of a damaged key (lib/guards.lua) becomes a DamagedKeyError naming it.
    const scripted = redis as unknown as Record<string, (...args: ScriptArg[]) => Promise<unknown>>;
    for (const command of [name, `${name}Buffer`]) {
      const call = scripted[command]!;
      // Not bound: a pipeline copies these methods and calls them on itself, to queue the script
      // there (it then returns the pipeline, not a promise).
      scripted[command] = function (this: unknown, ...args) {
        const sent = call.apply(this ?? redis, args) as Promise<unknown> | object;
        if (!(sent instanceof Promise)) return sent as Promise<unknown>;
        return sent.catch((error: unknown) => {
          throw scriptErrorOf(error);
        });
      };
    }
  }
  return redis as ScriptedRedis;
}
