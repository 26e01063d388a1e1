// Every Argo CD Application must track something that exists (issue 13, item 8): a path on the deploy
// branch that a workflow renders into (render-manifests), or a path in this repository. An Application
// whose path nobody writes stays "ComparisonError: app path does not exist" forever.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { get } from '../workloads.js';
import { problem, type K8sObject, type Problem } from '../types.js';
import { inlineCalls } from '../workflow-calls.js';

/** Where a workflow step writes on the deploy branch. */
export interface RenderWrite {
  workflow: string;
  job: string;
  branch: string;
  path: string;
}

interface WorkflowDoc {
  env?: Record<string, unknown>;
  jobs?: Record<string, { env?: Record<string, unknown>; steps?: Array<Record<string, unknown>> }>;
}

/** `${{ env.NAME }}` resolved from the job's and the workflow's env; other expressions stay as written. */
function resolveEnv(value: string, env: Record<string, unknown>): string {
  return value.replace(/\$\{\{\s*env\.([A-Za-z_]\w*)\s*\}\}/g, (whole, name: string) => {
    const v = Object.hasOwn(env, name) ? env[name] : undefined;
    return typeof v === 'string' ? v : whole;
  });
}

/**
 * The renders the workflows push: every `./actions/render-manifests` step that renders (has no
 * `restore-revision`, which only brings back what was there) and does not set `push: false`.
 */
export function renderWrites(workflows: Map<string, string>): RenderWrite[] {
  const out: RenderWrite[] = [];
  for (const [file, text] of inlineCalls(workflows)) {
    const wf = (parse(text) ?? {}) as WorkflowDoc;
    for (const [jobId, job] of Object.entries(wf.jobs ?? {})) {
      const env = { ...(wf.env ?? {}), ...(job.env ?? {}) };
      for (const step of job.steps ?? []) {
        if (step.uses !== './actions/render-manifests') continue;
        const w = (step.with ?? {}) as Record<string, unknown>;
        const input = (name: string) => (typeof w[name] === 'string' ? resolveEnv(w[name], env) : '');
        if (input('restore-revision') || w.push === false || input('push') === 'false') continue;
        const environment = input('environment');
        const write = {
          workflow: file,
          job: jobId,
          branch: input('deploy-branch') || 'deploy',
          path: (input('output-path') || `rendered/${environment}`).replace(/\/+$/, ''),
        };
        // Production's canary render and its full render write the same path: one write.
        const same = (o: RenderWrite) =>
          o.workflow === write.workflow &&
          o.job === write.job &&
          o.branch === write.branch &&
          o.path === write.path;
        if (!out.some(same)) out.push(write);
      }
    }
  }
  return out;
}

/** The workflow files of a checkout, by file name. */
export function readWorkflows(root: string): Map<string, string> {
  const dir = join(root, '.github/workflows');
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)) : [];
  return new Map(files.sort().map((f) => [f, readFileSync(join(dir, f), 'utf8')]));
}

/**
 * A problem for every Application whose source path is neither written by a workflow on its
 * targetRevision nor a directory of this repository (`root`).
 */
export function checkApplicationSources(
  argo: K8sObject[],
  writes: RenderWrite[],
  root: string,
  target = 'argocd',
): Problem[] {
  const out: Problem[] = [];
  for (const app of argo.filter((o) => o.kind === 'Application')) {
    const revision = String(get(app, 'spec', 'source', 'targetRevision') ?? 'HEAD');
    const path = String(get(app, 'spec', 'source', 'path') ?? '').replace(/\/+$/, '');
    const written = writes.some((w) => w.branch === revision && w.path === path);
    const inRepo = path !== '' && !writes.some((w) => w.branch === revision) && existsSync(join(root, path));
    if (written || inRepo) continue;
    const writers = writes.filter((w) => w.branch === revision).map((w) => w.path);
    out.push(
      problem(
        { target },
        'application-sources',
        app,
        'spec.source.path',
        writers.length > 0
          ? `tracks ${path} on ${revision}, which no workflow renders (they write ${[...new Set(writers)].join(', ')}): ` +
              `add a render-manifests step for it or track a path that exists`
          : `tracks ${path} at ${revision}: no workflow writes that branch and the repository has no such directory`,
      ),
    );
  }
  return out;
}
