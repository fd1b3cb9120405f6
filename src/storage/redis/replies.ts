/**
 * Replies read from Redis, checked here field by field: another program, a bug, or damage can
 * leave anything under toniq's keys, and one bad entry must be shown as bad, not break the
 * overview of every process. Pure functions, no connection: the store and its admin reads use
 * them. Maps keyed by worker names are Maps or null-prototype objects, so that a worker named
 * "__proto__" is counted like any other.
 */
import type { ProcessInfo, ProcessReport, StoredJob, TakeoverError } from '../job-store.js';
import { damagedKeyOf } from './redis-errors.js';

/** A process's last report, with a note of what in it could not be read. */
export function parseReport(json: string | undefined): { report: ProcessReport | null; damaged?: string } {
  if (json === undefined) return { report: null };
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return {
      report: null,
      damaged: 'Its last report is not JSON; its running and waiting jobs are not counted.',
    };
  }
  if (!isObject(value) || !isObject(value.workers)) {
    return {
      report: null,
      damaged: 'Its last report lacks the per-worker counts; its running and waiting jobs are not counted.',
    };
  }
  const workers: ProcessReport['workers'] = Object.create(null);
  const bad: string[] = [];
  for (const [name, counts] of Object.entries(value.workers)) {
    if (isObject(counts) && isCount(counts.running) && isCount(counts.waiting)) {
      workers[name] = { running: counts.running, waiting: counts.waiting };
    } else {
      bad.push(JSON.stringify(name));
    }
  }
  const report: ProcessReport = {
    workers,
    limitedWorkers: stringsOf(value.limitedWorkers),
    runningIds: stringsOf(value.runningIds),
  };
  if (isObject(value.newerVersionIds)) {
    const versions: Record<string, number> = Object.create(null);
    for (const [id, version] of Object.entries(value.newerVersionIds)) {
      if (Number.isSafeInteger(version) && (version as number) >= 1) versions[id] = version as number;
    }
    report.newerVersionIds = versions;
  }
  if (!bad.length) return { report };
  return {
    report,
    damaged: `Its last report has unreadable counts for the worker(s) ${bad.join(', ')}; they are not counted.`,
  };
}

/** The per-worker counts kept under `prefix` in the counts hash; a value that is not a count is left out. */
export function countsOf(counts: Record<string, string>, prefix: string): Map<string, number> {
  const result = new Map<string, number>();
  for (const [field, value] of Object.entries(counts)) {
    const n = Number(value);
    if (field.startsWith(prefix) && Number.isSafeInteger(n) && n > 0)
      result.set(field.slice(prefix.length), n);
  }
  return result;
}

/** The size a pipeline reply gives (HLEN, ZCARD), 0 when the command failed (a key of another type). */
export function sizeOf(reply: [Error | null, unknown] | undefined): number {
  const n = Number(reply?.[1]);
  return !reply || reply[0] || !Number.isSafeInteger(n) ? 0 : n;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isCount(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

function stringsOf(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

/**
 * A process's registration. A placeholder (written with jobs for a process not registered yet)
 * lacks fields by design: they show as unknown. Any other entry that lacks a field, or has one of
 * the wrong kind, shows what could be read and says what could not in `damaged`.
 */
export function parseInfo(id: string, json: string): ProcessInfo & { deadAfter: number; damaged?: string } {
  const info = { id, host: '?', pid: 0, startedAt: 0, version: '?', workers: [] as string[], deadAfter: 0 };
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return {
      ...info,
      damaged: 'Its registration is not JSON: host, pid, start time and workers are unknown.',
    };
  }
  if (!isObject(value)) {
    return {
      ...info,
      damaged: 'Its registration is not an object: host, pid, start time and workers are unknown.',
    };
  }
  if (value.placeholder === true) return info;
  const bad: string[] = [];
  const take = <K extends keyof typeof info>(field: K, ok: (v: unknown) => boolean) => {
    if (ok(value[field])) info[field] = value[field] as (typeof info)[K];
    else bad.push(field);
  };
  take('host', (v) => typeof v === 'string');
  take('pid', (v) => Number.isSafeInteger(v));
  take('startedAt', (v) => Number.isFinite(v) && Math.abs(v as number) <= MAX_TIME);
  take('version', (v) => typeof v === 'string');
  take('workers', (v) => Array.isArray(v) && v.every((name) => typeof name === 'string'));
  take('deadAfter', (v) => Number.isFinite(v) && (v as number) >= 0);
  // Absent from processes of a toniq before worker versions: all their workers run version 1.
  const versions = value.workerVersions;
  const versionsOk =
    versions === undefined ||
    (isObject(versions) &&
      Object.values(versions).every((v) => Number.isSafeInteger(v) && (v as number) >= 1));
  if (!versionsOk) bad.push('workerVersions');
  const parsed: ProcessInfo & { deadAfter: number } =
    versions !== undefined && versionsOk
      ? { ...info, workerVersions: Object.assign(Object.create(null), versions) }
      : info;
  if (!bad.length) return parsed;
  return {
    ...parsed,
    damaged:
      `Its registration has no readable ${bad.join(', ')}` +
      (bad.includes('workers') ? '; no job is sent to it by worker.' : '.'),
  };
}

/** The largest epoch ms a Date holds. */
const MAX_TIME = 8.64e15;

export function parseTakeoverError(json: string | undefined): TakeoverError | undefined {
  if (!json) return undefined;
  try {
    const { message, at, by } = (JSON.parse(json) ?? {}) as Partial<TakeoverError>;
    return {
      message: typeof message === 'string' ? message : '(no message recorded)',
      at: Number.isFinite(at) && Math.abs(at as number) <= MAX_TIME ? (at as number) : 0,
      by: typeof by === 'string' ? by : '?',
    };
  } catch {
    return { message: '(an unreadable note)', at: 0, by: '?' };
  }
}

/** A due time as a sorted-set score: Infinity (held until flushed) is Redis's "inf". */
export function scoreOf(dueAt: number): string {
  return dueAt === Infinity ? 'inf' : String(dueAt);
}

/** A score read back (ZRANGE WITHSCORES, ZSCORE) as a number. */
export function timeOfScore(score: string): number {
  return score === 'inf' ? Infinity : Number(score);
}

/** A flat reply id, record, id, record, … as jobs. */
export function pairs(reply: Buffer[]): StoredJob[] {
  const jobs: StoredJob[] = [];
  for (let i = 0; i < reply.length; i += 2) jobs.push({ id: reply[i]!.toString(), record: reply[i + 1]! });
  return jobs;
}

/** The records an HMGET found for `ids`, as jobs; ids without a record are left out. */
export function jobsFound(ids: readonly string[], records: ReadonlyArray<Buffer | null>): StoredJob[] {
  const jobs: StoredJob[] = [];
  ids.forEach((id, i) => {
    const record = records[i];
    if (record) jobs.push({ id, record });
  });
  return jobs;
}

/** A read whose key holds another type than toniq keeps there rejects with DamagedKeyError naming it. */
export function read<T>(reply: Promise<T>): Promise<T> {
  return reply.catch((error: unknown) => {
    throw damagedKeyOf(error) ?? error;
  });
}

/** The replies of a pipeline or a MULTI, or the first error among them (a damaged key named as such). */
export function checked(replies: Array<[Error | null, unknown]>): Array<[Error | null, unknown]> {
  for (const [error] of replies) if (error) throw damagedKeyOf(error) ?? error;
  return replies;
}
