import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { it } from 'node:test';
import { runActionProcess } from '../../../pipeline/src/testing/index.js';
import { createGitFixture, git } from './fixture.js';

const dist = fileURLToPath(new URL('../dist/index.js', import.meta.url));

it('the committed bundle runs with plain `node dist/index.js`: renders, validates (through the checkout) and pushes', async () => {
  const fixture = createGitFixture();
  const result = await runActionProcess(dist, {
    inputs: {
      environment: 'production',
      image: 'ghcr.io/switchboard/server',
      digest: `sha256:${'d'.repeat(64)}`,
    },
    env: { GITHUB_WORKSPACE: fixture.checkout, GITHUB_SHA: fixture.sha },
    timeoutMs: 240_000,
  });
  assert.equal(result.exitCode, 0, `${result.errors.join('\n')}\n${result.stderr}`);
  assert.equal(git(fixture.remote, 'rev-parse', 'deploy'), result.outputs.commit);
  assert.match(result.summary, /\d+ objects, no problems/);
});
