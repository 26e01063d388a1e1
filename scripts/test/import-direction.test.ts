// Imports go one way (docs/contributing.md, "Where code goes"): actions/ and scripts/ import the
// pipeline library; nothing under pipeline/ imports from scripts/ or from an action, and no action
// imports from scripts/. Relative specifiers are resolved against the importing file, so
// `../../../scripts/lib/zx.js` is caught wherever it is written from.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, it } from 'node:test';

const root = resolve(import.meta.dirname, '..', '..');

/** Static imports and re-exports (`from '...'`), side-effect imports and dynamic `import('...')`. */
const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)(['"])(\.{1,2}\/[^'"]*)\1/gm;

/** The relative specifiers `text` imports. */
function relativeImports(text: string): string[] {
  return [...text.matchAll(SPECIFIER)].map((m) => m[2] ?? '');
}

/** Source files under `dir` (node_modules and dist left out). */
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' || e.name === 'dist' ? [] : sources(path);
    return /\.(ts|mts|mjs|js)$/.test(e.name) ? [path] : [];
  });
}

/** Which room a repository path is in: `pipeline`, `scripts`, `actions/<name>`, or another top folder. */
function roomOf(path: string): string {
  const [top, second] = path.split(sep);
  return top === 'actions' && second ? `actions/${second}` : (top ?? '');
}

/** A forbidden crossing: `from` (repository path) imports `spec`, which lands in the room `to`. */
interface Crossing {
  from: string;
  spec: string;
  to: string;
}

/**
 * Each import in `files` (repository path -> text) whose target room `forbidden` refuses for the
 * importing file's room.
 */
function crossings(
  files: ReadonlyMap<string, string>,
  forbidden: (fromRoom: string, toRoom: string) => boolean,
): Crossing[] {
  const found: Crossing[] = [];
  for (const [from, text] of files) {
    for (const spec of relativeImports(text)) {
      const target = relative(root, resolve(root, dirname(from), spec));
      const to = roomOf(target);
      if (forbidden(roomOf(from), to)) found.push({ from, spec, to });
    }
  }
  return found;
}

/** The import direction: the library imports no caller, an action imports no script. */
function forbidden(fromRoom: string, toRoom: string): boolean {
  if (fromRoom === 'pipeline') return toRoom === 'scripts' || toRoom.startsWith('actions/');
  if (fromRoom.startsWith('actions/')) return toRoom === 'scripts';
  return false;
}

function read(paths: string[]): Map<string, string> {
  return new Map(paths.map((p) => [relative(root, p), readFileSync(p, 'utf8')]));
}

describe('import direction', () => {
  it('nothing under pipeline/ imports from scripts/ or from an action', () => {
    const files = read(sources(join(root, 'pipeline')));
    assert.ok(files.size > 50, `only ${files.size} files under pipeline/: is the walk wrong?`);
    assert.deepEqual(crossings(files, forbidden), []);
  });

  it('no action (src/ or test/) imports from scripts/', () => {
    const actions = readdirSync(join(root, 'actions'), { withFileTypes: true }).filter((e) =>
      e.isDirectory(),
    );
    const files = read(actions.flatMap((a) => sources(join(root, 'actions', a.name))));
    assert.ok(files.size > 20, `only ${files.size} files under actions/: is the walk wrong?`);
    assert.deepEqual(crossings(files, forbidden), []);
  });

  it('finds the imports that cross, however they are written', () => {
    const files = new Map([
      ['pipeline/src/image/exec.ts', "import { run } from '../../../scripts/lib/zx.js';\n"],
      ['pipeline/src/a.ts', "export * from '../../actions/slo-gate/src/evaluate.js';\n"],
      ['pipeline/test/b.test.ts', "const m = await import('../../scripts/build-actions.js');\n"],
      ['actions/slo-gate/src/c.ts', "import '../../../scripts/lib/zx.js';\n"],
      // Allowed: within the library, from an action into the library, from scripts into an action.
      ['pipeline/src/d.ts', "import { tail } from './runner.js';\n"],
      ['actions/slo-gate/src/e.ts', "import { code } from '../../../pipeline/src/summary/index.js';\n"],
      ['scripts/lib/rehearse/f.ts', "import { runGate } from '../../../actions/slo-gate/src/evaluate.js';\n"],
    ]);
    assert.deepEqual(
      crossings(files, forbidden).map((c) => `${c.from} -> ${c.to}`),
      [
        'pipeline/src/image/exec.ts -> scripts',
        'pipeline/src/a.ts -> actions/slo-gate',
        'pipeline/test/b.test.ts -> scripts',
        'actions/slo-gate/src/c.ts -> scripts',
      ],
    );
  });
});
