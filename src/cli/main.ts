/**
 * The `toniq` command line tool (bin/toniq.js runs `runCli`). It reads the command line, connects
 * an Admin to Redis, runs one command and maps what went wrong to a message and an exit code:
 * 0 done; 1 an operational failure (Redis unreachable, a job id not in the failed list); 2 a
 * usage error (unknown command or option, a bad value), with a pointer to the help. Messages are
 * one or two lines without a stack trace (TONIQ_DEBUG=1 adds it).
 */
import { readFileSync } from 'node:fs';
import { type Admin, connectAdmin } from '../admin/admin-api.js';
import {
  describeRedisRefusal,
  maskRedisUrl,
  RedisTlsError,
  RedisUnreachableError,
  ToniqError,
} from '../errors.js';
import type { Logger } from '../logger.js';
import { consoleLogger } from '../logger.js';
import { DEFAULT_KEY_PREFIX } from '../storage/keys.js';
import { DEFAULT_REDIS_URL } from '../storage/redis/redis-url.js';
import type { RedisTlsOptions } from '../tls-options.js';
import { TONIQ_VERSION } from '../version.js';
import { type CommandSpec, commandHelp, type GlobalValues, parseCommandLine, toolHelp } from './args.js';
import { CliError, UsageError } from './cli-errors.js';
import {
  actionCommand,
  type CliOutput,
  type CommandInput,
  failedCommand,
  type PreparedCommand,
  processesCommand,
  statsCommand,
} from './commands.js';
import { redisFlagsOf } from './redis-flags.js';

export interface CliContext {
  /** Default: process.env. */
  env?: Record<string, string | undefined>;
  /** Default: stdout and stderr. */
  io?: CliOutput;
  /** Default: Date.now. */
  now?: () => number;
  /** Default: connectAdmin. */
  connect?: typeof connectAdmin;
}

const stdio: CliOutput = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
};

/** Runs one command line (without `node` and the script) and resolves with the exit code. */
export async function main(argv: readonly string[], context: CliContext = {}): Promise<number> {
  const io = context.io ?? stdio;
  const env = context.env ?? process.env;
  const debug = Boolean(env.TONIQ_DEBUG);
  let redisUrl = DEFAULT_REDIS_URL; // what messages name: a URL, or a Cluster or Sentinel in words
  try {
    const parsed = parseCommandLine(argv);
    if (parsed.kind === 'help') {
      io.out(parsed.command ? commandHelp(parsed.command) : toolHelp(TONIQ_VERSION));
      return 0;
    }
    if (parsed.kind === 'version') {
      io.out(TONIQ_VERSION);
      return 0;
    }
    const { command, global, values, positionals } = parsed;
    const flags = redisFlagsOf(global, env);
    redisUrl = flags.where.redisUrl ?? flags.description.replace(/^Redis at /, '');
    const tls = tlsOf(global, flags.url);
    const keyPrefix = global.prefix ?? DEFAULT_KEY_PREFIX;
    const redisDescription = `${flags.description}, key prefix "${keyPrefix}"`;
    const input: CommandInput = { values, positionals, now: context.now ?? Date.now };

    // Everything that can be checked without Redis is checked before connecting.
    let run: PreparedCommand;
    let logger: Logger;
    if (command.name === 'ui') {
      // Loaded only here, so that the one-shot commands do not load the HTTP server and the page.
      const { serveUi, uiSettings } = await import('./ui-command.js');
      const settings = uiSettings(values, env);
      run = (admin) => serveUi(admin, settings, { io, redisDescription });
      // The UI's actions are logged where the person who started it can see them.
      logger = consoleLogger();
    } else {
      run = prepare(command, input, io);
      logger = stderrLogger(io);
    }

    const admin: Admin = await (context.connect ?? connectAdmin)({
      ...flags.where,
      keyPrefix,
      logger,
      ...(tls ? { tls } : {}),
    });
    try {
      return await run(admin);
    } finally {
      await admin.close();
    }
  } catch (error) {
    return report(error, { io, redisUrl, debug });
  }
}

function prepare(command: CommandSpec, input: CommandInput, io: CliOutput): PreparedCommand {
  switch (command.name) {
    case 'stats':
      return statsCommand(input, io);
    case 'processes':
      return processesCommand(input, io);
    case 'failed':
      return failedCommand(input, io);
    case 'retry':
    case 'delete':
      return actionCommand(command.name, input, io);
    case 'ui':
      throw new Error('toniq ui is not a one-shot command');
  }
}

/** Warnings and errors (a Redis setting, a lost connection) to stderr; the admin's action log lines are dropped. */
function stderrLogger(io: CliOutput): Logger {
  const drop = () => {};
  return {
    debug: drop,
    info: drop,
    warn: (_obj, msg) => io.err(`toniq: warning: ${msg}`),
    error: (_obj, msg) => io.err(`toniq: ${msg}`),
  };
}

function report(
  error: unknown,
  { io, redisUrl, debug }: { io: CliOutput; redisUrl: string; debug: boolean },
) {
  const stack = debug && error instanceof Error && error.stack ? `\n${error.stack}` : '';
  if (error instanceof UsageError) {
    const help = error.command ? `toniq ${error.command} --help` : 'toniq --help';
    io.err(`toniq: ${error.message}\nRun "${help}" for usage.`);
    return 2;
  }
  if (error instanceof CliError) {
    io.err(`toniq: ${error.message}${stack}`);
    return 1;
  }
  if (error instanceof RedisUnreachableError) {
    io.err(`toniq: ${cannotReach(redisUrl, error.cause)}${stack}`);
    return 1;
  }
  if (error instanceof RedisTlsError) {
    // "toniq: could not connect …", not "toniq: toniq could not connect …".
    io.err(`toniq: ${error.message.replace(/^toniq /, '')}${stack}`);
    return 1;
  }
  if (error instanceof ToniqError && error.code === 'TONIQ_INVALID_OPTIONS') {
    io.err(`toniq: ${error.message}${stack}`);
    return 2;
  }
  // An error reply (a key of another type, out of memory, no permission): what Redis said, and what to do.
  const refusal = describeRedisRefusal(error);
  if (refusal) {
    io.err(`toniq: Redis at ${maskRedisUrl(redisUrl)} refused: ${refusal}${stack}`);
    return 1;
  }
  const message = error instanceof Error ? error.message : String(error);
  io.err(`toniq: ${message}${stack}`);
  return 1;
}

/**
 * The tls option from --tls-ca, --tls-cert and --tls-key, read from their files; undefined when
 * none is given (a rediss:// URL then trusts node's default CAs). There is no flag to skip the
 * certificate check: a self-signed server's certificate can be passed as --tls-ca instead.
 */
function tlsOf(global: GlobalValues, redisUrl: string | undefined): RedisTlsOptions | undefined {
  const given = (['tls-ca', 'tls-cert', 'tls-key'] as const).filter(
    (flag) => global[FLAG_FIELDS[flag]] !== undefined,
  );
  if (!given.length) return undefined;
  if (redisUrl !== undefined && !redisUrl.startsWith('rediss://')) {
    throw new UsageError(
      `--${given[0]} is for a TLS connection, but the Redis URL ${maskRedisUrl(redisUrl)} starts with redis://. ` +
        'Use a rediss:// URL (--redis-url rediss://host:6380/0).',
    );
  }
  if ((global.tlsCert === undefined) !== (global.tlsKey === undefined)) {
    throw new UsageError('--tls-cert and --tls-key go together: the client certificate and its key.');
  }
  const read = (flag: keyof typeof FLAG_FIELDS): Buffer | undefined => {
    const file = global[FLAG_FIELDS[flag]];
    if (file === undefined) return undefined;
    try {
      return readFileSync(file);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? 'there is no such file' : (error as Error).message;
      throw new UsageError(`Cannot read the file of --${flag}, "${file}": ${why}.`);
    }
  };
  const tls: RedisTlsOptions = {};
  const ca = read('tls-ca');
  const cert = read('tls-cert');
  const key = read('tls-key');
  if (ca) tls.ca = ca;
  if (cert) tls.cert = cert;
  if (key) tls.key = key;
  return tls;
}

const FLAG_FIELDS = { 'tls-ca': 'tlsCa', 'tls-cert': 'tlsCert', 'tls-key': 'tlsKey' } as const;

/** "Cannot reach Redis at redis://127.0.0.1:6390 (connect ECONNREFUSED). Is it running? …" */
export function cannotReach(redisUrl: string, cause: unknown): string {
  // ioredis ends its messages with the address, which the URL already shows.
  const reason =
    cause instanceof Error ? cause.message.replace(/\s+\[?[\w.:-]*\]?:\d+$/, '').trim() : undefined;
  return (
    `Cannot reach Redis at ${maskRedisUrl(redisUrl)}${reason ? ` (${reason})` : ''}. ` +
    'Is it running? Set REDIS_URL or --redis-url.'
  );
}

/**
 * The bin's entry: runs `main` on process.argv and sets the exit code. Output piped into a
 * command that stops reading (`toniq failed | head`) ends quietly.
 */
export async function runCli(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw error;
    });
  }
  const code = await main(argv);
  process.exitCode = code;
  // Everything is closed by now, so node exits by itself; if a handle were left open by
  // mistake, this timer (which alone does not keep node running) still ends the process.
  setTimeout(() => process.exit(code), 2000).unref();
}
