import type { Objective } from '../objectives.js';
import { gateObjective, type GateObjective } from '../sli.js';

/** slo/generated/gate.json: what the promotion gate evaluates over the soak window. */
export interface GateFile {
  version: 1;
  objectives: GateObjective[];
}

export function renderGate(objectives: Objective[]): string {
  const gate: GateFile = { version: 1, objectives: objectives.map(gateObjective) };
  return `${JSON.stringify(gate, null, 2)}\n`;
}
