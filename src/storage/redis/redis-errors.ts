/**
 * What an error of ioredis or Redis means for toniq, decided here once: a key of another type
 * (DamagedKeyError naming it), the connection down or too slow, or a refusal Redis explains. The
 * store turns them into toniq's errors so that no caller above it (the admin HTTP handler, the
 * CLI) has to recognise Redis's or ioredis's messages.
 */
import { DamagedKeyError, isKnownRedisRefusal, RedisRequestError } from '../../errors.js';

/**
 * The DamagedKeyError an error reply of Redis stands for, or undefined: a script's refusal
 * (TONIQ_DAMAGED_KEY <key> holds a <type>, expected a <type>), or WRONGTYPE from a command
 * whose first argument is the key.
 */
export function damagedKeyOf(error: unknown): DamagedKeyError | undefined {
  if (!(error instanceof Error) || error.name !== 'ReplyError') return undefined;
  const refusal = /^TONIQ_DAMAGED_KEY (.+) holds an? (\w+), expected an? (\w+)/.exec(error.message);
  if (refusal) {
    return new DamagedKeyError(refusal[1]!, `it holds a ${refusal[2]} where toniq keeps a ${refusal[3]}`, {
      cause: error,
    });
  }
  const key = (error as { command?: { args?: unknown[] } }).command?.args?.[0];
  if (error.message.startsWith('WRONGTYPE') && typeof key === 'string') {
    return new DamagedKeyError(key, 'it holds a value of another type than toniq keeps there', {
      cause: error,
    });
  }
  return undefined;
}

/**
 * Whether `error` says the connection to Redis is down or too slow (ioredis's own errors for a
 * closed connection, a command timeout or retries given up, or a socket error code), rather than
 * something Redis answered. ioredis throws these as plain Errors, so they are matched by name,
 * code and its fixed messages.
 */
export function isRedisConnectionLoss(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  return (
    error.name === 'MaxRetriesPerRequestError' ||
    (typeof code === 'string' && CONNECTION_ERROR_CODES.has(code)) ||
    IOREDIS_CONNECTION_MESSAGES.has(error.message)
  );
}

const CONNECTION_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);

const IOREDIS_CONNECTION_MESSAGES = new Set([
  'Connection is closed.',
  'Command timed out',
  "Stream isn't writeable and enableOfflineQueue options is false",
]);

/**
 * The toniq error for a failed request (`request` names it: "the admin's request"): a damaged key,
 * the connection lost, or a refusal Redis explains; any other error (a bug in a script) as it is.
 */
export function requestErrorOf(error: unknown, request: string): unknown {
  const damaged = damagedKeyOf(error);
  if (damaged) return damaged;
  if (isRedisConnectionLoss(error)) {
    return new RedisRequestError('TONIQ_REDIS_UNAVAILABLE', request, { cause: error as Error });
  }
  if (isKnownRedisRefusal(error)) {
    return new RedisRequestError('TONIQ_REDIS_REFUSED', request, { cause: error as Error });
  }
  return error;
}

/** Runs a request, its failure turned into toniq's error by requestErrorOf. */
export async function asRequest<T>(request: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw requestErrorOf(error, request);
  }
}

/**
 * The error a script's error reply stands for. Scripts raise two of their own (lua/lib/guards.lua):
 * - TONIQ_DAMAGED_KEY <key> holds a <type>, expected a <type> → DamagedKeyError (nothing written);
 * - TONIQ_BAD_SCORE <value> → left as Redis's reply: toniq passed a time ZADD would refuse, a bug.
 * Any other reply (OOM, NOPERM, …) is left as it is for the caller to describe.
 */
export function scriptErrorOf(error: unknown): unknown {
  return damagedKeyOf(error) ?? error;
}
