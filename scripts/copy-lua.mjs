// tsc copies only TypeScript: put the Lua scripts beside the compiled store, and the admin UI's
// page and assets beside the compiled handler.
import { cpSync } from 'node:fs';
cpSync('src/storage/redis/lua', 'dist/src/storage/redis/lua', { recursive: true });
cpSync('src/admin/ui', 'dist/src/admin/ui', { recursive: true });
