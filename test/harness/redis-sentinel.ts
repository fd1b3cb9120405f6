/**
 * A real Redis Sentinel setup for tests: a master, one replica (`--replicaof`) and three
 * `redis-server --sentinel` processes with a quorum of 2, each on a free port, with short
 * down-after and failover timeouts so that a master killed with SIGKILL is replaced by the replica
 * in a few seconds. Nothing is emulated: the failover is Sentinel's own. Every process keeps its
 * files (append-only file, sentinel.conf, which Sentinel rewrites) in one temporary folder.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { eventually } from './eventually.js';
import { ask, dataNodeArgs, freePort, sigkill, waitForRedis } from './redis-server.js';

export interface StartRedisSentinelOptions {
  /** The name the sentinels monitor the master under. (Default: 'mymaster') */
  name?: string;
  /** `sentinel down-after-milliseconds`: how long a silent master lasts. (Default: 1000) */
  downAfter?: number;
  /** `sentinel failover-timeout` in ms. (Default: 3000) */
  failoverTimeout?: number;
}

export interface TestRedisSentinel {
  /** The sentinels, for ioredis's `sentinels` option. */
  readonly sentinels: { host: string; port: number }[];
  readonly name: string;
  /** The ports of the data nodes (the first master and its replica). */
  readonly dataPorts: readonly number[];
  /** The master's port, as the first live sentinel reports it (SENTINEL get-master-addr-by-name). */
  master(): Promise<number>;
  /** An ioredis client that finds the master through the sentinels (disconnected by stop()). */
  client(): Redis;
  /** SIGKILL the current master, as a crash. Returns its port. */
  killMaster(): Promise<number>;
  /**
   * Waits until every sentinel reports a master other than the killed one, and that master
   * answers ROLE master. Returns the new master's port.
   */
  waitForFailover(timeout?: number): Promise<number>;
  /**
   * Starts the killed data node on `port` again (same folder); the sentinels make it a replica of
   * the new master. Resolves once the master reports it online.
   */
  restartDataNode(port: number, timeout?: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startRedisSentinel({
  name = 'mymaster',
  downAfter = 1000,
  failoverTimeout = 3000,
}: StartRedisSentinelOptions = {}): Promise<TestRedisSentinel> {
  const root = mkdtempSync(join(tmpdir(), 'toniq-sentinel-'));
  const taken = new Set<number>();
  const port = async () => {
    for (;;) {
      const candidate = await freePort();
      if (taken.has(candidate)) continue;
      taken.add(candidate);
      return candidate;
    }
  };
  const masterPort = await port();
  const replicaPort = await port();
  const sentinelPorts = [await port(), await port(), await port()];
  const processes = new Map<number, ChildProcess | undefined>();
  const clients: Redis[] = [];
  let killedMaster: number | undefined;
  // A crashed test process must not leave servers behind; kill() is synchronous, so it works on exit.
  const killOnExit = () => {
    for (const child of processes.values()) child?.kill('SIGKILL');
  };
  process.once('exit', killOnExit);

  const launch = async (port: number, args: string[]) => {
    const child = spawn('redis-server', args, { stdio: 'ignore' });
    processes.set(port, child);
    await waitForRedis(port, child);
  };
  const dataNode = (port: number, extra: string[] = []) => {
    const dir = join(root, String(port));
    mkdirSync(dir, { recursive: true });
    return launch(port, [...dataNodeArgs(port, dir), ...extra]);
  };
  const sentinel = (port: number) => {
    const dir = join(root, `sentinel-${port}`);
    mkdirSync(dir, { recursive: true });
    const conf = join(dir, 'sentinel.conf');
    writeFileSync(
      conf,
      [
        `port ${port}`,
        'bind 127.0.0.1',
        `dir ${dir}`,
        'sentinel resolve-hostnames no',
        `sentinel monitor ${name} 127.0.0.1 ${masterPort} 2`,
        `sentinel down-after-milliseconds ${name} ${downAfter}`,
        `sentinel failover-timeout ${name} ${failoverTimeout}`,
        `sentinel parallel-syncs ${name} 1`,
        '',
      ].join('\n'),
    );
    return launch(port, [conf, '--sentinel']);
  };
  const liveSentinels = () => sentinelPorts.filter((port) => processes.get(port));
  const reportedMaster = async (sentinelPort: number) => {
    const reply = (await ask(sentinelPort, (redis) =>
      redis.call('SENTINEL', 'get-master-addr-by-name', name),
    )) as [string, string] | null;
    if (!reply) throw new Error(`sentinel ${sentinelPort} knows no master "${name}"`);
    return Number(reply[1]);
  };
  const assertMaster = async (port: number) => {
    const role = (await ask(port, (redis) => redis.call('ROLE'))) as unknown[];
    if (role[0] !== 'master') throw new Error(`node ${port} is a ${role[0]}`);
  };

  const stop = async () => {
    for (const client of clients.splice(0)) client.disconnect();
    await Promise.all(
      [...processes.keys()].map(async (port) => {
        await sigkill(processes.get(port));
        processes.set(port, undefined);
      }),
    );
    process.off('exit', killOnExit);
    rmSync(root, { recursive: true, force: true });
  };

  try {
    await dataNode(masterPort);
    await dataNode(replicaPort, ['--replicaof', '127.0.0.1', String(masterPort)]);
    // The sentinels learn of the replica from the master's INFO, asked at once when they connect
    // and then only every 10 s: start them after the replica is online, so they know it at once.
    await eventually(
      async () => {
        const info = (await ask(masterPort, (redis) => redis.info('replication'))) as string;
        if (!info.includes(`port=${replicaPort},state=online`)) throw new Error('the replica is not online');
      },
      { timeout: 10_000, interval: 50, what: `the replica on ${replicaPort} to sync with the master` },
    );
    await Promise.all(sentinelPorts.map(sentinel));
    // A failover needs the quorum to know the replica and to have found each other (hello messages).
    await eventually(
      async () => {
        for (const port of sentinelPorts) {
          const replicas = (await ask(port, (redis) =>
            redis.call('SENTINEL', 'replicas', name),
          )) as string[][];
          const known = replicas.some((fields) => fields[fields.indexOf('port') + 1] === String(replicaPort));
          if (!known) throw new Error(`sentinel ${port} does not know the replica yet`);
          const others = (await ask(port, (redis) => redis.call('SENTINEL', 'sentinels', name))) as unknown[];
          if (others.length !== sentinelPorts.length - 1) {
            throw new Error(`sentinel ${port} knows ${others.length} other sentinels`);
          }
        }
      },
      { timeout: 15_000, interval: 50, what: 'the sentinels to know the replica and each other' },
    );
  } catch (error) {
    await stop();
    throw error;
  }

  const master = async () => {
    const port = liveSentinels()[0];
    if (port === undefined) throw new Error('no sentinel is running');
    return reportedMaster(port);
  };

  return {
    sentinels: sentinelPorts.map((port) => ({ host: '127.0.0.1', port })),
    name,
    dataPorts: [masterPort, replicaPort],
    master,
    client() {
      const client = new Redis({
        sentinels: sentinelPorts.map((port) => ({ host: '127.0.0.1', port })),
        name,
        maxRetriesPerRequest: 3,
      });
      client.on('error', () => {});
      clients.push(client);
      return client;
    },
    async killMaster() {
      const port = await master();
      killedMaster = port;
      await sigkill(processes.get(port));
      processes.set(port, undefined);
      return port;
    },
    async waitForFailover(timeout = 15_000) {
      const killed = killedMaster;
      if (killed === undefined) throw new Error('no master was killed');
      return eventually(
        async () => {
          const reported = await Promise.all(liveSentinels().map(reportedMaster));
          const promoted = reported[0]!;
          if (promoted === killed) throw new Error(`a sentinel still reports the killed master ${killed}`);
          if (reported.some((port) => port !== promoted))
            throw new Error(`the sentinels disagree: ${reported}`);
          await assertMaster(promoted);
          return promoted;
        },
        { timeout, interval: 50, what: `the sentinels to promote a replica of the master on ${killed}` },
      );
    },
    async restartDataNode(port, timeout = 15_000) {
      if (processes.get(port)) throw new Error(`data node ${port} is running`);
      // Started as a replica of the new master, as an operator would: left to come up as a master,
      // it waits for the sentinels to convert it, which took over 15 s on a loaded machine.
      await dataNode(port, ['--replicaof', '127.0.0.1', String(await master())]);
      await eventually(
        async () => {
          const info = (await ask(await master(), (redis) => redis.info('replication'))) as string;
          if (!info.includes(`port=${port},state=online`))
            throw new Error(`${port} is not an online replica yet`);
        },
        { timeout, interval: 50, what: `the restarted node ${port} to replicate the new master` },
      );
    },
    stop,
  };
}
