/**
 * Where the Node engine's metric samples go: one sink per metric, aggregated the way k6 aggregates
 * (counter: count and per-second rate; gauge: last, min, max; rate: passes over all; trend: exact
 * avg/min/max and percentiles from an HDR histogram with 3 significant digits).
 */
import * as hdr from 'hdr-histogram-js';
import type { MetricSummary } from '../lib/summary.js';
import type { MetricType, ParsedThreshold } from '../lib/thresholds.js';

type Contains = MetricSummary['contains'];

/** A metric's aggregation state. */
export interface Sink {
  readonly type: MetricType;
  readonly contains: Contains;
  add(value: number | boolean): void;
  /** The value of one aggregation (`count`, `rate`, `p(99)`, ...); undefined if not defined for the type. */
  aggregate(aggregation: string, percentile: number | undefined, durationMs: number): number | undefined;
  /** The `values` k6 reports for this metric. */
  values(durationMs: number, trendStats: readonly string[]): Record<string, number>;
}

class CounterSink implements Sink {
  readonly type = 'counter';
  private count = 0;
  /** With `peaks`: [time, value] of every add, for the busiest second and 100 ms. */
  private readonly samples: [number, number][] | undefined;
  constructor(
    readonly contains: Contains,
    peaks = false,
    private readonly now: () => number = Date.now,
  ) {
    this.samples = peaks ? [] : undefined;
  }
  add(value: number | boolean): void {
    this.count += Number(value);
    this.samples?.push([this.now(), Number(value)]);
  }
  aggregate(aggregation: string, _p: number | undefined, durationMs: number): number | undefined {
    if (aggregation === 'count') return this.count;
    if (aggregation === 'rate') return durationMs > 0 ? this.count / (durationMs / 1000) : 0;
    return undefined;
  }
  values(durationMs: number): Record<string, number> {
    const out: Record<string, number> = {
      count: this.count,
      rate: this.aggregate('rate', undefined, durationMs) ?? 0,
    };
    if (this.samples) Object.assign(out, counterPeaks(this.samples));
    return out;
  }
}

/**
 * The busiest second (sum of the values added within one wall-clock second, `[k s, (k+1) s)`) and
 * the busiest 100 ms (sum within any window `[t, t + 100 ms)`, sliding) of timed samples.
 */
export function counterPeaks(samples: readonly (readonly [number, number])[]): {
  peak_1s: number;
  peak_100ms: number;
} {
  const sorted = [...samples].sort((a, b) => a[0] - b[0]);
  const perSecond = new Map<number, number>();
  for (const [t, v] of sorted)
    perSecond.set(Math.floor(t / 1000), (perSecond.get(Math.floor(t / 1000)) ?? 0) + v);
  let peak1s = 0;
  for (const v of perSecond.values()) peak1s = Math.max(peak1s, v);
  let peak100 = 0;
  let sum = 0;
  let from = 0;
  for (const [t, v] of sorted) {
    sum += v;
    while ((sorted[from]?.[0] ?? t) <= t - 100) sum -= sorted[from++]?.[1] ?? 0;
    peak100 = Math.max(peak100, sum);
  }
  return { peak_1s: peak1s, peak_100ms: peak100 };
}

class GaugeSink implements Sink {
  readonly type = 'gauge';
  private value = 0;
  private min = 0;
  private max = 0;
  private seen = false;
  constructor(readonly contains: Contains) {}
  add(raw: number | boolean): void {
    const value = Number(raw);
    this.value = value;
    this.min = this.seen ? Math.min(this.min, value) : value;
    this.max = this.seen ? Math.max(this.max, value) : value;
    this.seen = true;
  }
  aggregate(aggregation: string): number | undefined {
    return aggregation === 'value' ? this.value : undefined;
  }
  values(): Record<string, number> {
    return { value: this.value, min: this.min, max: this.max };
  }
}

class RateSink implements Sink {
  readonly type = 'rate';
  private passes = 0;
  private fails = 0;
  constructor(readonly contains: Contains) {}
  add(value: number | boolean): void {
    if (value === true || (typeof value === 'number' && value !== 0)) this.passes++;
    else this.fails++;
  }
  private rate(): number {
    const total = this.passes + this.fails;
    return total === 0 ? 0 : this.passes / total;
  }
  aggregate(aggregation: string): number | undefined {
    return aggregation === 'rate' ? this.rate() : undefined;
  }
  values(): Record<string, number> {
    return { rate: this.rate(), passes: this.passes, fails: this.fails };
  }
}

/** Trend samples are recorded in thousandths of the unit (µs for times), so sub-ms latencies keep 3 digits. */
const scale = 1000;

class TrendSink implements Sink {
  readonly type = 'trend';
  private readonly histogram = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 3_600_000 * scale,
    numberOfSignificantValueDigits: 3,
    autoResize: true,
  });
  private count = 0;
  private sum = 0;
  private min = 0;
  private max = 0;
  constructor(readonly contains: Contains) {}
  add(raw: number | boolean): void {
    const value = Number(raw);
    if (!Number.isFinite(value)) return;
    this.min = this.count === 0 ? value : Math.min(this.min, value);
    this.max = this.count === 0 ? value : Math.max(this.max, value);
    this.count++;
    this.sum += value;
    this.histogram.recordValue(Math.max(0, Math.round(value * scale)));
  }
  private percentile(p: number): number {
    if (this.count === 0) return 0;
    if (p <= 0) return this.min;
    if (p >= 100) return this.max;
    // The histogram's answer is a bucket's upper edge; never report beyond the exact extremes.
    const v = this.histogram.getValueAtPercentile(p) / scale;
    return Math.min(this.max, Math.max(this.min, v));
  }
  aggregate(aggregation: string, percentile: number | undefined): number | undefined {
    if (percentile !== undefined) return this.percentile(percentile);
    switch (aggregation) {
      case 'avg':
        return this.count === 0 ? 0 : this.sum / this.count;
      case 'min':
        return this.min;
      case 'max':
        return this.max;
      case 'med':
        return this.percentile(50);
      case 'count':
        return this.count;
      default:
        return undefined;
    }
  }
  values(_durationMs: number, trendStats: readonly string[]): Record<string, number> {
    const out: Record<string, number> = {};
    for (const stat of trendStats) {
      const p = /^p\((\d+(?:\.\d+)?)\)$/.exec(stat);
      const v = p ? this.percentile(Number(p[1])) : this.aggregate(stat, undefined);
      if (v !== undefined) out[stat] = v;
    }
    return out;
  }
}

/** Thrown when a name is defined twice with different types (k6 refuses that too). */
export class MetricTypeConflictError extends Error {
  readonly code = 'ERR_METRIC_TYPE';
}

/** All sinks of one run, by metric name. */
export class MetricRegistry {
  private readonly sinks = new Map<string, Sink>();

  /** The sink of `name`, created on first use; the same name with another type throws. */
  define(
    name: string,
    type: MetricType,
    contains: Contains = 'default',
    options: { peaks?: boolean } = {},
  ): Sink {
    const existing = this.sinks.get(name);
    if (existing) {
      if (existing.type !== type) {
        throw new MetricTypeConflictError(
          `metric ${name} is already a ${existing.type}; it cannot also be a ${type}: rename one of them`,
        );
      }
      return existing;
    }
    const sink =
      type === 'counter'
        ? new CounterSink(contains, options.peaks)
        : type === 'gauge'
          ? new GaugeSink(contains)
          : type === 'rate'
            ? new RateSink(contains)
            : new TrendSink(contains);
    this.sinks.set(name, sink);
    return sink;
  }

  get(name: string): Sink | undefined {
    return this.sinks.get(name);
  }

  names(): string[] {
    return [...this.sinks.keys()].sort();
  }

  /** The value a threshold compares; undefined if the aggregation does not exist for the metric. */
  aggregate(name: string, t: ParsedThreshold, durationMs: number): number | undefined {
    return this.sinks.get(name)?.aggregate(t.aggregation, t.percentile, durationMs);
  }
}
