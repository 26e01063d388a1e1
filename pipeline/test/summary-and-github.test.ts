import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import {
  createOctokit,
  deactivateEnvironment,
  recordDeployment,
  upsertMarkedComment,
} from '../src/github/index.js';
import {
  code,
  keyValueTable,
  link,
  markdownTable,
  table,
  writeJobSummary,
  type SummaryRow,
  type SummarySink,
} from '../src/summary/index.js';
import {
  parseSummaryTables,
  startFakeGitHub,
  summaryTableToRecord,
  type FakeGitHub,
} from '../src/testing/index.js';

/** Renders like @actions/core's summary (same tags), so parseSummaryTables reads what GitHub would show. */
function recordingSink(): SummarySink & { html: string } {
  const sink = {
    html: '',
    addHeading(text: string, level: number | string = 1) {
      sink.html += `<h${level}>${text}</h${level}>\n`;
      return sink;
    },
    addTable(rows: SummaryRow[]) {
      const cells = rows.map(
        (row) =>
          `<tr>${row.map((c) => (typeof c === 'string' ? `<td>${c}</td>` : c.header ? `<th>${c.data}</th>` : `<td>${c.data}</td>`)).join('')}</tr>`,
      );
      sink.html += `<table>${cells.join('')}</table>\n`;
      return sink;
    },
    addRaw(text: string) {
      sink.html += text;
      return sink;
    },
    addList(items: string[]) {
      sink.html += `<ul>${items.map((i) => `<li>${i}</li>`).join('')}</ul>\n`;
      return sink;
    },
    write: async () => sink,
  };
  return sink;
}

describe('summary helpers', () => {
  it('escapes server text and passes only explicit markup through', async () => {
    const sink = recordingSink();
    await writeJobSummary(sink, [
      {
        heading: 'Sync <web>',
        level: 2,
        table: keyValueTable([
          ['Application', code('web')],
          ['Message', '<img src=x onerror=alert(1)> & more'],
          ['Skipped', undefined],
          ['URL', link('open', 'https://pr-1.example.com')],
          ['Bad link', link('x', 'javascript:alert(1)')],
        ]),
        list: ['a < b'],
      },
    ]);
    assert.doesNotMatch(sink.html, /<img/);
    assert.match(sink.html, /<h2>Sync &#60;web&#62;<\/h2>/);
    assert.match(sink.html, /<a href="https:\/\/pr-1\.example\.com">open<\/a>/);
    assert.doesNotMatch(sink.html, /javascript:/);
    const [rows] = parseSummaryTables(sink.html);
    assert.deepEqual(summaryTableToRecord(rows!), {
      Application: 'web',
      Message: '<img src=x onerror=alert(1)> & more',
      URL: 'open',
      'Bad link': 'x',
    });
    assert.deepEqual(table(['A'], [[1], [true]]).slice(1), [['1'], ['true']]);
  });

  it('builds markdown tables that survive pipes and newlines', () => {
    assert.equal(
      markdownTable(['k', 'v'], [['a|b', 'x\ny']]),
      '| k | v |\n| --- | --- |\n| a\\|b | x<br>y |',
    );
  });
});

describe('GitHub helpers against the fake GitHub', () => {
  let github: FakeGitHub;
  const ref = { owner: 'acme', repo: 'switchboard', issueNumber: 7 };
  before(async () => {
    github = await startFakeGitHub();
  });
  afterEach(() => github.assertNoViolations());
  after(() => github.close());

  it('keeps one marked comment, found across pages', async () => {
    const octokit = createOctokit({ token: 'gh-test-token', baseUrl: github.url });
    github.seedComments(
      7,
      Array.from({ length: 130 }, (_, i) => `chatter ${i}`),
    );
    const first = await upsertMarkedComment(octokit, ref, '<!-- m -->', 'v1');
    assert.equal(first.created, true);
    github.seedComments(7, ['more chatter']);
    const second = await upsertMarkedComment(octokit, ref, '<!-- m -->', 'v2');
    assert.equal(second.created, false);
    assert.equal(second.id, first.id);
    const marked = github.commentsOn(7).filter((c) => c.body.includes('<!-- m -->'));
    assert.deepEqual(
      marked.map((c) => c.body),
      ['<!-- m -->\nv2'],
    );
    // The marked comment sits on page 2 of 100: the lookup had to paginate.
    assert.ok(github.calls('issues/list-comments').some((e) => e.url.includes('page=2')));
  });

  it('records a deployment with its URL and deactivates the environment once', async () => {
    const octokit = createOctokit({ token: 'gh-test-token', baseUrl: github.url });
    const one = await recordDeployment(octokit, {
      owner: 'acme',
      repo: 'switchboard',
      ref: 'a'.repeat(40),
      environment: 'pr-7',
      environmentUrl: 'https://pr-7.preview.example.com',
      transient: true,
    });
    const body = github.calls('repos/create-deployment')[0]!.requestBody as Record<string, unknown>;
    assert.equal(body.auto_merge, false);
    assert.deepEqual(body.required_contexts, []);
    assert.equal(
      github.deploymentsFor('pr-7')[0]!.statuses[0]!.environment_url,
      'https://pr-7.preview.example.com',
    );
    const marked = await deactivateEnvironment(octokit, {
      owner: 'acme',
      repo: 'switchboard',
      environment: 'pr-7',
    });
    assert.deepEqual(marked, [one.deploymentId]);
    assert.deepEqual(
      await deactivateEnvironment(octokit, { owner: 'acme', repo: 'switchboard', environment: 'pr-7' }),
      [],
    );
  });

  it('names the input when the token or URL is unusable', () => {
    assert.throws(() => createOctokit({ token: '' }), /github-token is empty/);
    assert.throws(() => createOctokit({ token: 'x', baseUrl: 'api.github.com' }), /github-api-url/);
  });
});
