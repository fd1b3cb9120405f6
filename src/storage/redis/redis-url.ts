/**
 * What toniq reads from a Redis URL itself, before ioredis sees it: the database number. ioredis
 * sends a bad one (`/abc`) as `SELECT NaN` and reports a missing one (`/99`) only as an `error`
 * event, after which everything silently goes to database 0.
 */
import { InvalidOptionsError, maskRedisUrl } from '../../errors.js';

/** The Redis toniq, connectAdmin and the CLI use when told none. */
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379/0';

/** The database a redis:// or rediss:// URL names (0 when it names none); throws InvalidOptionsError for anything else. */
export function databaseOfUrl(url: string): number {
  let path: string;
  try {
    path = new URL(url).pathname;
  } catch (error) {
    throw new InvalidOptionsError(
      `The Redis URL ${maskRedisUrl(url)} cannot be parsed: ${(error as Error).message}. Use the form redis://user:password@host:6379/0.`,
      { cause: error },
    );
  }
  if (path === '' || path === '/') return 0;
  if (!/^\/\d{1,5}$/.test(path)) {
    throw new InvalidOptionsError(
      `The Redis URL ${maskRedisUrl(url)} names the database "${decodeURIComponent(path.slice(1))}", ` +
        `but a database is a number (0 to 15 on a default server): redis://host:6379/0.`,
    );
  }
  return Number(path.slice(1));
}
