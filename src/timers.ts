/**
 * Timers and durations, in one place:
 * 1. `durationProblem` checks a duration option, so every option says the same about the same
 *    mistake. Node's timers hold at most 2³¹−1 ms (about 24.8 days): a longer delay (or Infinity)
 *    is silently turned into 1 ms, so a timeout of Infinity would fire at once and an interval of
 *    3e9 would become a busy loop. Options that feed a timer are refused beyond that.
 * 2. `setLongTimeout` waits any finite delay, chaining timers when it exceeds what one can hold
 *    (a worker's timeout, stop's timeout, a retry in memory).
 * 3. `LoopWatch` tells a blocked event loop from a slow Redis: after a job's synchronous code
 *    held the loop for 30 s, every Redis call that was waiting times out at once, although Redis
 *    answered in time. Callers ask it before they log such a failure as a Redis problem.
 */
import type { Logger } from './logger.js';

/** The longest delay a Node timer holds: 2³¹−1 ms, about 24.8 days. */
export const MAX_TIMER_DELAY = 2 ** 31 - 1;

/** The latest time a Date can hold, in epoch ms (±8.64e15, 100 million days from 1970). */
export const MAX_DATE_MS = 8.64e15;

/**
 * How long to wait before trying Redis again after `failures` failed tries in a row (0 for the
 * first retry), in ms: quick at first, then every 2 s. The one backoff for reconnecting, for
 * re-sending finished jobs' removals, and for the runner's outcome writes.
 */
const REDIS_RETRY_BACKOFF_MS = [100, 200, 500, 1000, 2000] as const;

export function redisRetryDelay(failures: number): number {
  return REDIS_RETRY_BACKOFF_MS[Math.min(Math.max(0, failures), REDIS_RETRY_BACKOFF_MS.length - 1)]!;
}

/**
 * What is wrong with `value` as a duration in ms, or undefined when it is fine: a number > 0
 * (≥ 0 with `allowZero`), at most `max` (default MAX_TIMER_DELAY), or Infinity when
 * `allowInfinity` (meaning "no limit"). The caller puts the option's name in front.
 */
export interface DurationRange {
  allowZero?: boolean;
  allowInfinity?: boolean;
  /** Default: MAX_TIMER_DELAY. */
  max?: number;
  /** Default: 0 with allowZero, else 1. */
  min?: number;
}

export function durationProblem(value: unknown, range: DurationRange = {}): string | undefined {
  const { allowZero = false, allowInfinity = false, max = MAX_TIMER_DELAY } = range;
  const min = range.min ?? (allowZero ? 0 : 1);
  if (value === Infinity && allowInfinity) return undefined;
  const allowed =
    (max === Infinity
      ? `a number of milliseconds ≥ ${min}`
      : `a number of milliseconds from ${min} to ${max}` +
        (max === MAX_TIMER_DELAY ? ' (2³¹−1, about 24.8 days, the longest a timer holds)' : '')) +
    (allowInfinity ? ', or Infinity for no limit' : '');
  if (
    typeof value !== 'number' ||
    Number.isNaN(value) ||
    value < min ||
    value > max ||
    (value === Infinity && !allowInfinity)
  ) {
    return `must be ${allowed}; got ${describe(value)}`;
  }
  return undefined;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || value === undefined || value === null) return String(value);
  if (typeof value === 'object') return `an ${Array.isArray(value) ? 'array' : 'object'}`;
  return `a ${typeof value}`;
}

/** A timer that `clearLongTimeout` cancels, whatever its length. */
export interface LongTimeout {
  timer: NodeJS.Timeout | undefined;
}

/**
 * Like setTimeout, for any delay: one longer than a timer holds is waited in steps. Infinity
 * never fires. `unref` as for a timer (the default keeps the process alive, as setTimeout does).
 */
export function setLongTimeout(callback: () => void, delay: number, unref = false): LongTimeout {
  const handle: LongTimeout = { timer: undefined };
  if (delay === Infinity) return handle;
  const due = Date.now() + Math.max(0, delay);
  const step = () => {
    const left = due - Date.now();
    if (left > MAX_TIMER_DELAY) {
      handle.timer = setTimeout(step, MAX_TIMER_DELAY);
    } else {
      handle.timer = setTimeout(callback, Math.max(0, left));
    }
    if (unref) handle.timer.unref();
  };
  if (delay <= MAX_TIMER_DELAY) {
    handle.timer = setTimeout(callback, Math.max(0, delay));
    if (unref) handle.timer.unref();
  } else step();
  return handle;
}

export function clearLongTimeout(handle: LongTimeout | undefined): void {
  if (handle) clearTimeout(handle.timer);
}

/** How often the watch ticks, in ms: a tick later than this by more than `blockedAfter` was blocked. */
const WATCH_TICK = 250;

/**
 * Notices when the event loop was blocked. It ticks every 250 ms; a tick that comes much later
 * than planned means the loop was held meanwhile. `explain(startedAt)` answers whether a call
 * begun at `startedAt` may have failed for that reason, and logs it (at warn level, once per
 * blocked stretch): a blocked loop is not a Redis failure, and saying so sends the reader to the
 * job's synchronous code instead of to Redis.
 */
export class LoopWatch {
  readonly #logger: Logger;
  readonly #blockedAfter: number;
  #timer: NodeJS.Timeout | undefined;
  #lastTick = Date.now();
  /** The blocked stretches seen lately (start and end, epoch ms), newest last. */
  #stretches: Array<{ from: number; to: number; logged: boolean }> = [];

  constructor(logger: Logger, { blockedAfter = 1000 } = {}) {
    this.#logger = logger;
    this.#blockedAfter = blockedAfter;
  }

  start(): void {
    if (this.#timer) return;
    this.#lastTick = Date.now();
    this.#timer = setInterval(() => this.#tick(), WATCH_TICK);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #tick(): void {
    this.#noteStretchUntil(Date.now());
    // A minute of history is plenty: calls time out within enqueueTimeout.
    const keepFrom = Date.now() - 60_000;
    while (this.#stretches.length && this.#stretches[0]!.to < keepFrom) this.#stretches.shift();
  }

  /** Records the gap since the last tick if it was long, then counts `now` as a tick. */
  #noteStretchUntil(now: number): void {
    const gap = now - this.#lastTick - WATCH_TICK;
    if (gap > this.#blockedAfter) {
      const from = this.#lastTick + WATCH_TICK;
      const last = this.#stretches.at(-1);
      if (!last || last.from !== from) this.#stretches.push({ from, to: now, logged: false });
      else last.to = now;
    }
    this.#lastTick = now;
  }

  /**
   * Whether the loop was blocked for more than half of the time since `startedAt` (so a call
   * begun then that timed out most likely did so because of it). If so, logs it once per
   * blocked stretch, with `what` (like "check for due delayed jobs"), and returns how long it was
   * blocked; otherwise returns 0.
   */
  explain(startedAt: number, what: string): number {
    if (!this.#timer) return 0;
    // The call's failure can be handled before the watch's own late tick: look at the gap now.
    const now = Date.now();
    if (now - this.#lastTick - WATCH_TICK > this.#blockedAfter) this.#noteStretchUntil(now);
    let blocked = 0;
    let stretch: { from: number; to: number; logged: boolean } | undefined;
    for (const candidate of this.#stretches) {
      const overlap = Math.min(candidate.to, now) - Math.max(candidate.from, startedAt);
      if (overlap > 0 && overlap > blocked) {
        blocked = candidate.to - candidate.from;
        stretch = candidate;
      }
    }
    if (!stretch || blocked * 2 < now - startedAt) return 0;
    if (!stretch.logged) {
      stretch.logged = true;
      this.#logger.warn(
        { blockedFor: blocked },
        `The event loop of this process was blocked for ${(blocked / 1000).toFixed(1)} s, so calls to Redis ` +
          `waiting meanwhile timed out (the first: ${what}); Redis itself may be fine, and they are tried again. ` +
          `The usual cause is a job's synchronous code (CPU work, a sync file or crypto call, a huge JSON.parse): ` +
          `move it to a worker thread or split it with await.`,
      );
    }
    return blocked;
  }
}
