/**
 * What every library's scenario runner shares: reading its command line, bounding the jobs in
 * flight, pacing, percentiles, memory figures, and printing the one JSON result line that
 * bench/run.mjs reads.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';

/** `node <library>.mjs <scenario> <redisUrl> <jobs>` */
export function readCommandLine() {
  const [scenario, redisUrl, jobs] = process.argv.slice(2);
  return { scenario, redisUrl, jobs: Number(jobs) };
}

/** Prints the result line and exits, so that no library's open handles keep the process alive. */
export function report(result) {
  process.stdout.write(`${JSON.stringify({ result })}\n`, () => process.exit(0));
}

export function notApplicable(reason) {
  report({ na: reason });
}

/** Runs the scenario; any throw becomes an error result instead of a silent exit. */
export async function main(scenarios) {
  const { scenario, ...rest } = readCommandLine();
  const run = scenarios[scenario];
  if (!run) return notApplicable('no such scenario for this library');
  try {
    report(await run(rest));
  } catch (error) {
    process.stdout.write(`${JSON.stringify({ error: String(error?.stack ?? error) })}\n`, () =>
      process.exit(1),
    );
  }
}

/**
 * A counting semaphore: `acquire()` waits while `limit` are held. Scenario (a) holds one slot
 * per job from just before its enqueue until it finished, so at most `limit` jobs are in flight.
 */
export class Window {
  #free;
  #waiting = [];
  constructor(limit) {
    this.#free = limit;
  }
  acquire() {
    if (this.#free > 0) {
      this.#free--;
      return undefined;
    }
    return new Promise((resolve) => this.#waiting.push(resolve));
  }
  release() {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#free++;
  }
}

/** Calls `enqueueOne(i)` for i in [0, n) with at most `limit` calls awaiting at once. */
export async function enqueueMany(n, limit, enqueueOne) {
  const window = new Window(limit);
  const pending = new Set();
  for (let i = 0; i < n; i++) {
    const wait = window.acquire();
    if (wait) await wait;
    const p = enqueueOne(i).finally(() => {
      window.release();
      pending.delete(p);
    });
    pending.add(p);
  }
  await Promise.all(pending);
}

/** Resolves once `count()` reaches `n`, checking every `every` ms. */
export async function until(predicate, every = 5, timeout = 600_000) {
  const deadline = performance.now() + timeout;
  while (!(await predicate())) {
    if (performance.now() > deadline) throw new Error('timed out waiting');
    await sleep(every);
  }
}

export function percentile(sorted, p) {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/**
 * Scenario (b): starts a job every `1000 / rate` ms for `seconds`, calling `enqueueOne(sentAt)`
 * with `performance.now()` taken just before the enqueue call. Returns when all were sent.
 */
export async function paced(rate, seconds, enqueueOne) {
  const total = Math.round(rate * seconds);
  const start = performance.now();
  let sent = 0;
  const calls = [];
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - start) * rate) / 1000) + 1);
    while (sent < due) {
      calls.push(enqueueOne(performance.now(), sent));
      sent++;
    }
    await sleep(1);
  }
  await Promise.all(calls);
  return total;
}

/** Latency figures of scenario (b), leaving out the first `warmup` samples (connections, JIT). */
export function latencyFigures(samples, warmup) {
  const sorted = samples.slice(warmup).sort((x, y) => x - y);
  return {
    p50: round(percentile(sorted, 50), 2),
    p99: round(percentile(sorted, 99), 2),
    samples: sorted.length,
  };
}

/** Resident set size in MB, after a full GC when run with --expose-gc. */
export async function rssAfterGc() {
  if (globalThis.gc) {
    for (let i = 0; i < 3; i++) {
      globalThis.gc();
      await sleep(20);
    }
  }
  return round(process.memoryUsage().rss / 1048576, 1);
}

/** Samples RSS every 50 ms; `stop()` returns the peak in MB. */
export function peakRss() {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 50);
  return {
    stop() {
      clearInterval(timer);
      return round(Math.max(peak, process.memoryUsage().rss) / 1048576, 1);
    },
  };
}

/** A plain client for looking into the server: INFO figures, key lengths. */
export function inspector(redisUrl) {
  const client = new Redis(redisUrl, { maxRetriesPerRequest: 3 });
  client.on('error', () => {});
  return {
    client,
    async usedMemoryMb() {
      const info = await client.info('memory');
      return round(Number(/used_memory:(\d+)/.exec(info)[1]) / 1048576, 1);
    },
    async commandsProcessed() {
      const info = await client.info('stats');
      return Number(/total_commands_processed:(\d+)/.exec(info)[1]);
    },
    /** Forgets the commands logged so far (redis-server runs with a 10 ms slowlog threshold). */
    async resetSlowlog() {
      await client.slowlog('RESET');
    },
    /** The longest single command since resetSlowlog(), in ms (0 when none took 10 ms). */
    async longestCommandMs() {
      const entries = await client.slowlog('GET', 1000);
      return round(Math.max(0, ...entries.map((entry) => Number(entry[2]) / 1000)), 1);
    },
    close() {
      client.disconnect();
    },
  };
}

export function round(value, digits = 0) {
  if (value === null || value === undefined || !Number.isFinite(value)) return value ?? null;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

export { performance, sleep };
