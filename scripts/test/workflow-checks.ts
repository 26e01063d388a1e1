/**
 * Checks for .github/workflows: each workflow's uses:/with: against the actions it names, pinning of
 * third-party actions, secrets kept out of scripts, and job wiring (needs.<job>.outputs, permissions,
 * concurrency). Pure functions over the parsed YAML plus the raw text, so tests can also feed broken
 * workflows and see each check fail.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { calledOutputs, checkCall, type CallingJob } from './workflow-call-checks.js';

/** action.yml, the parts checked. */
export interface ActionMetadata {
  inputs?: Record<string, { required?: boolean; default?: unknown; description?: string }>;
  outputs?: Record<string, { description?: string }>;
}

interface Step {
  id?: string;
  name?: string;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  env?: Record<string, unknown>;
  if?: string;
}

interface Job {
  needs?: string | string[];
  uses?: string;
  with?: Record<string, unknown>;
  secrets?: Record<string, unknown> | 'inherit';
  permissions?: unknown;
  environment?: unknown;
  concurrency?: unknown;
  outputs?: Record<string, string>;
  steps?: Step[];
  if?: string;
}

/** A workflow as YAML. */
export interface Workflow {
  name?: string;
  on?: unknown;
  permissions?: unknown;
  jobs: Record<string, Job>;
}

const THIRD_PARTY = /^([\w.-]+)\/([\w.-]+)(\/[\w./-]+)?@([0-9a-f]{40})$/;

/** The job's GITHUB_TOKEN can write something: any `write` scope, `write-all`, or no block (the default may). */
function tokenCanWrite(permissions: unknown): boolean {
  if (permissions === undefined || permissions === 'write-all') return true;
  if (typeof permissions !== 'object' || permissions === null) return false;
  return Object.values(permissions).some((v) => v === 'write');
}

const NPM_INSTALL = /\bnpm\s+(ci|install|i|add|update)\b[^\n]*/g;

/**
 * Where a token is present (every job has one), no dependency's install script may run and the checkout
 * must not leave the token in .git/config for later steps: a step that pushes gets the token as an input.
 */
function tokenExposure(label: string, step: Step, writes: boolean): string[] {
  const problems: string[] = [];
  for (const m of (step.run ?? '').matchAll(NPM_INSTALL)) {
    if (!m[0].includes('--ignore-scripts')) {
      problems.push(
        `${label}: "${m[0].trim()}" runs install scripts next to the job's token; add --ignore-scripts`,
      );
    }
  }
  if (/^actions\/checkout@/.test(step.uses ?? '') && String(step.with?.['persist-credentials']) !== 'false') {
    problems.push(
      `${label}: actions/checkout persists the ${writes ? 'write ' : ''}token in .git/config; set persist-credentials: false and hand the token to the step that pushes`,
    );
  }
  return problems;
}

/** A job's outputs: its `outputs:`, or for a job that calls a workflow, that workflow's. */
function outputsOf(job: Job | undefined, repoRoot: string): string[] {
  if (job?.uses !== undefined) return calledOutputs(job.uses, repoRoot);
  return Object.keys(job?.outputs ?? {});
}

/** Every problem found in one workflow, as readable lines. */
export function checkWorkflow(file: string, text: string, repoRoot: string): string[] {
  const problems: string[] = [];
  const wf = parse(text) as Workflow;
  const lines = text.split('\n');
  if (JSON.stringify(wf.permissions) !== '{}') {
    problems.push(`${file}: top-level permissions must be {} (each job asks for what it needs)`);
  }
  for (const [jobId, job] of Object.entries(wf.jobs ?? {})) {
    const where = `${file} job ${jobId}`;
    if (job.permissions === undefined)
      problems.push(`${where}: no permissions: block (least privilege per job)`);
    if (job.environment !== undefined && job.concurrency === undefined) {
      problems.push(`${where}: deploys to an environment without a concurrency group`);
    }
    const needs = typeof job.needs === 'string' ? [job.needs] : (job.needs ?? []);
    for (const n of needs) if (!wf.jobs[n]) problems.push(`${where}: needs unknown job ${n}`);
    if (job.uses !== undefined) problems.push(...checkCall(where, job as CallingJob, repoRoot));
    const stepOutputs = new Map<string, Set<string> | undefined>();
    const writes = tokenCanWrite(job.permissions);
    for (const [i, step] of (job.steps ?? []).entries()) {
      const label = `${where} step ${step.id ?? step.name ?? i + 1}`;
      problems.push(...tokenExposure(label, step, writes));
      if (step.run !== undefined && /\$\{\{\s*secrets\./.test(step.run)) {
        problems.push(`${label}: a secret is expanded into the script; pass it through env:`);
      }
      if (
        step.run !== undefined &&
        /\$\{\{\s*github\.event\.(pull_request|issue|comment|review|head_commit)\./.test(step.run)
      ) {
        problems.push(`${label}: event data is expanded into the script (injection); pass it through env:`);
      }
      if (!step.uses) {
        if (step.id) stepOutputs.set(step.id, undefined); // a run step: outputs are whatever it writes
        continue;
      }
      if (step.uses.startsWith('./')) {
        const dir = join(repoRoot, step.uses);
        const metaFile = ['action.yml', 'action.yaml'].map((f) => join(dir, f)).find((f) => existsSync(f));
        if (!metaFile) {
          problems.push(`${label}: ${step.uses} has no action.yml`);
          continue;
        }
        const meta = parse(readFileSync(metaFile, 'utf8')) as ActionMetadata;
        const inputs = meta.inputs ?? {};
        for (const key of Object.keys(step.with ?? {})) {
          if (!(key in inputs)) {
            problems.push(
              `${label}: ${step.uses} has no input "${key}" (inputs: ${Object.keys(inputs).join(', ')})`,
            );
          }
        }
        for (const [name, input] of Object.entries(inputs)) {
          if (input.required && input.default === undefined && !(name in (step.with ?? {}))) {
            problems.push(`${label}: ${step.uses} needs input "${name}"`);
          }
        }
        if (step.id) stepOutputs.set(step.id, new Set(Object.keys(meta.outputs ?? {})));
      } else if (step.uses.startsWith('docker://')) {
        if (!/@sha256:[0-9a-f]{64}$/.test(step.uses))
          problems.push(`${label}: ${step.uses} is not pinned by digest`);
      } else {
        if (!THIRD_PARTY.test(step.uses)) {
          problems.push(`${label}: ${step.uses} is not pinned to a full commit SHA`);
        } else {
          const line = lines.find((l) => l.includes(step.uses!));
          if (!line || !/#\s*v\d+(\.\d+)*\b/.test(line)) {
            problems.push(`${label}: ${step.uses} needs a "# vX.Y.Z" comment naming the version the SHA is`);
          }
        }
        if (step.id) stepOutputs.set(step.id, undefined);
      }
    }
    // steps.<id>.outputs.<name> must name a step of this job and, for local actions, a declared output.
    const jobText = JSON.stringify(job);
    for (const m of jobText.matchAll(/steps\.([\w-]+)\.outputs\.([\w-]+)/g)) {
      const [, id, output] = m;
      if (!stepOutputs.has(id!)) problems.push(`${where}: steps.${id} is not a step id of this job`);
      else {
        const known = stepOutputs.get(id!);
        if (known && !known.has(output!)) problems.push(`${where}: step ${id} has no output "${output}"`);
      }
    }
    for (const m of jobText.matchAll(/needs\.([\w-]+)\.(outputs\.([\w-]+)|result)/g)) {
      const [, other, , output] = m;
      if (!needs.includes(other!)) problems.push(`${where}: uses needs.${other} but does not need it`);
      else if (output && !outputsOf(wf.jobs[other!], repoRoot).includes(output)) {
        problems.push(`${where}: job ${other} has no output "${output}"`);
      }
    }
  }
  return problems;
}
