// The promotion decision: promote only when the load test's thresholds and the SLO gate both pass
// (as the workflow does: a failed step stops the job before promotion). With a fault, it also says
// whether the fault was caught by the objective it must break.
import { formatValue, type ObjectiveResult, type Verdict } from '../../../actions/slo-gate/src/evaluate.js';
import {
  keyValueTable,
  table,
  code,
  type SummarySection,
} from '../../../actions/shared/src/summary/index.js';
import type { Fault } from './faults.js';
import type { StepTiming } from './progress.js';
import { formatDuration } from './progress.js';

/** What the rehearsal concludes. */
export interface Decision {
  promote: boolean;
  loadTestPassed: boolean;
  gateVerdict: Verdict;
  /** Objectives of gate.json that did not pass. */
  failedObjectives: string[];
  /** Load-test thresholds that failed (`metric expression`). */
  failedThresholds: string[];
  /** With a fault: did the objectives it must break fail? undefined without a fault. */
  faultCaught?: boolean;
  /** One line per conclusion, printed last. */
  lines: string[];
}

/** Decides, and explains the decision in a few lines. */
export function decide(input: {
  loadTestPassed: boolean;
  failedThresholds: string[];
  gate: { verdict: Verdict; results: ObjectiveResult[] };
  proposals: ObjectiveResult[];
  fault?: Fault;
}): Decision {
  const failedObjectives = input.gate.results.filter((r) => r.verdict !== 'pass').map((r) => r.name);
  const promote = input.loadTestPassed && input.gate.verdict === 'pass';
  const lines: string[] = [];
  lines.push(
    promote
      ? 'PROMOTE: the load test passed every threshold and the SLO gate passed every objective'
      : `DO NOT PROMOTE: ${[
          ...(input.loadTestPassed ? [] : [`load test failed ${input.failedThresholds.join(', ')}`]),
          ...(input.gate.verdict === 'pass'
            ? []
            : [
                `SLO gate ${input.gate.verdict} on ${input.gate.results
                  .filter((r) => r.verdict !== 'pass')
                  .map(
                    (r) => `${r.name} (${r.value === undefined ? r.reason : formatValue(r.value, r.unit)})`,
                  )
                  .join(', ')}`,
              ]),
        ].join('; ')}`,
  );
  let faultCaught: boolean | undefined;
  const fault = input.fault;
  if (fault) {
    if (fault.gateObjectives.length > 0) {
      const missed = fault.gateObjectives.filter((o) => !failedObjectives.includes(o));
      faultCaught = missed.length === 0;
      lines.push(
        faultCaught
          ? `fault ${fault.name}: caught by the SLO gate on ${fault.gateObjectives.join(', ')}, as expected`
          : `fault ${fault.name}: NOT caught on ${missed.join(', ')} (the gate failed ${failedObjectives.join(', ') || 'nothing'})`,
      );
    } else {
      const proposal = input.proposals.find((p) => p.name === fault.proposal?.name);
      faultCaught = !promote;
      lines.push(
        `fault ${fault.name}: no objective of gate.json can see it -- ${fault.why}`,
        ...(proposal
          ? [
              `  proposed objective ${proposal.name}: ${proposal.value === undefined ? proposal.reason : formatValue(proposal.value, proposal.unit)} ` +
                `(${proposal.comparator} ${formatValue(proposal.limit, proposal.unit)}) -> ${proposal.verdict}`,
            ]
          : []),
        promote
          ? `fault ${fault.name}: went unnoticed: the pipeline would have promoted`
          : `fault ${fault.name}: promotion stopped by ${input.loadTestPassed ? 'the gate' : 'the load test'}`,
      );
    }
  }
  return {
    promote,
    loadTestPassed: input.loadTestPassed,
    gateVerdict: input.gate.verdict,
    failedObjectives,
    failedThresholds: input.failedThresholds,
    ...(faultCaught !== undefined ? { faultCaught } : {}),
    lines,
  };
}

/** The decision and the run's step timings as job-summary sections. */
export function decisionSummary(
  decision: Decision,
  timings: StepTiming[],
  extra: { fault?: Fault; faultActions?: string[]; proposals: ObjectiveResult[]; totalMs: number },
): SummarySection[] {
  const sections: SummarySection[] = [
    {
      heading: `Promotion decision: ${decision.promote ? 'promote' : 'do not promote'}`,
      level: 2,
      table: keyValueTable([
        ['Decision', decision.promote ? 'promote' : 'DO NOT PROMOTE'],
        ['Load test', decision.loadTestPassed ? 'passed' : `FAILED: ${decision.failedThresholds.join(', ')}`],
        [
          'SLO gate',
          decision.gateVerdict === 'pass'
            ? 'pass'
            : `${decision.gateVerdict}: ${decision.failedObjectives.join(', ')}`,
        ],
        ['Fault', extra.fault ? `${extra.fault.name}: ${extra.fault.description}` : 'none'],
        ['Fault actions', extra.faultActions?.join('; ')],
        [
          'Fault caught',
          decision.faultCaught === undefined ? undefined : decision.faultCaught ? 'yes' : 'NO',
        ],
        ['Rehearsal took', formatDuration(extra.totalMs)],
      ]),
      list: decision.lines.slice(1),
    },
  ];
  if (extra.proposals.length > 0) {
    sections.push({
      heading: 'Objectives gate.json lacks (proposals; they decide nothing)',
      table: table(
        ['Objective', 'Query', 'Value', 'Limit', 'Verdict'],
        extra.proposals.map((p) => [
          p.name,
          code(p.query),
          p.value === undefined ? p.reason : formatValue(p.value, p.unit),
          `${p.comparator} ${formatValue(p.limit, p.unit)}`,
          p.verdict,
        ]),
      ),
    });
  }
  sections.push({
    heading: 'Steps',
    table: table(
      ['#', 'Step', 'Workflow step', 'Took', 'Outcome', 'Detail'],
      timings.map((t) => [t.index, t.name, t.workflowStep, formatDuration(t.ms), t.outcome, t.detail]),
    ),
  });
  return sections;
}
