/**
 * The CLI's two kinds of refusal, each printed as one message without a stack trace:
 * UsageError (exit code 2: the command line is wrong; the message points to the help) and
 * CliError (exit code 1: the command line is fine but the thing cannot be done as asked).
 */
import type { CommandName } from './command-names.js';

/** A mistake on the command line: exit code 2, with a pointer to the help. */
export class UsageError extends Error {
  /** The command whose help to point to, if known. */
  readonly command: CommandName | undefined;
  constructor(message: string, command?: CommandName) {
    super(message);
    this.name = 'UsageError';
    this.command = command;
  }
}

/** A request the CLI cannot carry out as given (say, `toniq ui` on a public address without a login): exit code 1. */
export class CliError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliError';
  }
}
