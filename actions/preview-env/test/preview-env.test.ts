import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import {
  parseSummaryTables,
  runAction,
  startFakeArgoCd,
  startFakeGitHub,
  summaryTableToRecord,
  type ActionInputs,
  type FakeArgoCd,
  type FakeGitHub,
} from '../../shared/src/testing/index.js';
import { run } from '../src/main.js';
import { PREVIEW_COMMENT_MARKER } from '../src/comment.js';

const SHA_A = 'a'.repeat(40);
const SHA_B = 'b'.repeat(40);
const dir = mkdtempSync(join(tmpdir(), 'preview-env-test-'));

/** Writes a pull_request event payload like the runner's GITHUB_EVENT_PATH file. */
function prEvent(action: string, number: number, sha: string): string {
  const file = join(dir, `event-${action}-${number}-${sha.slice(0, 4)}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      action,
      number,
      pull_request: {
        number,
        head: { sha, ref: 'feature/x' },
        html_url: `https://github.com/acme/switchboard/pull/${number}`,
        merged: action === 'closed',
      },
      repository: { name: 'switchboard', owner: { login: 'acme' } },
    }),
  );
  return file;
}

describe('preview-env action', () => {
  let argo: FakeArgoCd;
  let github: FakeGitHub;
  const inputs = (extra: ActionInputs = {}): ActionInputs => ({
    server: argo.url,
    token: 'test-token',
    project: 'previews',
    'repo-url': 'https://github.com/acme/switchboard.git',
    image: 'ghcr.io/acme/switchboard',
    'url-template': 'https://pr-{number}.preview.example.com',
    'github-token': 'gh-test-token',
    'github-api-url': github.url,
    ...extra,
  });
  const env = (eventPath: string) => ({
    GITHUB_EVENT_PATH: eventPath,
    GITHUB_REPOSITORY: 'acme/switchboard',
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_RUN_ID: '4242',
  });
  const marked = (n: number) => github.commentsOn(n).filter((c) => c.body.includes(PREVIEW_COMMENT_MARKER));

  before(async () => {
    argo = await startFakeArgoCd();
    github = await startFakeGitHub();
    // Enough chatter that the preview comment lands on the second page of comments.
    github.seedComments(
      12,
      Array.from({ length: 120 }, (_, i) => `review comment ${i}`),
    );
  });
  afterEach(() => {
    argo.assertNoViolations();
    github.assertNoViolations();
  });
  after(async () => {
    await argo.close();
    await github.close();
  });

  it('opened: creates the Application, a deployment with the URL, and one comment', async () => {
    const result = await runAction(run, { inputs: inputs(), env: env(prEvent('opened', 12, SHA_A)) });
    assert.equal(result.failed, false, result.errors.join('\n'));
    assert.equal(result.outputs.url, 'https://pr-12.preview.example.com');
    assert.equal(result.outputs.application, 'switchboard-pr-12');

    const create = argo.calls('ApplicationService_Create');
    assert.equal(create.length, 1);
    assert.match(create[0]!.url, /[?&]upsert=true/);
    const app = argo.application('switchboard-pr-12');
    assert.deepEqual(app.spec?.source, {
      repoURL: 'https://github.com/acme/switchboard.git',
      path: 'overlays/preview',
      targetRevision: SHA_A,
      kustomize: {
        images: ['ghcr.io/acme/switchboard:pr-12'],
        namespace: 'pr-12',
        commonAnnotations: { 'switchboard.dev/revision': SHA_A },
      },
    });
    assert.deepEqual(app.spec?.destination, { server: 'https://kubernetes.default.svc', namespace: 'pr-12' });
    assert.equal(app.spec?.project, 'previews');
    assert.deepEqual(app.spec?.syncPolicy?.syncOptions, ['CreateNamespace=true']);
    assert.deepEqual(app.metadata?.finalizers, ['resources-finalizer.argocd.argoproj.io']);

    const [deployment] = github.deploymentsFor('pr-12');
    assert.equal(String(deployment!.id), result.outputs['deployment-id']);
    assert.equal(deployment!.ref, SHA_A);
    const request = github.calls('repos/create-deployment')[0]!.requestBody as Record<string, unknown>;
    assert.equal(request.auto_merge, false);
    assert.deepEqual(request.required_contexts, []);
    assert.equal(request.environment, 'pr-12');
    assert.deepEqual(
      deployment!.statuses.map((s) => [s.state, s.environment_url, s.log_url]),
      [
        [
          'success',
          'https://pr-12.preview.example.com',
          'https://github.com/acme/switchboard/actions/runs/4242',
        ],
      ],
    );

    assert.equal(marked(12).length, 1);
    assert.equal(String(marked(12)[0]!.id), result.outputs['comment-id']);
    assert.match(marked(12)[0]!.body, /https:\/\/pr-12\.preview\.example\.com/);
    assert.match(marked(12)[0]!.body, /`aaaaaaaaaaaa`/);
    const summary = summaryTableToRecord(parseSummaryTables(result.summary)[0]!);
    assert.equal(summary['PR comment'], 'created');
  });

  it('synchronize: updates the Application and edits the SAME comment', async () => {
    const commentId = marked(12)[0]!.id;
    github.seedComments(12, ['looks good', 'one more nit']);
    const result = await runAction(run, { inputs: inputs(), env: env(prEvent('synchronize', 12, SHA_B)) });
    assert.equal(result.failed, false, result.errors.join('\n'));
    assert.equal(argo.application('switchboard-pr-12').spec?.source?.targetRevision, SHA_B);
    assert.equal(argo.calls('ApplicationService_Create').length, 2);
    assert.equal(marked(12).length, 1, 'no duplicate comment');
    assert.equal(result.outputs['comment-id'], String(commentId));
    assert.equal(github.calls('issues/create-comment').length, 1);
    assert.equal(github.calls('issues/update-comment').length, 1);
    assert.match(marked(12)[0]!.body, /`bbbbbbbbbbbb`/);
    assert.deepEqual(
      github.deploymentsFor('pr-12').map((d) => d.ref),
      [SHA_B, SHA_A],
    );
    // The comment sits behind 100 others: finding it took the second page.
    assert.ok(github.calls('issues/list-comments').some((c) => /[?&]page=2/.test(c.url)));
  });

  it('closed: deletes the Application with cascade, marks deployments inactive, updates the comment', async () => {
    const result = await runAction(run, { inputs: inputs(), env: env(prEvent('closed', 12, SHA_B)) });
    assert.equal(result.failed, false, result.errors.join('\n'));
    assert.deepEqual(argo.deleted, [{ name: 'switchboard-pr-12', cascade: true }]);
    assert.equal(argo.apps.has('switchboard-pr-12'), false);
    const deployments = github.deploymentsFor('pr-12');
    assert.deepEqual(
      deployments.map((d) => d.statuses.at(-1)!.state),
      ['inactive', 'inactive'],
    );
    assert.equal(result.outputs['deployment-id'], String(deployments[0]!.id));
    assert.equal(marked(12).length, 1);
    assert.match(marked(12)[0]!.body, /Removed \(pull request closed\)/);
    assert.equal(result.outputs['comment-id'], String(marked(12)[0]!.id));
  });

  it('closed again: fails clearly on Argo CD "permission denied" but leaves GitHub consistent', async () => {
    const statuses = github.deployments.flatMap((d) => d.statuses).length;
    const result = await runAction(run, { inputs: inputs(), env: env(prEvent('closed', 12, SHA_B)) });
    assert.equal(result.failed, true);
    assert.match(
      result.errors[0]!,
      /refused to delete switchboard-pr-12 \("permission denied"\): either it no longer exists/,
    );
    assert.equal(
      github.deployments.flatMap((d) => d.statuses).length,
      statuses,
      'already inactive: nothing re-marked',
    );
    assert.equal(marked(12).length, 1);
    assert.match(marked(12)[0]!.body, /\*\*Note:\*\*/);
  });

  it('ignores other pull request actions', async () => {
    const calls = argo.exchanges.length + github.exchanges.length;
    const result = await runAction(run, { inputs: inputs(), env: env(prEvent('labeled', 13, SHA_A)) });
    assert.equal(result.failed, false);
    assert.equal(result.outputs.application, 'switchboard-pr-13');
    assert.equal(result.outputs['deployment-id'], '');
    assert.equal(argo.exchanges.length + github.exchanges.length, calls);
  });

  it('rejects bad inputs and non-PR events, naming the field', async () => {
    const cases: [ActionInputs, string, RegExp][] = [
      [
        inputs({ 'url-template': 'pr-{number}.example.com' }),
        prEvent('opened', 14, SHA_A),
        /url-template .* must start with https:\/\//,
      ],
      [
        inputs({ 'application-template': 'Switchboard_PR_{number}' }),
        prEvent('opened', 14, SHA_A),
        /application-template renders "Switchboard_PR_1"/,
      ],
      [
        inputs({ 'image-tag-template': 'pr-{pr}' }),
        prEvent('opened', 14, SHA_A),
        /image-tag-template: unknown placeholder \{pr\}/,
      ],
      [
        inputs({ image: 'ghcr.io/acme/switchboard:latest' }),
        prEvent('opened', 14, SHA_A),
        /must be a name without tag/,
      ],
      [inputs({ image: '' }), prEvent('opened', 14, SHA_A), /image is required/],
    ];
    const push = join(dir, 'push.json');
    writeFileSync(
      push,
      JSON.stringify({
        ref: 'refs/heads/main',
        repository: { name: 'switchboard', owner: { login: 'acme' } },
      }),
    );
    cases.push([inputs(), push, /not a pull request event/]);
    for (const [bad, eventPath, pattern] of cases) {
      const result = await runAction(run, { inputs: bad, env: env(eventPath) });
      assert.equal(result.failed, true);
      assert.match(result.errors[0]!, pattern);
    }
    assert.equal(argo.apps.has('switchboard-pr-14'), false);
  });
});
