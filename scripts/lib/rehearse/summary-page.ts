// The rehearsal's job summaries as one HTML page a browser opens: the sections the actions write
// (headings, paragraphs, tables, lists) and the markdown `run:` steps append, with the slo-gate's
// mermaid charts rendered in the page by the vendored mermaid (vendor/mermaid, copied beside the
// page so it opens without a network).
import { copyFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  cellHtml,
  escapeHtml,
  type SummaryRow,
  type SummarySection,
} from '../../../pipeline/src/summary/index.js';

/** The vendored mermaid bundle (vendor/mermaid/SOURCE.md says which release). */
export const mermaidScript = fileURLToPath(
  new URL('../../../vendor/mermaid/mermaid.min.js', import.meta.url),
);

/** One block of the page: an action's sections, or markdown a `run:` step wrote itself. */
export type PageBlock = { sections: SummarySection[] } | { markdown: string };

function tableHtml(rows: SummaryRow[]): string {
  const row = (cells: SummaryRow) =>
    `<tr>${cells
      .map((c) =>
        typeof c === 'string' ? `<td>${c}</td>` : c.header ? `<th>${c.data}</th>` : `<td>${c.data}</td>`,
      )
      .join('')}</tr>`;
  return `<table>${rows.map(row).join('')}</table>`;
}

function sectionHtml(s: SummarySection): string {
  const out: string[] = [];
  // Section cells are already HTML (escaped by the summary helpers), as in GITHUB_STEP_SUMMARY.
  if (s.heading) out.push(`<h${s.level ?? 3}>${escapeHtml(s.heading)}</h${s.level ?? 3}>`);
  for (const p of s.text ?? []) out.push(`<p>${cellHtml(p)}</p>`);
  if (s.table && s.table.length > 0) out.push(tableHtml(s.table));
  if (s.list && s.list.length > 0)
    out.push(`<ul>${s.list.map((i) => `<li>${cellHtml(i)}</li>`).join('')}</ul>`);
  for (const d of s.mermaid ?? []) out.push(`<pre class="mermaid">${escapeHtml(d)}</pre>`);
  return out.join('\n');
}

const inline = (text: string) => escapeHtml(text).replace(/`([^`]+)`/g, '<code>$1</code>');

/** The markdown the workflow's `run:` steps write: headings, tables, lists and paragraphs. */
export function markdownHtml(markdown: string): string {
  const out: string[] = [];
  let table: string[][] = [];
  const flush = () => {
    if (table.length === 0) return;
    const [head = [], ...body] = table;
    out.push(
      `<table><tr>${head.map((c) => `<th>${inline(c)}</th>`).join('')}</tr>${body
        .map((r) => `<tr>${r.map((c) => `<td>${inline(c)}</td>`).join('')}</tr>`)
        .join('')}</table>`,
    );
    table = [];
  };
  for (const line of markdown.split('\n')) {
    const t = line.trim();
    if (t.startsWith('|')) {
      const cells = t
        .replace(/^\||\|$/g, '')
        .split('|')
        .map((c) => c.trim());
      if (!cells.every((c) => /^:?-+:?$/.test(c))) table.push(cells);
      continue;
    }
    flush();
    const heading = /^(#{1,6})\s+(.*)$/.exec(t);
    if (heading) out.push(`<h${heading[1]!.length}>${inline(heading[2]!)}</h${heading[1]!.length}>`);
    else if (t.startsWith('- ')) out.push(`<ul><li>${inline(t.slice(2))}</li></ul>`);
    else if (t) out.push(`<p>${inline(t)}</p>`);
  }
  flush();
  return out.join('\n').replace(/<\/ul>\n<ul>/g, '\n');
}

/** The whole page. `title` is plain text. */
export function summaryPage(title: string, blocks: PageBlock[]): string {
  const body = blocks.map((b) =>
    'sections' in b ? b.sections.map(sectionHtml).join('\n') : markdownHtml(b.markdown),
  );
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(title)}</title>
<style>
body { font: 14px/1.5 system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; }
table { border-collapse: collapse; margin: 0.5em 0; }
th, td { border: 1px solid #d0d7de; padding: 4px 8px; text-align: left; vertical-align: top; }
code { background: #f6f8fa; padding: 0 3px; }
pre.mermaid { max-width: 720px; }
</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
${body.join('\n<hr>\n')}
<script src="mermaid.min.js"></script>
<script>mermaid.initialize({ startOnLoad: true, securityLevel: 'strict' });</script>
</body>
</html>
`;
}

/** Writes the page to `path` and the vendored mermaid beside it. */
export function writeSummaryPage(path: string, title: string, blocks: PageBlock[]): void {
  writeFileSync(path, summaryPage(title, blocks));
  copyFileSync(mermaidScript, join(dirname(path), 'mermaid.min.js'));
}
