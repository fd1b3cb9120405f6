/**
 * Retry strategies decide, after a failed attempt, whether a job runs again and after how long.
 * They are pure: no clock, no I/O.
 */
import { InvalidOptionsError, RetryStrategyError } from '../errors.js';

export interface RetryStrategy {
  /**
   * Called after attempt number `attempt` (1 for the first run) failed.
   * Returns the milliseconds to wait before the next attempt (a number from 0 to
   * MAX_RETRY_DELAY, 365 days), or `null` to give up and move the job to the failed list.
   * Anything else (a string, NaN, a negative number, Infinity, more than 365 days, an object),
   * or a throw, moves the job to the failed list with a RetryStrategyError that says what the
   * strategy answered.
   */
  delayAfterFailure(attempt: number, error: unknown): number | null;
}

/** The longest wait a retry strategy may ask for: 365 days, in ms. */
export const MAX_RETRY_DELAY = 365 * 24 * 60 * 60 * 1000;

/** What is wrong with a strategy's answer, as "returned …", or undefined when it is valid. */
export function retryAnswerProblem(answer: unknown): string | undefined {
  if (answer === null) return undefined;
  if (typeof answer === 'number' && answer >= 0 && answer <= MAX_RETRY_DELAY) return undefined;
  const shown =
    typeof answer === 'string'
      ? `the string ${JSON.stringify(answer)}`
      : typeof answer === 'number' || typeof answer === 'bigint' || answer === undefined
        ? String(answer)
        : typeof answer === 'object'
          ? `an ${Array.isArray(answer) ? 'array' : 'object'}`
          : `a ${typeof answer}`;
  return `returned ${shown}`;
}

/**
 * Asks a strategy how long to wait after attempt `attempt` of a `workerName` job failed: a
 * number of ms, null to give up, or a RetryStrategyError when the strategy threw or answered
 * something else. The job then goes to the failed list with that error, rather than being parked
 * for ever (Infinity), due at a concatenated time ('100'), or quietly given up on (-1, NaN).
 * `own` says whether the strategy is the worker's own (for the message).
 */
export function askRetryStrategy(
  strategy: RetryStrategy,
  own: boolean,
  workerName: string,
  attempt: number,
  error: Error,
): number | null | RetryStrategyError {
  const kind = strategy?.constructor?.name;
  const name =
    (own ? "its own, defineWorker's retry option" : "the toniq instance's retry option") +
    (kind && kind !== 'Object' ? `, a ${kind}` : '');
  let answer: unknown;
  try {
    answer = strategy.delayAfterFailure(attempt, error);
  } catch (thrown) {
    const shown = thrown instanceof Error ? `${thrown.name}: ${thrown.message}` : String(thrown);
    return new RetryStrategyError(workerName, name, attempt, `threw ${shown}`, MAX_RETRY_DELAY, {
      cause: error,
      answer: thrown,
    });
  }
  const problem = retryAnswerProblem(answer);
  if (!problem) return answer as number | null;
  return new RetryStrategyError(workerName, name, attempt, problem, MAX_RETRY_DELAY, {
    cause: error,
    answer,
  });
}

/**
 * The default: retries `retries` times (default 5), waiting attempt⁴ × `baseDelay` ms
 * (default 250 ms) after each failed attempt: 250 ms, 4 s, 20.25 s, 64 s, 156.25 s; at most
 * MAX_RETRY_DELAY (365 days).
 *
 * @example retryWithIncreasingDelay({ retries: 10 })
 */
export function retryWithIncreasingDelay(
  options: { retries?: number; baseDelay?: number } = {},
): RetryStrategy {
  const retries = checkCount('retries', options.retries ?? 5);
  const baseDelay = checkCount('baseDelay', options.baseDelay ?? 250);
  return {
    // Capped, so that many retries or a large base never ask for more than a strategy may.
    delayAfterFailure: (attempt) =>
      attempt <= retries ? Math.min(attempt ** 4 * baseDelay, MAX_RETRY_DELAY) : null,
  };
}

/**
 * Retries `retries` times (default 2) at once, so a job runs at most 3 times.
 *
 * @example retryWithoutDelay({ retries: 1 })
 */
export function retryWithoutDelay(options: { retries?: number } = {}): RetryStrategy {
  const retries = checkCount('retries', options.retries ?? 2);
  return { delayAfterFailure: (attempt) => (attempt <= retries ? 0 : null) };
}

/** Never retries: the first failure moves the job to the failed list. */
export function noRetry(): RetryStrategy {
  return { delayAfterFailure: () => null };
}

function checkCount(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) {
    throw new InvalidOptionsError(
      `The retry strategy's ${name} must be a finite number ≥ 0, got ${String(value)}.`,
    );
  }
  return value;
}
