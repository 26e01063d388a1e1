import { cellHtml, escapeHtml, type CellValue, type SummaryRow } from './table.js';

/**
 * The part of `@actions/core`'s `summary` object used here. It is structural so domain code and tests
 * can build summaries without importing `@actions/core`; `main.ts` passes `core.summary`.
 */
export interface SummarySink {
  addHeading(text: string, level?: number | string): SummarySink;
  addTable(rows: SummaryRow[]): SummarySink;
  addRaw(text: string, addEOL?: boolean): SummarySink;
  addList(items: string[], ordered?: boolean): SummarySink;
  write(): Promise<unknown>;
}

/** One block of a job summary: a heading, then optional text, table and list, in that order. */
export interface SummarySection {
  heading?: string;
  /** 2 for an action's title, 3 for sub-sections. */
  level?: 2 | 3 | 4;
  /** Paragraphs; plain strings are escaped. */
  text?: CellValue[];
  /** Rows from {@link table} / {@link keyValueTable}. */
  table?: SummaryRow[];
  /** Bullet items; plain strings are escaped. */
  list?: CellValue[];
  /** Mermaid diagrams, each written as a ```mermaid block (GitHub renders them), after the list. */
  mermaid?: string[];
}

/** A mermaid diagram as a fenced block; the blank line first ends an HTML block before it. */
export function mermaidBlock(diagram: string): string {
  return `\n\`\`\`mermaid\n${diagram.replace(/`{3,}/g, '')}\n\`\`\`\n`;
}

/** Appends `sections` to the job summary and writes it (GITHUB_STEP_SUMMARY). */
export async function writeJobSummary(sink: SummarySink, sections: SummarySection[]): Promise<void> {
  for (const section of sections) {
    if (section.heading) sink.addHeading(escapeHtml(section.heading), section.level ?? 3);
    for (const paragraph of section.text ?? []) sink.addRaw(`<p>${cellHtml(paragraph)}</p>`, true);
    if (section.table && section.table.length > 0) sink.addTable(section.table);
    if (section.list && section.list.length > 0) sink.addList(section.list.map(cellHtml));
    for (const diagram of section.mermaid ?? []) sink.addRaw(mermaidBlock(diagram), true);
  }
  await sink.write();
}
