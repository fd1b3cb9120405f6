/**
 * Runs at most `max` tasks at once; the others wait in memory, first in, first out.
 * One limiter per worker that has a maxConcurrency. The waiting jobs stay persisted in Redis,
 * so a crash loses none of them.
 */

export class ConcurrencyLimiter {
  readonly max: number;
  #running = 0;
  // A queue as an array with a moving head: shift() on 100k waiting jobs would be quadratic.
  #waiting: Array<() => Promise<void>> = [];
  #head = 0;

  constructor(max: number) {
    this.max = max;
  }

  get running(): number {
    return this.#running;
  }

  get waiting(): number {
    return this.#waiting.length - this.#head;
  }

  run(task: () => Promise<void>): void {
    if (this.#running < this.max) this.#start(task);
    else this.#waiting.push(task);
  }

  /** Forgets the waiting tasks (on stop: their jobs stay persisted). */
  clear(): void {
    this.#waiting = [];
    this.#head = 0;
  }

  #start(task: () => Promise<void>): void {
    this.#running++;
    task().finally(() => {
      this.#running--;
      const next = this.#next();
      if (next) this.#start(next);
    });
  }

  #next(): (() => Promise<void>) | undefined {
    if (this.#head >= this.#waiting.length) return undefined;
    const task = this.#waiting[this.#head]!;
    this.#waiting[this.#head] = undefined as never;
    this.#head++;
    if (this.#head > 1024 && this.#head * 2 > this.#waiting.length) {
      this.#waiting = this.#waiting.slice(this.#head);
      this.#head = 0;
    }
    return task;
  }
}
