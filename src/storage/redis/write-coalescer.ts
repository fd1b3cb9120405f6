/**
 * Coalesces the writes of one event-loop turn into one Redis command: all jobs enqueued in the
 * same turn go out as one script call, all finished jobs as one HDEL. This is what lets one
 * process persist far more jobs per second than a command per job would. Every caller of one
 * batch gets the same promise, so a batch of a thousand jobs costs one promise, not a thousand.
 *
 * With `serial` (writes that wait for replicas: a WAIT holds its connection), a batch goes out
 * only once the one before it settled, and everything added meanwhile joins it: a group commit,
 * and never a line of writes queued in Redis behind WAITs (an undo sent after a write that timed
 * out here must not wait behind them). The write gets the time its batch began, to keep to the
 * caller's time limit.
 */

export class WriteCoalescer<Item> {
  #pending: Item[] = [];
  #since = 0;
  #batch: Promise<void> | undefined;
  #settle: { resolve: () => void; reject: (error: unknown) => void } | undefined;
  #inFlight = false;
  readonly #write: (items: Item[], since: number) => Promise<unknown>;
  readonly #serial: boolean;

  constructor(write: (items: Item[], since: number) => Promise<unknown>, { serial = false } = {}) {
    this.#write = write;
    this.#serial = serial;
  }

  /** Resolves once the items were written as part of a batch; rejects with the batch's error. */
  add(items: readonly Item[]): Promise<void> {
    for (const item of items) this.#pending.push(item);
    if (!this.#batch) {
      this.#since = Date.now();
      this.#batch = new Promise((resolve, reject) => {
        this.#settle = { resolve, reject };
      });
      if (!this.#inFlight) setImmediate(() => this.#flush());
    }
    return this.#batch;
  }

  #flush(): void {
    if (!this.#batch) return;
    const items = this.#pending;
    const settle = this.#settle!;
    this.#pending = [];
    this.#batch = undefined;
    this.#settle = undefined;
    const written = this.#write(items, this.#since).then(settle.resolve, settle.reject);
    if (!this.#serial) return;
    this.#inFlight = true;
    void written.then(() => {
      this.#inFlight = false;
      this.#flush();
    });
  }
}
