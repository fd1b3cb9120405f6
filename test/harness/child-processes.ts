/**
 * Real toniq child processes for failover tests (see toniq-child.ts): start them, send them
 * commands, watch their events, kill or pause them. Every child is killed after the test file.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { after } from 'node:test';
import { trapLogLine } from './traps.js';

export interface ChildOptions {
  /** Where Redis is: one of redisUrl, redisCluster (seed URLs) and redisSentinel, as createToniq takes them. */
  redisUrl?: string;
  redisCluster?: string[];
  redisSentinel?: { sentinels: string[]; name: string };
  /** createToniq's durability. */
  durability?: { replicas: number; timeout?: number };
  enqueueTimeout?: number;
  /** For a rediss:// URL: the CA to trust (PEM text, as it travels to the child as JSON). */
  tls?: { ca: string };
  keyPrefix: string;
  processId?: string;
  heartbeatInterval?: number;
  deadAfter?: number;
  takeoverCheckInterval?: number;
  maxEventLoopStall?: number;
  delayedJobsPollInterval?: number;
  /** Its Record jobs never finish (to be running when the process is killed). */
  hang?: boolean;
  /**
   * The version of its Record worker (default 1). Version 2 takes `{ label, ms, v: 2 }`, with a
   * migration from version 1; every run notes in Redis whether it got the shape it expects.
   */
  recordVersion?: number;
}

export interface ChildLogLine {
  level: string;
  msg: string;
}

export class ToniqChild extends EventEmitter {
  readonly processId: string;
  readonly logs: ChildLogLine[] = [];
  readonly #child: ChildProcess;
  #nextRequest = 0;
  readonly exited: Promise<void>;

  constructor(child: ChildProcess, processId: string) {
    super();
    this.#child = child;
    this.processId = processId;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    child.on(
      'message',
      (message: { type: string; name?: string; payload?: unknown; level?: string; msg?: string }) => {
        if (message.type === 'event') this.emit(message.name!, message.payload);
        if (message.type === 'log') {
          this.logs.push({ level: message.level!, msg: message.msg! });
          trapLogLine(`child ${processId}: ${message.msg}`);
        }
      },
    );
  }

  get pid(): number {
    return this.#child.pid!;
  }

  request<T = unknown>(command: Record<string, unknown>, timeout = 10_000): Promise<T> {
    const reqId = this.#nextRequest++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#child.off('message', listener);
        reject(
          new Error(`child ${this.processId} did not answer ${JSON.stringify(command)} within ${timeout} ms`),
        );
      }, timeout);
      const listener = (message: { type: string; reqId?: number; result?: T; error?: string }) => {
        if (message.type !== 'reply' || message.reqId !== reqId) return;
        clearTimeout(timer);
        this.#child.off('message', listener);
        if (message.error) reject(new Error(message.error));
        else resolve(message.result as T);
      };
      this.#child.on('message', listener);
      this.#child.send({ ...command, reqId });
    });
  }

  /** Sends without waiting for the answer (for a command that blocks the child). */
  tell(command: Record<string, unknown>): void {
    this.#child.send({ ...command, reqId: -1 });
  }

  async kill(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    this.#child.kill('SIGCONT');
    this.#child.kill('SIGKILL');
    await this.exited;
  }

  pause(): void {
    this.#child.kill('SIGSTOP');
  }

  resume(): void {
    this.#child.kill('SIGCONT');
  }

  logText(level?: string): string {
    return this.logs
      .filter((line) => !level || line.level === level)
      .map((line) => line.msg)
      .join('\n');
  }
}

const children: ToniqChild[] = [];
after(async () => {
  await Promise.all(children.map((child) => child.kill()));
});

export async function startChild(options: ChildOptions): Promise<ToniqChild> {
  const { hang, ...config } = options;
  const child = fork(new URL('./toniq-child.js', import.meta.url), [], {
    env: { ...process.env, TONIQ_CHILD_CONFIG: JSON.stringify(config), TONIQ_CHILD_HANG: hang ? '1' : '0' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const processId = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the child did not start within 10 s')), 10_000);
    child.on('message', (message: { type: string; processId?: string; message?: string }) => {
      if (message.type === 'ready') {
        clearTimeout(timer);
        resolve(message.processId!);
      } else if (message.type === 'fatal') {
        clearTimeout(timer);
        reject(new Error(`the child failed to start: ${message.message}`));
      }
    });
  });
  const handle = new ToniqChild(child, processId);
  children.push(handle);
  return handle;
}
