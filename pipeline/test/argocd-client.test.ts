import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import {
  ArgoCdClient,
  ArgoCdError,
  assessRollout,
  exchangeIdTokenWithDex,
  findRollbackTarget,
  isOperationInProgress,
  listUnhealthyResources,
  normalizeServerUrl,
  sameRevision,
  type Application,
} from '../src/argocd/index.js';
import { FakeActionsIdTokenEndpoint, startFakeArgoCd, type FakeArgoCd } from '../src/testing/index.js';

const OLD = '1'.repeat(40);
const NEW = '2'.repeat(40);

describe('ArgoCdClient against the fake Argo CD', () => {
  let argo: FakeArgoCd;
  let client: ArgoCdClient;
  before(async () => {
    argo = await startFakeArgoCd();
    client = new ArgoCdClient({ server: argo.url, token: 'test-token' });
  });
  afterEach(() => argo.assertNoViolations());
  after(() => argo.close());

  it('walks a sync through requested -> Running -> finished -> reconciled -> Healthy', async () => {
    argo.addApplication({ name: 'web', history: [OLD] });
    const started = await client.syncApplication('web', {
      revision: NEW,
      prune: false,
      strategy: { hook: {} },
    });
    assert.equal(started.operation?.sync?.revision, NEW);
    const seen: string[] = [];
    for (let i = 0; i < 10; i += 1) {
      const app = await client.getApplication('web');
      const assessment = assessRollout(app, NEW);
      seen.push(`${assessment.operationPhase}/${assessment.operationInProgress}/${assessment.healthStatus}`);
      if (assessment.outcome === 'succeeded') break;
      assert.equal(assessment.outcome, 'pending');
    }
    assert.deepEqual(seen, [
      'Running/true/Progressing',
      'Running/true/Progressing',
      'Succeeded/true/Progressing', // finished, not yet reconciled after it
      'Succeeded/false/Progressing',
      'Succeeded/false/Healthy',
    ]);
    const app = argo.application('web');
    assert.deepEqual(
      app.status?.history?.map((h) => [h.id, h.revision]),
      [
        [1, OLD],
        [2, NEW],
      ],
    );
  });

  it('maps Argo CD refusals to stable codes', async () => {
    argo.addApplication({ name: 'busy', history: [OLD] });
    argo.startForeignOperation('busy', Infinity);
    await assert.rejects(client.syncApplication('busy', { revision: NEW }), (e: unknown) => {
      assert.ok(e instanceof ArgoCdError);
      assert.equal(e.code, 'ARGOCD_OPERATION_IN_PROGRESS');
      assert.equal(e.details.status, 400);
      assert.equal(e.details.grpcCode, 9);
      return true;
    });
    argo.addApplication({ name: 'auto', history: [OLD], automated: true });
    await assert.rejects(client.syncApplication('auto', { revision: NEW }), {
      code: 'ARGOCD_AUTO_SYNC_CONFLICT',
    });
    await assert.rejects(client.getApplication('nope'), { code: 'ARGOCD_PERMISSION_DENIED' });
    const stranger = new ArgoCdClient({ server: argo.url, token: 'wrong' });
    await assert.rejects(stranger.getApplication('web'), { code: 'ARGOCD_UNAUTHENTICATED' });
    const nobody = new ArgoCdClient({ server: 'http://127.0.0.1:9', token: 'x', requestTimeoutMs: 2000 });
    await assert.rejects(nobody.getApplication('web'), { code: 'ARGOCD_UNREACHABLE' });
  });

  it('creates with upsert, updates, rolls back and deletes with cascade', async () => {
    const app: Application = {
      metadata: { name: 'pr-1', namespace: 'argocd' },
      spec: {
        project: 'previews',
        source: {
          repoURL: 'https://github.com/acme/switchboard.git',
          path: 'overlays/preview',
          targetRevision: NEW,
        },
        destination: { server: 'https://kubernetes.default.svc', namespace: 'pr-1' },
        syncPolicy: { syncOptions: ['CreateNamespace=true'] },
      },
    };
    await client.createApplication(app, { upsert: true });
    await client.createApplication({ ...app, spec: { ...app.spec, project: 'other' } }, { upsert: true });
    assert.equal(argo.application('pr-1').spec?.project, 'other');
    await assert.rejects(client.createApplication(app), { code: 'ARGOCD_INVALID_REQUEST' });
    await client.updateApplication(app);
    assert.equal(argo.application('pr-1').spec?.project, 'previews');

    argo.addApplication({ name: 'rb', history: [OLD, NEW] });
    await client.rollbackApplication('rb', { id: 1, prune: false });
    assert.equal(argo.application('rb').operation?.sync?.revision, OLD);
    await client.terminateOperation('rb');

    await client.deleteApplication('pr-1', { cascade: true });
    assert.deepEqual(argo.deleted.at(-1), { name: 'pr-1', cascade: true });
  });
});

describe('Dex token exchange', () => {
  it('exchanges a GitHub ID token for a bearer token Argo CD accepts', async () => {
    const oidc = await new FakeActionsIdTokenEndpoint().start();
    const argo = await startFakeArgoCd({
      tokens: [],
      dex: { connectorId: 'github-actions', clientId: 'argo-cd-cli', acceptSubjectToken: oidc.isIssued },
    });
    try {
      const idToken = await (
        await fetch(`${oidc.env.ACTIONS_ID_TOKEN_REQUEST_URL}&audience=argocd`, {
          headers: { authorization: `Bearer ${oidc.requestToken}` },
        }).then((r) => r.json() as Promise<{ value: string }>)
      ).value;
      const dex = await exchangeIdTokenWithDex({
        server: argo.url,
        idToken,
        connectorId: 'github-actions',
        clientId: 'argo-cd-cli',
      });
      assert.match(dex.token, /^dex-issued-/);
      assert.equal(dex.issuedTokenType, 'urn:ietf:params:oauth:token-type:id_token');
      const form = argo.dexExchanges[0]!.form;
      assert.equal(form.grant_type, 'urn:ietf:params:oauth:grant-type:token-exchange');
      assert.equal(form.subject_token_type, 'urn:ietf:params:oauth:token-type:id_token');
      assert.equal(form.connector_id, 'github-actions');
      argo.addApplication({ name: 'web', history: [OLD] });
      await new ArgoCdClient({ server: argo.url, token: dex.token }).getApplication('web');
      await assert.rejects(
        exchangeIdTokenWithDex({ server: argo.url, idToken, connectorId: 'gitlab', clientId: 'argo-cd-cli' }),
        (e: unknown) =>
          e instanceof ArgoCdError &&
          e.code === 'DEX_EXCHANGE_FAILED' &&
          /connector does not exist/.test(e.message),
      );
      await assert.rejects(
        exchangeIdTokenWithDex({
          server: argo.url,
          idToken: 'forged',
          connectorId: 'github-actions',
          clientId: 'argo-cd-cli',
        }),
        /access_denied/,
      );
      argo.assertNoViolations();
    } finally {
      await argo.close();
      await oidc.close();
    }
  });
});

describe('rollout checks (argocd app wait semantics)', () => {
  const finished = (extra: Application['status']): Application => ({
    status: {
      sync: { status: 'Synced', revision: NEW },
      health: { status: 'Healthy' },
      operationState: {
        phase: 'Succeeded',
        startedAt: '2025-01-01T00:00:01Z',
        finishedAt: '2025-01-01T00:00:05Z',
      },
      reconciledAt: '2025-01-01T00:00:06Z',
      ...extra,
    },
  });

  it('treats an operation as in progress until reconciledAt is not before finishedAt', () => {
    assert.equal(isOperationInProgress({ operation: { sync: {} } }), true);
    assert.equal(isOperationInProgress(finished({ reconciledAt: '2025-01-01T00:00:04Z' })), true);
    assert.equal(isOperationInProgress(finished({ reconciledAt: undefined })), true);
    assert.equal(isOperationInProgress(finished({ reconciledAt: '2025-01-01T00:00:05Z' })), false);
    assert.equal(assessRollout(finished({}), NEW).outcome, 'succeeded');
  });

  it('requires the exact revision, Synced, Healthy and phase Succeeded', () => {
    assert.deepEqual(assessRollout(finished({}), OLD).waitingFor, [`revision ${OLD} (is ${NEW})`]);
    assert.equal(assessRollout(finished({ health: { status: 'Degraded' } }), NEW).outcome, 'degraded');
    const failed = finished({});
    failed.status!.operationState!.phase = 'Failed';
    assert.equal(assessRollout(failed, NEW).outcome, 'failed');
    assert.equal(sameRevision(NEW, NEW.slice(0, 7)), true);
    assert.equal(sameRevision('main', 'Main'), true);
  });

  it('picks the newest history entry of another revision to roll back to', () => {
    const history = [
      { id: 1, revision: 'a' },
      { id: 2, revision: 'b' },
      { id: 3, revision: 'c' },
    ];
    assert.equal(findRollbackTarget(history, 'c')?.id, 2);
    assert.equal(findRollbackTarget(history, 'd')?.id, 3);
    assert.equal(findRollbackTarget([{ id: 1, revision: 'c' }], 'c'), undefined);
  });

  it('lists unhealthy managed resources first, then children with their messages', () => {
    const app: Application = {
      status: {
        resources: [
          { kind: 'Service', name: 'api', health: { status: 'Healthy' } },
          {
            group: 'apps',
            kind: 'Deployment',
            namespace: 'web',
            name: 'api',
            health: { status: 'Degraded' },
          },
          { kind: 'ConfigMap', name: 'cfg' },
        ],
      },
    };
    const tree = {
      nodes: [
        {
          kind: 'Pod',
          namespace: 'web',
          name: 'api-1',
          parentRefs: [{ kind: 'ReplicaSet' }],
          health: { status: 'Degraded', message: 'Back-off' },
        },
        {
          group: 'apps',
          kind: 'Deployment',
          namespace: 'web',
          name: 'api',
          health: { status: 'Degraded', message: 'deadline exceeded' },
        },
      ],
    };
    assert.deepEqual(
      listUnhealthyResources(app, tree).map((r) => [r.kind, r.message, r.origin]),
      [
        ['Deployment', 'deadline exceeded', 'managed'],
        ['Pod', 'Back-off', 'child'],
      ],
    );
  });

  it('normalizes server URLs and names the input on bad ones', () => {
    assert.equal(normalizeServerUrl('argocd.example.com/'), 'https://argocd.example.com');
    assert.equal(normalizeServerUrl('http://127.0.0.1:8080'), 'http://127.0.0.1:8080');
    assert.throws(() => normalizeServerUrl(''), /server is empty/);
    assert.throws(() => normalizeServerUrl('ftp://x'), /http\(s\)/);
  });
});
