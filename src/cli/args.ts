/**
 * The CLI's command line: which commands and options exist, their help text, and parsing
 * (node:util parseArgs, with our own checks so that every mistake gets a short, clear message).
 * One spec per command feeds both the parser and the help, so they cannot disagree.
 */
import { parseArgs } from 'node:util';
import { UsageError } from './cli-errors.js';
import type { CommandName } from './command-names.js';

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  /** The value's placeholder in the help: `--worker <name>`. */
  placeholder?: string;
  description: string;
}

export interface CommandSpec {
  name: CommandName;
  /** One line for the command list. */
  summary: string;
  usage: string[];
  /** Paragraphs under the usage. */
  description: string[];
  options: Record<string, OptionSpec>;
  /** Whether the command takes job ids. */
  takesIds: boolean;
  examples: string[];
}

export const GLOBAL_OPTIONS: Record<string, OptionSpec> = {
  'redis-url': {
    type: 'string',
    placeholder: '<url>',
    description: 'the Redis to read (default: $REDIS_URL, else redis://127.0.0.1:6379/0)',
  },
  cluster: {
    type: 'string',
    placeholder: '<url,url,…>',
    description: "a Redis Cluster's seed nodes, comma-separated, instead of --redis-url",
  },
  sentinel: {
    type: 'string',
    placeholder: '<host:port,…>',
    description:
      'the sentinels of a master watched by Redis Sentinel, comma-separated, instead of --redis-url',
  },
  'sentinel-name': {
    type: 'string',
    placeholder: '<name>',
    description: 'with --sentinel: the name the sentinels monitor the master under',
  },
  prefix: { type: 'string', placeholder: '<prefix>', description: "the app's keyPrefix (default: toniq)" },
  'tls-ca': {
    type: 'string',
    placeholder: '<file>',
    description: "with a rediss:// URL: trust the CA in this PEM file (default: node's CAs)",
  },
  'tls-cert': {
    type: 'string',
    placeholder: '<file>',
    description: 'with a rediss:// URL: the client certificate (PEM) for a server that asks for one',
  },
  'tls-key': {
    type: 'string',
    placeholder: '<file>',
    description: "the key (PEM) of --tls-cert's certificate",
  },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
  version: { type: 'boolean', description: "print toniq's version" },
};

const json = (shape: string): OptionSpec => ({ type: 'boolean', description: `print JSON: ${shape}` });
const worker = (what: string): OptionSpec => ({
  type: 'string',
  placeholder: '<name>',
  description: `only ${what} of this worker`,
});
const search = (what: string): OptionSpec => ({
  type: 'string',
  placeholder: '<text>',
  description: `only ${what} whose id, arguments or error contain this text (case-insensitive)`,
});

function actionSpec(name: 'retry' | 'delete'): CommandSpec {
  const verb = name === 'retry' ? 'Retries' : 'Deletes';
  return {
    name,
    summary: name === 'retry' ? 'run failed jobs again' : 'delete failed jobs for good',
    usage: [
      `toniq ${name} <id>... [--json]`,
      `toniq ${name} --all [--worker <name>] [--search <text>] [--json]`,
    ],
    description: [
      name === 'retry'
        ? 'Retries the failed jobs with these ids, or with --all every failed job (of the worker, matching ' +
          'the text). A retried job keeps its id and gets a fresh set of retries; a live process that ' +
          'registers its worker runs it at once. A job that no live process can run stays in the failed ' +
          'list, and the reason is printed.'
        : `${verb} the failed jobs with these ids, or with --all every failed job (of the worker, matching ` +
          'the text). A deleted job cannot be brought back.',
      'Exits with 1 when an id is not in the failed list (never was, or was already retried or deleted)' +
        (name === 'retry' ? ' or a job could not be retried.' : '.'),
    ],
    options: {
      all: {
        type: 'boolean',
        description: 'every failed job, instead of ids (narrowed by --worker and --search)',
      },
      worker: worker('jobs'),
      search: search('jobs'),
      json: json('{ done, missing, refused } (ids)'),
    },
    takesIds: true,
    examples: [
      `toniq ${name} 01J2ZK7W5C3Q2N8V4T6R0M9XYZ`,
      `toniq ${name} --all --worker SendEmail`,
      `toniq failed --json --search ECONNREFUSED | jq -r '.jobs[].id' | xargs toniq ${name}`,
    ],
  };
}

export const COMMANDS: readonly CommandSpec[] = [
  {
    name: 'stats',
    summary: 'counts of running, waiting, delayed and failed jobs, per worker and per process',
    usage: ['toniq stats [--json]'],
    description: [
      'Running: a process is performing it. Waiting: a process holds it until its worker has a free slot ' +
        '(or until a dead process is taken over). Delayed: due later (retries too). Failed: used up its ' +
        'retries; see `toniq failed`.',
    ],
    options: { json: json('{ at, totals, workers, processes }, as GET api/stats') },
    takesIds: false,
    examples: ['toniq stats', 'toniq stats --json | jq .totals'],
  },
  {
    name: 'processes',
    summary: 'the registered processes: host, pid, heartbeat, workers, jobs',
    usage: ['toniq processes [--json]'],
    description: [
      'Every process that runs toniq on this Redis and key prefix. A process whose heartbeat lapsed is ' +
        'shown as dead: another process is about to take its jobs over.',
    ],
    options: { json: json('{ processes }, as GET api/processes') },
    takesIds: false,
    examples: ['toniq processes', 'toniq processes --json | jq -r ".processes[].id"'],
  },
  {
    name: 'failed',
    summary: 'list the failed jobs, newest failure first',
    usage: ['toniq failed [--worker <name>] [--search <text>] [--limit <n>] [--offset <n>] [--json]'],
    description: [
      'A job is failed when it used up its retries. It stays in the failed list until someone retries or ' +
        'deletes it (`toniq retry`, `toniq delete`, or the web UI).',
    ],
    options: {
      worker: worker('jobs'),
      search: search('jobs'),
      limit: { type: 'string', placeholder: '<n>', description: 'how many to show, 1 to 500 (default: 50)' },
      offset: {
        type: 'string',
        placeholder: '<n>',
        description: 'how many to skip, for the next page, 0 or more (default: 0)',
      },
      json: json('{ jobs, offset, limit, total, hasMore }, as GET api/jobs'),
    },
    takesIds: false,
    examples: [
      'toniq failed',
      'toniq failed --worker SendEmail --search ECONNREFUSED',
      'toniq failed --limit 100 --offset 100',
      "toniq failed --json | jq -r '.jobs[].id'",
    ],
  },
  actionSpec('retry'),
  actionSpec('delete'),
  {
    name: 'ui',
    summary: 'serve the admin web UI (http://127.0.0.1:3000/ by default)',
    usage: ['toniq ui [--port <n>] [--host <host>] [--read-only]'],
    description: [
      'Serves the web UI and its JSON API (api/stats, api/jobs, …) until Ctrl+C (SIGINT) or SIGTERM.',
      'Login: when TONIQ_UI_USERNAME and TONIQ_UI_PASSWORD are set, the browser asks for them (HTTP Basic ' +
        'auth). Without them the UI only listens on a loopback address (127.0.0.1, ::1, localhost), where ' +
        'anyone on this machine can open it; on any other address it refuses to start.',
    ],
    options: {
      port: {
        type: 'string',
        placeholder: '<n>',
        description: 'the port, 0 to 65535 (default: 3000; 0 picks a free one)',
      },
      host: {
        type: 'string',
        placeholder: '<host>',
        description: 'the address to listen on (default: 127.0.0.1)',
      },
      'read-only': { type: 'boolean', description: 'show the jobs but no actions (retry, delete, run now)' },
    },
    takesIds: false,
    examples: [
      'toniq ui',
      'toniq ui --port 8080 --read-only',
      'TONIQ_UI_USERNAME=ops TONIQ_UI_PASSWORD=… toniq ui --host 0.0.0.0',
    ],
  },
];

export interface GlobalValues {
  redisUrl: string | undefined;
  /** --cluster and --sentinel as given (comma-separated), and --sentinel-name. */
  cluster: string | undefined;
  sentinel: string | undefined;
  sentinelName: string | undefined;
  prefix: string | undefined;
  /** The files of --tls-ca, --tls-cert and --tls-key, as given. */
  tlsCa: string | undefined;
  tlsCert: string | undefined;
  tlsKey: string | undefined;
}

export type ParsedCommandLine =
  | { kind: 'help'; command: CommandSpec | undefined }
  | { kind: 'version' }
  | {
      kind: 'run';
      command: CommandSpec;
      global: GlobalValues;
      /** The command's own options: strings, or true for booleans. */
      values: Record<string, string | boolean | undefined>;
      positionals: string[];
    };

/**
 * Reads the command line (without `node` and the script). Global options may stand before or after
 * the command. Throws UsageError.
 */
export function parseCommandLine(argv: readonly string[]): ParsedCommandLine {
  const { name, rest } = extractCommandName(argv);
  if (name === 'help') {
    const topic = rest.find((arg) => !arg.startsWith('-'));
    return { kind: 'help', command: topic === undefined ? undefined : findCommand(topic) };
  }
  const command = name === undefined ? undefined : findCommand(name);
  const options = { ...GLOBAL_OPTIONS, ...command?.options };
  const { tokens } = parseArgs({
    args: rest,
    options: toParseArgsOptions(options),
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const values: Record<string, string | boolean | undefined> = {};
  const positionals: string[] = [];
  const where = command ? ` for "toniq ${command.name}"` : '';
  for (const token of tokens) {
    if (token.kind === 'positional') positionals.push(token.value);
    if (token.kind !== 'option') continue;
    const spec = options[token.name];
    if (!spec) throw new UsageError(`Unknown option ${token.rawName}${where}.`, command?.name);
    if (spec.type === 'boolean') {
      if (token.value !== undefined) {
        throw new UsageError(`Option ${token.rawName} takes no value.`, command?.name);
      }
      values[token.name] = true;
    } else {
      // parseArgs takes the next argument as the value even when it is an option (`--worker --json`);
      // a negative number (`--limit -1`) is a value, which the option's own check then judges.
      if (
        token.value === undefined ||
        (!token.inlineValue && token.value.startsWith('-') && !/^-\d/.test(token.value))
      ) {
        throw new UsageError(
          `Option ${token.rawName} needs a value: ${token.rawName} ${spec.placeholder ?? '<value>'} ` +
            `(${spec.description}).`,
          command?.name,
        );
      }
      values[token.name] = token.value;
    }
  }
  if (values.help) return { kind: 'help', command };
  if (values.version) return { kind: 'version' };
  if (!command) {
    throw new UsageError(
      positionals.length ? `Unexpected argument "${positionals[0]}".` : 'No command given.',
    );
  }
  if (!command.takesIds && positionals.length) {
    throw new UsageError(
      `"toniq ${command.name}" takes no arguments, but got "${positionals[0]}".`,
      command.name,
    );
  }
  const global: GlobalValues = {
    redisUrl: values['redis-url'] as string | undefined,
    cluster: values.cluster as string | undefined,
    sentinel: values.sentinel as string | undefined,
    sentinelName: values['sentinel-name'] as string | undefined,
    prefix: values.prefix as string | undefined,
    tlsCa: values['tls-ca'] as string | undefined,
    tlsCert: values['tls-cert'] as string | undefined,
    tlsKey: values['tls-key'] as string | undefined,
  };
  for (const key of Object.keys(GLOBAL_OPTIONS)) delete values[key];
  return { kind: 'run', command, global, values, positionals };
}

/** The first argument that is neither an option nor a global option's value is the command. */
function extractCommandName(argv: readonly string[]): { name: string | undefined; rest: string[] } {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') break;
    if (arg.startsWith('-')) {
      const name = arg.replace(/^--?/, '');
      if (GLOBAL_OPTIONS[name]?.type === 'string') i++;
      continue;
    }
    return { name: arg, rest: [...argv.slice(0, i), ...argv.slice(i + 1)] };
  }
  return { name: undefined, rest: [...argv] };
}

function findCommand(name: string): CommandSpec {
  const command = COMMANDS.find((c) => c.name === name);
  if (command) return command;
  const near = COMMANDS.map((c) => c.name).find((candidate) => editDistance(candidate, name) <= 2);
  throw new UsageError(`Unknown command "${name}".${near ? ` Did you mean "${near}"?` : ''}`);
}

function toParseArgsOptions(options: Record<string, OptionSpec>) {
  return Object.fromEntries(
    Object.entries(options).map(([name, spec]) => [
      name,
      spec.short ? { type: spec.type, short: spec.short } : { type: spec.type },
    ]),
  );
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j]! + 1,
        current[j - 1]! + 1,
        previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length]!;
}

/** Parses a whole number within bounds, or throws UsageError naming the option. */
export function integerOption(
  value: string | boolean | undefined,
  option: string,
  { min, max, fallback, command }: { min: number; max: number; fallback: number; command: CommandName },
): number {
  if (value === undefined) return fallback;
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(
      `--${option} must be a whole number from ${min} to ${max}, not "${value}".`,
      command,
    );
  }
  return n;
}

// ---- help text ----

function optionLines(options: Record<string, OptionSpec>): string[] {
  const labels = Object.entries(options).map(([name, spec]) => {
    const long = `--${name}${spec.placeholder ? ` ${spec.placeholder}` : ''}`;
    return [spec.short ? `-${spec.short}, ${long}` : `    ${long}`, spec.description] as const;
  });
  const width = Math.max(...labels.map(([label]) => label.length));
  return labels.map(([label, description]) => `  ${label.padEnd(width)}  ${description}`);
}

/** `toniq --help`. */
export function toolHelp(version: string): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    `toniq ${version}: look at and act on toniq's background jobs in Redis`,
    '',
    'Usage: toniq <command> [options]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Options for every command:',
    ...optionLines(GLOBAL_OPTIONS),
    '',
    'Examples:',
    '  toniq stats',
    '  REDIS_URL=redis://redis.internal:6379/0 toniq failed --prefix billing',
    '  toniq stats --redis-url rediss://redis.internal:6380/0 --tls-ca redis-ca.crt',
    '  toniq stats --cluster redis://10.0.0.1:7000,redis://10.0.0.2:7000',
    '  toniq failed --sentinel 10.0.0.1:26379,10.0.0.2:26379 --sentinel-name mymaster',
    '  toniq retry 01J2ZK7W5C3Q2N8V4T6R0M9XYZ',
    '  toniq delete --all --worker SendEmail',
    '  toniq ui --port 3000',
    '',
    'Run "toniq <command> --help" for what a command prints and its options.',
    'Exit codes: 0 done; 1 failed (Redis unreachable, a job id not in the failed list); 2 wrong usage.',
  ].join('\n');
}

/** `toniq <command> --help`. */
export function commandHelp(command: CommandSpec): string {
  return [
    `toniq ${command.name}: ${command.summary}`,
    '',
    `Usage: ${command.usage.join('\n       ')}`,
    '',
    ...command.description.flatMap((paragraph) => [wrap(paragraph, 100), '']),
    'Options:',
    ...optionLines(command.options),
    '',
    'Options for every command:',
    ...optionLines(GLOBAL_OPTIONS),
    '',
    'Examples:',
    ...command.examples.map((example) => `  ${example}`),
  ].join('\n');
}

function wrap(text: string, width: number): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines.join('\n');
}
