// The promotion decision: promote only when the load test's thresholds and the SLO gate both pass
// (as the workflow does: a failed step stops the job before promotion). With a fault, it also says
// whether the fault was caught by the objective it must break.
import {
  formatValue,
  unmet,
  type ObjectiveResult,
  type Verdict,
} from '../../../actions/slo-gate/src/evaluate.js';
import { keyValueTable, table, type SummarySection } from '../../../pipeline/src/summary/index.js';
import type { CombinedResult } from '../../../pipeline/src/k6/index.js';
import type { Fault } from './faults.js';
import type { StepTiming } from './progress.js';
import { formatDuration } from './progress.js';

/** What the rehearsal concludes. */
export interface Decision {
  promote: boolean;
  /** Production was promoted, its verification did not pass and the previous render was restored. */
  rolledBack: boolean;
  /** Production's canary against its stable pods, when it ran; what it did not pass; removed. */
  canaryVerdict?: Verdict;
  canaryFailed: string[];
  canaryRemoved: boolean;
  /** Production's verification after its sync, when it ran. */
  verificationVerdict?: Verdict;
  /** Objectives production's verification did not pass. */
  verificationFailed: string[];
  loadTestPassed?: boolean;
  gateVerdict?: Verdict;
  /** The gate was evaluated only as a diagnostic, after deploy.yml had stopped before it. */
  gateDiagnostic: boolean;
  /** Objectives of gate.json that did not pass. */
  failedObjectives: string[];
  /** Load-test thresholds that failed (`metric expression`). */
  failedThresholds: string[];
  /** Jobs that failed, with the first failing step. */
  failedJobs: string[];
  /** With a fault: did the gate fail every objective the fault must break (and, if exclusive, no other)? */
  faultCaught?: boolean;
  /**
   * With a fault: did the run end as it must -- a fault caught and not promoted, or a disturbance
   * the pipeline must ride through (no gateObjectives) promoted?
   */
  faultAsExpected?: boolean;
  /** One line per conclusion, printed last. */
  lines: string[];
}

/**
 * Decides as the workflow did: promotion happened when the production job ran and succeeded. Then
 * explains why not, and whether a fault was caught by the objective it must break.
 */
export function decide(input: {
  promoted: boolean;
  jobs: { id: string; result: string; failure?: string }[];
  load?: Pick<CombinedResult, 'passed' | 'thresholds'>;
  gate?: { verdict: Verdict; results: ObjectiveResult[] };
  /** The gate ran only as a diagnostic (the workflow had stopped before it). */
  gateDiagnostic?: boolean;
  fault?: Fault;
  /** The load test's VUs reconnected every session (--session): some faults then break other objectives. */
  sessions?: boolean;
  /** Production's verification after its sync, and whether the workflow restored the previous render. */
  verification?: { verdict: Verdict; results: ObjectiveResult[] };
  rolledBack?: boolean;
  /** Production's canary against its stable pods, and whether the workflow removed it. */
  canary?: { verdict: Verdict; results: ObjectiveResult[] };
  canaryRemoved?: boolean;
}): Decision {
  const canaryFailed = (input.canary?.results ?? []).filter(unmet).map((r) => r.name);
  const canaryRemoved = input.canaryRemoved === true;
  const verificationFailed = (input.verification?.results ?? []).filter(unmet).map((r) => r.name);
  const rolledBack = input.rolledBack === true;
  const failedObjectives = (input.gate?.results ?? []).filter(unmet).map((r) => r.name);
  const failedThresholds = (input.load?.thresholds ?? [])
    .filter((t) => !t.ok)
    .map((t) => `${t.metric} ${t.expression}`);
  const failedJobs = input.jobs
    .filter((j) => j.result === 'failure')
    .map((j) => `${j.id}${j.failure ? ` (${j.failure})` : ''}`);
  const promote = input.promoted;
  const lines: string[] = [];
  if (input.canary) {
    lines.push(
      `production's canary against its stable pods: ${input.canary.verdict}${canaryFailed.length ? ` on ${describeUnmet(input.canary.results)}` : ''}${canaryRemoved ? '; the canary was removed and nothing promoted' : ''}`,
    );
  }
  if (rolledBack) {
    lines.push(
      `ROLLED BACK: staging's gate passed and production was promoted, but its verification after the sync ${input.verification?.verdict ?? 'did not run (the sync failed)'}${verificationFailed.length ? ` on ${describeUnmet(input.verification!.results)}` : ''}; the previous render was restored and synced`,
    );
  } else if (promote) {
    lines.push(
      `PROMOTE: the load test and the SLO gate passed; the production job rendered and committed the same digest${input.verification ? ` and production's verification after its sync ${input.verification.verdict === 'pass' ? 'passed' : input.verification.verdict}` : ''}`,
    );
  } else {
    const why: string[] = [];
    if (failedThresholds.length > 0) why.push(`load test failed ${failedThresholds.join(', ')}`);
    if (input.gate && input.gate.verdict !== 'pass') {
      why.push(
        `SLO gate${input.gateDiagnostic ? ' (diagnostic: deploy.yml stopped before it)' : ''} ${input.gate.verdict} on ${describeUnmet(input.gate.results)}`,
      );
    }
    if (why.length === 0)
      why.push(`failed jobs: ${failedJobs.join('; ') || 'none (production did not run)'}`);
    lines.push(`DO NOT PROMOTE: ${why.join('; ')}`);
  }
  let faultCaught: boolean | undefined;
  const fault =
    input.fault && input.sessions && input.fault.withSessions
      ? { ...input.fault, ...input.fault.withSessions }
      : input.fault;
  let faultAsExpected: boolean | undefined;
  if (fault && fault.gateObjectives.length === 0) {
    // A disturbance the pipeline must ride through: it must promote (nothing to catch).
    faultAsExpected = promote;
    lines.push(
      promote
        ? `${fault.name}: the deploy rode through it and promoted, as expected: ${fault.why}`
        : `${fault.name}: the deploy must ride through it but did NOT promote (the gate failed ${failedObjectives.join(', ') || 'nothing'})`,
    );
  } else if (fault?.afterPromotion && input.canary) {
    // With a canary the bad release reaches the canary's pod first: its comparison must fail it, and
    // the workflow remove the canary without promoting.
    const missed = fault.gateObjectives.filter((o) => !canaryFailed.includes(o));
    const others = fault.exclusive ? canaryFailed.filter((o) => !fault.gateObjectives.includes(o)) : [];
    faultCaught = missed.length === 0 && others.length === 0;
    faultAsExpected = faultCaught && canaryRemoved && !promote;
    lines.push(
      faultCaught
        ? `fault ${fault.name}: the canary's comparison with the stable pods failed ${fault.gateObjectives.join(', ')}${fault.exclusive ? ' and nothing else' : ''}, ${canaryRemoved && !promote ? 'the canary was removed and nothing promoted' : 'but the canary was NOT removed or production was promoted'}: ${fault.why}`
        : missed.length > 0
          ? `fault ${fault.name}: the canary's comparison did NOT fail ${missed.join(', ')} (it failed ${canaryFailed.join(', ') || 'nothing'})`
          : `fault ${fault.name}: the canary's comparison failed ${others.join(', ')} too; the fault must fail ${fault.gateObjectives.join(', ')} only`,
    );
  } else if (fault?.afterPromotion) {
    // Staging cannot see it: production's verification must fail it and the workflow roll back.
    const missed = fault.gateObjectives.filter((o) => !verificationFailed.includes(o));
    const others = fault.exclusive ? verificationFailed.filter((o) => !fault.gateObjectives.includes(o)) : [];
    faultCaught = input.verification !== undefined && missed.length === 0 && others.length === 0;
    faultAsExpected = faultCaught && rolledBack;
    lines.push(
      !input.verification
        ? `fault ${fault.name}: production's verification never ran (${failedObjectives.length ? `staging's gate failed ${failedObjectives.join(', ')}` : 'production was not synced'})`
        : faultCaught
          ? `fault ${fault.name}: production's verification failed ${fault.gateObjectives.join(', ')}${fault.exclusive ? ' and nothing else' : ''}, ${rolledBack ? 'and the workflow rolled back' : 'but the workflow did NOT roll back'}: ${fault.why}`
          : missed.length > 0
            ? `fault ${fault.name}: production's verification did NOT fail ${missed.join(', ')} (it failed ${verificationFailed.join(', ') || 'nothing'})`
            : `fault ${fault.name}: production's verification failed ${others.join(', ')} too; the fault must fail ${fault.gateObjectives.join(', ')} only`,
    );
  } else if (fault) {
    const missed = fault.gateObjectives.filter((o) => !failedObjectives.includes(o));
    const others = fault.exclusive ? failedObjectives.filter((o) => !fault.gateObjectives.includes(o)) : [];
    faultCaught = missed.length === 0 && others.length === 0;
    faultAsExpected = faultCaught && !promote;
    lines.push(
      faultCaught
        ? `fault ${fault.name}: the SLO gate failed ${fault.gateObjectives.join(', ')}${fault.exclusive ? ' and nothing else' : ''}, as expected${input.gateDiagnostic ? ` (the workflow stopped earlier, at the load test: ${failedThresholds.join(', ')})` : ''}: ${fault.why}`
        : missed.length > 0
          ? `fault ${fault.name}: the gate did NOT fail ${missed.join(', ')} (it failed ${failedObjectives.join(', ') || 'nothing'})`
          : `fault ${fault.name}: the gate failed ${others.join(', ')} too; the fault must fail ${fault.gateObjectives.join(', ')} only`,
    );
  }
  return {
    promote,
    rolledBack,
    ...(input.canary ? { canaryVerdict: input.canary.verdict } : {}),
    canaryFailed,
    canaryRemoved,
    ...(input.verification ? { verificationVerdict: input.verification.verdict } : {}),
    verificationFailed,
    ...(input.load ? { loadTestPassed: input.load.passed } : {}),
    ...(input.gate ? { gateVerdict: input.gate.verdict } : {}),
    gateDiagnostic: input.gateDiagnostic === true,
    failedObjectives,
    failedThresholds,
    failedJobs,
    ...(faultCaught !== undefined ? { faultCaught } : {}),
    ...(faultAsExpected !== undefined ? { faultAsExpected } : {}),
    lines,
  };
}

function describeUnmet(results: ObjectiveResult[]): string {
  return results
    .filter(unmet)
    .map((r) => `${r.name} (${r.value === undefined ? r.reason : formatValue(r.value, r.unit)})`)
    .join(', ');
}

/** The decision and the run's step timings as job-summary sections. */
export function decisionSummary(
  decision: Decision,
  timings: StepTiming[],
  extra: { fault?: Fault; faultActions?: string[]; totalMs: number },
): SummarySection[] {
  const sections: SummarySection[] = [
    {
      heading: `Promotion decision: ${decision.rolledBack ? 'rolled back' : decision.promote ? 'promote' : 'do not promote'}`,
      level: 2,
      table: keyValueTable([
        ['Decision', decision.rolledBack ? 'ROLLED BACK' : decision.promote ? 'promote' : 'DO NOT PROMOTE'],
        [
          'Load test',
          decision.loadTestPassed === undefined
            ? 'did not run'
            : decision.loadTestPassed
              ? 'passed'
              : `FAILED: ${decision.failedThresholds.join(', ')}`,
        ],
        [
          'SLO gate',
          decision.gateVerdict === undefined
            ? 'did not run'
            : `${decision.gateVerdict === 'pass' ? 'pass' : `${decision.gateVerdict}: ${decision.failedObjectives.join(', ')}`}${decision.gateDiagnostic ? ' (diagnostic: deploy.yml stopped before the gate)' : ''}`,
        ],
        [
          'Production verification',
          decision.verificationVerdict === undefined
            ? undefined
            : `${decision.verificationVerdict}${decision.verificationFailed.length ? `: ${decision.verificationFailed.join(', ')}` : ''}${decision.rolledBack ? '; rolled back' : ''}`,
        ],
        ['Failed jobs', decision.failedJobs.length ? decision.failedJobs.join('; ') : 'none'],
        ['Fault', extra.fault ? `${extra.fault.name}: ${extra.fault.description}` : 'none'],
        ['Fault actions', extra.faultActions?.join('; ')],
        [
          'Fault caught',
          decision.faultCaught === undefined ? undefined : decision.faultCaught ? 'yes' : 'NO',
        ],
        [
          'As expected',
          decision.faultAsExpected === undefined ? undefined : decision.faultAsExpected ? 'yes' : 'NO',
        ],
        ['Rehearsal took', formatDuration(extra.totalMs)],
      ]),
      list: decision.lines.slice(1),
    },
  ];
  sections.push({
    heading: 'Steps',
    table: table(
      ['#', 'Step', 'Workflow step', 'Took', 'Outcome', 'Detail'],
      timings.map((t) => [t.index, t.name, t.workflowStep, formatDuration(t.ms), t.outcome, t.detail]),
    ),
  });
  return sections;
}
