/**
 * Traps that fail a test for faults the library hides by design, so a test cannot pass while
 * something went wrong out of sight:
 *
 * - an event listener that threw: toniq's `emitSafely` catches the throw and only logs
 *   "A listener of the "…" event threw", so an `assert` inside a listener can never fail a test
 *   by itself. The log line is caught from the recording logger (fixtures.ts), from the console
 *   (toniq's default logger) and from child processes' logs (child-processes.ts). A logger that
 *   drops everything (`silentLogger`) hides it; tests that want the trap use the harness's.
 * - an `error` event emitted with no listener (Node would throw it, often into a catch that
 *   swallows it), and ioredis's "Unhandled error event" console line (it prints instead of
 *   throwing when a client has no listener);
 * - an uncaught exception or an unhandled rejection: node:test fails the running test for
 *   those, but one that happens after its test ended is only printed; here it fails the next
 *   test, or the file's last hook.
 *
 * Every test file that uses the harness gets these (fixtures.ts, use-topologies.ts and
 * child-processes.ts import this module; the modules that only start servers do not, so that the
 * benches can use them without node:test): the check runs after each test and after the file.
 * A test that throws from a listener on purpose says so with `allowListenerThrows()`.
 */
import { EventEmitter } from 'node:events';
import { after, afterEach, beforeEach } from 'node:test';

/** What toniq's emitSafely logs when a listener throws (src/events.ts). */
export const LISTENER_THREW = /A listener of the "[^"]*" event threw/;

interface Trapped {
  kind: 'listener-threw' | 'unhandled-error-event' | 'uncaught-exception' | 'unhandled-rejection';
  detail: string;
  during: string;
}

const trapped: Trapped[] = [];
let currentTest = '(before the first test)';
let listenerThrowsAllowed = false;

function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  try {
    return String(error);
  } catch {
    return Object.prototype.toString.call(error);
  }
}

/** Records a fault for the trap; the check after the current test fails it. */
export function trap(kind: Trapped['kind'], detail: string): void {
  if (kind === 'listener-threw' && listenerThrowsAllowed) return;
  trapped.push({ kind, detail, during: currentTest });
}

/** Called by loggers the harness makes: a listener-threw line is a trapped fault. */
export function trapLogLine(msg: string, err?: unknown): void {
  if (LISTENER_THREW.test(msg))
    trap('listener-threw', err === undefined ? msg : `${msg} ${describeError(err)}`);
}

/**
 * For a test that throws from a listener on purpose (to check that toniq survives it): the
 * listener-threw trap is off until the end of the current test. The other traps stay on.
 */
export function allowListenerThrows(): void {
  listenerThrowsAllowed = true;
}

function check(): void {
  listenerThrowsAllowed = false;
  if (trapped.length === 0) return;
  const faults = trapped.splice(0);
  throw new Error(
    `A trap caught ${faults.length} fault(s) the test itself did not see:\n${faults
      .map((fault) => `  - ${fault.kind} (seen during "${fault.during}"): ${fault.detail}`)
      .join('\n')}`,
  );
}

// Installed once per process, whichever harness module is imported first.
const INSTALLED = Symbol.for('toniq.test.traps');
const globals = globalThis as { [INSTALLED]?: boolean };
if (!globals[INSTALLED]) {
  globals[INSTALLED] = true;

  process.on('uncaughtException', (error) => trap('uncaught-exception', describeError(error)));
  process.on('unhandledRejection', (reason) => trap('unhandled-rejection', describeError(reason)));

  // An 'error' event nobody listens to. Emitting it still throws, as Node does.
  const emit = EventEmitter.prototype.emit;
  EventEmitter.prototype.emit = function trappedEmit(
    this: EventEmitter,
    type: string | symbol,
    ...args: unknown[]
  ) {
    if (type === 'error' && this.listenerCount('error') === 0) {
      trap(
        'unhandled-error-event',
        `on a ${this.constructor?.name ?? 'EventEmitter'}: ${describeError(args[0])}`,
      );
    }
    return emit.call(this, type, ...args);
  } as typeof emit;

  // toniq's default logger writes listener throws to console.error; ioredis reports an
  // 'error' event without a listener there too.
  const consoleError = console.error;
  console.error = (...args: unknown[]) => {
    const text = args.map((arg) => (typeof arg === 'string' ? arg : '')).join(' ');
    if (/\[ioredis\] Unhandled error event/.test(text)) trap('unhandled-error-event', text.slice(0, 500));
    else trapLogLine(text);
    consoleError.apply(console, args);
  };

  beforeEach((t) => {
    listenerThrowsAllowed = false;
    currentTest = t.name;
  });
  afterEach(check);
  after(check);
}
