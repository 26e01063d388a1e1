// Inputs of preview-env that the main suite leaves at their defaults (issue 20 §2): each test sets one
// or more of them to a value the default would not give, and checks what reaches Argo CD, so the test
// fails when the action ignores the input.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import {
  FakeActionsIdTokenEndpoint,
  runAction,
  startFakeArgoCd,
  startFakeGitHub,
  type ActionInputs,
  type FakeArgoCd,
  type FakeGitHub,
} from '../../../pipeline/src/testing/index.js';
import { run } from '../src/main.js';

const SHA = 'c'.repeat(40);
const dir = mkdtempSync(join(tmpdir(), 'preview-env-inputs-'));

function prEvent(number: number): string {
  const file = join(dir, `event-${number}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      action: 'opened',
      number,
      pull_request: { number, head: { sha: SHA, ref: 'feature/x' } },
      repository: { name: 'switchboard', owner: { login: 'acme' } },
    }),
  );
  return file;
}

describe('preview-env inputs', () => {
  let argo: FakeArgoCd;
  let github: FakeGitHub;
  let oidc: FakeActionsIdTokenEndpoint;
  const inputs = (extra: ActionInputs = {}): ActionInputs => ({
    server: argo.url,
    token: 'test-token',
    'repo-url': 'https://github.com/acme/switchboard.git',
    image: 'ghcr.io/acme/switchboard',
    'manifest-image': 'ghcr.io/switchboard/server',
    'url-template': 'https://pr-{number}.preview.example.com',
    'github-token': 'gh-test-token',
    'github-api-url': github.url,
    'poll-interval-seconds': 0.01,
    ...extra,
  });
  const env = (number: number, extra: Record<string, string> = {}) => ({
    GITHUB_EVENT_PATH: prEvent(number),
    GITHUB_REPOSITORY: 'acme/switchboard',
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_RUN_ID: '4242',
    ...extra,
  });

  before(async () => {
    oidc = await new FakeActionsIdTokenEndpoint().start();
    argo = await startFakeArgoCd({ refs: { 'refs/pull/31/head': SHA } });
    github = await startFakeGitHub();
  });
  afterEach(() => {
    argo.assertNoViolations();
    github.assertNoViolations();
  });
  after(async () => {
    await argo.close();
    await github.close();
    await oidc.close();
  });

  it('app-namespace, destination-server, manifest-image and a branch target-revision reach the Application', async () => {
    const result = await runAction(run, {
      inputs: inputs({
        'app-namespace': 'team-previews',
        'destination-server': 'https://previews.k8s.example.com',
        'manifest-image': 'registry.example.com/overlay/server',
        // A ref Argo CD resolves: the wait must accept the commit it resolved the ref to.
        'target-revision': 'refs/pull/{number}/head',
        'wait-timeout-seconds': 10,
      }),
      env: env(31),
    });
    assert.equal(result.failed, false, result.errors.join('\n'));
    const app = argo.application('switchboard-pr-31');
    assert.equal(app.metadata?.namespace, 'team-previews');
    assert.deepEqual(app.spec?.destination, {
      server: 'https://previews.k8s.example.com',
      namespace: 'pr-31',
    });
    assert.deepEqual(app.spec?.source?.kustomize?.images, [
      `registry.example.com/overlay/server=ghcr.io/acme/switchboard:${SHA}`,
    ]);
    assert.equal(app.spec?.source?.targetRevision, 'refs/pull/31/head');
    assert.equal(app.status?.sync?.revision, SHA);
    // Every call after the create names the Application's namespace (Argo CD looks in its own otherwise).
    for (const call of [...argo.calls('ApplicationService_Get'), ...argo.calls('ApplicationService_Sync')]) {
      const body = call.requestBody as { appNamespace?: string } | undefined;
      assert.equal(
        new URL(call.url, argo.url).searchParams.get('appNamespace') ?? body?.appNamespace,
        'team-previews',
      );
    }
  });

  it(
    'wait-timeout-seconds bounds the wait for a preview that never turns Healthy',
    { timeout: 60_000 },
    async () => {
      // With the default (600 s) this test would run into its own 60 s timeout.
      argo.addApplication({ name: 'switchboard-pr-32', history: [SHA], automated: true });
      argo.script('switchboard-pr-32', { health: 'Progressing' });
      const started = Date.now();
      const result = await runAction(run, {
        inputs: inputs({ 'wait-timeout-seconds': 1, 'poll-interval-seconds': 0.05 }),
        env: env(32),
      });
      assert.equal(result.failed, true);
      assert.match(result.errors[0]!, /preview switchboard-pr-32 is not Healthy: not Healthy after 1 s/);
      assert.ok(Date.now() - started < 50_000);
    },
  );

  it('oidc: the GitHub ID token (oidc-audience) is exchanged at dex-url with dex-client-id/-secret and dex-connector-id', async () => {
    // Dex of its own (another fake's /api/dex) with a non-default client; the Argo CD server has no
    // Dex, so an exchange sent to `<server>/api/dex` instead of dex-url gets a 404.
    const dex = await startFakeArgoCd({
      dex: { connectorId: 'gha-previews', clientId: 'preview-client', acceptSubjectToken: oidc.isIssued },
    });
    const server = await startFakeArgoCd({ tokens: ['dex-issued-1'] });
    try {
      const result = await runAction(run, {
        inputs: inputs({
          server: server.url,
          token: '',
          oidc: true,
          'dex-connector-id': 'gha-previews',
          'dex-url': `${dex.url}/api/dex`,
          'dex-client-id': 'preview-client',
          'dex-client-secret': 'preview-client-secret',
          'oidc-audience': 'argocd-previews',
        }),
        env: env(33, oidc.env),
      });
      assert.equal(result.failed, false, result.errors.join('\n'));
      assert.equal(oidc.issued.at(-1)!.audience, 'argocd-previews');
      assert.deepEqual(
        dex.dexExchanges.map((e) => [
          e.status,
          e.form.client_id,
          e.form.client_secret,
          e.form.connector_id,
          e.form.subject_token === oidc.issued.at(-1)!.token,
        ]),
        [[200, 'preview-client', 'preview-client-secret', 'gha-previews', true]],
      );
      assert.equal(server.dexExchanges.length, 0);
      assert.ok(server.apps.has('switchboard-pr-33'));
      server.assertNoViolations();
    } finally {
      await dex.close();
      await server.close();
    }
  });
});
