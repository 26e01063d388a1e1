import type { Objective } from '../objectives.js';
import { budgetRemainingRecord, burnRateWindows, windowRecord } from '../rules.js';
import { errorRatioRecord } from '../sli.js';
import type { DashboardSpec, PanelSpec } from './model.js';

/** One row per objective, read from the slo:* recording rules (so the numbers match the alerts). */
function objectiveRow(o: Objective): PanelSpec[] {
  const sel = `{slo="${o.name}"}`;
  return [
    {
      title: `${o.name}: SLI over ${o.window}`,
      description: `${o.description} Target ${o.target}.`,
      type: 'stat',
      unit: 'percentunit',
      queries: [{ expr: `1 - ${windowRecord}${sel}`, legend: 'SLI' }],
    },
    {
      title: `${o.name}: error budget remaining`,
      description:
        'Share of the error budget of the compliance window not yet spent; below 0 the objective is missed.',
      type: 'stat',
      unit: 'percentunit',
      queries: [{ expr: `${budgetRemainingRecord}${sel}`, legend: 'remaining' }],
    },
    {
      title: `${o.name}: burn rate`,
      description: 'Error ratio divided by the error budget: 1 spends the budget exactly over the window.',
      unit: 'short',
      min: 0,
      queries: [...new Set(burnRateWindows.map((w) => w.long))].map((w) => ({
        expr: `${errorRatioRecord(w)}${sel} / on(slo) slo:error_budget:ratio${sel}`,
        legend: w,
      })),
    },
  ];
}

/** The SLO overview: compliance, budget and burn rate of every objective. */
export function sloOverview(objectives: Objective[]): DashboardSpec {
  return {
    uid: 'switchboard-slo',
    title: 'Switchboard / SLOs',
    description:
      'Service level objectives from slo/objectives.yaml: compliance, error budget and burn rates.',
    namespaced: false,
    rows: objectives.map(objectiveRow),
  };
}
