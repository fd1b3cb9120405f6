import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { keysFor } from '../src/storage/keys.js';
import { useRedis } from './harness/fixtures.js';
import { freePort } from './harness/redis-server.js';

const server = useRedis();
/** dist/test/demo.test.js → dist/examples/demo.js */
const DEMO = fileURLToPath(new URL('../examples/demo.js', import.meta.url));

function runDemo(redisUrl: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [DEMO, '--no-ui'],
      { env: { ...process.env, REDIS_URL: redisUrl }, timeout: 60_000 },
      (error, stdout, stderr) =>
        resolve({ code: error ? ((error.code as number) ?? 1) : 0, output: stdout + stderr }),
    );
  });
}

describe('the demo', () => {
  it('runs on Redis from start to end without a warning (nor an error but the one it shows on purpose), and leaves no key', async () => {
    // Keys of an interrupted earlier run, which the demo removes before it starts.
    await server.redis.client().hset(keysFor('toniq-demo').registry, 'gone:1:x', '{"id":"gone:1:x"}');
    const { code, output } = await runDemo(server.redis.url);
    assert.equal(code, 0, output);
    assert.doesNotMatch(output, /\[toniq warn\]/, output);
    // The one error line is the demo's own: a job that fails on purpose to show the failed list.
    const errors = output.split('\n').filter((line) => line.includes('[toniq error]'));
    assert.ok(
      errors.every((line) =>
        /GenerateInvoice.* failed after 1 attempt: Error: the invoice service is down/.test(line),
      ),
      errors.join('\n'),
    );
    assert.match(output, /done in \d/);
    assert.deepEqual(await server.redis.client().keys('*'), []);
  });

  it('says how to start Redis and runs in memory when no Redis answers', async () => {
    const { code, output } = await runDemo(`redis://127.0.0.1:${await freePort()}/0`);
    assert.equal(code, 0, output);
    assert.match(output, /No Redis answered .* To run this demo on Redis/s);
    assert.match(output, /Running the same demo in memory/);
    assert.match(output, /done in \d/);
  });
});
