/**
 * Coalesces the writes of one event-loop turn into one Redis command: all jobs enqueued in the
 * same turn go out as one HSET, all finished jobs as one HDEL. This is what lets one process
 * persist far more jobs per second than a command per job would.
 */

export class WriteCoalescer<Item> {
  #pending: Item[] = [];
  #waiters: Array<{ resolve: () => void; reject: (error: unknown) => void }> = [];
  #scheduled = false;
  readonly #write: (items: Item[]) => Promise<unknown>;

  constructor(write: (items: Item[]) => Promise<unknown>) {
    this.#write = write;
  }

  /** Resolves once the item was written as part of a batch; rejects with the batch's error. */
  add(items: readonly Item[]): Promise<void> {
    for (const item of items) this.#pending.push(item);
    return new Promise((resolve, reject) => {
      this.#waiters.push({ resolve, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => this.#flush());
      }
    });
  }

  #flush(): void {
    this.#scheduled = false;
    const items = this.#pending;
    const waiters = this.#waiters;
    this.#pending = [];
    this.#waiters = [];
    this.#write(items).then(
      () => {
        for (const waiter of waiters) waiter.resolve();
      },
      (error: unknown) => {
        for (const waiter of waiters) waiter.reject(error);
      },
    );
  }
}
