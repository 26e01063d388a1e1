// deploy.yml's production auto-rollback (issue 20 §2), played step by step from the workflow file: the
// production job's ./actions steps run in process with the `with:` and `if:` the workflow gives them
// (interpolated and evaluated like the runner), against a real git remote (render-manifests) and the
// spec-validating fake Argo CD (argocd-sync). The rehearsal does not reach this path: its production
// job always syncs cleanly, and `--fault-in production` faults the neighbour's load, not the sync.
//
// Production runs render A. This run renders B and its sync fails (operation Failed): the restore step
// must bring back exactly A's render as a new commit on the deploy branch, and the second sync must
// deploy that commit.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { run as renderManifests } from '../../actions/render-manifests/src/main.js';
import { run as argocdSync } from '../../actions/argocd-sync/src/main.js';
import { runAction, startFakeArgoCd } from '../../pipeline/src/testing/index.js';
import { createGitFixture, git } from '../../actions/render-manifests/test/fixture.js';
import { condition, interpolate, readWorkflow } from '../lib/rehearse/workflow.js';
import { callInputs } from '../lib/rehearse/workflow-call.js';
import { repoRoot } from './validate-fixtures.js';

const digestA = `sha256:${'a'.repeat(64)}`;
const digestB = `sha256:${'b'.repeat(64)}`;
const actions = new Map([
  ['./actions/render-manifests', renderManifests],
  ['./actions/argocd-sync', argocdSync],
]);

describe("deploy.yml's production job, played from the workflow file", () => {
  it('a failed production sync restores the previous render on the deploy branch and syncs it', async () => {
    const workflow = readWorkflow(join(repoRoot, '.github/workflows/deploy.yml'));
    const production = workflow.jobs.find((j) => j.id === 'production')!;
    // deploy.yml's job deploy calls reusable-deploy.yml: its inputs as the runner gives them.
    const callInputsOf = (vars: Record<string, string>) =>
      callInputs(production.call!, { vars, secrets: {} });
    const manifestImage = String(callInputsOf({})['manifest-image']);
    const fixture = createGitFixture();
    const env = {
      GITHUB_WORKSPACE: fixture.checkout,
      GITHUB_SHA: fixture.sha,
      GITHUB_SERVER_URL: 'https://github.com',
      GITHUB_REPOSITORY: 'acme/switchboard',
      GITHUB_RUN_ID: '91',
    };
    const deployBranch = String(callInputsOf({})['deploy-branch']);
    const renderedDeployment = () =>
      git(fixture.remote, 'show', `${deployBranch}:rendered/production/deployment-switchboard.yaml`);

    // What production runs before this run: render A, published by an earlier run.
    const earlier = await runAction(renderManifests, {
      inputs: { environment: 'production', image: manifestImage, digest: digestA },
      env,
    });
    assert.equal(earlier.failed, false, earlier.errors.join('\n'));
    const renderA = renderedDeployment();

    // Argo CD resolves the deploy branch to its head when a sync starts.
    const refs: Record<string, string> = {};
    const argo = await startFakeArgoCd({ refs });
    try {
      argo.addApplication({ name: 'switchboard-production', history: [earlier.outputs.commit!] });
      argo.script('switchboard-production', {
        phase: 'Failed',
        message: 'one or more objects failed to apply',
      });
      const vars = { ARGOCD_SERVER: argo.url, IMAGE: manifestImage };
      const contexts = {
        env: production.call!.env,
        vars,
        inputs: callInputsOf(vars),
        secrets: { ARGOCD_TOKEN: 'test-token' },
        github: { token: '' },
        needs: { build: { outputs: { digest: digestB } } },
        steps: { order: { outputs: { deploy: 'true' } } } as Record<
          string,
          { outputs: Record<string, string> }
        >,
      };
      const status = { success: true, failure: false };
      const ran: string[] = [];
      for (const step of production.steps) {
        const action = step.uses ? actions.get(step.uses) : undefined;
        if (!action || !condition(step.if, contexts, status)) continue;
        const inputs: Record<string, string> = Object.fromEntries(
          Object.entries(step.with).map(([k, v]) => [k, interpolate(v, contexts, status)]),
        );
        // Only the test's pace: the fake Argo CD moves one step per request, not per second.
        if (step.uses === './actions/argocd-sync') inputs['poll-interval-seconds'] = '0.05';
        refs[deployBranch] = git(fixture.remote, 'rev-parse', deployBranch);
        const result = await runAction(action, { inputs, env });
        ran.push(`${step.name ?? step.uses}: ${result.failed ? 'failed' : 'ok'}`);
        if (step.id) contexts.steps[step.id] = { outputs: result.outputs };
        if (result.failed) Object.assign(status, { success: false, failure: true });
      }
      assert.deepEqual(ran, [
        './actions/render-manifests: ok',
        './actions/argocd-sync: failed',
        'Restore the previous production render: ok',
        'Sync the restored production render: ok',
      ]);
      // This run's render B was published, then replaced by a commit holding A's render again.
      const render = contexts.steps.render!.outputs;
      assert.equal(render['previous-commit'], earlier.outputs.commit);
      assert.match(renderA, new RegExp(`@${digestA}`));
      assert.equal(renderedDeployment(), renderA, 'the deploy branch holds render A again');
      const head = git(fixture.remote, 'rev-parse', deployBranch);
      assert.notEqual(head, render.commit);
      assert.equal(git(fixture.remote, 'rev-parse', `${head}~1`), render.commit, 'restored as a new commit');
      // The second sync deployed the restore commit.
      const syncs = argo.calls('ApplicationService_Sync');
      assert.equal(syncs.length, 2);
      assert.equal(argo.application('switchboard-production').status?.sync?.revision, head);
      argo.assertNoViolations();
    } finally {
      await argo.close();
    }
  });
});
