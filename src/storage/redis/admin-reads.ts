/**
 * What the admin (web UI, JSON API, CLI) reads from Redis: the overview of processes with their
 * counts and reports, the throughput, the ids and records of a place, and its one write of its
 * own (run delayed jobs now). Apart from the store's runtime verbs because the runtime never uses
 * them, and because each of these turns a Redis failure into toniq's error (RedisRequestError,
 * DamagedKeyError): the admin answers by `code`, never by reading ioredis's messages.
 */
import { describeRedisRefusal } from '../../errors.js';
import { OnceUntilReset } from '../../log-once.js';
import type { Logger } from '../../logger.js';
import type { JobPlace, PlacedId, StoreOverview } from '../admin-store.js';
import type { ProcessStatus, StoredJob } from '../job-store.js';
import type { Keys } from '../keys.js';
import { asRequest, damagedKeyOf } from './redis-errors.js';
import {
  checked,
  countsOf,
  jobsFound,
  parseInfo,
  parseReport,
  parseTakeoverError,
  read,
  sizeOf,
  timeOfScore,
} from './replies.js';
import type { ScriptedRedis } from './scripts.js';

/** Jobs per script call of the verbs that take many: one call stays short, as Redis runs nothing else meanwhile. */
export const SCRIPT_BATCH = 5000;

/** How a failed admin read names itself in its error ("Redis refused the admin's request: …"). */
const ADMIN_REQUEST = "the admin's request";

export class AdminReads {
  readonly #client: () => ScriptedRedis;
  readonly #keys: Keys;
  readonly #logger: Logger;
  readonly #countsWarning = new OnceUntilReset();

  constructor(options: { client: () => ScriptedRedis; keys: Keys; logger: Logger }) {
    this.#client = options.client;
    this.#keys = options.keys;
    this.#logger = options.logger;
  }

  /** Every registered process, alive or not, with its takeover error when one was recorded. */
  async listProcesses(): Promise<ProcessStatus[]> {
    const k = this.#keys;
    const client = this.#client();
    const [registered, legacy, takeoverErrors] = await Promise.all([
      read(client.hgetall(k.registry)),
      // Processes of toniq before 0.2, until they are taken over (their keys have the old layout).
      read(client.hgetall(k.legacyRegistry)),
      // The notes are advisory, like the counts: a damaged key must not stop takeovers.
      client.hgetall(k.takeoverErrors).catch((error: unknown) => {
        if (damagedKeyOf(error)) return {} as Record<string, string>;
        throw error;
      }),
    ]);
    const legacyIds = Object.keys(legacy).filter((id) => !Object.hasOwn(registered, id));
    const ids = [...Object.keys(registered), ...legacyIds];
    if (!ids.length) return [];
    for (const id of legacyIds) registered[id] = legacy[id]!;
    // One command per process (on a Redis Cluster each heartbeat is in its process's slot). A
    // failed one fails the listing: a heartbeat that cannot be read (its shard failing over) must
    // not read as dead, or its process would be taken over while it is alive.
    const ttls = await Promise.all(
      ids.map((id, i) => {
        const heartbeat = (i < ids.length - legacyIds.length ? k.process(id) : k.legacyProcess(id)).heartbeat;
        return client.pttl(heartbeat);
      }),
    );
    return ids.map((id, i) => {
      const { deadAfter, damaged, ...info } = parseInfo(id, registered[id]!);
      const ttl = ttls[i] ?? -2;
      const alive = ttl > 0;
      const takeoverError = alive ? undefined : parseTakeoverError(takeoverErrors[id]);
      return {
        ...info,
        heartbeatAge: alive ? Math.max(0, deadAfter - ttl) : null,
        ...(takeoverError && { takeoverError }),
        ...(damaged && { damaged }),
      };
    });
  }

  readOverview(): Promise<StoreOverview> {
    return asRequest(ADMIN_REQUEST, async () => {
      const k = this.#keys;
      const client = this.#client();
      const [processes, reports, counts, failed] = await Promise.all([
        this.listProcesses(),
        read(client.hgetall(k.reports)),
        client.hgetall(k.counts).catch((error: unknown) => this.#damagedCounts(error)),
        read(client.zcard(k.failedIndex)),
      ]);
      // One command per key: on a Redis Cluster each process's keys are in its own slot. Settled
      // like a pipeline's replies, [error, value], so that one damaged key shows as a note.
      const sizes = await Promise.all(
        processes.flatMap((process) => {
          const own = k.process(process.id);
          return [client.hlen(own.jobs), client.zcard(own.delayed)].map(settled);
        }),
      );
      const delayedCounts = await Promise.all(
        processes.map((process) =>
          client
            .hgetall(k.process(process.id).delayedCounts)
            .catch((error: unknown) => this.#damagedCounts(error)),
        ),
      );
      return {
        processes: processes.map((process, i) => {
          const { report, damaged } = parseReport(reports[process.id]);
          const sizeError = sizes[2 * i]?.[0] ?? sizes[2 * i + 1]?.[0];
          const notes = [
            process.damaged,
            damaged,
            sizeError &&
              `Its jobs cannot be counted: ${describeRedisRefusal(sizeError) ?? sizeError.message}`,
          ]
            .filter(Boolean)
            .join(' ');
          return {
            ...process,
            held: sizeOf(sizes[2 * i]),
            delayed: sizeOf(sizes[2 * i + 1]),
            report,
            ...(notes && { damaged: notes }),
          };
        }),
        // Each process counts its delayed jobs; toniq before 0.2 counted them in the app's counts.
        delayedByWorker: sumCounts([counts, ...delayedCounts], 'delayed:'),
        failedByWorker: countsOf(counts, 'failed:'),
        failed,
      };
    });
  }

  /**
   * The counts are advisory (the scripts leave a damaged counts key alone): the overview goes on
   * without them, and says once what to do.
   */
  #damagedCounts(error: unknown): Record<string, string> {
    const damaged = damagedKeyOf(error);
    if (!damaged) throw error;
    if (this.#countsWarning.first()) {
      this.#logger.warn({ err: damaged }, `${damaged.message} Until then the per-worker counts show 0.`);
    }
    return {};
  }

  readThroughput(fromSecond: number, seconds: number): Promise<{ finished: number[]; failed: number[] }> {
    return asRequest(ADMIN_REQUEST, async () => {
      const finished = new Array<number>(seconds).fill(0);
      const failed = new Array<number>(seconds).fill(0);
      const firstMinute = Math.floor(fromSecond / 60);
      const lastMinute = Math.floor((fromSecond + seconds - 1) / 60);
      const pipeline = this.#client().pipeline();
      for (let minute = firstMinute; minute <= lastMinute; minute++)
        pipeline.hgetall(this.#keys.throughput(minute));
      const replies = checked((await pipeline.exec()) ?? []);
      replies.forEach(([, fields], i) => {
        const minuteStart = (firstMinute + i) * 60;
        for (const [field, value] of Object.entries((fields ?? {}) as Record<string, string>)) {
          // Fields are f<second> and x<second> (record-stats.lua); anything else is not ours.
          const match = /^([fx])(\d{1,2})$/.exec(field);
          const count = Number(value);
          if (!match || !Number.isSafeInteger(count) || count < 0) continue;
          const index = minuteStart + Number(match[2]) - fromSecond;
          if (index < 0 || index >= seconds) continue;
          (match[1] === 'f' ? finished : failed)[index] = count;
        }
      });
      return { finished, failed };
    });
  }

  listPlaceIds(place: JobPlace): Promise<PlacedId[]> {
    return asRequest(ADMIN_REQUEST, async () => {
      const k = this.#keys;
      if (place.kind === 'held') {
        const ids = await read(this.#client().hkeys(k.process(place.processId).jobs));
        return ids.sort().map((id) => ({ id, score: 0 }));
      }
      const key = place.kind === 'delayed' ? k.process(place.processId).delayed : k.failedIndex;
      return placedIds(await read(this.#client().zrange(key, 0, -1, 'WITHSCORES')));
    });
  }

  pagePlaceIds(
    place: JobPlace & { kind: 'delayed' | 'failed' },
    offset: number,
    limit: number,
    newestFirst: boolean,
  ): Promise<{ ids: PlacedId[]; total: number }> {
    return asRequest(ADMIN_REQUEST, async () => {
      const key =
        place.kind === 'delayed' ? this.#keys.process(place.processId).delayed : this.#keys.failedIndex;
      const last = offset + limit - 1;
      const batch = this.#client().multi();
      if (newestFirst) batch.zrevrange(key, offset, last, 'WITHSCORES');
      else batch.zrange(key, offset, last, 'WITHSCORES');
      const [[, flat], [, total]] = checked((await batch.zcard(key).exec()) ?? []) as [
        [unknown, string[]],
        [unknown, number],
      ];
      return { ids: placedIds(flat), total };
    });
  }

  getPlaceRecords(place: JobPlace, ids: readonly string[]): Promise<StoredJob[]> {
    return asRequest(ADMIN_REQUEST, async () => {
      if (!ids.length) return [];
      const k = this.#keys;
      const key =
        place.kind === 'held'
          ? k.process(place.processId).jobs
          : place.kind === 'delayed'
            ? k.process(place.processId).delayedJobs
            : k.failed;
      return jobsFound(ids, await read(this.#client().hmgetBuffer(key, ...ids)));
    });
  }

  dueTime(processId: string, id: string): Promise<number | null> {
    return asRequest(ADMIN_REQUEST, async () => {
      const score = await read(this.#client().zscore(this.#keys.process(processId).delayed, id));
      return score === null ? null : timeOfScore(score);
    });
  }

  makeDelayedJobsDue(processId: string, ids: readonly string[]): Promise<string[]> {
    return asRequest(ADMIN_REQUEST, async () => {
      const key = this.#keys.process(processId).delayed;
      const found: string[] = [];
      for (let start = 0; start < ids.length; start += SCRIPT_BATCH) {
        const batch = ids.slice(start, start + SCRIPT_BATCH);
        found.push(...((await this.#client().makeDelayedJobsDue(key, ...batch)) as string[]));
      }
      return found;
    });
  }
}

/** A command's reply as a pipeline gives it: [error, value]. */
function settled<T>(reply: Promise<T>): Promise<[Error | null, T | null]> {
  return reply.then(
    (value) => [null, value],
    (error: Error) => [error, null],
  );
}

/** The per-worker counts of `kind` ("delayed:"), summed over several counts hashes. */
function sumCounts(hashes: ReadonlyArray<Record<string, string>>, kind: string): Map<string, number> {
  const sum = new Map<string, number>();
  for (const hash of hashes) {
    for (const [worker, count] of countsOf(hash, kind)) sum.set(worker, (sum.get(worker) ?? 0) + count);
  }
  return sum;
}

/** A ZRANGE … WITHSCORES reply (id, score, id, score, …) as ids with their scores. */
function placedIds(flat: string[]): PlacedId[] {
  const ids: PlacedId[] = [];
  for (let i = 0; i < flat.length; i += 2) ids.push({ id: flat[i]!, score: timeOfScore(flat[i + 1]!) });
  return ids;
}
