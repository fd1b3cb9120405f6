/**
 * Throwaway redis-server processes on free ports, so a test can kill, restart or pause Redis
 * without touching the server on 6379. Each server keeps its data in a temporary folder. With
 * `tls: true` the server speaks only TLS, with certificates made by openssl once per test process.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConnectionOptions } from 'node:tls';
import { Redis } from 'ioredis';
import { eventually } from './eventually.js';

export interface TestRedis {
  readonly port: number;
  /** redis://127.0.0.1:<port>/0, or rediss:// with `tls: true`. */
  readonly url: string;
  /** The certificates of a TLS server (`tls: true`). */
  readonly certificates: TestCertificates | undefined;
  /** A client for looking into the server (on TLS, trusting the test CA). */
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
  /**
   * Speak only TLS (no plain port), with a server certificate for 127.0.0.1 and localhost signed
   * by the test CA (testCertificates()). Client certificates are not asked for unless
   * `tlsAuthClients` is set.
   */
  tls?: boolean;
  /** With `tls`: refuse clients without a certificate signed by the test CA. */
  tlsAuthClients?: boolean;
}

/** PEM texts and their files, made once per test process. */
export interface TestCertificates {
  /** The CA that signed the server's and the client's certificates. */
  readonly ca: string;
  readonly caFile: string;
  /** Another CA, which signed nothing of this server: trusting it alone must be refused. */
  readonly wrongCa: string;
  readonly wrongCaFile: string;
  /** A client certificate and its key, signed by `ca`, for a server with `tlsAuthClients`. */
  readonly clientCert: string;
  readonly clientCertFile: string;
  readonly clientKey: string;
  readonly clientKeyFile: string;
  /** The server's certificate (subjectAltName IP:127.0.0.1, DNS:localhost) and key. */
  readonly serverCertFile: string;
  readonly serverKeyFile: string;
}

let certificates: TestCertificates | undefined;

/**
 * A CA, a server and a client certificate signed by it, and an unrelated second CA, made by
 * openssl in a temporary folder the first time a test asks (removed when the process exits).
 * EC keys, which openssl makes in milliseconds; valid for two days.
 */
export function testCertificates(): TestCertificates {
  if (certificates) return certificates;
  const dir = mkdtempSync(join(tmpdir(), 'toniq-tls-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => {
    try {
      execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (error) {
      const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim();
      throw new Error(`openssl ${args[0]} failed${stderr ? `: ${stderr}` : ''} (is openssl installed?)`, {
        cause: error,
      });
    }
  };
  const key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const makeCa = (name: string, subject: string) =>
    openssl(
      'req',
      '-x509',
      ...key,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.crt`,
      '-days',
      '2',
      '-subj',
      subject,
    );
  const makeSigned = (name: string, subject: string, extensions: string, serial: number) => {
    openssl('req', '-new', ...key, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject);
    writeFileSync(file(`${name}.ext`), extensions);
    openssl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-set_serial',
      String(serial),
      '-days',
      '2',
      '-extfile',
      `${name}.ext`,
      '-out',
      `${name}.crt`,
    );
  };
  makeCa('ca', '/CN=toniq test CA');
  makeCa('wrong-ca', '/CN=toniq unrelated CA');
  makeSigned(
    'server',
    '/CN=localhost',
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n',
    1,
  );
  makeSigned('client', '/CN=toniq test client', 'extendedKeyUsage=clientAuth\n', 2);
  certificates = {
    ca: readFileSync(file('ca.crt'), 'utf8'),
    caFile: file('ca.crt'),
    wrongCa: readFileSync(file('wrong-ca.crt'), 'utf8'),
    wrongCaFile: file('wrong-ca.crt'),
    clientCert: readFileSync(file('client.crt'), 'utf8'),
    clientCertFile: file('client.crt'),
    clientKey: readFileSync(file('client.key'), 'utf8'),
    clientKeyFile: file('client.key'),
    serverCertFile: file('server.crt'),
    serverKeyFile: file('server.key'),
  };
  return certificates;
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

/** Waits until the redis-server `started` answers PING on `port`; fails early if it exited. */
export async function waitForRedis(
  port: number,
  started: ChildProcess,
  tls?: ConnectionOptions,
  timeout = 10_000,
): Promise<void> {
  await eventually(
    async () => {
      if (started.exitCode !== null) throw new Error(`redis-server exited with ${started.exitCode}`);
      await ask(port, (probe) => probe.ping(), tls);
    },
    { timeout, what: `redis-server to answer on port ${port}` },
  );
}

/** A short-lived connection to 127.0.0.1:`port` for one look at a server; no retries. */
export async function ask<T>(
  port: number,
  look: (redis: Redis) => Promise<T>,
  tls?: ConnectionOptions,
): Promise<T> {
  const redis = new Redis(port, '127.0.0.1', {
    tls,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  redis.on('error', () => {});
  try {
    await redis.connect();
    return await look(redis);
  } finally {
    redis.disconnect();
  }
}

/** SIGKILL, as a crash (SIGCONT first, so a paused process dies too); resolves once it exited. */
export async function sigkill(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGCONT');
  child.kill('SIGKILL');
  await exited;
}

export async function startRedis(options: StartRedisOptions = {}): Promise<TestRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'toniq-redis-'));
  const port = await freePort();
  const tls = options.tls ? testCertificates() : undefined;
  // ioredis takes the CA (and the client's certificate when the server asks for one) through `tls`.
  const clientTls = tls && {
    ca: tls.ca,
    ...(options.tlsAuthClients ? { cert: tls.clientCert, key: tls.clientKey } : {}),
  };
  const listen = tls
    ? [
        '--port',
        '0',
        '--tls-port',
        String(port),
        '--tls-cert-file',
        tls.serverCertFile,
        '--tls-key-file',
        tls.serverKeyFile,
        '--tls-ca-cert-file',
        tls.caFile,
        '--tls-auth-clients',
        options.tlsAuthClients ? 'yes' : 'no',
      ]
    : ['--port', String(port)];
  const args = [
    ...listen,
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
    await waitForRedis(port, child, clientTls);
  };
  const killChild = () => sigkill(child);

  await launch();
  return {
    port,
    url: `${tls ? 'rediss' : 'redis'}://127.0.0.1:${port}/0`,
    certificates: tls,
    client() {
      const client = new Redis(port, '127.0.0.1', { tls: clientTls, maxRetriesPerRequest: 3 });
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

/**
 * The arguments of a data node of a test topology (a cluster node, a Sentinel master or replica):
 * every write on disk at once, nothing evicted, and a replica synced at once rather than after
 * the default 5 s wait for more replicas.
 */
export function dataNodeArgs(port: number, dir: string): string[] {
  return [
    ...['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', ''],
    ...['--appendonly', 'yes', '--appendfsync', 'always', '--maxmemory-policy', 'noeviction'],
    ...['--repl-diskless-sync-delay', '0'],
  ];
}
