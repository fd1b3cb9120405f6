/**
 * The logger toniq writes to: any pino-compatible logger (pino, or an object with the same
 * four methods), `console`-backed by default.
 */

export interface Logger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** Prints `[toniq] message`, and the stack of `obj.err` when there is one. Debug lines are not printed. */
export function consoleLogger(): Logger {
  const write = (method: 'info' | 'warn' | 'error') => (obj: object, msg: string) => {
    const err = (obj as { err?: unknown }).err;
    if (err instanceof Error && err.stack) console[method](`[toniq] ${msg}\n${err.stack}`);
    else console[method](`[toniq] ${msg}`);
  };
  return { debug: () => {}, info: write('info'), warn: write('warn'), error: write('error') };
}

/** A logger that drops everything. */
export function silentLogger(): Logger {
  const drop = () => {};
  return { debug: drop, info: drop, warn: drop, error: drop };
}
