/**
 * A process's registration and heartbeat: the beat itself (process-registry.ts), the leaving
 * (end-process.lua, then forget-process.lua), and the wiring of the heartbeat thread (keepalive-thread.ts), which beats from
 * its own connection so that a job blocking the main event loop does not get its process taken
 * over. The main thread proves it makes progress through shared memory; until the thread's first
 * beat, the main thread beats itself.
 */
import { Worker } from 'node:worker_threads';
import { describeRedisRefusal, RedisRefusedError } from '../../errors.js';
import type { RedisLocation } from '../../redis-location.js';
import type { RedisTlsOptions } from '../../tls-options.js';
import type { Keepalive, KeepaliveCallbacks, KeepaliveTiming, ProcessInfo } from '../job-store.js';
import type { Keys } from '../keys.js';
import type { KeepaliveThreadData } from './keepalive-thread.js';
import { beatOnce, forgetProcess, infoJson } from './process-registry.js';
import { statusOf } from './script-results.js';
import type { ScriptedRedis } from './scripts.js';

/** One beat from the main thread (beatOnce), with a refusal at start said as such. */
export async function keepAlive(
  redis: ScriptedRedis,
  keys: Keys,
  url: string,
  info: ProcessInfo,
  deadAfter: number,
): Promise<boolean> {
  try {
    return await beatOnce(redis, keys, info.id, infoJson(info, deadAfter), deadAfter);
  } catch (error) {
    // At start this is the first write: an out-of-memory or permission refusal must say so.
    if (describeRedisRefusal(error)) {
      throw new RedisRefusedError(url, 'register this process (its heartbeat)', { cause: error });
    }
    throw error;
  }
}

/**
 * Gives up the heartbeat; true when the process holds jobs and stays registered for their
 * takeover. Otherwise its keyspace is closed and it leaves the registry, unless it was
 * registered again meanwhile (jobs written for it: then it stays, for a takeover).
 */
export async function endProcess(redis: ScriptedRedis, keys: Keys, processId: string): Promise<boolean> {
  const own = keys.process(processId);
  const epoch = (await redis.hget(keys.registryEpochs, processId)) ?? '';
  const reply = await redis.endProcess(
    own.heartbeat,
    own.jobs,
    own.delayed,
    own.delayedJobs,
    own.failing,
    own.open,
  );
  if (statusOf('endProcess', reply) === 'jobs-left') return true;
  await forgetProcess(redis, keys, keys.registry, processId, epoch);
  return false;
}

export interface KeepaliveThreadOptions {
  /** Where Redis is: the thread connects the same way as the store. */
  location: RedisLocation;
  tls: RedisTlsOptions | undefined;
  keys: Keys;
  info: ProcessInfo;
  timing: KeepaliveTiming;
  callbacks: KeepaliveCallbacks;
  /** A beat from the main thread (keepAlive), used until the thread has beaten once. */
  beatHere: () => Promise<boolean>;
}

export function startKeepaliveThread(options: KeepaliveThreadOptions): Keepalive {
  const { info, timing, callbacks, keys } = options;
  const progress = new BigInt64Array(new SharedArrayBuffer(8));
  const tick = () => Atomics.store(progress, 0, BigInt(Date.now()));
  tick();
  // The main thread proves it makes progress; the heartbeat thread checks before each beat.
  const ticker = setInterval(tick, Math.max(10, Math.min(timing.interval, timing.maxEventLoopStall / 4)));
  ticker.unref();
  const data: KeepaliveThreadData = {
    location: options.location,
    tls: options.tls,
    keyPrefix: keys.prefix,
    processId: info.id,
    infoJson: infoJson(info, timing.deadAfter),
    interval: timing.interval,
    deadAfter: timing.deadAfter,
    maxEventLoopStall: timing.maxEventLoopStall,
    progress: progress.buffer as SharedArrayBuffer,
  };
  const thread = new Worker(new URL('./keepalive-thread.js', import.meta.url), { workerData: data });
  thread.unref();
  // Until the thread's first beat (starting a thread under load can outlast deadAfter), beat from here.
  const bridge = setInterval(() => {
    options.beatHere().then(
      (wasTakenOver) => wasTakenOver && callbacks.onTakenOver(),
      () => {}, // the thread reports errors once it runs
    );
  }, timing.interval);
  bridge.unref();
  let stopped: (() => void) | undefined;
  thread.on('message', (message: { type: string; stalledFor?: number; message?: string }) => {
    if (message.type === 'beating') clearInterval(bridge);
    else if (message.type === 'taken-over') callbacks.onTakenOver();
    else if (message.type === 'stalled') callbacks.onStalled(message.stalledFor ?? 0);
    else if (message.type === 'error') callbacks.onError(new Error(message.message));
    else if (message.type === 'recovered') callbacks.onRecovered();
    else if (message.type === 'stopped') stopped?.();
  });
  thread.on('error', (error) => callbacks.onError(error));
  return {
    stop: async () => {
      clearInterval(ticker);
      clearInterval(bridge);
      // Wait for the thread to finish a beat in flight, so that no beat lands after endProcess.
      const done = new Promise<void>((resolve) => {
        stopped = resolve;
        thread.once('exit', () => resolve());
      });
      thread.postMessage('stop');
      const timer = setTimeout(() => void thread.terminate(), 2000);
      await done;
      clearTimeout(timer);
      await thread.terminate();
    },
  };
}
