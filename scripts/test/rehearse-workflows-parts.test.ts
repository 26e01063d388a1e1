// The parts the preview and load-test rehearsals are built from: GitHub's event payloads (checked
// against GitHub's schemas), Argo CD's image override, the "one controller" reading of argocd/, and
// which rehearsal a workflow file gets.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { imageOverride } from '../lib/rehearse/argocd-source.js';
import { checkEventPayload, pullRequestEvent, workflowDispatchEvent } from '../lib/rehearse/events.js';
import { otherPreviewControllers } from '../lib/rehearse/preview-checks.js';
import { resolveWorkflow } from '../lib/rehearse/workflow-kind.js';
import { repoRoot } from './validate-fixtures.js';

const sha = (c: string) => c.repeat(40);

describe('GitHub event payloads', () => {
  for (const action of ['opened', 'synchronize', 'closed'] as const) {
    test(`pull_request ${action} matches GitHub's schema and carries the pull request`, () => {
      const p = pullRequestEvent({
        action,
        repository: 'acme/switchboard',
        number: 12,
        headSha: sha('a'),
        headRef: 'feature',
        baseSha: sha('b'),
        before: sha('c'),
        at: '2026-12-05T09:00:00Z',
      }) as {
        action: string;
        number: number;
        pull_request: { state: string; head: { sha: string; repo: { full_name: string } } };
        repository: { full_name: string };
      };
      assert.equal(p.action, action);
      assert.equal(p.number, 12);
      assert.equal(p.pull_request.head.sha, sha('a'));
      // preview.yml builds only for branches of the repository itself.
      assert.equal(p.pull_request.head.repo.full_name, p.repository.full_name);
      assert.equal(p.pull_request.state, action === 'closed' ? 'closed' : 'open');
    });
  }

  test('a payload without a field GitHub always sends is refused, naming the field', () => {
    const p = pullRequestEvent({
      action: 'opened',
      repository: 'acme/switchboard',
      number: 1,
      headSha: sha('a'),
      headRef: 'f',
      baseSha: sha('b'),
      at: '2026-12-05T09:00:00Z',
    }) as { pull_request: { head: Record<string, unknown> } };
    delete p.pull_request.head.sha;
    assert.throws(
      () => checkEventPayload('pull_request$opened', p),
      /\/pull_request\/head: must have required property 'sha'/,
    );
    // An opened pull request is open: a closed state is not an opened event.
    const q = structuredClone(p) as { pull_request: { state: string; head: Record<string, unknown> } };
    q.pull_request.head.sha = sha('a');
    q.pull_request.state = 'closed';
    assert.throws(() => checkEventPayload('pull_request$opened', q), /\/pull_request\/state/);
  });

  test('workflow_dispatch: inputs are strings, as GitHub sends them', () => {
    const p = workflowDispatchEvent({
      repository: 'acme/switchboard',
      ref: 'refs/heads/main',
      workflow: '.github/workflows/loadtest.yml',
      inputs: { mode: 'operator', vus: '10' },
    }) as { inputs: Record<string, string>; workflow: string };
    assert.deepEqual(p.inputs, { mode: 'operator', vus: '10' });
    assert.throws(
      () => checkEventPayload('workflow_dispatch$event', { ...p, ref: undefined }),
      /must have required property 'ref'/,
    );
  });
});

test("Argo CD's image override as kustomize edit set image writes it", () => {
  assert.deepEqual(imageOverride(`ghcr.io/switchboard/server=registry.local:5000/sb/server:${sha('a')}`), {
    name: 'ghcr.io/switchboard/server',
    newName: 'registry.local:5000/sb/server',
    newTag: sha('a'),
  });
  assert.deepEqual(imageOverride('ghcr.io/x/y:pr-1'), {
    name: 'ghcr.io/x/y',
    newName: 'ghcr.io/x/y',
    newTag: 'pr-1',
  });
});

describe('one controller for previews', () => {
  test('argocd/ as committed has none besides preview-env', () => {
    assert.deepEqual(otherPreviewControllers(join(repoRoot, 'argocd')), []);
  });

  test('an ApplicationSet for pull requests (main before d13bceb) is a second controller', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-argocd-'));
    writeFileSync(
      join(dir, 'applicationset-previews.yaml'),
      [
        'apiVersion: argoproj.io/v1alpha1',
        'kind: ApplicationSet',
        'metadata: {name: switchboard-previews}',
        'spec:',
        '  generators: [{pullRequest: {github: {owner: switchboard, repo: switchboard}}}]',
        "  template: {metadata: {name: 'switchboard-pr-{{number}}'}, spec: {destination: {namespace: 'pr-{{number}}'}}}",
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(dir, 'app.yaml'),
      'apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: pr-1}\nspec: {destination: {namespace: pr-1}}\n',
    );
    assert.deepEqual(otherPreviewControllers(dir), [
      'Application/pr-1 (argocd/app.yaml) deploys to pr-1',
      'ApplicationSet/switchboard-previews (argocd/applicationset-previews.yaml) generates Applications',
    ]);
  });
});

test('which rehearsal a workflow gets, by the events it runs on', () => {
  assert.equal(resolveWorkflow(repoRoot, 'preview').kind, 'preview');
  assert.equal(resolveWorkflow(repoRoot, 'loadtest').kind, 'loadtest');
  assert.equal(resolveWorkflow(repoRoot, '.github/workflows/deploy.yml').kind, 'deploy');
  assert.throws(() => resolveWorkflow(repoRoot, 'nope.yml'), /--workflow: cannot read/);
});
