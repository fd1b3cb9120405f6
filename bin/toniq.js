#!/usr/bin/env node
// The `toniq` command: see src/cli/main.ts (built into dist/ by `npm run build`).
import { runCli } from '../dist/src/cli/main.js';

await runCli(process.argv.slice(2));
