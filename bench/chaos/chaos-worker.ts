/**
 * One worker process of the chaos check (see chaos.ts), run as a real child process so the
 * conductor can SIGKILL it at any moment.
 * 1. Starts toniq with the short timings the conductor passes, trying again while Redis is down.
 * 2. Runs "ChaosJob" jobs: each sleeps 0–50 ms (so jobs are running when the process dies), then
 *    records that it ran in Redis, through its own ioredis client.
 * 3. Enqueues the labels the conductor sends. A job counts as enqueued only once its `enqueue`
 *    promise resolved; those ids go back to the conductor in batches. A rejected enqueue is
 *    reported as refused and tried again later, here, with the same label.
 * 4. Forwards toniq's log lines and its `takenOver` and `retrying` events, for the conductor's log
 *    and diagnostics.
 */
import { randomBytes } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Cluster, Redis } from 'ioredis';
import { createToniq, defineWorker, type Logger, type Toniq } from '../../src/index.js';

export interface ChaosWorkerConfig {
  /** Where Redis is: one of redisUrl, redisCluster and redisSentinel (chaos-redis.ts). */
  redisUrl?: string;
  redisCluster?: string[];
  redisSentinel?: { sentinels: string[]; name: string };
  /** createToniq's durability (with a Cluster or Sentinel). */
  durability?: { replicas: number };
  /** With --tls: the CA of the conductor's Redis (PEM text, as the config travels as JSON). */
  tls?: { ca: string };
  keyPrefix: string;
  heartbeatInterval: number;
  deadAfter: number;
  takeoverCheckInterval: number;
  delayedJobsPollInterval: number;
  enqueueTimeout: number;
  /** How long to wait before enqueueing a refused label again, in ms. */
  retryRefusedAfter: number;
}

/** Messages from the conductor. */
export type ToWorker = { type: 'enqueue'; labels: number[] };

/** Messages to the conductor; `t` is this process's Date.now(). */
export type FromWorker =
  | { type: 'ready'; processId: string; startAttempts: number }
  | { type: 'confirmed'; items: Array<[label: number, id: string, t: number]> }
  | {
      type: 'refused';
      /** `from`–`to`: when enqueue was called and when it rejected, to match a job id made in between. */
      items: Array<[label: number, code: string, message: string, from: number, to: number]>;
    }
  | { type: 'log'; level: string; msg: string; t: number }
  | { type: 'takenOver'; from: string; jobs: number; delayedJobs: number; t: number }
  | { type: 'retrying'; id: string; attempt: number; error: string; t: number }
  /** How late this process's event loop ran, in ms, over the last LAG_REPORT_MS. */
  | { type: 'lag'; p99: number; max: number };

const LAG_REPORT_MS = 1000;

/** Redis keys the chaos check writes besides toniq's own (same hash tag). */
export function chaosKeys(keyPrefix: string) {
  return {
    /** Hash: job id → number of HINCRBYs (a resent write counts twice). */
    runs: `{${keyPrefix}}:runs`,
    /** Hash: `<job id> <run token>` → `<label> <process id> <attempt> <epoch ms>`, one field per run. */
    runLog: `{${keyPrefix}}:run-log`,
  };
}

const isMain = process.send !== undefined && process.env.CHAOS_WORKER_CONFIG !== undefined;
if (isMain) void main();

async function main(): Promise<void> {
  const config = JSON.parse(process.env.CHAOS_WORKER_CONFIG!) as ChaosWorkerConfig;
  const send = (message: FromWorker) => {
    if (process.connected) process.send!(message);
  };
  // Without the conductor nothing would ever kill this process: leave with it.
  process.on('disconnect', () => process.exit(0));

  const keys = chaosKeys(config.keyPrefix);
  // Waits through outages instead of failing the job: an outage is not the job's fault, and a
  // job that failed only to record itself would be retried, which is not what we measure.
  const recorder = recorderFor(config);
  recorder.on('error', () => {});

  let processId = '';
  const chaosJob = defineWorker('ChaosJob', async (args: { label: number }, ctx) => {
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 50));
    const token = randomBytes(6).toString('hex');
    const results = await recorder
      .multi()
      .hincrby(keys.runs, ctx.job.id, 1)
      .hset(
        keys.runLog,
        `${ctx.job.id} ${token}`,
        `${args.label} ${processId} ${ctx.job.attempt} ${Date.now()}`,
      )
      .exec();
    const failed = results?.find(([error]) => error);
    if (!results || failed) throw failed?.[0] ?? new Error('the run was not recorded');
  });

  const log =
    (level: string) =>
    (obj: object, msg: string): void => {
      const err = (obj as { err?: unknown }).err;
      const detail = err instanceof Error && !msg.includes(err.message) ? ` [${err.message}]` : '';
      send({ type: 'log', level, msg: msg + detail, t: Date.now() });
    };
  const logger: Logger = { debug: () => {}, info: log('info'), warn: log('warn'), error: log('error') };

  const toniq: Toniq = createToniq({
    ...(config.redisCluster
      ? { redisCluster: config.redisCluster }
      : config.redisSentinel
        ? { redisSentinel: config.redisSentinel }
        : { redisUrl: config.redisUrl! }),
    ...(config.durability ? { durability: config.durability } : {}),
    tls: config.tls,
    keyPrefix: config.keyPrefix,
    workers: [chaosJob],
    logger,
    heartbeatInterval: config.heartbeatInterval,
    deadAfter: config.deadAfter,
    takeoverCheckInterval: config.takeoverCheckInterval,
    delayedJobsPollInterval: config.delayedJobsPollInterval,
    enqueueTimeout: config.enqueueTimeout,
  });
  processId = toniq.processId;
  toniq.events.on('retrying', (job, error) =>
    send({ type: 'retrying', id: job.id, attempt: job.attempt, error: error.message, t: Date.now() }),
  );
  toniq.events.on('takenOver', ({ processId: from, jobs, delayedJobs }) =>
    send({ type: 'takenOver', from, jobs, delayedJobs, t: Date.now() }),
  );

  // Batched reports: everything that settled in one turn goes out as one message.
  let confirmed: Array<[number, string, number]> = [];
  let refused: Array<[number, string, string, number, number]> = [];
  let flushScheduled = false;
  const scheduleFlush = () => {
    if (flushScheduled) return;
    flushScheduled = true;
    setImmediate(() => {
      flushScheduled = false;
      if (confirmed.length) send({ type: 'confirmed', items: confirmed });
      if (refused.length) send({ type: 'refused', items: refused });
      confirmed = [];
      refused = [];
    });
  };

  const enqueue = (label: number): void => {
    const from = Date.now();
    toniq.enqueue(chaosJob, { label }).then(
      (job) => {
        confirmed.push([label, job.id, Date.now()]);
        scheduleFlush();
      },
      (error: Error & { code?: string }) => {
        refused.push([label, error.code ?? error.name, error.message, from, Date.now()]);
        scheduleFlush();
        // The contract: a rejected enqueue left nothing behind, so enqueueing again is right.
        setTimeout(() => enqueue(label), config.retryRefusedAfter * (0.5 + Math.random()));
      },
    );
  };

  // A late event loop widens the window between a job's end and its removal reaching Redis.
  const lag = monitorEventLoopDelay({ resolution: 10 });
  lag.enable();
  setInterval(() => {
    send({ type: 'lag', p99: lag.percentile(99) / 1e6, max: lag.max / 1e6 });
    lag.reset();
  }, LAG_REPORT_MS).unref();

  process.on('message', (message: ToWorker) => {
    if (message.type === 'enqueue') for (const label of message.labels) enqueue(label);
  });

  // A process started while Redis is down keeps trying, as a supervised app would.
  for (let attempt = 1; ; attempt++) {
    try {
      await toniq.start();
      send({ type: 'ready', processId, startAttempts: attempt });
      return;
    } catch (error) {
      if (attempt === 1) logger.warn({ err: error }, 'chaos worker: toniq did not start; trying again');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

/** The recorder's own client, finding Redis as toniq does; it waits through outages and failovers. */
function recorderFor(config: ChaosWorkerConfig): Redis | Cluster {
  // READONLY: a connection still on a demoted master; reconnect and send the write again.
  const reconnectOnError = (error: Error) => (/^(READONLY|LOADING)/.test(error.message) ? 2 : false);
  if (config.redisCluster) {
    return new Cluster(
      config.redisCluster.map((seed) => ({ host: new URL(seed).hostname, port: Number(new URL(seed).port) })),
      { redisOptions: { maxRetriesPerRequest: null, reconnectOnError } },
    );
  }
  if (config.redisSentinel) {
    return new Redis({
      sentinels: config.redisSentinel.sentinels.map((address) => {
        const [host, port] = address.split(':');
        return { host: host!, port: Number(port) };
      }),
      name: config.redisSentinel.name,
      maxRetriesPerRequest: null,
      reconnectOnError,
    });
  }
  return new Redis(config.redisUrl!, { tls: config.tls, maxRetriesPerRequest: null });
}
