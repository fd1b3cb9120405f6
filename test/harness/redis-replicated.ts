/**
 * A master and its replicas, each a throwaway redis-server (redis-server.ts) started with
 * `--replicaof`, for tests of writes that wait for replicas (durability). A replica can be paused
 * with SIGSTOP: the master keeps its connection and waits for acknowledgements that do not come.
 */
import { eventually } from './eventually.js';
import { startRedis, type TestRedis } from './redis-server.js';

export interface TestReplicatedRedis {
  readonly master: TestRedis;
  readonly replicas: readonly TestRedis[];
  /** Waits until every replica is online at the master's replication offset. */
  waitForSync(timeout?: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startReplicatedRedis({ replicas = 1 } = {}): Promise<TestReplicatedRedis> {
  const master = await startRedis({ args: ['--repl-diskless-sync-delay', '0'] });
  const started: TestRedis[] = [];
  try {
    for (let i = 0; i < replicas; i++) {
      started.push(await startRedis({ args: ['--replicaof', '127.0.0.1', String(master.port)] }));
    }
  } catch (error) {
    await Promise.all([master, ...started].map((server) => server.stop()));
    throw error;
  }
  const looker = master.client();
  const waitForSync = async (timeout = 10_000) => {
    await eventually(
      async () => {
        const info = await looker.info('replication');
        const offset = /^master_repl_offset:(\d+)/m.exec(info)?.[1];
        for (const replica of started) {
          const line = new RegExp(`port=${replica.port},state=online,offset=(\\d+)`).exec(info);
          if (!line) throw new Error(`the replica on ${replica.port} is not online`);
          if (line[1] !== offset)
            throw new Error(`the replica on ${replica.port} is at ${line[1]} of ${offset}`);
        }
      },
      { timeout, interval: 20, what: 'the replicas to be online and in sync' },
    );
  };
  await waitForSync();
  return {
    master,
    replicas: started,
    waitForSync,
    async stop() {
      await Promise.all([master, ...started].map((server) => server.stop()));
    },
  };
}
