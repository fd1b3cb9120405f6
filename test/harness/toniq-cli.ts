/**
 * The `toniq` command line tool run as a child process, as a user runs it: one-shot commands
 * (toniqCli) and the long-running `toniq ui` (startUi, stopUi).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** dist/test/harness/toniq-cli.js → bin/toniq.js, which runs dist/src/cli/main.js. */
export const BIN = fileURLToPath(new URL('../../../bin/toniq.js', import.meta.url));
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `toniq …` as a child process; rejects if it has not exited within `timeout` ms. */
export function toniqCli(
  args: string[],
  { env = {}, timeout = 20_000 }: { env?: Record<string, string | undefined>; timeout?: number } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { env: { ...process.env, REDIS_URL: undefined, TONIQ_DEBUG: undefined, ...env }, timeout },
      (error, stdout, stderr) => {
        if (error && (error.killed || error.signal)) {
          reject(
            new Error(`toniq ${args.join(' ')} did not exit within ${timeout} ms:\n${stdout}\n${stderr}`),
          );
          return;
        }
        resolve({ code: typeof error?.code === 'number' ? error.code : 0, stdout, stderr });
      },
    );
  });
}

export interface RunningUi {
  child: ChildProcess;
  url: string;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

/** Starts `toniq ui … --port 0` and resolves with its address once it has printed its greeting. */
export async function startUi(args: string[], env: Record<string, string> = {}): Promise<RunningUi> {
  const child = spawn(process.execPath, [BIN, 'ui', '--port', '0', ...args], {
    env: { ...process.env, REDIS_URL: undefined, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`toniq ui printed no address within 10 s:\n${stdout}\n${stderr}`));
    }, 10_000);
    const check = () => {
      // The last line of its greeting: then it has printed the rest too.
      const match = /^toniq admin UI at (http:\/\/\S+)$[\s\S]*^Press Ctrl\+C to stop\.$/m.exec(stdout);
      if (!match) return;
      clearTimeout(timer);
      child.stdout!.off('data', check);
      resolve(match[1]!);
    };
    child.stdout!.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`toniq ui exited with ${code} before serving:\n${stdout}\n${stderr}`));
    });
  });
  return { child, url, stdout: () => stdout, stderr: () => stderr, exited };
}

export async function stopUi(ui: RunningUi, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  ui.child.kill(signal);
  const timer = setTimeout(() => ui.child.kill('SIGKILL'), 5000);
  const code = await ui.exited;
  clearTimeout(timer);
  return code;
}
