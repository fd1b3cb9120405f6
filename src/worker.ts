/**
 * Workers: the named functions that perform jobs. `defineWorker` returns a handle that carries
 * the type of the worker's arguments, so `toniq.enqueue(worker, args)` checks `args` at compile time.
 */
import { InvalidOptionsError } from './errors.js';
import type { Job } from './job/job.js';
import type { RetryStrategy } from './job/retry-strategies.js';
import { unknownOptionsProblem } from './known-options.js';
import type { Logger } from './logger.js';
import { durationProblem } from './timers.js';

/** What a worker's perform function gets besides its arguments. */
export interface JobContext<Args = unknown> {
  /** The job being performed. */
  readonly job: Job<Args>;
  /** Aborted when the job's timeout passes, so the worker can stop early. */
  readonly signal: AbortSignal;
  /** The app's logger; lines are tagged with the job id and worker. */
  readonly log: Logger;
}

export type PerformFunction<Args> = (args: Args, ctx: JobContext<Args>) => unknown;

/**
 * A Standard Schema validator (zod, valibot, arktype, …): https://standardschema.dev.
 * Declared here rather than imported so that the library has no dependency for it.
 */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  readonly '~standard': {
    readonly version: 1;
    readonly vendor: string;
    readonly validate: (value: unknown) =>
      | { readonly value: Output; readonly issues?: undefined }
      | {
          readonly issues: ReadonlyArray<{
            readonly message: string;
            readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined;
          }>;
        }
      | Promise<
          | { readonly value: Output; readonly issues?: undefined }
          | {
              readonly issues: ReadonlyArray<{
                readonly message: string;
                readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined;
              }>;
            }
        >;
    readonly types?: { readonly input: Input; readonly output: Output } | undefined;
  };
}

/**
 * When a job is written to Redis:
 * - `'before-run'`: persisted, then run; nothing is lost if the process dies (the default).
 * - `'while-running'`: starts at once while the write goes out; a crash before the write lands loses the job.
 * - `'none'`: never written to Redis; retried in memory; lost if the process dies.
 */
export type PersistMode = 'before-run' | 'while-running' | 'none';
export const PERSIST_MODES: readonly PersistMode[] = ['before-run', 'while-running', 'none'];

export interface WorkerOptions<Args> {
  /**
   * When this worker's jobs are written to Redis (see PersistMode). Default: `'before-run'`.
   * An enqueue can override it.
   * @example { persist: 'none' } // cache warm-ups that may be lost
   */
  persist?: PersistMode;
  /**
   * How many jobs of this worker run at once in this process; more wait in memory, in the
   * order they were enqueued, and stay persisted. Default: no limit.
   * @example { maxConcurrency: 10 }
   */
  maxConcurrency?: number;
  /**
   * When and how often a failed job is retried. Default: the toniq instance's `retry`
   * (itself `retryWithIncreasingDelay()` by default: 5 retries, 250 ms, 4 s, 20.25 s, 64 s, 156.25 s).
   * @example { retry: retryWithoutDelay() }
   */
  retry?: RetryStrategy;
  /**
   * Milliseconds after which a running job is failed with JobTimeoutError and `ctx.signal` is
   * aborted; any length, `Infinity` being the same as none. Default: none (a job may run for ever).
   * @example { timeout: 30_000 }
   */
  timeout?: number;
  /**
   * Milliseconds after which a still running job logs a warning; `Infinity` never warns. Default: 60 000.
   * @example { warnAfter: 5 * 60_000 }
   */
  warnAfter?: number;
  /**
   * A Standard Schema (zod, valibot, arktype) that checks arguments at enqueue. A refusal throws
   * InvalidArgumentsError and nothing is persisted. Default: none.
   * @example { schema: z.object({ to: z.string().email() }) }
   */
  schema?: StandardSchemaV1<Args>;
  /**
   * The version of this worker's arguments: a whole number ≥ 1, raised when their shape changes
   * in a way old jobs cannot be read as. Every job stores the version it was enqueued with (jobs
   * stored before versions existed count as 1); one stored with an older version runs through
   * `migrate` before `perform` sees it. A process never runs a job stored with a newer version
   * than its own: it hands it to a live process that runs that version, or holds it until one
   * starts. Default: 1.
   * @example { version: 2, migrate: { 1: (old: { to: string }) => ({ to: [old.to] }) } }
   */
  version?: number;
  /**
   * How stored arguments of older versions are brought up to date: `migrate[n]` turns version
   * n's arguments into version n + 1's, and runs synchronously. Needs one step for each version
   * from 1 to `version` − 1 (steps for versions no job is stored with any more may be dropped,
   * with `version`'s lowest step then the oldest version it can read). Default: none.
   * @example { version: 3, migrate: { 1: (v1) => ({ ...v1, locale: 'en' }), 2: (v2) => ({ to: [v2.to], locale: v2.locale }) } }
   */
  migrate?: Readonly<Record<number, (args: any) => unknown>>;
}

/** The handle returned by defineWorker. */
export interface Worker<Args = unknown> {
  readonly name: string;
  readonly perform: PerformFunction<Args>;
  readonly options: Readonly<WorkerOptions<Args>>;
}

const KNOWN_WORKER_OPTIONS = [
  'maxConcurrency',
  'retry',
  'timeout',
  'warnAfter',
  'schema',
  'persist',
  'version',
  'migrate',
];

/**
 * Defines a worker. The name is stored with each job, so keep it stable across deploys.
 *
 * @example
 * export const sendEmail = defineWorker('SendEmail', async (args: { to: string }, ctx) => {
 *   await mailer.send(args.to, { signal: ctx.signal });
 * }, { maxConcurrency: 10 });
 */
export function defineWorker<Args = undefined>(
  name: string,
  perform: PerformFunction<Args>,
  options: WorkerOptions<Args> = {},
): Worker<Args> {
  if (typeof name !== 'string' || name.trim() === '') {
    throw new InvalidOptionsError(
      `defineWorker needs a non-empty name as its first argument, got ${String(name)}.`,
    );
  }
  if (typeof perform !== 'function') {
    throw new InvalidOptionsError(
      `defineWorker('${name}', perform): perform must be a function, got ${typeof perform}.`,
    );
  }
  const unknown = unknownOptionsProblem(`defineWorker('${name}')`, options, KNOWN_WORKER_OPTIONS);
  if (unknown) throw new InvalidOptionsError(unknown);
  const { maxConcurrency, timeout, warnAfter, retry, schema, persist } = options;
  if (persist !== undefined && !PERSIST_MODES.includes(persist)) {
    throw new InvalidOptionsError(
      `defineWorker('${name}'): persist must be ${PERSIST_MODES.map((m) => `'${m}'`).join(', ')}; got ${JSON.stringify(persist)}.`,
    );
  }
  if (maxConcurrency !== undefined && !(Number.isInteger(maxConcurrency) && maxConcurrency >= 1)) {
    throw new InvalidOptionsError(
      `defineWorker('${name}'): maxConcurrency must be an integer ≥ 1, got ${String(maxConcurrency)}.`,
    );
  }
  // Both may be as long as wanted: a timeout longer than a timer holds is waited in steps, and
  // warnAfter is compared, not waited. Infinity is "no timeout" and "never warn".
  for (const [key, value] of [
    ['timeout', timeout],
    ['warnAfter', warnAfter],
  ] as const) {
    const problem =
      value === undefined ? undefined : durationProblem(value, { max: Infinity, allowInfinity: true });
    if (problem) throw new InvalidOptionsError(`defineWorker('${name}'): ${key} ${problem}.`);
  }
  if (retry !== undefined && typeof retry?.delayAfterFailure !== 'function') {
    throw new InvalidOptionsError(
      `defineWorker('${name}'): retry must be a retry strategy such as retryWithIncreasingDelay() or retryWithoutDelay().`,
    );
  }
  if (schema !== undefined && typeof schema?.['~standard']?.validate !== 'function') {
    throw new InvalidOptionsError(
      `defineWorker('${name}'): schema must be a Standard Schema validator (zod, valibot, arktype).`,
    );
  }
  checkVersion(name, options.version, options.migrate);
  const frozen = { ...options };
  if (frozen.migrate) frozen.migrate = Object.freeze({ ...frozen.migrate });
  return Object.freeze({ name, perform, options: Object.freeze(frozen) });
}

/** The version of a worker's arguments (1 when it sets none). */
export function versionOf(worker: Worker<any>): number {
  return worker.options.version ?? 1;
}

function checkVersion(name: string, version: unknown, migrate: unknown): void {
  if (version !== undefined && !(Number.isSafeInteger(version) && (version as number) >= 1)) {
    throw new InvalidOptionsError(
      `defineWorker('${name}'): version must be a whole number ≥ 1, got ${String(version)}.`,
    );
  }
  if (migrate === undefined) return;
  const current = (version as number | undefined) ?? 1;
  if (typeof migrate !== 'object' || migrate === null) {
    throw new InvalidOptionsError(
      `defineWorker('${name}'): migrate must be an object of steps, like { 1: (v1) => v2 }, got ${String(migrate)}.`,
    );
  }
  const steps = Object.keys(migrate).map(Number);
  for (const [key, step] of Object.entries(migrate)) {
    const from = Number(key);
    if (!Number.isSafeInteger(from) || from < 1 || from >= current) {
      throw new InvalidOptionsError(
        `defineWorker('${name}'): migrate has a step "${key}", but steps are numbered by the version they start from, 1 to ${current - 1} (version is ${current}).`,
      );
    }
    if (typeof step !== 'function') {
      throw new InvalidOptionsError(
        `defineWorker('${name}'): migrate[${key}] must be a function, got ${typeof step}.`,
      );
    }
  }
  // The steps must form one unbroken chain up to the current version: a gap would leave the
  // versions below it with no way up.
  const lowest = Math.min(...steps);
  for (let from = lowest; from < current; from++) {
    if (!steps.includes(from)) {
      throw new InvalidOptionsError(
        `defineWorker('${name}'): migrate has no step ${from} (version ${from} → ${from + 1}); the steps must run unbroken from ${lowest} to ${current - 1}.`,
      );
    }
  }
}
