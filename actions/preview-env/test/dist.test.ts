import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, it } from 'node:test';
import {
  runActionProcess,
  startFakeArgoCd,
  startFakeGitHub,
  type FakeArgoCd,
  type FakeGitHub,
} from '../../../pipeline/src/testing/index.js';

const dist = fileURLToPath(new URL('../dist/index.js', import.meta.url));
let argo: FakeArgoCd;
let github: FakeGitHub;
before(async () => {
  argo = await startFakeArgoCd();
  github = await startFakeGitHub();
});
after(async () => {
  await argo.close();
  await github.close();
});

it('the committed bundle runs with plain `node dist/index.js` and opens a preview', async () => {
  const event = join(mkdtempSync(join(tmpdir(), 'preview-dist-')), 'event.json');
  writeFileSync(
    event,
    JSON.stringify({
      action: 'opened',
      number: 5,
      pull_request: { number: 5, head: { sha: 'c'.repeat(40), ref: 'x' } },
      repository: { name: 'switchboard', owner: { login: 'acme' } },
    }),
  );
  const result = await runActionProcess(dist, {
    inputs: {
      server: argo.url,
      token: 'test-token',
      'repo-url': 'https://github.com/acme/switchboard.git',
      image: 'ghcr.io/acme/switchboard',
      'manifest-image': 'ghcr.io/switchboard/server',
      'url-template': 'https://pr-{number}.preview.example.com',
      'github-token': 'gh-test-token',
      'github-api-url': github.url,
    },
    env: { GITHUB_EVENT_PATH: event, GITHUB_REPOSITORY: 'acme/switchboard' },
  });
  assert.equal(result.exitCode, 0, `${result.errors.join('\n')}\n${result.stderr}`);
  assert.equal(result.outputs.url, 'https://pr-5.preview.example.com');
  assert.equal(result.outputs.application, 'switchboard-pr-5');
  assert.ok(argo.apps.has('switchboard-pr-5'));
  assert.equal(github.commentsOn(5).length, 1);
  argo.assertNoViolations();
  github.assertNoViolations();
});
