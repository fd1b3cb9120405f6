/**
 * The store's connections to Redis, wherever it is (one server, a Cluster, a Sentinel master):
 * 1. the main one, for every verb of the store;
 * 2. with `durability`, the writer, for writes of new jobs and the WAIT after each batch
 *    (durable-writes.ts), apart so that a WAIT holds up nothing else;
 * 3. the subscriber of messages (messages.ts).
 * Each is opened from the same resolved RedisLocation, which the keepalive thread gets a copy of.
 * A connection that ioredis ends for good is replaced (connection.ts); the store always asks
 * here for the current one.
 */
import type { Logger } from '../../logger.js';
import type { RedisLocation, RedisWhereOptions, ResolvedDurability } from '../../redis-location.js';
import type { RedisTlsOptions } from '../../tls-options.js';
import type { StoreMessage } from '../job-store.js';
import type { Keys } from '../keys.js';
import { addressOf, checkDurability, checkServer, connectRedis, resolveLocation } from './connection.js';
import { type UndoCommand, writeReplicated } from './durable-writes.js';
import { type Subscription, subscribeToMessages } from './messages.js';
import type { ScriptedRedis, ScriptName } from './scripts.js';

export interface StoreConnectionsOptions extends RedisWhereOptions {
  durability?: ResolvedDurability | undefined;
  tls?: RedisTlsOptions | undefined;
  logger: Logger;
  commandTimeout: number;
  /** Called when the main connection is back after an outage. */
  onReconnected: () => void;
}

export class StoreConnections {
  readonly #options: StoreConnectionsOptions;
  #redis: ScriptedRedis | undefined;
  #writer: ScriptedRedis | undefined;
  #subscriber: Subscription | undefined;
  #location: RedisLocation = { kind: 'server', url: '' };
  #closed = false;

  constructor(options: StoreConnectionsOptions) {
    this.#options = options;
  }

  /** The main connection (throws before open()). */
  get main(): ScriptedRedis {
    if (!this.#redis) throw new Error('RedisStore used before open()');
    return this.#redis;
  }

  get isReady(): boolean {
    return this.#redis?.status === 'ready';
  }

  /** Where Redis is, resolved by open(): data only, for the keepalive thread. */
  get location(): RedisLocation {
    return this.#location;
  }

  /** The location as errors name it: a URL, or the Cluster or Sentinel in words. */
  get address(): string {
    return addressOf(this.#location);
  }

  /** Connects (and the writer with `durability`); resolves with warnings about the server. */
  async open(): Promise<string[]> {
    const { commandTimeout, logger, tls, durability } = this.#options;
    this.#location = await resolveLocation(this.#options);
    const connect = (main: boolean) =>
      connectRedis({
        location: this.#location,
        tls,
        logger,
        commandTimeout,
        logOutages: main,
        // The writer's writes are undone when they fail: never resend one after its undo.
        resend: main,
        inUse: () => this.#redis !== undefined && !this.#closed,
        onReconnected: () => {
          if (main) this.#options.onReconnected();
        },
        onReplaced: (redis) => {
          if (main) this.#redis = redis;
          else this.#writer = redis;
        },
      });
    this.#redis = await connect(true);
    const warnings = await checkServer(this.#redis);
    if (!durability) return warnings;
    try {
      warnings.push(...(await checkDurability(this.#redis, durability, this.#location)));
      this.#writer = await connect(false);
    } catch (error) {
      this.#redis.disconnect();
      this.#redis = undefined;
      throw error;
    }
    return warnings;
  }

  /**
   * Sends a script that adds new jobs: with `durability`, with a WAIT on the writer's connection.
   * `undo` removes them again; with durability it is sent on the writer's connection too when the
   * write fails, so that it cannot overtake a write still queued there (the caller undoes on the
   * main connection as well, which retries while Redis is away).
   */
  writeNew(
    action: string,
    script: ScriptName,
    args: Array<string | Buffer>,
    { undo, since, afterwards }: { undo: UndoCommand; since: number; afterwards?: string | undefined },
  ): Promise<unknown> {
    const { durability, commandTimeout } = this.#options;
    if (!durability || !this.#writer) return this.main[script](...args);
    const budget = commandTimeout - (Date.now() - since);
    return writeReplicated(this.#writer, durability, { action, script, args, undo, budget, afterwards });
  }

  /** How the writes of new jobs are coalesced: one at a time per coalescer with durability. */
  get coalescing(): { serial: boolean } {
    return { serial: this.#options.durability !== undefined };
  }

  async subscribe(keys: Keys, processId: string, onMessage: (message: StoreMessage) => void): Promise<void> {
    const { tls, commandTimeout } = this.#options;
    const location = this.#location;
    this.#subscriber = await subscribeToMessages({
      location,
      tls,
      commandTimeout,
      keys,
      processId,
      onMessage,
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const redis of [this.#redis, this.#writer]) {
      if (redis) await redis.quit().catch(() => redis.disconnect());
    }
    this.#redis = undefined;
    this.#writer = undefined;
    const subscriber = this.#subscriber;
    this.#subscriber = undefined;
    await subscriber?.close();
  }
}
