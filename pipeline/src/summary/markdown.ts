/**
 * Markdown helpers for text GitHub renders (PR comments, check output). Cells are escaped so a pipe
 * or newline in server text cannot break the table.
 */

/** Escapes a value for one GitHub-flavoured-markdown table cell. */
export function markdownCell(value: string | number | boolean | undefined | null): string {
  if (value === undefined || value === null) return '';
  return String(value).replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, '<br>');
}

/** A GFM table: header row, separator, one line per row. */
export function markdownTable(
  headers: string[],
  rows: (string | number | boolean | undefined | null)[][],
): string {
  const line = (cells: (string | number | boolean | undefined | null)[]) =>
    `| ${cells.map(markdownCell).join(' | ')} |`;
  return [line(headers), `| ${headers.map(() => '---').join(' | ')} |`, ...rows.map(line)].join('\n');
}

/** Inline code that survives backticks inside the value. */
export function markdownCode(value: string): string {
  const fence = value.includes('`') ? '``' : '`';
  return `${fence}${value}${fence}`;
}
