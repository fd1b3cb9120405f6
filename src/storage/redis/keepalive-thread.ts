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
import type { RedisLocation } from '../../redis-location.js';
import type { RedisTlsOptions } from '../../tls-options.js';
import { keysFor } from '../keys.js';
import { beatOnce } from './process-registry.js';
import { createRedisClient } from './redis-client.js';
import { defineScripts, type ScriptedRedis } from './scripts.js';

export interface KeepaliveThreadData {
  /** Where Redis is, as the store found it: this thread connects the same way (a Cluster, Sentinel). */
  location: RedisLocation;
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
let stopping = false;
/**
 * A connection for the beats. When ioredis leaves it in its terminal `end` state (it then never
 * reconnects), a new one replaces it, so that the heartbeat resumes once Redis is back.
 */
function open(): ScriptedRedis {
  const client = defineScripts(
    createRedisClient(data.location, data.tls, {
      commandTimeout: Math.max(data.interval, 1000),
      retryStrategy: (times) => Math.min(times * 100, 1000),
      lazyConnect: false,
    }),
  );
  client.on('error', () => {
    // Reported through the failing keep-alive below.
  });
  client.once('ready', startBeating);
  client.on('end', () => {
    if (stopping) return;
    setTimeout(() => {
      if (!stopping) redis = open();
    }, 500);
  });
  return client;
}
let redis = open();

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
    const takenOver = await beatOnce(redis, keys, data.processId, data.infoJson, data.deadAfter, false);
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
function startBeating(): void {
  if (timer || stopping) return;
  timer = setInterval(tick, data.interval);
  tick();
}

parentPort?.on('message', async (message) => {
  if (message !== 'stop') return;
  stopping = true;
  clearInterval(timer);
  await beating;
  await redis.quit().catch(() => redis.disconnect());
  post({ type: 'stopped' });
});
