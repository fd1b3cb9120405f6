/**
 * Messages between processes over Redis pub/sub: a wake-up for one process (a job was enqueued or
 * retried for it), and "a process stopped" for all (its jobs can be taken over now, not after its
 * heartbeat lapses). Listening needs a connection of its own, as a subscribed one sends nothing else.
 */
import type { Redis } from 'ioredis';
import type { StoreMessage } from '../job-store.js';
import type { Keys } from '../keys.js';

/** The channel of a message to one process, or to all (`processId` null). */
export function channelOf(keys: Keys, processId: string | null): string {
  return processId === null ? keys.processStoppedChannel : keys.wakeChannel(processId);
}

/** Listens for the messages to `processId` and to all, on a second connection it returns (to quit on close). */
export async function subscribeToMessages(
  redis: Redis,
  keys: Keys,
  processId: string,
  onMessage: (message: StoreMessage) => void,
): Promise<Redis> {
  const subscriber = redis.duplicate({ lazyConnect: true, enableOfflineQueue: true });
  subscriber.on('error', () => {
    // The main connection reports outages; ioredis resubscribes after reconnecting.
  });
  subscriber.on('message', (_channel: string, text: string) => {
    try {
      onMessage(JSON.parse(text) as StoreMessage);
    } catch {
      // Not ours; ignore.
    }
  });
  await subscriber.connect();
  await subscriber.subscribe(keys.wakeChannel(processId), keys.processStoppedChannel);
  return subscriber;
}
