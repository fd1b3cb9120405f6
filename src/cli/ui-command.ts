/**
 * `toniq ui`: serves the admin web UI (createAdminHandler) with node:http until SIGINT or SIGTERM.
 * 1. Decides the login before anything else: HTTP Basic auth from TONIQ_UI_USERNAME and
 *    TONIQ_UI_PASSWORD; without them, no login, but only on a loopback address, so that a
 *    forgotten `--host 0.0.0.0` never serves the jobs (and the retry button) to the network.
 * 2. Listens, prints the address, and on a signal closes the server, its open connections
 *    (keep-alive, live updates) and the admin's Redis connection.
 */
import { createServer } from 'node:http';
import { isIP } from 'node:net';
import type { Admin } from '../admin/admin-api.js';
import { createAdminHandler } from '../admin/http/admin-handler.js';
import { integerOption } from './args.js';
import { CliError } from './cli-errors.js';
import type { CliOutput } from './commands.js';

export const UI_USERNAME_ENV = 'TONIQ_UI_USERNAME';
export const UI_PASSWORD_ENV = 'TONIQ_UI_PASSWORD';

export interface UiSettings {
  host: string;
  port: number;
  readOnly: boolean;
  login: { username: string; password: string } | undefined;
}

/** True for 127.0.0.0/8, ::1 and localhost: addresses only this machine can reach. */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (bare === 'localhost') return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  if (isIP(bare) === 6) return bare === '::1' || /^::ffff:127\./.test(bare);
  return false;
}

/** Reads the options and environment; throws CliError or UsageError before any connection is made. */
export function uiSettings(
  values: Record<string, string | boolean | undefined>,
  env: Record<string, string | undefined>,
): UiSettings {
  const host = (values.host as string | undefined) ?? '127.0.0.1';
  const port = integerOption(values.port, 'port', { min: 0, max: 65535, fallback: 3000, command: 'ui' });
  const username = env[UI_USERNAME_ENV] || undefined;
  const password = env[UI_PASSWORD_ENV] || undefined;
  if ((username === undefined) !== (password === undefined)) {
    const set = username === undefined ? UI_PASSWORD_ENV : UI_USERNAME_ENV;
    throw new CliError(
      `Only ${set} is set. Set both ${UI_USERNAME_ENV} and ${UI_PASSWORD_ENV} to require a login, or neither.`,
    );
  }
  const login = username !== undefined && password !== undefined ? { username, password } : undefined;
  if (!login && !isLoopback(host)) {
    throw new CliError(
      `Refusing to serve the admin UI on ${host} without a login: anyone who can reach it could retry and ` +
        `delete jobs. Set ${UI_USERNAME_ENV} and ${UI_PASSWORD_ENV} (the browser asks for them), or listen ` +
        'on 127.0.0.1 (the default) and reach it through an SSH tunnel.',
    );
  }
  return { host, port, readOnly: values['read-only'] === true, login };
}

/** Serves until SIGINT or SIGTERM; resolves with the exit code once everything is closed. */
export async function serveUi(
  admin: Admin,
  settings: UiSettings,
  context: { io: CliOutput; redisDescription: string },
): Promise<number> {
  const { io } = context;
  const handler = createAdminHandler(admin, {
    ...(settings.login ? { auth: settings.login } : { insecureNoAuth: true as const }),
    readOnly: settings.readOnly,
  });
  const server = createServer(handler);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(settings.port, settings.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') {
      throw new CliError(
        `Port ${settings.port} on ${settings.host} is in use. Choose another with --port (0 picks a free one).`,
      );
    }
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EACCES') {
      throw new CliError(
        `Cannot listen on ${settings.host}:${settings.port} (${(error as Error).message}). Check --host and --port.`,
      );
    }
    throw error;
  }

  // Listening for the signals before printing the address: whoever reads it may stop us at once.
  // The first signal stops cleanly; a second one, while closing, stops at once.
  let stopping = false;
  let stop: (signal: NodeJS.Signals) => void = () => {};
  const stopSignal = new Promise<NodeJS.Signals>((resolve) => {
    stop = (received) => {
      if (stopping) process.exit(1);
      stopping = true;
      resolve(received);
    };
  });
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : settings.port;
  const host =
    settings.host.includes(':') && !settings.host.startsWith('[') ? `[${settings.host}]` : settings.host;
  io.out(`toniq admin UI at http://${host}:${port}/`);
  io.out(`Reading ${context.redisDescription}.${settings.readOnly ? ' Read-only: no actions.' : ''}`);
  if (settings.login) {
    io.out(`Login required: the user in ${UI_USERNAME_ENV} with the password in ${UI_PASSWORD_ENV}.`);
  } else {
    io.out(
      `No login: anyone on this machine can open it. Set ${UI_USERNAME_ENV} and ${UI_PASSWORD_ENV} to require one.`,
    );
  }
  io.out('Press Ctrl+C to stop.');

  const signal = await stopSignal;
  io.err(`${signal}: stopping the admin UI.`);
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections();
  await closed;
  process.off('SIGINT', stop);
  process.off('SIGTERM', stop);
  return 0;
}
