/**
 * `npm run bench:cluster`: what a job costs each shard of a real Redis Cluster, and what that
 * projects for 1, 3 and 10 shards.
 *
 *   node bench/cluster.mjs [--jobs N] [--processes N] [--masters N] [--json]
 *
 * It starts a real cluster (redis-server --cluster-enabled yes nodes joined by redis-cli, one
 * replica per master; the test harness's), resets every master's statistics, runs `--processes`
 * toniq processes in this one Node process (each enqueues its share of no-op jobs, at most 500 in
 * flight, and runs them), and then reads from each master INFO commandstats (commands per job)
 * and INFO cpu (Redis's own CPU seconds per job).
 *
 * The projection: a Redis shard is one core, so one shard does at most 1 / (its CPU seconds per
 * job) jobs a second; toniq's per-job work lands only on the shard of the process's own hash tag,
 * so N shards do N times that, less the app's shared slot, whose work is per second (beats,
 * reports), not per job. This machine has 2 cores shared by the cluster's 6 redis-servers and the
 * toniq processes, so the figures are a projection from measured costs, not measured capacity.
 */
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { createToniq, defineWorker } from '../dist/src/index.js';
import { startRedisCluster } from '../dist/test/harness/redis-cluster.js';

const argv = process.argv.slice(2);
const option = (name, fallback) => {
  const at = argv.indexOf(`--${name}`);
  return at >= 0 ? Number(argv[at + 1]) : fallback;
};
const settings = {
  jobs: option('jobs', 60_000),
  processes: option('processes', 12),
  masters: option('masters', 3),
};
const asJson = argv.includes('--json');
const log = (line) => process.stderr.write(`${line}\n`);
const logger = {
  debug() {},
  info() {},
  warn: (_o, msg) => log(`[warn] ${msg}`),
  error: (_o, msg) => log(`[error] ${msg}`),
};
const round = (n, digits = 0) => Number(n.toFixed(digits));

/** INFO section text → { field: value }. */
function parseInfo(text) {
  const fields = {};
  for (const line of text.split('\r\n')) {
    const at = line.indexOf(':');
    if (at > 0) fields[line.slice(0, at)] = line.slice(at + 1);
  }
  return fields;
}

async function masterStats(port) {
  const redis = new Redis({ port, lazyConnect: true });
  await redis.connect();
  const cpu = parseInfo(await redis.info('cpu'));
  const stats = parseInfo(await redis.info('commandstats'));
  await redis.quit();
  const commands = {};
  let total = 0;
  for (const [field, value] of Object.entries(stats)) {
    const calls = Number(/calls=(\d+)/.exec(value)?.[1] ?? 0);
    // EVALSHA runs a script, which is one command here; the commands inside count as part of it.
    commands[field.replace('cmdstat_', '')] = calls;
    total += calls;
  }
  return { cpuSeconds: Number(cpu.used_cpu_sys) + Number(cpu.used_cpu_user), commands, total };
}

async function resetStats(port) {
  const redis = new Redis({ port, lazyConnect: true });
  await redis.connect();
  await redis.config('RESETSTAT');
  const cpu = parseInfo(await redis.info('cpu'));
  await redis.quit();
  return Number(cpu.used_cpu_sys) + Number(cpu.used_cpu_user);
}

async function main() {
  log(`Starting a Redis Cluster of ${settings.masters} masters and ${settings.masters} replicas…`);
  const cluster = await startRedisCluster({ masters: settings.masters, replicasPerMaster: 1 });
  const noop = defineWorker('Noop', () => {});
  const processes = [];
  try {
    for (let i = 0; i < settings.processes; i++) {
      const toniq = createToniq({
        redisCluster: cluster.seedUrls,
        keyPrefix: 'bench',
        workers: [noop],
        logger,
      });
      await toniq.start();
      processes.push(toniq);
    }
    const masters = await cluster.masters();
    const cpuBefore = new Map();
    for (const port of masters) cpuBefore.set(port, await resetStats(port));
    const perProcess = Math.floor(settings.jobs / settings.processes);
    const jobs = perProcess * settings.processes;
    log(`Running ${jobs} no-op jobs on ${settings.processes} processes…`);
    const t0 = performance.now();
    await Promise.all(
      processes.map(async (toniq) => {
        let finished = 0;
        let inFlight = 0;
        let wake;
        toniq.events.on('finished', () => {
          finished++;
          inFlight--;
          wake?.();
        });
        for (let i = 0; i < perProcess; i++) {
          while (inFlight >= 500) await new Promise((resolve) => (wake = resolve));
          inFlight++;
          toniq.enqueue(noop).catch((error) => log(`[enqueue failed] ${error}`));
        }
        while (finished < perProcess) await new Promise((resolve) => (wake = resolve));
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    // Let the finished jobs' removals land before reading the statistics.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const registry = await cluster.masterForKey('{bench}:registry');
    const shards = [];
    for (const port of masters) {
      const stats = await masterStats(port);
      shards.push({
        port,
        holdsAppSlot: port === registry,
        commandsPerJob: round(stats.total / jobs, 3),
        redisCpuMicrosecondsPerJob: round(((stats.cpuSeconds - cpuBefore.get(port)) / jobs) * 1e6, 2),
        topCommands: Object.entries(stats.commands)
          .sort((a, b) => b[1] - a[1])
          .slice(0, 5)
          .map(([name, calls]) => `${name} ${round(calls / jobs, 3)}`),
      });
    }
    const cpuPerJob = shards.reduce((sum, shard) => sum + shard.redisCpuMicrosecondsPerJob, 0) / 1e6;
    const commandsPerJob = shards.reduce((sum, shard) => sum + shard.commandsPerJob, 0);
    const oneShard = 1 / cpuPerJob;
    const result = {
      settings: { ...settings, jobs },
      measured: { jobsPerSecond: round(jobs / seconds), seconds: round(seconds, 1) },
      commandsPerJob: round(commandsPerJob, 3),
      redisCpuMicrosecondsPerJob: round(cpuPerJob * 1e6, 2),
      shards,
      projectedJobsPerSecond: Object.fromEntries(
        [1, 3, 10].map((n) => [`${n} shard${n > 1 ? 's' : ''}`, Math.round((n * oneShard) / 100) * 100]),
      ),
    };
    if (asJson) {
      console.log(JSON.stringify(result, null, 2));
      return;
    }
    console.log(
      `toniq on a real Redis Cluster: ${jobs} no-op jobs, ${settings.processes} processes, ${settings.masters} masters + ${settings.masters} replicas`,
    );
    console.log(
      `measured on this machine: ${result.measured.jobsPerSecond} jobs/s (2 cores for everything: not capacity)`,
    );
    console.log(
      `Redis commands per job, all shards: ${result.commandsPerJob}; Redis CPU per job: ${result.redisCpuMicrosecondsPerJob} µs`,
    );
    console.log('per shard (master port, commands per job, Redis CPU µs per job, top commands per job):');
    for (const shard of shards) {
      console.log(
        `  ${shard.port}${shard.holdsAppSlot ? ' (app slot)' : ''}: ${shard.commandsPerJob} commands, ${shard.redisCpuMicrosecondsPerJob} µs — ${shard.topCommands.join(', ')}`,
      );
    }
    console.log('projected capacity (one core per shard, from the CPU per job measured above):');
    for (const [shards, rate] of Object.entries(result.projectedJobsPerSecond))
      console.log(`  ${shards}: ~${rate} jobs/s`);
  } finally {
    await Promise.all(processes.map((toniq) => toniq.stop({ timeout: 1000 })));
    await cluster.stop();
  }
}

await main();
