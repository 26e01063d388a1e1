import type { PrometheusClient } from '../../../pipeline/src/prometheus/index.js';
import type { GateObjective } from './gate-file.js';
import { evaluateObjective, formatValue, type ObjectiveResult } from './evaluate.js';

/**
 * Where the gate reads the baseline an objective is compared with: the same query and window on
 * `selector` (another set of pods: a canary's baseline), `offsetMs` earlier (the previous release's
 * equal window), or both.
 */
export interface BaselineOptions {
  selector: string;
  offsetMs: number;
  /** How much worse than the baseline an objective may be, relative (0.1 = 10 %). */
  maxRegression: number;
  /** The objectives compared with the baseline (baseline-objectives); absent: every one judged. */
  objectives?: string[];
}

/** The baseline side of one objective's result. */
export interface BaselineResult {
  query: string;
  /** When it was evaluated (Prometheus `time=`), ms since epoch. */
  queriedAt: number;
  value?: number;
  /** The worst value the objective may have given this baseline; absent without a baseline value. */
  allowed?: number;
  /** Why there is no baseline value (the objective is then inconclusive). */
  reason: string;
}

/**
 * How bad a value is, in the units a regression is measured in: a latency quantile as it is, a
 * success ratio as its error ratio (1 - value), an error ratio as it is. Relative comparisons of a
 * success ratio would see 0.999 -> 0.99 as a 1 % change; of the error ratio, as the 10x it is.
 */
export function badness(value: number, objective: Pick<GateObjective, 'comparator' | 'unit'>): number {
  return objective.unit !== 'seconds' && objective.comparator === '>=' ? 1 - value : value;
}

/** The inverse of badness: an objective value from a badness. */
function fromBadness(bad: number, objective: Pick<GateObjective, 'comparator' | 'unit'>): number {
  return objective.unit !== 'seconds' && objective.comparator === '>=' ? 1 - bad : bad;
}

/**
 * Below a tenth of the objective's own allowance (the error budget, or the latency threshold), a
 * change is noise rather than a regression: 0 errors against 1 in 10,000 is not "infinitely worse".
 */
export function noiseFloor(objective: Pick<GateObjective, 'comparator' | 'unit' | 'limit'>): number {
  return badness(objective.limit, objective) / 10;
}

/**
 * The judgement against the baseline, for an objective that met its absolute limit: a regression
 * when it is worse than the baseline by more than `maxRegression` (relative) and by more than the
 * noise floor (absolute: a p99 of 41 ms against 37 ms is 10 % worse and still noise for a 250 ms
 * objective). Returns the allowed value, for the summary.
 */
export function compareWithBaseline(
  candidate: number,
  baseline: number,
  objective: Pick<GateObjective, 'comparator' | 'unit' | 'limit'>,
  maxRegression: number,
): { regressed: boolean; allowed: number } {
  const base = badness(baseline, objective);
  const allowedBad = Math.max(base * (1 + maxRegression), base + noiseFloor(objective));
  return {
    regressed: badness(candidate, objective) > allowedBad,
    allowed: fromBadness(allowedBad, objective),
  };
}

/**
 * Refuses baseline-objectives that name no objective the gate queries Prometheus for (a typo would
 * otherwise compare nothing and pass quietly). The load test's objectives have no baseline.
 */
export function checkComparedObjectives(options: BaselineOptions | undefined, judged: GateObjective[]): void {
  const known = judged.map((o) => o.name);
  const unknown = (options?.objectives ?? []).filter((n) => !known.includes(n));
  if (unknown.length > 0) {
    throw new Error(
      `baseline-objectives: ${unknown.join(', ')} not among the objectives judged from Prometheus (${known.join(', ')})`,
    );
  }
}

/**
 * Adds the baseline to each result: evaluates every objective again on the baseline's selector and
 * time and turns a pass into a fail (regressed) or inconclusive (no baseline value: fail closed).
 * A result that already failed or was inconclusive keeps its verdict.
 */
export async function withBaseline(
  client: PrometheusClient,
  objectives: GateObjective[],
  results: ObjectiveResult[],
  window: string,
  queriedAt: number,
  options: BaselineOptions,
): Promise<ObjectiveResult[]> {
  const at = queriedAt - options.offsetMs;
  const compared = (o: GateObjective) => options.objectives?.includes(o.name) ?? true;
  const baselines = await Promise.all(
    objectives.map((o) =>
      compared(o) ? evaluateObjective(client, o, window, options.selector, new Date(at)) : undefined,
    ),
  );
  return results.map((r, i) => {
    const b = baselines[i];
    const objective = objectives[i]!;
    if (b === undefined) return r; // judged on its absolute bound alone (not in baseline-objectives)
    if (b.value === undefined) {
      const baseline: BaselineResult = { query: b.query, queriedAt: at, reason: b.reason };
      if (r.verdict !== 'pass') return { ...r, baseline };
      return { ...r, baseline, verdict: 'inconclusive', reason: `no baseline: ${b.reason}` };
    }
    const { regressed, allowed } =
      r.value === undefined
        ? { regressed: false, allowed: undefined }
        : compareWithBaseline(r.value, b.value, objective, options.maxRegression);
    const baseline: BaselineResult = { query: b.query, queriedAt: at, value: b.value, allowed, reason: '' };
    if (r.verdict !== 'pass' || !regressed) return { ...r, baseline };
    const pct = Math.round(options.maxRegression * 100);
    return {
      ...r,
      baseline,
      verdict: 'fail',
      reason:
        `${formatValue(r.value!, r.unit)} regressed against the baseline's ${formatValue(b.value, r.unit)}: ` +
        `more than ${pct} % worse (allowed ${formatValue(allowed!, r.unit)}), though within ${r.comparator} ${formatValue(r.limit, r.unit)}`,
    };
  });
}
