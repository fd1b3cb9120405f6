/**
 * The layout the code review asked for, kept by a test: no import cycles in src/, no source
 * file over 450 lines unless its header says why, and the admin layer reaches Redis only
 * through the storage factory (never RedisStore itself).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

// dist/test/architecture.test.js → the repository's src/.
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const src = join(root, 'src');
const MAX_LINES = 450;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** The src files a file imports (static imports and re-exports, type-only ones included). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const found: string[] = [];
  for (const match of text.matchAll(/^(?:import|export)\b[^;]*?from\s+'(\.{1,2}\/[^']+)\.js';/gms)) {
    found.push(resolve(dirname(file), `${match[1]}.ts`));
  }
  return found;
}

const files = sourceFiles(src);
const name = (file: string) => relative(root, file);

describe('source layout', () => {
  it('has no import cycle in src/', () => {
    const graph = new Map(files.map((file) => [file, importsOf(file)]));
    const done = new Set<string>();
    const cycles: string[] = [];
    const visit = (file: string, path: string[]) => {
      const at = path.indexOf(file);
      if (at >= 0) {
        cycles.push([...path.slice(at), file].map(name).join(' → '));
        return;
      }
      if (done.has(file)) return;
      for (const next of graph.get(file) ?? []) visit(next, [...path, file]);
      done.add(file);
    };
    for (const file of files) visit(file, []);
    assert.deepEqual(cycles, [], `import cycles:\n${cycles.join('\n')}`);
  });

  it(`keeps every file in src/ under ${MAX_LINES} lines unless its header says why`, () => {
    const long = files.filter((file) => {
      const text = readFileSync(file, 'utf8');
      const header = text.slice(0, text.indexOf('*/') + 2);
      const lines = text.split('\n').length - (text.endsWith('\n') ? 1 : 0); // as wc -l counts
      return lines > MAX_LINES && !header.includes(`longer than ${MAX_LINES} lines`);
    });
    assert.deepEqual(long.map(name), []);
  });

  it('keeps the admin layer and the CLI off RedisStore: they get a store from the factory in src/storage/redis/', () => {
    const offenders = files.filter(
      (file) =>
        (name(file).startsWith('src/admin/') || name(file).startsWith('src/cli/')) &&
        importsOf(file).some((imported) => imported.endsWith('storage/redis/redis-store.ts')),
    );
    assert.deepEqual(offenders.map(name), []);
  });
});
