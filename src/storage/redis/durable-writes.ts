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
import { NotReplicatedError } from '../../errors.js';
import type { ResolvedDurability } from '../../redis-location.js';
import { scriptErrorOf } from './redis-errors.js';
import type { ScriptedRedis, ScriptName } from './scripts.js';

/**
 * Runs `script` with `args` and waits for the replicas. Rejects with the script's error, or with
 * NotReplicatedError when fewer replicas than asked confirmed within the timeout (the write
 * itself landed on the master: the caller undoes it, as for any failed write).
 */
/** A command (or script) that removes what a write of new jobs wrote, sent on its connection. */
export interface UndoCommand {
  command: string;
  args: Array<string | Buffer>;
}

export interface ReplicatedWrite {
  /** For the error message: "enqueue a job". */
  action: string;
  script: ScriptName;
  args: ReadonlyArray<string | Buffer>;
  undo: UndoCommand;
  /** How long the caller may still wait, in ms (it waited for the batch before this one). */
  budget: number;
  /** What became of the write when the replicas did not confirm (NotReplicatedError's advice). */
  afterwards?: string | undefined;
}

export async function writeReplicated(
  redis: ScriptedRedis,
  durability: ResolvedDurability,
  { action, script, args, undo, budget, afterwards }: ReplicatedWrite,
): Promise<unknown> {
  const deadline = Date.now() + budget;
  for (let attempt = 1; ; attempt++) {
    // Nothing sent yet: a write that could not finish in time is refused before it writes.
    if (Date.now() >= deadline) throw new Error('Command timed out');
    try {
      return await withinDeadline(writeOnce(redis, durability, action, script, args, afterwards), deadline);
    } catch (error) {
      if (!isScriptRefusal(error)) {
        // The write may have landed (the replicas did not confirm it), or may still be queued
        // behind an earlier WAIT on this connection (the command timed out here): an undo sent
        // on the same connection runs after it whichever it is. A refusal wrote nothing.
        const send = (
          redis as unknown as Record<string, (...args: Array<string | Buffer>) => Promise<unknown>>
        )[undo.command];
        send?.call(redis, ...undo.args).catch(() => {});
        throw error;
      }
      // ioredis follows a MOVED inside a Cluster pipeline only when every command got it, and
      // WAIT (no key) never does: after a failover the slots must be read again here, and the
      // write sent again (a refused script wrote nothing).
      if (!('refreshSlotsCache' in redis) || attempt >= CLUSTER_ATTEMPTS || !isRedirect(error)) throw error;
      await new Promise<void>((resolve) => redis.refreshSlotsCache(() => resolve()));
      await new Promise((resolve) => setTimeout(resolve, CLUSTER_RETRY_DELAY * (attempt - 1)));
    }
  }
}

/** How often a write that met MOVED, ASK, CLUSTERDOWN or TRYAGAIN is sent, and the delay between, in ms. */
const CLUSTER_ATTEMPTS = 4;
const CLUSTER_RETRY_DELAY = 200;

/**
 * The write's outcome, or a timeout at `deadline`: the write goes on in Redis then, and the undo
 * the caller sends on the same connection runs after it.
 */
function withinDeadline<T>(write: Promise<T>, deadline: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('Command timed out')), Math.max(0, deadline - Date.now()));
  });
  return Promise.race([write, timeout]).finally(() => clearTimeout(timer));
}

/** An error reply to the script itself (MOVED, a damaged key, OOM…): Redis ran nothing of it. */
function isScriptRefusal(error: unknown): boolean {
  return error instanceof Error && (error as { scriptRefusal?: boolean }).scriptRefusal === true;
}

function isRedirect(error: unknown): boolean {
  return error instanceof Error && /^(MOVED|ASK|CLUSTERDOWN|TRYAGAIN)\b/.test(error.message);
}

async function writeOnce(
  redis: ScriptedRedis,
  durability: ResolvedDurability,
  action: string,
  script: ScriptName,
  args: ReadonlyArray<string | Buffer>,
  afterwards: string | undefined,
): Promise<unknown> {
  const pipeline = redis.pipeline();
  (pipeline as unknown as Record<ScriptName, (...args: Array<string | Buffer>) => unknown>)[script](...args);
  if (durability.aof) pipeline.call('WAITAOF', 1, durability.replicas, durability.timeout);
  else pipeline.call('WAIT', durability.replicas, durability.timeout);
  const results = (await pipeline.exec()) ?? [];
  const [written, waited] = results;
  if (!written || !waited)
    throw new Error(`the pipeline of ${script} and WAIT answered ${results.length} replies`);
  if (written[0]) {
    const refusal = scriptErrorOf(written[0]);
    if (refusal instanceof Error) Object.assign(refusal, { scriptRefusal: true });
    throw refusal;
  }
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
