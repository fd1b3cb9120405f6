/**
 * Coalesces the writes of one event-loop turn into one Redis command: all jobs enqueued in the
 * same turn go out as one script call, all finished jobs as one HDEL. This is what lets one
 * process persist far more jobs per second than a command per job would. Every caller of one
 * batch gets the same promise, so a batch of a thousand jobs costs one promise, not a thousand.
 */

export class WriteCoalescer<Item> {
  #pending: Item[] = [];
  #batch: Promise<void> | undefined;
  #settle: { resolve: () => void; reject: (error: unknown) => void } | undefined;
  readonly #write: (items: Item[]) => Promise<unknown>;

  constructor(write: (items: Item[]) => Promise<unknown>) {
    this.#write = write;
  }

  /** Resolves once the items were written as part of a batch; rejects with the batch's error. */
  add(items: readonly Item[]): Promise<void> {
    for (const item of items) this.#pending.push(item);
    if (!this.#batch) {
      this.#batch = new Promise((resolve, reject) => {
        this.#settle = { resolve, reject };
      });
      setImmediate(() => this.#flush());
    }
    return this.#batch;
  }

  #flush(): void {
    const items = this.#pending;
    const settle = this.#settle!;
    this.#pending = [];
    this.#batch = undefined;
    this.#settle = undefined;
    this.#write(items).then(settle.resolve, settle.reject);
  }
}
