import type { LatencySli, Objective, RatioSli } from './objectives.js';

/**
 * PromQL for each objective's SLI. One builder serves the recording rules (fixed windows) and the
 * promotion gate (the `$window` placeholder), so alerting and promotion measure the same thing.
 */

/** Windows the error ratio is recorded over: the short and long windows of the burn-rate alerts. */
export const recordingWindows = ['5m', '30m', '1h', '2h', '6h', '1d', '3d'] as const;
export type RecordingWindow = (typeof recordingWindows)[number];

/** Removes binary floating-point noise (1 - 0.999 = 0.0010000000000000009) from derived numbers. */
export function tidy(n: number): number {
  return Number(n.toPrecision(12));
}

/** The share of events allowed to be bad over the window: 1 - target. */
export function errorBudget(o: Objective): number {
  return tidy(1 - o.target);
}

/** Name of the recording rule that holds an objective's error ratio over `window`. */
export function errorRatioRecord(window: string): string {
  return `slo:sli_error:ratio_rate${window}`;
}

/**
 * Per-second rate of a sum of counter selectors. Each term falls back to 0 when its series does not
 * exist yet (prom-client exports a labelled counter only after its first increment), so one missing
 * term never empties the whole sum.
 */
function summedRate(selectors: string[], window: string, guard: boolean): string {
  const terms = selectors.map((s) =>
    guard ? `(sum(rate(${s}[${window}])) or vector(0))` : `sum(rate(${s}[${window}]))`,
  );
  return terms.length === 1 ? terms[0]! : `(${terms.join(' + ')})`;
}

/** The share of samples at 1 over `window`, averaged over the gauge's series (targets). */
function availableShare(up: string, window: string): string {
  return `avg(avg_over_time(${up}[${window}]))`;
}

/** Good-or-bad events and total events of an event SLI, as rates over `window`. */
function eventRates(
  sli: RatioSli | LatencySli,
  window: string,
): { counts: 'good' | 'bad'; events: string; total: string } {
  if (sli.kind === 'latency') {
    const le = String(sli.threshold);
    return {
      counts: 'good',
      events: summedRate([`${sli.histogram}_bucket{le="${le}"}`], window, true),
      total: summedRate([`${sli.histogram}_count`], window, false),
    };
  }
  return {
    counts: sli.counts,
    events: summedRate(sli.events, window, true),
    total: summedRate(sli.total, window, sli.total.length > 1),
  };
}

/** Good-or-bad events over total events; no sample when there were no events. */
function eventRatio(sli: RatioSli | LatencySli, window: string): { counts: 'good' | 'bad'; ratio: string } {
  const { counts, events, total } = eventRates(sli, window);
  return { counts, ratio: `${events} / (${total} > 0)` };
}

/**
 * The share of bad events over `window`. No traffic gives no sample (total filtered by `> 0`)
 * rather than NaN, so idle periods neither alert nor poison the 30-day average.
 */
export function errorRatioExpr(o: Objective, window: string): string {
  if (o.sli.kind === 'availability') return `1 - ${availableShare(o.sli.up, window)}`;
  const { counts, ratio } = eventRatio(o.sli, window);
  return counts === 'bad' ? ratio : `1 - (${ratio})`;
}

/** What the promotion gate evaluates for one objective over the soak window. */
export interface GateObjective {
  name: string;
  description: string;
  /** PromQL with the literal placeholder `$window`, returning one sample. */
  query: string;
  comparator: '>=' | '<=';
  limit: number;
  unit: 'ratio' | 'seconds';
}

/** The gate form of an objective: success ratio >= target, error ratio <= budget, or quantile <= threshold. */
export function gateObjective(o: Objective): GateObjective {
  const base = { name: o.name, description: o.description };
  if (o.sli.kind === 'latency') {
    return {
      ...base,
      query: `histogram_quantile(${o.target}, sum by (le) (rate(${o.sli.histogram}_bucket[$window])))`,
      comparator: '<=',
      limit: o.sli.threshold,
      unit: 'seconds',
    };
  }
  if (o.sli.kind === 'availability') {
    return {
      ...base,
      query: availableShare(o.sli.up, '$window'),
      comparator: '>=',
      limit: o.target,
      unit: 'ratio',
    };
  }
  const { counts, ratio: query } = eventRatio(o.sli, '$window');
  return counts === 'good'
    ? { ...base, query, comparator: '>=', limit: o.target, unit: 'ratio' }
    : { ...base, query, comparator: '<=', limit: errorBudget(o), unit: 'ratio' };
}

/** The k6 threshold expression that states the same objective for a load test. */
export function k6Threshold(o: Objective): string {
  if (o.sli.kind === 'latency') {
    return `p(${tidy(o.target * 100)})<=${tidy(o.sli.threshold * 1000)}`;
  }
  return o.sli.kind === 'ratio' && o.sli.counts === 'bad' ? `rate<=${errorBudget(o)}` : `rate>=${o.target}`;
}
