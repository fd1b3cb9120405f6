/**
 * The removals of finished jobs: a finished job is taken out of its process's jobs hash, all those
 * of one event-loop turn with one HDEL (one MULTI across processes). A removal Redis did not confirm
 * (Redis away) is kept and tried again with a backoff, and at once when the connection is back, so
 * that a job finished during an outage is not run again by a takeover once Redis returns.
 */

import { redisRetryDelay } from '../../timers.js';
import type { Keys } from '../keys.js';
import type { ScriptedRedis } from './scripts.js';

export class FinishQueue {
  readonly #client: () => ScriptedRedis;
  readonly #isReady: () => boolean;
  readonly #keys: Keys;
  /** Per process: ids finished here whose removal Redis has not confirmed yet. */
  readonly #finishes = new Map<string, Set<string>>();
  #waiters: Array<() => void> = [];
  #timer: NodeJS.Timeout | undefined;
  #immediate = false;
  #confirmed: Promise<void> | undefined;
  #failures = 0;
  #closed = false;

  /** `client` throws while the store is not open; `isReady` says whether the connection is up now. */
  constructor(options: { client: () => ScriptedRedis; isReady: () => boolean; keys: Keys }) {
    this.#client = options.client;
    this.#isReady = options.isReady;
    this.#keys = options.keys;
  }

  /** Resolves once Redis confirmed the removal (not before: after an outage, once it is back). */
  add(processId: string, ids: readonly string[]): Promise<void> {
    let pending = this.#finishes.get(processId);
    if (!pending) {
      pending = new Set();
      this.#finishes.set(processId, pending);
    }
    for (const id of ids) pending.add(id);
    // One promise for all the finishes until the next flush.
    if (!this.#confirmed) {
      this.#confirmed = new Promise((resolve) => {
        this.#waiters.push(resolve);
      });
    }
    this.#schedule(0);
    return this.#confirmed;
  }

  /** The connection is back: remove what is pending now instead of waiting for the backoff. */
  flushNow(): void {
    this.#schedule(0);
  }

  /** Tries once more to remove what is pending, then gives up and resolves every waiter. */
  async close(): Promise<void> {
    if (this.#finishes.size) await this.#flush().catch(() => {});
    this.#closed = true;
    clearTimeout(this.#timer);
    for (const waiter of this.#waiters) waiter();
    this.#waiters = [];
  }

  #schedule(delay: number): void {
    if (this.#closed || !this.#finishes.size) return;
    if (this.#immediate) return;
    if (delay > 0) {
      if (this.#timer) return;
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#run();
      }, delay);
      this.#timer.unref();
      return;
    }
    // Now, even if a retry after a failure is pending: once Redis is back there is no reason to wait.
    if (this.#timer && !this.#isReady()) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#immediate = true;
    setImmediate(() => {
      this.#immediate = false;
      this.#run();
    });
  }

  #run(): void {
    this.#flush().then(
      () => {
        this.#failures = 0;
      },
      () => {
        // Redis is away: keep the ids and try again; the connection has logged the outage.
        this.#failures++;
        this.#schedule(redisRetryDelay(this.#failures));
      },
    );
  }

  async #flush(): Promise<void> {
    const batches = [...this.#finishes];
    const waiters = this.#waiters;
    this.#confirmed = undefined;
    this.#finishes.clear();
    this.#waiters = [];
    try {
      // One command per process: on a Redis Cluster each process's jobs live in their own slot.
      await Promise.all(
        batches.map(([processId, ids]) => this.#client().hdel(this.#keys.process(processId).jobs, ...ids)),
      );
    } catch (error) {
      for (const [processId, ids] of batches) {
        const pending = this.#finishes.get(processId) ?? new Set();
        for (const id of ids) pending.add(id);
        this.#finishes.set(processId, pending);
      }
      this.#waiters.push(...waiters);
      throw error;
    }
    for (const waiter of waiters) waiter();
  }
}
