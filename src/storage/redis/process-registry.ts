/**
 * A process's place in the registry (the app's slot) and the marks in its own keyspace that keep
 * the two in step: the beat registers first and then refreshes the heartbeat and opens the
 * keyspace for writes; a process is forgotten only once its keyspace is empty and closed, and only if no
 * one registered it again meanwhile (its epoch). docs/internals.md, "Keys and slots", says why.
 */
import type { ProcessInfo } from '../job-store.js';
import type { Keys } from '../keys.js';
import { statusOf } from './script-results.js';
import type { ScriptedRedis } from './scripts.js';

/** What a process is registered with: its info and when it counts as dead. */
export function infoJson(info: ProcessInfo, deadAfter: number): string {
  return JSON.stringify({ ...info, deadAfter });
}

/** What a process is registered with when jobs are written for it while it is not registered. */
export function placeholderJson(processId: string): string {
  return JSON.stringify({ id: processId, placeholder: true });
}

/**
 * One beat: registers the process (the app's slot), then refreshes its heartbeat in its own
 * keyspace (beat.lua), in that order, so that a keyspace that takes writes always belongs to a
 * registered process. True when the process was taken over (it found itself not registered with
 * its own info, or a takeover's note), or on its first beat.
 *
 * A failed registration rejects when `mustRegister` (at start); otherwise the heartbeat is
 * refreshed all the same, without opening the keyspace: on a Redis Cluster the app's slot may be
 * failing over while this process's own slot is fine, and the process must not look dead then.
 */
export async function beatOnce(
  redis: ScriptedRedis,
  keys: Keys,
  processId: string,
  infoJson: string,
  deadAfter: number,
  mustRegister = true,
): Promise<boolean> {
  let registered: unknown;
  let registerError: unknown;
  try {
    registered = await redis.registerProcess(keys.registry, keys.registryEpochs, processId, infoJson, 'own');
  } catch (error) {
    if (mustRegister) throw error;
    registerError = error;
  }
  const own = keys.process(processId);
  const opened = registerError === undefined ? '1' : '0';
  const beat = await redis.beat(own.heartbeat, own.open, own.takenOverBy, Date.now(), deadAfter, opened);
  if (registerError !== undefined) return statusOf('beat', beat) === 'taken-over';
  return (
    statusOf('registerProcess', registered) === 'registered-again' || statusOf('beat', beat) === 'taken-over'
  );
}

/** How long a takeover's note waits for the process's next beat (claim-process.lua). */
export const TAKEOVER_NOTE_FOR = 24 * 60 * 60 * 1000;

/** Removes a process from `registry` if its epoch is still `epoch` (forget-process.lua); true when it did. */
export async function forgetProcess(
  redis: ScriptedRedis,
  keys: Keys,
  registry: string,
  processId: string,
  epoch: string,
): Promise<boolean> {
  const reply = await redis.forgetProcess(
    registry,
    keys.registryEpochs,
    keys.reports,
    keys.takeoverErrors,
    processId,
    epoch,
  );
  return statusOf('forgetProcess', reply) === 'forgotten';
}

/**
 * Registers a process whose keyspace is closed (with a placeholder unless it is registered) and
 * then opens its keyspace, in that order: a write refused as "closed" can then be repeated.
 */
export async function openKeyspace(redis: ScriptedRedis, keys: Keys, processId: string): Promise<void> {
  await redis.registerProcess(
    keys.registry,
    keys.registryEpochs,
    processId,
    placeholderJson(processId),
    'placeholder',
  );
  await redis.set(keys.process(processId).open, '1');
}
