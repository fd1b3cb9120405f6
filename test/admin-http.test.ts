import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import express from 'express';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import {
  type AdminHandler,
  connectAdmin,
  createAdminHandler,
  createToniq,
  defineWorker,
  type FailedJob,
  InvalidOptionsError,
  noRetry,
  type Stats,
  startStatsWebhook,
} from '../src/index.js';
import { nextEvent } from './harness/eventually.js';
import { randomPrefix, recordingLogger, toniqFactory, useRedis } from './harness/fixtures.js';

const server = useRedis();
const newToniq = toniqFactory(server);

let healthy = false;
const sendEmail = defineWorker(
  'SendEmail',
  (_args: { to: string }) => {
    if (!healthy) throw new Error('SMTP refused');
  },
  { retry: noRetry() },
);

const servers: Array<{ close(): unknown }> = [];
after(async () => {
  for (const s of servers) await s.close();
});

async function listen(listener: RequestListener): Promise<string> {
  const http: Server = createServer(listener);
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  servers.push({ close: () => new Promise((resolve) => http.close(resolve)) });
  return `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
}

/** Serves the handler under /admin the way each framework mounts it. */
const mounts: Record<string, (handler: (basePath: string) => AdminHandler) => Promise<string>> = {
  'node:http': async (handler) => {
    const admin = handler('/admin');
    return listen((req, res) => {
      if (req.url?.startsWith('/admin')) return admin(req, res);
      res.writeHead(404).end('app');
    });
  },
  Express: async (handler) => {
    const app = express();
    app.use(express.json()); // the app parses bodies already: the handler must cope
    app.use('/admin', handler(''));
    app.get('/', (_req, res) => res.send('app'));
    return listen(app);
  },
  Fastify: async (handler) => {
    const app = Fastify();
    const admin = handler('/admin');
    const forward = (request: FastifyRequest, reply: FastifyReply) => {
      reply.hijack();
      admin(Object.assign(request.raw, { body: request.body }), reply.raw);
    };
    app.all('/admin', forward);
    app.all('/admin/*', forward);
    const address = await app.listen({ port: 0, host: '127.0.0.1' });
    servers.push({ close: () => app.close() });
    return address;
  },
};

const jsonOf = (response: Response): Promise<any> => response.json();

/** A client that keeps the CSRF cookie, as a browser does. */
function client(base: string, headers: Record<string, string> = {}) {
  let cookie = '';
  const request = async (path: string, init: RequestInit = {}) => {
    const response = await fetch(`${base}${path}`, {
      redirect: 'manual',
      ...init,
      headers: { ...headers, ...(cookie ? { cookie } : {}), ...(init.headers as Record<string, string>) },
    });
    const setCookie = response.headers.get('set-cookie');
    if (setCookie) cookie = setCookie.split(';')[0]!;
    return response;
  };
  return {
    request,
    async json(path: string): Promise<any> {
      const response = await request(path);
      assert.equal(response.status, 200, await response.clone().text());
      return response.json();
    },
    async post(path: string, body: unknown, token?: string) {
      return request(path, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { 'x-csrf-token': token } : {}) },
        body: JSON.stringify(body),
      });
    },
  };
}

async function failOne(toniq: Awaited<ReturnType<typeof newToniq>>): Promise<FailedJob> {
  healthy = false;
  const failed = nextEvent<[FailedJob]>(toniq.events, 'failed');
  await toniq.enqueue(sendEmail, { to: 'a@example.com' });
  return (await failed)[0];
}

describe('admin handler', () => {
  for (const [name, mount] of Object.entries(mounts)) {
    it(`serves the page, its assets and the JSON API under /admin in ${name}, and retries with the CSRF token`, async () => {
      const toniq = await newToniq({ workers: [sendEmail] });
      const failed = await failOne(toniq);
      const base = await mount((basePath) => toniq.adminHandler({ insecureNoAuth: true, basePath }));
      const browser = client(base);

      const redirect = await browser.request('/admin');
      assert.equal(redirect.status, 301);
      assert.equal(redirect.headers.get('location'), '/admin/');

      const page = await browser.request('/admin/');
      assert.equal(page.status, 200);
      assert.match(page.headers.get('content-type') ?? '', /text\/html/);
      assert.match(page.headers.get('content-security-policy') ?? '', /script-src 'self'/);
      const html = await page.text();
      const token = /<meta name="toniq-csrf" content="([^"]+)">/.exec(html)?.[1];
      assert.ok(token, 'the page carries the CSRF token');
      assert.match(html, /<meta name="toniq-read-only" content="false">/);
      assert.match(html, /src="\.\/assets\/app\.js"/, 'relative asset URLs, so any base path works');

      const script = await browser.request('/admin/assets/app.js');
      assert.equal(script.status, 200);
      assert.match(script.headers.get('content-type') ?? '', /javascript/);

      const stats = (await browser.json('/admin/api/stats')) as Stats;
      assert.equal(stats.totals.failed, 1);
      const list = await browser.json(`/admin/api/jobs?state=failed&worker=SendEmail`);
      assert.equal(list.jobs[0].id, failed.id);
      const detail = await browser.json(`/admin/api/jobs/${failed.id}`);
      assert.equal(detail.job.error.message, 'SMTP refused');
      assert.equal((await browser.request('/admin/api/jobs/NOSUCHJOB')).status, 404);
      assert.equal((await browser.request('/admin/api/jobs?state=done')).status, 400);

      healthy = true;
      const finished = nextEvent<[{ id: string }]>(toniq.events, 'finished');
      const retried = await browser.post('/admin/api/jobs/retry', { ids: [failed.id] }, token);
      assert.equal(retried.status, 200, await retried.clone().text());
      assert.deepEqual(await retried.json(), { done: [failed.id], missing: [], refused: [] });
      assert.equal((await finished)[0].id, failed.id);
      assert.match(toniq.logger.text('info'), /Admin \(ui\): retried 1 failed job\(s\)/);
    });
  }

  it('serves nothing unless the app says how to authenticate', async () => {
    const toniq = await newToniq({ workers: [sendEmail] });
    assert.throws(
      () => toniq.adminHandler({}),
      (error) =>
        error instanceof InvalidOptionsError &&
        /serves nothing without auth: pass \{ auth: \{ username, password \} \}/.test(error.message),
    );
    assert.throws(
      () => toniq.adminHandler({ auth: { username: 'admin', password: '' } }),
      InvalidOptionsError,
    );
    assert.throws(
      () => toniq.adminHandler({ insecureNoAuth: true, readonly: true } as never),
      /unknown option "readonly"/,
    );
  });

  it('refuses a request without the right Basic credentials', async () => {
    const toniq = await newToniq({ workers: [sendEmail] });
    const base = await listen(toniq.adminHandler({ auth: { username: 'admin', password: 's3cret' } }));
    for (const [path, headers] of [
      ['/', {}],
      ['/api/stats', {}],
      ['/assets/app.js', {}],
      ['/api/stats', { authorization: `Basic ${Buffer.from('admin:wrong').toString('base64')}` }],
    ] as const) {
      const response = await fetch(`${base}${path}`, { headers });
      assert.equal(response.status, 401, path);
      assert.equal(response.headers.get('www-authenticate'), 'Basic realm="toniq admin", charset="UTF-8"');
      assert.equal((await jsonOf(response)).error.code, 'UNAUTHORIZED');
    }
    const ok = await fetch(`${base}/api/stats`, {
      headers: { authorization: `Basic ${Buffer.from('admin:s3cret').toString('base64')}` },
    });
    assert.equal(ok.status, 200);
  });

  it("asks the app's auth function, and logs actions under the user it names", async () => {
    const toniq = await newToniq({ workers: [sendEmail] });
    const failed = await failOne(toniq);
    const base = await listen(
      toniq.adminHandler({ auth: async (req) => (req.headers['x-user'] === 'ada' ? 'ada' : false) }),
    );
    assert.equal((await fetch(`${base}/api/stats`)).status, 401);
    const ada = client(base, { 'x-user': 'ada' });
    const { csrfToken } = await ada.json('/api/session');
    const deleted = await ada.post('/api/jobs/delete', { ids: [failed.id] }, csrfToken);
    assert.equal(deleted.status, 200);
    assert.match(
      toniq.logger.text('info'),
      new RegExp(`Admin \\(ui by ada\\): deleted 1 failed job\\(s\\) ${failed.id}`),
    );
  });

  it('refuses a POST without the CSRF token, with a wrong one, or from another site', async () => {
    const toniq = await newToniq({ workers: [sendEmail] });
    const failed = await failOne(toniq);
    const base = await listen(toniq.adminHandler({ insecureNoAuth: true }));
    const browser = client(base);
    const { csrfToken } = await browser.json('/api/session');
    const attempts = [
      await browser.post('/api/jobs/delete', { ids: [failed.id] }),
      await browser.post('/api/jobs/delete', { ids: [failed.id] }, 'x'.repeat(43)),
      await browser.request('/api/jobs/delete', {
        method: 'POST',
        headers: { 'x-csrf-token': csrfToken, origin: 'https://evil.example' },
        body: JSON.stringify({ ids: [failed.id] }),
      }),
      // The token without its cookie: another client's page cannot use it.
      await fetch(`${base}/api/jobs/delete`, {
        method: 'POST',
        headers: { 'x-csrf-token': csrfToken },
        body: JSON.stringify({ ids: [failed.id] }),
      }),
    ];
    for (const response of attempts) {
      assert.equal(response.status, 403);
      const { error } = await jsonOf(response);
      assert.equal(error.code, 'CSRF');
      assert.match(error.message, /lacks a valid CSRF token/);
    }
    assert.equal((await toniq.admin.stats()).totals.failed, 1, 'nothing was deleted');
  });

  it('shows no actions and refuses every POST when read-only', async () => {
    const toniq = await newToniq({ workers: [sendEmail] });
    const failed = await failOne(toniq);
    const base = await listen(toniq.adminHandler({ insecureNoAuth: true, readOnly: true }));
    const browser = client(base);
    const html = await (await browser.request('/')).text();
    assert.match(html, /<meta name="toniq-read-only" content="true">/);
    const { csrfToken, readOnly } = await browser.json('/api/session');
    assert.equal(readOnly, true);
    for (const action of ['retry', 'delete', 'run-now']) {
      const response = await browser.post(`/api/jobs/${action}`, { ids: [failed.id] }, csrfToken);
      assert.equal(response.status, 403);
      assert.equal((await jsonOf(response)).error.code, 'READ_ONLY');
    }
    assert.equal((await toniq.admin.stats()).totals.failed, 1);
  });

  it('answers 503, saying why, until toniq is started', async () => {
    const toniq = createToniq({
      redisUrl: server.redis.url,
      keyPrefix: randomPrefix(),
      logger: recordingLogger(),
    });
    const base = await listen(toniq.adminHandler({ insecureNoAuth: true }));
    const response = await fetch(`${base}/api/stats`);
    assert.equal(response.status, 503);
    assert.match((await jsonOf(response)).error.message, /toniq is not started/);
  });

  it('answers a throwing auth function with a 500 that names a log reference and nothing of the error', async () => {
    const toniq = await newToniq({ workers: [sendEmail] });
    const logger = recordingLogger();
    const base = await listen(
      toniq.adminHandler({
        logger,
        auth: () => {
          throw new Error('LDAP bind failed for cn=admin,dc=corp password=hunter2');
        },
      }),
    );
    const response = await fetch(`${base}/api/stats`);
    assert.equal(response.status, 500);
    const text = await response.text();
    assert.doesNotMatch(text, /LDAP|hunter2/, 'the detail stays in the log');
    const { error } = JSON.parse(text);
    assert.equal(error.code, 'INTERNAL');
    const reference = /reference ([0-9a-f]{12})/.exec(error.message)?.[1];
    assert.ok(reference, error.message);
    const logged = logger.lines.find((line) => line.obj.reference === reference);
    assert.equal(logged?.level, 'error');
    assert.match(logged?.msg ?? '', /LDAP bind failed/);
  });

  it('answers an internal Redis error (a script failing) with a 500 that leaves out its text', async () => {
    const toniq = await newToniq({ workers: [sendEmail] });
    const failed = await failOne(toniq);
    const logger = recordingLogger();
    const base = await listen(toniq.adminHandler({ insecureNoAuth: true, logger }));
    const browser = client(base);
    const { csrfToken } = await browser.json('/api/session');
    // A Lua error reply that Redis does not explain (not OOM, WRONGTYPE, …): a bug, not Redis's state.
    const original = toniq.admin.deleteFailedJobs.bind(toniq.admin);
    toniq.admin.deleteFailedJobs = async () => {
      const error = new Error(
        'ERR user_script:7: attempt to compare nil with number script: 4f2a, on @user_script:7.',
      );
      error.name = 'ReplyError';
      throw error;
    };
    try {
      const response = await browser.post('/api/jobs/delete', { ids: [failed.id] }, csrfToken);
      assert.equal(response.status, 500);
      const text = await response.text();
      assert.doesNotMatch(text, /user_script|compare nil/);
      assert.match(logger.text('error'), /user_script:7/);
    } finally {
      toniq.admin.deleteFailedJobs = original;
    }
  });

  it('answers 503 with what Redis said when Redis refuses (NOPERM) or a key is damaged (WRONGTYPE)', async () => {
    const keyPrefix = randomPrefix();
    const toniq = await newToniq({ workers: [sendEmail], keyPrefix });
    // A Redis user that may not read hashes whole: every overview is refused.
    const client = server.redis.client();
    await client.call('ACL', 'SETUSER', 'no-hgetall', 'on', '>secret', '~*', '&*', '+@all', '-hgetall');
    const admin = await connectAdmin({
      redisUrl: server.redis.url.replace('redis://', 'redis://no-hgetall:secret@'),
      keyPrefix,
      logger: recordingLogger(),
    });
    try {
      const base = await listen(
        createAdminHandler(admin, { insecureNoAuth: true, logger: recordingLogger() }),
      );
      const refused = await fetch(`${base}/api/stats`);
      assert.equal(refused.status, 503);
      const { error } = await jsonOf(refused);
      assert.equal(error.code, 'TONIQ_REDIS_REFUSED');
      assert.match(
        error.message,
        /^Redis refused the admin's request: NOPERM .*hgetall.*grant it the commands/,
      );
    } finally {
      await admin.close();
    }

    const base = await listen(toniq.adminHandler({ insecureNoAuth: true, logger: recordingLogger() }));
    await client.set(`{${keyPrefix}}:failed-index`, 'not a sorted set');
    const damaged = await fetch(`${base}/api/jobs?state=failed`);
    assert.equal(damaged.status, 503);
    const { error } = await jsonOf(damaged);
    assert.match(error.code, /^TONIQ_(DAMAGED_KEY|REDIS_REFUSED)$/);
    assert.match(error.message, /failed-index/);
    await client.del(`{${keyPrefix}}:failed-index`);
  });

  it('sends the security headers with every answer: 200, redirect, 400, 401, 404, 500, 503', async () => {
    const toniq = await newToniq({ workers: [sendEmail] });
    const open = `${await listen(toniq.adminHandler({ insecureNoAuth: true, basePath: '/admin', logger: recordingLogger() }))}/admin`;
    const locked = await listen(
      toniq.adminHandler({ auth: { username: 'a', password: 'b' }, logger: recordingLogger() }),
    );
    const throwing = await listen(
      toniq.adminHandler({
        logger: recordingLogger(),
        auth: () => {
          throw new Error('boom');
        },
      }),
    );
    const notStarted = await listen(
      createToniq({
        redisUrl: server.redis.url,
        keyPrefix: randomPrefix(),
        logger: recordingLogger(),
      }).adminHandler({ insecureNoAuth: true }),
    );
    const answers: Array<[string, number]> = [
      [`${open}/api/stats`, 200],
      [open, 301],
      [`${open}/api/jobs?state=nope`, 400],
      [`${open}/api/jobs/%E0%A4%A`, 400],
      [`${locked}/api/stats`, 401],
      [`${open}/api/nothing`, 404],
      [`${throwing}/api/stats`, 500],
      [`${notStarted}/api/stats`, 503],
    ];
    for (const [url, status] of answers) {
      const response = await fetch(url, { redirect: 'manual' });
      assert.equal(response.status, status, url);
      assert.equal(response.headers.get('x-content-type-options'), 'nosniff', url);
      assert.equal(response.headers.get('x-frame-options'), 'DENY', url);
      assert.match(response.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/, url);
      await response.arrayBuffer();
    }
  });

  it('answers a job id with bad percent-encoding with 400, not 500', async () => {
    const toniq = await newToniq({ workers: [sendEmail] });
    const base = await listen(toniq.adminHandler({ insecureNoAuth: true, logger: recordingLogger() }));
    const response = await fetch(`${base}/api/jobs/%E0%A4%A`);
    assert.equal(response.status, 400);
    const { error } = await jsonOf(response);
    assert.equal(error.code, 'BAD_REQUEST');
    assert.match(error.message, /not valid percent-encoding/);
  });

  it('POSTs the stats to a webhook every interval', async () => {
    const toniq = await newToniq({ workers: [sendEmail] });
    await failOne(toniq);
    const received: Array<{ headers: IncomingMessage['headers']; body: Stats }> = [];
    let notify: () => void = () => {};
    const url = await listen(async (req, res) => {
      let text = '';
      for await (const chunk of req) text += chunk;
      received.push({ headers: req.headers, body: JSON.parse(text) });
      res.writeHead(204).end();
      notify();
    });
    const gotTwo = new Promise<void>((resolve) => {
      notify = () => received.length >= 2 && resolve();
    });
    const webhook = startStatsWebhook(toniq.admin, {
      url: `${url}/hook`,
      interval: 100,
      headers: { authorization: 'Bearer t' },
    });
    try {
      await gotTwo;
    } finally {
      webhook.stop();
    }
    assert.equal(received[0]!.headers.authorization, 'Bearer t');
    assert.equal(received[0]!.headers['content-type'], 'application/json');
    assert.equal(received[0]!.body.totals.failed, 1);
    assert.equal(received[0]!.body.processes[0]!.id, toniq.processId);
    assert.throws(() => startStatsWebhook(toniq.admin, { url: 'ftp://x' }), /an http or https URL/);
  });
});
