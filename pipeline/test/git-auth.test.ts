// The deploy-branch token reaches git through the environment of the action's own git commands only:
// the checkout keeps `persist-credentials: false`, so nothing on disk holds it for other steps.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Git, tokenAuthEnv } from '../src/git/index.js';

describe('tokenAuthEnv', () => {
  it('gives git the header actions/checkout would persist, without writing .git/config', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'git-auth-'));
    try {
      execFileSync('git', ['init', '-q', dir]);
      const env = tokenAuthEnv('ghs_example', 'https://github.example.com/');
      const withToken = new Git(dir, env);
      const header = await withToken.run(['config', '--get', 'http.https://github.example.com/.extraheader']);
      assert.equal(
        header.stdout,
        `AUTHORIZATION: basic ${Buffer.from('x-access-token:ghs_example').toString('base64')}`,
      );
      assert.equal((await withToken.run(['config', '--get', 'core.hooksPath'])).stdout, '/dev/null');
      const without = await new Git(dir).run(['config', '--get-regexp', 'extraheader'], {
        allowFailure: true,
      });
      assert.equal(without.stdout, '', 'a Git without the env sees no credentials');
      assert.doesNotMatch(readFileSync(join(dir, '.git/config'), 'utf8'), /extraheader|ghs_example/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
