/**
 * A real Redis Cluster for tests: redis-server nodes started with `--cluster-enabled yes` on free
 * ports, joined by `redis-cli --cluster create`, with a short node timeout so that a master killed
 * with SIGKILL is replaced by its replica in a few seconds. Nothing is emulated: the failover is
 * Redis's own. Each node keeps its nodes-P.conf and append-only file in its own temporary folder.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConnectionOptions } from 'node:tls';
import { promisify } from 'node:util';
import { Cluster } from 'ioredis';
import { eventually } from './eventually.js';
import { ask, dataNodeArgs, freePort, sigkill, testCertificates, waitForRedis } from './redis-server.js';

export interface StartRedisClusterOptions {
  /** How many masters share the 16384 slots. (Default: 3, the least Redis accepts.) */
  masters?: number;
  /** Replicas of each master. (Default: 1) */
  replicasPerMaster?: number;
  /** `cluster-node-timeout` in ms: how long a silent master lasts before its replica takes over. (Default: 1000) */
  nodeTimeout?: number;
  /**
   * Every node speaks only TLS (clients, the cluster bus and replication), with the test
   * certificates of redis-server.ts; clients pass `tls` below. (Default: false)
   */
  tls?: boolean;
}

export interface ClusterNode {
  readonly port: number;
  /** The role the node had when the harness last looked (after start, a failover or a restart). */
  readonly role: 'master' | 'replica';
  /** The running redis-server, or undefined once killed or stopped. */
  readonly process: ChildProcess | undefined;
}

/** One range of slots and the node serving it, from CLUSTER SLOTS. */
export interface SlotRange {
  readonly start: number;
  readonly end: number;
  readonly master: number;
  readonly replicas: number[];
}

export interface TestRedisCluster {
  readonly nodes: readonly ClusterNode[];
  /** ['redis://127.0.0.1:PORT', …], one for every node (rediss:// with `tls`). */
  readonly seedUrls: string[];
  /** With `tls`: what a client passes as `tls` (the test CA). */
  readonly tls: { ca: string } | undefined;
  /** A Cluster client for looking in (disconnected by stop()). */
  client(): Cluster;
  /** The ports of the masters, as a live node sees them now. */
  masters(): Promise<number[]>;
  /** The slot ranges and who serves them, as a live node sees them now. */
  slots(): Promise<SlotRange[]>;
  /** The port of the master serving `slot` now. */
  masterOfSlot(slot: number): Promise<number>;
  /** The port of the master serving `key`'s slot now. */
  masterForKey(key: string): Promise<number>;
  /** SIGKILL the master on `port`, as a crash. */
  killMaster(port: number): Promise<void>;
  /**
   * Waits until every slot of the master killed on `port` is served by a promoted replica that
   * answers ROLE master, and every live node says cluster_state:ok. Returns the new master's port.
   */
  waitForFailover(port: number, timeout?: number): Promise<number>;
  /** Starts a killed node again on its port and folder; it rejoins (as a replica, after a failover). */
  restartNode(port: number): Promise<void>;
  stop(): Promise<void>;
}

const run = promisify(execFile);

/**
 * A free port whose cluster bus port (port + 10000) is free too: Redis takes both, and an
 * ephemeral port above 55535 has no bus port at all.
 */
async function freeClusterPort(taken: Set<number>): Promise<number> {
  for (;;) {
    const port = await freePort();
    if (port > 55535 || taken.has(port) || taken.has(port + 10000)) continue;
    if (!(await canListen(port + 10000))) continue;
    taken.add(port);
    taken.add(port + 10000);
    return port;
  }
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

function parseInfo(text: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of text.split('\r\n')) {
    const at = line.indexOf(':');
    if (at > 0) fields[line.slice(0, at)] = line.slice(at + 1);
  }
  return fields;
}

async function clusterSlots(port: number, tls?: ConnectionOptions): Promise<SlotRange[]> {
  const reply = (await ask(port, (redis) => redis.call('CLUSTER', 'SLOTS'), tls)) as [
    number,
    number,
    ...[string, number, ...unknown[]][],
  ][];
  return reply
    .map(([start, end, master, ...replicas]) => ({
      start,
      end,
      master: master![1],
      replicas: replicas.map((replica) => replica[1]).sort((a, b) => a - b),
    }))
    .sort((a, b) => a.start - b.start);
}

/** Throws unless `port` says cluster_state:ok, knows `known` nodes and has every slot served. */
async function assertClusterOk(port: number, known: number, tls?: ConnectionOptions): Promise<void> {
  const info = parseInfo((await ask(port, (redis) => redis.call('CLUSTER', 'INFO'), tls)) as string);
  if (info.cluster_state !== 'ok') throw new Error(`node ${port} says cluster_state:${info.cluster_state}`);
  if (info.cluster_slots_ok !== '16384')
    throw new Error(`node ${port} has ${info.cluster_slots_ok} slots ok`);
  if (info.cluster_known_nodes !== String(known)) {
    throw new Error(`node ${port} knows ${info.cluster_known_nodes} of ${known} nodes`);
  }
}

/** Throws unless `port` answers ROLE with `role` (a replica: connected to its master). */
async function assertRole(port: number, role: 'master' | 'replica', tls?: ConnectionOptions): Promise<void> {
  const reply = (await ask(port, (redis) => redis.call('ROLE'), tls)) as unknown[];
  if (role === 'master' && reply[0] !== 'master') throw new Error(`node ${port} is a ${reply[0]}`);
  if (role === 'replica' && (reply[0] !== 'slave' || reply[3] !== 'connected')) {
    throw new Error(`node ${port} is not a connected replica: ${JSON.stringify(reply)}`);
  }
}

export async function startRedisCluster({
  masters = 3,
  replicasPerMaster = 1,
  nodeTimeout = 1000,
  tls = false,
}: StartRedisClusterOptions = {}): Promise<TestRedisCluster> {
  const certificates = tls ? testCertificates() : undefined;
  const clientTls = certificates && { ca: certificates.ca };
  const tlsArgs = certificates
    ? [
        ...['--tls-cert-file', certificates.serverCertFile, '--tls-key-file', certificates.serverKeyFile],
        ...['--tls-ca-cert-file', certificates.caFile, '--tls-auth-clients', 'no'],
        ...['--tls-cluster', 'yes', '--tls-replication', 'yes'],
        // The cluster bus always asks the connecting node for a certificate, and the server's is
        // for serverAuth only: the nodes present the test client certificate when they connect.
        ...[
          '--tls-client-cert-file',
          certificates.clientCertFile,
          '--tls-client-key-file',
          certificates.clientKeyFile,
        ],
      ]
    : [];
  const root = mkdtempSync(join(tmpdir(), 'toniq-cluster-'));
  const taken = new Set<number>();
  const ports: number[] = [];
  for (let i = 0; i < masters * (1 + replicasPerMaster); i++) ports.push(await freeClusterPort(taken));
  const processes = new Map<number, ChildProcess | undefined>();
  const roles = new Map<number, 'master' | 'replica'>();
  const killedSlots = new Map<number, SlotRange[]>();
  const clients: Cluster[] = [];
  // A crashed test process must not leave servers behind; kill() is synchronous, so it works on exit.
  const killOnExit = () => {
    for (const child of processes.values()) child?.kill('SIGKILL');
  };
  process.once('exit', killOnExit);

  const launch = async (port: number) => {
    const dir = join(root, String(port));
    mkdirSync(dir, { recursive: true });
    const child = spawn(
      'redis-server',
      [
        ...dataNodeArgs(port, dir),
        ...['--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`],
        ...['--cluster-node-timeout', String(nodeTimeout)],
        // With TLS the port given is the TLS one, and the plain one is off (a later --port wins).
        ...(certificates ? ['--port', '0', '--tls-port', String(port), ...tlsArgs] : []),
      ],
      { stdio: 'ignore' },
    );
    processes.set(port, child);
    await waitForRedis(port, child, clientTls);
  };
  const live = () => ports.filter((port) => processes.get(port));
  const anyLive = () => {
    const port = live()[0];
    if (port === undefined) throw new Error('no cluster node is running');
    return port;
  };
  /** Every live node: cluster ok, knows all nodes; every node's role as CLUSTER SLOTS says, and answering so. */
  const waitUntilSettled = async (what: string, timeout = 15_000) => {
    await eventually(
      async () => {
        for (const port of live()) await assertClusterOk(port, ports.length, clientTls);
        const views = await Promise.all(live().map((port) => clusterSlots(port, clientTls)));
        const first = JSON.stringify(views[0]);
        if (views.some((view) => JSON.stringify(view) !== first))
          throw new Error('the nodes disagree on slots');
        const masterPorts = new Set(views[0]!.map((range) => range.master));
        for (const port of live()) {
          const role = masterPorts.has(port) ? 'master' : 'replica';
          await assertRole(port, role, clientTls);
          roles.set(port, role);
        }
      },
      { timeout, interval: 50, what },
    );
  };

  const stop = async () => {
    for (const client of clients.splice(0)) client.disconnect();
    await Promise.all(
      ports.map(async (port) => {
        await sigkill(processes.get(port));
        processes.set(port, undefined);
      }),
    );
    process.off('exit', killOnExit);
    rmSync(root, { recursive: true, force: true });
  };

  try {
    await Promise.all(ports.map(launch));
    const create = [
      '--cluster',
      'create',
      ...ports.map((port) => `127.0.0.1:${port}`),
      '--cluster-replicas',
      String(replicasPerMaster),
      '--cluster-yes',
      ...(certificates ? ['--tls', '--cacert', certificates.caFile] : []),
    ];
    try {
      await run('redis-cli', create, { timeout: 30_000 });
    } catch (error) {
      const output = (error as { stdout?: string }).stdout?.trim();
      throw new Error(`redis-cli --cluster create failed${output ? `:\n${output}` : ''}`, { cause: error });
    }
    await waitUntilSettled('the new cluster to be ok on every node');
  } catch (error) {
    await stop();
    throw error;
  }

  const slots = () => clusterSlots(anyLive(), clientTls);
  const masterOfSlot = async (slot: number) => {
    const range = (await slots()).find((range) => range.start <= slot && slot <= range.end);
    if (!range) throw new Error(`no master serves slot ${slot}`);
    return range.master;
  };

  return {
    nodes: ports.map((port) => ({
      port,
      get role() {
        return roles.get(port)!;
      },
      get process() {
        return processes.get(port);
      },
    })),
    seedUrls: ports.map((port) => `${certificates ? 'rediss' : 'redis'}://127.0.0.1:${port}`),
    tls: clientTls,
    client() {
      const client = new Cluster(
        ports.map((port) => ({ host: '127.0.0.1', port })),
        { redisOptions: { maxRetriesPerRequest: 3, ...(clientTls ? { tls: clientTls } : {}) } },
      );
      client.on('error', () => {});
      clients.push(client);
      return client;
    },
    async masters() {
      return [...new Set((await slots()).map((range) => range.master))].sort((a, b) => a - b);
    },
    slots,
    masterOfSlot,
    async masterForKey(key) {
      const slot = (await ask(
        anyLive(),
        (redis) => redis.call('CLUSTER', 'KEYSLOT', key),
        clientTls,
      )) as number;
      return masterOfSlot(slot);
    },
    async killMaster(port) {
      const owned = (await slots()).filter((range) => range.master === port);
      if (owned.length === 0) throw new Error(`node ${port} is not a master serving slots`);
      killedSlots.set(port, owned);
      await sigkill(processes.get(port));
      processes.set(port, undefined);
    },
    async waitForFailover(port, timeout = 15_000) {
      const owned = killedSlots.get(port);
      if (!owned) throw new Error(`no master was killed on port ${port}`);
      let promoted: number | undefined;
      await eventually(
        async () => {
          const now = await masterOfSlot(owned[0]!.start);
          if (now === port) throw new Error(`slot ${owned[0]!.start} is still on the killed master ${port}`);
          for (const range of owned) {
            if ((await masterOfSlot(range.start)) !== now) throw new Error('the killed slots are split');
          }
          promoted = now;
        },
        { timeout, interval: 50, what: `a replica to take over the slots of the master on port ${port}` },
      );
      // The dead node stays known (flagged fail), so "knows all nodes" still counts it.
      await waitUntilSettled(`the cluster to be ok again after losing ${port}`, timeout);
      return promoted!;
    },
    async restartNode(port) {
      if (processes.get(port)) throw new Error(`node ${port} is running`);
      await launch(port);
      await waitUntilSettled(`node ${port} to rejoin the cluster`);
    },
    stop,
  };
}
