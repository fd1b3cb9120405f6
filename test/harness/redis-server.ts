/**
 * Throwaway redis-server processes on free ports, so a test can kill, restart or pause Redis
 * without touching the server on 6379. Each server keeps its data in a temporary folder.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { eventually } from './eventually.js';
// Every test file that starts a Redis server gets the traps (see traps.ts).
import './traps.js';

export interface TestRedis {
  readonly port: number;
  readonly url: string;
  /** A plain client for looking into the server. */
  client(): Redis;
  /** SIGKILL, as a crash. */
  kill(): Promise<void>;
  /** Starts it again on the same port and folder (with appendonly, the data comes back). */
  restart(): Promise<void>;
  /** SIGSTOP / SIGCONT: the server hangs without closing connections. */
  pause(): void;
  resume(): void;
  stop(): Promise<void>;
}

export interface StartRedisOptions {
  /** Persist every write to an append-only file, so a restart keeps the data. */
  appendonly?: boolean;
  /** Extra redis-server arguments, like ['--maxmemory-policy', 'allkeys-lru']. */
  args?: string[];
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export async function startRedis(options: StartRedisOptions = {}): Promise<TestRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'toniq-redis-'));
  const port = await freePort();
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--dir',
    dir,
    '--appendonly',
    options.appendonly ? 'yes' : 'no',
    '--appendfsync',
    'always',
    '--maxmemory-policy',
    'noeviction',
    ...(options.args ?? []),
  ];
  let child: ChildProcess | undefined;
  const clients: Redis[] = [];

  const launch = async () => {
    child = spawn('redis-server', args, { stdio: 'ignore' });
    const started = child;
    await eventually(
      async () => {
        if (started.exitCode !== null) throw new Error(`redis-server exited with ${started.exitCode}`);
        const probe = new Redis(port, '127.0.0.1', {
          lazyConnect: true,
          maxRetriesPerRequest: 0,
          retryStrategy: () => null,
        });
        probe.on('error', () => {});
        try {
          await probe.connect();
          await probe.ping();
        } finally {
          probe.disconnect();
        }
      },
      { timeout: 10_000, what: `redis-server to answer on port ${port}` },
    );
  };
  const killChild = async () => {
    const running = child;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGCONT');
    running.kill('SIGKILL');
    await exited;
  };

  await launch();
  return {
    port,
    url: `redis://127.0.0.1:${port}/0`,
    client() {
      const client = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 3 });
      client.on('error', () => {});
      clients.push(client);
      return client;
    },
    kill: killChild,
    async restart() {
      await killChild();
      await launch();
    },
    pause() {
      child?.kill('SIGSTOP');
    },
    resume() {
      child?.kill('SIGCONT');
    },
    async stop() {
      for (const client of clients) client.disconnect();
      await killChild();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
