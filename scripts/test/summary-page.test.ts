// The rehearsal's summary page (summary.html): the job summaries as HTML with the slo-gate's charts,
// opened in headless Chromium (playwright-core + the system chromium) from the file, without a
// network: the vendored mermaid draws each xychart-beta chart (two lines: the objective, its limit)
// with no syntax error, and the tables and the `run:` step's markdown are on the page.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../../testkit/src/browser.js';
import type { GateReport } from '../../actions/slo-gate/src/evaluate.js';
import type { ObjectiveSeries } from '../../actions/slo-gate/src/series.js';
import { gateSummary } from '../../actions/slo-gate/src/summary.js';
import { markdownHtml, mermaidScript } from '../lib/rehearse/summary-page.js';
import { StepSummary } from '../lib/rehearse/summary-text.js';
import { repoRoot } from './validate-fixtures.js';

let browser: Browser;

before(async () => {
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
});

const t0 = Date.parse('2026-12-05T09:00:00Z');
const series = (
  name: string,
  unit: string,
  limit: number,
  values: number[],
  comparator: '>=' | '<=',
): ObjectiveSeries => ({
  name,
  unit,
  comparator,
  limit,
  startMs: t0,
  endMs: t0 + 50_000,
  stepSeconds: 2,
  window: '4s',
  points: values.map((value, i) => ({ t: t0 + 4_000 + i * 2_000, value })),
  dropped: 0,
  note: '',
});

const report: GateReport = {
  verdict: 'fail',
  window: '50s',
  results: [
    {
      name: 'join-success',
      description: '',
      query: 'sum(rate(switchboard_joins_total{result="ok"}[50s])) / sum(rate(switchboard_joins_total[50s]))',
      comparator: '>=',
      limit: 0.999,
      unit: 'ratio',
      value: 0.91,
      verdict: 'fail',
      reason: '0.91 is not >= 0.999',
    },
  ],
  startedAt: t0,
  evaluatedAt: t0 + 50_000,
  queriedAt: t0 + 50_000,
  polls: 0,
};

describe('rehearsal summary page', () => {
  test('the vendored mermaid is the file vendor/mermaid/SOURCE.md names', () => {
    const recorded = /file sha256: `([0-9a-f]{64})`/.exec(
      readFileSync(join(repoRoot, 'vendor/mermaid/SOURCE.md'), 'utf8'),
    )?.[1];
    const actual = createHash('sha256').update(readFileSync(mermaidScript)).digest('hex');
    assert.equal(actual, recorded);
  });

  test('opens from the file in a browser, the charts drawn by mermaid, the tables and markdown shown', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'summary-page-'));
    const summary = new StepSummary(
      join(dir, 'job-summary.md'),
      join(dir, 'rehearsal.md'),
      join(dir, 'summary.html'),
      'Rehearsal <test>',
    );
    await summary.write(
      gateSummary(report, 'http://127.0.0.1:9090', [
        series('join-success', 'ratio', 0.999, [1, 0.75, 0.777778, 0.91, 1], '>='),
        series('delivery-latency', 'seconds', 0.25, [0.02395, 0.02095, 0.00099], '<='),
        {
          ...series('server-errors', 'ratio', 0.001, [], '<='),
          note: 'Prometheus at x is unreachable: ECONNREFUSED',
        },
      ]),
    );
    summary.appendMarkdown(
      '## Deployment of 0123456789ab\n\n| Stage | Result |\n| --- | --- |\n| staging | failure |\n\n- SLO gate: `fail`',
    );
    assert.ok(existsSync(join(dir, 'mermaid.min.js')), 'mermaid is copied beside the page');

    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    // No network: every request other than the page's own files is refused.
    await page.route('**/*', (route) =>
      route.request().url().startsWith('file://') ? route.continue() : route.abort(),
    );
    await page.goto(pathToFileURL(join(dir, 'summary.html')).href);
    await page.waitForFunction(() => document.querySelectorAll('pre.mermaid svg').length === 2, null, {
      timeout: 30_000,
    });
    const charts = await page.$$eval('pre.mermaid svg', (svgs) =>
      svgs.map((svg) => ({
        text: svg.textContent ?? '',
        lines: [0, 1].map((i) => svg.querySelectorAll(`g.line-plot-${i} path`).length),
        colors: [0, 1].map((i) => svg.querySelector(`g.line-plot-${i} path`)?.getAttribute('stroke') ?? ''),
      })),
    );
    assert.deepEqual(errors, []);
    for (const c of charts) {
      assert.doesNotMatch(c.text, /Syntax error|error in text/i);
      assert.doesNotMatch(c.text, /&lt;|&gt;/, 'no entity shown as text');
      assert.deepEqual(c.lines, [1, 1], 'the objective and its limit');
      assert.deepEqual(c.colors, ['#2563eb', '#dc2626']);
    }
    assert.match(charts[0]!.text, /join-success: at least 0\.999/);
    assert.match(charts[0]!.text, /0:04/);
    assert.match(charts[1]!.text, /delivery-latency: at most 250 ms/);
    const text = await page.textContent('body');
    assert.match(text ?? '', /SLO gate: fail/);
    assert.match(text ?? '', /server-errors: no chart: Prometheus at x is unreachable: ECONNREFUSED/);
    assert.match(text ?? '', /Deployment of 0123456789ab/);
    assert.equal(await page.title(), 'Rehearsal <test>');
    assert.equal(
      await page.$$eval('table', (t) => t.length),
      3,
      'the gate overview, objectives and deployment tables',
    );
    await page.close();
  });

  test('markdown from a run: step is escaped: no tag from a value reaches the page', () => {
    const html = markdownHtml(
      '## <img src=x onerror=alert(1)>\n| a | b |\n| --- | --- |\n| <b>x</b> | `y` |\n- `<script>`',
    );
    assert.doesNotMatch(html, /<img|<b>|<script>/);
    assert.match(html, /<h2>&#60;img/);
    assert.match(html, /<td><code>y<\/code><\/td>/);
  });
});
