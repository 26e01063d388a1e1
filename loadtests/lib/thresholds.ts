/**
 * The subset of k6's threshold grammar both engines understand: `<aggregation> <operator> <number>`,
 * e.g. `rate>=0.999`, `p(99)<=250`, `count>0`. k6 evaluates the thresholds itself; the Node runner
 * evaluates them with this module, so an expression means the same thing in both.
 */

/** k6's four metric types. */
export type MetricType = 'counter' | 'gauge' | 'rate' | 'trend';

/** Comparison operators of the supported grammar. */
export type ThresholdOperator = '<' | '<=' | '>' | '>=' | '==';

/** A parsed threshold expression. */
export interface ParsedThreshold {
  /** The expression as written. */
  readonly source: string;
  /** `rate`, `count`, `value`, `avg`, `min`, `max`, `med` or `p(N)` (normalised, as k6 names the value). */
  readonly aggregation: string;
  /** For `p(N)`: N, from 0 to 100. */
  readonly percentile?: number;
  readonly operator: ThresholdOperator;
  readonly target: number;
}

/** A threshold that cannot be parsed or does not fit its metric; `code` is stable. */
export class ThresholdError extends Error {
  readonly code = 'ERR_THRESHOLD';
  constructor(message: string) {
    super(message);
    this.name = 'ThresholdError';
  }
}

/** Which aggregations k6 allows for which metric type. */
export const aggregationsByType: Readonly<Record<MetricType, readonly string[]>> = {
  counter: ['count', 'rate'],
  gauge: ['value'],
  rate: ['rate'],
  trend: ['avg', 'min', 'max', 'med', 'p(N)'],
};

const grammar =
  /^\s*(rate|count|value|avg|min|max|med|p\(\s*(\d+(?:\.\d+)?)\s*\))\s*(<=|>=|==|<|>)\s*(-?\d+(?:\.\d+)?(?:e[+-]?\d+)?)\s*$/i;

/** Parses `expr`; throws a ThresholdError that names the expression and shows the grammar. */
export function parseThreshold(expr: string): ParsedThreshold {
  const m = grammar.exec(expr);
  if (!m) {
    throw new ThresholdError(
      `threshold ${JSON.stringify(expr)} is not understood: write <aggregation><operator><number> ` +
        `with aggregation rate, count, value, avg, min, max, med or p(N) and operator <, <=, >, >= or ==, e.g. "p(99)<=250"`,
    );
  }
  const [, agg = '', pct, operator, target = ''] = m;
  if (pct !== undefined) {
    const percentile = Number(pct);
    if (percentile < 0 || percentile > 100) {
      throw new ThresholdError(`threshold ${JSON.stringify(expr)}: p(N) needs N from 0 to 100`);
    }
    return {
      source: expr,
      aggregation: `p(${percentile})`,
      percentile,
      operator: operator as ThresholdOperator,
      target: Number(target),
    };
  }
  return {
    source: expr,
    aggregation: agg.toLowerCase(),
    operator: operator as ThresholdOperator,
    target: Number(target),
  };
}

/** Throws unless `t` is an aggregation k6 allows for a metric of `type` (k6 refuses to start otherwise). */
export function assertFits(metric: string, type: MetricType, t: ParsedThreshold): void {
  const allowed = aggregationsByType[type];
  const key = t.percentile !== undefined ? 'p(N)' : t.aggregation;
  if (!allowed.includes(key)) {
    throw new ThresholdError(
      `threshold ${JSON.stringify(t.source)} on ${type} metric ${metric}: ${type} metrics take ${allowed.join(', ')}`,
    );
  }
}

/** Applies the operator. */
export function compare(actual: number, operator: ThresholdOperator, target: number): boolean {
  switch (operator) {
    case '<':
      return actual < target;
    case '<=':
      return actual <= target;
    case '>':
      return actual > target;
    case '>=':
      return actual >= target;
    case '==':
      return actual === target;
  }
}

/** The result of one threshold. */
export interface ThresholdOutcome {
  readonly ok: boolean;
  /** The aggregated value it was compared with. */
  readonly actual: number;
}

/** Evaluates `t` against `lookup(aggregation)`: the metric's value for that aggregation (e.g. `p(99)`). */
export function evaluateThreshold(
  t: ParsedThreshold,
  lookup: (t: ParsedThreshold) => number,
): ThresholdOutcome {
  const actual = lookup(t);
  return { ok: compare(actual, t.operator, t.target), actual };
}
