/**
 * toniq: simple, reliable background jobs for Node.js, persisted in Redis.
 * The public surface; everything else is internal.
 */

export type { ToniqErrorCode } from './errors.js';
export {
  CorruptJobRecordError,
  InvalidArgumentsError,
  InvalidOptionsError,
  JobNotFoundError,
  JobTimeoutError,
  NoSuchProcessError,
  NotStartedError,
  RedisUnavailableError,
  RedisUnreachableError,
  StoppedError,
  ToniqError,
  UnknownWorkerError,
  WorkerThrewNonErrorError,
} from './errors.js';
export type { ToniqEventEmitter, ToniqEvents } from './events.js';
export type { FailedJob, Job, JobError } from './job/job.js';
export type { RetryStrategy } from './job/retry-strategies.js';
export { noRetry, retryWithIncreasingDelay, retryWithoutDelay } from './job/retry-strategies.js';
export type { SerializableClass } from './job/serialization.js';
export type { Logger } from './logger.js';
export { consoleLogger, silentLogger } from './logger.js';
export type { ToniqOptions } from './options.js';
export type { StopOnSignalsOptions } from './shutdown.js';
export { stopOnSignals } from './shutdown.js';
export type {
  DelayedStoredJob,
  JobStore,
  ProcessInfo,
  ProcessStatus,
  StoredJob,
} from './storage/job-store.js';
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
