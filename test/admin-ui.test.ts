/**
 * The admin web UI in headless Chromium (Debian's, driven by playwright-core), served by
 * toniq.adminHandler from a plain http.createServer under /admin, over real jobs in a real Redis.
 * Each page is saved as a screenshot in test-artifacts/screenshots/.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { Locator } from 'playwright-core';
import {
  type AdminHandlerOptions,
  createToniq,
  defineWorker,
  type FailedJob,
  type Job,
  noRetry,
  type Toniq,
} from '../src/index.js';
import { keysFor } from '../src/storage/keys.js';
import { screenshot, serve, type TestPage, useBrowser } from './harness/browser.js';
import { collectEvents, eventually, nextEvent } from './harness/eventually.js';
import { fixtureWorker, randomPrefix, recordingLogger, toniqFactory, useRedis } from './harness/fixtures.js';
import { startRedis } from './harness/redis-server.js';

const redis = useRedis();
const newToniq = toniqFactory(redis);
const browser = useBrowser();

const HOUR = 3_600_000;
const XSS_ARGS =
  '<script>window.__xss = 1; alert(1)</script><img src=x onerror="window.__xss = 2; alert(2)">';

let mailerUp = false;
const sendEmail = defineWorker(
  'SendEmail',
  (_args: { to: string }) => {
    if (!mailerUp) throw Object.assign(new Error('SMTP refused'), { code: 'ESMTP' });
  },
  { retry: noRetry() },
);
/** Holds its jobs until the test ends; two at a time, so the rest wait. */
const resizeImage = defineWorker('ResizeImage', (_args: { path: string }) => new Promise<void>(() => {}), {
  maxConcurrency: 2,
});
/** A worker whose name and error are markup, to check they are shown as text. */
const renderHtml = defineWorker(
  '<img src=x onerror="window.__xss = 3">',
  (args: { html: string }) => {
    throw new Error(args.html);
  },
  { retry: noRetry() },
);

type TestToniq = Awaited<ReturnType<typeof newToniq>>;

/** Enqueues jobs that fail for good, and resolves with their ids once all are in the failed list. */
async function failJobs<Args>(
  toniq: TestToniq,
  worker: { name: string },
  argsList: Args[],
): Promise<string[]> {
  const failed = collectEvents<[FailedJob, Error]>(toniq.events, 'failed', argsList.length, 20_000);
  const ids: string[] = [];
  for (const args of argsList) ids.push((await toniq.enqueue(worker as typeof sendEmail, args as never)).id);
  await failed;
  return ids;
}

/** Serves the toniq's admin handler under /admin (or another base path) and returns the page's address. */
async function serveAdmin(toniq: Toniq, options: AdminHandlerOptions = { insecureNoAuth: true }) {
  const basePath = options.basePath ?? '/admin';
  const { url } = await serve(toniq.adminHandler({ logger: recordingLogger(), ...options, basePath }));
  return `${url}${basePath}/`;
}

/** Waits until the element's text (trimmed) is `expected`. */
async function expectText(locator: Locator, expected: string | RegExp, what = 'the text'): Promise<void> {
  await eventually(
    async () => {
      const text = ((await locator.textContent({ timeout: 1000 })) ?? '').trim();
      if (typeof expected === 'string') assert.equal(text, expected);
      else assert.match(text, expected);
    },
    { timeout: 10_000, interval: 50, what },
  );
}

async function expectCount(
  locator: Locator,
  expected: number,
  what = 'the number of elements',
): Promise<void> {
  await eventually(async () => assert.equal(await locator.count(), expected), {
    timeout: 10_000,
    interval: 50,
    what,
  });
}

async function cellTexts(row: Locator): Promise<string[]> {
  return (await row.locator('td').allTextContents()).map((text) => text.trim());
}

/** Jobs in each state, in one toniq: 2 running and 3 waiting ResizeImage, 4 delayed, 2 failed SendEmail, 5 finished. */
async function populate(): Promise<TestToniq> {
  mailerUp = false;
  const toniq = await newToniq({ workers: [sendEmail, resizeImage, fixtureWorker] });
  const finished = collectEvents<[Job]>(toniq.events, 'finished', 5, 10_000);
  for (let i = 0; i < 5; i++) await toniq.enqueue(fixtureWorker, { do: 'succeed' });
  await finished;
  for (let i = 0; i < 5; i++) await toniq.enqueue(resizeImage, { path: `/uploads/${i}.jpg` });
  for (let i = 1; i <= 4; i++) await toniq.enqueue(fixtureWorker, { do: 'succeed' }, { delayFor: i * HOUR });
  await failJobs(toniq, sendEmail, [{ to: 'ada@example.com' }, { to: 'alan@example.com' }]);
  return toniq;
}

function assertNoPageErrors(tab: TestPage): void {
  assert.deepEqual(tab.errors, [], 'the page logged no errors');
}

describe('admin web UI', () => {
  it('shows on the overview the counts of running, waiting, delayed and failed jobs, per worker, per process, and the throughput', async () => {
    const toniq = await populate();
    const tab = await browser.newPage();
    const { page } = tab;
    await page.goto(await serveAdmin(toniq));

    await expectText(page.getByTestId('count-running-value'), '2', 'running count');
    await expectText(page.getByTestId('count-waiting-value'), '3', 'waiting count');
    await expectText(page.getByTestId('count-delayed-value'), '4', 'delayed count');
    await expectText(page.getByTestId('count-failed-value'), '2', 'failed count');
    await expectText(page.getByTestId('nav-failed').locator('.nav-count'), '2', 'failed count in the nav');

    const workers = page.getByTestId('worker-row');
    await eventually(
      async () => {
        assert.deepEqual(await cellTexts(workers.filter({ hasText: 'ResizeImage' })), [
          'ResizeImage',
          '2',
          '3',
          '0',
          '0',
        ]);
        assert.deepEqual(await cellTexts(workers.filter({ hasText: 'SendEmail' })), [
          'SendEmail',
          '0',
          '0',
          '0',
          '2',
        ]);
        assert.deepEqual(await cellTexts(workers.filter({ hasText: 'Fixture' })), [
          'Fixture',
          '0',
          '0',
          '4',
          '0',
        ]);
      },
      { timeout: 10_000, what: 'the table per worker' },
    );
    const processRow = page.getByTestId('process-row').filter({ hasText: toniq.processId });
    await eventually(
      async () => assert.deepEqual((await cellTexts(processRow)).slice(2), ['2', '3', '4', 'alive']),
      { timeout: 10_000, what: 'the table per process' },
    );

    // The chart counts the jobs that finished and failed in the last hour.
    await eventually(
      async () => {
        const finished = Number(
          (await page.getByTestId('throughput-finished').textContent())?.replace(/,/g, ''),
        );
        const failed = Number((await page.getByTestId('throughput-failed').textContent())?.replace(/,/g, ''));
        assert.equal(finished, 5);
        assert.equal(failed, 2);
      },
      { timeout: 10_000, what: 'the throughput totals' },
    );
    assert.ok(await page.getByTestId('throughput-chart').locator('svg path').count(), 'the chart is drawn');
    await screenshot(page, 'overview');

    // A count card leads to its list.
    await page.getByTestId('count-failed').click();
    await expectCount(page.getByTestId('job-row'), 2, 'failed jobs listed');
    assert.match(page.url(), /#\/jobs\/failed$/);
    assertNoPageErrors(tab);
  });

  it('shows the processes and each job list with its jobs', async () => {
    const toniq = await populate();
    const tab = await browser.newPage();
    const { page } = tab;
    const root = await serveAdmin(toniq);

    await page.goto(`${root}#/processes`);
    const processRow = page.getByTestId('process-row').filter({ hasText: toniq.processId });
    await eventually(
      async () => {
        const cells = await cellTexts(processRow);
        assert.equal(cells[0], toniq.processId);
        assert.equal(cells[2], String(process.pid));
        assert.match(cells[4]!, /SendEmail/);
        assert.match(cells[6]!, /ago$/, 'heartbeat age');
        assert.deepEqual(cells.slice(7), ['2', '3', '4', 'alive']);
      },
      { timeout: 10_000, what: 'the process row' },
    );
    await screenshot(page, 'processes');

    const expected = { running: 2, waiting: 3, delayed: 4, failed: 2 };
    for (const [state, count] of Object.entries(expected)) {
      await page.goto(`${root}#/jobs/${state}`);
      await expectCount(page.getByTestId('job-row'), count, `${state} jobs listed`);
      await expectText(page.getByTestId('range'), `1–${count} of ${count}`, `${state} range`);
      await expectText(
        page.getByTestId(`tab-${state}`),
        `${state[0]!.toUpperCase()}${state.slice(1)} ${count}`,
      );
      await screenshot(page, `jobs-${state}`);
    }
    // Delayed jobs come soonest first, with their due time.
    await page.goto(`${root}#/jobs/delayed`);
    await expectText(
      page.getByTestId('job-row').first().locator('time').nth(1),
      /^in (59|60) min$/,
      'due time',
    );
    assertNoPageErrors(tab);
  });

  it('shows a process whose registration is damaged with a note and an unknown start, beside the sound ones', async () => {
    const keyPrefix = randomPrefix();
    const toniq = await newToniq({ keyPrefix, workers: [sendEmail] });
    const client = redis.redis.client();
    await client.hset(
      keysFor(keyPrefix).registry,
      'damaged-one',
      JSON.stringify({ id: 'damaged-one', host: 'web-2', pid: 7, version: '1', workers: 5 }),
    );
    await client.set(keysFor(keyPrefix).process('damaged-one').heartbeat, '1', 'PX', 60_000);
    await client.hset(`{${keyPrefix}}:reports`, 'damaged-one', '{"workers":{"Good":null}}');
    const tab = await browser.newPage();
    const { page } = tab;
    const root = await serveAdmin(toniq);

    await page.goto(`${root}#/processes`);
    const damagedRow = page.getByTestId('process-row').filter({ hasText: 'damaged-one' });
    await expectText(
      damagedRow.getByTestId('process-damaged'),
      /^Damaged: Its registration has no readable startedAt, workers, deadAfter.*unreadable counts for the worker\(s\) "Good"/,
      'the damage note',
    );
    const cells = await cellTexts(damagedRow);
    assert.equal(cells[5], 'unknown', 'the start time');
    assert.equal(cells[4], '—', 'no workers');
    const soundRow = page.getByTestId('process-row').filter({ hasText: toniq.processId });
    await expectCount(soundRow.getByTestId('process-damaged'), 0, 'no note on the sound process');
    await page.goto(root);
    await expectCount(page.getByTestId('process-damaged'), 1, 'the note on the overview too');
    await screenshot(page, 'processes-damaged');
    assertNoPageErrors(tab);
  });

  it('opens a failed job from the failed list, retries it, and it leaves the list when it succeeds', async () => {
    mailerUp = false;
    const toniq = await newToniq({ workers: [sendEmail] });
    const [id] = await failJobs(toniq, sendEmail, [{ to: 'ada@example.com' }]);
    const tab = await browser.newPage();
    const { page } = tab;
    await page.goto(`${await serveAdmin(toniq)}#/jobs/failed`);

    const row = page.getByTestId('job-row');
    await expectCount(row, 1, 'the failed job listed');
    assert.equal((await row.getByTestId('job-error').textContent())?.trim(), 'Error: SMTP refused');
    assert.equal((await row.getByTestId('job-args').textContent())?.trim(), "{ to: 'ada@example.com' }");
    await screenshot(page, 'jobs-failed');

    await row.getByTestId('job-link').click();
    await expectText(page.getByTestId('detail-id'), id!, 'the job page');
    assert.equal(await page.getByTestId('detail-args').textContent(), "{ to: 'ada@example.com' }");
    assert.equal(await page.getByTestId('detail-worker').textContent(), 'SendEmail');
    assert.equal(await page.getByTestId('detail-attempts').textContent(), '1');
    assert.equal(await page.getByTestId('detail-process').textContent(), toniq.processId);
    assert.equal(
      (await page.getByTestId('detail-error').textContent())?.trim(),
      'Error: SMTP refused code ESMTP',
    );
    assert.match(
      (await page.getByTestId('detail-stack').textContent()) ?? '',
      /^Error: SMTP refused\n\s+at /,
    );
    await screenshot(page, 'job-failed');

    // Asked first: saying no does nothing.
    tab.answerNextConfirm(false);
    await page.getByTestId('retry').click();
    await eventually(() => assert.equal(tab.dialogs.length, 1), { what: 'the confirmation' });
    assert.equal(tab.dialogs[0]!.message, `Retry job ${id}?`);
    assert.equal((await toniq.failedJobs()).length, 1);

    mailerUp = true;
    const finished = nextEvent<[Job]>(toniq.events, 'finished', {
      filter: (job) => job.id === id,
      timeout: 10_000,
    });
    tab.answerNextConfirm(true);
    await page.getByTestId('retry').click();
    await finished;
    await expectText(page.getByTestId('notice'), /^Retried 1 job\./, 'the notice');
    assert.match(page.url(), /#\/jobs\/failed$/, 'back on the failed list');
    await expectText(page.getByTestId('empty'), 'No failed jobs.', 'the empty failed list');
    assert.deepEqual(await toniq.failedJobs(), []);
    await screenshot(page, 'jobs-failed-after-retry');
    assertNoPageErrors(tab);
  });

  it('runs a delayed job now when asked, from the delayed list', async () => {
    const toniq = await newToniq({ workers: [fixtureWorker] });
    const job = await toniq.enqueue(fixtureWorker, { do: 'succeed' }, { delayFor: HOUR });
    const tab = await browser.newPage();
    const { page } = tab;
    const root = await serveAdmin(toniq);

    await page.goto(`${root}#/job/${encodeURIComponent(job.id)}`);
    await expectText(page.getByTestId('state-badge'), 'delayed');
    assert.equal(await page.getByTestId('detail-args').textContent(), "{ do: 'succeed' }");
    await screenshot(page, 'job-delayed');

    await page.goto(`${root}#/jobs/delayed`);
    const row = page.getByTestId('job-row');
    await expectCount(row, 1, 'the delayed job listed');
    const finished = nextEvent<[Job]>(toniq.events, 'finished', {
      filter: (j) => j.id === job.id,
      timeout: 10_000,
    });
    tab.answerNextConfirm(true);
    await row.getByTestId('run-now').click();
    await finished;
    assert.match(tab.dialogs[0]!.message, /^Run job .+ now, without waiting for the due time\?$/);
    await expectText(page.getByTestId('notice'), /^1 job will run now\./, 'the notice');
    await expectText(page.getByTestId('empty'), 'No delayed jobs.', 'the empty delayed list');
    assertNoPageErrors(tab);
  });

  it('pages through 120 failed jobs, filters them by worker, searches them, and acts on the selected or all of the filtered list', async () => {
    mailerUp = false;
    const toniq = await newToniq({ workers: [sendEmail, fixtureWorker], retry: noRetry() });
    const emails = Array.from({ length: 110 }, (_, i) => ({ to: `user${i}@example.com` }));
    const emailIds = await failJobs(toniq, sendEmail, emails);
    await failJobs(
      toniq,
      fixtureWorker,
      Array.from({ length: 10 }, (_, i) => ({ do: 'throw' as const, message: `boom ${i}` })),
    );
    const tab = await browser.newPage();
    const { page } = tab;
    const root = await serveAdmin(toniq);
    await page.goto(`${root}#/jobs/failed`);

    const rows = page.getByTestId('job-row');
    const range = page.getByTestId('range');
    await expectText(range, '1–50 of 120');
    await expectCount(rows, 50);
    await page.getByTestId('page-next').click();
    await expectText(range, '51–100 of 120');
    await page.getByTestId('page-last').click();
    await expectText(range, '101–120 of 120');
    await expectCount(rows, 20);
    assert.match(page.url(), /page=3$/);

    // Filtered by worker: the select lists the workers of the stats.
    await page.getByTestId('worker-filter').selectOption('Fixture');
    await expectText(range, '1–10 of 10');
    assert.deepEqual(new Set(await rows.getByTestId('job-worker').allTextContents()), new Set(['Fixture']));
    assert.match(page.url(), /#\/jobs\/failed\?worker=Fixture$/);

    // Searched by text in the error, in the arguments, and by id.
    await page.getByTestId('search').fill('boom 3');
    await page.getByTestId('search').press('Enter');
    await expectText(range, '1–1 of 1');
    await expectText(rows.getByTestId('job-error'), 'Error: boom 3');
    await page.getByTestId('worker-filter').selectOption('');
    await page.getByTestId('search').fill('user42@');
    await page.getByTestId('search-button').click();
    await expectText(rows.getByTestId('job-args'), "{ to: 'user42@example.com' }");
    await page.getByTestId('search').fill(emailIds[7]!);
    await page.getByTestId('search').press('Enter');
    await expectText(rows.getByTestId('job-link'), emailIds[7]!);
    await page.getByTestId('search').fill('no job has this text');
    await page.getByTestId('search').press('Enter');
    await expectText(page.getByTestId('empty'), 'No failed jobs match “no job has this text”.');
    await page.getByTestId('clear-search').click();
    await expectText(range, '1–50 of 120');

    // Two selected Fixture jobs deleted.
    await page.getByTestId('worker-filter').selectOption('Fixture');
    await expectText(range, '1–10 of 10');
    await rows.nth(0).getByTestId('job-select').check();
    await rows.nth(1).getByTestId('job-select').check();
    await expectText(page.getByTestId('delete-selected'), 'Delete selected (2)');
    tab.answerNextConfirm(true);
    await page.getByTestId('delete-selected').click();
    await expectText(page.getByTestId('notice'), 'Deleted 2 jobs.');
    await expectText(range, '1–8 of 8');
    assert.equal(tab.dialogs.at(-1)!.message, 'Delete 2 selected jobs? This cannot be undone.');
    await screenshot(page, 'jobs-failed-filtered');

    // Retry all of the filtered list: the SendEmail jobs whose arguments hold "user1".
    mailerUp = true;
    await page.getByTestId('worker-filter').selectOption('SendEmail');
    await page.getByTestId('search').fill('user1');
    await page.getByTestId('search').press('Enter');
    await expectText(range, '1–21 of 21'); // user1, user10–19, user100–109
    const finished = collectEvents<[Job]>(toniq.events, 'finished', 21, 10_000);
    tab.answerNextConfirm(true);
    await page.getByTestId('retry-all').click();
    await finished;
    assert.equal(
      tab.dialogs.at(-1)!.message,
      'Retry all 21 failed jobs of worker SendEmail matching “user1”?',
    );
    await expectText(page.getByTestId('notice'), 'Retried 21 jobs.');
    await expectText(page.getByTestId('empty'), 'No failed jobs of worker SendEmail match “user1”.');

    // Delete all of worker Fixture.
    await page.goto(`${root}#/jobs/failed?worker=Fixture`);
    await expectText(range, '1–8 of 8');
    tab.answerNextConfirm(true);
    await page.getByTestId('delete-all').click();
    await expectText(page.getByTestId('notice'), 'Deleted 8 jobs.');
    await expectText(page.getByTestId('empty'), 'No failed jobs of worker Fixture.');
    await page.getByTestId('clear-search').click();
    await expectText(range, '1–50 of 89');
    assert.equal((await toniq.admin.jobs({ state: 'failed' })).total, 89);
    assertNoPageErrors(tab);
  });

  it('shows arguments, errors and worker names holding <script> as text and runs nothing', async () => {
    const toniq = await newToniq({ workers: [renderHtml] });
    const [id] = await failJobs(toniq, renderHtml, [{ html: XSS_ARGS }]);
    const tab = await browser.newPage();
    const { page } = tab;
    const root = await serveAdmin(toniq);

    await page.goto(root);
    await expectText(
      page.getByTestId('worker-row').locator('td').first(),
      renderHtml.name,
      'the worker name',
    );
    await page.goto(`${root}#/jobs/failed`);
    const row = page.getByTestId('job-row');
    await expectCount(row, 1);
    assert.equal(await row.getByTestId('job-worker').textContent(), renderHtml.name);
    assert.equal(await row.getByTestId('job-args').textContent(), `{ html: '${XSS_ARGS}' }`);
    assert.equal((await row.getByTestId('job-error').textContent())?.trim(), `Error: ${XSS_ARGS}`);
    await eventually(async () =>
      assert.ok(
        await page.getByTestId('worker-filter').locator('option', { hasText: renderHtml.name }).count(),
      ),
    );

    await page.goto(`${root}#/job/${encodeURIComponent(id!)}`);
    // util.inspect breaks the long string onto its own line.
    await expectText(page.getByTestId('detail-args'), /^\{\s+html: '(.+)'\s+\}$/);
    assert.ok((await page.getByTestId('detail-args').textContent())?.includes(`html: '${XSS_ARGS}'`));
    assert.equal((await page.getByTestId('detail-error').textContent())?.trim(), `Error: ${XSS_ARGS}`);
    assert.match(
      (await page.getByTestId('detail-stack').textContent()) ?? '',
      /^Error: <script>window\.__xss/,
    );
    await screenshot(page, 'job-script-in-arguments');

    assert.equal(await page.evaluate(() => (globalThis as { __xss?: unknown }).__xss), undefined);
    assert.deepEqual(tab.dialogs, [], 'no alert() ran');
    assert.equal(await page.locator('img').count(), 0, 'no element was made from the markup');
    assert.equal(await page.locator('script').count(), 1, 'only the page’s own script');
    assertNoPageErrors(tab);
  });

  it('serves nothing without auth (401), and the page and its API with the username and password', async () => {
    const toniq = await newToniq({ workers: [sendEmail] });
    const credentials = { username: 'admin', password: 'correct horse battery staple' };
    const root = await serveAdmin(toniq, { auth: credentials });

    for (const path of ['', 'assets/app.js', 'api/stats', 'api/jobs?state=failed']) {
      const response = await fetch(`${root}${path}`);
      assert.equal(response.status, 401, `GET ${path || '/'}`);
      assert.match(response.headers.get('www-authenticate') ?? '', /^Basic /);
    }
    const post = await fetch(`${root}api/jobs/delete`, { method: 'POST', body: '{"ids":["x"]}' });
    assert.equal(post.status, 401);
    const wrong = await fetch(`${root}api/stats`, {
      headers: { authorization: `Basic ${Buffer.from('admin:wrong').toString('base64')}` },
    });
    assert.equal(wrong.status, 401);

    // A browser without credentials gets the 401 and, having none to offer, shows no page.
    const anonymous = await browser.newPage();
    const statuses: number[] = [];
    anonymous.page.on('response', (response) => statuses.push(response.status()));
    await assert.rejects(anonymous.page.goto(root), /ERR_INVALID_AUTH_CREDENTIALS/);
    assert.deepEqual(statuses, [401]);
    const wrongPassword = await browser.newPage({
      httpCredentials: { username: 'admin', password: 'guess' },
    });
    assert.equal((await wrongPassword.page.goto(root))?.status(), 401);
    assert.equal(await wrongPassword.page.getByTestId('main').count(), 0, 'the page is not served');

    const signedIn = await browser.newPage({ httpCredentials: credentials });
    const served = await signedIn.page.goto(root);
    assert.equal(served?.status(), 200);
    await expectText(signedIn.page.getByTestId('count-failed-value'), '0');
    assertNoPageErrors(signedIn);
  });

  it('refuses a POST without the CSRF token (403) and leaves the job failed', async () => {
    mailerUp = false;
    const toniq = await newToniq({ workers: [sendEmail] });
    const [id] = await failJobs(toniq, sendEmail, [{ to: 'ada@example.com' }]);
    const tab = await browser.newPage();
    const { page } = tab;
    const root = await serveAdmin(toniq);
    await page.goto(root);
    await expectText(page.getByTestId('count-failed-value'), '1');

    // From the page itself, with its cookie, but without the token or with a wrong one.
    const post = (headers: Record<string, string>): Promise<{ status: number; body: any }> =>
      page.evaluate(
        async ({ headers, id }) => {
          const response = await fetch('./api/jobs/delete', {
            method: 'POST',
            credentials: 'same-origin',
            headers: { 'content-type': 'application/json', ...headers },
            body: JSON.stringify({ ids: [id] }),
          });
          return { status: response.status, body: await response.json() };
        },
        { headers, id: id! },
      );
    const withoutToken = await post({});
    assert.equal(withoutToken.status, 403);
    assert.equal(withoutToken.body.error.code, 'CSRF');
    const wrongToken = await post({ 'X-CSRF-Token': 'A'.repeat(43) });
    assert.equal(wrongToken.status, 403);
    // From elsewhere: the token without its cookie.
    const token = await page.locator('meta[name="toniq-csrf"]').getAttribute('content');
    assert.match(token ?? '', /^[A-Za-z0-9_-]{43}$/);
    const noCookie = await fetch(`${root}api/jobs/delete`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-csrf-token': token! },
      body: JSON.stringify({ ids: [id] }),
    });
    assert.equal(noCookie.status, 403);
    assert.equal((await toniq.failedJobs()).length, 1, 'the job is still failed');

    // The same request with the page's token goes through.
    const withToken = await post({ 'X-CSRF-Token': token! });
    assert.equal(withToken.status, 200);
    assert.deepEqual(withToken.body, { done: [id], missing: [], refused: [] });
    assert.deepEqual(await toniq.failedJobs(), []);
    assertNoPageErrors(tab);
  });

  it('shows no actions in read-only mode, and refuses them', async () => {
    mailerUp = false;
    const toniq = await newToniq({ workers: [sendEmail, fixtureWorker] });
    const [failedId] = await failJobs(toniq, sendEmail, [{ to: 'ada@example.com' }]);
    const delayed = await toniq.enqueue(fixtureWorker, { do: 'succeed' }, { delayFor: HOUR });
    const tab = await browser.newPage();
    const { page } = tab;
    const root = await serveAdmin(toniq, { insecureNoAuth: true, readOnly: true });

    const noActions = async (where: string) => {
      assert.equal(await page.locator('main input[type=checkbox]').count(), 0, `no checkboxes on ${where}`);
      assert.deepEqual(
        await page.locator('main button').evaluateAll((buttons) => buttons.map((b) => b.textContent)),
        where.includes('list') ? ['Search'] : [],
        `no action buttons on ${where}`,
      );
    };
    await page.goto(`${root}#/jobs/failed`);
    await expectCount(page.getByTestId('job-row'), 1);
    assert.ok(await page.getByTestId('read-only-badge').isVisible());
    await noActions('the failed list');
    await screenshot(page, 'read-only-failed');
    await page.goto(`${root}#/job/${encodeURIComponent(failedId!)}`);
    await expectText(page.getByTestId('detail-id'), failedId!);
    await noActions('the failed job');
    await page.goto(`${root}#/jobs/delayed`);
    await expectCount(page.getByTestId('job-row'), 1);
    await noActions('the delayed list');
    await page.goto(`${root}#/job/${encodeURIComponent(delayed.id)}`);
    await expectText(page.getByTestId('detail-id'), delayed.id);
    await noActions('the delayed job');

    const token = await page.locator('meta[name="toniq-csrf"]').getAttribute('content');
    const refused: { status: number; body: any } = await page.evaluate(
      async ({ id, token }) => {
        const response = await fetch('./api/jobs/retry', {
          method: 'POST',
          credentials: 'same-origin',
          headers: { 'content-type': 'application/json', 'X-CSRF-Token': token ?? '' },
          body: JSON.stringify({ ids: [id] }),
        });
        return { status: response.status, body: await response.json() };
      },
      { id: failedId!, token },
    );
    assert.equal(refused.status, 403);
    assert.equal(refused.body.error.code, 'READ_ONLY');
    assert.equal((await toniq.failedJobs()).length, 1);
    assertNoPageErrors(tab);
  });

  it('says in a banner when the API fails (toniq not started yet), and clears it once it answers', async () => {
    const toniq = createToniq({
      redisUrl: redis.redis.url,
      keyPrefix: randomPrefix(),
      workers: [sendEmail],
      logger: recordingLogger(),
    });
    after(() => toniq.stop({ timeout: 100 }));
    const tab = await browser.newPage();
    const { page } = tab;
    await page.goto(await serveAdmin(toniq));
    const banner = page.getByTestId('error-banner');
    await expectText(banner, /\(503 TONIQ_NOT_STARTED\)$/, 'the error banner');
    await expectText(page.getByTestId('live'), 'no connection');
    await screenshot(page, 'error-banner');

    await toniq.start();
    await expectText(page.getByTestId('count-failed-value'), '0', 'the counts once toniq answers');
    await eventually(async () => assert.equal(await banner.isVisible(), false), { what: 'the banner to go' });
    assertNoPageErrors(tab);
  });

  it('says in a banner that Redis is unreachable while it is down, and goes on once it is back', async () => {
    const ownRedis = await startRedis();
    after(() => ownRedis.stop());
    const toniq = createToniq({
      redisUrl: ownRedis.url,
      keyPrefix: randomPrefix(),
      workers: [sendEmail],
      logger: recordingLogger(),
    });
    after(() => toniq.stop({ timeout: 100 }));
    await toniq.start();
    const tab = await browser.newPage();
    const { page } = tab;
    await page.goto(await serveAdmin(toniq));
    await expectText(page.getByTestId('count-failed-value'), '0', 'the counts');

    await ownRedis.kill();
    const banner = page.getByTestId('error-banner');
    await expectText(banner, /\(503 [A-Z_]+\)$/, 'the error banner');
    await expectText(page.getByTestId('live'), 'no connection');
    await screenshot(page, 'error-redis-down');

    await ownRedis.restart();
    await eventually(async () => assert.equal(await banner.isVisible(), false), {
      timeout: 20_000,
      what: 'the banner to go once Redis is back',
    });
    await expectText(page.getByTestId('live'), /^live · /);
    assertNoPageErrors(tab);
  });

  it('works under a deeper base path, and says so when a job is not there (any more)', async () => {
    const toniq = await newToniq({ workers: [sendEmail] });
    const tab = await browser.newPage();
    const { page } = tab;
    const root = await serveAdmin(toniq, { insecureNoAuth: true, basePath: '/ops/toniq' });
    assert.match(root, /\/ops\/toniq\/$/);
    await page.goto(root);
    await expectText(page.getByTestId('count-failed-value'), '0', 'the counts');
    await page.goto(`${root}#/job/no-such-job`);
    await expectText(page.getByTestId('job-missing').locator('h1'), 'No such job');
    await expectText(page.getByTestId('job-missing').locator('code'), 'no-such-job');
    assertNoPageErrors(tab);
  });
});
