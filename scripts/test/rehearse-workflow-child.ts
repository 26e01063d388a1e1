// Runs `npm run rehearse -- <args>` as a child process, as a user does, bounded in time; records every
// process it started so a test can check that none is left when it has exited.
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
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

/**
 * A copy of .github/workflows in a temp dir with `edit` applied to the text of `file` (a deliberately
 * broken variant); returns the path of `caller` in it (default: `file` itself), so a broken
 * reusable workflow is played through its caller, which finds it beside itself.
 */
export function workflowVariant(file: string, edit: (text: string) => string, caller?: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'sb-workflow-variant-'));
  const workflows = join(repoRoot, '.github/workflows');
  for (const f of readdirSync(workflows)) copyFileSync(join(workflows, f), join(dir, f));
  const original = readFileSync(join(repoRoot, file), 'utf8');
  const changed = edit(original);
  if (changed === original)
    throw new Error(`the variant of ${file} changes nothing: the edit no longer matches`);
  writeFileSync(join(dir, basename(file)), changed);
  return join(dir, basename(caller ?? file));
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
