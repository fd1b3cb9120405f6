/**
 * toniq: simple, reliable background jobs for Node.js, persisted in Redis.
 * The public surface; everything else is internal.
 */

export type { ConnectAdminOptions } from './admin/admin-api.js';
export { Admin, connectAdmin } from './admin/admin-api.js';
export type {
  ActionResult,
  ActionSource,
  ActionTarget,
  JobCounts,
  JobDetail,
  JobPage,
  JobQuery,
  JobState,
  JobSummary,
  ProcessStats,
  Stats,
  TakeoverFailure,
  Throughput,
  WorkerStats,
} from './admin/admin-types.js';
export type { AdminAuth, AdminHandler, AdminHandlerOptions } from './admin/http/admin-handler.js';
export { createAdminHandler } from './admin/http/admin-handler.js';
export type { StatsWebhook, StatsWebhookOptions } from './admin/stats-webhook.js';
export { startStatsWebhook } from './admin/stats-webhook.js';
export type { RedisTlsProblem, ToniqErrorCode } from './errors.js';
export {
  CannotRetryError,
  CorruptJobRecordError,
  DamagedKeyError,
  InvalidArgumentsError,
  InvalidOptionsError,
  JobNotFoundError,
  JobTimeoutError,
  MigrationError,
  NoSuchProcessError,
  NotReplicatedError,
  NotStartedError,
  RanUnpersistedError,
  RedisRefusedError,
  RedisRequestError,
  RedisTlsError,
  RedisUnavailableError,
  RedisUnreachableError,
  RetryStrategyError,
  StoppedError,
  ToniqError,
  UnknownWorkerError,
  WorkerThrewNonErrorError,
} from './errors.js';
export type { ToniqEventEmitter, ToniqEvents } from './events.js';
export type { FailedJob, Job, JobError } from './job/job.js';
export type { RetryStrategy } from './job/retry-strategies.js';
export {
  MAX_RETRY_DELAY,
  noRetry,
  retryWithIncreasingDelay,
  retryWithoutDelay,
} from './job/retry-strategies.js';
export type { SerializableClass } from './job/serialization.js';
export type { Logger } from './logger.js';
export { consoleLogger, silentLogger } from './logger.js';
export type { ToniqOptions } from './options.js';
export type { DurabilityOptions, RedisSentinelOptions } from './redis-location.js';
export type { StopOnSignalsOptions } from './shutdown.js';
export { stopOnSignals } from './shutdown.js';
export type { AdminJobStore, AdminStore, JobPlace, PlacedId, StoreOverview } from './storage/admin-store.js';
export type {
  DelayedStoredJob,
  JobStore,
  ProcessInfo,
  ProcessReport,
  ProcessStatus,
  StoredJob,
} from './storage/job-store.js';
export { UnexpectedScriptReplyError } from './storage/redis/script-results.js';
export type { RedisTlsOptions } from './tls-options.js';
export type { EnqueueArgs, EnqueueOptions, StopOptions } from './toniq.js';
export { createToniq, Toniq } from './toniq.js';
export type {
  JobContext,
  PerformFunction,
  PersistMode,
  StandardSchemaV1,
  Worker,
  WorkerOptions,
} from './worker.js';
export { defineWorker } from './worker.js';
