import { isPrometheusError, type PrometheusClient } from '../../../pipeline/src/prometheus/index.js';
import type { GateReport } from './evaluate.js';
import { durationSeconds, substituteSelector, substituteWindow, type GateObjective } from './gate-file.js';

/** At most this many points per chart: enough to see a dip, few enough for readable axis labels. */
export const MAX_CHART_POINTS = 30;

/** One objective over the charted span: a range query of its own PromQL with a short rolling window. */
export interface ObjectiveSeries {
  name: string;
  unit: string;
  comparator: GateObjective['comparator'];
  limit: number;
  /** The span charted (ms since epoch) and the resolution. */
  startMs: number;
  endMs: number;
  stepSeconds: number;
  /** `$window` of each point: the objective over the preceding `window`. */
  window: string;
  /** Finite values only; `dropped` counts the NaN/±Inf ones left out. */
  points: { t: number; value: number }[];
  dropped: number;
  /** Why there is no line (an error, several series), or what is doubtful about it (warnings). */
  note: string;
}

/** What to chart. */
export interface SeriesOptions {
  objectives: GateObjective[];
  selector: string;
  startMs: number;
  endMs: number;
  /**
   * Prometheus' scrape interval for the service: each point's window is at least 4 of them (a rate
   * needs two samples, and four keeps one missed scrape from blanking a point).
   */
  scrapeIntervalSeconds: number;
}

/**
 * The span the verdict judged: its window, ending where it was evaluated. With the load test's
 * start and end times that is the load test plus the soak.
 */
export function judgedSpan(report: Pick<GateReport, 'queriedAt' | 'window'>): {
  startMs: number;
  endMs: number;
} {
  return { startMs: report.queriedAt - durationSeconds(report.window) * 1000, endMs: report.queriedAt };
}

/** The step and rolling window for a span: at most {@link MAX_CHART_POINTS} points. */
export function chartResolution(
  spanSeconds: number,
  scrapeIntervalSeconds: number,
): { stepSeconds: number; windowSeconds: number } {
  const stepSeconds = Math.max(1, Math.ceil(spanSeconds / MAX_CHART_POINTS));
  return { stepSeconds, windowSeconds: Math.max(stepSeconds, Math.ceil(4 * scrapeIntervalSeconds)) };
}

/**
 * Each objective over [startMs, endMs], from one range query each. Never throws for Prometheus'
 * answers: a chart only illustrates the verdict, so a failed query becomes the series' `note`.
 */
export async function objectiveSeries(
  client: Pick<PrometheusClient, 'queryRange'>,
  options: SeriesOptions,
): Promise<ObjectiveSeries[]> {
  const span = Math.max(1, (options.endMs - options.startMs) / 1000);
  const { stepSeconds, windowSeconds } = chartResolution(span, options.scrapeIntervalSeconds);
  const window = `${windowSeconds}s`;
  // The first point whose window starts at the span's start, so no point looks before it.
  const first = Math.min(options.startMs + windowSeconds * 1000, options.endMs);
  return Promise.all(
    options.objectives.map(async (o): Promise<ObjectiveSeries> => {
      const base = {
        name: o.name,
        unit: o.unit,
        comparator: o.comparator,
        limit: o.limit,
        startMs: options.startMs,
        endMs: options.endMs,
        stepSeconds,
        window,
        points: [] as { t: number; value: number }[],
        dropped: 0,
        note: '',
      };
      const query = substituteSelector(substituteWindow(o.query, window), options.selector);
      try {
        const result = await client.queryRange(query, new Date(first), new Date(options.endMs), stepSeconds);
        if (result.series.length > 1) {
          return {
            ...base,
            note: `the query returned ${result.series.length} series; a gate query must aggregate to one`,
          };
        }
        const all = result.series[0]?.points ?? [];
        const points = all.filter((p) => Number.isFinite(p.value));
        const note =
          result.warnings.length > 0
            ? `Prometheus warned: ${result.warnings.slice(0, 3).join('; ').slice(0, 300)}`
            : '';
        return { ...base, points, dropped: all.length - points.length, note };
      } catch (error) {
        if (isPrometheusError(error)) return { ...base, note: error.message };
        throw error;
      }
    }),
  );
}
