// The job-summary sections the actions write (HTML tables for GITHUB_STEP_SUMMARY), written the way
// the workflow writes them -- through @actions/core's summary into a GITHUB_STEP_SUMMARY file -- and
// rendered as plain markdown for a terminal.
import { appendFileSync, writeFileSync } from 'node:fs';
import * as core from '@actions/core';
import {
  markdownTable,
  mermaidBlock,
  writeJobSummary,
  type CellValue,
  type SummarySection,
} from '../../../pipeline/src/summary/index.js';
import { writeSummaryPage, type PageBlock } from './summary-page.js';

const entities: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

/** Cell or paragraph HTML as markdown text: code, links and line breaks kept, other tags dropped. */
export function htmlToMarkdown(html: string): string {
  const decode = (s: string) =>
    s.replace(/&(#\d+|#x[0-9a-f]+|[a-z]+);/gi, (m, e: string) => {
      if (e.startsWith('#x') || e.startsWith('#X')) return String.fromCodePoint(parseInt(e.slice(2), 16));
      if (e.startsWith('#')) return String.fromCodePoint(Number(e.slice(1)));
      return entities[e.toLowerCase()] ?? m;
    });
  return decode(
    html
      .replace(/<code>([\s\S]*?)<\/code>/gi, (_, c: string) => `\`${c}\``)
      .replace(/<a href="([^"]*)">([\s\S]*?)<\/a>/gi, (_, href: string, text: string) => `[${text}](${href})`)
      .replace(/<br\s*\/?>/gi, ' ')
      .replace(/<\/?(b|strong)>/gi, '**')
      .replace(/<[^>]+>/g, ''),
  );
}

function cellText(value: CellValue | { data: string }): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'object') return htmlToMarkdown('html' in value ? value.html : value.data);
  return String(value);
}

/** The sections as GitHub-flavoured markdown: `##` headings, paragraphs, tables, bullet lists. */
export function sectionsToMarkdown(sections: SummarySection[]): string {
  const out: string[] = [];
  for (const s of sections) {
    if (s.heading) out.push(`${'#'.repeat(s.level ?? 3)} ${s.heading}`, '');
    for (const p of s.text ?? []) out.push(cellText(p), '');
    if (s.table && s.table.length > 0) {
      const [header, ...rows] = s.table;
      const text = (c: string | { data: string }) =>
        typeof c === 'string' ? htmlToMarkdown(c) : cellText(c);
      out.push(
        markdownTable(
          header!.map(text),
          rows.map((r) => r.map(text)),
        ),
        '',
      );
    }
    for (const item of s.list ?? []) out.push(`- ${cellText(item)}`);
    if (s.list?.length) out.push('');
    for (const diagram of s.mermaid ?? []) out.push(mermaidBlock(diagram).trim(), '');
  }
  return out.join('\n');
}

/**
 * A GITHUB_STEP_SUMMARY file written by @actions/core's summary, exactly as on a runner, a markdown
 * copy next to it, and (given `pagePath`) the same summaries as an HTML page a browser opens, charts
 * drawn. `core.summary` reads GITHUB_STEP_SUMMARY once, so one file per process.
 */
export class StepSummary {
  /** What the page shows, in order; bounded by the workflow's steps. */
  readonly #blocks: PageBlock[] = [];

  constructor(
    readonly htmlPath: string,
    readonly markdownPath: string,
    readonly pagePath?: string,
    readonly pageTitle = 'Job summaries',
  ) {
    writeFileSync(htmlPath, '');
    writeFileSync(markdownPath, '');
    process.env.GITHUB_STEP_SUMMARY = htmlPath;
    this.#page();
  }

  #page(): void {
    if (this.pagePath) writeSummaryPage(this.pagePath, this.pageTitle, this.#blocks);
  }

  /** Appends one step's sections to the files; returns the markdown. */
  async write(sections: SummarySection[]): Promise<string> {
    await writeJobSummary(core.summary, sections);
    const md = sectionsToMarkdown(sections);
    appendFileSync(this.markdownPath, `${md}\n`);
    this.#blocks.push({ sections });
    this.#page();
    return md;
  }

  /** Records markdown a `run:` step already appended to GITHUB_STEP_SUMMARY itself. */
  appendMarkdown(markdown: string): string {
    appendFileSync(this.markdownPath, `${markdown.trim()}\n\n`);
    this.#blocks.push({ markdown: markdown.trim() });
    this.#page();
    return markdown.trim();
  }
}
