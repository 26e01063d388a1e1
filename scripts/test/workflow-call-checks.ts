/**
 * Checks of a job that calls a reusable workflow (`uses: ./.github/workflows/<file>`), as GitHub
 * applies them when the run starts: every `with:` key is a declared input, every required input
 * without a default is given, every `secrets:` key is a declared secret (unless `inherit`), every
 * required secret is given, the job has only the keys GitHub allows a calling job, and no called job asks for a permission the calling job does not grant
 * (the called workflow can only narrow the caller's GITHUB_TOKEN).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

/** `on.workflow_call` of a reusable workflow, the parts checked. */
export interface WorkflowCallTrigger {
  inputs?: Record<string, { type?: string; required?: boolean; default?: unknown }>;
  secrets?: Record<string, { required?: boolean }>;
  outputs?: Record<string, { value?: string }>;
}

/** A job that calls a reusable workflow. */
export interface CallingJob {
  uses: string;
  with?: Record<string, unknown>;
  secrets?: Record<string, unknown> | 'inherit';
  permissions?: unknown;
}

interface CalledWorkflow {
  on?: { workflow_call?: WorkflowCallTrigger | null } | string | string[];
  jobs?: Record<string, { permissions?: unknown }>;
}

const rank = { none: 0, read: 1, write: 2 } as const;

/** The keys GitHub allows on a job that calls a reusable workflow ("Workflow syntax", jobs.<id>.uses). */
const callingJobKeys = new Set([
  'name',
  'uses',
  'with',
  'secrets',
  'needs',
  'if',
  'permissions',
  'concurrency',
  'strategy',
]);

/** Each scope's level in a permissions block (`read-all`/`write-all` as every scope named in `other`). */
function levels(permissions: unknown, scopes: string[]): Map<string, number> {
  const out = new Map<string, number>();
  if (permissions === 'read-all' || permissions === 'write-all') {
    for (const s of scopes) out.set(s, rank[permissions === 'read-all' ? 'read' : 'write']);
  } else if (permissions && typeof permissions === 'object') {
    for (const [s, v] of Object.entries(permissions)) out.set(s, rank[v as keyof typeof rank] ?? 0);
  }
  return out;
}

/** The `on.workflow_call` of the file at `path`, or a problem. */
export function readCallTrigger(
  path: string,
): { trigger: WorkflowCallTrigger; doc: CalledWorkflow } | string {
  if (!existsSync(path)) return `there is no ${path}`;
  const doc = (parse(readFileSync(path, 'utf8')) ?? {}) as CalledWorkflow;
  const on = doc.on;
  if (!on || typeof on !== 'object' || Array.isArray(on) || !('workflow_call' in on))
    return `${path} has no on.workflow_call: it cannot be called`;
  return { trigger: on.workflow_call ?? {}, doc };
}

/** Every problem of one calling job, as readable lines starting with `where`. */
export function checkCall(where: string, job: CallingJob, repoRoot: string): string[] {
  const m = /^\.\/(\.github\/workflows\/[^/]+\.ya?ml)$/.exec(job.uses);
  if (!m) return [`${where}: ${job.uses} is not a workflow of this repository (./.github/workflows/<file>)`];
  const read = readCallTrigger(join(repoRoot, m[1]!));
  if (typeof read === 'string') return [`${where}: ${read}`];
  const { trigger, doc } = read;
  const problems: string[] = [];
  for (const key of Object.keys(job)) {
    if (!callingJobKeys.has(key))
      problems.push(
        `${where}: a job that calls a workflow cannot have "${key}" (GitHub allows ${[...callingJobKeys].join(', ')})`,
      );
  }
  const inputs = trigger.inputs ?? {};
  const given = job.with ?? {};
  for (const key of Object.keys(given)) {
    if (!(key in inputs))
      problems.push(
        `${where}: ${job.uses} has no input "${key}" (inputs: ${Object.keys(inputs).join(', ')})`,
      );
  }
  for (const [name, input] of Object.entries(inputs)) {
    if (input.required && input.default === undefined && !(name in given))
      problems.push(`${where}: ${job.uses} needs input "${name}"`);
  }
  const secrets = trigger.secrets ?? {};
  if (job.secrets !== 'inherit') {
    const passed = job.secrets ?? {};
    for (const key of Object.keys(passed)) {
      if (!(key in secrets))
        problems.push(
          `${where}: ${job.uses} declares no secret "${key}" (secrets: ${Object.keys(secrets).join(', ')})`,
        );
    }
    for (const [name, secret] of Object.entries(secrets)) {
      if (secret?.required && !(name in passed))
        problems.push(`${where}: ${job.uses} needs secret "${name}"`);
    }
  }
  const called = Object.entries(doc.jobs ?? {});
  const scopes = [...new Set(called.flatMap(([, j]) => Object.keys((j.permissions as object) ?? {})))];
  const granted = levels(job.permissions, scopes);
  for (const [id, j] of called) {
    for (const [scope, level] of levels(j.permissions, scopes)) {
      if (level > (granted.get(scope) ?? 0))
        problems.push(
          `${where}: called job ${id} asks for ${scope}: ${level === 2 ? 'write' : 'read'}, which the calling job does not grant (GitHub refuses the run)`,
        );
    }
  }
  return problems;
}

/** The outputs a calling job has: those the called workflow declares (none when it cannot be read). */
export function calledOutputs(uses: string, repoRoot: string): string[] {
  const m = /^\.\/(\.github\/workflows\/[^/]+\.ya?ml)$/.exec(uses);
  const read = m ? readCallTrigger(join(repoRoot, m[1]!)) : 'not local';
  return typeof read === 'string' ? [] : Object.keys(read.trigger.outputs ?? {});
}
