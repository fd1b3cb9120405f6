/**
 * The chaos check (`npm run chaos`): does every enqueued job run at least once while processes
 * and Redis are killed? The conductor:
 * 1. starts its own redis-server (appendonly, appendfsync always) on a free port, never 6379
 *    (with --tls, speaking only TLS, and the workers trusting its CA through the tls option);
 * 2. starts N worker processes (chaos-worker.ts) and, at a steady rate, tells each which labels
 *    to enqueue; a job counts as enqueued only once its `enqueue` promise resolved, as reported
 *    by the worker;
 * 3. every `--kill-every` ms SIGKILLs one worker and starts a new one (a new process id) in its
 *    place, and once, halfway through enqueueing, SIGKILLs Redis and restarts it on the same
 *    port and data;
 * 4. stops killing once every label is enqueued, then waits until every enqueued job ran at
 *    least once, or the drain deadline;
 * 5. reads the run records from Redis and prints the figures. Lost (enqueued, never ran) must be
 *    0: the exit code is 1 otherwise, with where each lost job sits in Redis now.
 */
import { type ChildProcess, execFileSync, fork } from 'node:child_process';
import { appendFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Cluster, Redis } from 'ioredis';
import { decodeRecord } from '../../src/job/job-record.js';
import { ArgumentCodec } from '../../src/job/serialization.js';
import { type ChaosRedis, type ChaosTopology, startChaosRedis } from './chaos-redis.js';
import { type ChaosWorkerConfig, chaosKeys, type FromWorker, type ToWorker } from './chaos-worker.js';

interface Settings {
  jobs: number;
  processes: number;
  killEvery: number;
  /** How long enqueueing takes (the labels go out at a steady rate over this time), in ms. */
  enqueueFor: number;
  /** How long Redis stays down after its SIGKILL, in ms. */
  redisDown: number;
  /** How long to wait for the last jobs after the last enqueue, in ms. */
  drainDeadline: number;
  json: boolean;
  /** Redis speaks only TLS, with a test CA (test/harness/redis-server.ts). */
  tls: boolean;
  /** --cluster or --sentinel: kill Redis masters instead of the single server (chaos-redis.ts). */
  topology: ChaosTopology;
  verbose: boolean;
  short: boolean;
}

const USAGE = `Usage: npm run chaos -- [options]
  --jobs N             jobs to enqueue (default 20000; 2000 with --short)
  --processes N        worker processes alive at once (default 4)
  --kill-every MS      SIGKILL one worker process this often (default 2000; 0: never)
  --enqueue-for MS     spread the enqueues over this long (default 40000; 15000 with --short)
  --redis-down MS      how long Redis stays down after its SIGKILL (default 3000)
  --drain-deadline MS  give up this long after the last enqueue (default 120000; 40000 with --short)
  --short              the CI version: 2000 jobs, under a minute
  --tls                Redis speaks only TLS (rediss://); the workers pass its CA as tls: { ca }
  --cluster            run on a Redis Cluster (3 masters, 3 replicas) and SIGKILL the master of
                       the app's slot instead of the single server; durability: { replicas: 1 }
  --sentinel           run on a Sentinel setup (master, replica, 3 sentinels) and SIGKILL the
                       master; durability: { replicas: 1 }
  --json               print the result as JSON on stdout (progress goes to stderr;
                       use npm run --silent chaos -- --json to keep npm's lines out)
  --verbose            echo the workers' warnings and errors as they come`;

function parseArgs(argv: string[]): Settings {
  const short = argv.includes('--short');
  const s: Settings = {
    jobs: short ? 2000 : 20_000,
    processes: 4,
    killEvery: 2000,
    enqueueFor: short ? 15_000 : 40_000,
    redisDown: 3000,
    drainDeadline: short ? 40_000 : 120_000,
    json: false,
    tls: false,
    topology: 'server',
    verbose: false,
    short,
  };
  const numeric: Record<string, keyof Settings> = {
    '--jobs': 'jobs',
    '--processes': 'processes',
    '--kill-every': 'killEvery',
    '--enqueue-for': 'enqueueFor',
    '--redis-down': 'redisDown',
    '--drain-deadline': 'drainDeadline',
  };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i]!.split('=', 2) as [string, string | undefined];
    if (flag === '--short') continue;
    if (flag === '--json') s.json = true;
    else if (flag === '--tls') s.tls = true;
    else if (flag === '--cluster') s.topology = 'cluster';
    else if (flag === '--sentinel') s.topology = 'sentinel';
    else if (flag === '--verbose') s.verbose = true;
    else if (flag === '--help' || flag === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else if (flag in numeric) {
      const text = inline ?? argv[++i];
      const value = Number(text);
      if (!Number.isInteger(value) || value < 0) fail(`${flag} needs a whole number ≥ 0, got ${text}.`);
      (s as unknown as Record<string, number>)[numeric[flag]!] = value;
    } else fail(`unknown option ${argv[i]}.`);
  }
  if (s.processes < 1) fail('--processes must be at least 1.');
  if (s.jobs < 1) fail('--jobs must be at least 1.');
  return s;
}

/** Which toniq was tested: the commit, and the files of src/ changed since (the build is of the working tree). */
function sourceVersion(): string {
  try {
    const git = (...args: string[]) =>
      execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trimEnd();
    const commit = git('rev-parse', '--short', 'HEAD');
    const changed = git('status', '--porcelain', '--', 'src').split('\n').filter(Boolean);
    return changed.length
      ? `${commit} + uncommitted changes in ${changed.map((line) => line.slice(3)).join(', ')}`
      : commit;
  } catch {
    return 'unknown (not a git checkout)';
  }
}

function fail(message: string): never {
  console.error(`chaos: ${message}\n\n${USAGE}`);
  process.exit(2);
}

/** The timings every worker process runs with: short, so that a dead process is noticed fast. */
const TIMING = {
  heartbeatInterval: 200,
  deadAfter: 2000,
  takeoverCheckInterval: 200,
  delayedJobsPollInterval: 200,
  enqueueTimeout: 2000,
};
const KEY_PREFIX = 'chaos';
const ISSUE_EVERY_MS = 50;
const PROBE_EVERY_MS = 100;
/** A worker process that has not started this long after it was started (or Redis came back) is stuck. */
const STUCK_START_MS = 20_000;

interface Worker {
  readonly slot: number;
  /** 1 for a slot's first process, then one more per replacement. */
  readonly generation: number;
  readonly child: ChildProcess;
  readonly startedAt: number;
  processId: string | undefined;
  readyAt: number | undefined;
  killedAt: number | undefined;
  closed: Promise<void>;
  /** Labels sent to it whose enqueue it has not confirmed yet. */
  readonly outstanding: Set<number>;
}

interface Confirmation {
  label: number;
  processId: string;
  slot: number;
  generation: number;
  at: number;
}

interface Takeover {
  at: number;
  from: string;
  by: string;
  jobs: number;
  delayedJobs: number;
}

class Conductor {
  readonly #s: Settings;
  readonly #t0 = Date.now();
  readonly #source = sourceVersion();
  readonly #logFile = join(tmpdir(), `toniq-chaos-${new Date().toISOString().replace(/[:.]/g, '-')}.log`);
  #redis!: ChaosRedis;
  #client!: Redis | Cluster;
  readonly #workers: Worker[] = [];
  readonly #slots: Array<{
    worker: Worker | undefined;
    next: number;
    end: number;
    first: number;
    returned: number[];
  }> = [];
  #enqueueStart = 0;
  readonly #confirmed = new Map<string, Confirmation>();
  readonly #labelsConfirmed = new Set<number>();
  #refusals = 0;
  /** Per label, each refused enqueue: in which process, and when it was called and rejected. */
  readonly #labelsRefused = new Map<number, Array<{ processId: string; from: number; to: number }>>();
  /** Per label, the processes it was sent to (more than one when a process died first). */
  readonly #labelsIssuedTo = new Map<number, Worker[]>();
  #unexpectedExits = 0;
  #stuckStarts = 0;
  /** The workers' event-loop delay: each second's 99th percentile, and the largest seen, in ms. */
  readonly #lagP99: number[] = [];
  #lagMax = 0;
  /** Conductor's probe writes to Redis, in ms. */
  readonly #writeLatency: number[] = [];
  #lastKillAt = 0;
  readonly #refusalReasons = new Map<string, number>();
  readonly #takeovers: Takeover[] = [];
  #retrying = 0;
  #kills = 0;
  #redisKilledAt: number | undefined;
  #redisBackAt: number | undefined;
  #stopping = false;
  /** Enqueued job ids seen with a run record while draining. */
  readonly #seen = new Set<string>();
  readonly #logCounts = new Map<string, { level: string; count: number; example: string }>();

  constructor(settings: Settings) {
    this.#s = settings;
  }

  /** Seconds since the conductor started, for the log and the progress lines. */
  #now(at = Date.now()): string {
    return `+${((at - this.#t0) / 1000).toFixed(3)}s`;
  }

  #log(line: string): void {
    appendFileSync(this.#logFile, `${this.#now()} ${line}\n`);
  }

  #progress(line: string): void {
    const out = `[chaos ${this.#now()}] ${line}`;
    if (this.#s.json) console.error(out);
    else console.log(out);
    this.#log(`conductor: ${line}`);
  }

  async run(): Promise<number> {
    writeFileSync(this.#logFile, '');
    this.#redis = await startChaosRedis(this.#s.topology, this.#s.tls, KEY_PREFIX);
    try {
      return await this.#run();
    } finally {
      await this.cleanUp();
    }
  }

  /** Kills every worker process and the redis-server (and its data folder). Safe to call twice. */
  async cleanUp(): Promise<void> {
    this.#stopping = true;
    for (const worker of this.#workers) if (worker.child.exitCode === null) worker.child.kill('SIGKILL');
    await Promise.all(this.#workers.map((worker) => worker.closed));
    await this.#redis?.stop();
  }

  async #run(): Promise<number> {
    const s = this.#s;
    this.#client = this.#redis.client();
    this.#progress(`testing toniq ${this.#source}`);
    this.#progress(
      `${this.#redis.description}; ${s.jobs} jobs, ` +
        `${s.processes} processes, a SIGKILL every ${s.killEvery} ms, enqueueing over ${s.enqueueFor} ms`,
    );
    this.#progress(
      `worker timings: heartbeatInterval ${TIMING.heartbeatInterval} ms, deadAfter ${TIMING.deadAfter} ms, ` +
        `takeoverCheckInterval ${TIMING.takeoverCheckInterval} ms, delayedJobsPollInterval ${TIMING.delayedJobsPollInterval} ms, ` +
        `enqueueTimeout ${TIMING.enqueueTimeout} ms; log of every worker: ${this.#logFile}`,
    );

    // Labels 0..jobs-1, split across the slots; each slot's process enqueues its share.
    const per = Math.floor(s.jobs / s.processes);
    for (let i = 0, first = 0; i < s.processes; i++) {
      const count = per + (i < s.jobs % s.processes ? 1 : 0);
      this.#slots.push({ worker: undefined, next: first, end: first + count, first, returned: [] });
      first += count;
    }
    await Promise.all(this.#slots.map((_, slot) => this.#startWorker(slot).ready));

    this.#enqueueStart = Date.now();
    const issuer = setInterval(() => this.#issue(), ISSUE_EVERY_MS);
    const killer = s.killEvery > 0 ? setInterval(() => void this.#killOne(), s.killEvery) : undefined;
    const redisChaos = setTimeout(() => void this.#crashRedis(), s.enqueueFor / 2);
    const reporter = setInterval(() => this.#report(), 5000);
    const prober = setInterval(() => void this.#probeRedis(), PROBE_EVERY_MS);

    // Enqueueing ends once every label was confirmed (labels of killed processes go out again).
    const enqueueGiveUpAt = this.#enqueueStart + s.enqueueFor + 60_000;
    while (!this.#allLabelsConfirmed() && Date.now() < enqueueGiveUpAt) await sleep(100);
    clearInterval(killer);
    clearInterval(issuer);
    clearTimeout(redisChaos);
    while (this.#redisKilledAt !== undefined && this.#redisBackAt === undefined) await sleep(100);
    let lastEnqueueAt = 0;
    for (const confirmation of this.#confirmed.values())
      lastEnqueueAt = Math.max(lastEnqueueAt, confirmation.at);
    const enqueueComplete = this.#allLabelsConfirmed();
    this.#progress(
      enqueueComplete
        ? `enqueueing done: ${this.#confirmed.size} jobs enqueued; no more kills, draining`
        : `gave up enqueueing: ${s.jobs - this.#labelsConfirmed.size} labels never confirmed; draining`,
    );

    // Drain: wait until every enqueued job has a run recorded.
    const keys = chaosKeys(KEY_PREFIX);
    const notRun = new Set(this.#confirmed.keys());
    let drainedAt: number | undefined;
    const drainDeadlineAt = Date.now() + s.drainDeadline;
    while (Date.now() < drainDeadlineAt) {
      for (const id of this.#confirmed.keys()) if (!this.#seen.has(id)) notRun.add(id);
      try {
        const ids = [...notRun];
        for (let i = 0; i < ids.length; i += 5000) {
          const chunk = ids.slice(i, i + 5000);
          const counts = await this.#client.hmget(keys.runs, ...chunk);
          chunk.forEach((id, j) => {
            if (counts[j] !== null) {
              notRun.delete(id);
              this.#seen.add(id);
            }
          });
        }
      } catch {
        // Redis is coming back; ask again.
      }
      if (notRun.size === 0) {
        drainedAt = Date.now();
        break;
      }
      await sleep(250);
    }
    clearInterval(reporter);
    clearInterval(prober);
    this.#progress(
      drainedAt
        ? `every enqueued job ran, ${((drainedAt - lastEnqueueAt) / 1000).toFixed(1)} s after the last enqueue ` +
            `and ${((drainedAt - this.#lastKillAt) / 1000).toFixed(1)} s after the last kill`
        : `drain deadline passed with ${notRun.size} enqueued jobs never run`,
    );
    // A moment for the last removals to reach Redis, then stop every worker for good, so the
    // counts read below are final.
    await sleep(1000);
    this.#stopping = true;
    for (const worker of this.#liveWorkers()) worker.child.kill('SIGKILL');
    await Promise.all(this.#workers.map((worker) => worker.closed));

    const result = await this.collect(lastEnqueueAt, drainedAt, enqueueComplete);
    this.#print(result);
    return result.lost > 0 ? 1 : 0;
  }

  #allLabelsConfirmed(): boolean {
    return this.#labelsConfirmed.size === this.#s.jobs;
  }

  #liveWorkers(): Worker[] {
    return this.#slots.map((slot) => slot.worker).filter((w): w is Worker => w !== undefined);
  }

  #startWorker(slot: number): { worker: Worker; ready: Promise<void> } {
    const previous = this.#slots[slot]!.worker;
    const generation = (previous?.generation ?? 0) + 1;
    const config: ChaosWorkerConfig = {
      ...this.#redis.where,
      keyPrefix: KEY_PREFIX,
      ...TIMING,
      retryRefusedAfter: 500,
    };
    const child = fork(new URL('./chaos-worker.js', import.meta.url), [], {
      env: { ...process.env, CHAOS_WORKER_CONFIG: JSON.stringify(config) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let markReady: () => void = () => {};
    const ready = new Promise<void>((resolve) => {
      markReady = resolve;
    });
    const worker: Worker = {
      slot,
      generation,
      child,
      startedAt: Date.now(),
      processId: undefined,
      readyAt: undefined,
      killedAt: undefined,
      closed: new Promise((resolve) => child.once('close', () => resolve())),
      outstanding: new Set(),
    };
    const tag = () => `[slot ${slot} gen ${generation} pid ${child.pid} ${worker.processId ?? '(starting)'}]`;
    child.on('message', (message: FromWorker) => {
      switch (message.type) {
        case 'ready':
          worker.processId = message.processId;
          worker.readyAt = Date.now();
          this.#log(`${tag()} ready after ${message.startAttempts} start attempt(s)`);
          markReady();
          break;
        case 'confirmed':
          for (const [label, id] of message.items) {
            worker.outstanding.delete(label);
            this.#labelsConfirmed.add(label);
            this.#confirmed.set(id, {
              label,
              processId: worker.processId!,
              slot,
              generation,
              at: Date.now(),
            });
          }
          break;
        case 'refused':
          for (const [label, code, reason, from, to] of message.items) {
            this.#refusals++;
            const refusals = this.#labelsRefused.get(label) ?? [];
            refusals.push({ processId: worker.processId!, from, to });
            this.#labelsRefused.set(label, refusals);
            const key = `${code}: ${reason}`;
            this.#refusalReasons.set(key, (this.#refusalReasons.get(key) ?? 0) + 1);
          }
          break;
        case 'takenOver':
          this.#takeovers.push({
            at: Date.now(),
            from: message.from,
            by: worker.processId!,
            jobs: message.jobs,
            delayedJobs: message.delayedJobs,
          });
          this.#log(
            `${tag()} took over ${message.jobs} job(s) + ${message.delayedJobs} delayed of ${message.from}`,
          );
          break;
        case 'lag':
          this.#lagP99.push(message.p99);
          this.#lagMax = Math.max(this.#lagMax, message.max);
          break;
        case 'retrying':
          this.#retrying++;
          this.#log(`${tag()} retrying job ${message.id} after attempt ${message.attempt}: ${message.error}`);
          break;
        case 'log': {
          this.#log(`${tag()} ${message.level}: ${message.msg}`);
          const pattern = message.msg
            .replace(/#?[0-9A-HJKMNP-TV-Z]{26}/g, '<id>')
            .replace(/\S+:\d+:[0-9a-f]{8}/g, '<process>')
            .replace(/\d+/g, 'N');
          const entry = this.#logCounts.get(pattern) ?? {
            level: message.level,
            count: 0,
            example: message.msg,
          };
          entry.count++;
          this.#logCounts.set(pattern, entry);
          if (this.#s.verbose && message.level !== 'info')
            console.error(`${tag()} ${message.level}: ${message.msg}`);
          break;
        }
      }
    });
    child.once('close', (code, signal) => {
      this.#log(`${tag()} exited (${signal ?? code}); ${worker.outstanding.size} label(s) unconfirmed`);
      if (this.#stopping) return;
      // Labels it never confirmed go out again, to the slot's next process.
      this.#slots[slot]!.returned.push(...worker.outstanding);
      worker.outstanding.clear();
      if (worker.killedAt === undefined) {
        // Not our SIGKILL: the process crashed (its stderr is above). Count it and replace it.
        worker.killedAt = Date.now();
        this.#unexpectedExits++;
        this.#progress(
          `worker process ${child.pid} (slot ${slot}) exited by itself (${signal ?? code}); replacing it`,
        );
        if (this.#slots[slot]!.worker === worker) this.#startWorker(slot);
      }
    });
    this.#slots[slot]!.worker = worker;
    this.#workers.push(worker);
    this.#log(`${tag()} started`);
    return { worker, ready };
  }

  /** Sends each ready process the labels it is due to enqueue by now (a steady rate per slot). */
  #issue(): void {
    this.#replaceStuckStarts();
    const elapsed = Date.now() - this.#enqueueStart;
    const share = Math.min(1, elapsed / Math.max(1, this.#s.enqueueFor));
    for (const slot of this.#slots) {
      const worker = slot.worker;
      if (!worker?.readyAt || worker.killedAt) continue;
      const target = slot.first + Math.floor((slot.end - slot.first) * share);
      const labels = slot.returned.splice(0);
      while (slot.next < target) labels.push(slot.next++);
      if (!labels.length) continue;
      for (const label of labels) {
        worker.outstanding.add(label);
        const issued = this.#labelsIssuedTo.get(label) ?? [];
        issued.push(worker);
        this.#labelsIssuedTo.set(label, issued);
      }
      worker.child.send({ type: 'enqueue', labels } satisfies ToWorker);
    }
  }

  /** A process that has not started within STUCK_START_MS is reported, killed and replaced. */
  #replaceStuckStarts(): void {
    for (const worker of this.#liveWorkers()) {
      const since = Math.max(worker.startedAt, this.#redisBackAt ?? 0);
      const redisDown = this.#redisKilledAt !== undefined && this.#redisBackAt === undefined;
      if (worker.readyAt || worker.killedAt !== undefined || redisDown || Date.now() - since < STUCK_START_MS)
        continue;
      worker.killedAt = Date.now();
      this.#stuckStarts++;
      this.#progress(
        `worker process ${worker.child.pid} (slot ${worker.slot}) did not start within ${STUCK_START_MS} ms; replacing it`,
      );
      worker.child.kill('SIGKILL');
      this.#startWorker(worker.slot);
    }
  }

  async #killOne(): Promise<void> {
    const candidates = this.#liveWorkers().filter((w) => w.readyAt && w.killedAt === undefined);
    if (!candidates.length) return;
    const victim = candidates[Math.floor(Math.random() * candidates.length)]!;
    victim.killedAt = Date.now();
    this.#lastKillAt = victim.killedAt;
    victim.child.kill('SIGKILL');
    this.#kills++;
    this.#log(
      `conductor: SIGKILL slot ${victim.slot} gen ${victim.generation} (${victim.processId}), ` +
        `${victim.outstanding.size} label(s) unconfirmed`,
    );
    this.#startWorker(victim.slot);
  }

  /**
   * Times one write, as the workers' writes see Redis (appendfsync always: a reply waits for the
   * disk). Slow writes widen the window in which a finished job is still stored.
   */
  async #probeRedis(): Promise<void> {
    if (this.#redisKilledAt !== undefined && this.#redisBackAt === undefined) return;
    const started = performance.now();
    try {
      await this.#client.set(`{${KEY_PREFIX}}:probe`, String(started));
      this.#writeLatency.push(performance.now() - started);
    } catch {
      // Redis is away; the outage is measured elsewhere.
    }
  }

  async #crashRedis(): Promise<void> {
    this.#redisKilledAt = Date.now();
    await this.#redis.crash(this.#s.redisDown, (line) => this.#progress(line));
    this.#redisBackAt = Date.now();
  }

  #report(): void {
    const live = this.#liveWorkers().filter((w) => w.readyAt && w.killedAt === undefined).length;
    this.#progress(
      `enqueued ${this.#confirmed.size}/${this.#s.jobs}, refused ${this.#refusals}, ` +
        `processes killed ${this.#kills}, ready ${live}/${this.#s.processes}, takeovers ${this.#takeovers.length}`,
    );
  }

  async collect(lastEnqueueAt: number, drainedAt: number | undefined, enqueueComplete: boolean) {
    const keys = chaosKeys(KEY_PREFIX);
    const client = this.#client;
    const runs = await client.hgetall(keys.runs);
    const runLog = await client.hgetall(keys.runLog);
    // Distinct runs per job id: a write resent after a reconnect does not make a second run.
    const distinct = new Map<string, RunRecord[]>();
    for (const [field, value] of Object.entries(runLog)) {
      const [id] = field.split(' ');
      const [label, processId, attempt, at] = value.split(' ');
      const list = distinct.get(id!) ?? [];
      list.push({ label: Number(label), processId: processId!, attempt: Number(attempt), at: Number(at) });
      distinct.set(id!, list);
    }
    for (const list of distinct.values()) list.sort((a, b) => a.at - b.at);
    const runsOf = (id: string) => Math.max(distinct.get(id)?.length ?? 0, runs[id] ? 1 : 0);

    let ran = 0;
    let ranTwice = 0;
    let extraRuns = 0;
    const twiceKinds = { sameProcess: 0, otherProcess: 0 };
    const twiceWhy: string[] = [];
    /** For a job that ran again after its process was killed: ms from its first run's end to the kill. */
    const finishedBeforeKill: number[] = [];
    const lostIds: string[] = [];
    for (const id of this.#confirmed.keys()) {
      const n = runsOf(id);
      if (n >= 1) ran++;
      else lostIds.push(id);
      if (n > 1) {
        ranTwice++;
        extraRuns += n - 1;
        const list = distinct.get(id)!;
        const holders = new Set(list.map((r) => r.processId));
        if (holders.size > 1) twiceKinds.otherProcess++;
        else twiceKinds.sameProcess++;
        const [first, second] = list as [RunRecord, RunRecord];
        const firstProcess = this.#workers.find((w) => w.processId === first.processId);
        if (second.processId === first.processId) twiceWhy.push('again in the same process');
        else if (firstProcess?.killedAt !== undefined && firstProcess.killedAt <= second.at) {
          twiceWhy.push('its process was killed after it finished, before the removal reached Redis');
          finishedBeforeKill.push(firstProcess.killedAt - first.at);
        } else twiceWhy.push('taken over from a live process (its heartbeat had lapsed)');
      }
    }
    let resentWrites = 0;
    for (const [id, count] of Object.entries(runs)) if (Number(count) > runsOf(id)) resentWrites++;
    // Jobs that ran although no process confirmed their enqueue to us, and job records left in
    // Redis that never ran: why (see #whyUnconfirmed).
    const unconfirmedRan = [...distinct.keys()].filter((id) => !this.#confirmed.has(id));
    const unconfirmedRanWhy = countBy(
      unconfirmedRan.map((id) => this.#whyUnconfirmed(id, distinct.get(id)![0]!.label)),
    );
    const stored = await this.#storedJobs();
    const storedNotRun = [...stored.entries()].filter(([id]) => runsOf(id) === 0);
    const storedNotRunWhy = countBy(
      storedNotRun.map(([id, where]) =>
        this.#confirmed.has(id) ? 'enqueued (lost)' : this.#whyUnconfirmed(id, where.label),
      ),
    );
    const lost = lostIds.map((id) => this.#explainLost(id, stored.get(id)));

    return {
      source: this.#source,
      settings: { ...this.#s, timing: TIMING, redisPort: this.#redis.port },
      enqueued: this.#confirmed.size,
      enqueueComplete,
      labelsNeverConfirmed: this.#s.jobs - this.#labelsConfirmed.size,
      refused: this.#refusals,
      labelsRefused: this.#labelsRefused.size,
      refusalReasons: Object.fromEntries(this.#refusalReasons),
      ranAtLeastOnce: ran,
      lost: lostIds.length,
      ranMoreThanOnce: ranTwice,
      extraRuns,
      ranMoreThanOnceByKind: twiceKinds,
      ranMoreThanOnceWhy: countBy(twiceWhy),
      /** Of those run again after a kill: ms between the end of the first run and the kill. */
      finishedBeforeKillMs: spread(finishedBeforeKill),
      recorderWritesAppliedTwice: resentWrites,
      ranWithoutConfirmedEnqueue: unconfirmedRan.length,
      ranWithoutConfirmedEnqueueWhy: unconfirmedRanWhy,
      retryingEvents: this.#retrying,
      processesKilled: this.#kills,
      processesStarted: this.#workers.length,
      redisRestarts: this.#redisKilledAt ? 1 : 0,
      redisDownMs: this.#redisBackAt && this.#redisKilledAt ? this.#redisBackAt - this.#redisKilledAt : null,
      takeovers: this.#takeovers.length,
      jobsTakenOver: this.#takeovers.reduce((sum, t) => sum + t.jobs, 0),
      storedAtEndNeverRan: storedNotRun.length,
      storedAtEndNeverRanWhere: countBy(storedNotRun.map(([, where]) => where.kind)),
      storedAtEndNeverRanWhy: storedNotRunWhy,
      machine: { cpus: cpus().length, loadAverage: loadavg().map((l) => round(l)) },
      workerEventLoopDelayMs: {
        p99PerSecond: spread(this.#lagP99.map((v) => Math.round(v))),
        max: Math.round(this.#lagMax),
      },
      redisWriteLatencyMs: spread(this.#writeLatency.map((v) => round(v))),
      unexpectedExits: this.#unexpectedExits,
      stuckStarts: this.#stuckStarts,
      enqueueSeconds: round((lastEnqueueAt - this.#enqueueStart) / 1000),
      drainSeconds: drainedAt ? round((drainedAt - lastEnqueueAt) / 1000) : null,
      drainSecondsAfterLastKill:
        drainedAt && this.#lastKillAt ? round((drainedAt - this.#lastKillAt) / 1000) : null,
      lostJobs: lost.slice(0, 200),
      workerLogSummary: [...this.#logCounts.values()]
        .filter((entry) => entry.level !== 'info')
        .sort((a, b) => b.count - a.count)
        .slice(0, 15),
      logFile: this.#logFile,
    };
  }

  /**
   * Why a job ran (or is stored) whose enqueue no process confirmed to us:
   * - "refused enqueue left it behind": its id was made during an enqueue of its label that
   *   rejected (the id's time lies between the call and the rejection), so the contract "a
   *   rejected enqueue leaves nothing behind" was broken;
   * - "enqueuing process died first": its label went to a process that died while the job's id
   *   was made, before the confirmation reached us;
   * - "unexplained" otherwise.
   */
  #whyUnconfirmed(id: string, label: number | undefined): string {
    const madeAt = jobIdTime(id);
    if (label === undefined) return 'unexplained (label unknown)';
    const slack = 5;
    const refusals = this.#labelsRefused.get(label) ?? [];
    if (refusals.some((r) => madeAt >= r.from - slack && madeAt <= r.to + slack))
      return 'refused enqueue left it behind';
    const issued = this.#labelsIssuedTo.get(label) ?? [];
    if (issued.some((w) => w.killedAt !== undefined && madeAt >= w.startedAt && madeAt <= w.killedAt + slack))
      return 'enqueuing process died first';
    return 'unexplained';
  }

  /** Every job record still in Redis: job id → which key holds it and for which process. */
  async #storedJobs(): Promise<Map<string, StoredWhere>> {
    const tag = `{${KEY_PREFIX}}`;
    const found = new Map<string, StoredWhere>();
    const add = (kind: string, holder: string | null, all: Record<string, Buffer>) => {
      for (const [id, record] of Object.entries(all)) found.set(id, { kind, holder, label: labelOf(record) });
    };
    // Each process's keys are under {prefix:processId} (src/storage/keys.ts).
    for (const kind of ['jobs', 'delayed-jobs', 'failing']) {
      for (const key of await this.#redis.scanKeys(`{${KEY_PREFIX}:*}:${kind}`)) {
        const holder = key.slice(`{${KEY_PREFIX}:`.length, -`}:${kind}`.length);
        add(kind, holder, await this.#client.hgetallBuffer(key));
      }
    }
    add('failed', null, await this.#client.hgetallBuffer(`${tag}:failed`));
    return found;
  }

  #explainLost(id: string, where: StoredWhere | undefined) {
    const confirmation = this.#confirmed.get(id)!;
    const byProcess = (processId: string | null) => this.#workers.find((w) => w.processId === processId);
    const enqueuer = byProcess(confirmation.processId);
    const holder = where ? byProcess(where.holder) : undefined;
    const rel = (at: number | undefined) => (at === undefined ? null : round((at - this.#t0) / 1000));
    return {
      id,
      label: confirmation.label,
      enqueuedBy: confirmation.processId,
      enqueuedAt: rel(confirmation.at),
      enqueuerKilledAt: rel(enqueuer?.killedAt),
      takeoversOfEnqueuer: this.#takeovers
        .filter((t) => t.from === confirmation.processId)
        .map((t) => ({ at: rel(t.at), by: t.by, jobs: t.jobs })),
      storedNowIn: where ? `${where.kind}${where.holder ? ` of ${where.holder}` : ''}` : 'nowhere (removed)',
      holderWasKilledAt: rel(holder?.killedAt),
      holderStartedAt: rel(holder?.startedAt),
      holderWasAliveAtEnd: holder ? holder.killedAt === undefined : null,
      takeoversByHolder: where?.holder
        ? this.#takeovers
            .filter((t) => t.by === where.holder)
            .map((t) => ({ at: rel(t.at), from: t.from, jobs: t.jobs }))
        : [],
      redisKilledAt: rel(this.#redisKilledAt),
      redisBackAt: rel(this.#redisBackAt),
    };
  }

  #print(result: ChaosResult): void {
    if (this.#s.json) {
      console.log(JSON.stringify(result, null, 2));
      return;
    }
    const s = this.#s;
    const rows: Array<[string, string | number, string?]> = [
      ['enqueued (enqueue resolved)', result.enqueued, result.enqueueComplete ? '' : 'NOT every label'],
      ['refused and retried', result.refused, `rejections, of ${result.labelsRefused} jobs`],
      ['ran at least once', result.ranAtLeastOnce],
      ['lost (must be 0)', result.lost, result.lost ? 'FAIL' : 'ok'],
      [
        'ran more than once',
        result.ranMoreThanOnce,
        `${result.ranMoreThanOnceByKind.otherProcess} in another process, ${result.ranMoreThanOnceByKind.sameProcess} in the same`,
      ],
      ['processes killed (SIGKILL)', result.processesKilled, `${result.processesStarted} started in all`],
      ['Redis killed and restarted', result.redisRestarts, `down ${result.redisDownMs} ms`],
      ['takeovers', result.takeovers, `${result.jobsTakenOver} jobs moved`],
      [
        'time to drain',
        result.drainSeconds === null ? 'deadline' : `${result.drainSeconds} s`,
        result.drainSeconds === null
          ? `${s.drainDeadline} ms after the last enqueue`
          : `after the last enqueue; ${result.drainSecondsAfterLastKill} s after the last kill`,
      ],
    ];
    if (result.stuckStarts)
      rows.push([
        'worker processes stuck starting',
        result.stuckStarts,
        `not ready after ${STUCK_START_MS} ms`,
      ]);
    if (result.unexpectedExits)
      rows.push([
        'worker processes that crashed',
        result.unexpectedExits,
        'not killed by us; see stderr above',
      ]);
    const width = Math.max(...rows.map(([label]) => label.length));
    const numWidth = Math.max(...rows.map(([, value]) => String(value).length));
    console.log('');
    console.log(
      `toniq chaos check: ${s.jobs} jobs, ${s.processes} processes, one SIGKILLed every ${s.killEvery} ms, ` +
        `Redis SIGKILLed once`,
    );
    console.log(
      `timings: heartbeatInterval ${TIMING.heartbeatInterval} ms, deadAfter ${TIMING.deadAfter} ms, ` +
        `takeoverCheckInterval ${TIMING.takeoverCheckInterval} ms, enqueueTimeout ${TIMING.enqueueTimeout} ms`,
    );
    console.log(`toniq tested: ${result.source}`);
    console.log('');
    for (const [label, value, note] of rows) {
      console.log(
        `  ${label.padEnd(width)}  ${String(value).padStart(numWidth)}${note ? `  (${note})` : ''}`,
      );
    }
    console.log('');
    const why = (counts: Record<string, number>) =>
      Object.keys(counts).length
        ? ` (${Object.entries(counts)
            .map(([reason, count]) => `${count} ${reason}`)
            .join(', ')})`
        : '';
    console.log('  details:');
    console.log(
      `    ${result.ranWithoutConfirmedEnqueue} job(s) ran whose enqueue was never confirmed to us${why(result.ranWithoutConfirmedEnqueueWhy)}`,
    );
    console.log(
      `    ${result.storedAtEndNeverRan} job record(s) left in Redis at the end that never ran${why(result.storedAtEndNeverRanWhy)}`,
    );
    console.log(`    ran more than once, why${why(result.ranMoreThanOnceWhy) || ': -'}`);
    if (result.finishedBeforeKillMs) {
      const { median, p90, max } = result.finishedBeforeKillMs;
      console.log(
        `      (of those run again after a kill, the first run had ended before the SIGKILL by: median ${median} ms, 90% ${p90} ms, max ${max} ms)`,
      );
    }
    console.log(`    ${result.recorderWritesAppliedTwice} run record(s) written twice by a client resend`);
    console.log(`    ${result.retryingEvents} failed attempt(s) retried`);
    const lag = result.workerEventLoopDelayMs;
    console.log(
      `    worker event-loop delay: 99th percentile per second ${lag.p99PerSecond?.median ?? '-'} ms (median), ` +
        `${lag.p99PerSecond?.p90 ?? '-'} ms (90%); max ${lag.max} ms; ` +
        `${result.machine.cpus} CPUs, load average ${result.machine.loadAverage.join(' ')}`,
    );
    const write = result.redisWriteLatencyMs;
    if (write)
      console.log(
        `    Redis write latency (a probe every ${PROBE_EVERY_MS} ms): median ${write.median} ms, 90% ${write.p90} ms, max ${write.max} ms`,
      );
    if (Object.keys(result.refusalReasons).length) {
      console.log('  refusals:');
      for (const [reason, count] of Object.entries(result.refusalReasons)
        .sort((a, b) => b[1] - a[1])
        .slice(0, 5))
        console.log(`    ${String(count).padStart(6)}  ${reason}`);
    }
    if (result.workerLogSummary.length) {
      console.log('  worker warnings and errors:');
      for (const entry of result.workerLogSummary)
        console.log(`    ${String(entry.count).padStart(6)}  ${entry.level}: ${entry.example.slice(0, 200)}`);
    }
    if (result.lost) {
      console.log('');
      console.log(`LOST: ${result.lost} enqueued job(s) never ran. Where they are now (first 10):`);
      for (const lost of result.lostJobs.slice(0, 10)) console.log(`  ${JSON.stringify(lost)}`);
      console.log(
        `  by place: ${JSON.stringify(countBy(result.lostJobs.map((l) => l.storedNowIn.split(' of ')[0]!)))}`,
      );
    }
    console.log(`  every worker's log: ${result.logFile}`);
    console.log('');
  }
}

type ChaosResult = Awaited<ReturnType<Conductor['collect']>>;

interface RunRecord {
  label: number;
  processId: string;
  attempt: number;
  /** When the run recorded itself (epoch ms, the worker's clock: the same machine). */
  at: number;
}

/** Median, 90th percentile and maximum, or null for no values. */
function spread(values: number[]): { median: number; p90: number; max: number } | null {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { median: at(0.5), p90: at(0.9), max: sorted[sorted.length - 1]! };
}

interface StoredWhere {
  /** `jobs`, `delayed-jobs` or `failed`. */
  kind: string;
  /** The process whose key holds it (null for the failed list). */
  holder: string | null;
  label: number | undefined;
}

const ID_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** The creation time (epoch ms) in a job id: its first 10 characters (the ULID layout). */
function jobIdTime(id: string): number {
  let time = 0;
  for (const char of id.slice(0, 10)) time = time * 32 + ID_ALPHABET.indexOf(char);
  return time;
}

/** The label in a stored job record (a node:v8-serialized object; see docs/internals.md), for diagnostics. */
const codec = new ArgumentCodec();

/** The chaos label of a stored record (any record version), or undefined when it has none. */
function labelOf(record: Buffer): number | undefined {
  try {
    const args = codec.decode(decodeRecord(record, '', 'the chaos check').args) as { label?: unknown };
    return typeof args?.label === 'number' ? args.label : undefined;
  } catch {
    return undefined;
  }
}

function countBy(values: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

const conductor = new Conductor(parseArgs(process.argv.slice(2)));
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`chaos: ${signal}; killing the worker processes and redis-server`);
    void conductor.cleanUp().finally(() => process.exit(130));
  });
}
conductor.run().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error('chaos: the check itself failed:', error);
    process.exit(2);
  },
);
