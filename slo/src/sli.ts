import type { LatencySli, LoadTestObjective, Objective, RatioSli } from './objectives.js';

/**
 * PromQL for each objective's SLI. One builder serves the recording rules (fixed windows, one series
 * per namespace) and the promotion gate (the `$window` and `$selector` placeholders: one environment),
 * so alerting and promotion measure the same thing.
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
 * Where an expression is evaluated. `rules`: the recording rules, deployed into every environment's
 * namespace of one Prometheus, aggregate `by (namespace)` so each environment keeps its own series.
 * `gate`: the promotion gate judges one environment, so every selector carries the `$selector`
 * placeholder (the gate's `selector` input, e.g. namespace="switchboard-staging") and sums to one sample.
 */
export type Scope = 'rules' | 'gate' | 'version';

/** The placeholder every gate selector carries; the slo-gate action replaces it with its `selector` input. */
export const SELECTOR_PLACEHOLDER = '$selector';

/** `sel` with the environment matcher added in gate scope: `a{b="c"}` -> `a{b="c",$selector}`. */
export function scoped(sel: string, scope: Scope): string {
  if (scope !== 'gate') return sel;
  const brace = sel.indexOf('{');
  if (brace < 0) return `${sel}{${SELECTOR_PLACEHOLDER}}`;
  const inner = sel.slice(brace + 1, sel.lastIndexOf('}')).trim();
  return `${sel.slice(0, brace)}{${inner ? `${inner},` : ''}${SELECTOR_PLACEHOLDER}}`;
}

/** The server's build per scrape target (one series per process): what `version` scope joins on. */
export const BUILD_INFO = 'switchboard_build_info';

/**
 * `sum` over one environment (gate), `sum by (namespace)` (rules), or per namespace and server
 * version (version): each target's series take the `version` of that target's build info.
 */
function sumOf(inner: string, scope: Scope): string {
  if (scope === 'version') {
    return `sum by (namespace, version) (${inner} * on (namespace, instance) group_left (version) ${BUILD_INFO})`;
  }
  return scope === 'rules' ? `sum by (namespace) (${inner})` : `sum(${inner})`;
}

/**
 * Per-second rate of a sum of counter selectors. With `zeroBase`, each term falls back to 0 when its
 * series does not exist yet (prom-client exports a labelled counter only after its first increment),
 * so one missing term never empties the whole sum. In rule scope the 0 must carry the namespace, so it
 * is 0 times the namespaces that have any `zeroBase` series; in gate scope it is `vector(0)`.
 */
function summedRate(selectors: string[], window: string, scope: Scope, zeroBase?: string[]): string {
  const rate = (s: string) => sumOf(`rate(${scoped(s, scope)}[${window}])`, scope);
  const zero =
    zeroBase === undefined
      ? undefined
      : scope === 'gate'
        ? 'vector(0)'
        : `0 * (${zeroBase.map(rate).join(' or ')})`;
  // (`version` scope: the 0 carries namespace and version, like the terms it stands in for.)
  const terms = selectors.map((s) => (zero ? `(${rate(s)} or ${zero})` : rate(s)));
  return terms.length === 1 ? terms[0]! : `(${terms.join(' + ')})`;
}

/** The share of samples at 1 over `window`, averaged over the gauge's series (targets). */
function availableShare(up: string, window: string, scope: Scope): string {
  const inner = `avg_over_time(${scoped(up, scope)}[${window}])`;
  return scope === 'rules' ? `avg by (namespace) (${inner})` : `avg(${inner})`;
}

/** Good-or-bad events and total events of an event SLI, as rates over `window`. */
function eventRates(
  sli: RatioSli | LatencySli,
  window: string,
  scope: Scope,
): { counts: 'good' | 'bad'; events: string; total: string } {
  if (sli.kind === 'latency') {
    const le = String(sli.threshold);
    const count = [`${sli.histogram}_count`];
    return {
      counts: 'good',
      events: summedRate([`${sli.histogram}_bucket{le="${le}"}`], window, scope, count),
      total: summedRate(count, window, scope),
    };
  }
  return {
    counts: sli.counts,
    events: summedRate(sli.events, window, scope, sli.total),
    total: summedRate(sli.total, window, scope, sli.total.length > 1 ? sli.total : undefined),
  };
}

/** Good-or-bad events over total events; no sample when there were no events. */
function eventRatio(
  sli: RatioSli | LatencySli,
  window: string,
  scope: Scope,
): { counts: 'good' | 'bad'; ratio: string } {
  const { counts, events, total } = eventRates(sli, window, scope);
  return { counts, ratio: `${events} / (${total} > 0)` };
}

/**
 * The share of bad events over `window`, per namespace (the recording rules' form). No traffic gives
 * no sample (total filtered by `> 0`) rather than NaN, so idle periods neither alert nor poison the
 * 30-day average.
 */
export function errorRatioExpr(o: Objective, window: string): string {
  if (o.sli.kind === 'availability') return `1 - ${availableShare(o.sli.up, window, 'rules')}`;
  const { counts, ratio } = eventRatio(o.sli, window, 'rules');
  return counts === 'bad' ? ratio : `1 - (${ratio})`;
}

/** Name of the recording rule that holds an objective's error ratio per server version over `window`. */
export function versionErrorRatioRecord(window: string): string {
  return `slo:sli_error_by_version:ratio_rate${window}`;
}

/**
 * The error ratio per namespace and server version (switchboard_build_info's `version`), so an
 * objective can be read for a canary's version beside the stable one. Undefined for availability
 * objectives: a target that is down has no build info to join.
 */
export function versionErrorRatioExpr(o: Objective, window: string): string | undefined {
  if (o.sli.kind === 'availability') return undefined;
  const { counts, ratio } = eventRatio(o.sli, window, 'version');
  return counts === 'bad' ? ratio : `1 - (${ratio})`;
}

/** What the promotion gate evaluates for one objective over the soak window. */
export interface GateObjective {
  name: string;
  description: string;
  /**
   * PromQL with the literal placeholders `$window` and `$selector` (in every selector), returning one
   * sample for the one environment the selector picks.
   */
  query: string;
  comparator: '>=' | '<=';
  limit: number;
  unit: 'ratio' | 'seconds';
  /** No events in the window is "not exercised" rather than "inconclusive" (see `exercised`). */
  optional?: true;
  /**
   * Optional objectives only: the rate of all events over the window (0 when the counters exist but
   * did not move). With no value from `query`, 0 here means "not exercised"; no sample means the
   * series are not scraped (inconclusive).
   */
  exercised?: string;
}

/** The gate form of an objective: success ratio >= target, error ratio <= budget, or quantile <= threshold. */
export function gateObjective(o: Objective): GateObjective {
  const base = {
    name: o.name,
    description: o.description,
    ...(o.optional && o.sli.kind !== 'availability'
      ? { optional: true as const, exercised: eventRates(o.sli, '$window', 'gate').total }
      : {}),
  };
  if (o.sli.kind === 'latency') {
    return {
      ...base,
      query: `histogram_quantile(${o.target}, sum by (le) (rate(${scoped(`${o.sli.histogram}_bucket`, 'gate')}[$window])))`,
      comparator: '<=',
      limit: o.sli.threshold,
      unit: 'seconds',
    };
  }
  if (o.sli.kind === 'availability') {
    return {
      ...base,
      query: availableShare(o.sli.up, '$window', 'gate'),
      comparator: '>=',
      limit: o.target,
      unit: 'ratio',
    };
  }
  const { counts, ratio: query } = eventRatio(o.sli, '$window', 'gate');
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

/**
 * What the promotion gate checks of a load-test objective in the load test's summary JSON: the
 * statistic `aggregation` of `metric` <= `limit`.
 */
export interface GateLoadTestObjective {
  name: string;
  description: string;
  metric: string;
  aggregation: string;
  comparator: '<=';
  limit: number;
  unit: LoadTestObjective['unit'];
  /** No samples of the metric is "not exercised", not "inconclusive". */
  optional: boolean;
}

export function gateLoadTestObjective(o: LoadTestObjective): GateLoadTestObjective {
  return {
    name: o.name,
    description: o.description,
    metric: o.k6.metric,
    aggregation: o.k6.aggregation,
    comparator: '<=',
    limit: o.max,
    unit: o.unit,
    optional: o.optional,
  };
}

/** The k6 threshold of a load-test objective, e.g. `count<=0`, `p(99)<=5000`. */
export function loadTestThreshold(o: LoadTestObjective): string {
  return `${o.k6.aggregation}<=${o.max}`;
}
