import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../../../', import.meta.url));

/** `git args...` in `dir`; returns trimmed stdout. */
export function git(dir: string, ...args: string[]): string {
  return execFileSync('git', ['-C', dir, ...args], {
    encoding: 'utf8',
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 'Test',
      GIT_AUTHOR_EMAIL: 'test@example.com',
      GIT_COMMITTER_NAME: 'Test',
      GIT_COMMITTER_EMAIL: 'test@example.com',
    },
  }).trim();
}

/** A bare repository standing in for GitHub, and a checkout of it the way actions/checkout leaves one. */
export interface GitFixture {
  remote: string;
  checkout: string;
  /** The checkout's HEAD commit (what GITHUB_SHA would be). */
  sha: string;
}

/**
 * Creates a bare "origin" and a shallow checkout (depth 1, like actions/checkout) of a repository holding
 * this repository's base/ and overlays/ and `extra` files; origin has main only, no deploy branch yet.
 */
export function createGitFixture(): GitFixture {
  const dir = mkdtempSync(join(tmpdir(), 'render-fixture-'));
  const remote = join(dir, 'origin.git');
  const seed = join(dir, 'seed');
  execFileSync('git', ['init', '-q', '--bare', '-b', 'main', remote]);
  execFileSync('git', ['init', '-q', '-b', 'main', seed]);
  for (const d of ['base', 'overlays']) cpSync(join(repo, d), join(seed, d), { recursive: true });
  git(seed, 'add', '-A');
  git(seed, 'commit', '-q', '-m', 'seed');
  git(seed, 'push', '-q', remote, 'main');
  const checkout = join(dir, 'checkout');
  execFileSync('git', ['clone', '-q', '--depth=1', '--no-local', `file://${remote}`, checkout]);
  return { remote, checkout, sha: git(checkout, 'rev-parse', 'HEAD') };
}

/** Another clone of the fixture's origin, e.g. to push while a render runs. */
export function secondClone(fixture: GitFixture, branch: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'render-second-'));
  execFileSync('git', ['clone', '-q', '--branch', branch, `file://${fixture.remote}`, dir]);
  return dir;
}

/** Another shallow checkout of main, as a later job of the workflow gets one. */
export function freshCheckout(fixture: GitFixture): string {
  const dir = mkdtempSync(join(tmpdir(), 'render-fresh-'));
  execFileSync('git', [
    'clone',
    '-q',
    '--depth=1',
    '--no-local',
    `file://${fixture.remote}`,
    join(dir, 'checkout'),
  ]);
  return join(dir, 'checkout');
}
