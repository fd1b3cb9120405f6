import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { connectAdmin, createToniq, defineWorker } from '../src/index.js';
import { randomPrefix, recordingLogger, useRedis } from './harness/fixtures.js';
import { startRedis } from './harness/redis-server.js';

const server = useRedis();
const noop = defineWorker('Noop', () => {});
/** The test server's URL with another database path. */
const withDatabase = (path: string) => server.redis.url.replace(/\/\d+$/, '') + `/${path}`;

describe('a Redis URL whose database the server lacks', () => {
  it('refuses a database number the server does not have at start, writing nothing to database 0', async () => {
    const toniq = createToniq({
      redisUrl: withDatabase('99'),
      keyPrefix: randomPrefix(),
      workers: [noop],
      logger: recordingLogger(),
    });
    await assert.rejects(toniq.start(), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'TONIQ_REDIS_REFUSED');
      assert.match(error.message, /refused to select database 99: ERR DB index is out of range/);
      return true;
    });
    assert.equal(await server.redis.client().dbsize(), 0, 'nothing went to database 0');
  });

  it('refuses a database that is not a number, from createToniq, a URL function and connectAdmin, without crashing', async () => {
    const url = withDatabase('abc');
    assert.throws(() => createToniq({ redisUrl: url }), {
      code: 'TONIQ_INVALID_OPTIONS',
      message: /names the database "abc", but a database is a number/,
    });
    const fromFunction = createToniq({ redisUrl: async () => url, logger: recordingLogger() });
    await assert.rejects(fromFunction.start(), { code: 'TONIQ_INVALID_OPTIONS' });
    await assert.rejects(connectAdmin({ redisUrl: url }), { code: 'TONIQ_INVALID_OPTIONS' });
    await assert.rejects(connectAdmin({ redisUrl: withDatabase('99') }), {
      code: 'TONIQ_REDIS_REFUSED',
    });
  });

  it('uses a database the server has', async () => {
    const keyPrefix = randomPrefix();
    const toniq = createToniq({
      redisUrl: withDatabase('3'),
      keyPrefix,
      workers: [noop],
      logger: recordingLogger(),
    });
    await toniq.start();
    await toniq.stop();
    const client = server.redis.client();
    await client.select(3);
    assert.ok((await client.dbsize()) >= 0);
    await client.select(0);
    assert.deepEqual(await client.keys(`{${keyPrefix}*`), [], 'database 0 holds nothing of it');
  });
});

describe('a Redis that is out of memory', () => {
  /** Fills the server until it refuses writes. */
  async function fill(client: ReturnType<typeof server.redis.client>) {
    const chunk = 'x'.repeat(64 * 1024);
    for (let i = 0; ; i++) {
      try {
        await client.append('filler', chunk);
      } catch (error) {
        assert.match((error as Error).message, /^OOM/);
        return;
      }
      assert.ok(i < 10_000, 'the server refused writes at some point');
    }
  }

  it('refuses to start when the first heartbeat cannot be written, saying Redis is out of memory', async () => {
    const redis = await startRedis({ args: ['--maxmemory', '3mb', '--maxmemory-policy', 'noeviction'] });
    try {
      await fill(redis.client());
      const toniq = createToniq({
        redisUrl: redis.url,
        keyPrefix: randomPrefix(),
        workers: [noop],
        logger: recordingLogger(),
      });
      await assert.rejects(toniq.start(), (error: Error & { code?: string }) => {
        assert.equal(error.code, 'TONIQ_REDIS_REFUSED');
        assert.match(
          error.message,
          /refused to register this process .*OOM command not allowed.*Redis is out of memory \(maxmemory\)/,
        );
        return true;
      });
    } finally {
      await redis.stop();
    }
  });

  it('warns at start when Redis is nearly full, and says "Redis refused the write" when an enqueue hits the limit', async () => {
    const redis = await startRedis({ args: ['--maxmemory', '3mb', '--maxmemory-policy', 'noeviction'] });
    try {
      const client = redis.client();
      const logger = recordingLogger();
      const toniq = createToniq({ redisUrl: redis.url, keyPrefix: randomPrefix(), workers: [noop], logger });
      await toniq.start();
      await fill(client);
      await assert.rejects(toniq.enqueue(noop, undefined), (error: Error & { code?: string }) => {
        assert.equal(error.code, 'TONIQ_REDIS_UNAVAILABLE');
        assert.match(error.message, /Redis refused the write: OOM command not allowed/);
        assert.doesNotMatch(error.message, /not reachable/);
        return true;
      });
      await toniq.stop({ timeout: 100 });

      const again = createToniq({ redisUrl: redis.url, keyPrefix: randomPrefix(), workers: [noop], logger });
      await assert.rejects(again.start(), { code: 'TONIQ_REDIS_REFUSED' });
      assert.match(
        logger.text('warn'),
        /Redis uses \d+% of its maxmemory .* Once full it refuses every write/,
      );
    } finally {
      await redis.stop();
    }
  });
});
