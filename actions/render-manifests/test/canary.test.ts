// render-manifests' canary mode through the action (real kustomize, a bare remote): production is
// rendered with digest A, then the canary of digest B is published beside it -- the stable Deployment
// as it was, the canary and the move Job with the inputs' share -- and a restore of the previous commit
// takes the canary out again. The inputs are refused with the input's name.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { runAction, type ActionInputs } from '../../../pipeline/src/testing/index.js';
import { run } from '../src/main.js';
import { createGitFixture, git, type GitFixture } from './fixture.js';

const digestA = `sha256:${'a'.repeat(64)}`;
const digestB = `sha256:${'b'.repeat(64)}`;
const image = 'ghcr.io/switchboard/server';

function render(fixture: GitFixture, inputs: ActionInputs) {
  return runAction(run, {
    inputs: { environment: 'production', ...inputs },
    env: { GITHUB_WORKSPACE: fixture.checkout, GITHUB_SHA: fixture.sha },
  });
}

interface Workload {
  spec: {
    replicas?: number;
    selector?: { matchLabels: Record<string, string> };
    template: { spec: { containers: { image: string; env?: { name: string; value?: string }[] }[] } };
  };
}
const read = (f: GitFixture, file: string) =>
  parse(git(f.remote, 'show', `deploy:rendered/production/${file}`)) as Workload;
const files = (f: GitFixture) => git(f.remote, 'ls-tree', '--name-only', 'deploy', 'rendered/production/');

describe('render-manifests canary-percent', () => {
  const fixture = createGitFixture();
  let stableCommit = '';

  it('publishes the running render plus the canary of the new digest, the stable Deployment untouched', async () => {
    const stable = await render(fixture, { image, digest: digestA });
    assert.equal(stable.failed, false, stable.errors.join('\n'));
    stableCommit = stable.outputs.commit!;
    const canary = await render(fixture, {
      image,
      digest: digestB,
      'canary-percent': '20',
      'canary-window-ms': '4000',
    });
    assert.equal(canary.failed, false, canary.errors.join('\n'));
    assert.equal(canary.outputs['previous-commit'], stableCommit);
    assert.equal(
      read(fixture, 'deployment-switchboard.yaml').spec.template.spec.containers[0]!.image,
      `${image}@${digestA}`,
    );
    const deployment = read(fixture, 'deployment-switchboard-canary.yaml');
    assert.equal(deployment.spec.template.spec.containers[0]!.image, `${image}@${digestB}`);
    assert.equal(deployment.spec.replicas, 1);
    assert.equal(deployment.spec.selector!.matchLabels.track, 'canary');
    const env = read(fixture, 'job-switchboard-canary-move.yaml').spec.template.spec.containers[0]!.env!;
    assert.deepEqual(
      env.filter((e) => e.name.startsWith('MOVE_')).map((e) => `${e.name}=${e.value}`),
      ['MOVE_PERCENT=20', 'MOVE_WINDOW_MS=4000'],
    );
    const changes = JSON.parse(canary.outputs.changes!) as {
      added: string[];
      changed: string[];
      removed: string[];
    };
    assert.deepEqual(changes.changed, []);
    assert.deepEqual(changes.removed, []);
    assert.ok(
      changes.added.includes('Deployment/switchboard-production/switchboard-canary'),
      changes.added.join(),
    );
    assert.match(
      git(fixture.remote, 'log', '-1', '--format=%s', 'deploy'),
      /^canary\(production, 20 % moved\)/,
    );
  });

  it('a restore of the previous commit takes the canary out', async () => {
    const restored = await render(fixture, { 'restore-revision': stableCommit });
    assert.equal(restored.failed, false, restored.errors.join('\n'));
    assert.doesNotMatch(files(fixture), /canary/);
  });

  it('refuses a bad share or window, and a canary with a restore, naming the input', async () => {
    for (const [inputs, message] of [
      [{ 'canary-percent': '150' }, /canary-percent: 150 must be a whole number from 1 to 100/],
      [{ 'canary-percent': '10%' }, /canary-percent: "10%" is not a whole number/],
      [{ 'canary-percent': '10', 'canary-window-ms': '-1' }, /canary-window-ms: "-1" is not a whole number/],
      [{ 'canary-percent': '10', 'canary-window-ms': '700000' }, /canary-window-ms: 700000 must be/],
      [
        { 'canary-percent': '10', 'restore-revision': stableCommit },
        /canary-percent and restore-revision are both set/,
      ],
    ] as const) {
      const result = await render(fixture, { image, digest: digestB, ...inputs });
      assert.equal(result.failed, true);
      assert.match(result.errors.join('\n'), message);
    }
  });
});
