// The neighbour's verdict: the deploy's own gate step (same gate file, soak and settle) with the
// neighbour's selector, over the neighbour's own load span. Not a deploy.yml step -- it shows that
// each environment's gate judges its own series: a fault fails only the gate of the environment it
// was injected into, and the environment without it passes.
import { formatValue, unmet, type Verdict } from '../../../actions/slo-gate/src/evaluate.js';
import { keyValueTable, type SummarySection } from '../../../pipeline/src/summary/index.js';
import { gateConfig, runSloGate, type Inputs } from './actions.js';
import type { Fault } from './faults.js';
import type { NeighbourLoad, NeighbourRunning } from './neighbour.js';

/** The neighbour's gate and whether each environment got the verdict it must get. */
export interface NeighbourJudgement {
  environment: string;
  selector: string;
  verdict: Verdict;
  failedObjectives: string[];
  /** The fault was injected into the neighbour (--fault-in). */
  faultHere: boolean;
  /** Both verdicts are the ones they must be (see `expectation`). */
  ok: boolean;
  expectation: string;
  lines: string[];
  sections: SummarySection[];
}

/**
 * Judges the neighbour with the deploy's gate inputs (`gateInputs`, the gate step's `with:`) and its
 * own selector and span. With the fault in the neighbour, its gate must fail the fault's objectives
 * and the deployed environment's gate must pass (`deployedGate`); otherwise the neighbour must pass.
 */
export async function judgeNeighbour(input: {
  neighbour: NeighbourRunning;
  load: NeighbourLoad;
  gateInputs: Inputs;
  root: string;
  fault?: Fault;
  faultHere: boolean;
  deployedGate?: Verdict;
  log: (line: string) => void;
}): Promise<NeighbourJudgement> {
  const { neighbour, load } = input;
  const config = gateConfig(
    {
      ...input.gateInputs,
      selector: neighbour.selector,
      'start-time': load.startedAt,
      'end-time': load.endedAt,
      window: '',
      // The deployed environment's load summary is not the neighbour's.
      'summary-path': '',
    },
    input.root,
  );
  const gate = await runSloGate(config, input.log);
  const failed = gate.report.results.filter(unmet);
  const failedObjectives = failed.map((r) => r.name);
  const faultHere = input.faultHere && input.fault !== undefined;
  const lines: string[] = [];
  let ok: boolean;
  let expectation: string;
  if (faultHere) {
    const fault = input.fault!;
    const missed = fault.gateObjectives.filter((o) => !failedObjectives.includes(o));
    const deployedPassed = input.deployedGate === 'pass';
    ok = missed.length === 0 && deployedPassed;
    expectation = `fails ${fault.gateObjectives.join(', ')} (the fault is here); the deployed environment's gate passes`;
    lines.push(
      missed.length === 0
        ? `fault ${fault.name} in ${neighbour.environment}: its gate failed ${fault.gateObjectives.join(', ')}, as expected`
        : `fault ${fault.name} in ${neighbour.environment}: its gate did NOT fail ${missed.join(', ')} (it failed ${failedObjectives.join(', ') || 'nothing'})`,
      deployedPassed
        ? `the deployed environment's gate passed next to it: it judged its own series only`
        : `the deployed environment's gate ${input.deployedGate ?? 'did not run'}: ${neighbour.environment}'s fault reached it`,
    );
  } else {
    ok = gate.report.verdict === 'pass';
    expectation = 'passes (no fault here)';
    lines.push(
      ok
        ? `${neighbour.environment} (${neighbour.selector}) passed its gate next to the deploy${input.fault ? ` and its fault ${input.fault.name}` : ''}`
        : `${neighbour.environment} (${neighbour.selector}) ${gate.report.verdict} its gate without a fault of its own: ${failed
            .map((r) => `${r.name} (${r.value === undefined ? r.reason : formatValue(r.value, r.unit)})`)
            .join(', ')}`,
    );
  }
  const sections: SummarySection[] = [
    {
      heading: `Neighbour ${neighbour.environment}: gate ${gate.report.verdict} (${ok ? 'as expected' : 'NOT as expected'})`,
      level: 2,
      table: keyValueTable([
        [
          'Application',
          `${neighbour.application} at ${neighbour.commit.slice(0, 12)}, ${neighbour.replicas.length} pods`,
        ],
        ['Selector', neighbour.selector],
        [
          'Traffic',
          `${load.vus} VUs, ${load.startedAt} .. ${load.endedAt} (its thresholds ${load.passed ? 'passed' : 'failed'}; they decide nothing)`,
        ],
        ['Must', expectation],
        ['Failed objectives', failedObjectives.join(', ') || 'none'],
      ]),
      list: lines,
    },
    // The action's own sections, named after the environment (the deploy's gate has the plain names).
    ...gate.sections.map((sec) => ({
      ...sec,
      level: 3 as const,
      ...(sec.heading ? { heading: `${neighbour.environment}: ${sec.heading}` } : {}),
    })),
  ];
  return {
    environment: neighbour.environment,
    selector: neighbour.selector,
    verdict: gate.report.verdict,
    failedObjectives,
    faultHere,
    ok,
    expectation,
    lines,
    sections,
  };
}
