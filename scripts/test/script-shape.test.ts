// Every script has the shape docs/contributing.md describes, and runs programs through zx or the
// Runner seam, not node:child_process.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';

const root = join(import.meta.dirname, '..', '..');
const scripts = readdirSync(join(root, 'scripts'))
  .filter((f) => /\.(ts|mjs)$/.test(f))
  .map((f) => join(root, 'scripts', f));

/** Source files under `dir`, test folders and node_modules left out. */
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' || e.name === 'test' ? [] : sources(path);
    return /\.(ts|mjs)$/.test(e.name) ? [path] : [];
  });
}

test('each script opens with a comment listing its steps, and has main(), parseArgs() and usage', () => {
  const problems: string[] = [];
  for (const file of scripts) {
    const text = readFileSync(file, 'utf8');
    const name = relative(root, file);
    const header = /^(#![^\n]*\n)?((\/\/[^\n]*\n)+|\/\*\*?[\s\S]*?\*\/\n)/.exec(text)?.[0] ?? '';
    if (!/^\s*(\/\/|\*)\s+1\. /m.test(header))
      problems.push(`${name}: no header comment listing steps (1. ...)`);
    for (const [what, pattern] of [
      ['main()', /\bfunction main\(/],
      ['parseArgs()', /\bfunction parseArgs\(/],
      ['usage', /\b(const|function) usage\b/],
    ] as const) {
      if (!pattern.test(text)) problems.push(`${name}: no ${what}`);
    }
  }
  assert.deepEqual(problems, []);
});

test('no script or library under scripts/, bench/ or pipeline/ imports node:child_process', () => {
  // pipeline/src/testing is the tests' action harness (never bundled): it starts `node dist/index.js`.
  const harness = join(root, 'pipeline', 'src', 'testing');
  const library = sources(join(root, 'pipeline')).filter((file) => !file.startsWith(harness));
  const importers = [...sources(join(root, 'scripts')), ...sources(join(root, 'bench')), ...library]
    .filter((file) => /(\bfrom|\bimport)\s*\(?['"](node:)?child_process['"]/.test(readFileSync(file, 'utf8')))
    .map((file) => relative(root, file));
  assert.deepEqual(importers, []);
});
