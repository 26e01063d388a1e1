import { code, keyValueTable, table, type SummarySection } from '../../shared/src/summary/index.js';
import { formatValue, type GateReport, type Verdict } from './evaluate.js';

const verdictText: Record<Verdict, string> = {
  pass: 'pass',
  fail: 'FAIL',
  inconclusive: 'inconclusive',
};

/** The job summary: the overall verdict, then one row per objective (objective, query, value, limit, verdict). */
export function gateSummary(report: GateReport, prometheusUrl: string): SummarySection[] {
  return [
    {
      heading: `SLO gate: ${report.verdict}`,
      level: 2,
      table: keyValueTable([
        ['Verdict', verdictText[report.verdict]],
        ['Window', code(report.window)],
        ['Soaked', `${Math.round((report.evaluatedAt - report.startedAt) / 1000)}s`],
        ['Evaluated at', new Date(report.evaluatedAt).toISOString()],
        ['Prometheus', code(prometheusUrl)],
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
        ['Objective', 'Query', 'Value', 'Limit', 'Verdict', 'Detail'],
        report.results.map((r) => [
          r.name,
          code(r.query),
          r.value === undefined ? 'no value' : formatValue(r.value, r.unit),
          `${r.comparator} ${formatValue(r.limit, r.unit)}`,
          verdictText[r.verdict],
          r.reason,
        ]),
      ),
    },
  ];
}
