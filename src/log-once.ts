/**
 * "Log once per outage": a flag that lets the first report of a failure through, keeps the repeats
 * quiet, and tells when the failure is over, so that its end is logged once too. The store's
 * connection and the runtime's loops (delayed-jobs timer, takeover checks) each keep one.
 */
export class OnceUntilReset {
  #on = false;

  /** True the first time since the last reset (report it now), false while it lasts. */
  first(): boolean {
    if (this.#on) return false;
    this.#on = true;
    return true;
  }

  /** Ends the episode; true when one was on (report that it is over). */
  reset(): boolean {
    const was = this.#on;
    this.#on = false;
    return was;
  }

  /** Whether an episode is on. */
  get active(): boolean {
    return this.#on;
  }
}
