// Which rehearsal a workflow gets: deploy.yml's (rehearse.ts), preview.yml's (pull request events,
// preview-rehearsal.ts) or loadtest.yml's (workflow_dispatch in both modes, loadtest-rehearsal.ts),
// told by the events the workflow runs on -- so a modified copy of a workflow is played like the original.
import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { parse } from 'yaml';
import type { Fault } from './faults.js';
import type { Teardown } from './teardown.js';

/** The three rehearsals. */
export type WorkflowKind = 'deploy' | 'preview' | 'loadtest';

const shortNames = new Map<string, string>([
  ['deploy', '.github/workflows/deploy.yml'],
  ['preview', '.github/workflows/preview.yml'],
  ['loadtest', '.github/workflows/loadtest.yml'],
]);

/** The workflow file for `--workflow` (a short name or a path) and the rehearsal it gets. */
export function resolveWorkflow(root: string, workflow: string): { path: string; kind: WorkflowKind } {
  const file = shortNames.get(workflow) ?? workflow;
  const path = isAbsolute(file) ? file : join(root, file);
  let doc: { on?: unknown; true?: unknown };
  try {
    doc = (parse(readFileSync(path, 'utf8')) ?? {}) as typeof doc;
  } catch (err) {
    throw new Error(`--workflow: cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
  // YAML 1.1 readers turn a bare `on` key into true; the yaml library (1.2) keeps "on".
  const on = doc.on ?? doc.true;
  const events = new Set(
    typeof on === 'string' ? [on] : Array.isArray(on) ? on.map(String) : Object.keys((on as object) ?? {}),
  );
  if (events.has('pull_request')) return { path, kind: 'preview' };
  if (events.has('workflow_dispatch') && !events.has('push')) return { path, kind: 'loadtest' };
  return { path, kind: 'deploy' };
}

/** What rehearse.ts hands a preview or load-test rehearsal. */
export interface WorkflowRehearsal {
  root: string;
  workflowPath: string;
  runId: string;
  /** HEAD of the working tree. */
  sha: string;
  skipImage: boolean;
  summaryDir: string;
  /** Temp dir for event payloads, env files and configs. */
  dir: string;
  teardown: Teardown;
  print: (line: string) => void;
  interrupted: () => boolean;
  /** --vus/--duration/--soak for the load test's dispatch inputs. */
  vus: number;
  duration: string;
  soakSeconds: number;
  short: boolean;
  /** Server pods of the staging stand-in (load test). */
  replicas: number;
  /** --fault and when it starts in each dispatch's load (load test only; rehearse.ts refuses it for preview). */
  fault?: Fault;
  faultAt?: { atMs: number; holdMs: number };
}
