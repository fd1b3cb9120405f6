/**
 * The keepalive: how this process shows the others that share the Redis and key prefix that it
 * is alive, and what it does for them:
 * 1. registers it (id, host, pid, start time, version, workers) and keeps its heartbeat;
 * 2. listens for messages: "wake" (another process enqueued a job here) and "process-stopped";
 * 3. takes over the jobs of dead processes (see takeover.ts);
 * 4. on stop, ends the heartbeat and tells the others, so a live process takes the jobs left
 *    here over at once; with none alive, the next process to start does.
 */
import { hostname } from 'node:os';
import type { ToniqEventEmitter } from '../events.js';
import type { Logger } from '../logger.js';
import type { JobStore, Keepalive as KeepaliveThread, ProcessInfo, StoredJob } from '../storage/job-store.js';
import type { LoopWatch } from '../timers.js';
import { TONIQ_VERSION } from '../version.js';
import { Takeover } from './takeover.js';

export interface KeepaliveOptions {
  store: JobStore;
  processId: string;
  workers: readonly string[];
  /** The version of each worker above version 1 (see ProcessInfo.workerVersions). */
  workerVersions: Readonly<Record<string, number>>;
  heartbeatInterval: number;
  deadAfter: number;
  takeoverCheckInterval: number;
  maxEventLoopStall: number;
  logger: Logger;
  loopWatch?: LoopWatch;
  events: ToniqEventEmitter;
  /** Jobs taken over from a dead process, to run here. */
  onJobs: (jobs: StoredJob[]) => void;
  /** Delayed jobs were added here (taken over, or enqueued by another process). */
  onDelayedJobs: () => void;
}

export class Keepalive {
  readonly #o: KeepaliveOptions;
  readonly #info: ProcessInfo;
  readonly #takeover: Takeover;
  #thread: KeepaliveThread | undefined;

  constructor(options: KeepaliveOptions) {
    this.#o = options;
    this.#info = {
      id: options.processId,
      host: hostname(),
      pid: process.pid,
      startedAt: Date.now(),
      version: TONIQ_VERSION,
      workers: options.workers,
      workerVersions: options.workerVersions,
    };
    this.#takeover = new Takeover({
      store: options.store,
      processId: options.processId,
      checkInterval: options.takeoverCheckInterval,
      graceAfterOutage: options.heartbeatInterval * 2,
      confirmAfter: options.heartbeatInterval,
      repeatFailureLogAfter: 5 * 60_000,
      logger: options.logger,
      loopWatch: options.loopWatch,
      events: options.events,
      onJobs: options.onJobs,
      onDelayedJobs: options.onDelayedJobs,
    });
  }

  /** Registers this process; from then on no other process takes its jobs over while it beats. */
  async register(): Promise<void> {
    const { store, deadAfter, processId, logger } = this.#o;
    await store.keepAlive(this.#info, deadAfter);
    await store.subscribe(processId, (message) => {
      if (message.type === 'wake') this.#o.onDelayedJobs();
      else if (message.type === 'process-stopped' && message.processId !== processId)
        this.#takeover.processStopped(message.processId);
    });
    this.#thread = await store.startKeepalive(
      this.#info,
      { interval: this.#o.heartbeatInterval, deadAfter, maxEventLoopStall: this.#o.maxEventLoopStall },
      {
        onTakenOver: () =>
          logger.warn(
            { processId },
            `The heartbeat of this process (${processId}) had lapsed, perhaps because the process was paused, ` +
              `and another process took over its jobs. It registered again and keeps working; jobs that were running ` +
              `here at the time may run twice. If this repeats, raise deadAfter.`,
          ),
        onStalled: (stalledFor) =>
          logger.error(
            { processId, stalledFor },
            `The event loop of this process made no progress for ${stalledFor} ms (more than maxEventLoopStall), ` +
              `so its heartbeat stopped and other processes will take its jobs over. Heartbeats resume when the loop does.`,
          ),
        onError: (error) => {
          this.#takeover.pause();
          logger.error(
            { err: error },
            `Could not refresh the heartbeat of this process: ${error.message}. Trying again. ` +
              `While it fails, other processes see this one as dead after deadAfter (${deadAfter} ms) and take its ` +
              `jobs over, so jobs running here may run twice.`,
          );
        },
        onRecovered: () => {
          this.#takeover.resume();
          logger.info({ processId }, 'The heartbeat of this process works again.');
        },
      },
    );
  }

  /** Starts looking for dead processes to take over, at once and then periodically. */
  startTakeovers(): void {
    this.#takeover.start();
  }

  /**
   * Ends the heartbeat; jobs left here are handed to a live process (or the next to start).
   * Once: a failed start() leaves, and the stop() that follows must not wait again for a
   * keepalive thread that is gone.
   */
  leave(): Promise<void> {
    this.#leaving ??= this.#leave();
    return this.#leaving;
  }

  #leaving: Promise<void> | undefined;

  async #leave(): Promise<void> {
    const { store, processId, logger } = this.#o;
    await this.#takeover.stop();
    await this.#thread?.stop();
    try {
      const leftJobs = await store.endProcess(processId);
      if (leftJobs) {
        await store.publish(null, { type: 'process-stopped', processId });
        logger.info(
          { processId },
          `Handed the jobs left in process ${processId} over to the live processes.`,
        );
      }
    } catch (error) {
      logger.error(
        { err: error },
        `Could not end the heartbeat of process ${processId}; its jobs will be taken over once the heartbeat lapses.`,
      );
    }
  }
}
