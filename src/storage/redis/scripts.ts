/**
 * Loads the Lua scripts beside this file and registers them on an ioredis client. Each script
 * is one atomic change; its header says what it guarantees, its KEYS, ARGV and return value.
 */
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';

const SCRIPTS = {
  addJobs: { file: 'add-jobs.lua', keys: 2 },
  addDelayedJobs: { file: 'add-delayed-jobs.lua', keys: 3 },
  scheduleRetry: { file: 'schedule-retry.lua', keys: 3 },
  takeDueJobs: { file: 'take-due-jobs.lua', keys: 3 },
  failJob: { file: 'fail-job.lua', keys: 3 },
  retryFailedJob: { file: 'retry-failed-job.lua', keys: 3 },
  deleteFailedJob: { file: 'delete-failed-job.lua', keys: 2 },
  keepAlive: { file: 'keep-alive.lua', keys: 2 },
  takeOverProcess: { file: 'take-over-process.lua', keys: 9 },
  endProcess: { file: 'end-process.lua', keys: 4 },
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
  for (const [name, { file, keys }] of Object.entries(SCRIPTS)) {
    redis.defineCommand(name, { numberOfKeys: keys, lua: source(file) });
  }
  return redis as ScriptedRedis;
}
