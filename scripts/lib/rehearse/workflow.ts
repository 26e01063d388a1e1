// Reads a GitHub Actions workflow (jobs in file order, their needs, conditions, steps, inputs and
// outputs) and evaluates its `${{ }}` expressions with @actions/expressions -- GitHub's own
// expression library -- against contexts the rehearsal supplies (vars, secrets, needs, steps, ...).
import { readFileSync } from 'node:fs';
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

/** Parses the workflow file; throws naming the file and what is missing. */
export function readWorkflow(path: string): Workflow {
  let doc: { name?: string; env?: unknown; jobs?: Record<string, Record<string, unknown>> };
  try {
    doc = parse(readFileSync(path, 'utf8')) as typeof doc;
  } catch (err) {
    throw new Error(`cannot read the workflow ${path}: ${(err as Error).message}`, { cause: err });
  }
  if (!doc?.jobs || typeof doc.jobs !== 'object') throw new Error(`${path} has no jobs`);
  const jobs = Object.entries(doc.jobs).map(([id, job]): WorkflowJob => {
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
  });
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
