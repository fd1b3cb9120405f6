import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  createToniq,
  defineWorker,
  InvalidOptionsError,
  RedisUnreachableError,
  retryWithoutDelay,
} from '../src/index.js';
import { eventually, nextEvent } from './harness/eventually.js';
import { fixtureWorker, recordingLogger, toniqFactory, useRedis } from './harness/fixtures.js';
import { freePort, startRedis } from './harness/redis-server.js';

const server = useRedis();
const newToniq = toniqFactory(server);

describe('configuration', () => {
  it('refuses unknown options, listing the known ones', () => {
    assert.throws(
      () => createToniq({ redisURL: 'redis://x' } as never),
      (error: unknown) => {
        assert.ok(error instanceof InvalidOptionsError);
        assert.equal(error.code, 'TONIQ_INVALID_OPTIONS');
        assert.match(error.message, /unknown option "redisURL"/);
        assert.match(error.message, /Known options: redisUrl, tls, keyPrefix, workers/);
        return true;
      },
    );
  });

  it('refuses bad values with what was expected', () => {
    assert.throws(
      () => createToniq({ redisUrl: 'localhost:6379' }),
      /must start with redis:\/\/ or rediss:\/\//,
    );
    assert.throws(
      () => createToniq({ keyPrefix: '{x}' }),
      /keyPrefix must be a non-empty string without braces/,
    );
    assert.throws(
      () => createToniq({ enqueueTimeout: -5 }),
      /enqueueTimeout must be a number of milliseconds from 1 to 2147483647/,
    );
    assert.throws(
      () => createToniq({ workers: [fixtureWorker, fixtureWorker] }),
      /two workers are named "Fixture"/,
    );
    assert.throws(
      () => defineWorker('X', () => {}, { maxConcurency: 2 } as never),
      /unknown option "maxConcurency"/,
    );
    assert.throws(
      () => defineWorker('X', () => {}, { maxConcurrency: 0 }),
      /maxConcurrency must be an integer ≥ 1/,
    );
  });

  it('takes the Redis URL from an async provider function at start', async () => {
    let calls = 0;
    const toniq = await newToniq({
      redisUrl: async () => {
        calls++;
        return server.redis.url;
      },
      workers: [fixtureWorker],
    });
    assert.equal(calls, 1);
    const finished = nextEvent(toniq.events, 'finished');
    await toniq.enqueue(fixtureWorker, { do: 'succeed' });
    await finished;
  });

  it('keeps every key under the prefix, inside a hash tag', async () => {
    // A server of its own, so that every key in it is this toniq's: a key written outside the
    // prefix would show up here (looking only at keys that contain the prefix would miss it).
    const own = await startRedis();
    try {
      const toniq = createToniq({
        redisUrl: own.url,
        keyPrefix: 'myapp',
        workers: [fixtureWorker],
        retry: retryWithoutDelay({ retries: 0 }),
        logger: recordingLogger(),
      });
      await toniq.start();
      // Every kind of key: jobs, delayed jobs, failed jobs and counts, a report and throughput.
      await toniq.enqueue(fixtureWorker, { do: 'throw' }, { delayFor: 60_000 });
      await toniq.enqueue(fixtureWorker, { do: 'hang' });
      const failed = nextEvent(toniq.events, 'failed');
      await toniq.enqueue(fixtureWorker, { do: 'throw' });
      await failed;
      const client = own.client();
      // The app's shared keys under {myapp}, the process's own under {myapp:<process id>}.
      const shared = [
        'failed',
        'failed-index',
        'counts',
        'registry',
        'registry-epochs',
        'reports',
        'throughput',
      ];
      const perProcess = ['jobs', 'delayed', 'delayed-jobs', 'delayed-counts', 'heartbeat', 'open'];
      const keys = await eventually(
        async () => {
          const all = await client.keys('*');
          for (const kind of shared) {
            assert.ok(
              all.some((key) => key.startsWith(`{myapp}:${kind}:`) || key === `{myapp}:${kind}`),
              kind,
            );
          }
          for (const kind of perProcess) assert.ok(all.includes(`{myapp:${toniq.processId}}:${kind}`), kind);
          return all;
        },
        { what: 'a key of every kind (the report comes within a second)' },
      );
      for (const key of keys) assert.match(key, /^\{myapp[:}]/);
      // And nothing in another database.
      assert.doesNotMatch(await client.info('keyspace'), /^db(?!0:)\d+:/m);
      await toniq.stop({ timeout: 100 });
    } finally {
      await own.stop();
    }
  });

  it('explains an unreachable Redis in one paragraph, with the password masked', async () => {
    const port = await freePort();
    const toniq = createToniq({
      redisUrl: `redis://user:s3cret@127.0.0.1:${port}/0`,
      logger: recordingLogger(),
    });
    await assert.rejects(toniq.start(), (error: unknown) => {
      assert.ok(error instanceof RedisUnreachableError);
      assert.equal(error.code, 'TONIQ_REDIS_UNREACHABLE');
      assert.match(
        error.message,
        new RegExp(`could not connect to Redis at redis://user:\\*\\*\\*@127.0.0.1:${port}/0`),
      );
      assert.doesNotMatch(error.message, /s3cret/);
      assert.match(error.message, /Is the Redis server running/);
      assert.match(error.message, /redisUrl/);
      assert.ok(error.cause);
      return true;
    });
  });

  it('warns at start when Redis may evict keys', async () => {
    const evicting = await startRedis({ args: ['--maxmemory-policy', 'allkeys-lru'] });
    try {
      const logger = recordingLogger();
      const toniq = createToniq({ redisUrl: evicting.url, logger });
      await toniq.start();
      await toniq.stop();
      assert.match(logger.text('warn'), /maxmemory-policy is "allkeys-lru".*noeviction/);
    } finally {
      await evicting.stop();
    }
  });

  it('does not warn about eviction on a noeviction Redis', async () => {
    const toniq = await newToniq();
    assert.equal(toniq.logger.text('warn'), '');
  });
});
