import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import {
  parseSummaryTables,
  runAction,
  startFakeArgoCd,
  startFakeGitHub,
  summaryTableToRecord,
  type ActionInputs,
  type FakeArgoCd,
  type FakeGitHub,
} from '../../../pipeline/src/testing/index.js';
import { run } from '../src/main.js';
import { PREVIEW_COMMENT_MARKER } from '../src/comment.js';
import { hostPatch } from '../src/application.js';
import { readPreviewConfig, RESTRICTED_PROJECT } from '../src/config.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

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
    'manifest-image': 'ghcr.io/switchboard/server',
    'url-template': 'https://pr-{number}.preview.example.com',
    'github-token': 'gh-test-token',
    'github-api-url': github.url,
    'poll-interval-seconds': 0.01,
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
        // The overlay's image name, replaced by the commit's own (immutable) tag.
        images: [`ghcr.io/switchboard/server=ghcr.io/acme/switchboard:${SHA_A}`],
        namespace: 'pr-12',
        patches: [{ patch: hostPatch('pr-12.preview.example.com') }],
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

    // The action asks for the sync, then polls until Argo CD reports the commit Synced and Healthy;
    // only then does it record the deployment and comment (it calls Argo CD no more after that).
    const gets = argo.calls('ApplicationService_Get');
    assert.ok(gets.length >= 2, `${gets.length} polls`);
    const seen = gets.at(-1)!.responseBody as {
      status?: { health?: { status?: string }; sync?: { revision?: string; status?: string } };
    };
    assert.deepEqual(
      [seen.status?.health?.status, seen.status?.sync?.status, seen.status?.sync?.revision],
      ['Healthy', 'Synced', SHA_A],
    );
    assert.equal(
      (gets[0]!.responseBody as { status?: { health?: { status?: string } } }).status?.health?.status ===
        'Healthy',
      false,
      'the first poll is not yet Healthy: the wait is real',
    );
    assert.equal(argo.calls('ApplicationService_Sync').length, 1);
    assert.equal(marked(12).length, 1);
    assert.equal(String(marked(12)[0]!.id), result.outputs['comment-id']);
    assert.match(marked(12)[0]!.body, /Synced and Healthy/);
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

  it('opened after the pull request closed (a close ran while the image built): no preview is created', async () => {
    github.closedPullRequests.add(15);
    const creates = argo.calls('ApplicationService_Create').length;
    const result = await runAction(run, { inputs: inputs(), env: env(prEvent('synchronize', 15, SHA_A)) });
    assert.equal(result.failed, false, result.errors.join('\n'));
    assert.equal(argo.calls('ApplicationService_Create').length, creates);
    assert.equal(argo.apps.has('switchboard-pr-15'), false);
    assert.equal(result.outputs['deployment-id'], '');
    assert.match(result.log, /pull request #15 is closed now: no preview created/);
  });

  it('each pull request gets its own host and origin; a preview that never turns Healthy fails the step', async () => {
    argo.addApplication({ name: 'switchboard-pr-16', history: [SHA_A], automated: true });
    argo.script('switchboard-pr-16', { health: 'Degraded' });
    const result = await runAction(run, { inputs: inputs(), env: env(prEvent('synchronize', 16, SHA_B)) });
    assert.equal(result.failed, true);
    assert.match(result.errors[0]!, /preview switchboard-pr-16 is not Healthy: degraded/);
    const patches = argo.application('switchboard-pr-16').spec?.source?.kustomize?.patches;
    assert.deepEqual(patches, [{ patch: hostPatch('pr-16.preview.example.com') }]);
    assert.equal(github.deploymentsFor('pr-16')[0]!.statuses[0]!.state, 'failure');
    assert.match(marked(16)[0]!.body, /not Healthy/);
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

  it('without a project input, previews go to the restricted AppProject of argocd/project.yaml', () => {
    const given = inputs({ project: '' });
    const config = readPreviewConfig((name) => String(given[name] ?? ''));
    assert.equal(config.project, RESTRICTED_PROJECT);
    const project = parse(readFileSync(join(repoRoot, 'argocd/project.yaml'), 'utf8')) as {
      kind: string;
      metadata: { name: string };
      spec: { destinations: { namespace: string }[] };
    };
    assert.equal(project.kind, 'AppProject');
    assert.equal(project.metadata.name, RESTRICTED_PROJECT);
    assert.ok(project.spec.destinations.some((d) => d.namespace === 'pr-*'));
    const meta = parse(readFileSync(join(repoRoot, 'actions/preview-env/action.yml'), 'utf8')) as {
      inputs: { project: { default: string } };
    };
    assert.equal(meta.inputs.project.default, RESTRICTED_PROJECT);
    const workflow = readFileSync(join(repoRoot, '.github/workflows/preview.yml'), 'utf8');
    assert.match(workflow, new RegExp(`project: .*\\|\\| '${RESTRICTED_PROJECT}'`));
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
        /image "ghcr.io\/acme\/switchboard:latest" must be an image name without tag/,
      ],
      [
        inputs({ 'image-tag-template': 'pr-{number}' }),
        prEvent('opened', 14, SHA_A),
        /must contain \{sha\} or \{short_sha\}: the immutable per-commit tag/,
      ],
      [inputs({ image: '' }), prEvent('opened', 14, SHA_A), /image is required/],
      [inputs({ 'manifest-image': '' }), prEvent('opened', 14, SHA_A), /manifest-image is required/],
      [
        inputs({ project: 'default' }),
        prEvent('opened', 14, SHA_A),
        /project: Argo CD's "default" project allows every source .* restricted AppProject/,
      ],
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
