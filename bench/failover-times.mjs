/**
 * `npm run bench:failover`: what a Redis failover costs toniq at its default settings
 * (heartbeatInterval 2 s, deadAfter 10 s), on a real Redis Cluster and a real Sentinel setup with
 * Redis's own default timeouts (cluster-node-timeout 15 s, down-after-milliseconds 30 s) unless
 * told otherwise.
 *
 *   node bench/failover-times.mjs [--only cluster|sentinel] [--node-timeout MS] [--down-after MS]
 *
 * Four toniq processes enqueue a job every 50 ms each (no durability, the default: with
 * `durability: { replicas: 1 }` and one replica, a promoted master refuses every enqueue until it
 * has a replica again, which measures the operator, not toniq). The master holding the first
 * process's jobs is killed with SIGKILL. Printed: when the replica was promoted, how long
 * enqueues on that master failed, whether any live process was taken over (it must not
 * be), and the jobs lost (acknowledged but never run: must be 0) and run twice.
 */
import { performance } from 'node:perf_hooks';
import { createToniq, defineWorker } from '../dist/src/index.js';
import { keysFor } from '../dist/src/storage/keys.js';
import { startRedisCluster } from '../dist/test/harness/redis-cluster.js';
import { startRedisSentinel } from '../dist/test/harness/redis-sentinel.js';

const argv = process.argv.slice(2);
const option = (name, fallback) => {
  const at = argv.indexOf(`--${name}`);
  return at >= 0 ? argv[at + 1] : fallback;
};
const only = option('only', undefined);
const nodeTimeout = Number(option('node-timeout', 15_000));
const downAfter = Number(option('down-after', 30_000));
const log = (line) => process.stderr.write(`${line}\n`);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;

async function run(name, where, killVictim) {
  const ran = new Map();
  const work = defineWorker('Work', (args) => {
    ran.set(args.n, (ran.get(args.n) ?? 0) + 1);
  });
  const logger = { debug() {}, info() {}, warn() {}, error() {} };
  const processes = [];
  for (let i = 0; i < 4; i++) {
    const toniq = createToniq({
      ...where,
      keyPrefix: `failover-${name}`,
      workers: [work],
      logger,
    });
    await toniq.start();
    processes.push(toniq);
  }
  let takeovers = 0;
  for (const toniq of processes) toniq.events.on('takenOver', () => takeovers++);
  const acknowledged = new Set();
  let next = 0;
  let refused = 0;
  let lastRefusal = 0;
  let running = true;
  const reasons = new Map();
  let lastReason = '';
  const loops = processes.map(async (toniq) => {
    while (running) {
      const n = next++;
      toniq.enqueue(work, { n }).then(
        () => acknowledged.add(n),
        (error) => {
          refused++;
          lastRefusal = performance.now();
          reasons.set(error.code ?? error.message, (reasons.get(error.code ?? error.message) ?? 0) + 1);
          lastReason = String(error.message).slice(0, 300);
        },
      );
      await sleep(50);
    }
  });
  await sleep(3000);
  const victim = keysFor(`failover-${name}`).process(processes[0].processId).jobs;
  log(`${name}: killing the master of ${victim}…`);
  const killedAt = performance.now();
  const promotedAt = await killVictim(victim);
  log(`${name}: promoted after ${seconds(promotedAt - killedAt)}`);
  // Carry on until enqueues have worked for a while again, then past deadAfter: a live process
  // wrongly taken over would show by then.
  for (;;) {
    await sleep(1000);
    log(
      `${name}: ${seconds(performance.now() - killedAt)} after the kill: ${acknowledged.size} acknowledged, ${refused} refused, last refusal ${seconds(performance.now() - lastRefusal)} ago ${lastReason}`,
    );
    if (performance.now() - lastRefusal > 5000 && performance.now() - promotedAt > 12_000) break;
  }
  running = false;
  await Promise.all(loops);
  const drainStart = performance.now();
  while ([...acknowledged].some((n) => !ran.has(n)) && performance.now() - drainStart < 30_000)
    await sleep(200);
  await Promise.all(processes.map((toniq) => toniq.stop({ timeout: 2000 })));
  const lost = [...acknowledged].filter((n) => !ran.has(n)).length;
  const twice = [...ran.values()].filter((count) => count > 1).length;
  return {
    topology: name,
    promotedAfter: seconds(promotedAt - killedAt),
    enqueuesFailedFor: seconds(Math.max(0, lastRefusal - killedAt)),
    acknowledged: acknowledged.size,
    refused,
    liveProcessesTakenOver: takeovers,
    lost,
    ranTwice: twice,
    refusedBecause: JSON.stringify(Object.fromEntries(reasons)),
  };
}

const results = [];
if (!only || only === 'cluster') {
  log(`Starting a Redis Cluster (3 masters, 3 replicas, cluster-node-timeout ${nodeTimeout} ms)…`);
  const cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1, nodeTimeout });
  try {
    results.push(
      await run('cluster', { redisCluster: cluster.seedUrls }, async (key) => {
        const port = await cluster.masterForKey(key);
        await cluster.killMaster(port);
        await cluster.waitForFailover(port, nodeTimeout * 4);
        return performance.now();
      }),
    );
  } finally {
    await cluster.stop();
  }
}
if (!only || only === 'sentinel') {
  log(
    `Starting a Sentinel setup (a master, a replica, 3 sentinels, down-after-milliseconds ${downAfter} ms)…`,
  );
  const setup = await startRedisSentinel({ downAfter, failoverTimeout: Math.max(3000, downAfter) });
  try {
    results.push(
      await run(
        'sentinel',
        {
          redisSentinel: {
            sentinels: setup.sentinels.map(({ host, port }) => `${host}:${port}`),
            name: setup.name,
          },
        },
        async () => {
          await setup.killMaster();
          await setup.waitForFailover(downAfter * 4);
          return performance.now();
        },
      ),
    );
  } finally {
    await setup.stop();
  }
}
console.log(
  'toniq at its default settings (heartbeatInterval 2 s, deadAfter 10 s), a master killed with SIGKILL:',
);
console.table(results);
