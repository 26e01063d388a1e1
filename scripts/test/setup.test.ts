// The README's test command sets itself up: `npm test` runs scripts/setup.sh first (npm's `pretest`),
// `.ci/run` calls exactly `npm test`, and on a machine that lacks packages a non-root user is stopped at
// once with the exact apt-get command instead of failing later in some test.
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { $ } from '../lib/zx.js';
import { repoRoot } from './validate-fixtures.js';

const which = async (cmd: string) =>
  (await $({ nothrow: true })`bash -c ${`command -v ${cmd}`}`).stdout.trim();

describe('set-up of the test command', () => {
  it('npm test runs setup.sh as its pretest and .ci/run calls npm test, not setup', () => {
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    assert.equal(pkg.scripts.pretest, 'bash scripts/setup.sh');
    const commands = readFileSync(join(repoRoot, '.ci/run'), 'utf8')
      .split('\n')
      .filter((l) => l.trim() && !l.startsWith('#') && !l.startsWith('set ') && !l.startsWith('cd '));
    assert.deepEqual(commands, ['npm ci --no-audit --no-fund', 'npm test']);
  });

  it('as a non-root user without the packages, stops at once and prints the apt-get command', async (t) => {
    const runuser = await which('runuser');
    if (!runuser) return t.skip('runuser is not installed');
    if (process.getuid?.() !== 0) return t.skip('needs root to switch to an unprivileged user');
    const dir = mkdtempSync(join(tmpdir(), 'setup-test-'));
    try {
      mkdirSync(join(dir, 'scripts'));
      mkdirSync(join(dir, 'bin'));
      for (const f of ['setup.sh', 'gen-dev-secrets.sh'])
        copyFileSync(join(repoRoot, 'scripts', f), join(dir, 'scripts', f));
      // Only what the script itself uses: none of the packages it checks for.
      for (const cmd of ['bash', 'dirname', 'ls', 'sort', 'sed', 'id'])
        symlinkSync(await which(cmd), join(dir, 'bin', cmd));
      chmodSync(dir, 0o755);
      const run = await $({
        env: { PATH: join(dir, 'bin') },
        timeout: 30_000,
        nothrow: true,
      })`${runuser} -u nobody -- ${join(dir, 'bin/bash')} ${join(dir, 'scripts/setup.sh')}`;
      assert.equal(run.exitCode, 1, `signal ${run.signal}: ${run.stderr}`);
      const apt = /install them with: sudo apt-get install -y (.+)/.exec(run.stderr);
      assert.ok(apt, run.stderr);
      for (const pkg of ['redis-server', 'prometheus', 'nginx-light', 'podman', 'docker-registry']) {
        assert.ok(apt[1]!.split(' ').includes(pkg), `${pkg} missing from: ${apt[1]}`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
