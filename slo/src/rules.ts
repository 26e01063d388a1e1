import type { Objective } from './objectives.js';
import {
  errorBudget,
  errorRatioExpr,
  errorRatioRecord,
  recordingWindows,
  tidy,
  versionErrorRatioExpr,
  versionErrorRatioRecord,
} from './sli.js';

/** A Prometheus recording or alerting rule, in the field order Prometheus documents. */
export type Rule =
  | { record: string; expr: string; labels: Record<string, string> }
  | {
      alert: string;
      expr: string;
      /** How long the condition must hold before the alert fires (the burn-rate alerts need none). */
      for?: string;
      labels: Record<string, string>;
      annotations: Record<string, string>;
    };

export interface RuleGroup {
  name: string;
  rules: Rule[];
}

/** The alert every objective's burn-rate rules share; `slo` and `severity` tell them apart. */
export const burnAlertName = 'SwitchboardErrorBudgetBurn';

/**
 * Multi-window, multi-burn-rate alerts of the Google SRE workbook (chapter 5, table 5-8) for a
 * 30-day window: both the long and the short window must burn faster than `factor` times the budget.
 * The short window makes the alert stop soon after the burn stops.
 */
export const burnRateWindows = [
  { severity: 'page', long: '1h', short: '5m', factor: 14.4 },
  { severity: 'page', long: '6h', short: '30m', factor: 6 },
  { severity: 'ticket', long: '1d', short: '2h', factor: 3 },
  { severity: 'ticket', long: '3d', short: '6h', factor: 1 },
] as const;

export const budgetRecord = 'slo:error_budget:ratio';
const objectiveRecord = 'slo:objective:ratio';
/** Error ratio over the whole compliance window. */
export const windowRecord = 'slo:sli_error:ratio_rate30d';
export const budgetRemainingRecord = 'slo:error_budget_remaining:ratio';

function burnAlert(o: Objective, severity: 'page' | 'ticket'): Rule {
  const sel = `{slo="${o.name}"}`;
  const budget = errorBudget(o);
  const pairs = burnRateWindows.filter((w) => w.severity === severity);
  const expr = pairs
    .map((w) => {
      const over = `> (${w.factor} * ${budget})`;
      return `(${errorRatioRecord(w.long)}${sel} ${over} and ${errorRatioRecord(w.short)}${sel} ${over})`;
    })
    .join(' or ');
  const windows = pairs.map((w) => `${w.factor}x over ${w.long} and ${w.short}`).join(', or ');
  return {
    alert: burnAlertName,
    expr,
    labels: { severity, slo: o.name },
    annotations: {
      summary: `${o.name} burns its ${o.window} error budget too fast`,
      description:
        `Error ratio {{ $value | humanizePercentage }} against a budget of ${tidy(budget * 100)} % ` +
        `(objective ${tidy(o.target * 100)} % over ${o.window}); fires at ${windows}.`,
      runbook: 'docs/slo.md#burn-rate-alerts',
    },
  };
}

/** Recording and alerting rules of one objective, in evaluation order (alerts read the records). */
export function objectiveRules(o: Objective): RuleGroup {
  const labels = { slo: o.name };
  const sel = `{slo="${o.name}"}`;
  const versionExpr = versionErrorRatioExpr(o, '5m');
  const rules: Rule[] = [
    ...recordingWindows.map((w) => ({ record: errorRatioRecord(w), expr: errorRatioExpr(o, w), labels })),
    // Per server version, for reading a canary beside the stable pods (not alerted on).
    ...(versionExpr ? [{ record: versionErrorRatioRecord('5m'), expr: versionExpr, labels }] : []),
    // Average of the 5m ratio over 30 days: a full-window rate over raw counters would be costly.
    { record: windowRecord, expr: `avg_over_time(${errorRatioRecord('5m')}${sel}[${o.window}])`, labels },
    { record: objectiveRecord, expr: `vector(${o.target})`, labels },
    { record: budgetRecord, expr: `vector(${errorBudget(o)})`, labels },
    { record: budgetRemainingRecord, expr: `1 - (${windowRecord}${sel} / ${errorBudget(o)})`, labels },
    burnAlert(o, 'page'),
    burnAlert(o, 'ticket'),
  ];
  return { name: `switchboard-slo-${o.name}`, rules };
}

/** Every rule group, one per objective, in the order of objectives.yaml. */
export function ruleGroups(objectives: Objective[]): RuleGroup[] {
  return objectives.map(objectiveRules);
}
