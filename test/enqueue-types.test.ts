/**
 * enqueue is typed from the worker. The checks here happen when the tests compile: a wrong
 * call that compiled would leave its @ts-expect-error unused, and `npm test` fails to build.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defineWorker, type Job, type Toniq } from '../src/index.js';

const sendEmail = defineWorker('SendEmail', async (_args: { to: string; subject: string }) => {});
const ping = defineWorker('Ping', async () => {});

export async function compileTimeChecks(toniq: Toniq): Promise<void> {
  const job: Job<{ to: string; subject: string }> = await toniq.enqueue(sendEmail, { to: 'a', subject: 'b' });
  await toniq.enqueue(sendEmail, { to: 'a', subject: 'b' }, { delayFor: 10 });
  await toniq.enqueue(ping);
  await toniq.enqueue(ping, undefined, { delayFor: 5 });
  // @ts-expect-error: subject is missing
  await toniq.enqueue(sendEmail, { to: 'a' });
  // @ts-expect-error: to must be a string
  await toniq.enqueue(sendEmail, { to: 1, subject: 'b' });
  // @ts-expect-error: arguments are required
  await toniq.enqueue(sendEmail);
  // @ts-expect-error: unknown enqueue option
  await toniq.enqueue(sendEmail, { to: 'a', subject: 'b' }, { delay: 10 });
  // @ts-expect-error: the job's args keep their type
  const wrong: number = job.args.to;
  void wrong;
}

describe('enqueue types', () => {
  it('compiles only calls whose arguments fit the worker (checked by tsc when the tests build)', () => {
    assert.equal(typeof compileTimeChecks, 'function');
  });
});
