import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { defineWorker, type FailedJob, type Job, noRetry } from '../src/index.js';
import { keysFor } from '../src/storage/keys.js';
import { eventually, nextEvent } from './harness/eventually.js';
import { randomPrefix, toniqFactory, useRedis } from './harness/fixtures.js';
import { freePort } from './harness/redis-server.js';
import { startUi, stopUi, toniqCli } from './harness/toniq-cli.js';

const server = useRedis();
const newToniq = toniqFactory(server);

const VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/** The arguments that point the CLI at this test's Redis and key prefix. */
const at = (keyPrefix: string) => ['--redis-url', server.redis.url, '--prefix', keyPrefix];

let healthy = false;
const sendEmail = defineWorker(
  'SendEmail',
  (_args: { to: string }) => {
    if (!healthy) throw Object.assign(new Error('SMTP refused'), { code: 'ESMTP' });
  },
  { retry: noRetry() },
);
const resize = defineWorker(
  'ResizeImage',
  (_args: { path: string }) => {
    if (!healthy) throw new Error('\u001b[31mdisk full\u001b[0m\nsecond line');
  },
  { retry: noRetry() },
);
const hangs = defineWorker('Hangs', (_args: { n: number }) => new Promise<void>(() => {}), {
  maxConcurrency: 1,
});

type TestToniq = Awaited<ReturnType<typeof newToniq>>;

async function failOne(toniq: TestToniq, enqueue: (toniq: TestToniq) => Promise<Job<any>>): Promise<string> {
  healthy = false;
  const failed = nextEvent<[FailedJob, Error]>(toniq.events, 'failed');
  const job = await enqueue(toniq);
  const [failedJob] = await failed;
  assert.equal(failedJob.id, job.id);
  return job.id;
}

const failEmail = (toniq: TestToniq, to = 'ada@example.com') =>
  failOne(toniq, (t) => t.enqueue(sendEmail, { to }));
const failResize = (toniq: TestToniq) => failOne(toniq, (t) => t.enqueue(resize, { path: '/tmp/cat.png' }));

async function startToniq() {
  const keyPrefix = randomPrefix();
  const toniq = await newToniq({ keyPrefix, workers: [sendEmail, resize, hangs] });
  return { toniq, keyPrefix };
}

function assertNoStack(text: string) {
  assert.doesNotMatch(text, /\n\s+at /, `no stack trace expected in:\n${text}`);
}

describe('the toniq command line tool', () => {
  it('prints its usage with the commands and examples for --help, and its version for --version', async () => {
    const help = await toniqCli(['--help']);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /^Usage: toniq <command> \[options\]$/m);
    for (const command of ['stats', 'processes', 'failed', 'retry', 'delete', 'ui']) {
      assert.match(help.stdout, new RegExp(`^  ${command} `, 'm'), `the help lists ${command}`);
    }
    assert.match(help.stdout, /--redis-url <url>/);
    assert.match(help.stdout, /--prefix <prefix>/);
    assert.match(help.stdout, /Examples:\n {2}toniq stats/);
    assert.equal((await toniqCli(['-h'])).stdout, help.stdout);
    assert.equal((await toniqCli(['help'])).stdout, help.stdout);

    const failedHelp = await toniqCli(['failed', '--help']);
    assert.equal(failedHelp.code, 0);
    assert.match(failedHelp.stdout, /^Usage: toniq failed \[--worker <name>\]/m);
    assert.match(failedHelp.stdout, /--limit <n> +how many to show, 1 to 500/);
    assert.equal((await toniqCli(['help', 'failed'])).stdout, failedHelp.stdout);
    assert.match((await toniqCli(['retry', '-h'])).stdout, /toniq retry --all \[--worker <name>\]/);
    assert.match((await toniqCli(['ui', '--help'])).stdout, /TONIQ_UI_USERNAME and TONIQ_UI_PASSWORD/);

    const version = await toniqCli(['--version']);
    assert.equal(version.code, 0);
    assert.equal(version.stdout.trim(), VERSION);
  });

  it('exits with 2 and points to the help on an unknown command, an unknown option or a bad value', async () => {
    const unknown = await toniqCli(['stat']);
    assert.equal(unknown.code, 2);
    assert.equal(unknown.stdout, '');
    assert.equal(
      unknown.stderr,
      'toniq: Unknown command "stat". Did you mean "stats"?\nRun "toniq --help" for usage.\n',
    );

    const option = await toniqCli(['failed', '--wroker', 'SendEmail']);
    assert.equal(option.code, 2);
    assert.match(
      option.stderr,
      /Unknown option --wroker for "toniq failed"\.\nRun "toniq failed --help" for usage\./,
    );

    const limit = await toniqCli(['failed', '--limit', '0']);
    assert.equal(limit.code, 2);
    assert.match(limit.stderr, /--limit must be a whole number from 1 to 500, not "0"/);

    // A negative number is a value: the answer is the option's range, not "needs a value".
    for (const [option, value, range] of [
      ['--limit', '-1', 'from 1 to 500'],
      ['--offset', '-5', 'from 0 to'],
    ] as const) {
      const negative = await toniqCli(['failed', option, value]);
      assert.equal(negative.code, 2);
      assert.match(
        negative.stderr,
        new RegExp(`${option} must be a whole number ${range}.*, not "${value}"`),
      );
    }
    const port = await toniqCli(['ui', '--port', '-1']);
    assert.equal(port.code, 2);
    assert.match(port.stderr, /--port must be a whole number from 0 to 65535, not "-1"/);
    const missing = await toniqCli(['failed', '--limit']);
    assert.match(missing.stderr, /Option --limit needs a value: --limit <n> \(how many to show, 1 to 500/);

    const noValue = await toniqCli(['failed', '--worker', '--json']);
    assert.equal(noValue.code, 2);
    assert.match(noValue.stderr, /Option --worker needs a value/);

    const badUrl = await toniqCli(['stats'], { env: { REDIS_URL: 'localhost:6379' } });
    assert.equal(badUrl.code, 2);
    assert.match(
      badUrl.stderr,
      /^toniq: REDIS_URL must be a redis:\/\/ or rediss:\/\/ URL, .*got "localhost:6379"\./,
    );

    const nothing = await toniqCli([]);
    assert.equal(nothing.code, 2);
    assert.match(nothing.stderr, /No command given\.\nRun "toniq --help" for usage\./);
  });

  it('treats retry and delete with neither ids nor --all, or with both, as usage errors', async () => {
    for (const command of ['retry', 'delete']) {
      const neither = await toniqCli([command]);
      assert.equal(neither.code, 2);
      assert.match(
        neither.stderr,
        new RegExp(`Name the failed jobs to ${command}: "toniq ${command} <id>\\.\\.\\."`),
      );
      const both = await toniqCli([command, '--all', '01J2ZK7W5C3Q2N8V4T6R0M9XYZ']);
      assert.equal(both.code, 2);
      assert.match(both.stderr, /either job ids or --all, not both/);
      const workerWithIds = await toniqCli([command, '--worker', 'SendEmail', '01J2ZK7W5C3Q2N8V4T6R0M9XYZ']);
      assert.equal(workerWithIds.code, 2);
      assert.match(workerWithIds.stderr, /--worker and --search choose jobs only with --all/);
    }
  });

  it('exits with 1 and says how to point it at Redis when Redis cannot be reached, without a stack trace', async () => {
    const port = await freePort();
    const viaOption = await toniqCli(['stats', '--redis-url', `redis://127.0.0.1:${port}`]);
    assert.equal(viaOption.code, 1);
    assert.equal(viaOption.stdout, '');
    assert.match(
      viaOption.stderr,
      new RegExp(
        `^toniq: Cannot reach Redis at redis://127\\.0\\.0\\.1:${port} \\(.*ECONNREFUSED.*\\)\\. ` +
          'Is it running\\? Set REDIS_URL or --redis-url\\.\n$',
      ),
    );
    assertNoStack(viaOption.stderr);

    const viaEnv = await toniqCli(['failed'], { env: { REDIS_URL: `redis://:secret@127.0.0.1:${port}/0` } });
    assert.equal(viaEnv.code, 1);
    assert.match(
      viaEnv.stderr,
      new RegExp(`Cannot reach Redis at redis://:\\*\\*\\*@127\\.0\\.0\\.1:${port}/0`),
    );
    assert.doesNotMatch(viaEnv.stderr, /secret/, 'the password is not printed');
    assertNoStack(viaEnv.stderr);
  });

  it('stats shows the running, waiting, delayed and failed jobs of a running toniq, per worker and process', async () => {
    const { toniq, keyPrefix } = await startToniq();
    const first = nextEvent<[Job]>(toniq.events, 'started');
    await toniq.enqueue(hangs, { n: 1 }); // runs (and never ends)
    await first;
    await toniq.enqueue(hangs, { n: 2 }); // waits for the slot
    await toniq.enqueue(hangs, { n: 3 }, { delayFor: Infinity });
    await failEmail(toniq);

    // Running and waiting come from each process's periodic report, so they can lag a moment.
    const stats = await eventually(
      async () => {
        const json = await toniqCli(['stats', '--json', ...at(keyPrefix)]);
        assert.equal(json.code, 0, json.stderr);
        const read = JSON.parse(json.stdout);
        assert.deepEqual(read.totals, { running: 1, waiting: 1, delayed: 1, failed: 1 });
        return read;
      },
      { timeout: 15_000, interval: 100, what: 'stats --json to show the counts' },
    );
    const byWorker = Object.fromEntries(stats.workers.map((w: { worker: string }) => [w.worker, w]));
    assert.deepEqual(byWorker.Hangs, { worker: 'Hangs', running: 1, waiting: 1, delayed: 1, failed: 0 });
    assert.deepEqual(byWorker.SendEmail, {
      worker: 'SendEmail',
      running: 0,
      waiting: 0,
      delayed: 0,
      failed: 1,
    });
    assert.equal(stats.processes.length, 1);
    assert.equal(stats.processes[0].id, toniq.processId);
    assert.ok(!Number.isNaN(Date.parse(stats.at)), 'times are ISO strings');

    const human = await toniqCli(['stats', ...at(keyPrefix)]);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /^WORKER +RUNNING +WAITING +DELAYED +FAILED$/m);
    assert.match(human.stdout, /^Hangs +1 +1 +1 +0$/m);
    assert.match(human.stdout, /^SendEmail +0 +0 +0 +1$/m);
    assert.match(human.stdout, /^\(total\) +1 +1 +1 +1$/m);
    assert.match(human.stdout, /^1 process \(1 alive\):$/m);
    assert.ok(human.stdout.includes(toniq.processId), human.stdout);
  });

  it('processes lists each registered process with its host, pid, heartbeat, jobs and workers', async () => {
    const { toniq, keyPrefix } = await startToniq();
    const started = nextEvent<[Job]>(toniq.events, 'started');
    await toniq.enqueue(hangs, { n: 1 });
    await started;

    // The running count comes from the process's periodic report, so it can lag a moment.
    const processes = await eventually(
      async () => {
        const json = await toniqCli(['processes', '--json', ...at(keyPrefix)]);
        assert.equal(json.code, 0, json.stderr);
        const read = JSON.parse(json.stdout).processes;
        assert.equal(read.length, 1);
        assert.equal(read[0].running, 1);
        return read;
      },
      { timeout: 15_000, interval: 100, what: 'processes --json to show the running job' },
    );
    const [process0] = processes;
    assert.equal(process0.id, toniq.processId);
    assert.equal(process0.pid, process.pid);
    assert.equal(process0.alive, true);
    assert.deepEqual([...process0.workers].sort(), ['Hangs', 'ResizeImage', 'SendEmail']);

    const human = await toniqCli(['processes', ...at(keyPrefix)]);
    assert.equal(human.code, 0, human.stderr);
    const [header, row, ...rest] = human.stdout.trimEnd().split('\n');
    assert.equal(rest.length, 0, human.stdout);
    assert.match(header!, /^PROCESS +HOST +PID +STARTED +HEARTBEAT +RUNNING +WAITING +DELAYED +WORKERS$/);
    assert.ok(row!.startsWith(`${toniq.processId} `), row);
    assert.match(row!, new RegExp(` ${process.pid} +\\d+\\.\\d s ago +\\d+\\.\\d s ago +1 +0 +0 +`));

    const empty = await toniqCli(['processes', ...at(randomPrefix())]);
    assert.equal(empty.code, 0);
    assert.match(empty.stdout, /No process is registered/);
  });

  it('stats, processes and failed exit 0 with damaged entries in Redis, noting them and printing "unknown" for unknown times', async () => {
    const { toniq, keyPrefix } = await startToniq();
    const client = server.redis.client();
    await client.hset(
      keysFor(keyPrefix).registry,
      'damaged-one',
      JSON.stringify({
        id: 'damaged-one',
        host: 'web-2',
        pid: 7,
        startedAt: 'x',
        version: '1',
        workers: null,
      }),
    );
    await client.set(keysFor(keyPrefix).process('damaged-one').heartbeat, '1', 'PX', 60_000);
    await client.hset(`{${keyPrefix}}:reports`, 'damaged-one', '{"workers":{"Good":null}}');
    const id = '01JDAMAGED0000000000000009';
    const header = JSON.stringify({ id, worker: 'SendEmail', attempt: 2, createdAt: Date.now(), failed: {} });
    const record = Buffer.concat([Buffer.from([0x02, 0x55, 0, 0, 0, 0]), Buffer.from(header)]);
    record.writeUInt32BE(Buffer.byteLength(header), 2);
    await client.hset(`{${keyPrefix}}:failed`, id, record);
    await client.zadd(`{${keyPrefix}}:failed-index`, 'inf', id);

    for (const command of ['stats', 'processes']) {
      const result = await toniqCli([command, ...at(keyPrefix)]);
      assert.equal(result.code, 0, result.stderr);
      const row = result.stdout.split('\n').find((line) => line.startsWith('damaged-one'));
      assert.ok(row, result.stdout);
      assert.match(row, / unknown +/, 'an unknown start time');
      assert.match(row, /damaged: Its registration has no readable startedAt, workers/);
      assert.match(row, /Its last report has unreadable counts for the worker\(s\) "Good"/);
      assert.match(result.stdout, /NOTE$/m);
      assert.ok(result.stdout.includes(toniq.processId), 'the sound process is listed too');
    }

    const failed = await toniqCli(['failed', ...at(keyPrefix)]);
    assert.equal(failed.code, 0, failed.stderr);
    assert.doesNotMatch(failed.stdout, /NaN|Invalid/);
    const row = failed.stdout.split('\n').find((line) => line.startsWith(id));
    assert.match(row ?? '', / unknown +2 +CorruptJobRecordError: The record of job/);

    // A refusal by Redis (a user without a permission): said plainly, with what to do, and no stack.
    await client.call('ACL', 'SETUSER', 'cli-no-hgetall', 'on', '>secret', '~*', '&*', '+@all', '-hgetall');
    const refused = await toniqCli([
      'stats',
      '--redis-url',
      server.redis.url.replace('redis://', 'redis://cli-no-hgetall:secret@'),
      '--prefix',
      keyPrefix,
    ]);
    assert.equal(refused.code, 1);
    assert.match(
      refused.stderr,
      /^toniq: Redis at redis:\/\/cli-no-hgetall:\*\*\*@.* refused: NOPERM .*grant it the commands/,
    );
    assert.doesNotMatch(refused.stderr, /secret/);
    assertNoStack(refused.stderr);
  });

  it('failed lists the failed jobs as a table or as JSON, and --worker and --search filter them', async () => {
    const { toniq, keyPrefix } = await startToniq();
    const emailId = await failEmail(toniq);
    const resizeId = await failResize(toniq);

    const human = await toniqCli(['failed', ...at(keyPrefix)]);
    assert.equal(human.code, 0, human.stderr);
    const lines = human.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^ID +WORKER +FAILED +ATTEMPTS +ERROR +ARGUMENTS$/);
    // Newest failure first.
    assert.match(lines[1]!, new RegExp(`^${resizeId} +ResizeImage +\\d+\\.\\d s ago +1 +Error: `));
    assert.match(lines[2]!, new RegExp(`^${emailId} +SendEmail +\\d+\\.\\d s ago +1 +Error: SMTP refused +`));
    assert.ok(lines[2]!.endsWith("{ to: 'ada@example.com' }"), lines[2]);
    assert.equal(lines.at(-1), '2 failed jobs.');
    assert.ok(!human.stdout.includes('\u001b'), 'control characters from a job are not sent to the terminal');
    assert.ok(lines[1]!.includes('Error: \\x1b[31mdisk full\\x1b[0m\\nsecond line'), lines[1]);

    const json = await toniqCli(['failed', '--json', ...at(keyPrefix)]);
    assert.equal(json.code, 0, json.stderr);
    const page = JSON.parse(json.stdout);
    assert.equal(page.total, 2);
    assert.equal(page.hasMore, false);
    assert.deepEqual(
      page.jobs.map((job: { id: string }) => job.id),
      [resizeId, emailId],
    );
    const email = page.jobs[1];
    assert.equal(email.worker, 'SendEmail');
    assert.equal(email.state, 'failed');
    assert.equal(email.attempts, 1);
    assert.deepEqual(email.error, { name: 'Error', message: 'SMTP refused' });
    assert.equal(email.argsPreview, "{ to: 'ada@example.com' }");
    assert.ok(!Number.isNaN(Date.parse(email.failedAt)));

    const byWorker = JSON.parse(
      (await toniqCli(['failed', '--json', '--worker', 'SendEmail', ...at(keyPrefix)])).stdout,
    );
    assert.deepEqual(
      byWorker.jobs.map((job: { id: string }) => job.id),
      [emailId],
    );
    const bySearch = JSON.parse(
      (await toniqCli(['failed', '--json', '--search', 'DISK FULL', ...at(keyPrefix)])).stdout,
    );
    assert.deepEqual(
      bySearch.jobs.map((job: { id: string }) => job.id),
      [resizeId],
    );

    const firstPage = await toniqCli(['failed', '--limit', '1', ...at(keyPrefix)]);
    assert.match(firstPage.stdout, /Failed jobs 1–1 of 2\. Next page: --offset 1\.$/m);
    const none = await toniqCli(['failed', '--worker', 'Nobody', ...at(keyPrefix)]);
    assert.equal(none.code, 0);
    assert.equal(none.stdout, 'No failed jobs of worker "Nobody".\n');
  });

  it('retry <id> sends a failed job back to a live process that registers its worker, where it runs', async () => {
    const { toniq, keyPrefix } = await startToniq();
    const id = await failEmail(toniq);
    healthy = true;
    const finished = nextEvent<[Job]>(toniq.events, 'finished', {
      filter: (job) => job.id === id,
      timeout: 10_000,
    });
    const retried = await toniqCli(['retry', id, ...at(keyPrefix)]);
    assert.equal(retried.code, 0, retried.stderr);
    assert.match(retried.stdout, new RegExp(`^Retried job ${id}\\.$`, 'm'));
    const [done] = await finished;
    assert.equal(done.attempt, 1, 'a retried job starts with a fresh set of retries');
    assert.equal(done.processId, toniq.processId);
    const after = JSON.parse((await toniqCli(['failed', '--json', ...at(keyPrefix)])).stdout);
    assert.equal(after.total, 0);
  });

  it('retry --all --worker retries every failed job of that worker and leaves the others', async () => {
    const { toniq, keyPrefix } = await startToniq();
    const first = await failEmail(toniq, 'one@example.com');
    const second = await failEmail(toniq, 'two@example.com');
    const other = await failResize(toniq);
    healthy = true;
    const finished = new Set<string>();
    const bothFinished = new Promise<void>((resolve) => {
      toniq.events.on('finished', (job) => {
        finished.add(job.id);
        if (finished.has(first) && finished.has(second)) resolve();
      });
    });
    const retried = await toniqCli(['retry', '--all', '--worker', 'SendEmail', ...at(keyPrefix)]);
    assert.equal(retried.code, 0, retried.stderr);
    assert.match(retried.stdout, /^Retried 2 failed jobs of worker "SendEmail"\.$/m);
    await Promise.race([
      bothFinished,
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error('the retried jobs did not finish')), 10_000).unref(),
      ),
    ]);
    const left = JSON.parse((await toniqCli(['failed', '--json', ...at(keyPrefix)])).stdout);
    assert.deepEqual(
      left.jobs.map((job: { id: string }) => job.id),
      [other],
    );
  });

  it('delete <id> removes a failed job for good, and delete --all removes the rest', async () => {
    const { toniq, keyPrefix } = await startToniq();
    const first = await failEmail(toniq, 'one@example.com');
    const second = await failEmail(toniq, 'two@example.com');
    const third = await failResize(toniq);

    const deleted = await toniqCli(['delete', first, ...at(keyPrefix)]);
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.equal(deleted.stdout, `Deleted job ${first}.\n`);
    const left = JSON.parse((await toniqCli(['failed', '--json', ...at(keyPrefix)])).stdout);
    assert.deepEqual(
      left.jobs.map((job: { id: string }) => job.id),
      [third, second],
    );

    const all = await toniqCli(['delete', '--all', '--json', ...at(keyPrefix)]);
    assert.equal(all.code, 0, all.stderr);
    const result = JSON.parse(all.stdout);
    assert.deepEqual([...result.done].sort(), [second, third].sort());
    assert.deepEqual(result.missing, []);
    assert.equal(JSON.parse((await toniqCli(['failed', '--json', ...at(keyPrefix)])).stdout).total, 0);
    const again = await toniqCli(['delete', '--all', ...at(keyPrefix)]);
    assert.equal(again.code, 0);
    assert.equal(again.stdout, 'No failed jobs to delete.\n');
  });

  it('retry and delete of an id that is not in the failed list exit with 1 and name the id', async () => {
    const { toniq, keyPrefix } = await startToniq();
    const id = await failEmail(toniq);
    const bogus = '01J2ZK7W5C3Q2N8V4T6R0M9XYZ';

    const retried = await toniqCli(['retry', bogus, ...at(keyPrefix)]);
    assert.equal(retried.code, 1);
    assert.equal(retried.stdout, '');
    assert.match(retried.stderr, new RegExp(`Not in the failed list: ${bogus}\\. No failed job has this id`));
    assert.match(retried.stderr, /Run "toniq failed" for the current list\./);
    assertNoStack(retried.stderr);

    // A mix: the real one is deleted, the bogus one reported.
    const deleted = await toniqCli(['delete', id, bogus, ...at(keyPrefix)]);
    assert.equal(deleted.code, 1);
    assert.equal(deleted.stdout, `Deleted job ${id}.\n`);
    assert.match(deleted.stderr, new RegExp(`Not in the failed list: ${bogus}\\.`));

    const twice = await toniqCli(['delete', id, ...at(keyPrefix)]);
    assert.equal(twice.code, 1);
    assert.match(twice.stderr, new RegExp(`Not in the failed list: ${id}\\.`));
  });

  it('retry says why when no live process registers the worker, and exits with 1', async () => {
    const { toniq, keyPrefix } = await startToniq();
    const id = await failEmail(toniq);
    await toniq.stop({ timeout: 100 });
    const retried = await toniqCli(['retry', id, ...at(keyPrefix)]);
    assert.equal(retried.code, 1);
    assert.match(retried.stderr, new RegExp(`^Could not retry job ${id}: .*SendEmail`, 'm'));
    const still = JSON.parse((await toniqCli(['failed', '--json', ...at(keyPrefix)])).stdout);
    assert.equal(still.total, 1, 'the job stays in the failed list');
  });
});

describe('toniq ui', () => {
  it('serves the admin UI and its JSON API on 127.0.0.1 without a login, and stops on SIGTERM', async () => {
    const { toniq, keyPrefix } = await startToniq();
    await failEmail(toniq);
    const ui = await startUi(at(keyPrefix));
    try {
      assert.match(ui.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
      assert.match(ui.stdout(), /No login: anyone on this machine can open it\./);
      const page = await fetch(ui.url);
      assert.equal(page.status, 200);
      assert.match(page.headers.get('content-type') ?? '', /text\/html/);
      await page.text();
      const stats = await fetch(new URL('api/stats', ui.url));
      assert.equal(stats.status, 200);
      const body = (await stats.json()) as { totals: { failed: number }; processes: { id: string }[] };
      assert.equal(body.totals.failed, 1);
      assert.deepEqual(
        body.processes.map((p) => p.id),
        [toniq.processId],
      );
    } finally {
      const code = await stopUi(ui);
      assert.equal(code, 0, ui.stderr());
    }
    assert.match(ui.stderr(), /SIGTERM: stopping the admin UI\./);
  });

  it('asks for the login in TONIQ_UI_USERNAME and TONIQ_UI_PASSWORD when they are set, and stops on SIGINT', async () => {
    const { keyPrefix } = await startToniq();
    const ui = await startUi(at(keyPrefix), { TONIQ_UI_USERNAME: 'ops', TONIQ_UI_PASSWORD: 's3cret' });
    try {
      assert.match(ui.stdout(), /Login required/);
      const anonymous = await fetch(new URL('api/stats', ui.url));
      assert.equal(anonymous.status, 401);
      await anonymous.text();
      const authorization = `Basic ${Buffer.from('ops:s3cret').toString('base64')}`;
      const stats = await fetch(new URL('api/stats', ui.url), { headers: { authorization } });
      assert.equal(stats.status, 200);
      await stats.json();
    } finally {
      assert.equal(await stopUi(ui, 'SIGINT'), 0, ui.stderr());
    }
  });

  it('with --read-only tells the page to show no actions', async () => {
    const { keyPrefix } = await startToniq();
    const ui = await startUi(['--read-only', ...at(keyPrefix)]);
    try {
      const session = await fetch(new URL('api/session', ui.url));
      assert.equal(session.status, 200);
      assert.equal(((await session.json()) as { readOnly: boolean }).readOnly, true);
    } finally {
      assert.equal(await stopUi(ui), 0, ui.stderr());
    }
  });

  it('refuses to listen beyond this machine without a login', async () => {
    const refused = await toniqCli(['ui', '--host', '0.0.0.0', '--port', '0', ...at(randomPrefix())]);
    assert.equal(refused.code, 1);
    assert.match(
      refused.stderr,
      /^toniq: Refusing to serve the admin UI on 0\.0\.0\.0 without a login: .*Set TONIQ_UI_USERNAME and TONIQ_UI_PASSWORD/,
    );
    assertNoStack(refused.stderr);
  });
});
