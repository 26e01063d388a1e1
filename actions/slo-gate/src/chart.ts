// An objective over the load test as a mermaid `xychart-beta` line chart, the diagram GitHub renders
// in job summaries. Only syntax xychart-beta has had since it first shipped (mermaid v10.6.0,
// packages/mermaid/src/diagrams/xychart/parser/xychart.jison, unchanged through mermaid 12.3.0) is
// used: title, a categorical x-axis of quoted labels, a numeric y-axis range, two `line`s, and the
// `plotColorPalette` theme variable in an init directive. That grammar's numbers have no exponent
// (`[+-]?(?:\d+(?:\.\d+)?|\.\d+)`), so every number is written in fixed notation.
import { formatValue } from './evaluate.js';
import type { ObjectiveSeries } from './series.js';

/** The measured line, then the limit line (mermaid has no legend for xychart; the text says which). */
export const CHART_COLORS = { value: '#2563eb', limit: '#dc2626' } as const;

/** `value` in fixed notation with at most `digits` decimals, trailing zeros dropped; never an exponent. */
export function fixed(value: number, digits: number): string {
  const text = value.toFixed(digits);
  const trimmed = text.includes('.') ? text.replace(/\.?0+$/, '') : text;
  return trimmed === '-0' ? '0' : trimmed;
}

/** Text inside a mermaid string: no quote, newline or `%` (a directive), at most 80 characters. */
function label(text: string): string {
  return text.replace(/["\r\n%`]/g, ' ').slice(0, 80);
}

/** Seconds since the span's start as m:ss. */
function offset(ms: number): string {
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/** The chart of one objective's series, or undefined when it has no point to draw. */
export function objectiveChart(series: ObjectiveSeries): string | undefined {
  if (series.points.length === 0) return undefined;
  const ms = series.unit === 'seconds';
  const scale = ms ? 1000 : 1;
  const digits = ms ? 3 : 6;
  const values = series.points.map((p) => p.value * scale);
  const limit = series.limit * scale;
  let lo = Math.min(limit, ...values);
  let hi = Math.max(limit, ...values);
  const pad = (hi - lo) * 0.1 || Math.max(Math.abs(limit) * 0.01, 10 ** -digits);
  lo -= pad;
  hi += pad;
  if (!ms && series.unit === 'ratio') {
    lo = Math.max(0, lo);
    hi = Math.min(1, hi);
  }
  if (ms) lo = Math.max(0, lo);
  const axis = ms ? 'ms' : series.unit;
  return [
    `%%{init: {"themeVariables": {"xyChart": {"plotColorPalette": "${CHART_COLORS.value}, ${CHART_COLORS.limit}"}}}}%%`,
    'xychart-beta',
    // Words, not <= / >=: mermaid writes a title's `<` as the text "&lt;".
    `    title "${label(`${series.name}: ${series.comparator === '>=' ? 'at least' : 'at most'} ${formatValue(series.limit, series.unit)}`)}"`,
    `    x-axis "${label(`since the load test started (m:ss), each point over the last ${series.window}`)}" [${series.points
      .map((p) => `"${offset(p.t - series.startMs)}"`)
      .join(', ')}]`,
    `    y-axis "${label(axis)}" ${fixed(lo, digits)} --> ${fixed(hi, digits)}`,
    `    line [${values.map((v) => fixed(v, digits)).join(', ')}]`,
    `    line [${values.map(() => fixed(limit, digits)).join(', ')}]`,
  ].join('\n');
}
