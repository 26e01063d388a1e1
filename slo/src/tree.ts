import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { loadSloSource } from './objectives.js';
import { generatedDirs, generatedFiles, type GeneratedFile } from './outputs/index.js';

function listFiles(dir: string): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((e) => (e.isDirectory() ? listFiles(join(dir, e.name)) : [join(dir, e.name)]));
}

/** Files under `root` in the folders the generator owns, as paths relative to `root`, sorted. */
export function ownedFiles(root: string): string[] {
  return generatedDirs.flatMap((d) => listFiles(join(root, d)).map((f) => relative(root, f))).sort();
}

/**
 * Writes `files` under `root` and deletes files in the generator's folders that it no longer
 * writes (a renamed dashboard must not linger). Returns the deleted paths.
 */
export function writeTree(root: string, files: GeneratedFile[]): string[] {
  const wanted = new Set(files.map((f) => f.path));
  const removed = ownedFiles(root).filter((p) => !wanted.has(p));
  for (const p of removed) rmSync(join(root, p));
  for (const f of files) {
    mkdirSync(dirname(join(root, f.path)), { recursive: true });
    writeFileSync(join(root, f.path), f.content);
  }
  return removed;
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** What differs between `root` and a fresh generation from `root`'s objectives; empty when up to date. */
export async function staleFiles(root: string): Promise<string[]> {
  const fresh = mkdtempSync(join(tmpdir(), 'slo-check-'));
  try {
    const files = await generatedFiles(loadSloSource(join(root, 'slo/objectives.yaml')));
    writeTree(fresh, files);
    const problems: string[] = [];
    for (const f of files) {
      const committed = read(join(root, f.path));
      if (committed === undefined) problems.push(`${f.path}: missing`);
      else if (committed !== read(join(fresh, f.path)))
        problems.push(`${f.path}: stale (differs from what is generated)`);
    }
    const wanted = new Set(files.map((f) => f.path));
    for (const p of ownedFiles(root).filter((p) => !wanted.has(p)))
      problems.push(`${p}: no longer generated`);
    return problems;
  } finally {
    rmSync(fresh, { recursive: true, force: true });
  }
}
