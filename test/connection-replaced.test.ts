/**
 * A connection that ioredis leaves in its terminal `end` state (it then never reconnects and fails
 * every command without a word: the cause of job workers that stop silently after a Sentinel
 * failover) is noticed and replaced. Provoked the way it happens in the field: Redis is killed,
 * and while ioredis tries to reconnect, its own `disconnect(true)` (what it does on a READONLY or
 * LOADING reply, or a failed ready check) lands inside a connection attempt, which then gives up
 * for good.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { connectRedis } from '../src/storage/redis/connection.js';
import type { ScriptedRedis } from '../src/storage/redis/scripts.js';
import { eventually } from './harness/eventually.js';
import { recordingLogger, useRedis } from './harness/fixtures.js';

const server = useRedis();

describe('a connection ended for good', () => {
  it('is replaced by a new one that works once Redis is back, and the end is logged once', async () => {
    const logger = recordingLogger();
    const replacements: ScriptedRedis[] = [];
    let inUse = true;
    const redis = await connectRedis({
      location: { kind: 'server', url: server.redis.url },
      tls: undefined,
      logger,
      commandTimeout: 1000,
      inUse: () => inUse,
      onReconnected: () => {},
      onReplaced: (replacement) => replacements.push(replacement),
    });
    try {
      assert.equal(await redis.ping(), 'PONG');
      await server.redis.kill();
      // ioredis's own disconnect(true), landing inside one of its reconnection attempts.
      await new Promise<void>((resolve) => {
        redis.once('connecting', () => {
          redis.disconnect(true);
          resolve();
        });
      });
      await eventually(() => assert.equal(redis.status, 'end'), { what: 'ioredis to end the connection' });
      await assert.rejects(redis.ping(), /Connection is closed/);
      await eventually(() => assert.equal(replacements.length, 1), { what: 'a replacement' });

      await server.redis.restart();
      const replacement = replacements[0]!;
      await eventually(async () => assert.equal(await replacement.ping(), 'PONG'), {
        timeout: 10_000,
        what: 'the replacement to answer once Redis is back',
      });
      // Toniq's scripts are defined on it.
      assert.equal(typeof replacement.beat, 'function');
      assert.equal(redis.status, 'end', 'the ended connection stays ended: only the replacement works');
      assert.equal(replacements.length, 1);
      assert.equal(
        logger.lines.filter((line) => /ended for good inside ioredis; opening a new one/.test(line.msg))
          .length,
        1,
      );
      assert.equal(
        logger.lines.filter((line) => /^Lost the connection to Redis at/.test(line.msg)).length,
        1,
      );
      assert.match(logger.text('info'), /^Reconnected to Redis at /m);
    } finally {
      inUse = false;
      for (const client of [redis, ...replacements]) client.disconnect();
    }
  });
});
