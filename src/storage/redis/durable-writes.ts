/**
 * Writes of new jobs under `durability: { replicas }`: the script and one WAIT (WAITAOF with
 * `aof`) go out together in one pipeline, so that the WAIT reaches the very connection, and on a
 * Cluster the very node, that took the write (ioredis routes a Cluster pipeline by its keys; WAIT
 * has none, so it follows the script's). The coalescer sends one script per event-loop turn, so
 * one WAIT covers every job of the turn: a group commit, one round trip per batch, not per job.
 *
 * They use a connection of their own: WAIT holds its connection until the replicas answer or the
 * timeout passes, and the store's other commands (finished jobs, takeovers) must not queue behind it.
 */
import type { Cluster } from 'ioredis';
import { NotReplicatedError } from '../../errors.js';
import type { ResolvedDurability } from '../../redis-location.js';
import { scriptErrorOf } from './redis-errors.js';
import type { ScriptedRedis, ScriptName } from './scripts.js';

/**
 * Runs `script` with `args` and waits for the replicas. Rejects with the script's error, or with
 * NotReplicatedError when fewer replicas than asked confirmed within the timeout (the write
 * itself landed on the master: the caller undoes it, as for any failed write).
 */
export async function writeReplicated(
  redis: ScriptedRedis,
  durability: ResolvedDurability,
  action: string,
  script: ScriptName,
  args: ReadonlyArray<string | Buffer>,
  /** What became of the write when the replicas did not confirm (NotReplicatedError's advice). */
  afterwards?: string,
): Promise<unknown> {
  let results: Array<[Error | null, unknown]> = [];
  for (let attempt = 0; ; attempt++) {
    const pipeline = redis.pipeline();
    (pipeline as unknown as Record<ScriptName, (...args: Array<string | Buffer>) => unknown>)[script](
      ...args,
    );
    if (durability.aof) pipeline.call('WAITAOF', 1, durability.replicas, durability.timeout);
    else pipeline.call('WAIT', durability.replicas, durability.timeout);
    results = (await pipeline.exec()) ?? [];
    // After a cluster failover the script meets MOVED: ioredis follows a redirection of a pipeline
    // only when every command in it failed alike, and WAIT (on the old node) did not. Refresh the
    // slots and send the pair again: the script had not run, so it runs once.
    const moved = results[0]?.[0] && /^(MOVED|ASK) /.test(results[0][0].message);
    if (!moved || attempt === 2 || !('refreshSlotsCache' in redis)) break;
    await new Promise<void>((resolve) => (redis as unknown as Cluster).refreshSlotsCache(() => resolve()));
  }
  const [written, waited] = results;
  if (!written || !waited)
    throw new Error(`the pipeline of ${script} and WAIT answered ${results.length} replies`);
  if (written[0]) throw scriptErrorOf(written[0]);
  if (waited[0]) throw waited[0];
  // WAIT answers the number of replicas; WAITAOF [local fsyncs, replica fsyncs].
  const reply = waited[1];
  const confirmed = Array.isArray(reply) ? Number(reply[1]) : Number(reply);
  if (!(confirmed >= durability.replicas)) {
    const command = durability.aof
      ? `WAITAOF 1 ${durability.replicas} ${durability.timeout}`
      : `WAIT ${durability.replicas} ${durability.timeout}`;
    throw new NotReplicatedError(
      action,
      durability,
      confirmed,
      { cause: new Error(`${command} answered ${JSON.stringify(reply)}`) },
      afterwards,
    );
  }
  return written[1];
}
