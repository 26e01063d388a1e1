// Inputs of render-manifests the main suite leaves at their defaults (issue 20 §2): validate,
// require-digests and working-directory. Each test sets one to a value the default would not give and
// fails when the action ignores it.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { runAction, type ActionInputs } from '../../../pipeline/src/testing/index.js';
import { run } from '../src/main.js';
import { createGitFixture, git, type GitFixture } from './fixture.js';

const digest = `sha256:${'c'.repeat(64)}`;
const image = 'ghcr.io/switchboard/server';

function render(fixture: GitFixture, inputs: ActionInputs, workspace = fixture.checkout) {
  return runAction(run, {
    inputs: { environment: 'staging', image, digest, ...inputs },
    env: {
      GITHUB_WORKSPACE: workspace,
      GITHUB_SHA: fixture.sha,
      GITHUB_SERVER_URL: 'https://github.com',
      GITHUB_REPOSITORY: 'acme/switchboard',
      GITHUB_RUN_ID: '78',
    },
  });
}

/** A fixture whose staging overlay runs Redis by tag, not by digest (a problem `require-digests` finds). */
function fixtureWithTaggedRedis(): GitFixture {
  const fixture = createGitFixture();
  const file = join(fixture.checkout, 'overlays/staging/kustomization.yaml');
  const entry = ['images:', '  - name: redis', '    newName: docker.io/library/redis', "    newTag: '7.4'"];
  writeFileSync(file, readFileSync(file, 'utf8').replace(/^images:$/m, entry.join('\n')));
  git(fixture.checkout, 'commit', '-qam', 'staging: redis by tag');
  return { ...fixture, sha: git(fixture.checkout, 'rev-parse', 'HEAD') };
}

describe('render-manifests inputs', () => {
  it('require-digests: true refuses an image by tag, false lets it through', async () => {
    const strict = await render(fixtureWithTaggedRedis(), {});
    assert.equal(strict.failed, true);
    assert.match(strict.errors[0]!, /nothing was published/);
    assert.match(strict.errors[0]!, /docker\.io\/library\/redis:7\.4/);
    const relaxed = fixtureWithTaggedRedis();
    const result = await render(relaxed, { 'require-digests': false });
    assert.equal(result.failed, false, result.errors.join('\n'));
    assert.equal(git(relaxed.remote, 'rev-parse', 'deploy'), result.outputs.commit);
  });

  it('validate: false publishes without validating (the tagged image is not looked at)', async () => {
    const fixture = fixtureWithTaggedRedis();
    const result = await render(fixture, { validate: false });
    assert.equal(result.failed, false, result.errors.join('\n'));
    assert.equal(git(fixture.remote, 'rev-parse', 'deploy'), result.outputs.commit);
  });

  it('working-directory: the checkout in a subdirectory of the workspace is rendered and pushed from', async () => {
    const fixture = createGitFixture();
    // The workspace itself holds no overlay and is no git checkout: only working-directory leads there.
    const result = await render(
      fixture,
      { 'working-directory': basename(fixture.checkout) },
      dirname(fixture.checkout),
    );
    assert.equal(result.failed, false, result.errors.join('\n'));
    assert.equal(git(fixture.remote, 'rev-parse', 'deploy'), result.outputs.commit);
    assert.match(
      git(fixture.remote, 'show', 'deploy:rendered/staging/deployment-switchboard.yaml'),
      /@sha256:c{64}/,
    );
  });
});
