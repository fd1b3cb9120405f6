/**
 * Graceful shutdown on SIGTERM / SIGINT, for apps that want toniq to handle it: a PaaS sends
 * SIGTERM before it restarts a process, and the jobs still running are handed over.
 */
import { InvalidOptionsError } from './errors.js';
import { durationProblem } from './timers.js';
import type { Toniq } from './toniq.js';

export interface StopOnSignalsOptions {
  /** Signals to handle. Default: ['SIGTERM', 'SIGINT']. */
  signals?: NodeJS.Signals[];
  /** How long stop() waits for running jobs before handing them over, in ms. Default: 25 000 (under most platforms' 30 s grace). */
  timeout?: number;
  /** Exit the process once stopped. Default: true (with code 0). */
  exit?: boolean;
}

/**
 * Stops toniq when the process receives a signal, then exits. Returns a function that removes
 * the handlers.
 *
 * @example stopOnSignals(toniq, { timeout: 10_000 });
 */
export function stopOnSignals(toniq: Toniq, options: StopOnSignalsOptions = {}): () => void {
  const problem = durationProblem(options.timeout, { allowZero: true, allowInfinity: true, max: Infinity });
  if (options.timeout !== undefined && problem) {
    // Said now, not when the signal comes and the app is going down.
    throw new InvalidOptionsError(`stopOnSignals: timeout ${problem}.`);
  }
  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
  const handler = (signal: NodeJS.Signals) => {
    remove();
    void toniq.stop({ timeout: options.timeout ?? 25_000 }).finally(() => {
      if (options.exit ?? true) process.exit(signal === 'SIGINT' ? 130 : 0);
    });
  };
  const remove = () => {
    for (const signal of signals) process.off(signal, handler);
  };
  for (const signal of signals) process.on(signal, handler);
  return remove;
}
