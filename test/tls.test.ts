import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { connectAdmin, createToniq, defineWorker, type RedisTlsError } from '../src/index.js';
import { keysFor } from '../src/storage/keys.js';
import { startChild } from './harness/child-processes.js';
import { eventually, nextEvent } from './harness/eventually.js';
import {
  FAST_TAKEOVER,
  fixtureWorker,
  jobKeys,
  randomPrefix,
  recordingLogger,
  toniqFactory,
  useRedis,
} from './harness/fixtures.js';
import { startRedis } from './harness/redis-server.js';
import { startUi, stopUi, toniqCli } from './harness/toniq-cli.js';

// The file's server speaks only TLS (`--port 0`): whatever reaches it went over TLS.
const server = useRedis({ tls: true });
const newToniq = toniqFactory(server);
const certificates = () => server.redis.certificates!;
const withCa = () => ({ tls: { ca: certificates().ca } });

/** Runs `start` and returns the error it rejects with, and how long that took. */
async function startFailure(start: () => Promise<unknown>): Promise<{ error: RedisTlsError; took: number }> {
  const began = Date.now();
  try {
    await start();
  } catch (error) {
    return { error: error as RedisTlsError, took: Date.now() - began };
  }
  throw new Error('expected start to be refused, but it connected');
}

describe('toniq over TLS (rediss://)', () => {
  it('runs jobs over TLS when given the CA that signed the server certificate', async () => {
    assert.match(server.redis.url, /^rediss:\/\//);
    const toniq = await newToniq({ ...withCa(), workers: [fixtureWorker] });
    const finished = new Set<string>();
    toniq.events.on('finished', (job) => finished.add(job.id));
    const jobs = await Promise.all(
      Array.from({ length: 20 }, () => toniq.enqueue(fixtureWorker, { do: 'succeed' })),
    );
    const delayed = await toniq.enqueue(fixtureWorker, { do: 'succeed' }, { delayFor: 100 });
    await eventually(() => {
      for (const job of [...jobs, delayed]) assert.ok(finished.has(job.id), `job ${job.id} finished`);
    });
    await eventually(async () => assert.deepEqual(await jobKeys(server.redis.client()), []));
  });

  it("keeps the heartbeat from the keepalive thread's own TLS connection while the main event loop is blocked", async () => {
    // A server of its own, so that its client list holds this toniq's connections only.
    const redis = await startRedis({ tls: true });
    try {
      const keyPrefix = randomPrefix();
      const toniq = createToniq({
        redisUrl: redis.url,
        ...withCa(),
        keyPrefix,
        logger: recordingLogger(),
        ...FAST_TAKEOVER,
      });
      await toniq.start();
      try {
        const client = redis.client();
        // The command connection, the subscriber and the keepalive thread's: the thread's connects
        // only with the tls option passed through to it (the server has no plain port).
        await eventually(async () => {
          const clients = ((await client.client('LIST')) as string).trim().split('\n');
          assert.equal(
            clients.length,
            4,
            `toniq's three connections and this client:\n${clients.join('\n')}`,
          );
        });
        const heartbeatKey = keysFor(keyPrefix).process(toniq.processId).heartbeat;
        // Blocked for three times deadAfter: the heartbeat (written with PX deadAfter) is still
        // there afterwards only if the thread refreshed it meanwhile, as the main thread could not.
        const blockedAt = Date.now();
        while (Date.now() < blockedAt + FAST_TAKEOVER.deadAfter * 3) {
          // Busy: the main event loop makes no progress.
        }
        const written = Number(await client.get(heartbeatKey));
        assert.ok(
          written > blockedAt + FAST_TAKEOVER.deadAfter,
          `the heartbeat was refreshed during the block (written ${written - blockedAt} ms after it began)`,
        );
      } finally {
        await toniq.stop({ timeout: 100 });
      }
    } finally {
      await redis.stop();
    }
  });

  it('takes over the jobs of a process killed with SIGKILL, both over TLS', async () => {
    const keyPrefix = randomPrefix();
    const doomed = await startChild({
      redisUrl: server.redis.url,
      tls: { ca: certificates().ca },
      keyPrefix,
      ...FAST_TAKEOVER,
      hang: true,
    });
    await doomed.request({ cmd: 'enqueue', jobs: [{ label: 'a' }, { label: 'b' }, { label: 'c' }] });
    const runs = server.redis.client();
    const record = defineWorker('Record', async (args: { label: string }) => {
      await runs.hincrby(`{${keyPrefix}}:test-runs`, args.label, 1);
    });
    const survivor = await newToniq({ ...withCa(), keyPrefix, workers: [record], ...FAST_TAKEOVER });
    const takenOver = nextEvent<[{ processId: string; jobs: number }]>(survivor.events, 'takenOver');
    await doomed.kill();
    const [takeover] = await takenOver;
    assert.equal(takeover.processId, doomed.processId);
    assert.equal(takeover.jobs, 3);
    await eventually(async () =>
      assert.deepEqual(await runs.hgetall(`{${keyPrefix}}:test-runs`), { a: '1', b: '1', c: '1' }),
    );
  });
});

describe('a TLS connection that cannot work', () => {
  it('refuses a server certificate signed by another CA at start, at once, saying it is a certificate problem', async () => {
    for (const tls of [{ ca: certificates().wrongCa }, undefined]) {
      const toniq = createToniq({ redisUrl: server.redis.url, tls, logger: recordingLogger() });
      const { error, took } = await startFailure(() => toniq.start());
      assert.equal(error.code, 'TONIQ_REDIS_TLS');
      assert.equal(error.name, 'RedisTlsError');
      assert.equal(error.problem, 'untrusted');
      assert.match(error.message, /certificate problem, not a network one/);
      assert.match(error.message, /tls: \{ ca: readFileSync\('redis-ca\.crt'\) \}/);
      assert.match(error.message, /--tls-ca <file>/);
      assert.equal((error.cause as { code?: string }).code, 'SELF_SIGNED_CERT_IN_CHAIN');
      // Not retried: a certificate does not fix itself.
      assert.ok(took < 2000, `refused after ${took} ms`);
    }
  });

  it('refuses a certificate for another name, pointing to tls.servername', async () => {
    const toniq = createToniq({
      redisUrl: server.redis.url,
      tls: { ca: certificates().ca, servername: 'redis.example.com' },
      logger: recordingLogger(),
    });
    const { error } = await startFailure(() => toniq.start());
    assert.equal(error.code, 'TONIQ_REDIS_TLS');
    assert.equal(error.problem, 'wrong-name');
    assert.match(error.message, /not for the name connected to.*set tls\.servername/);
    // The certificate names localhost too: connecting by that name works.
    const byName = createToniq({
      redisUrl: server.redis.url.replace('127.0.0.1', 'localhost'),
      ...withCa(),
      logger: recordingLogger(),
    });
    await byName.start();
    await byName.stop();
  });

  it('says that the port speaks TLS when a redis:// URL is aimed at it, within seconds', async () => {
    const toniq = createToniq({
      redisUrl: server.redis.url.replace('rediss://', 'redis://'),
      logger: recordingLogger(),
    });
    const { error, took } = await startFailure(() => toniq.start());
    assert.equal(error.code, 'TONIQ_REDIS_TLS');
    assert.equal(error.problem, 'server-speaks-tls');
    assert.match(
      error.message,
      /starts with redis:\/\/ \(no TLS\), but this port speaks TLS only\. Use a rediss:\/\/ URL/,
    );
    assert.ok(took < 3000, `told after ${took} ms`);
  });

  it('says that the server does not speak TLS when a rediss:// URL is aimed at a plain port, within the connect timeout', async () => {
    const plain = await startRedis();
    try {
      const toniq = createToniq({
        redisUrl: plain.url.replace('redis://', 'rediss://'),
        ...withCa(),
        // Also the connect timeout: a plain server waits for a command that the TLS greeting never ends.
        enqueueTimeout: 1000,
        logger: recordingLogger(),
      });
      const { error, took } = await startFailure(() => toniq.start());
      assert.equal(error.code, 'TONIQ_REDIS_TLS');
      assert.equal(error.problem, 'server-speaks-plain');
      assert.match(
        error.message,
        /starts with rediss:\/\/ \(TLS\), but the server at this port does not speak TLS/,
      );
      assert.ok(took < 4000, `told after ${took} ms`);
    } finally {
      await plain.stop();
    }
  });

  it('connects to a server that asks for a client certificate with tls.cert and tls.key, and says so without them', async () => {
    const strict = await startRedis({ tls: true, tlsAuthClients: true });
    try {
      const { ca, clientCert, clientKey } = certificates();
      const without = createToniq({ redisUrl: strict.url, tls: { ca }, logger: recordingLogger() });
      const { error } = await startFailure(() => without.start());
      assert.equal(error.code, 'TONIQ_REDIS_TLS');
      assert.equal(error.problem, 'client-certificate');
      assert.match(error.message, /tls: \{ cert, key \}.*--tls-cert <file> --tls-key <file>/);
      const mismatched = createToniq({
        redisUrl: strict.url,
        tls: { ca, cert: clientCert, key: certificates().wrongCa },
        logger: recordingLogger(),
      });
      assert.equal((await startFailure(() => mismatched.start())).error.code, 'TONIQ_REDIS_TLS');
      const toniq = createToniq({
        redisUrl: strict.url,
        tls: { ca, cert: clientCert, key: clientKey },
        keyPrefix: randomPrefix(),
        workers: [fixtureWorker],
        logger: recordingLogger(),
      });
      await toniq.start();
      try {
        const finished = nextEvent(toniq.events, 'finished');
        await toniq.enqueue(fixtureWorker, { do: 'succeed' });
        await finished;
      } finally {
        await toniq.stop();
      }
    } finally {
      await strict.stop();
    }
  });
});

describe('the tls option', () => {
  it('refuses a function such as checkServerIdentity, which cannot reach the keepalive thread, saying why', () => {
    assert.throws(
      () =>
        createToniq({ redisUrl: server.redis.url, tls: { checkServerIdentity: () => undefined } as never }),
      {
        code: 'TONIQ_INVALID_OPTIONS',
        message: /tls\.checkServerIdentity is a function.*keepalive thread.*cannot be copied to a thread/,
      },
    );
  });

  it('refuses unknown options and values of the wrong kind', () => {
    const refused = (tls: unknown, message: RegExp) =>
      assert.throws(() => createToniq({ redisUrl: server.redis.url, tls: tls as never }), {
        code: 'TONIQ_INVALID_OPTIONS',
        message,
      });
    refused({ minVersion: 'TLSv1.3' }, /tls got the unknown option "minVersion"/);
    refused({ ca: 42 }, /tls\.ca must be PEM text, as a string or a Buffer/);
    refused({ rejectUnauthorized: 'no' }, /tls\.rejectUnauthorized must be true or false/);
    refused('yes', /tls must be an object/);
  });

  it('refuses tls with a redis:// URL, given or answered by the URL function, since the URL says whether TLS is used', async () => {
    const plainUrl = server.redis.url.replace('rediss://', 'redis://');
    assert.throws(() => createToniq({ redisUrl: plainUrl, ...withCa() }), {
      code: 'TONIQ_INVALID_OPTIONS',
      message:
        /the tls option is given, but the Redis URL redis:\/\/127\.0\.0\.1:\d+\/0 starts with redis:\/\//,
    });
    const fromFunction = createToniq({
      redisUrl: async () => plainUrl,
      ...withCa(),
      logger: recordingLogger(),
    });
    await assert.rejects(fromFunction.start(), { code: 'TONIQ_INVALID_OPTIONS' });
    await assert.rejects(connectAdmin({ redisUrl: plainUrl, ...withCa() }), {
      code: 'TONIQ_INVALID_OPTIONS',
    });
  });

  it('connects without checking the certificate when rejectUnauthorized is false, warning loudly', async () => {
    const toniq = await newToniq({ tls: { rejectUnauthorized: false } });
    assert.match(
      toniq.logger.text('warn'),
      /tls\.rejectUnauthorized is false: the Redis server's certificate is NOT checked/,
    );
  });
});

describe('connectAdmin and the CLI over TLS', () => {
  it('connectAdmin reads over TLS with the CA, and refuses another CA with TONIQ_REDIS_TLS', async () => {
    const keyPrefix = randomPrefix();
    const toniq = await newToniq({ ...withCa(), keyPrefix, workers: [fixtureWorker] });
    await toniq.enqueue(fixtureWorker, { do: 'hang' });
    const admin = await connectAdmin({
      redisUrl: server.redis.url,
      ...withCa(),
      keyPrefix,
      logger: recordingLogger(),
    });
    try {
      await eventually(async () => assert.equal((await admin.stats()).totals.running, 1));
    } finally {
      await admin.close();
    }
    await assert.rejects(
      connectAdmin({
        redisUrl: server.redis.url,
        tls: { ca: certificates().wrongCa },
        logger: recordingLogger(),
      }),
      { code: 'TONIQ_REDIS_TLS', message: /certificate problem/ },
    );
  });

  it('toniq stats reads over TLS with --tls-ca; another CA exits 1 with the certificate message; a missing file exits 2 naming it', async () => {
    const keyPrefix = randomPrefix();
    const toniq = await newToniq({ ...withCa(), keyPrefix, workers: [fixtureWorker] });
    await toniq.enqueue(fixtureWorker, { do: 'hang' });
    const at = ['--redis-url', server.redis.url, '--prefix', keyPrefix];
    // The running count comes from the process's report, written every second or so.
    await eventually(
      async () => {
        const stats = await toniqCli(['stats', '--json', ...at, '--tls-ca', certificates().caFile]);
        assert.equal(stats.code, 0, stats.stderr);
        assert.equal((JSON.parse(stats.stdout) as { totals: { running: number } }).totals.running, 1);
      },
      { timeout: 10_000, what: 'toniq stats to show the running job' },
    );

    const wrong = await toniqCli(['stats', ...at, '--tls-ca', certificates().wrongCaFile]);
    assert.equal(wrong.code, 1, `${wrong.stdout}\n${wrong.stderr}`);
    assert.match(wrong.stderr, /^toniq: could not connect to Redis at rediss:.* over TLS/);
    assert.match(wrong.stderr, /certificate problem, not a network one/);
    assert.doesNotMatch(wrong.stderr, /\n\s+at /, 'no stack trace');

    const missing = await toniqCli(['stats', ...at, '--tls-ca', '/nonexistent/ca.crt']);
    assert.equal(missing.code, 2);
    assert.match(
      missing.stderr,
      /Cannot read the file of --tls-ca, "\/nonexistent\/ca\.crt": there is no such file\./,
    );

    const plain = await toniqCli([
      'stats',
      '--redis-url',
      'redis://127.0.0.1:6379/0',
      '--tls-ca',
      certificates().caFile,
    ]);
    assert.equal(plain.code, 2);
    assert.match(
      plain.stderr,
      /--tls-ca is for a TLS connection, but the Redis URL .* starts with redis:\/\//,
    );
  });

  it('toniq ui serves the stats of a Redis over TLS with --tls-ca', async () => {
    const keyPrefix = randomPrefix();
    const toniq = await newToniq({ ...withCa(), keyPrefix });
    const ui = await startUi([
      '--redis-url',
      server.redis.url,
      '--prefix',
      keyPrefix,
      '--tls-ca',
      certificates().caFile,
    ]);
    try {
      const stats = await fetch(new URL('api/stats', ui.url));
      assert.equal(stats.status, 200);
      const body = (await stats.json()) as { processes: { id: string }[] };
      assert.deepEqual(
        body.processes.map((p) => p.id),
        [toniq.processId],
      );
    } finally {
      assert.equal(await stopUi(ui), 0, ui.stderr());
    }
  });
});
