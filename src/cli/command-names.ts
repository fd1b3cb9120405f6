/**
 * The CLI's command names, on their own so that the parser (args.ts) and its errors
 * (cli-errors.ts) can both name a command without importing each other.
 */
export type CommandName = 'stats' | 'processes' | 'failed' | 'retry' | 'delete' | 'ui';
