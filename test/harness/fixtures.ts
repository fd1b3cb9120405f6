/**
 * What most tests need: a Redis server per file, a fresh key prefix and toniq per test, a
 * logger that records lines, and one fixture worker whose arguments choose the outcome.
 */
import { randomBytes } from 'node:crypto';
import { after, before } from 'node:test';
import { createToniq, defineWorker, type Logger, type Toniq, type ToniqOptions } from '../../src/index.js';
import { type StartRedisOptions, startRedis, type TestRedis } from './redis-server.js';
import { trapLogLine } from './traps.js';

export interface LogLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  msg: string;
  obj: Record<string, unknown>;
}

/**
 * A pino-shaped logger that keeps every line for assertions. A "listener threw" line fails the
 * test (traps.ts) unless the test calls allowListenerThrows().
 */
export function recordingLogger(): Logger & { lines: LogLine[]; text(level?: LogLine['level']): string } {
  const lines: LogLine[] = [];
  const write = (level: LogLine['level']) => (obj: object, msg: string) => {
    lines.push({ level, msg, obj: obj as Record<string, unknown> });
    trapLogLine(msg, (obj as { err?: unknown }).err);
  };
  return {
    lines,
    text: (level) =>
      lines
        .filter((line) => !level || line.level === level)
        .map((line) => line.msg)
        .join('\n'),
    debug: write('debug'),
    info: write('info'),
    warn: write('warn'),
    error: write('error'),
  };
}

/**
 * Heartbeat timings for tests about takeover: a dead process is noticed in about half a second
 * rather than the default 10 s (test/default-timings.test.ts measures the defaults).
 */
export const FAST_TAKEOVER = { heartbeatInterval: 50, deadAfter: 500, takeoverCheckInterval: 50 } as const;

export const randomPrefix = () => `test-${randomBytes(4).toString('hex')}`;

/** Starts one redis-server for the test file, stopped after it. */
export function useRedis(options?: StartRedisOptions): { readonly redis: TestRedis } {
  const holder = {} as { redis: TestRedis };
  before(async () => {
    holder.redis = await startRedis(options);
  });
  after(async () => {
    await holder.redis?.stop();
  });
  return holder;
}

/** Creates and starts toniq instances on the file's Redis with a fresh prefix; stops them all after the file. */
export function toniqFactory(holder: { readonly redis: TestRedis }) {
  const started: Toniq[] = [];
  after(async () => {
    await Promise.all(started.map((toniq) => toniq.stop({ timeout: 100 })));
  });
  return async (
    options: ToniqOptions = {},
  ): Promise<Toniq & { logger: ReturnType<typeof recordingLogger> }> => {
    const logger = recordingLogger();
    const toniq = createToniq({ redisUrl: holder.redis.url, keyPrefix: randomPrefix(), logger, ...options });
    started.push(toniq);
    await toniq.start();
    return Object.assign(toniq, { logger: (options.logger as ReturnType<typeof recordingLogger>) ?? logger });
  };
}

export type Outcome =
  | { do: 'succeed' }
  | { do: 'throw'; message?: string }
  | { do: 'throw-string' }
  | { do: 'throw-undefined' }
  | { do: 'throw-object' }
  | { do: 'throw-sync' }
  | { do: 'hang' }
  | { do: 'sleep'; ms: number }
  | { do: 'fail-times'; times: number; key: string };

const failuresSoFar = new Map<string, number>();

/** The fixture worker: its arguments choose what it does. */
export const fixtureWorker = defineWorker('Fixture', (args: Outcome) => {
  switch (args.do) {
    case 'succeed':
      return undefined;
    case 'throw':
      return Promise.reject(new Error(args.message ?? 'boom'));
    case 'throw-string':
      throw 'a plain string';
    case 'throw-undefined':
      throw undefined;
    case 'throw-object':
      throw { reason: 'an object' };
    case 'throw-sync':
      throw new TypeError('thrown synchronously');
    case 'hang':
      return new Promise(() => {});
    case 'sleep':
      return new Promise((resolve) => setTimeout(resolve, args.ms));
    case 'fail-times': {
      const failures = failuresSoFar.get(args.key) ?? 0;
      if (failures < args.times) {
        failuresSoFar.set(args.key, failures + 1);
        throw new Error(`failure ${failures + 1} of ${args.times}`);
      }
      return undefined;
    }
  }
});

/** The keys that hold jobs (not the process registry or heartbeats), optionally of one process. */
export async function jobKeys(
  client: { keys(pattern: string): Promise<string[]> },
  processId = '',
): Promise<string[]> {
  const keys = await client.keys('*');
  return (
    keys
      .filter((key) => /:(jobs|delayed|delayed-jobs|failing|failed|failed-index)(:|$)/.test(key))
      // A process's own keys are under {prefix:processId} (src/storage/keys.ts).
      .filter((key) => !processId || key.includes(`:${processId}}:`))
      .sort()
  );
}
