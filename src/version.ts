/** The version of this toniq package, read once from its package.json. */
import { readFileSync } from 'node:fs';

export const TONIQ_VERSION: string = (() => {
  try {
    // dist/src/version.js → ../../package.json; src/version.ts is not run directly.
    return (
      JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
    ).version;
  } catch {
    return 'unknown';
  }
})();
