/**
 * Every error toniq throws or records. Each has a stable `code` to match on, a message that
 * says what happened and what to do next, and the underlying error as `cause` when there is one.
 * This file is longer than 450 lines on purpose: the one list of toniq's errors reads best whole.
 */

export type ToniqErrorCode =
  | 'TONIQ_INVALID_OPTIONS'
  | 'TONIQ_INVALID_ARGUMENTS'
  | 'TONIQ_UNKNOWN_WORKER'
  | 'TONIQ_NOT_STARTED'
  | 'TONIQ_STOPPED'
  | 'TONIQ_REDIS_UNREACHABLE'
  | 'TONIQ_REDIS_UNAVAILABLE'
  | 'TONIQ_REDIS_REFUSED'
  | 'TONIQ_REDIS_TLS'
  | 'TONIQ_NOT_REPLICATED'
  | 'TONIQ_JOB_TIMEOUT'
  | 'TONIQ_WORKER_THREW_NON_ERROR'
  | 'TONIQ_CORRUPT_JOB_RECORD'
  | 'TONIQ_JOB_NOT_FOUND'
  | 'TONIQ_NO_SUCH_PROCESS'
  | 'TONIQ_BAD_RETRY_STRATEGY'
  | 'TONIQ_RAN_UNPERSISTED'
  | 'TONIQ_DAMAGED_KEY'
  | 'TONIQ_CANNOT_RETRY'
  | 'TONIQ_MIGRATION_FAILED'
  | 'TONIQ_UNEXPECTED_SCRIPT_REPLY';

export class ToniqError extends Error {
  readonly code: ToniqErrorCode;
  constructor(code: ToniqErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/**
 * `createToniq`, a worker, `stop`, `stopOnSignals` or another call got an option it does not know,
 * or a value of the wrong kind or out of range (a duration a timer cannot hold).
 */
export class InvalidOptionsError extends ToniqError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('TONIQ_INVALID_OPTIONS', message, options);
  }
}

/** The arguments of an enqueue cannot reach the worker unchanged, or its schema refused them. Nothing was persisted. */
export class InvalidArgumentsError extends ToniqError {
  /** Where in the arguments the problem is, like `args.user.save`. */
  readonly path: string;
  constructor(path: string, message: string, options?: { cause?: unknown }) {
    super('TONIQ_INVALID_ARGUMENTS', message, options);
    this.path = path;
  }
}

/** A job names a worker that this process has not registered. */
export class UnknownWorkerError extends ToniqError {
  readonly worker: string;
  constructor(worker: string, registered: readonly string[]) {
    super(
      'TONIQ_UNKNOWN_WORKER',
      `No worker named "${worker}" is registered in this process ` +
        `(registered: ${registered.length ? registered.map((n) => `"${n}"`).join(', ') : 'none'}). ` +
        `Pass it to createToniq({ workers: [...] }) in every process that shares this Redis and key prefix, ` +
        `then retry the job from the failed list.`,
    );
    this.worker = worker;
  }
}

/** `enqueue` (or another call that needs Redis) was made before `await toniq.start()`. */
export class NotStartedError extends ToniqError {
  constructor(action: string) {
    super('TONIQ_NOT_STARTED', `Cannot ${action}: toniq is not started. Call \`await toniq.start()\` first.`);
  }
}

/** `enqueue` was called while or after `toniq.stop()` ran. */
export class StoppedError extends ToniqError {
  constructor(action: string) {
    super(
      'TONIQ_STOPPED',
      `Cannot ${action}: toniq is stopping or stopped, so it takes no new jobs. ` +
        `Enqueue before calling toniq.stop(), or create and start a new instance.`,
    );
  }
}

/** Redis could not be reached when toniq started. */
export class RedisUnreachableError extends ToniqError {
  constructor(url: string, options?: { cause?: unknown }) {
    const reason = options?.cause instanceof Error ? ` (${options.cause.message})` : '';
    super(
      'TONIQ_REDIS_UNREACHABLE',
      `toniq could not connect to Redis at ${maskRedisUrl(url)}${reason}. ` +
        `Is the Redis server running and reachable from this machine? ` +
        `Start one locally with \`redis-server\`, or point toniq at yours with ` +
        `createToniq({ redisUrl: 'redis://user:password@host:6379/0' }) (use rediss:// for TLS), ` +
        `or pass redisUrl as an async function that returns the URL.`,
      options,
    );
  }
}

/**
 * What went wrong in a TLS connection to Redis: the server's certificate is `untrusted`, for a
 * `wrong-name` or `expired`; this client's certificate was refused (`client-certificate`); TLS on
 * one side only (`server-speaks-tls`, `server-speaks-plain`); the tls option cannot be used
 * (`bad-option`: a key not of its certificate); or the `handshake` failed otherwise.
 */
export type RedisTlsProblem =
  | 'untrusted'
  | 'wrong-name'
  | 'expired'
  | 'client-certificate'
  | 'server-speaks-tls'
  | 'server-speaks-plain'
  | 'bad-option'
  | 'handshake';

const CERTIFICATE = "It is a certificate problem, not a network one: Redis's TLS certificate";
const TLS_PROBLEMS: Record<RedisTlsProblem, string> = {
  untrusted: `${CERTIFICATE} is not signed by a CA this process trusts. Pass the CA that signed it (for a self-signed server, its certificate) as tls: { ca: readFileSync('redis-ca.crt') } (the CLI: --tls-ca <file>).`,
  'wrong-name': `${CERTIFICATE} is not for the name connected to (the URL's host, or tls.servername). Connect by a name the certificate holds, or set tls.servername to it.`,
  expired: `${CERTIFICATE} has expired or is not valid yet. Renew the server's certificate (or check this machine's clock).`,
  'client-certificate':
    "Redis refused this client's TLS certificate, or asked for one and got none (tls-auth-clients). Pass a client certificate signed by a CA the server trusts, tls: { cert, key } (the CLI: --tls-cert <file> --tls-key <file>).",
  'server-speaks-tls':
    'The URL starts with redis:// (no TLS), but this port speaks TLS only. Use a rediss:// URL (and tls: { ca } when a private CA signed its certificate).',
  'server-speaks-plain':
    "The URL starts with rediss:// (TLS), but the server at this port does not speak TLS. Use a redis:// URL, or the server's TLS port (tls-port in redis.conf).",
  'bad-option':
    'The tls option cannot be used as given: check that tls.cert and tls.key belong together, that ca, cert and key are PEM text, and the passphrase of an encrypted key.',
  handshake:
    "The TLS handshake with Redis failed. Check that the port is the server's TLS port (tls-port) and that the server and node share a TLS version and cipher.",
};

/**
 * A TLS connection to Redis failed at start (toniq.start(), connectAdmin): a certificate was not
 * accepted, or one side speaks TLS and the other does not. Retrying will not fix it, so toniq
 * gives up at once. `problem` says which; node's or ioredis's error is `cause`.
 */
export class RedisTlsError extends ToniqError {
  readonly problem: RedisTlsProblem;
  constructor(url: string, problem: RedisTlsProblem, options: { cause: unknown }) {
    const cause = options.cause as { message?: unknown; code?: unknown } | undefined;
    // OpenSSL's messages carry its internal codes and source file; its reason is the part to show.
    const message = typeof cause?.message === 'string' ? cause.message.trim() : '';
    const reason = /^[0-9A-F]*:?error:[0-9A-F]+:[^:]*:[^:]*:([^:]+)/.exec(message)?.[1] ?? message;
    const code = typeof cause?.code === 'string' && !reason.includes(cause.code) ? cause.code : '';
    const detail = [reason, code].filter(Boolean).join(', ');
    super(
      'TONIQ_REDIS_TLS',
      `toniq could not connect to Redis at ${maskRedisUrl(url)} over TLS${detail ? ` (${detail})` : ''}. ` +
        TLS_PROBLEMS[problem],
      options,
    );
    this.problem = problem;
  }
}

/**
 * Redis answered, but refused what toniq needs at start (a database it does not have, writes while
 * out of memory, a missing permission). Its reply is `cause`.
 */
export class RedisRefusedError extends ToniqError {
  constructor(url: string, action: string, options: { cause: unknown }) {
    super(
      'TONIQ_REDIS_REFUSED',
      `Redis at ${maskRedisUrl(url)} refused to ${action}: ${describeRedisRefusal(options.cause) ?? String(options.cause)}`,
      options,
    );
  }
}

/**
 * What an error reply of Redis means and what to do, or undefined when `error` is not an error
 * reply (a lost connection, a timeout). Matched on the reply's first word, which Redis keeps stable.
 * A RedisRequestError of code TONIQ_REDIS_REFUSED is described by the reply it wraps.
 */
export function describeRedisRefusal(error: unknown): string | undefined {
  // The store wraps a refusal it explains into RedisRequestError: describe the reply it wraps.
  if (error instanceof RedisRequestError && error.code === 'TONIQ_REDIS_REFUSED') {
    return describeRedisRefusal(error.cause);
  }
  if (!(error instanceof Error) || error.name !== 'ReplyError') return undefined;
  const reply = error.message.replace(/ script: \w+, on @user_script:\d+\.?$/, '');
  const [word = ''] = reply.split(' ', 1);
  const hint = Object.hasOwn(REFUSAL_HINTS, word) ? ` ${REFUSAL_HINTS[word]}` : '';
  return `${reply}${/[.!]$/.test(reply) ? '' : '.'}${hint}`;
}

/**
 * Whether `error` is one of the refusals describeRedisRefusal explains (out of memory, wrong
 * type, no permission, …): Redis's state, not a bug in a script or command, and safe to show.
 */
export function isKnownRedisRefusal(error: unknown): boolean {
  if (!(error instanceof Error) || error.name !== 'ReplyError') return false;
  return Object.hasOwn(REFUSAL_HINTS, error.message.split(' ', 1)[0] ?? '');
}

const REFUSAL_HINTS: Record<string, string> = {
  OOM: "Redis is out of memory (maxmemory) and refuses writes: free memory, raise maxmemory, or delete keys you don't need.",
  WRONGTYPE:
    'A key toniq uses holds a value of another type: another program writes under the same key prefix, or the data is damaged. Use a keyPrefix of its own for toniq.',
  NOPERM:
    "The Redis user lacks a permission toniq needs: grant it the commands and keys of toniq's key prefix (ACL SETUSER).",
  READONLY: 'This Redis is a read-only replica: point toniq at the primary.',
  NOSCRIPT: 'Redis lost its scripts (a restart or SCRIPT FLUSH); toniq loads them again by itself.',
  MISCONF: 'Redis cannot persist to disk and refuses writes: see its log (stop-writes-on-bgsave-error).',
  LOADING: 'Redis is loading its data set after a restart: try again in a moment.',
};

/** Redis did not answer a write in time (it is down, restarting or overloaded). Nothing partial is left behind. */
export class RedisUnavailableError extends ToniqError {
  constructor(action: string, timeoutMs: number, options?: { cause?: unknown; loopBlockedFor?: number }) {
    const reason = options?.cause instanceof Error ? options.cause.message : '';
    const refusal = describeRedisRefusal(options?.cause);
    const what = refusal
      ? `Redis refused the write: ${refusal}`
      : options?.loopBlockedFor
        ? `its reply was not read within ${timeoutMs} ms because the event loop of this process was blocked for ` +
          `${options.loopBlockedFor} ms (usually a job's synchronous code), not because Redis was slow`
        : /timed out|timeout/i.test(reason)
          ? `Redis did not confirm the write within ${timeoutMs} ms`
          : `Redis is not reachable right now${reason ? ` (${reason})` : ''}`;
    super(
      'TONIQ_REDIS_UNAVAILABLE',
      `Could not ${action}: ${what}. ` +
        `The job was not enqueued and nothing of it is left in Redis; enqueue it again once Redis ` +
        (refusal ? 'accepts writes again.' : 'is back (toniq reconnects by itself).'),
      options,
    );
  }
}

/**
 * `durability: { replicas }` is set, and Redis took a write of new jobs, but fewer replicas than
 * asked confirmed it (WAIT, or WAITAOF with `aof`) within `durability.timeout`. The job was
 * removed again and is not run, as when a write fails; the reply of WAIT is `cause`.
 */
export class NotReplicatedError extends ToniqError {
  /** How many replicas were asked for, and how many confirmed in time. */
  readonly replicas: number;
  readonly confirmed: number;
  constructor(
    action: string,
    wanted: { replicas: number; timeout: number; aof: boolean },
    confirmed: number,
    options: { cause: unknown },
    /** What became of the write, and what to do: by default, an enqueue's (undone; enqueue again). */
    afterwards = 'The job was removed again and will not run; enqueue it again once the replicas are back.',
  ) {
    const onDisk = wanted.aof ? ' in their append-only file' : '';
    super(
      'TONIQ_NOT_REPLICATED',
      `Could not ${action}: the Redis master took the write, but only ${confirmed} of the ${wanted.replicas} ` +
        `replica${wanted.replicas === 1 ? '' : 's'} that durability.replicas asks for confirmed it${onDisk} within ` +
        `${wanted.timeout} ms (durability.timeout). ${afterwards} Check the replicas on the master (redis-cli INFO replication: connected_slaves, ` +
        `and each one's lag), or lower durability.replicas to the number of replicas you run.`,
      options,
    );
    this.replicas = wanted.replicas;
    this.confirmed = confirmed;
  }
}

/**
 * Redis could not answer a request of the admin (web UI, JSON API, CLI) or a read of jobs: the
 * connection is down or too slow (`code` TONIQ_REDIS_UNAVAILABLE), or Redis refused the command
 * and said why (TONIQ_REDIS_REFUSED: out of memory, no permission, a read-only replica, …). The
 * store wraps ioredis's errors into this, so that callers match on `code`, not on messages.
 * Nothing was changed by the failed command; the Redis error is `cause`.
 */
export class RedisRequestError extends ToniqError {
  constructor(
    code: 'TONIQ_REDIS_UNAVAILABLE' | 'TONIQ_REDIS_REFUSED',
    request: string,
    options: { cause: Error },
  ) {
    super(
      code,
      code === 'TONIQ_REDIS_REFUSED'
        ? `Redis refused ${request}: ${describeRedisRefusal(options.cause)}`
        : `Redis is not reachable for ${request} (${options.cause.message}): the connection to it is down and ` +
            'toniq is reconnecting. Check that the Redis server is running; try again once it is back.',
      options,
    );
  }
}

/** A job ran longer than its worker's `timeout`; its `ctx.signal` was aborted. */
export class JobTimeoutError extends ToniqError {
  constructor(worker: string, jobId: string, timeoutMs: number) {
    super(
      'TONIQ_JOB_TIMEOUT',
      `Job #${jobId} (${worker}) did not finish within its timeout of ${timeoutMs} ms, so it was failed ` +
        `and ctx.signal was aborted. Make the worker faster, stop it on ctx.signal, or raise the worker's timeout option.`,
    );
  }
}

/** A worker threw or rejected with something that is not an Error; the original value is `cause`. */
export class WorkerThrewNonErrorError extends ToniqError {
  constructor(description: string, thrown: unknown) {
    super(
      'TONIQ_WORKER_THREW_NON_ERROR',
      `The worker threw ${description} instead of an Error. Throw an Error to get a stack trace.`,
      { cause: thrown },
    );
  }
}

/** A job record in Redis could not be read. Its raw bytes are kept in the failed list. */
export class CorruptJobRecordError extends ToniqError {
  constructor(jobId: string, where: string, options?: { cause?: unknown }) {
    const reason = options?.cause instanceof Error ? ` (${options.cause.message})` : '';
    super(
      'TONIQ_CORRUPT_JOB_RECORD',
      `The record of job #${jobId} in ${where} could not be read${reason}. ` +
        `It was moved to the failed list with its raw bytes so nothing is lost; inspect it there and delete it ` +
        `once handled. Was it written by another program or a newer toniq version?`,
      options,
    );
  }
}

/** `retry` or `delete` named a failed job that is not (or no longer) in the failed list. */
export class JobNotFoundError extends ToniqError {
  constructor(jobId: string) {
    super(
      'TONIQ_JOB_NOT_FOUND',
      `Job #${jobId} is not in the failed list: it was already retried or deleted, perhaps by another process. ` +
        `Call failedJobs() for the current list.`,
    );
  }
}

/** Shows a Redis URL with its password replaced by `***`. */
export function maskRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return url.replace(/\/\/([^:@/]*):([^@/]*)@/, '//$1:***@');
  }
}

/** enqueueOn named a process that is not alive, or that does not register the worker; or enqueueAnywhere found none. */
export class NoSuchProcessError extends ToniqError {
  constructor(message: string) {
    super(
      'TONIQ_NO_SUCH_PROCESS',
      `${message} Call toniq.processes() to see the live processes and their workers.`,
    );
  }
}

/**
 * A retry strategy answered something other than a delay it may give (a number of ms from 0 to
 * MAX_RETRY_DELAY) or null (give up), or threw. The job goes to the failed list with this error
 * rather than be parked for ever or given up on silently; the attempt's own error is `cause`.
 */
export class RetryStrategyError extends ToniqError {
  readonly worker: string;
  /** What the strategy returned (or threw). */
  readonly answer: unknown;
  constructor(
    worker: string,
    strategy: string,
    attempt: number,
    answer: string,
    maxDelay: number,
    options: { cause: unknown; answer: unknown },
  ) {
    const failure =
      options.cause instanceof Error
        ? `${options.cause.name}: ${options.cause.message}`
        : String(options.cause);
    super(
      'TONIQ_BAD_RETRY_STRATEGY',
      `The retry strategy of worker "${worker}" (${strategy}) ${answer} after attempt ${attempt} failed (${failure}). ` +
        `A strategy must return a number of milliseconds from 0 to ${maxDelay} (365 days), or null to give up. ` +
        `The job was moved to the failed list instead of being retried: fix the strategy, then retry the job from there.`,
      { cause: options.cause },
    );
    this.worker = worker;
    this.answer = options.answer;
  }
}

/**
 * A job with `persist: 'while-running'` started at once, but Redis did not take its write: the
 * job ran (or is running) in this process with no copy in Redis. Do not enqueue it again, or it
 * runs twice. Its retries, if any, stay in this process's memory.
 */
export class RanUnpersistedError extends ToniqError {
  readonly jobId: string;
  constructor(jobId: string, worker: string, options: { cause: RedisUnavailableError }) {
    super(
      'TONIQ_RAN_UNPERSISTED',
      `Job #${jobId} (${worker}) was started at once (persist: 'while-running'), but Redis did not take its write: ` +
        `${options.cause.message.replace(/ The job was not enqueued.*$/, '')} ` +
        `The job ran or is running in this process all the same, with no copy in Redis: do NOT enqueue it again, or it ` +
        `runs twice. Its retries, if it fails, stay in this process's memory, and it is lost if this process dies. ` +
        `Use persist: 'before-run' for jobs that must be written before they run.`,
      options,
    );
    this.jobId = jobId;
  }
}

/**
 * A Redis key toniq uses holds a value of another type (another program writes under the key
 * prefix, or someone changed it by hand). Scripts check before their first write, so nothing was
 * changed; the Redis reply is `cause`.
 */
export class DamagedKeyError extends ToniqError {
  /** The damaged key. */
  readonly key: string;
  constructor(key: string, found: string, options?: { cause?: unknown }) {
    super(
      'TONIQ_DAMAGED_KEY',
      `The Redis key "${key}" is damaged: ${found}. Nothing was changed. Another program may write ` +
        `under toniq's key prefix (give toniq a keyPrefix of its own). Look at it (redis-cli TYPE "${key}"), ` +
        `then delete it (redis-cli DEL "${key}"): toniq recreates it, without whatever it held.`,
      options,
    );
    this.key = key;
  }
}

/** `retry` named a failed job whose record cannot be read, so it cannot run again; its bytes are left as they are. */
export class CannotRetryError extends ToniqError {
  readonly jobId: string;
  /** Why, in a few words ("its record cannot be read (…)"). */
  readonly reason: string;
  constructor(jobId: string, reason: string, options?: { cause?: unknown }) {
    super(
      'TONIQ_CANNOT_RETRY',
      `Job #${jobId} cannot be retried: ${reason}. It stays in the failed list as it is; ` +
        `inspect it there (its raw bytes are kept) and delete it once handled.`,
      options,
    );
    this.jobId = jobId;
    this.reason = reason;
  }
}

/**
 * A worker's `migrate` step threw (or returned a promise) while bringing a stored job's arguments
 * from an older version up to the worker's current one. The attempt fails with this error and is
 * retried like any failure; the stored arguments stay as they were, so a fixed migration can
 * run them. The migration's own error is `cause`.
 */
export class MigrationError extends ToniqError {
  readonly worker: string;
  /** The version the failing step starts from (it makes fromVersion + 1). */
  readonly fromVersion: number;
  constructor(worker: string, fromVersion: number, problem: string, options?: { cause?: unknown }) {
    super(
      'TONIQ_MIGRATION_FAILED',
      `Worker "${worker}": migrate[${fromVersion}] (version ${fromVersion} → ${fromVersion + 1} of its arguments) ${problem}. ` +
        `The job's stored arguments are unchanged; fix the migration and the job runs again on its next retry ` +
        `(or retry it from the failed list).`,
      options,
    );
    this.worker = worker;
    this.fromVersion = fromVersion;
  }
}
