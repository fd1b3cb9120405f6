/**
 * `npm run bench`: the conductor. It starts a throwaway redis-server, runs every scenario for
 * toniq, BullMQ and Bee-Queue in turns — each library in its own child process, with a FLUSHALL
 * before each — and prints a table of the figures and the ratios toniq ÷ other.
 *
 *   node bench/run.mjs [--quick] [--json] [--only a,b]
 *
 * --quick divides the numbers of jobs by 10 (a smoke run; (b) keeps its 5 s); --json prints JSON instead of the
 * table; --only runs some scenarios. A full run (neither --quick nor --only) also writes
 * bench/RESULTS.md and bench/results.svg.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const asJson = argv.includes('--json');
const onlyAt = argv.indexOf('--only');
const only = onlyAt >= 0 ? new Set((argv[onlyAt + 1] ?? '').split(',').filter(Boolean)) : undefined;
const fullRun = !quick && !only;
const log = (line) => process.stderr.write(`${line}\n`);

const LIBRARIES = [
  { id: 'toniq', label: 'toniq' },
  { id: 'bullmq', label: 'BullMQ' },
  { id: 'bee-queue', label: 'Bee-Queue' },
];

/** Each scenario: its default number of jobs, and the figures it reports (key → label, unit). */
const SCENARIOS = [
  {
    id: 'a',
    title: 'end-to-end persisted no-op jobs, ≤ 500 in flight',
    jobs: 100_000,
    figures: [
      { key: 'jobsPerSecond', label: 'jobs/s', better: 'higher' },
      { key: 'redisCommandsPerJob', label: 'Redis commands per job', better: 'lower', digits: 2 },
    ],
  },
  {
    id: 'b',
    title: 'enqueue-to-start latency at 1,000 jobs/s for 5 s',
    jobs: 5_000,
    // Latency needs the steady state: --quick keeps the full 5 s of this one.
    keepWhenQuick: true,
    figures: [
      { key: 'p50', label: 'p50 ms', better: 'lower', digits: 2 },
      { key: 'p99', label: 'p99 ms', better: 'lower', digits: 2 },
    ],
  },
  {
    id: 'c',
    title: "unpersisted no-op jobs (persist: 'none'), ≤ 500 in flight",
    // A million: at a million a second, 100k jobs would time JIT warm-up more than toniq.
    jobs: 1_000_000,
    figures: [
      { key: 'jobsPerSecond', label: 'jobs/s', better: 'higher' },
      { key: 'redisCommandsPerJob', label: 'Redis commands per job', better: 'lower', digits: 2 },
    ],
  },
  {
    id: 'd',
    title: 'persisted jobs waiting',
    jobs: 100_000,
    figures: [
      { key: 'rssMb', label: 'process RSS MB', better: 'lower', digits: 1 },
      { key: 'redisMb', label: 'Redis used_memory MB', better: 'lower', digits: 1 },
      { key: 'enqueuePerSecond', label: 'enqueue jobs/s', better: 'higher' },
    ],
  },
  {
    id: 'e',
    title: 'jobs that each sleep 1 s, enqueued all at once',
    jobs: 10_000,
    figures: [
      { key: 'wallSeconds', label: 'wall time s', better: 'lower', digits: 2 },
      { key: 'peakRssMb', label: 'peak RSS MB', better: 'lower', digits: 1 },
    ],
  },
  {
    id: 'f',
    title: 'takeover of a SIGKILLed process holding the jobs',
    jobs: 100_000,
    figures: [
      { key: 'detectionSeconds', label: 'kill → takenOver event s', better: 'lower', digits: 2 },
      { key: 'takenOverToFinishedSeconds', label: 'takenOver → all finished s', better: 'lower', digits: 2 },
      { key: 'killToFinishedSeconds', label: 'kill → all finished s', better: 'lower', digits: 2 },
      { key: 'longestRedisCommandMs', label: 'longest Redis command ms', better: 'lower', digits: 1 },
    ],
  },
  {
    id: 'g',
    title: 'delayed jobs, due in 1 hour',
    jobs: 1_000_000,
    figures: [
      { key: 'enqueuePerSecond', label: 'enqueue jobs/s', better: 'higher' },
      { key: 'rssMb', label: 'process RSS MB', better: 'lower', digits: 1 },
      { key: 'redisMb', label: 'Redis used_memory MB', better: 'lower', digits: 1 },
    ],
  },
];

function installBenchDependencies() {
  if (existsSync(join(here, 'node_modules'))) return;
  log('Installing the bench’s own dependencies (bench/package-lock.json) …');
  // --ignore-scripts: msgpackr-extract (through BullMQ) would otherwise run node-gyp-build; its
  // prebuilt binary comes as an ordinary optional package, and msgpackr works without it anyway.
  execFileSync('npm', ['--prefix', here, 'ci', '--no-audit', '--no-fund', '--ignore-scripts'], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** A throwaway redis-server on a free port (never 6379), without snapshots or an append-only file. */
async function startRedis(Redis) {
  const port = await freePort();
  const dir = mkdtempSync(join(os.tmpdir(), 'toniq-bench-redis-'));
  const child = spawn(
    'redis-server',
    [
      ...['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
      // Log every command of 10 ms or more, so a scenario can report the longest one (which blocks all clients).
      ...['--slowlog-log-slower-than', '10000', '--slowlog-max-len', '1000'],
    ],
    { stdio: 'ignore' },
  );
  const url = `redis://127.0.0.1:${port}/0`;
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => 50 });
  client.on('error', () => {});
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}`);
    try {
      if (client.status === 'wait') await client.connect();
      await client.ping();
      break;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  return {
    url,
    client,
    stop() {
      client.disconnect();
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Runs one library's side of one scenario in a child process; resolves with its result object. */
function runScenario(library, scenario, redisUrl, jobs) {
  const script = join(here, 'scenarios', `${library}.mjs`);
  const timeoutMs = 300_000;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--expose-gc', script, scenario, redisUrl, String(jobs)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
    });
    child.stderr.on('data', (chunk) => {
      for (const line of String(chunk).split('\n').filter(Boolean)) log(`    [${library}] ${line}`);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const line = out
        .trim()
        .split('\n')
        .reverse()
        .find((l) => l.startsWith('{'));
      let parsed;
      try {
        parsed = line ? JSON.parse(line) : undefined;
      } catch {}
      if (parsed?.result) resolve(parsed.result);
      else if (parsed?.error) resolve({ error: parsed.error.split('\n')[0] });
      else if (signal === 'SIGKILL') resolve({ error: `timed out after ${timeoutMs / 1000} s` });
      else resolve({ error: `exited with ${code ?? signal} and no result` });
    });
  });
}

async function describeMachine(client) {
  const server = await client.info('server');
  const memory = await client.info('memory');
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memoryGb: Math.round(os.totalmem() / 1024 ** 3),
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    redis: /redis_version:(\S+)/.exec(server)?.[1] ?? 'unknown',
    emptyRedisUsedMemoryMb: Math.round((Number(/used_memory:(\d+)/.exec(memory)?.[1]) / 1048576) * 10) / 10,
  };
}

function libraryVersions() {
  const version = (path) => JSON.parse(readFileSync(path, 'utf8')).version;
  return {
    toniq: version(join(here, '..', 'package.json')),
    bullmq: version(join(here, 'node_modules', 'bullmq', 'package.json')),
    'bee-queue': version(join(here, 'node_modules', 'bee-queue', 'package.json')),
  };
}

function format(value, digits = 0) {
  if (typeof value !== 'number') return value;
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function cell(result, figure) {
  if (!result) return '–';
  if (result.na) return 'n/a';
  if (result.error) return 'error';
  const value = result[figure.key];
  return typeof value === 'number' ? format(value, figure.digits) : '–';
}

function ratio(toniq, other, figure) {
  const a = toniq?.[figure.key];
  const b = other?.[figure.key];
  if (typeof a !== 'number' || typeof b !== 'number' || b === 0) return '–';
  const r = a / b;
  if (r === 0) return '0×';
  return `${r >= 10 ? r.toFixed(0) : r >= 0.1 ? r.toFixed(2) : r.toPrecision(2)}×`;
}

/** The table as rows of cells: scenario, figure, toniq, BullMQ, Bee-Queue, toniq÷BullMQ, toniq÷Bee-Queue. */
function tableRows(results) {
  const rows = [];
  for (const scenario of SCENARIOS) {
    const byLibrary = results[scenario.id];
    if (!byLibrary) continue;
    for (const figure of scenario.figures) {
      rows.push([
        `${scenario.id}. ${format(byLibrary.jobs)} ${scenario.title}`,
        `${figure.label} (${figure.better} is better)`,
        ...LIBRARIES.map((library) => cell(byLibrary[library.id], figure)),
        ratio(byLibrary.toniq, byLibrary.bullmq, figure),
        ratio(byLibrary.toniq, byLibrary['bee-queue'], figure),
      ]);
    }
  }
  return rows;
}

const HEADER = ['scenario', 'figure', 'toniq', 'BullMQ', 'Bee-Queue', 'toniq÷BullMQ', 'toniq÷Bee-Queue'];

function textTable(rows) {
  const all = [HEADER, ...rows];
  const widths = HEADER.map((_, i) => Math.max(...all.map((row) => row[i].length)));
  const line = (row) => row.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(HEADER), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** A Markdown table padded the way biome formats one, so the written file passes `biome check`. */
function markdownTable(rows) {
  const all = [HEADER, ...rows].map((row) => row.map((c) => c.replaceAll('|', '\\|')));
  const widths = HEADER.map((_, i) => Math.max(3, ...all.map((row) => row[i].length)));
  const line = (row) =>
    `| ${row.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`;
  const rule = `| ${widths.map((w, i) => (i < 2 ? '-'.repeat(w) : `${'-'.repeat(w - 1)}:`)).join(' | ')} |`;
  return [line(all[0]), rule, ...all.slice(1).map(line)].join('\n');
}

/** Problems worth a line under the table: errors, and why a figure is n/a. */
function notes(results) {
  const lines = [];
  for (const scenario of SCENARIOS) {
    for (const library of LIBRARIES) {
      const result = results[scenario.id]?.[library.id];
      if (result?.na) lines.push(`${scenario.id}. ${library.label}: n/a — ${result.na}`);
      if (result?.error) lines.push(`${scenario.id}. ${library.label}: error — ${result.error}`);
    }
  }
  return lines;
}

function machineLine(machine, versions) {
  return (
    `${machine.cpu}, ${machine.cores} cores, ${machine.memoryGb} GB; ${machine.os}; Node ${machine.node}; ` +
    `Redis ${machine.redis} (used_memory when empty: ${machine.emptyRedisUsedMemoryMb} MB); ` +
    `toniq ${versions.toniq}, BullMQ ${versions.bullmq}, Bee-Queue ${versions['bee-queue']}`
  );
}

/** A bar chart of scenario (a) and grouped bars of scenario (b), hand-written SVG from the numbers. */
function chartSvg(results) {
  const colors = { toniq: '#2563eb', bullmq: '#dc2626', 'bee-queue': '#d97706' };
  const width = 760;
  const height = 300;
  const panelWidth = 340;
  const top = 60;
  const plotHeight = 180;
  const esc = (s) => String(s).replaceAll('&', '&amp;').replaceAll('<', '&lt;');
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif" font-size="12">`,
    '<title>toniq, BullMQ and Bee-Queue: (a) persisted no-op jobs per second, (b) enqueue-to-start latency</title>',
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
  ];
  const panel = (x0, title, groups, unit, perGroupScale = false) => {
    parts.push(`<text x="${x0}" y="24" font-size="14" font-weight="600">${esc(title)}</text>`);
    const maxOf = (bars) => Math.max(...bars.map((b) => b.value).filter((v) => typeof v === 'number'), 1e-9);
    const overallMax = maxOf(groups.flatMap((g) => g.bars));
    const baseline = top + plotHeight;
    parts.push(
      `<line x1="${x0}" y1="${baseline}" x2="${x0 + panelWidth}" y2="${baseline}" stroke="#9ca3af"/>`,
    );
    const groupWidth = panelWidth / groups.length;
    groups.forEach((group, gi) => {
      // p50 and p99 differ by orders of magnitude: each group of (b) gets its own scale.
      const max = perGroupScale ? maxOf(group.bars) : overallMax;
      const barWidth = Math.min(60, (groupWidth - 20) / group.bars.length);
      const gx = x0 + gi * groupWidth + (groupWidth - barWidth * group.bars.length) / 2;
      group.bars.forEach((bar, bi) => {
        const x = gx + bi * barWidth;
        if (typeof bar.value !== 'number') {
          parts.push(
            `<text x="${x + barWidth / 2}" y="${baseline - 4}" text-anchor="middle" fill="#6b7280">n/a</text>`,
          );
          return;
        }
        const h = Math.round(Math.max(1, (bar.value / max) * plotHeight) * 10) / 10;
        const y = Math.round((baseline - h) * 10) / 10;
        parts.push(
          `<rect x="${x + 2}" y="${y}" width="${barWidth - 4}" height="${h}" fill="${colors[bar.library]}"/>`,
          `<text x="${x + barWidth / 2}" y="${y - 4}" text-anchor="middle">${esc(format(bar.value, bar.digits))}</text>`,
        );
      });
      if (group.label) {
        parts.push(
          `<text x="${x0 + gi * groupWidth + groupWidth / 2}" y="${baseline + 16}" text-anchor="middle">${esc(group.label)}</text>`,
        );
      }
    });
    parts.push(`<text x="${x0}" y="42" fill="#4b5563">${esc(unit)}</text>`);
  };
  const a = results.a ?? {};
  const b = results.b ?? {};
  panel(
    20,
    '(a) persisted no-op jobs per second',
    [
      {
        label: '',
        bars: LIBRARIES.map((l) => ({ library: l.id, value: a[l.id]?.jobsPerSecond, digits: 0 })),
      },
    ],
    'jobs/s, higher is better',
  );
  panel(
    400,
    '(b) enqueue-to-start latency',
    ['p50', 'p99'].map((key) => ({
      label: key,
      bars: LIBRARIES.map((l) => ({ library: l.id, value: b[l.id]?.[key], digits: 2 })),
    })),
    'ms at 1,000 jobs/s, lower is better; p50 and p99 on their own scales',
    true,
  );
  LIBRARIES.forEach((library, i) => {
    const x = 20 + i * 110;
    parts.push(
      `<rect x="${x}" y="${height - 26}" width="12" height="12" fill="${colors[library.id]}"/>`,
      `<text x="${x + 18}" y="${height - 16}">${esc(library.label)}</text>`,
    );
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

function resultsMarkdown(report, rows) {
  return [
    '# Benchmark results',
    '',
    `Latest full run: ${report.date}, with \`${report.command}\`.`,
    '',
    `Machine: ${machineLine(report.machine, report.versions)}.`,
    '',
    '![Scenario (a) jobs per second and scenario (b) latency](results.svg)',
    '',
    markdownTable(rows),
    '',
    'Ratios are toniq ÷ the other library: above 1 is better for toniq where higher is better, below 1 where lower is better.',
    '',
    '## How it is measured',
    '',
    '- One throwaway redis-server (no snapshots, no append-only file), FLUSHALL before each library’s turn; each library runs each scenario in its own Node process, enqueuing and working in that one process.',
    '- Finished jobs are removed from Redis in all three (BullMQ `removeOnComplete`, Bee-Queue `removeOnSuccess`); BullMQ Worker and Bee-Queue `process` get a concurrency of 500 in (a) and (b), of the number of jobs in (e).',
    '- (a), (c): jobs are enqueued by individual calls, at most 500 enqueued and not yet finished; toniq’s clock stops when its jobs are also removed from Redis. Redis commands per job: the server’s `total_commands_processed` over the run, divided by the jobs.',
    '- (b): `performance.now()` just before the enqueue call, passed in the arguments, subtracted from the time at the worker’s first line; the first 10% of jobs are left out as warm-up.',
    '- (d), (g): RSS after a full GC (`--expose-gc`); Redis `used_memory` from `INFO memory`. toniq’s worker in (d) has `maxConcurrency: 1` and its job waits on a gate, so the rest wait in memory; BullMQ and Bee-Queue only add jobs, with no worker running.',
    '- (f): toniq only. A child process enqueues the jobs, whose worker never finishes there, and is SIGKILLed; a second process (`heartbeatInterval: 100`, `deadAfter: 1000`, `takeoverCheckInterval: 100`) takes them over and runs them. The kill → takenOver time includes `deadAfter` (1 s) and the confirmation wait (one `heartbeatInterval`). The longest Redis command is the longest entry of SLOWLOG (threshold 10 ms) after the kill: one command blocks every client of that Redis while it runs.',
    '',
    ...(notes(report.results).length
      ? ['## Not measured, or failed', '', ...notes(report.results).map((n) => `- ${n}`), '']
      : []),
  ].join('\n');
}

async function main() {
  installBenchDependencies();
  const { Redis } = await import(join(here, 'node_modules', 'ioredis', 'built', 'index.js'));
  const redis = await startRedis(Redis);
  let stopped = false;
  const stopRedis = () => {
    if (stopped) return;
    stopped = true;
    redis.stop();
  };
  // However the conductor ends, its redis-server goes with it.
  process.once('exit', stopRedis);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.once(signal, () => {
      stopRedis();
      process.exit(130);
    });
  }
  try {
    const machine = await describeMachine(redis.client);
    const versions = libraryVersions();
    log(`Machine: ${machineLine(machine, versions)}`);
    log(`Redis at ${redis.url}${quick ? '; --quick: a tenth of the jobs' : ''}`);
    const results = {};
    const started = Date.now();
    for (const scenario of SCENARIOS) {
      if (only && !only.has(scenario.id)) continue;
      const jobs =
        quick && !scenario.keepWhenQuick ? Math.max(1, Math.round(scenario.jobs / 10)) : scenario.jobs;
      results[scenario.id] = { jobs };
      for (const library of LIBRARIES) {
        await redis.client.flushall();
        const t0 = Date.now();
        const result = await runScenario(library.id, scenario.id, redis.url, jobs);
        results[scenario.id][library.id] = result;
        log(
          `  ${scenario.id} ${library.label.padEnd(9)} ${((Date.now() - t0) / 1000).toFixed(1).padStart(6)} s  ${JSON.stringify(result)}`,
        );
      }
    }
    await redis.client.flushall();
    const command = `npm run bench${argv.length ? ` -- ${argv.join(' ')}` : ''}`;
    const report = {
      date: new Date().toISOString(),
      command,
      seconds: Math.round((Date.now() - started) / 1000),
      machine,
      versions,
      results,
    };
    const rows = tableRows(results);
    if (asJson) {
      process.stdout.write(`${JSON.stringify({ ...report, table: { header: HEADER, rows } }, null, 2)}\n`);
    } else {
      process.stdout.write(`\nMachine: ${machineLine(machine, versions)}\n\n${textTable(rows)}\n\n`);
      for (const note of notes(results)) process.stdout.write(`${note}\n`);
      process.stdout.write(`\n${command}: ${report.seconds} s\n`);
    }
    if (fullRun) {
      writeFileSync(join(here, 'RESULTS.md'), resultsMarkdown(report, rows));
      writeFileSync(join(here, 'results.svg'), chartSvg(results));
      log('Wrote bench/RESULTS.md and bench/results.svg.');
    }
  } finally {
    stopRedis();
  }
}

await main();
