/**
 * The toniq demo: `npm run demo`. A tour a newcomer can follow in the console, in six steps:
 * 1. jobs run in the process that enqueued them, with their arguments unchanged (Date, Map, bigint);
 * 2. arguments that would not arrive unchanged are refused at enqueue, naming the path;
 * 3. a flaky worker fails twice and is retried automatically;
 * 4. a job that keeps failing lands in the failed list, is listed, and retried by hand;
 * 5. a delayed job runs a second later;
 * 6. maxConcurrency: five jobs, two at a time;
 * 7. the admin UI: served at http://127.0.0.1:3000/admin/ (DEMO_PORT to change) while a trickle of
 *    jobs keeps it lively, until Ctrl-C. `npm run demo -- --no-ui` stops after step 6.
 *
 * It uses Redis at REDIS_URL (default redis://127.0.0.1:6379/0) under the key prefix
 * "toniq-demo", and removes its keys at the end. When no Redis answers, it says how to get one
 * and runs the same tour on a MemoryStore instead.
 */
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import {
  createToniq,
  defineWorker,
  type Job,
  type Logger,
  noRetry,
  RedisUnreachableError,
  retryWithoutDelay,
  type Toniq,
} from '../src/index.js';
import { MemoryStore } from '../src/testing.js';

const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379/0';
const KEY_PREFIX = 'toniq-demo';
const startedAt = Date.now();

// ─── Console output ──────────────────────────────────────────────────────────────────────────

/** After the tour the workers keep running for the admin UI, without a line per job. */
let quietWorkers = false;

/** A line of the demo's own output, with the time since the demo started. */
function say(message: string): void {
  // The admin UI's actions are still logged: the console shows who retried or deleted what.
  if (quietWorkers && message.startsWith('  ') && !message.includes('Admin (')) return;
  const elapsed = ((Date.now() - startedAt) / 1000).toFixed(2).padStart(6);
  console.log(`${elapsed}s  ${message}`);
}

function heading(title: string, explanation: string): void {
  console.log(`\n── ${title} ${'─'.repeat(Math.max(0, 76 - title.length))}`);
  console.log(`   ${explanation}\n`);
}

/** A small logger in place of the default console one: one line per message, no stack traces. */
function demoLogger(): Logger {
  const write = (level: string) => (_obj: object, message: string) => say(`  [toniq ${level}] ${message}`);
  return { debug: () => {}, info: write('info'), warn: write('warn'), error: write('error') };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ─── Workers ─────────────────────────────────────────────────────────────────────────────────

const sendWelcomeEmail = defineWorker(
  'SendWelcomeEmail',
  async (args: { to: string; signedUpAt: Date; plan: Map<string, bigint> }, ctx) => {
    // ctx.log tags each line with the job id and worker.
    ctx.log.info({}, `sending a welcome email to ${args.to}`);
    say(
      `  SendWelcomeEmail got signedUpAt as a ${args.signedUpAt.constructor.name} and plan as a ` +
        `${args.plan.constructor.name} holding a ${typeof args.plan.get('seats')}: unchanged, as enqueued.`,
    );
  },
);

/** Fails its first two attempts, as a card network having a bad moment would. */
const chargeCard = defineWorker(
  'ChargeCard',
  async (args: { orderId: number; cents: bigint }, ctx) => {
    if (ctx.job.attempt <= 2) {
      say(`  ChargeCard order ${args.orderId}, attempt ${ctx.job.attempt}: the card network timed out`);
      throw new Error('card network timed out');
    }
    say(`  ChargeCard order ${args.orderId}, attempt ${ctx.job.attempt}: charged ${args.cents} cents`);
  },
  // Two retries right away, so the demo is quick. The default waits 250 ms, 4 s, 20.25 s, …
  { retry: retryWithoutDelay() },
);

/** Fails while the invoice service is "down", a flag this demo flips. */
let invoiceServiceUp = false;
/** Step 7 only: orders whose invoice failed once; a retry (say, from the admin UI) then works. */
const invoicesFailedOnce = new Set<number>();
const generateInvoice = defineWorker(
  'GenerateInvoice',
  async (args: { orderId: number }) => {
    if (!invoiceServiceUp && !invoicesFailedOnce.has(args.orderId)) {
      if (quietWorkers) invoicesFailedOnce.add(args.orderId);
      throw new Error('the invoice service is down');
    }
    say(`  GenerateInvoice made the invoice of order ${args.orderId}`);
  },
  { retry: noRetry() },
);

const sendReminder = defineWorker('SendReminder', async (args: { to: string }) => {
  say(`  SendReminder reminded ${args.to}`);
});

let resizing = 0;
const resizeImage = defineWorker(
  'ResizeImage',
  async (args: { file: string }) => {
    resizing++;
    say(`  ResizeImage started ${args.file} (${resizing} running)`);
    await sleep(300);
    resizing--;
    say(`  ResizeImage finished ${args.file}`);
  },
  { maxConcurrency: 2 },
);

const workers = [sendWelcomeEmail, chargeCard, generateInvoice, sendReminder, resizeImage];

// ─── Waiting for outcomes ────────────────────────────────────────────────────────────────────

type Outcome = 'finished' | 'failed';

/**
 * Listens to the finished and failed events from the start, so that a job that ends before we
 * ask about it is not missed. `outcomeOf(job)` resolves with its next outcome.
 */
function watchOutcomes(toniq: Toniq): (job: Job) => Promise<Outcome> {
  const seen = new Map<string, Outcome>();
  const waiting = new Map<string, (outcome: Outcome) => void>();
  const settle = (id: string, outcome: Outcome) => {
    const resolve = waiting.get(id);
    if (resolve) {
      waiting.delete(id);
      resolve(outcome);
    } else seen.set(id, outcome);
  };
  toniq.events.on('finished', (job) => settle(job.id, 'finished'));
  toniq.events.on('failed', (job) => settle(job.id, 'failed'));
  return (job) => {
    const outcome = seen.get(job.id);
    if (outcome) {
      seen.delete(job.id);
      return Promise.resolve(outcome);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`job #${job.id} did not end within 10 s`)), 10_000);
      waiting.set(job.id, (value) => {
        clearTimeout(timer);
        resolve(value);
      });
    });
  };
}

// ─── The tour ────────────────────────────────────────────────────────────────────────────────

async function tour(toniq: Toniq): Promise<void> {
  const outcomeOf = watchOutcomes(toniq);
  toniq.events.on('retrying', (job, error, dueAt) => {
    const wait = Math.max(0, dueAt.getTime() - Date.now());
    say(
      `  event "retrying": ${job.worker} attempt ${job.attempt} failed (${error.message}); next try in ${wait} ms`,
    );
  });

  heading(
    '1. Running jobs',
    'enqueue() resolves once the job is persisted; the job then runs here, in this process.',
  );
  say("enqueue(sendWelcomeEmail, { to, signedUpAt: new Date(), plan: new Map([['seats', 5n]]) })");
  const welcome = await toniq.enqueue(sendWelcomeEmail, {
    to: 'ada@example.com',
    signedUpAt: new Date(),
    plan: new Map([['seats', 5n]]),
  });
  say(`enqueue resolved with job #${welcome.id} (${welcome.worker}, attempt ${welcome.attempt})`);
  say(`outcome: ${await outcomeOf(welcome)}`);

  heading(
    '2. Arguments are checked at enqueue',
    'Arguments are stored with node:v8 (structured clone). What would not arrive unchanged is refused.',
  );
  try {
    const user = { email: 'ada@example.com', save() {} };
    // The cast stands for a mistake the type checker would have caught in a typed app.
    await toniq.enqueue(sendReminder, { to: 'ada@example.com', user } as { to: string });
  } catch (error) {
    say(`enqueue refused: ${(error as Error).name} (${(error as { code?: string }).code})`);
    say(`  ${(error as Error).message}`);
  }

  heading(
    '3. Automatic retries',
    'ChargeCard fails twice; retryWithoutDelay() retries it twice at once, and the third attempt works.',
  );
  const charge = await toniq.enqueue(chargeCard, { orderId: 1042, cents: 4999n });
  say(`outcome: ${await outcomeOf(charge)}`);

  heading(
    '4. Failed jobs',
    'GenerateInvoice (noRetry) fails while the invoice service is down: it goes to the failed list.',
  );
  const invoice = await toniq.enqueue(generateInvoice, { orderId: 1042 });
  say(`outcome: ${await outcomeOf(invoice)}`);
  const failed = await toniq.failedJobs();
  say(`failedJobs() lists ${failed.length} job(s):`);
  for (const job of failed) {
    say(`  #${job.id} ${job.worker} after ${job.attempts} attempt(s): ${job.error.message}`);
  }
  invoiceServiceUp = true;
  say('the invoice service is back up; retry(job) runs the failed job again, same id:');
  const retried = await toniq.retry(failed[0]!);
  say(`outcome: ${await outcomeOf(retried)}`);
  say(`failedJobs() now lists ${(await toniq.failedJobs()).length} job(s)`);

  heading(
    '5. Delayed jobs',
    'With { delayFor: 1000 } the job waits in storage, not in memory, and runs a second later.',
  );
  const reminder = await toniq.enqueue(sendReminder, { to: 'ada@example.com' }, { delayFor: 1000 });
  say(`enqueued #${reminder.id}, due at ${reminder.dueAt?.toISOString()}`);
  const enqueuedAt = Date.now();
  const reminded = await outcomeOf(reminder);
  say(`outcome: ${reminded}, ${Date.now() - enqueuedAt} ms after enqueue`);

  heading(
    '6. Limiting concurrency',
    'ResizeImage has maxConcurrency: 2. Five jobs: two run at a time, the others wait their turn.',
  );
  const files = ['a.png', 'b.png', 'c.png', 'd.png', 'e.png'];
  const resizes = await Promise.all(files.map((file) => toniq.enqueue(resizeImage, { file })));
  const held = await toniq.heldJobs();
  say(`all five persisted: this process holds ${held.length} job(s), ${resizing} of them running`);
  await Promise.all(resizes.map(outcomeOf));
  say('all five finished');
}

// ─── Start, run, stop ────────────────────────────────────────────────────────────────────────

async function startToniq(): Promise<{ toniq: Toniq; onRedis: boolean }> {
  console.log(`toniq demo: connecting to Redis at ${REDIS_URL} (set REDIS_URL to use another)`);
  const onRedis = createToniq({ redisUrl: REDIS_URL, keyPrefix: KEY_PREFIX, workers, logger: demoLogger() });
  try {
    await onRedis.start();
    return { toniq: onRedis, onRedis: true };
  } catch (error) {
    if (!(error instanceof RedisUnreachableError)) throw error;
    console.log(`\nNo Redis answered (${error.code}). To run this demo on Redis, either:`);
    console.log('  - start one locally:   redis-server');
    console.log('  - or point at yours:   REDIS_URL=redis://host:6379/0 npm run demo');
    console.log('Running the same demo in memory now (MemoryStore: nothing is persisted).\n');
    const inMemory = createToniq({ store: new MemoryStore(), workers, logger: demoLogger() });
    await inMemory.start();
    return { toniq: inMemory, onRedis: false };
  }
}

/** Deletes every key of the demo's prefix. toniq wraps the prefix in a {hash tag}: see docs/internals.md. */
async function removeDemoKeys(): Promise<number> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let removed = 0;
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `{${KEY_PREFIX}}:*`, 'COUNT', 1000);
      if (keys.length) removed += await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
    return removed;
  } finally {
    redis.disconnect();
  }
}

/**
 * Step 7: serves the admin UI on localhost and keeps jobs coming, so that its counts and chart
 * move: images resized two at a time (some wait), cards charged after retries, reminders delayed,
 * and now and then an invoice that fails. Resolves on Ctrl-C.
 */
async function serveAdminUi(toniq: Toniq): Promise<void> {
  heading(
    '7. The admin UI',
    'toniq.adminHandler() serves the web UI and its JSON API; jobs keep coming so it has something to show.',
  );
  const handler = toniq.adminHandler({ insecureNoAuth: true, basePath: '/admin' });
  const server = createServer((req, res) => {
    if (req.url === '/' || req.url === '') {
      res.writeHead(302, { location: '/admin/' }).end();
      return;
    }
    handler(req, res);
  });
  const wanted = Number(process.env.DEMO_PORT ?? 3000);
  server.listen(wanted, '127.0.0.1');
  try {
    await once(server, 'listening');
  } catch {
    say(`port ${wanted} is taken; using a free one (set DEMO_PORT to choose)`);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
  }
  const { port } = server.address() as AddressInfo;
  quietWorkers = true;
  invoiceServiceUp = false;
  let order = 2000;
  let failures = 0;
  const trickle = setInterval(() => {
    order++;
    const enqueues: Array<Promise<unknown>> = [
      toniq.enqueue(resizeImage, { file: `photo-${order}.png` }),
      toniq.enqueue(chargeCard, { orderId: order, cents: BigInt(order * 7) }),
      toniq.enqueue(
        sendReminder,
        { to: `user${order}@example.com` },
        { delayFor: 30_000 + (order % 10) * 30_000 },
      ),
    ];
    if (order % 3 === 0) enqueues.push(toniq.enqueue(resizeImage, { file: `banner-${order}.png` }));
    if (order % 9 === 0 && failures++ < 20) enqueues.push(toniq.enqueue(generateInvoice, { orderId: order }));
    Promise.all(enqueues).catch(() => {});
  }, 400);
  say(`Admin UI: http://127.0.0.1:${port}/admin/   (JSON API under /admin/api/, e.g. /admin/api/stats)`);
  say('Open it in a browser: the overview, processes, job lists and job detail. Press Ctrl-C to stop.');
  say('GenerateInvoice jobs land in the failed list now and then: retry one there, and it works.');
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  console.log();
  clearInterval(trickle);
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

async function main(): Promise<void> {
  // Jobs left by an earlier run that was interrupted would show up in the failed list. Removed
  // before start: deleting a started process's registration would make it look taken over.
  await removeDemoKeys().catch(() => 0);
  const { toniq, onRedis } = await startToniq();
  try {
    await tour(toniq);
    if (!process.argv.includes('--no-ui')) await serveAdminUi(toniq);
  } finally {
    heading('Stopping', 'stop() waits for running jobs; anything unfinished stays persisted.');
    await toniq.stop({ timeout: 5000 });
    say('stopped');
    if (onRedis) {
      // Finished jobs remove themselves from Redis; after the UI's trickle, delayed reminders and
      // the per-second throughput the UI charts are left, and the demo removes them.
      const left = await removeDemoKeys();
      say(`Redis keys left under {${KEY_PREFIX}}: ${left}${left ? ' (removed)' : ''}`);
    }
  }
  say(`done in ${((Date.now() - startedAt) / 1000).toFixed(1)} s`);
}

main().catch((error) => {
  console.error('\nThe demo failed:', error);
  process.exitCode = 1;
});
