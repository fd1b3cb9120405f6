import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  InvalidOptionsError,
  MAX_RETRY_DELAY,
  noRetry,
  retryWithIncreasingDelay,
  retryWithoutDelay,
} from '../src/index.js';

const delays = (strategy: { delayAfterFailure(attempt: number, error: unknown): number | null }) => {
  const result: number[] = [];
  for (let attempt = 1; ; attempt++) {
    const delay = strategy.delayAfterFailure(attempt, new Error('x'));
    if (delay === null) return result;
    result.push(delay);
  }
};

describe('retry strategies', () => {
  it('retries 5 times by default, waiting attempt⁴ × 250 ms', () => {
    assert.deepEqual(delays(retryWithIncreasingDelay()), [250, 4000, 20250, 64000, 156250]);
  });

  it('takes another count and base delay', () => {
    assert.deepEqual(delays(retryWithIncreasingDelay({ retries: 2, baseDelay: 10 })), [10, 160]);
  });

  it('never asks for more than MAX_RETRY_DELAY (365 days), which the runner would refuse', () => {
    const waits = delays(retryWithIncreasingDelay({ retries: 200, baseDelay: 250 }));
    assert.equal(waits.length, 200);
    assert.equal(Math.max(...waits), MAX_RETRY_DELAY);
  });

  it('retries twice at once without delay', () => {
    assert.deepEqual(delays(retryWithoutDelay()), [0, 0]);
  });

  it('never retries with noRetry', () => {
    assert.deepEqual(delays(noRetry()), []);
  });

  it('refuses a negative or non-finite count', () => {
    assert.throws(() => retryWithIncreasingDelay({ retries: -1 }), InvalidOptionsError);
    assert.throws(() => retryWithoutDelay({ retries: Number.NaN }), InvalidOptionsError);
  });
});
