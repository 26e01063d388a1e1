import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import {
  parseSummaryTables,
  runAction,
  summaryTableToRecord,
  type ActionInputs,
} from '../../../pipeline/src/testing/index.js';
import { publishToDeployBranch } from '../src/deploy-branch.js';
import { tokenAuthEnv } from '../../../pipeline/src/git/index.js';
import { run } from '../src/main.js';
import { createGitFixture, freshCheckout, git, secondClone, type GitFixture } from './fixture.js';

const digestA = `sha256:${'a'.repeat(64)}`;
const digestB = `sha256:${'b'.repeat(64)}`;
const image = 'ghcr.io/switchboard/server';

function render(fixture: GitFixture, inputs: ActionInputs) {
  return runAction(run, {
    inputs: { environment: 'staging', image, ...inputs },
    env: {
      GITHUB_WORKSPACE: fixture.checkout,
      GITHUB_SHA: fixture.sha,
      GITHUB_SERVER_URL: 'https://github.com',
      GITHUB_REPOSITORY: 'acme/switchboard',
      GITHUB_RUN_ID: '77',
    },
  });
}

/** The file at `path` on origin's deploy branch. */
const onDeploy = (f: GitFixture, path: string) => git(f.remote, 'show', `deploy:${path}`);
const deployFiles = (f: GitFixture, dir: string) =>
  git(f.remote, 'ls-tree', '--name-only', 'deploy', `${dir}/`)
    .split('\n')
    .map((p) => p.slice(dir.length + 1));

describe('render-manifests against a real kustomize and a bare git remote', () => {
  const fixture = createGitFixture();
  let first: string;
  let second: string;

  it('creates the deploy branch with one validated file per object, the digest pinned', async () => {
    const result = await render(fixture, { digest: digestA });
    assert.equal(result.failed, false, result.errors.join('\n'));
    assert.equal(result.outputs['previous-commit'], '');
    assert.equal(result.outputs.changed, 'true');
    assert.equal(result.outputs.path, 'rendered/staging');
    assert.equal(result.outputs.image, `${image}@${digestA}`);
    first = result.outputs.commit!;
    assert.equal(git(fixture.remote, 'rev-parse', 'deploy'), first, 'pushed to origin');
    const files = deployFiles(fixture, 'rendered/staging');
    assert.ok(
      files.includes('deployment-switchboard.yaml') && files.includes('namespace-switchboard-staging.yaml'),
      files.join(),
    );
    const deployment = parse(onDeploy(fixture, 'rendered/staging/deployment-switchboard.yaml')) as {
      spec: { template: { spec: { containers: { name: string; image: string }[] } } };
    };
    assert.equal(deployment.spec.template.spec.containers[0]!.image, `${image}@${digestA}`);
    const changes = JSON.parse(result.outputs.changes!) as {
      added: string[];
      changed: string[];
      removed: string[];
    };
    assert.equal(changes.added.length, files.length);
    assert.equal(
      git(fixture.remote, 'log', '-1', '--format=%an <%ae>', 'deploy'),
      'github-actions[bot] <41898282+github-actions[bot]@users.noreply.github.com>',
    );
    const message = git(fixture.remote, 'log', '-1', '--format=%B', 'deploy');
    assert.match(
      message,
      new RegExp(
        `^render\\(staging\\): ${image}@sha256:a{12}\\n\\nRendered overlays/staging at ${fixture.sha} with ${image}@${digestA}\\.\\n0 changed, ${files.length} added, 0 removed \\(0 unchanged\\)\\.`,
      ),
    );
    assert.match(
      message,
      /Source-Commit: [0-9a-f]{40}\nWorkflow-Run: https:\/\/github.com\/acme\/switchboard\/actions\/runs\/77/,
    );
    const overview = summaryTableToRecord(parseSummaryTables(result.summary)[0]!);
    assert.match(overview.Validation ?? '', new RegExp(`^${files.length} objects, no problems$`));
    // The checkout's overlay is untouched: pinning happens in a scratch copy.
    assert.equal(git(fixture.checkout, 'status', '--porcelain'), '');
  });

  it('commits nothing when the render is unchanged', async () => {
    const result = await render(fixture, { digest: digestA });
    assert.equal(result.failed, false, result.errors.join('\n'));
    assert.equal(result.outputs.changed, 'false');
    assert.equal(result.outputs.commit, first);
    assert.equal(result.outputs['previous-commit'], first);
    assert.match(summaryTableToRecord(parseSummaryTables(result.summary)[0]!).Commit ?? '', /unchanged/);
  });

  it('a new digest changes exactly the objects that use the image, with a per-object table and a unified diff', async () => {
    const result = await render(fixture, { digest: digestB });
    assert.equal(result.failed, false, result.errors.join('\n'));
    second = result.outputs.commit!;
    assert.equal(result.outputs['previous-commit'], first);
    assert.equal(git(fixture.remote, 'rev-parse', 'deploy^'), first);
    const changes = JSON.parse(result.outputs.changes!) as {
      added: string[];
      changed: string[];
      removed: string[];
    };
    assert.deepEqual(changes.changed, [
      'Deployment/switchboard-staging/switchboard',
      'Job/switchboard-staging/switchboard-migrate',
    ]);
    assert.deepEqual([changes.added, changes.removed], [[], []]);
    const byObject = parseSummaryTables(result.summary).find((t) => t[0]?.[0] === 'Change')!;
    assert.deepEqual(byObject[1], [
      'changed',
      'Deployment/switchboard-staging/switchboard',
      'spec.template.spec',
    ]);
    assert.match(result.summary, /<details><summary>Unified diff \(\d+ lines\)<\/summary>/);
    assert.match(
      result.summary,
      new RegExp(`-\\s+image: ${image}@${digestA}\\n\\+\\s+image: ${image}@${digestB}`),
    );
    assert.match(result.summary, /diff --git a\/rendered\/staging\/deployment-switchboard.yaml/);
  });

  it('renders production next to staging on the same branch without touching staging', async () => {
    const result = await render(fixture, { environment: 'production', digest: digestB });
    assert.equal(result.failed, false, result.errors.join('\n'));
    assert.equal(result.outputs.path, 'rendered/production');
    assert.deepEqual(
      git(fixture.remote, 'diff', '--name-only', second, 'deploy')
        .split('\n')
        .every((p) => p.startsWith('rendered/production/')),
      true,
    );
  });

  it('restore-revision brings an earlier render back as a new commit (the rollback path)', async () => {
    const result = await render(fixture, { 'restore-revision': first, image: '' });
    assert.equal(result.failed, false, result.errors.join('\n'));
    assert.equal(result.outputs.changed, 'true');
    const changes = JSON.parse(result.outputs.changes!) as { changed: string[] };
    assert.equal(changes.changed.length, 2);
    assert.equal(
      git(fixture.remote, 'diff', first, 'deploy', '--', 'rendered/staging'),
      '',
      'staging is as it was',
    );
    assert.ok(deployFiles(fixture, 'rendered/production').length > 0, 'production stays');
    assert.match(
      git(fixture.remote, 'log', '-1', '--format=%s', 'deploy'),
      new RegExp(`^rollback\\(staging\\): restore rendered/staging from ${first.slice(0, 12)}$`),
    );
    assert.equal(parseSummaryTables(result.summary)[0]?.[0]?.[0], 'Field');
    assert.match(result.summary, /Restored staging/);
  });

  it('a rollback job in a fresh shallow checkout fetches the earlier render by SHA and restores it', async () => {
    const fresh = { ...fixture, checkout: freshCheckout(fixture) };
    const result = await render(fresh, { 'restore-revision': second, image: '' });
    assert.equal(result.failed, false, result.errors.join('\n'));
    assert.equal(git(fixture.remote, 'diff', second, 'deploy', '--', 'rendered/staging'), '');
  });

  it('push: false renders and diffs against the deploy branch but commits nothing (pull requests)', async () => {
    const tip = git(fixture.remote, 'rev-parse', 'deploy');
    const result = await render(fixture, { digest: `sha256:${'c'.repeat(64)}`, push: false });
    assert.equal(result.failed, false, result.errors.join('\n'));
    assert.equal(result.outputs.changed, 'true');
    assert.equal(result.outputs.commit, '');
    assert.equal(git(fixture.remote, 'rev-parse', 'deploy'), tip);
    assert.match(result.summary, /Rendered staging \(dry run\)/);
  });

  it('starts over from the new tip when another job pushed the deploy branch meanwhile', async () => {
    const other = secondClone(fixture, 'deploy');
    let raced = false;
    const result = await publishToDeployBranch({
      repoDir: fixture.checkout,
      remote: 'origin',
      branch: 'deploy',
      path: 'rendered/dev',
      content: {
        files: new Map([['configmap-x.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n']]),
      },
      identity: { name: 'Test', email: 'test@example.com' },
      push: true,
      message: () => {
        if (!raced) {
          // Called after the fetch and before the push: another job lands a commit in between.
          raced = true;
          writeFileSync(join(other, 'NOTE.md'), 'another job\n');
          git(other, 'add', 'NOTE.md');
          git(other, 'commit', '-q', '-m', 'another job');
          git(other, 'push', '-q', 'origin', 'HEAD:deploy');
        }
        return 'render(dev): test';
      },
    });
    assert.equal(result.attempts, 2);
    assert.equal(result.pushed, true);
    assert.equal(git(fixture.remote, 'show', 'deploy:NOTE.md'), 'another job');
    assert.equal(git(fixture.remote, 'rev-parse', 'deploy'), result.commit);
  });

  it("with the token in git's environment (hooks off), a planted pre-push hook never runs", async () => {
    const hook = join(fixture.checkout, '.git', 'hooks', 'pre-push');
    writeFileSync(hook, '#!/bin/sh\necho hook ran >&2\nexit 1\n', { mode: 0o755 });
    try {
      const result = await publishToDeployBranch({
        repoDir: fixture.checkout,
        gitEnv: tokenAuthEnv('ghs_example'),
        remote: 'origin',
        branch: 'deploy',
        path: 'rendered/hooked',
        content: {
          files: new Map([['configmap-y.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: y\n']]),
        },
        identity: { name: 'Test', email: 'test@example.com' },
        push: true,
        message: () => 'render(hooked): test',
      });
      assert.equal(result.pushed, true, 'the hook (exit 1) would have refused the push');
      assert.equal(git(fixture.remote, 'rev-parse', 'deploy'), result.commit);
    } finally {
      rmSync(hook, { force: true });
    }
  });
});

describe('render-manifests refuses bad renders before publishing', () => {
  it('reports validation problems in a table and pushes nothing', async () => {
    const fixture = createGitFixture();
    const overlay = join(fixture.checkout, 'overlays/staging');
    writeFileSync(
      join(overlay, 'typo.yaml'),
      'apiVersion: v1\nkind: Service\nmetadata:\n  name: typo\nspec:\n  selector: { app: x }\n  portz:\n    - port: 80\n',
    );
    const kustomization = readFileSync(join(overlay, 'kustomization.yaml'), 'utf8');
    writeFileSync(
      join(overlay, 'kustomization.yaml'),
      kustomization.replace('resources:\n', 'resources:\n  - typo.yaml\n'),
    );
    const result = await render(fixture, { digest: digestA });
    assert.equal(result.failed, true);
    assert.match(
      result.errors[0] ?? '',
      /validation found \d+ problem\(s\) in the render of overlays\/staging; nothing was published:\n.*Service\/typo spec\.portz/,
    );
    const problems = parseSummaryTables(result.summary).find((t) => t[0]?.[0] === 'Object')!;
    assert.ok(
      problems.some((r) => r[0] === 'Service/typo' && r[1] === 'spec.portz' && r[3] === 'unknown-field'),
      JSON.stringify(problems),
    );
    assert.equal(git(fixture.remote, 'branch', '--list', 'deploy'), '', 'no deploy branch was created');
  });

  it('fails when no rendered container uses the image name, and on bad inputs with the fix', async () => {
    const fixture = createGitFixture();
    const wrong = await render(fixture, { image: 'ghcr.io/switchboard/sever', digest: digestA });
    assert.match(
      wrong.errors[0] ?? '',
      /no rendered container uses ghcr.io\/switchboard\/sever@sha256:a+: is "ghcr.io\/switchboard\/sever" the image name/,
    );
    const cases: [ActionInputs, RegExp][] = [
      [{ digest: 'latest' }, /^digest: "latest" is not sha256:<64 hex digits>/],
      [{ digest: digestA, image: `${image}:main` }, /^image: ".*:main" must be a name without tag or digest/],
      [{ digest: digestA, environment: 'Staging' }, /^environment is required/],
      [
        { digest: digestA, 'output-path': '../elsewhere' },
        /^output-path: "..\/elsewhere" must be a directory inside the deploy branch/,
      ],
      [{ digest: digestA, 'restore-revision': 'abc1234' }, /^digest and restore-revision are both set/],
      [{ digest: digestA, overlay: 'overlays/nope' }, /overlays\/nope has no kustomization.yaml/],
    ];
    for (const [inputs, expected] of cases) {
      const result = await render(fixture, inputs);
      assert.equal(result.failed, true);
      assert.match(result.errors[0] ?? '', expected);
    }
    assert.deepEqual(readdirSync(fixture.remote).includes('refs'), true);
  });
});
