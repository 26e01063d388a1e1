// When the rehearsal runs a neighbour, and what it concludes from it: a workflow that syncs staging
// gets production (as committed) next to it in the same Prometheus, started while the image builds;
// after the workflow, production is judged with the deploy's gate inputs and its own selector.
import { join } from 'node:path';
import type { Fault } from './faults.js';
import { findApplication, type RehearsalState } from './handlers.js';
import { judgeNeighbour, type NeighbourJudgement } from './neighbour-gate.js';
import { startNeighbour } from './neighbour.js';
import type { Workflow } from './workflow.js';

/** The Application synced by the workflow, and the one the rehearsal runs next to it. */
const deployed = 'switchboard-staging';
const neighbourApplication = 'switchboard-production';

/**
 * Starts the neighbour in the background when `workflow` syncs the deployed Application; sets
 * `state.neighbour` (awaited where Prometheus starts). Returns the neighbour's name, or undefined.
 */
export function startNeighbourOf(
  workflow: Workflow,
  ctx: { state: RehearsalState; branch: string; log: (line: string) => void },
): string | undefined {
  const syncs = workflow.jobs.some((j) =>
    j.steps.some((s) => s.uses === './actions/argocd-sync' && s.with.application === deployed),
  );
  if (!syncs) return undefined;
  const { state } = ctx;
  const app = findApplication(state.root, neighbourApplication);
  const log = (line: string) => ctx.log(`[${app.environment}] ${line}`);
  const started = Date.now();
  state.neighbour = startNeighbour({
    root: state.root,
    repos: state.repos,
    revision: ctx.branch,
    path: app.path,
    application: neighbourApplication,
    environment: app.environment,
    runId: state.runId,
    dir: join(state.dir, app.environment),
    summaryDir: state.summaryDir,
    scrapeIntervalMs: state.scrapeIntervalMs,
    teardown: state.teardown,
    log,
    interrupted: state.interrupted,
  }).then((n) => {
    log(`${neighbourApplication} synced and serving in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return n;
  });
  // Awaited later (argocd-sync's handler); a failure surfaces there, not as an unhandled rejection.
  state.neighbour.catch(() => undefined);
  return `${neighbourApplication} (${app.path})`;
}

/**
 * The job that syncs the neighbour (production) and judges it afterwards with slo-gate: its
 * verification; undefined when the workflow has none.
 */
export function neighbourVerifyingJob(workflow: Workflow): string | undefined {
  return workflow.jobs.find(
    (j) =>
      j.steps.some(
        (s) => s.uses === './actions/argocd-sync' && s.with.application === neighbourApplication,
      ) && j.steps.some((s) => s.uses === './actions/slo-gate'),
  )?.id;
}

/** Judges the neighbour after the workflow, when both its traffic and the deploy's gate ran. */
export async function judgeNeighbourOf(
  state: RehearsalState,
  fault: Fault | undefined,
  log: (line: string) => void,
): Promise<NeighbourJudgement | undefined> {
  if (!state.neighbour || !state.neighbourLoad || !state.gateInputs || state.interrupted()) return undefined;
  const neighbour = await state.neighbour;
  log(
    `judging the neighbour ${neighbour.environment} with the deploy's gate inputs and ${neighbour.selector}`,
  );
  return judgeNeighbour({
    neighbour,
    load: state.neighbourLoad,
    gateInputs: state.gateInputs,
    root: state.root,
    // The neighbour's traffic has the deploy's SESSION too: some faults then break other objectives.
    fault: fault && state.session && fault.withSessions ? { ...fault, ...fault.withSessions } : fault,
    faultHere: state.faultInNeighbour === true,
    deployedGate: state.gate?.report.verdict,
    log,
  });
}
