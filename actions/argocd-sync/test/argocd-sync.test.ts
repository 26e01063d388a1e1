import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import {
  FakeActionsIdTokenEndpoint,
  parseSummaryTables,
  runAction,
  startFakeArgoCd,
  summaryTableToRecord,
  type ActionInputs,
  type FakeArgoCd,
} from '../../../pipeline/src/testing/index.js';
import { run } from '../src/main.js';

const OLD = 'a1'.repeat(20);
const NEW = 'b2'.repeat(20);

describe('argocd-sync action', () => {
  let argo: FakeArgoCd;
  let oidc: FakeActionsIdTokenEndpoint;
  let n = 0;
  /** A fresh app per test, deployed at OLD. */
  const newApp = (seed: { automated?: boolean; history?: string[] } = {}) => {
    const name = `web-${++n}`;
    argo.addApplication({ name, history: seed.history ?? [OLD], automated: seed.automated });
    return name;
  };
  const inputs = (application: string, extra: ActionInputs = {}): ActionInputs => ({
    server: argo.url,
    token: 'test-token',
    application,
    revision: NEW,
    'timeout-seconds': 30,
    'poll-interval-seconds': 0.01,
    ...extra,
  });

  before(async () => {
    oidc = await new FakeActionsIdTokenEndpoint().start();
    argo = await startFakeArgoCd({
      dex: { connectorId: 'github-actions', clientId: 'argo-cd-cli', acceptSubjectToken: oidc.isIssued },
      refs: { 'v1.2.0': NEW },
    });
  });
  afterEach(() => argo.assertNoViolations());
  after(async () => {
    await argo.close();
    await oidc.close();
  });

  it('syncs to the exact revision and succeeds once Synced, Healthy, Succeeded and reconciled', async () => {
    const app = newApp();
    const result = await runAction(run, { inputs: inputs(app, { prune: true }) });
    assert.equal(result.failed, false, result.errors.join('\n'));
    assert.deepEqual(result.outputs, {
      'sync-status': 'Synced',
      'health-status': 'Healthy',
      revision: NEW,
      'rolled-back': 'false',
    });
    const sync = argo.calls('ApplicationService_Sync');
    assert.equal(sync.length, 1);
    assert.deepEqual(sync[0]!.requestBody, { name: app, revision: NEW, prune: true, strategy: { hook: {} } });
    const state = argo.application(app).status!;
    assert.ok(Date.parse(state.reconciledAt!) >= Date.parse(state.operationState!.finishedAt!));
    const summary = summaryTableToRecord(parseSummaryTables(result.summary)[0]!);
    assert.equal(summary.Result, 'Succeeded');
    assert.equal(summary['Live revision'], NEW);
  });

  it('accepts a tag, waiting for the commit Argo CD resolved it to', async () => {
    const app = newApp();
    const result = await runAction(run, { inputs: inputs(app, { revision: 'v1.2.0' }) });
    assert.equal(result.failed, false, result.errors.join('\n'));
    assert.equal(
      (argo.calls('ApplicationService_Sync').at(-1)!.requestBody as { revision: string }).revision,
      'v1.2.0',
    );
    assert.equal(result.outputs.revision, NEW);
  });

  it('does not report success before the controller reconciled after the operation', async () => {
    const app = newApp();
    // Synced + Healthy + Succeeded are all visible, but reconciledAt never passes finishedAt.
    argo.script(app, { healthDuringOperation: 'Healthy', neverReconcile: true });
    // Generous timeout: the fake reaches "finished, not reconciled" after a few polls and stays there.
    const result = await runAction(run, { inputs: inputs(app, { 'timeout-seconds': 2 }) });
    assert.equal(result.failed, true);
    assert.match(result.errors[0]!, /Timed out after/);
    assert.match(result.errors[0]!, /reconcile the app after the operation finished/);
    assert.equal(result.outputs['health-status'], 'Healthy');
  });

  it('fails on Degraded health, listing unhealthy resources with their messages', async () => {
    const app = newApp();
    argo.script(app, {
      health: 'Degraded',
      resources: [
        {
          group: 'apps',
          kind: 'Deployment',
          name: 'switchboard',
          namespace: app,
          health: 'Degraded',
          message: 'Deployment "switchboard" exceeded its progress deadline',
          children: [
            {
              kind: 'Pod',
              name: 'switchboard-7d9f-x2x',
              health: 'Degraded',
              message: 'Back-off restarting failed container server',
            },
          ],
        },
        { kind: 'Service', name: 'switchboard', namespace: app, health: 'Healthy' },
      ],
    });
    const result = await runAction(run, { inputs: inputs(app) });
    assert.equal(result.failed, true);
    const message = result.errors[0]!;
    assert.match(message, /is Degraded after syncing to/);
    assert.match(
      message,
      /Deployment .*\/switchboard: Degraded - Deployment "switchboard" exceeded its progress deadline/,
    );
    assert.match(
      message,
      /Pod .*\/switchboard-7d9f-x2x: Degraded - Back-off restarting failed container server/,
    );
    assert.doesNotMatch(message, /Service/);
    assert.equal(result.outputs['health-status'], 'Degraded');
    assert.equal(result.outputs['rolled-back'], 'false');
    const tables = parseSummaryTables(result.summary);
    assert.deepEqual(
      tables[1]!.map((row) => row[0]),
      ['Kind', 'Deployment', 'Pod'],
    );
  });

  it('times out cleanly, reporting the current state', async () => {
    const app = newApp();
    argo.script(app, { health: 'Progressing' });
    const result = await runAction(run, { inputs: inputs(app, { 'timeout-seconds': 2 }) });
    assert.equal(result.failed, true);
    assert.match(result.errors[0]!, /Timed out after 2s waiting for web-\d+ to be Synced at b2b2/);
    assert.match(result.errors[0]!, /Current state: sync Synced at b2b2b2b2b2b2, health Progressing/);
    assert.equal(result.outputs['health-status'], 'Progressing');
    assert.match(result.summary, /Still waiting for/);
  });

  it('waits while another operation is in progress, then syncs', async () => {
    const app = newApp();
    argo.startForeignOperation(app, 3);
    const result = await runAction(run, { inputs: inputs(app) });
    assert.equal(result.failed, false, result.errors.join('\n'));
    const refused = argo
      .calls('ApplicationService_Sync')
      .filter((c) => c.status === 400 && c.url.includes(app));
    assert.ok(refused.length >= 1);
    assert.match(JSON.stringify(refused[0]!.responseBody), /another operation is already in progress/);
    assert.equal(result.outputs.revision, NEW);
    assert.match(result.summary, /Retries while another operation ran/);
  });

  it('fails with a clear message when the other operation never finishes', async () => {
    const app = newApp();
    argo.startForeignOperation(app, Infinity);
    const result = await runAction(run, { inputs: inputs(app, { 'timeout-seconds': 0.3 }) });
    assert.equal(result.failed, true);
    assert.match(
      result.errors[0]!,
      /Another operation on web-\d+ \(started by automated sync.*was still in progress/,
    );
    assert.match(result.errors[0]!, /argocd app terminate-op web-\d+/);
  });

  it('rolls back to the previous history entry when the sync degrades', async () => {
    const app = newApp({ history: ['c3'.repeat(20), OLD] });
    argo.script(app, { health: 'Degraded' }, { health: 'Healthy' });
    const result = await runAction(run, { inputs: inputs(app, { 'rollback-on-failure': true }) });
    assert.equal(result.failed, true, 'the deploy failed even though the rollback worked');
    assert.deepEqual(result.outputs, {
      'sync-status': 'Synced',
      'health-status': 'Healthy',
      revision: OLD,
      'rolled-back': 'true',
    });
    const rollback = argo.calls('ApplicationService_Rollback');
    assert.deepEqual(rollback[0]!.requestBody, { name: app, id: 2, prune: false });
    assert.match(result.errors[0]!, /Rolled back to history #2/);
  });

  it('terminates a sync that timed out before rolling back', async () => {
    const app = newApp();
    argo.script(app, { runningPolls: Infinity }, {});
    const result = await runAction(run, {
      inputs: inputs(app, { 'rollback-on-failure': true, 'timeout-seconds': 2 }),
    });
    assert.equal(result.failed, true);
    assert.equal(argo.calls('ApplicationService_TerminateOperation').length >= 1, true);
    assert.equal(result.outputs['rolled-back'], 'true');
    assert.equal(result.outputs.revision, OLD);
  });

  it('explains the auto-sync conflict instead of sending a sync Argo CD would refuse', async () => {
    const app = newApp({ automated: true });
    const before = argo.calls('ApplicationService_Sync').length;
    const result = await runAction(run, { inputs: inputs(app) });
    assert.equal(result.failed, true);
    assert.match(result.errors[0]!, /has automated sync enabled and tracks "main"/);
    assert.match(result.errors[0]!, /disable auto-sync/);
    assert.equal(argo.calls('ApplicationService_Sync').length, before);
  });

  it('authenticates with GitHub OIDC exchanged at Dex', async () => {
    const app = newApp();
    const result = await runAction(run, {
      inputs: inputs(app, {
        token: '',
        oidc: true,
        'dex-connector-id': 'github-actions',
        'oidc-audience': 'argocd',
      }),
      env: oidc.env,
    });
    assert.equal(result.failed, false, result.errors.join('\n'));
    assert.equal(oidc.issued.at(-1)!.audience, 'argocd');
    const exchange = argo.dexExchanges.at(-1)!;
    assert.equal(exchange.form.subject_token, oidc.issued.at(-1)!.token);
    assert.equal(exchange.form.connector_id, 'github-actions');
    assert.equal(exchange.status, 200);
  });

  it('explains a missing id-token permission when oidc is on', async () => {
    const result = await runAction(run, {
      inputs: inputs(newApp(), { token: '', oidc: true, 'dex-connector-id': 'github-actions' }),
      env: { ACTIONS_ID_TOKEN_REQUEST_URL: undefined, ACTIONS_ID_TOKEN_REQUEST_TOKEN: undefined },
    });
    assert.equal(result.failed, true);
    assert.match(result.errors[0]!, /permissions: id-token: write/);
  });

  it('OIDC: dex-url, dex-client-id and dex-client-secret reach the Dex they name', async () => {
    // A Dex of its own (another fake's /api/dex) with a non-default client; the Argo CD server has none,
    // so an exchange sent to `<server>/api/dex` instead of dex-url gets a 404.
    const dex = await startFakeArgoCd({
      dex: { connectorId: 'github-actions', clientId: 'ci-client', acceptSubjectToken: oidc.isIssued },
    });
    const server = await startFakeArgoCd({ tokens: ['dex-issued-1'] });
    try {
      server.addApplication({ name: 'dex-app', history: [OLD] });
      const result = await runAction(run, {
        inputs: inputs('dex-app', {
          server: server.url,
          token: '',
          oidc: true,
          'dex-connector-id': 'github-actions',
          'dex-url': `${dex.url}/api/dex`,
          'dex-client-id': 'ci-client',
          'dex-client-secret': 'ci-client-secret',
        }),
        env: oidc.env,
      });
      assert.equal(result.failed, false, result.errors.join('\n'));
      assert.deepEqual(
        dex.dexExchanges.map((e) => [e.status, e.form.client_id, e.form.client_secret]),
        [[200, 'ci-client', 'ci-client-secret']],
      );
      assert.equal(server.dexExchanges.length, 0);
      server.assertNoViolations();
    } finally {
      await dex.close();
      await server.close();
    }
  });

  it("app-namespace: finds an Application outside Argo CD's own namespace", async () => {
    const name = `web-${++n}`;
    argo.addApplication({ name, namespace: 'team-a', history: [OLD] });
    const result = await runAction(run, { inputs: inputs(name, { 'app-namespace': 'team-a' }) });
    assert.equal(result.failed, false, result.errors.join('\n'));
    assert.equal(result.outputs.revision, NEW);
    const sync = argo.calls('ApplicationService_Sync').at(-1)!;
    assert.equal((sync.requestBody as { appNamespace?: string }).appNamespace, 'team-a');
    // Without it Argo CD looks in its own namespace and answers "permission denied".
    const other = `web-${++n}`;
    argo.addApplication({ name: other, namespace: 'team-a', history: [OLD] });
    const missed = await runAction(run, { inputs: inputs(other) });
    assert.equal(missed.failed, true);
    assert.match(missed.errors[0]!, /permission denied/);
  });

  for (const phase of ['Failed', 'Error'] as const) {
    it(`fails when the sync operation ends ${phase}, with Argo CD's message, and says it did not roll back`, async () => {
      const app = newApp();
      argo.script(app, { phase, message: `one or more objects failed to apply (${phase})` });
      const result = await runAction(run, { inputs: inputs(app, { 'timeout-seconds': 5 }) });
      assert.equal(result.failed, true);
      assert.match(
        result.errors[0]!,
        new RegExp(`${phase}.*one or more objects failed to apply \\(${phase}\\)`, 's'),
      );
      assert.equal(result.outputs['rolled-back'], 'false');
      assert.equal(argo.calls('ApplicationService_Rollback').filter((c) => c.url.includes(app)).length, 0);
    });
  }

  it('rejects bad inputs before calling Argo CD, naming the input', async () => {
    const calls = argo.exchanges.length;
    const cases: [ActionInputs, RegExp][] = [
      [{ ...inputs('x'), revision: '' }, /revision is required/],
      [{ ...inputs('x'), 'timeout-seconds': 'soon' }, /timeout-seconds: "soon" is not a positive number/],
      [{ ...inputs('x'), oidc: true }, /token and oidc: true are both set/],
      [{ ...inputs('x'), token: '' }, /token: no Argo CD credentials/],
      [{ ...inputs('x'), prune: 'maybe' }, /prune: "maybe" is not a boolean/],
    ];
    for (const [bad, pattern] of cases) {
      const result = await runAction(run, { inputs: bad });
      assert.equal(result.failed, true);
      assert.match(result.errors[0]!, pattern);
    }
    assert.equal(argo.exchanges.length, calls);
  });

  it('reports a rejected token as an authentication problem', async () => {
    const result = await runAction(run, { inputs: inputs(newApp(), { token: 'expired' }) });
    assert.equal(result.failed, true);
    assert.match(result.errors[0]!, /answered 401.*token was rejected/s);
  });
});
