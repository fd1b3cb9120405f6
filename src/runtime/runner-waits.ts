/**
 * Two waits of the runner:
 * - untilStored tries a store call until it lands: the runner's way to record an outcome (retry scheduled,
 *   moved to the failed list) while Redis is away. The job stays stored meanwhile, so giving up
 *   (toniq stops) at worst runs it again. The failure is logged once per call, not per try.
 * - IdleSignal lets stop() wait until no job runs or waits, with a timeout of any length.
 */
import type { Logger } from '../logger.js';
import {
  clearLongTimeout,
  type LongTimeout,
  type LoopWatch,
  redisRetryDelay,
  setLongTimeout,
} from '../timers.js';

export interface UntilStoredOptions {
  logger: Logger;
  /** Tells a call that timed out because the event loop was blocked from a Redis failure. */
  loopWatch?: LoopWatch | undefined;
  /** Asked after each failure: true gives up, resolving undefined. */
  abandon: () => boolean;
}

export async function untilStored<T>(
  what: string,
  call: () => Promise<T>,
  { logger, loopWatch, abandon }: UntilStoredOptions,
): Promise<T | undefined> {
  let logged = false;
  for (let failures = 0; ; failures++) {
    const startedAt = Date.now();
    try {
      return await call();
    } catch (error) {
      if (abandon()) return undefined;
      // A timeout because a job blocked the loop is said by the watch (once), not as a Redis failure.
      if (!logged && !loopWatch?.explain(startedAt, `a call to ${what}`)) {
        logged = true;
        logger.error({ err: error }, `Could not ${what}; trying again until Redis answers.`);
      }
      await new Promise((resolve) => setTimeout(resolve, redisRetryDelay(failures)));
    }
  }
}

/** Resolves waiters once the runner says it is idle (no job running or waiting). */
export class IdleSignal {
  readonly #isIdle: () => boolean;
  #waiters: Array<() => void> = [];

  constructor(isIdle: () => boolean) {
    this.#isIdle = isIdle;
  }

  /** Resolves true once idle, or false after `timeout` ms (Infinity waits for ever; 2³¹ ms or more is not 1 ms). */
  async wait(timeout: number): Promise<boolean> {
    if (this.#isIdle()) return true;
    let timer: LongTimeout | undefined;
    const idle = await Promise.race([
      new Promise<boolean>((resolve) => this.#waiters.push(() => resolve(true))),
      new Promise<boolean>((resolve) => {
        timer = setLongTimeout(() => resolve(false), timeout);
      }),
    ]);
    clearLongTimeout(timer);
    return idle;
  }

  /** The runner became idle: resolves every waiter. */
  reached(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiters) waiter();
  }
}
