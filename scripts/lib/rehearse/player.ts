// Plays a workflow's jobs in order on this machine: job and step conditions are evaluated like the
// runner does (success()/failure()/always(), `needs`, `steps` outputs), `run:` steps run for real
// with bash (GITHUB_OUTPUT, GITHUB_STEP_SUMMARY), `uses: ./actions/<name>` steps go to a handler
// that calls that action's domain code, third-party setup actions are skipped with the reason.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SummarySection } from '../../../pipeline/src/summary/index.js';
import { $, tail } from '../zx.js';
import { formatDuration } from './progress.js';
import { callInputs, callOutputs, callResult, callSecrets } from './workflow-call.js';
import {
  condition,
  interpolate,
  stepName,
  type Contexts,
  type Workflow,
  type WorkflowCall,
  type WorkflowJob,
  type WorkflowStep,
} from './workflow.js';

/** A job's or step's conclusion. */
export type Result = 'success' | 'failure' | 'skipped';

/** What a step handler reports. */
export interface StepOutcome {
  outputs?: Record<string, string>;
  /** Printed after the step, e.g. "stand-in: ..." or why it was skipped. */
  note?: string;
  /** Job-summary sections the action writes. */
  summary?: SummarySection[];
  /** The step failed in a way the action reports with core.setFailed (the job fails, no exception). */
  failed?: string;
}

/** Everything a handler gets: the evaluated `with:` inputs, the step and job, and a log. */
export interface StepContext {
  job: WorkflowJob;
  step: WorkflowStep;
  inputs: Record<string, string>;
  log: (line: string) => void;
}

/** Runs one `uses: ./actions/<name>` step. */
export type ActionHandler = (ctx: StepContext) => Promise<StepOutcome>;

/** Why third-party actions are not run here. */
export const thirdPartyNotes: Record<string, string> = {
  'actions/checkout': 'the working tree is the checkout',
  'actions/setup-node': `this machine's node ${process.version}`,
  'docker/setup-buildx-action': 'no docker here: build-image falls back to buildah',
  'grafana/setup-k6-action': 'no k6 binary: the load test runs on the Node runner (engine: node)',
  'actions/upload-artifact': 'the summary JSON stays in the summary directory',
};

/** What playing one job produced. */
export interface JobRecord {
  job: WorkflowJob;
  result: Result;
  outputs: Record<string, string>;
  ms: number;
  steps: { name: string; result: Result; ms: number; note?: string }[];
  /** Why it failed (the first failing step's message). */
  failure?: string;
  /** A job that called a reusable workflow: its called jobs have their own records (not a job to list). */
  caller?: boolean;
}

/** How the player reports and where run steps run. */
export interface PlayerOptions {
  /** Contexts the workflow reads besides needs/steps/env/job: github, vars, secrets, runner. */
  contexts: () => Contexts;
  handlers: Record<string, ActionHandler>;
  /** Working directory of `run:` steps. */
  workspace: string;
  /** Where GITHUB_OUTPUT files go. */
  tempDir: string;
  /** Process env for `run:` steps (PATH etc.); GITHUB_* are added. */
  baseEnv: Record<string, string>;
  /** Prints a line. */
  print: (line: string) => void;
  /** Called with the job-summary sections an action step writes. */
  onSummary: (sections: SummarySection[]) => Promise<void>;
  /** Called with what a run step appended to GITHUB_STEP_SUMMARY itself. */
  onRunSummary: (markdown: string) => Promise<void>;
  /** Reads what run steps appended to GITHUB_STEP_SUMMARY (path of the file). */
  stepSummaryPath: string;
  /** Jobs are announced as `[N/M]` with this offset and total, or with `label` when given. */
  numbering: { first: number; total: number } | { label: string };
}

function parseOutputFile(path: string): Record<string, string> {
  if (!existsSync(path)) return {};
  const out: Record<string, string> = {};
  const lines = readFileSync(path, 'utf8').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line);
    if (heredoc) {
      const [, key, marker] = heredoc;
      const value: string[] = [];
      for (i++; i < lines.length && lines[i] !== marker; i++) value.push(lines[i]!);
      out[key!] = value.join('\n');
    } else if (line.includes('=')) {
      out[line.slice(0, line.indexOf('='))] = line.slice(line.indexOf('=') + 1);
    }
  }
  return out;
}

/**
 * Plays the workflow's jobs in file order; resolves with every job's record. Jobs already in
 * `earlier` (records of a previous play) are not played again; later jobs see them in `needs`.
 */
export async function playWorkflow(
  workflow: Workflow,
  opts: PlayerOptions,
  earlier: Map<string, JobRecord> = new Map(),
): Promise<Map<string, JobRecord>> {
  const records = new Map(earlier);
  const ancestors = (id: string, seen = new Set<string>()): Set<string> => {
    const job = workflow.jobs.find((j) => j.id === id) ?? records.get(id)?.job;
    for (const n of job?.needs ?? []) {
      if (!seen.has(n)) {
        seen.add(n);
        ancestors(n, seen);
      }
    }
    return seen;
  };
  const statusOf = (needed: string[]) => {
    const up = [...new Set(needed.flatMap((n) => [n, ...ancestors(n)]))].map((a) => records.get(a)!.result);
    // success() needs every ancestor to have succeeded (skipped ones too); failure() any to have failed.
    return { success: up.every((r) => r === 'success'), failure: up.includes('failure') };
  };
  const needsOf = (needed: string[]) =>
    Object.fromEntries(
      needed.map((n) => [n, { result: records.get(n)!.result, outputs: records.get(n)!.outputs }]),
    );
  // A called workflow's condition and inputs, evaluated once in the caller's contexts; its secrets
  // per step, like every context here (the stand-in's token exists only after the sync step).
  const calls = new Map<WorkflowCall, { runs: boolean; contexts: () => Contexts }>();
  const called = (call: WorkflowCall) => {
    let entry = calls.get(call);
    if (!entry) {
      const callerContexts = () => ({ ...opts.contexts(), needs: needsOf(call.needs) });
      const runs = condition(call.if, callerContexts(), statusOf(call.needs));
      const inputs = runs ? callInputs(call, callerContexts()) : {};
      entry = { runs, contexts: () => ({ inputs, secrets: callSecrets(call, callerContexts()) }) };
      calls.set(call, entry);
    }
    return entry;
  };
  // The caller's job, once its called workflow's last job is played (unless a called job has its id).
  const endCall = (call: WorkflowCall) => {
    if (call.jobIds.includes(call.id)) return;
    const inner = Object.fromEntries(
      call.jobIds.map((id) => [id, { result: records.get(id)!.result, outputs: records.get(id)!.outputs }]),
    );
    const job = { id: call.id, name: call.name, needs: call.needs, steps: [], outputs: {}, env: {} };
    const result = callResult(Object.values(inner).map((r) => r.result));
    const outputs =
      result === 'skipped'
        ? {}
        : callOutputs(call, inner, { ...opts.contexts(), ...called(call).contexts() });
    records.set(call.id, { job, result, outputs, ms: 0, steps: [], caller: true });
  };
  for (const [i, job] of workflow.jobs.entries()) {
    if (earlier.has(job.id)) continue;
    const n = opts.numbering;
    const label = `${'label' in n ? n.label : `[${n.first + i}/${n.total}]`} job ${job.id} (${job.name})`;
    for (const n of job.needs) {
      if (!records.has(n))
        throw new Error(`${workflow.path}: job ${job.id} needs ${n}, which comes later in the file`);
    }
    const call = job.call ? called(job.call) : undefined;
    // In a called workflow: its own env, the inputs and secrets of the call (GitHub's rules).
    const own = () => ({ ...opts.contexts(), ...call?.contexts() });
    const env = { ...(job.call ? job.call.env : workflow.env), ...job.env };
    const needs = needsOf(job.needs);
    const base = { ...own(), needs, env };
    const jobStatus = statusOf(job.needs);
    const runs = (call?.runs ?? true) && condition(job.if, base, jobStatus);
    if (!runs) {
      const why =
        call && !call.runs
          ? `if of ${job.call!.id}: ${job.call!.if ?? 'a needed job did not succeed'}`
          : job.if
            ? `if: ${job.if}`
            : 'a needed job did not succeed';
      opts.print(`${label}: skipped (${why.replace(/\s+/g, ' ')})`);
      records.set(job.id, { job, result: 'skipped', outputs: {}, ms: 0, steps: [] });
      if (job.call && job.call.jobIds.at(-1) === job.id) endCall(job.call);
      continue;
    }
    opts.print(`${label} ...`);
    const started = Date.now();
    const record: JobRecord = { job, result: 'success', outputs: {}, ms: 0, steps: [] };
    const steps: Record<string, { outputs: Record<string, string>; outcome: Result; conclusion: Result }> =
      {};
    let jobFailed = false;
    for (const step of job.steps) {
      const name = stepName(step);
      // Contexts again per step: the stand-in's URLs and token exist only after the sync step, while on
      // GitHub an environment's vars and secrets exist before the job (staging is one job now).
      const ctx = { ...base, ...own(), needs, steps, env };
      let go: boolean;
      try {
        go = condition(step.if, ctx, { success: !jobFailed, failure: jobFailed });
      } catch (err) {
        go = false;
        jobFailed = true;
        record.failure ??= (err as Error).message;
      }
      const t0 = Date.now();
      if (!go) {
        record.steps.push({ name, result: 'skipped', ms: 0 });
        if (step.id) steps[step.id] = { outputs: {}, outcome: 'skipped', conclusion: 'skipped' };
        continue;
      }
      let outcome: StepOutcome;
      try {
        outcome = await runStep(step, ctx, job, opts);
      } catch (err) {
        outcome = { failed: err instanceof Error ? err.message : String(err) };
      }
      const ms = Date.now() - t0;
      const result: Result = outcome.failed ? 'failure' : 'success';
      if (outcome.summary) await opts.onSummary(outcome.summary);
      record.steps.push({ name, result, ms, ...(outcome.note ? { note: outcome.note } : {}) });
      if (step.id) steps[step.id] = { outputs: outcome.outputs ?? {}, outcome: result, conclusion: result };
      opts.print(
        `    ${result === 'success' ? 'ok  ' : 'FAIL'} ${name} (${formatDuration(ms)})${outcome.note ? `: ${outcome.note}` : ''}`,
      );
      if (outcome.failed) {
        opts.print(`         ${outcome.failed.split('\n').join('\n         ')}`);
        jobFailed = true;
        record.failure ??= `${name}: ${outcome.failed.split('\n')[0]}`;
      }
    }
    const ctx = { ...base, steps };
    for (const [k, v] of Object.entries(job.outputs)) {
      try {
        record.outputs[k] = interpolate(v, ctx);
      } catch {
        record.outputs[k] = '';
      }
    }
    record.result = jobFailed ? 'failure' : 'success';
    record.ms = Date.now() - started;
    records.set(job.id, record);
    opts.print(
      `${label}: ${record.result === 'success' ? 'succeeded' : 'FAILED'} in ${formatDuration(record.ms)}`,
    );
    if (job.call && job.call.jobIds.at(-1) === job.id) endCall(job.call);
  }
  return records;
}

async function runStep(
  step: WorkflowStep,
  ctx: Contexts,
  job: WorkflowJob,
  opts: PlayerOptions,
): Promise<StepOutcome> {
  const inputs: Record<string, string> = {};
  for (const [k, v] of Object.entries(step.with)) inputs[k] = interpolate(v, ctx);
  if (step.uses?.startsWith('./actions/')) {
    const name = step.uses.slice('./actions/'.length).replace(/\/$/, '');
    const handler = opts.handlers[name];
    if (!handler) return { failed: `the rehearsal has no stand-in for the action ${step.uses}` };
    return handler({ job, step, inputs, log: (line) => opts.print(`         ${line}`) });
  }
  if (step.uses) {
    const action = step.uses.replace(/@.*$/, '');
    return {
      note: `skipped: ${thirdPartyNotes[action] ?? 'a third-party action is not run in the rehearsal'}`,
    };
  }
  const script = step.run ?? '';
  if (/^\s*npm ci\b/.test(script)) return { note: "skipped: this machine's node_modules" };
  // The runner's default shell for run steps: bash --noprofile --norc -eo pipefail {0}.
  const outputFile = join(opts.tempDir, `output-${job.id}-${step.index}`);
  writeFileSync(outputFile, '');
  const before = existsSync(opts.stepSummaryPath) ? readFileSync(opts.stepSummaryPath, 'utf8').length : 0;
  const env: Record<string, string> = { ...opts.baseEnv };
  for (const [k, v] of Object.entries({ ...(ctx.env as Record<string, string>), ...step.env }))
    env[k] = interpolate(v, ctx);
  env.GITHUB_OUTPUT = outputFile;
  env.GITHUB_STEP_SUMMARY = opts.stepSummaryPath;
  const script2 = interpolate(script, ctx);
  const step$ = $({ cwd: opts.workspace, env, timeout: 120_000, nothrow: true });
  const out = await step$`bash --noprofile --norc -eo pipefail -c ${script2}`;
  if (!out.ok)
    return {
      failed: out.stderr.trim() || `bash exited ${out.exitCode ?? out.signal}: ${tail(out.stdout)}`,
    };
  const outputs = parseOutputFile(outputFile);
  const appended = existsSync(opts.stepSummaryPath)
    ? readFileSync(opts.stepSummaryPath, 'utf8').slice(before)
    : '';
  if (appended.trim()) await opts.onRunSummary(appended);
  return {
    outputs,
    ...(Object.keys(outputs).length
      ? {
          note: Object.entries(outputs)
            .map(([k, v]) => `${k}=${v}`)
            .join(' '),
        }
      : {}),
  };
}
