// k6-loadtest as loadtest.yml runs it, in both modes. Local: no k6 binary here, so engine node (the
// Node runner: same scenario, thresholds and summary) -- after the check the pinned k6 would make at
// start: every import of the bundle is a module k6 v<pinned> has. Operator: the action's own
// runWithOperator() with its `kubectl` input pointing at the stand-in API server and k6-operator
// (k6-operator-standin.ts), which checks the rendered TestRun against the pinned CRD, runner image and
// module list and runs its runners. withFault(): `--fault` injected while either mode's load runs.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { readLoadTestConfig } from '../../../actions/k6-loadtest/src/config.js';
import { runWithNode } from '../../../actions/k6-loadtest/src/local.js';
import { runWithOperator } from '../../../actions/k6-loadtest/src/operator.js';
import { loadTestSummary } from '../../../actions/k6-loadtest/src/summary.js';
import { combineSummaries, type LoadSummary } from '../../../pipeline/src/k6/index.js';
import { checkBundleImports } from '../../../pipeline/src/platform/k6-modules.js';
import { pinnedK6 } from '../../../pipeline/src/validate/policies/k6.js';
import type { Fault, FaultContext, FaultRecord } from './faults.js';
import type { ActionHandler, StepOutcome } from './player.js';

/** What the load-test handler needs from the rehearsal. */
export interface LoadTestHandlerState {
  root: string;
  tempDir: string;
  /** The stand-in kubectl executable (operator mode). */
  kubectl: string;
  runId: string;
  /** Set by the handler: when the load test ran (what k6-loadtest outputs). */
  span?: { startedAt: string; endedAt: string };
}

const reader = (inputs: Record<string, string>) => (name: string) => inputs[name] ?? '';

/** The bundle's import problems against the pinned k6; empty when it would load. */
export function pinnedImportProblems(bundle: string): string[] {
  const pinned = pinnedK6();
  return checkBundleImports(
    bundle.split('/').at(-1) ?? bundle,
    readFileSync(bundle, 'utf8'),
    pinned.modules,
    pinned.version,
  ).map((p) => `${p.bundle} imports ${p.specifier}: ${p.message}`);
}

/** k6-loadtest in the mode the dispatch chose. */
export function loadTestModesHandler(state: LoadTestHandlerState): ActionHandler {
  return async ({ inputs, log }): Promise<StepOutcome> => {
    const local = (inputs.mode || 'local') === 'local';
    const overrides: Record<string, string> = local
      ? { engine: 'node' }
      : { kubectl: state.kubectl, 'poll-interval-seconds': '1', 'timeout-seconds': '600' };
    const config = readLoadTestConfig(reader({ ...inputs, ...overrides }), {
      workspace: state.root,
      tempDir: state.tempDir,
      runId: state.runId,
    });
    let summaries: LoadSummary[];
    let testRun: string | undefined;
    const startedAt = new Date().toISOString();
    if (local) {
      const bundle = resolve(
        state.root,
        inputs['bundle-dir'] || 'base/loadtest/generated',
        `${config.scenario}.js`,
      );
      const problems = pinnedImportProblems(bundle);
      if (problems.length > 0) {
        return {
          outputs: { passed: 'false' },
          failed: `k6 ${pinnedK6().version} (the pinned k6 setup-k6-action installs) cannot load the bundle: ${problems.join('; ')}`,
        };
      }
      log(`${bundle}: every import is a module of k6 ${pinnedK6().version}`);
      summaries = [await runWithNode(config, log)];
    } else {
      try {
        const result = await runWithOperator(
          { ...config, operator: config.operator! },
          {
            now: () => Date.now(),
            sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
            log,
            warn: (m) => log(`warning: ${m}`),
          },
        );
        summaries = result.summaries;
        testRun = result.testRun;
      } catch (err) {
        return { outputs: { passed: 'false' }, failed: (err as Error).message };
      }
    }
    const endedAt = new Date().toISOString();
    state.span = { startedAt, endedAt };
    const combined = combineSummaries(summaries);
    const failed = combined.thresholds.filter((t) => !t.ok);
    return {
      outputs: {
        passed: String(combined.passed),
        'summary-path': config.summaryPath,
        'duration-seconds': String(Math.ceil(combined.testRunDurationMs / 1000)),
        'started-at': startedAt,
        'ended-at': endedAt,
      },
      note: `${local ? 'local' : `operator (testrun/${testRun}, ${summaries.length} runner summaries)`}: ${combined.passed ? 'passed' : 'FAILED'} ${combined.thresholds.length - failed.length}/${combined.thresholds.length} thresholds (rehearsal sets ${Object.keys(overrides).join(', ')})`,
      summary: loadTestSummary(config, combined, summaries, { testRun }),
      ...(!combined.passed && config.failOnThresholds
        ? {
            failed: `load test ${config.scenario} failed ${failed.length} threshold(s): ${failed.map((t) => t.metric).join(', ')}`,
          }
        : {}),
    };
  };
}

/**
 * `handler` with `fault` injected into the stand-in `at.atMs` after the step starts (as deploy.yml's
 * rehearsal does during its load test); a step that ends before then gets no fault.
 */
export function withFault(
  handler: ActionHandler,
  fault: Fault,
  at: { atMs: number; holdMs: number },
  target: Omit<FaultContext, 'holdMs' | 'log'>,
): ActionHandler {
  return async (ctx): Promise<StepOutcome> => {
    let injected: Promise<FaultRecord> | undefined;
    const timer = setTimeout(() => {
      ctx.log(`injecting fault ${fault.name}: ${fault.description}`);
      injected = fault.inject({ ...target, holdMs: at.holdMs, log: ctx.log });
    }, at.atMs);
    let outcome: StepOutcome;
    try {
      outcome = await handler(ctx);
    } finally {
      clearTimeout(timer);
    }
    const record = await injected;
    return record
      ? { ...outcome, note: `${outcome.note ?? ''}; fault: ${record.actions.join(', ')}` }
      : outcome;
  };
}
