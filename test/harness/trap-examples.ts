/**
 * Tests that must fail, each because of one trap (traps.ts), and one that must pass because it
 * opts out. Not a test file of the suite (its name lacks .test): test/traps.test.ts runs it in a
 * child process and checks each outcome.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { it } from 'node:test';
import { nextEvent } from './eventually.js';
import { fixtureWorker, toniqFactory, useRedis } from './fixtures.js';
import { allowListenerThrows } from './traps.js';

const server = useRedis();
const newToniq = toniqFactory(server);

async function runOneJobWithAFailingAssertInAListener(): Promise<void> {
  const toniq = await newToniq({ workers: [fixtureWorker] });
  toniq.events.on('started', (job) => assert.equal(job.attempt, 2));
  const finished = nextEvent(toniq.events, 'finished');
  await toniq.enqueue(fixtureWorker, { do: 'succeed' });
  await finished;
}

it('trap: an assert that fails inside a listener', runOneJobWithAFailingAssertInAListener);

it('trap: an error event without a listener, its throw swallowed', () => {
  try {
    new EventEmitter().emit('error', new Error('nobody listens'));
  } catch {}
});

it('trap: a rejection nobody handles, after the test ended', () => {
  setTimeout(() => void Promise.reject(new Error('too late')), 5);
});

it('trap: (the test after it, which sees it)', async () => {
  await new Promise((resolve) => setTimeout(resolve, 50));
});

it('opt-out: a listener that throws on purpose', async () => {
  allowListenerThrows();
  await runOneJobWithAFailingAssertInAListener();
});
