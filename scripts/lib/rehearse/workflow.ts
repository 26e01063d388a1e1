// Reads a GitHub Actions workflow (jobs in file order, their needs, conditions, steps, inputs and
// outputs; a job that calls a reusable workflow of the repository replaced by that workflow's jobs,
// which workflow-call.ts gives their inputs and secrets) and evaluates its `${{ }}` expressions with @actions/expressions -- GitHub's own
// expression library -- against contexts the rehearsal supplies (vars, secrets, needs, steps, ...).
import { readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { Evaluator, Lexer, Parser, data } from '@actions/expressions';
import { truthy } from '@actions/expressions/result';
import { parse } from 'yaml';

/** One step of a job. */
export interface WorkflowStep {
  index: number;
  name?: string;
  id?: string;
  uses?: string;
  run?: string;
  with: Record<string, string>;
  env: Record<string, string>;
  if?: string;
}

/** One job. */
export interface WorkflowJob {
  id: string;
  name: string;
  needs: string[];
  if?: string;
  environment?: string;
  steps: WorkflowStep[];
  outputs: Record<string, string>;
  env: Record<string, string>;
  /** Set on the jobs of a called workflow (`uses: ./.github/workflows/<file>`): the call they belong to. */
  call?: WorkflowCall;
}

/** One declared input of `on.workflow_call.inputs`. */
export interface CallInput {
  type: 'string' | 'number' | 'boolean';
  required: boolean;
  default?: unknown;
}

/**
 * A job of the caller that runs a reusable workflow. Its jobs are played in its place; later jobs of the
 * caller see it in `needs` with the called workflow's outputs.
 */
export interface WorkflowCall {
  /** The caller's job id, name, needs and condition. */
  id: string;
  name: string;
  needs: string[];
  if?: string;
  /** The called workflow's file. */
  path: string;
  /** The caller's `with:` as written (numbers and booleans stay typed). */
  with: Record<string, unknown>;
  /** The caller's `secrets:` mapping, or `inherit`. */
  secrets: Record<string, string> | 'inherit';
  /** `on.workflow_call.inputs` of the called workflow. */
  inputs: Record<string, CallInput>;
  /** `on.workflow_call.outputs`: name -> value expression over `jobs`. */
  outputs: Record<string, string>;
  /** The called workflow's top-level env (the caller's is not propagated). */
  env: Record<string, string>;
  /** Ids of the called workflow's jobs, in file order. */
  jobIds: string[];
}

/** A workflow: its name, top-level env and jobs in file order. */
export interface Workflow {
  path: string;
  name: string;
  env: Record<string, string>;
  jobs: WorkflowJob[];
}

function strings(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) out[k] = v === null || v === undefined ? '' : String(v);
  }
  return out;
}

type JobDoc = Record<string, unknown>;
interface WorkflowDoc {
  name?: string;
  on?: unknown;
  env?: unknown;
  jobs?: Record<string, JobDoc>;
}

function readDoc(path: string): WorkflowDoc {
  let doc: WorkflowDoc;
  try {
    doc = parse(readFileSync(path, 'utf8')) as WorkflowDoc;
  } catch (err) {
    throw new Error(`cannot read the workflow ${path}: ${(err as Error).message}`, { cause: err });
  }
  if (!doc?.jobs || typeof doc.jobs !== 'object') throw new Error(`${path} has no jobs`);
  return doc;
}

function readJob(id: string, job: JobDoc): WorkflowJob {
  const needs =
    job.needs === undefined ? [] : Array.isArray(job.needs) ? job.needs.map(String) : [String(job.needs)];
  const steps = ((job.steps as Record<string, unknown>[] | undefined) ?? []).map(
    (s, index): WorkflowStep => ({
      index,
      ...(s.name !== undefined ? { name: String(s.name) } : {}),
      ...(s.id !== undefined ? { id: String(s.id) } : {}),
      ...(s.uses !== undefined ? { uses: String(s.uses) } : {}),
      ...(s.run !== undefined ? { run: String(s.run) } : {}),
      with: strings(s.with),
      env: strings(s.env),
      ...(s.if !== undefined ? { if: String(s.if) } : {}),
    }),
  );
  const environment =
    typeof job.environment === 'string'
      ? job.environment
      : (job.environment as { name?: string } | undefined)?.name;
  return {
    id,
    name: typeof job.name === 'string' ? job.name : id,
    needs,
    ...(job.if !== undefined ? { if: String(job.if) } : {}),
    ...(environment ? { environment } : {}),
    steps,
    outputs: strings(job.outputs),
    env: strings(job.env),
  };
}

const LOCAL_WORKFLOW = /^\.\/\.github\/workflows\/[^/]+\.ya?ml$/;

/**
 * The jobs of the reusable workflow `job` calls, in its place. GitHub keeps workflows in
 * .github/workflows without subfolders, so the called file lies beside its caller.
 */
function expandCall(callerPath: string, id: string, job: JobDoc): WorkflowJob[] {
  const uses = String(job.uses);
  if (!LOCAL_WORKFLOW.test(uses))
    throw new Error(
      `${callerPath}: job ${id} calls ${uses}; the rehearsal plays only ./.github/workflows/<file> calls`,
    );
  const path = join(dirname(callerPath), basename(uses));
  const doc = readDoc(path);
  const on = (doc.on ?? (doc as Record<string, unknown>).true) as Record<string, unknown> | undefined;
  const trigger = on && typeof on === 'object' && 'workflow_call' in on ? on.workflow_call : undefined;
  if (trigger === undefined)
    throw new Error(`${path} is called by ${callerPath} job ${id} but has no on.workflow_call`);
  const declared = (trigger ?? {}) as {
    inputs?: Record<string, { type?: string; required?: boolean; default?: unknown }>;
    outputs?: Record<string, { value?: string }>;
  };
  const caller = readJob(id, job);
  const secrets = job.secrets === 'inherit' ? 'inherit' : strings(job.secrets);
  const call: WorkflowCall = {
    id,
    name: caller.name,
    needs: caller.needs,
    ...(caller.if !== undefined ? { if: caller.if } : {}),
    path,
    with: { ...((job.with as Record<string, unknown> | undefined) ?? {}) },
    secrets,
    inputs: Object.fromEntries(
      Object.entries(declared.inputs ?? {}).map(([name, d]) => [
        name,
        {
          type: d.type === 'number' || d.type === 'boolean' ? d.type : 'string',
          required: d.required === true,
          ...(d.default !== undefined ? { default: d.default } : {}),
        },
      ]),
    ),
    outputs: Object.fromEntries(
      Object.entries(declared.outputs ?? {}).map(([name, o]) => [name, String(o.value ?? '')]),
    ),
    env: strings(doc.env),
    jobIds: Object.keys(doc.jobs!),
  };
  return Object.entries(doc.jobs!).map(([innerId, inner]) => {
    if ('uses' in inner)
      throw new Error(`${path}: job ${innerId} calls another workflow; the rehearsal plays one level`);
    const played = readJob(innerId, inner);
    // The first jobs of the called workflow wait for what the caller's job needs.
    return { ...played, needs: played.needs.length ? played.needs : caller.needs, call };
  });
}

/**
 * Parses the workflow file; throws naming the file and what is missing. A job that calls a reusable
 * workflow of the same repository is replaced by that workflow's jobs (WorkflowJob.call).
 */
export function readWorkflow(path: string): Workflow {
  const doc = readDoc(path);
  const jobs = Object.entries(doc.jobs!).flatMap(([id, job]): WorkflowJob[] =>
    job.uses !== undefined ? expandCall(path, id, job) : [readJob(id, job)],
  );
  const ids = new Set<string>();
  for (const job of jobs) {
    if (ids.has(job.id))
      throw new Error(`${path}: two jobs are called ${job.id} once the called workflows are expanded`);
    ids.add(job.id);
  }
  return { path, name: doc.name ?? path, env: strings(doc.env), jobs };
}

/** A step's display name, as the Actions UI shows it. */
export function stepName(step: WorkflowStep): string {
  if (step.name) return step.name;
  if (step.uses) return `Run ${step.uses.replace(/@[0-9a-f]{40}$/, '')}`;
  return `Run ${(step.run ?? '').split('\n')[0]!.slice(0, 60)}`;
}

/**
 * What status functions answer in a condition. Jobs: success() when every ancestor job succeeded,
 * failure() when one failed. Steps: success() when no earlier step failed, failure() when one did.
 */
export interface Status {
  success: boolean;
  failure: boolean;
}

/** Plain JSON for an expression context (vars, secrets, needs, steps, github, env, job, runner). */
export type Contexts = Record<string, unknown>;

const contextNames = [
  'github',
  'env',
  'vars',
  'secrets',
  'needs',
  'jobs',
  'steps',
  'job',
  'runner',
  'inputs',
  'matrix',
  'strategy',
];

function statusFunctions(status: Status) {
  const fn = (name: string, value: () => boolean) => ({
    name,
    minArgs: 0,
    maxArgs: 0,
    call: () => new data.BooleanData(value()),
  });
  return [
    fn('success', () => status.success),
    fn('failure', () => status.failure),
    fn('always', () => true),
    fn('cancelled', () => false),
  ];
}

/** Evaluates one expression (without `${{ }}`); errors name the expression. */
export function evaluate(
  expression: string,
  contexts: Contexts,
  status: Status = { success: true, failure: false },
): data.ExpressionData {
  const funcs = statusFunctions(status);
  try {
    const lexed = new Lexer(expression).lex();
    const expr = new Parser(lexed.tokens, contextNames, funcs).parse();
    const dict = JSON.parse(JSON.stringify(contexts), data.reviver) as data.Dictionary;
    return new Evaluator(expr, dict, new Map(funcs.map((f) => [f.name.toLowerCase(), f]))).evaluate();
  } catch (err) {
    throw new Error(`cannot evaluate \${{ ${expression} }}: ${(err as Error).message}`, { cause: err });
  }
}

/** Replaces every `${{ expr }}` in `text` with its value as a string. */
export function interpolate(text: string, contexts: Contexts, status?: Status): string {
  return text.replace(/\$\{\{([\s\S]*?)\}\}/g, (_, expr: string) =>
    evaluate(expr.trim(), contexts, status).coerceString(),
  );
}

/**
 * Evaluates an `if:` condition. Like the runner: a condition without a status function is implicitly
 * `success() && (<condition>)`; no condition means `success()`.
 */
export function condition(text: string | undefined, contexts: Contexts, status: Status): boolean {
  if (text === undefined || text.trim() === '') return status.success;
  const expr = text
    .trim()
    .replace(/^\$\{\{([\s\S]*)\}\}$/, '$1')
    .trim();
  const full = /\b(success|failure|always|cancelled)\s*\(/.test(expr) ? expr : `success() && (${expr})`;
  return truthy(evaluate(full, contexts, status));
}
