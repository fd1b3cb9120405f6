import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createToniq, defineWorker } from '../src/index.js';
import { keysFor } from '../src/storage/keys.js';
import { eventually, nextEvent } from './harness/eventually.js';
import { FAST_TAKEOVER, randomPrefix, recordingLogger, toniqFactory, useRedis } from './harness/fixtures.js';

// Small hashes keep insertion order (listpack), so the damaged process is checked before the
// healthy one, as the test needs; larger values would turn the registry into an unordered table.
const server = useRedis({ args: ['--hash-max-listpack-value', '4096'] });
const newToniq = toniqFactory(server);

const fast = FAST_TAKEOVER;

/** Leaves jobs under `processId` the way a process that died would: registered, no heartbeat. */
async function leaveJobsOfDeadProcess(keyPrefix: string, processId: string, labels: string[]) {
  // Manual mode writes the jobs (registering the process with a placeholder) and never beats.
  const dead = createToniq({
    redisUrl: server.redis.url,
    keyPrefix,
    processId,
    mode: 'manual',
    workers: [recorder(() => {})],
    logger: recordingLogger(),
  });
  await dead.start();
  for (const label of labels)
    await dead.enqueue(
      recorder(() => {}),
      { label },
    );
  await dead.stop();
}

function recorder(onRun: (label: string) => void) {
  return defineWorker('Record', (args: { label: string }) => onRun(args.label));
}

describe('takeover of damaged processes', () => {
  it('takes over the other dead processes when one cannot be taken over, and keeps saying which one failed', async () => {
    const keyPrefix = randomPrefix();
    const client = server.redis.client();
    // First in the registry: a dead process whose jobs key holds the wrong type.
    await client.hset(
      keysFor(keyPrefix).registry,
      'damaged',
      JSON.stringify({ id: 'damaged', placeholder: true }),
    );
    await client.set(keysFor(keyPrefix).process('damaged').jobs, 'not a hash');
    await leaveJobsOfDeadProcess(keyPrefix, 'healthy', ['a', 'b']);

    const ran: string[] = [];
    const logger = recordingLogger();
    const toniq = await newToniq({
      keyPrefix,
      logger,
      workers: [recorder((label) => ran.push(label))],
      ...fast,
    });
    const [taken] = await nextEvent<[{ processId: string; jobs: number }]>(toniq.events, 'takenOver', {
      filter: (event) => event.processId === 'healthy',
    });
    assert.equal(taken.jobs, 2);
    await eventually(() => assert.deepEqual(ran.sort(), ['a', 'b']), {
      what: 'the healthy process’s jobs to run',
    });

    const failure = logger.lines.find((line) => line.level === 'error' && line.obj.from === 'damaged');
    assert.ok(failure, `an error line names the damaged process; got:\n${logger.text()}`);
    assert.match(
      failure.msg,
      /Could not take over the jobs of dead process damaged: .*damaged\}:jobs" is damaged/,
    );

    // The admin UI's processes page (and toniq.processes()) show why.
    const damaged = (await toniq.processes()).find((process) => process.id === 'damaged');
    assert.ok(damaged?.takeoverError, 'the damaged process carries its takeover error');
    assert.match(damaged.takeoverError.message, /damaged\}:jobs" is damaged/);
    assert.equal(damaged.takeoverError.by, toniq.processId);
    const adminView = (await toniq.admin.processes()).find((process) => process.id === 'damaged');
    assert.match(JSON.stringify(adminView), /is damaged/);

    // Checks go on (the failure is retried, not given up), but the same error is logged once.
    const errorsBefore = logger.lines.filter((line) => line.obj.from === 'damaged').length;
    await client.del(keysFor(keyPrefix).process('damaged').jobs);
    await eventually(
      async () =>
        assert.ok(
          !(await toniq.processes()).some((process) => process.id === 'damaged'),
          'damaged is taken over',
        ),
      { what: 'the repaired process to be taken over' },
    );
    assert.equal(
      logger.lines.filter((line) => line.level === 'error' && line.obj.from === 'damaged').length,
      errorsBefore,
    );
    assert.match(logger.text('info'), /Taking over process damaged works again/);
    assert.equal(await client.hexists(`{${keyPrefix}}:takeover-errors`, 'damaged'), 0, 'the note is gone');
  });
});
