import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

/** dist/test/traps.test.js → dist/test/harness/trap-examples.js */
const EXAMPLES = fileURLToPath(new URL('./harness/trap-examples.js', import.meta.url));

describe('the harness traps', () => {
  it('fail a test for a listener that threw, an unhandled error event or a late rejection, unless it opts out', async () => {
    const output = await new Promise<string>((resolve) => {
      execFile(
        process.execPath,
        ['--test', '--test-reporter=tap', EXAMPLES],
        // Without NODE_TEST_CONTEXT, which would make the child report to this runner instead.
        { timeout: 60_000, env: { ...process.env, NODE_TEST_CONTEXT: undefined } },
        (_error, stdout) => resolve(stdout),
      );
    });
    const outcome = (name: string) => {
      const match = new RegExp(`^\\s*(ok|not ok) \\d+ - ${name.replace(/[()]/g, '\\$&')}$`, 'm').exec(output);
      assert.ok(match, `"${name}" ran:\n${output}`);
      return match[1];
    };
    assert.equal(outcome('trap: an assert that fails inside a listener'), 'not ok');
    assert.match(output, /listener-threw \(seen during "trap: an assert that fails inside a listener"\)/);
    assert.equal(outcome('trap: an error event without a listener, its throw swallowed'), 'not ok');
    assert.match(output, /unhandled-error-event .*nobody listens/);
    assert.equal(outcome('trap: (the test after it, which sees it)'), 'not ok');
    assert.match(output, /unhandled-rejection .*too late/);
    assert.equal(outcome('opt-out: a listener that throws on purpose'), 'ok');
  });
});
