/**
 * A toniq process for failover tests, run by child-processes.ts as a real child process (so a
 * test can SIGKILL, SIGSTOP or block it). It reports its events and log lines over IPC and
 * answers commands: enqueue, enqueueOn, block (the event loop), stop, processes.
 *
 * Workers: "Record" records each run of a job in Redis ({prefix}:test-runs: label → run count),
 * after `ms` milliseconds; with TONIQ_CHILD_HANG=1 its jobs never finish here (so they are
 * still running when the test kills this process). With `recordVersion: 2` it is version 2 of
 * the worker, whose arguments carry `v: 2`; each run also counts in {prefix}:test-shapes
 * ("<label> ran by version N with the right|wrong shape" → runs) whether the arguments had the
 * shape that version expects.
 */
import { Cluster, Redis } from 'ioredis';
import { createToniq, defineWorker, stopOnSignals } from '../../src/index.js';
import type { ChildOptions } from './child-processes.js';

const config = JSON.parse(process.env.TONIQ_CHILD_CONFIG ?? '{}') as Omit<ChildOptions, 'hang'>;
const hang = process.env.TONIQ_CHILD_HANG === '1';
const send = (message: object) => process.send?.(message);
// The recorder finds Redis as toniq does: one server, a Cluster, or the master of the sentinels.
const recorder = config.redisCluster
  ? new Cluster(
      config.redisCluster.map((seed) => ({ host: new URL(seed).hostname, port: Number(new URL(seed).port) })),
    )
  : config.redisSentinel
    ? new Redis({
        sentinels: config.redisSentinel.sentinels.map((address) => ({
          host: address.split(':')[0]!,
          port: Number(address.split(':')[1]),
        })),
        name: config.redisSentinel.name,
        reconnectOnError: () => 2,
      })
    : new Redis(config.redisUrl!, { tls: config.tls });
recorder.on('error', () => {});
const runsKey = `{${config.keyPrefix}}:test-runs`;

const recordVersion = config.recordVersion ?? 1;
type RecordArgs = { label: string; ms?: number; v?: number };
const record = defineWorker(
  'Record',
  async (args: RecordArgs) => {
    const right = recordVersion === 2 ? args.v === 2 : args.v === undefined;
    await recorder.hincrby(
      `{${config.keyPrefix}}:test-shapes`,
      `${args.label} ran by version ${recordVersion} with the ${right ? 'right' : 'wrong'} shape`,
      1,
    );
    if (hang) await new Promise(() => {});
    if (args.ms) await new Promise((resolve) => setTimeout(resolve, args.ms));
    await recorder.hincrby(runsKey, args.label, 1);
  },
  recordVersion === 2 ? { version: 2, migrate: { 1: (v1: RecordArgs) => ({ ...v1, v: 2 }) } } : {},
);

const log = (level: string) => (obj: object, msg: string) =>
  send({ type: 'log', level, msg, obj: { ...obj, err: undefined } });
const { redisUrl, redisCluster, redisSentinel, tls, keyPrefix, recordVersion: _version, ...timing } = config;
const toniq = createToniq({
  ...(redisCluster ? { redisCluster } : redisSentinel ? { redisSentinel } : { redisUrl }),
  tls,
  keyPrefix,
  workers: [record],
  logger: { debug: () => {}, info: log('info'), warn: log('warn'), error: log('error') },
  ...timing,
});
for (const name of ['started', 'finished', 'failed', 'takenOver'] as const) {
  toniq.events.on(name, (payload: { id?: string; processId?: string; jobs?: number; delayedJobs?: number }) =>
    send({
      type: 'event',
      name,
      payload: {
        id: payload.id,
        processId: payload.processId,
        jobs: payload.jobs,
        delayedJobs: payload.delayedJobs,
      },
    }),
  );
}

process.on('message', async (message: { cmd: string; reqId: number; [key: string]: any }) => {
  try {
    let result: unknown;
    switch (message.cmd) {
      case 'enqueue':
        result = [];
        for (const args of message.jobs as Array<{ label: string; ms?: number }>) {
          const shaped = recordVersion === 2 ? { ...args, v: 2 } : args;
          (result as string[]).push((await toniq.enqueue(record, shaped, message.options)).id);
        }
        break;
      case 'enqueueEach': {
        // Every job on its own, at once: which ones were acknowledged, and what the others got.
        const jobs = message.jobs as Array<{ label: string; ms?: number }>;
        result = await Promise.all(
          jobs.map((args) =>
            toniq.enqueue(record, args).then(
              (job) => ({ label: args.label, id: job.id }),
              (error: Error & { code?: string }) => ({
                label: args.label,
                error: error.code ?? error.message,
              }),
            ),
          ),
        );
        break;
      }
      case 'enqueueOn':
        result = (await toniq.enqueueOn(message.processId, record, message.args)).id;
        break;
      case 'block': {
        const until = Date.now() + (message.ms as number);
        while (Date.now() < until) {
          // Busy: the event loop makes no progress.
        }
        result = 'unblocked';
        break;
      }
      case 'stop':
        await toniq.stop({ timeout: message.timeout });
        await recorder.quit();
        result = 'stopped';
        break;
      case 'processes':
        result = await toniq.processes();
        break;
      case 'stopOnSignals':
        stopOnSignals(toniq, { timeout: message.timeout });
        result = 'installed';
        break;
    }
    send({ type: 'reply', reqId: message.reqId, result });
  } catch (error) {
    send({ type: 'reply', reqId: message.reqId, error: (error as Error).message });
  }
});

toniq.start().then(
  () => send({ type: 'ready', processId: toniq.processId }),
  (error: Error) => {
    send({ type: 'fatal', message: error.message });
    process.exit(1);
  },
);
