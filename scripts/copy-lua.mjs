// tsc does not copy non-TypeScript files: put the Lua scripts beside the compiled store.
import { cpSync } from 'node:fs';
cpSync('src/storage/redis/lua', 'dist/src/storage/redis/lua', { recursive: true });
