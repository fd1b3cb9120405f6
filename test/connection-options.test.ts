/**
 * The options that say where Redis is (redisUrl, redisCluster, redisSentinel) and the durability
 * asked of its replicas: checked by createToniq, connectAdmin and the CLI alike, refused with a
 * message that says what was expected. No server is needed: every case is refused before connecting.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ConnectAdminOptions } from '../src/admin/admin-api.js';
import { main } from '../src/cli/main.js';
import { connectAdmin, createToniq, InvalidOptionsError } from '../src/index.js';

const refused = (options: Parameters<typeof createToniq>[0], message: RegExp) =>
  assert.throws(
    () => createToniq(options),
    (error: unknown) => {
      assert.ok(error instanceof InvalidOptionsError, String(error));
      assert.equal(error.code, 'TONIQ_INVALID_OPTIONS');
      assert.match(error.message, message);
      return true;
    },
  );

describe('connection options', () => {
  it('takes exactly one of redisUrl, redisCluster and redisSentinel', () => {
    const sentinel = { sentinels: ['127.0.0.1:26379'], name: 'mymaster' };
    refused(
      { redisUrl: 'redis://127.0.0.1:6379', redisCluster: ['redis://127.0.0.1:7000'] },
      /^createToniq: give one of redisUrl, redisCluster and redisSentinel, not redisUrl and redisCluster/,
    );
    refused(
      { redisCluster: ['redis://127.0.0.1:7000'], redisSentinel: sentinel },
      /not redisCluster and redisSentinel/,
    );
    // Each alone is taken (nothing connects before start()).
    createToniq({ redisCluster: ['redis://127.0.0.1:7000'] });
    createToniq({ redisSentinel: sentinel });
    createToniq({});
  });

  it('refuses redisCluster seeds that are not redis:// URLs with a port', () => {
    refused({ redisCluster: [] }, /redisCluster must be a non-empty array of seed node URLs, like \['redis:/);
    refused({ redisCluster: 'redis://127.0.0.1:7000' as never }, /non-empty array of seed node URLs/);
    refused(
      { redisCluster: ['127.0.0.1:7000'] },
      /every redisCluster seed must be a redis:\/\/ or rediss:\/\/ URL/,
    );
    refused({ redisCluster: ['redis://127.0.0.1'] }, /with a port/);
    refused({ redisCluster: ['redis://127.0.0.1:7000/2'] }, /a cluster has database 0 only/);
    // The password never shows in the message.
    refused(
      { redisCluster: ['redis://:s3cret@127.0.0.1:7000/2'] },
      /"redis:\/\/:\*\*\*@127\.0\.0\.1:7000\/2"/,
    );
    refused(
      { redisCluster: ['redis://127.0.0.1:7000', 'rediss://127.0.0.1:7001'] },
      /mix redis:\/\/ and rediss:\/\//,
    );
    refused(
      { redisCluster: ['redis://127.0.0.1:7000'], tls: { ca: 'PEM' } },
      /the tls option is given, but the Redis URL redis:\/\/127\.0\.0\.1:7000 starts with redis:\/\//,
    );
  });

  it('takes tls with redisSentinel: there is no URL that could say otherwise', () => {
    assert.doesNotThrow(() =>
      createToniq({
        redisSentinel: { sentinels: ['127.0.0.1:26379'], name: 'mymaster' },
        tls: { ca: 'PEM' },
      }),
    );
  });

  it('refuses a redisSentinel without sentinels or a name, or with unknown options', () => {
    refused({ redisSentinel: 'mymaster' as never }, /redisSentinel must be an object like \{ sentinels:/);
    refused(
      { redisSentinel: { sentinels: [], name: 'm' } },
      /redisSentinel\.sentinels must be a non-empty array/,
    );
    refused(
      { redisSentinel: { sentinels: ['redis://127.0.0.1:26379'], name: 'm' } },
      /every redisSentinel\.sentinels entry must be 'host:port'/,
    );
    refused(
      { redisSentinel: { sentinels: ['127.0.0.1:26379'] } as never },
      /redisSentinel\.name must be the name the sentinels monitor the master under/,
    );
    refused(
      { redisSentinel: { sentinels: ['127.0.0.1:26379'], name: 'm', masterName: 'x' } as never },
      /redisSentinel got the unknown option "masterName"\. Known options: sentinels, name, password, sentinelPassword/,
    );
    refused(
      { redisSentinel: { sentinels: ['127.0.0.1:26379'], name: 'm', password: 42 as never } },
      /redisSentinel\.password must be a string/,
    );
  });

  it('refuses a durability of the wrong shape, or a timeout the enqueue would not wait for', () => {
    refused({ durability: 1 as never }, /durability must be an object like \{ replicas: 1, timeout: 2000 \}/);
    refused({ durability: { replicas: 0 } }, /durability\.replicas must be an integer ≥ 1/);
    refused({ durability: { replicas: 1.5 } }, /durability\.replicas must be an integer ≥ 1/);
    refused(
      { durability: { replicas: 1, timeout: -1 } },
      /durability\.timeout must be a number of milliseconds/,
    );
    refused(
      { durability: { replicas: 1, timeout: 5000 } },
      /durability\.timeout \(5000 ms\) must be below enqueueTimeout \(5000 ms\)/,
    );
    refused({ durability: { replicas: 1, aof: 'yes' as never } }, /durability\.aof must be true or false/);
    refused(
      { durability: { replicas: 1, wait: 2 } as never },
      /durability got the unknown option "wait"\. Known options: replicas, timeout, aof/,
    );
    createToniq({ durability: { replicas: 1 } });
    createToniq({ durability: { replicas: 2, timeout: 900, aof: true }, enqueueTimeout: 1000 });
  });

  it('connectAdmin takes the same options and refuses the same mistakes', async () => {
    await assert.rejects(
      connectAdmin({ redisUrl: 'redis://127.0.0.1:1', redisCluster: ['redis://127.0.0.1:7000'] }),
      /^InvalidOptionsError: connectAdmin: give one of redisUrl, redisCluster and redisSentinel/,
    );
    await assert.rejects(
      connectAdmin({ redisSentinel: { sentinels: ['127.0.0.1:26379'], name: '' } }),
      /connectAdmin: redisSentinel\.name must be/,
    );
  });

  it('the CLI takes --cluster, or --sentinel with --sentinel-name, and refuses them mixed or alone', async () => {
    const run = async (argv: string[]) => {
      const out: string[] = [];
      const err: string[] = [];
      let given: ConnectAdminOptions | undefined;
      const code = await main(argv, {
        env: {},
        io: { out: (text) => out.push(text), err: (text) => err.push(text) },
        connect: async (options) => {
          given = options;
          throw new Error('not connecting in this test');
        },
      });
      return { code, stderr: err.join('\n'), given };
    };
    const cluster = await run(['stats', '--cluster', 'redis://127.0.0.1:7000, redis://127.0.0.1:7001']);
    assert.deepEqual(cluster.given?.redisCluster, ['redis://127.0.0.1:7000', 'redis://127.0.0.1:7001']);
    assert.equal(cluster.given?.redisUrl, undefined);

    const sentinel = await run([
      'stats',
      '--sentinel',
      '127.0.0.1:26379,127.0.0.1:26380',
      '--sentinel-name',
      'mymaster',
    ]);
    assert.deepEqual(sentinel.given?.redisSentinel, {
      sentinels: ['127.0.0.1:26379', '127.0.0.1:26380'],
      name: 'mymaster',
    });

    const both = await run([
      'stats',
      '--redis-url',
      'redis://127.0.0.1:6379',
      '--cluster',
      'redis://127.0.0.1:7000',
    ]);
    assert.equal(both.code, 2);
    assert.match(
      both.stderr,
      /Give one of --redis-url, --cluster and --sentinel, not --redis-url and --cluster\./,
    );
    const noName = await run(['stats', '--sentinel', '127.0.0.1:26379']);
    assert.equal(noName.code, 2);
    assert.match(noName.stderr, /--sentinel needs --sentinel-name <name>/);
    const nameAlone = await run(['stats', '--sentinel-name', 'mymaster']);
    assert.equal(nameAlone.code, 2);
    assert.match(nameAlone.stderr, /--sentinel-name goes with --sentinel/);
    const badSeed = await run(['stats', '--cluster', '127.0.0.1:7000']);
    assert.equal(badSeed.code, 2);
    assert.match(badSeed.stderr, /every --cluster seed must be a redis:\/\/ or rediss:\/\/ URL/);
    const help = await run(['--help']);
    assert.equal(help.code, 0);
  });
});
