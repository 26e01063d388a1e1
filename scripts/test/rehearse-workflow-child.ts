// Runs `npm run rehearse -- <args>` as a child process, as a user does, bounded in time; records every
// process it started so a test can check that none is left when it has exited.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rehearse, survivingPids } from './rehearse-child.js';
import { repoRoot } from './validate-fixtures.js';

/** What one rehearsal run printed and left. */
export interface RehearsalRun {
  code: number | null;
  out: string;
  summaryDir: string;
  ms: number;
  /** Processes that were its descendants at some point (polled every 250 ms). */
  seen: Set<number>;
}

/** A copy of a workflow with `edit` applied to its text, in a temp file (a deliberately broken variant). */
export function workflowVariant(file: string, edit: (text: string) => string): string {
  const dir = mkdtempSync(join(tmpdir(), 'sb-workflow-variant-'));
  const original = readFileSync(join(repoRoot, file), 'utf8');
  const changed = edit(original);
  if (changed === original)
    throw new Error(`the variant of ${file} changes nothing: the edit no longer matches`);
  const path = join(dir, file.split('/').at(-1)!);
  writeFileSync(path, changed);
  return path;
}

/** Runs the rehearsal with `args`; rejects after `timeoutMs` (the child is killed). */
export async function runRehearsal(args: string[], timeoutMs: number): Promise<RehearsalRun> {
  const started = Date.now();
  const { code, out, summaryDir, seen } = await rehearse(args, timeoutMs);
  return { code, out, summaryDir, ms: Date.now() - started, seen };
}

/** Processes of `seen` still running after the exit (see survivingPids), with their command lines. */
export function survivors(seen: Set<number>): Promise<string[]> {
  return survivingPids(seen);
}
