/**
 * Loads the Lua scripts beside this file and registers them on an ioredis client. Each script
 * is one atomic change; its header says what it guarantees, its KEYS, ARGV and return value.
 */
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';

/** `counts`: the script keeps the per-worker counts, with the helpers of lua/lib/job-counts.lua. */
const SCRIPTS = {
  addJobs: { file: 'add-jobs.lua', keys: 2 },
  addDelayedJobs: { file: 'add-delayed-jobs.lua', keys: 4, counts: true },
  removeDelayedJobs: { file: 'remove-delayed-jobs.lua', keys: 3, counts: true },
  scheduleRetry: { file: 'schedule-retry.lua', keys: 4, counts: true },
  takeDueJobs: { file: 'take-due-jobs.lua', keys: 4, counts: true },
  failJob: { file: 'fail-job.lua', keys: 4, counts: true },
  retryFailedJob: { file: 'retry-failed-job.lua', keys: 4, counts: true },
  requeueFailedJob: { file: 'requeue-failed-job.lua', keys: 6, counts: true },
  deleteFailedJob: { file: 'delete-failed-job.lua', keys: 3, counts: true },
  keepAlive: { file: 'keep-alive.lua', keys: 2 },
  takeOverProcess: { file: 'take-over-process.lua', keys: 10 },
  endProcess: { file: 'end-process.lua', keys: 4 },
  recordStats: { file: 'record-stats.lua', keys: 2 },
} as const;

export type ScriptName = keyof typeof SCRIPTS;

type ScriptArg = string | number | Buffer;
/** The client with the scripts as commands; the `…Buffer` variants return records as Buffers. */
export type ScriptedRedis = Redis & {
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

export function defineScripts(redis: Redis): ScriptedRedis {
  for (const [name, script] of Object.entries(SCRIPTS)) {
    const lua =
      'counts' in script ? `${source('lib/job-counts.lua')}\n${source(script.file)}` : source(script.file);
    redis.defineCommand(name, { numberOfKeys: script.keys, lua });
  }
  return redis as ScriptedRedis;
}
