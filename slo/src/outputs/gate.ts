import type { SloSource } from '../objectives.js';
import {
  gateLoadTestObjective,
  gateObjective,
  type GateLoadTestObjective,
  type GateObjective,
} from '../sli.js';

/** slo/generated/gate.json: what the promotion gate evaluates over the soak window. */
export interface GateFile {
  version: 1;
  objectives: GateObjective[];
  /** Judged from the load test's summary JSON (slo-gate's summary-path), not from Prometheus. */
  loadTestObjectives: GateLoadTestObjective[];
}

export function renderGate(source: SloSource): string {
  const gate: GateFile = {
    version: 1,
    objectives: source.objectives.map(gateObjective),
    loadTestObjectives: source.loadTest.map(gateLoadTestObjective),
  };
  return `${JSON.stringify(gate, null, 2)}\n`;
}
