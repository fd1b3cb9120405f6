/**
 * Waiting with a deadline instead of sleeping and hoping.
 */
import type { EventEmitter } from 'node:events';

/** Calls `check` until it stops throwing (and returns its value), or fails after `timeout` ms with the last error. */
export async function eventually<T>(
  check: () => T | Promise<T>,
  {
    timeout = 5000,
    interval = 10,
    what = 'the condition',
  }: { timeout?: number; interval?: number; what?: string } = {},
): Promise<T> {
  const deadline = Date.now() + timeout;
  let lastError: unknown;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const reason = lastError instanceof Error ? lastError.message : String(lastError);
      throw new Error(`Timed out after ${timeout} ms waiting for ${what}: ${reason}`, { cause: lastError });
    }
    await new Promise((resolve) => setTimeout(resolve, interval));
  }
}

/** Resolves with the arguments of the first `event` for which `filter` holds; rejects after `timeout` ms. */
export function nextEvent<Args extends unknown[]>(
  emitter: EventEmitter<any>,
  event: string,
  { filter = () => true, timeout = 5000 }: { filter?: (...args: Args) => boolean; timeout?: number } = {},
): Promise<Args> {
  return new Promise((resolve, reject) => {
    const listener = (...args: unknown[]) => {
      if (!filter(...(args as Args))) return;
      clearTimeout(timer);
      emitter.off(event, listener);
      resolve(args as Args);
    };
    const timer = setTimeout(() => {
      emitter.off(event, listener);
      reject(new Error(`No "${event}" event within ${timeout} ms`));
    }, timeout);
    emitter.on(event, listener);
  });
}

/** Collects `count` events of a kind, in order; rejects after `timeout` ms with how many came. */
export function collectEvents<Args extends unknown[]>(
  emitter: EventEmitter<any>,
  event: string,
  count: number,
  timeout = 5000,
): Promise<Args[]> {
  return new Promise((resolve, reject) => {
    const seen: Args[] = [];
    const listener = (...args: unknown[]) => {
      seen.push(args as Args);
      if (seen.length < count) return;
      clearTimeout(timer);
      emitter.off(event, listener);
      resolve(seen);
    };
    const timer = setTimeout(() => {
      emitter.off(event, listener);
      reject(new Error(`Only ${seen.length} of ${count} "${event}" events within ${timeout} ms`));
    }, timeout);
    emitter.on(event, listener);
  });
}
