/**
 * The heartbeat, sent from a worker thread with its own Redis connection, so that a job which
 * blocks the main event loop with CPU work does not get its process taken over.
 *
 * The main thread writes the time into shared memory every tick. When it has not done so for
 * `maxEventLoopStall`, the process is hung, not busy: the heartbeat stops, so that the other
 * processes take its jobs over. Messages to the main thread: 'beating' (after the first beat),
 * 'taken-over', 'stalled', 'error', 'recovered', and 'stopped' in answer to 'stop'.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Redis } from 'ioredis';
import type { RedisTlsOptions } from '../../tls-options.js';
import { keysFor } from '../keys.js';
import { beatOnce } from './process-registry.js';
import { defineScripts } from './scripts.js';

export interface KeepaliveThreadData {
  url: string;
  /** The store's tls option, cloned into this thread (hence data only: see tls-options.ts). */
  tls: RedisTlsOptions | undefined;
  keyPrefix: string;
  processId: string;
  infoJson: string;
  interval: number;
  deadAfter: number;
  maxEventLoopStall: number;
  /** BigInt64Array[1]: the main thread's last tick, epoch ms. */
  progress: SharedArrayBuffer;
}

const data = workerData as KeepaliveThreadData;
const progress = new BigInt64Array(data.progress);
const keys = keysFor(data.keyPrefix);
const redis = defineScripts(
  new Redis(data.url, {
    ...(data.tls ? { tls: data.tls } : {}),
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: Math.max(data.interval, 1000),
    retryStrategy: (times) => Math.min(times * 100, 1000),
  }),
);
redis.on('error', () => {
  // Reported through the failing keep-alive below.
});

let state: 'ok' | 'error' | 'stalled' = 'ok';
let beating: Promise<void> | undefined;
const post = (message: object) => parentPort?.postMessage(message);

async function beat(): Promise<void> {
  const stalledFor = Date.now() - Number(Atomics.load(progress, 0));
  if (stalledFor > data.maxEventLoopStall) {
    if (state !== 'stalled') post({ type: 'stalled', stalledFor });
    state = 'stalled';
    return;
  }
  try {
    const takenOver = await beatOnce(redis, keys, data.processId, data.infoJson, data.deadAfter);
    if (state !== 'ok') post({ type: 'recovered' });
    state = 'ok';
    if (takenOver) post({ type: 'taken-over' });
  } catch (error) {
    if (state !== 'error') post({ type: 'error', message: (error as Error).message });
    state = 'error';
  }
}

let firstBeat = true;
const tick = () => {
  beating ??= beat().finally(() => {
    beating = undefined;
    // The main thread beats until this thread has, since starting a thread can take a while.
    if (firstBeat && state === 'ok') {
      firstBeat = false;
      post({ type: 'beating' });
    }
  });
};
let timer: NodeJS.Timeout | undefined;
// Beat only once connected: an error before the first connection would be noise.
redis.once('ready', () => {
  timer = setInterval(tick, data.interval);
  tick();
});

parentPort?.on('message', async (message) => {
  if (message !== 'stop') return;
  clearInterval(timer);
  await beating;
  await redis.quit().catch(() => redis.disconnect());
  post({ type: 'stopped' });
});
