/**
 * Messages between processes over Redis pub/sub: a wake-up for one process (a job was enqueued or
 * retried for it), and "a process stopped" for all (its jobs can be taken over now, not after its
 * heartbeat lapses). Listening needs a connection of its own, as a subscribed one sends nothing else;
 * it is made from the store's RedisLocation, so it finds a Cluster or a Sentinel master the same way.
 */
import type { Cluster, Redis } from 'ioredis';
import type { RedisLocation } from '../../redis-location.js';
import { redisRetryDelay } from '../../timers.js';
import type { RedisTlsOptions } from '../../tls-options.js';
import type { StoreMessage } from '../job-store.js';
import type { Keys } from '../keys.js';
import { connectWithin, createRedisClient } from './redis-client.js';

/** The channel of a message to one process, or to all (`processId` null). */
export function channelOf(keys: Keys, processId: string | null): string {
  return processId === null ? keys.processStoppedChannel : keys.wakeChannel(processId);
}

export interface Subscription {
  close(): Promise<void>;
}

export interface SubscribeOptions {
  location: RedisLocation;
  tls: RedisTlsOptions | undefined;
  commandTimeout: number;
  keys: Keys;
  processId: string;
  onMessage: (message: StoreMessage) => void;
}

/** Listens for the messages to `processId` and to all, on a connection of its own (closed by close()). */
export async function subscribeToMessages(options: SubscribeOptions): Promise<Subscription> {
  const { keys, processId } = options;
  const channels = [keys.wakeChannel(processId), keys.processStoppedChannel];
  let closed = false;
  const open = (): Redis | Cluster => {
    const subscriber = createRedisClient(options.location, options.tls, {
      commandTimeout: options.commandTimeout,
      retryStrategy: (times) => redisRetryDelay(times - 1),
      enableOfflineQueue: true,
    });
    subscriber.on('error', () => {
      // The main connection reports outages; ioredis resubscribes after reconnecting.
    });
    subscriber.on('message', (_channel: string, text: string) => {
      try {
        options.onMessage(JSON.parse(text) as StoreMessage);
      } catch {
        // Not ours; ignore.
      }
    });
    subscriber.on('end', () => {
      // ioredis gave up on this connection for good (see connection.ts): listen on a new one.
      if (closed) return;
      const replacement = open();
      current = replacement;
      replacement.once('ready', () => void replacement.subscribe(...channels).catch(() => {}));
      setTimeout(() => {
        if (!closed && replacement.status === 'wait') replacement.connect().catch(() => {});
      }, redisRetryDelay(1)).unref();
    });
    return subscriber;
  };
  let current = open();
  try {
    await connectWithin(current, options.commandTimeout);
    await current.subscribe(...channels);
  } catch (error) {
    closed = true;
    current.disconnect();
    throw error;
  }
  return {
    async close() {
      closed = true;
      await current.quit().catch(() => current.disconnect());
    },
  };
}
