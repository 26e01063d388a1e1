/**
 * Reads tables back out of job-summary HTML so tests can assert what a person would see:
 * `parseSummaryTables(result.summary)[0]` is the first table, as rows of cell texts (tags stripped,
 * entities decoded), header row included.
 */
export function parseSummaryTables(html: string): string[][][] {
  const tables: string[][][] = [];
  for (const table of html.matchAll(/<table>([\s\S]*?)<\/table>/g)) {
    const rows: string[][] = [];
    for (const row of table[1]!.matchAll(/<tr>([\s\S]*?)<\/tr>/g)) {
      rows.push(
        [...row[1]!.matchAll(/<t[hd][^>]*>([\s\S]*?)<\/t[hd]>/g)].map((cell) => htmlToText(cell[1]!)),
      );
    }
    tables.push(rows);
  }
  return tables;
}

/** A Field/Value table (first column keys) as a record. */
export function summaryTableToRecord(rows: string[][]): Record<string, string> {
  return Object.fromEntries(rows.slice(1).map((row) => [row[0] ?? '', row[1] ?? '']));
}

/** Strips tags and decodes the entities `escapeHtml` produces plus the common named ones. */
export function htmlToText(html: string): string {
  return html
    .replace(/<[^>]+>/g, '')
    .replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n)))
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&');
}
