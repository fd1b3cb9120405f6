/**
 * The CLI's commands that read or act once and exit: stats, processes, failed, retry, delete.
 * Each is a thin layer over the admin read API (Admin): it asks, then prints a table or JSON.
 * A command is prepared first, checking its options without Redis (a typo gets its usage error
 * at once, even when Redis is down), then run with the admin; it resolves with the exit code:
 * 0 done, 1 when something asked for could not be done.
 */
import type { Admin } from '../admin/admin-api.js';
import type { ActionResult, ActionTarget, JobCounts, ProcessStats } from '../admin/admin-types.js';
import { integerOption } from './args.js';
import { UsageError } from './cli-errors.js';
import type { CommandName } from './command-names.js';
import { count, duration, escapeControlCharacters, oneLine, plural, table, timeAgo } from './format.js';

/** Where a command prints: `out` for results (stdout), `err` for problems and notes (stderr). */
export interface CliOutput {
  out(text: string): void;
  err(text: string): void;
}

export interface CommandInput {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
  /** The clock for "3 s ago". */
  now: () => number;
}

/** A command whose options are checked, ready to run. */
export type PreparedCommand = (admin: Admin) => Promise<number>;

const asJson = (value: unknown) => JSON.stringify(value, null, 2);

const COUNT_COLUMNS = ['running', 'waiting', 'delayed', 'failed'] as const;

function countColumns<Row extends Partial<JobCounts>>(names: readonly (keyof JobCounts)[]) {
  return names.map((name) => ({
    header: name.toUpperCase(),
    align: 'right' as const,
    value: (row: Row) => count(row[name] ?? 0),
  }));
}

function processTable(processes: readonly ProcessStats[], now: number): string {
  return table(processes, [
    { header: 'PROCESS', value: (p) => escapeControlCharacters(p.id) },
    { header: 'HOST', value: (p) => escapeControlCharacters(p.host) },
    { header: 'PID', align: 'right', value: (p) => String(p.pid) },
    { header: 'STARTED', value: (p) => timeAgo(p.startedAt, now) },
    {
      header: 'HEARTBEAT',
      value: (p) => (p.alive && p.heartbeatAge !== null ? `${duration(p.heartbeatAge)} ago` : 'dead'),
    },
    ...countColumns<ProcessStats>(['running', 'waiting', 'delayed']),
    { header: 'WORKERS', value: (p) => oneLine(p.workers.join(', '), 80) },
    // Only when some process has one, so the usual table stays narrow.
    ...(processes.some((p) => p.takeoverError || p.damaged)
      ? [{ header: 'NOTE', value: (p: ProcessStats) => oneLine(processNote(p), 300) }]
      : []),
  ]);
}

/** What is wrong with a process, for the NOTE column: its takeover failed, or its entry is damaged. */
function processNote(p: ProcessStats): string {
  return [
    p.takeoverError && `takeover failed: ${p.takeoverError.message}`,
    p.damaged && `damaged: ${p.damaged}`,
  ]
    .filter(Boolean)
    .join('; ');
}

export function statsCommand({ values, now }: CommandInput, io: CliOutput): PreparedCommand {
  return async (admin) => {
    const stats = await admin.stats();
    if (values.json) {
      io.out(asJson(stats));
      return 0;
    }
    const rows = stats.workers.map((w) => ({ ...w, worker: escapeControlCharacters(w.worker) }));
    io.out(
      table(
        [...rows, { worker: '(total)', ...stats.totals }],
        [
          { header: 'WORKER', value: (row) => row.worker },
          ...countColumns<JobCounts & { worker: string }>(COUNT_COLUMNS),
        ],
      ),
    );
    io.out('');
    const alive = stats.processes.filter((p) => p.alive).length;
    if (stats.processes.length === 0) {
      io.out('No process is registered: no app runs toniq on this Redis and key prefix right now.');
    } else {
      io.out(`${plural(stats.processes.length, 'process')} (${count(alive)} alive):`);
      io.out(processTable(stats.processes, now()));
    }
    return 0;
  };
}

export function processesCommand({ values, now }: CommandInput, io: CliOutput): PreparedCommand {
  return async (admin) => {
    const processes = await admin.processes();
    if (values.json) {
      io.out(asJson({ processes }));
      return 0;
    }
    if (processes.length === 0) {
      io.out('No process is registered: no app runs toniq on this Redis and key prefix right now.');
      return 0;
    }
    io.out(processTable(processes, now()));
    return 0;
  };
}

function filterText(worker: string | undefined, search: string | undefined): string {
  const parts = [
    worker === undefined ? '' : ` of worker ${JSON.stringify(worker)}`,
    search === undefined ? '' : ` matching ${JSON.stringify(search)}`,
  ];
  return parts.join('');
}

export function failedCommand({ values, now }: CommandInput, io: CliOutput): PreparedCommand {
  const worker = values.worker as string | undefined;
  const search = values.search as string | undefined;
  const limit = integerOption(values.limit, 'limit', { min: 1, max: 500, fallback: 50, command: 'failed' });
  const offset = integerOption(values.offset, 'offset', {
    min: 0,
    max: Number.MAX_SAFE_INTEGER,
    fallback: 0,
    command: 'failed',
  });
  return async (admin) => {
    const page = await admin.jobs({ state: 'failed', worker, search, offset, limit });
    if (values.json) {
      io.out(asJson(page));
      return 0;
    }
    const filter = filterText(worker, search);
    if (page.total === 0) {
      io.out(`No failed jobs${filter}.`);
      return 0;
    }
    if (page.jobs.length > 0) {
      io.out(
        table(page.jobs, [
          { header: 'ID', value: (job) => escapeControlCharacters(job.id) },
          { header: 'WORKER', value: (job) => oneLine(job.worker, 40) },
          { header: 'FAILED', value: (job) => timeAgo(job.failedAt, now()) },
          { header: 'ATTEMPTS', align: 'right', value: (job) => String(job.attempts ?? job.attempt) },
          {
            header: 'ERROR',
            value: (job) => (job.error ? oneLine(`${job.error.name}: ${job.error.message}`, 60) : ''),
          },
          { header: 'ARGUMENTS', value: (job) => oneLine(job.argsPreview, 60) },
        ]),
      );
    }
    const first = page.offset + 1;
    const last = page.offset + page.jobs.length;
    if (page.jobs.length === 0) {
      io.out(`No failed jobs${filter} past --offset ${count(page.offset)} (there are ${count(page.total)}).`);
    } else if (page.hasMore || page.offset > 0) {
      const next = page.hasMore ? ` Next page: --offset ${last}.` : '';
      io.out(`\nFailed jobs${filter} ${count(first)}–${count(last)} of ${count(page.total)}.${next}`);
    } else {
      io.out(`\n${plural(page.total, 'failed job')}${filter}.`);
    }
    return 0;
  };
}

function actionTarget(name: CommandName, values: CommandInput['values'], ids: string[]): ActionTarget {
  const worker = values.worker as string | undefined;
  const search = values.search as string | undefined;
  if (values.all) {
    if (ids.length) {
      throw new UsageError(`Give either job ids or --all, not both ("toniq ${name} --all ${ids[0]}").`, name);
    }
    return { all: true, worker, search };
  }
  if (!ids.length) {
    throw new UsageError(
      `Name the failed jobs to ${name}: "toniq ${name} <id>..." or "toniq ${name} --all".`,
      name,
    );
  }
  if (worker !== undefined || search !== undefined) {
    throw new UsageError(
      `--worker and --search choose jobs only with --all ("toniq ${name} --all --worker <name>").`,
      name,
    );
  }
  return { ids: [...new Set(ids)] };
}

export function actionCommand(
  name: 'retry' | 'delete',
  { values, positionals }: CommandInput,
  io: CliOutput,
): PreparedCommand {
  const target = actionTarget(name, values, positionals);
  return async (admin) => {
    const source = { via: 'cli' };
    const result =
      name === 'retry'
        ? await admin.retryFailedJobs(target, source)
        : await admin.deleteFailedJobs(target, source);
    const ok = result.missing.length === 0 && result.refused.length === 0;
    if (values.json) {
      io.out(asJson(result));
      return ok ? 0 : 1;
    }
    reportAction(name, target, result, io);
    return ok ? 0 : 1;
  };
}

function reportAction(name: 'retry' | 'delete', target: ActionTarget, result: ActionResult, io: CliOutput) {
  const past = name === 'retry' ? 'Retried' : 'Deleted';
  if ('all' in target) {
    const filter = filterText(target.worker, target.search);
    if (result.done.length + result.missing.length + result.refused.length === 0) {
      io.out(`No failed jobs${filter} to ${name}.`);
    } else if (result.done.length) {
      io.out(`${past} ${plural(result.done.length, 'failed job')}${filter}.`);
    }
  } else {
    for (const id of result.done) io.out(`${past} job ${escapeControlCharacters(id)}.`);
  }
  if (name === 'retry' && result.done.length) {
    io.out(
      result.done.length === 1
        ? 'It runs again in a live process that registers its worker.'
        : 'They run again in live processes that register their workers.',
    );
  }
  for (const { id, reason } of result.refused) {
    io.err(`Could not ${name} job ${escapeControlCharacters(id)}: ${escapeControlCharacters(reason)}`);
  }
  if (result.missing.length) {
    const ids = result.missing.map(escapeControlCharacters).join(', ');
    io.err(
      `Not in the failed list: ${ids}. No failed job has ${result.missing.length === 1 ? 'this id' : 'these ids'} ` +
        '(a typo, or already retried or deleted). Run "toniq failed" for the current list.',
    );
  }
}
