// Commands run through scripts/lib/zx.ts never read the user's ~/.bashrc, also when given an
// environment of their own (no SHLVL): Debian's bash reads it when its stdin is a socket, and on this
// machine pyenv's init there waited a minute on its lock in every rehearsal Job and summary step.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { $ } from '../lib/zx.js';

test('a command with its own environment does not run ~/.bashrc', async () => {
  const home = mkdtempSync(join(tmpdir(), 'sb-bashrc-'));
  const marker = join(home, 'bashrc-ran');
  writeFileSync(join(home, '.bashrc'), `echo ran > ${JSON.stringify(marker)}\n`);
  const out = await $({ env: { PATH: process.env.PATH ?? '', HOME: home } })`bash -c ${'echo ok'}`;
  assert.equal(out.stdout.trim(), 'ok');
  assert.equal(existsSync(marker), false, 'bash read ~/.bashrc');
});
