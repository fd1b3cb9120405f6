/**
 * Pushes the admin stats to a URL every few seconds, as JSON in a POST: for dashboards and
 * alerting that would rather be told than ask. A failed POST is logged (once until one succeeds)
 * and tried again at the next tick; it never disturbs the jobs.
 */
import { InvalidOptionsError } from '../errors.js';
import { consoleLogger, type Logger } from '../logger.js';
import { durationProblem } from '../timers.js';
import type { Admin } from './admin-api.js';

export interface StatsWebhookOptions {
  /** Where to POST the stats (the body of GET api/stats). */
  url: string;
  /** How often, in ms. Default: 10_000. @example { interval: 60_000 } */
  interval?: number;
  /** Extra request headers, say a bearer token. Default: none. */
  headers?: Record<string, string>;
  /** How long one POST may take, in ms. Default: 5_000. */
  timeout?: number;
  /** Where failures are logged. Default: a console logger. */
  logger?: Logger;
}

export interface StatsWebhook {
  /** Sends the stats now, outside the schedule; resolves when the POST is answered. */
  send(): Promise<void>;
  stop(): void;
}

/**
 * Starts POSTing `admin.stats()` to `url` every `interval` ms.
 *
 * @example const webhook = startStatsWebhook(toniq.admin, { url: 'https://metrics.example.com/toniq' })
 */
export function startStatsWebhook(admin: Admin, options: StatsWebhookOptions): StatsWebhook {
  let url: URL;
  try {
    url = new URL(options?.url);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http(s)');
  } catch {
    throw new InvalidOptionsError(
      `startStatsWebhook needs { url: 'https://…' }, an http or https URL; got ${JSON.stringify(options?.url)}.`,
    );
  }
  const interval = options.interval ?? 10_000;
  const intervalProblem = durationProblem(interval, { min: 100 });
  if (intervalProblem) throw new InvalidOptionsError(`startStatsWebhook: interval ${intervalProblem}.`);
  const timeout = options.timeout ?? 5000;
  const timeoutProblem = durationProblem(timeout);
  if (timeoutProblem) throw new InvalidOptionsError(`startStatsWebhook: timeout ${timeoutProblem}.`);
  const logger = options.logger ?? consoleLogger();
  let failing = false;

  const send = async (): Promise<void> => {
    try {
      const stats = await admin.stats();
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...options.headers },
        body: JSON.stringify(stats),
        signal: AbortSignal.timeout(timeout),
      });
      await response.arrayBuffer();
      if (!response.ok) throw new Error(`the server answered ${response.status} ${response.statusText}`);
      if (failing) logger.info({}, `The stats webhook reaches ${url.origin} again.`);
      failing = false;
    } catch (error) {
      if (!failing) {
        logger.warn(
          { err: error },
          `Could not POST the stats to the webhook ${url.origin}${url.pathname}: ${(error as Error).message}. ` +
            `Trying again every ${interval} ms; logged once until it works.`,
        );
      }
      failing = true;
    }
  };

  const timer = setInterval(() => void send(), interval);
  timer.unref();
  return { send, stop: () => clearInterval(timer) };
}
