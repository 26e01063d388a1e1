// Applies switchboard.config.yaml to a checkout, or reports where the checkout differs from it.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AdopterConfig } from './config.js';
import { placements } from './placements.js';
import { applyEdits, EditError, type Change, type Edit } from './yaml-edit.js';

/** What configuring `root` would write: the new text of each file that differs, and each field. */
export interface ConfigurePlan {
  files: Map<string, string>;
  changes: Change[];
}

/** Computes the plan without writing. Throws EditError when a file lacks a field configure sets. */
export function planConfigure(root: string, config: AdopterConfig): ConfigurePlan {
  const byFile = new Map<string, Edit[]>();
  for (const edit of placements(config)) {
    const list = byFile.get(edit.file) ?? [];
    list.push(edit);
    byFile.set(edit.file, list);
  }
  const files = new Map<string, string>();
  const changes: Change[] = [];
  for (const [file, edits] of byFile) {
    let text: string;
    try {
      text = readFileSync(join(root, file), 'utf8');
    } catch (err) {
      throw new EditError(file, '(file)', (err as Error).message);
    }
    const result = applyEdits(file, text, edits);
    if (result.changes.length === 0) continue;
    files.set(file, result.text);
    changes.push(...result.changes);
  }
  return { files, changes };
}

/** Writes a plan's files under `root`. */
export function writePlan(root: string, plan: ConfigurePlan): void {
  for (const [file, text] of plan.files) writeFileSync(join(root, file), text);
}
