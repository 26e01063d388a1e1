// Job-summary and markdown helpers, output by output: what GitHub renders is exactly this text.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  cellHtml,
  code,
  escapeHtml,
  keyValueTable,
  link,
  markdownCell,
  markdownCode,
  markdownTable,
  rawHtml,
  table,
  writeJobSummary,
  type SummaryRow,
  type SummarySink,
} from '../src/summary/index.js';

test('HTML escaping covers the five characters and nothing else', () => {
  assert.equal(
    escapeHtml(`<a href="x">'&'</a> é`),
    '&#60;a href=&#34;x&#34;&#62;&#39;&#38;&#39;&#60;/a&#62; é',
  );
  assert.deepEqual(code('<b>'), { html: '<code>&#60;b&#62;</code>' });
  assert.deepEqual(rawHtml('<b>x</b>'), { html: '<b>x</b>' });
});

test('links: http and https in any case; anything else is plain text', () => {
  assert.deepEqual(link('a<b', 'HTTPS://x.example/?q="1"'), {
    html: '<a href="HTTPS://x.example/?q=&#34;1&#34;">a&#60;b</a>',
  });
  assert.deepEqual(link('x', 'http://h'), { html: '<a href="http://h">x</a>' });
  assert.deepEqual(link('<x>', 'ftp://h'), { html: '&#60;x&#62;' });
  assert.deepEqual(link('x', ' https://h'), { html: 'x' }, 'the scheme must start the link');
});

test('cells: null and undefined are empty, values are escaped text, raw HTML passes', () => {
  assert.equal(cellHtml(undefined), '');
  assert.equal(cellHtml(null), '');
  assert.equal(cellHtml(0), '0');
  assert.equal(cellHtml(false), 'false');
  assert.equal(cellHtml('<'), '&#60;');
  assert.equal(cellHtml(rawHtml('<i>')), '<i>');
  assert.deepEqual(table(['<A>', 'B'], [['x', null]]), [
    [
      { data: '&#60;A&#62;', header: true },
      { data: 'B', header: true },
    ],
    ['x', ''],
  ]);
  assert.deepEqual(
    keyValueTable(
      [
        ['k', null],
        ['gone', undefined],
      ],
      ['Key', 'Val'],
    ),
    [
      [
        { data: 'Key', header: true },
        { data: 'Val', header: true },
      ],
      ['k', ''],
    ],
  );
  assert.deepEqual(keyValueTable([])[0], [
    { data: 'Field', header: true },
    { data: 'Value', header: true },
  ]);
});

test('markdown: cells escape backslashes, pipes and both newline styles; code survives backticks', () => {
  assert.equal(markdownCell('a\\|b\r\nc\nd'), 'a\\\\\\|b<br>c<br>d');
  assert.equal(markdownCell(undefined), '');
  assert.equal(markdownCell(null), '');
  assert.equal(markdownCell(12), '12');
  assert.equal(markdownTable(['a'], []), '| a |\n| --- |');
  assert.equal(markdownCode('x'), '`x`');
  assert.equal(markdownCode('a`b'), '``a`b``');
});

test('a job summary: heading at level 3 by default, paragraphs, then table and list only when not empty', async () => {
  const calls: string[] = [];
  const sink: SummarySink = {
    addHeading: (text, level) => (calls.push(`h${String(level)} ${text}`), sink),
    addTable: (rows: SummaryRow[]) => (calls.push(`table ${rows.length}`), sink),
    addRaw: (text, eol) => (calls.push(`raw ${text} ${String(eol)}`), sink),
    addList: (items) => (calls.push(`list ${items.join(',')}`), sink),
    write: async () => (calls.push('write'), sink),
  };
  await writeJobSummary(sink, [
    { heading: 'A & B', text: ['<p>', code('c')], table: table(['x'], []), list: ['1<'] },
    { heading: 'Top', level: 2, table: [], list: [] },
    { text: [] },
  ]);
  assert.deepEqual(calls, [
    'h3 A &#38; B',
    'raw <p>&#60;p&#62;</p> true',
    'raw <p><code>c</code></p> true',
    'table 1',
    'list 1&#60;',
    'h2 Top',
    'write',
  ]);
});
