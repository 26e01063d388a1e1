/**
 * Job-summary table building blocks. `@actions/core`'s `summary.addTable` puts cell text into HTML
 * unescaped, so everything here escapes plain strings and only passes {@link RawHtml} through.
 */

/** A cell as `core.summary.addTable` takes it (structurally identical to its `SummaryTableCell`). */
export type SummaryCell = string | { data: string; header?: boolean; colspan?: string; rowspan?: string };
/** A row as `core.summary.addTable` takes it. */
export type SummaryRow = SummaryCell[];

/** HTML that is inserted as is: build it with {@link code}, {@link link} or {@link rawHtml}. */
export interface RawHtml {
  readonly html: string;
}

/** What a cell may hold: plain values are escaped, {@link RawHtml} is not. */
export type CellValue = string | number | boolean | undefined | null | RawHtml;

/** Escapes `& < > " '` for HTML text and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Marks trusted markup (e.g. a fixed `<b>`) as raw. Never pass user or server text here unescaped. */
export function rawHtml(html: string): RawHtml {
  return { html };
}

/** `<code>text</code>`, escaped. */
export function code(text: string): RawHtml {
  return { html: `<code>${escapeHtml(text)}</code>` };
}

/** `<a href>text</a>`, escaped; only http(s) links, anything else renders as plain text. */
export function link(text: string, href: string): RawHtml {
  if (!/^https?:\/\//i.test(href)) return { html: escapeHtml(text) };
  return { html: `<a href="${escapeHtml(href)}">${escapeHtml(text)}</a>` };
}

/** Renders one value to cell HTML: '' for null/undefined, escaped text otherwise. */
export function cellHtml(value: CellValue): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'object') return value.html;
  return escapeHtml(String(value));
}

/** A table with a header row: `table(['Resource', 'Health'], [[a, b], ...])`. */
export function table(headers: string[], rows: CellValue[][]): SummaryRow[] {
  return [
    headers.map((h) => ({ data: escapeHtml(h), header: true })),
    ...rows.map((row) => row.map(cellHtml)),
  ];
}

/** A two-column Field/Value table; entries with an undefined value are left out. */
export function keyValueTable(
  entries: [string, CellValue][],
  headers: [string, string] = ['Field', 'Value'],
) {
  return table(
    headers,
    entries.filter(([, value]) => value !== undefined),
  );
}
