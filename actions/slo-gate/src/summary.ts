import { code, keyValueTable, table, type SummarySection } from '../../../pipeline/src/summary/index.js';
import { CHART_COLORS, objectiveChart } from './chart.js';
import { formatValue, type GateReport, type ObjectiveVerdict } from './evaluate.js';
import type { ObjectiveSeries } from './series.js';

const verdictText: Record<ObjectiveVerdict, string> = {
  pass: 'pass',
  fail: 'FAIL',
  inconclusive: 'inconclusive',
  'not-exercised': 'not exercised',
};

/**
 * The job summary: the overall verdict, one row per objective (objective, query, value, limit,
 * verdict), then, given `series`, each objective over the load test against its limit as a chart.
 */
export function gateSummary(
  report: GateReport,
  prometheusUrl: string,
  series: ObjectiveSeries[] = [],
  loadTest: LoadTestSource = {},
): SummarySection[] {
  const baselined = report.results.some((r) => r.baseline);
  const sections: SummarySection[] = [
    {
      heading: `SLO gate: ${report.verdict}`,
      level: 2,
      table: keyValueTable([
        ['Verdict', verdictText[report.verdict]],
        ['Window', code(report.window)],
        ['Soaked', `${Math.round((report.evaluatedAt - report.startedAt) / 1000)}s`],
        ['Evaluated at', new Date(report.queriedAt).toISOString()],
        ['Prometheus', code(prometheusUrl)],
        [
          'Load-test summary',
          loadTest.summaryPath
            ? code(loadTest.summaryPath)
            : loadTest.skipped?.length
              ? `none given: ${loadTest.skipped.join(', ')} not judged (give summary-path)`
              : undefined,
        ],
      ]),
      text:
        report.verdict === 'pass'
          ? []
          : [
              report.verdict === 'fail'
                ? 'At least one objective is outside its limit.'
                : 'The gate could not judge every objective (no data, NaN or an error) and fails closed.',
            ],
    },
    {
      heading: 'Objectives',
      table: table(
        [
          'Objective',
          'Query',
          'Value',
          'Limit',
          ...(baselined ? ['Baseline', 'Allowed by baseline'] : []),
          'Verdict',
          'Detail',
        ],
        report.results.map((r) => [
          r.name,
          code(r.query),
          shown(r.value, r.unit),
          `${r.comparator} ${formatValue(r.limit, r.unit)}`,
          ...(baselined
            ? [
                shown(r.baseline?.value, r.unit),
                r.baseline?.allowed === undefined
                  ? ''
                  : `${r.comparator} ${formatValue(r.baseline.allowed, r.unit)}`,
              ]
            : []),
          verdictText[r.verdict],
          r.reason,
        ]),
      ),
    },
  ];
  if (series.length > 0) sections.push(chartsSection(series));
  return sections;
}

/** Where the load-test objectives were judged from, or which ones were not. */
export interface LoadTestSource {
  summaryPath?: string;
  /** Load-test objectives left out because no summary-path was given. */
  skipped?: string[];
}

function shown(value: number | undefined, unit: string): string {
  return value === undefined ? 'no value' : formatValue(value, unit);
}

/** One chart per objective with points; a line for each objective without, saying why. */
function chartsSection(series: ObjectiveSeries[]): SummarySection {
  const first = series[0]!;
  const mermaid: string[] = [];
  const list: string[] = [];
  for (const s of series) {
    const chart = objectiveChart(s);
    if (chart) mermaid.push(chart);
    const dropped = s.dropped > 0 ? `${s.dropped} point(s) without a finite value left out` : '';
    const why = chart ? [dropped, s.note] : [s.note || 'no point had a value (no traffic in any window)'];
    const text = why.filter(Boolean).join('; ');
    if (text) list.push(`${s.name}: ${chart ? '' : 'no chart: '}${text}`);
  }
  return {
    heading: 'Objectives over the load test',
    text: [
      `From ${new Date(first.startMs).toISOString()} to ${new Date(first.endMs).toISOString()}, one point every ` +
        `${first.stepSeconds}s, each the objective's query over the preceding ${first.window} ` +
        `(a Prometheus range query); blue (${CHART_COLORS.value}) is the objective, red (${CHART_COLORS.limit}) its limit. ` +
        'The verdict above is the query over the whole window; the points show when it moved.',
    ],
    list,
    mermaid,
  };
}
