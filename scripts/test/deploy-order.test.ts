// scripts/deploy-order.sh against real git: a bare "origin" with main and a deploy branch whose render
// commits carry Source-Commit trailers, as render-manifests writes them. An environment only moves
// forward: a run whose commit the environment's newest render already contains is skipped.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { repoRoot } from './validate-fixtures.js';

const script = join(repoRoot, 'scripts/deploy-order.sh');
const root = mkdtempSync(join(tmpdir(), 'deploy-order-'));
const origin = join(root, 'origin.git');
const work = join(root, 'work');

const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 't',
      GIT_AUTHOR_EMAIL: 't@x',
      GIT_COMMITTER_NAME: 't',
      GIT_COMMITTER_EMAIL: 't@x',
    },
  }).trim();

/** Runs the script in a fresh clone as the job would, for `sha`; returns its deploy= decision. */
function decide(environment: string, sha: string): string {
  const clone = mkdtempSync(join(root, 'clone-'));
  git(root, 'clone', '--quiet', origin, clone);
  const out = join(clone, 'out');
  writeFileSync(out, '');
  execFileSync('bash', [script, environment], {
    cwd: clone,
    env: { ...process.env, GITHUB_SHA: sha, GITHUB_OUTPUT: out, DEPLOY_BRANCH: 'deploy' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return execFileSync('cat', [out], { encoding: 'utf8' }).trim();
}

const commits: Record<string, string> = {};

/** A render commit for `environment` on the deploy branch, from source commit `source`. */
function render(environment: string, source: string, subject = `render(${environment})`) {
  git(work, 'checkout', '--quiet', 'deploy');
  mkdirSync(join(work, 'rendered', environment), { recursive: true });
  writeFileSync(join(work, 'rendered', environment, 'x.yaml'), `source: ${source}\n`);
  git(work, 'add', '.');
  git(work, 'commit', '--quiet', '-m', `${subject}\n\nbody\n\nSource-Commit: ${source}`);
  git(work, 'push', '--quiet', 'origin', 'deploy');
  git(work, 'checkout', '--quiet', 'main');
}

before(() => {
  git(root, 'init', '--quiet', '--bare', origin);
  git(root, 'init', '--quiet', '-b', 'main', work);
  git(work, 'remote', 'add', 'origin', origin);
  for (const name of ['a', 'b', 'c']) {
    writeFileSync(join(work, 'f'), name);
    git(work, 'add', 'f');
    git(work, 'commit', '--quiet', '-m', name);
    commits[name] = git(work, 'rev-parse', 'HEAD');
  }
  git(work, 'push', '--quiet', 'origin', 'main');
});

describe('deploy-order.sh', () => {
  it('deploys when there is no deploy branch yet', () => {
    assert.equal(decide('staging', commits.a!), 'deploy=true');
  });

  it('skips a commit older than what the environment runs, deploys newer ones and re-runs', () => {
    git(work, 'checkout', '--quiet', '--orphan', 'deploy');
    git(work, 'rm', '-rf', '--quiet', '--cached', '.');
    writeFileSync(join(work, 'README'), 'deploy branch\n');
    git(work, 'add', 'README');
    git(work, 'commit', '--quiet', '-m', 'init');
    git(work, 'push', '--quiet', 'origin', 'deploy');
    git(work, 'checkout', '--quiet', '-f', 'main');
    render('staging', commits.b!);
    assert.equal(
      decide('staging', commits.a!),
      'deploy=false',
      'a is older than b (a build that finished late)',
    );
    assert.equal(decide('staging', commits.b!), 'deploy=true', 'a re-run of b');
    assert.equal(decide('staging', commits.c!), 'deploy=true', 'c is newer');
    // Another environment's renders decide nothing for this one.
    assert.equal(decide('production', commits.a!), 'deploy=true');
  });

  it('a rollback (which records the run it undid) keeps older commits out as well', () => {
    render('production', commits.c!, 'rollback(production): restore');
    assert.equal(decide('production', commits.b!), 'deploy=false');
  });

  it('an unknown recorded commit (main rewritten) does not block deploys', () => {
    render('dev', 'f'.repeat(40));
    assert.equal(decide('dev', commits.a!), 'deploy=true');
  });

  it('refuses an environment name that is not a plain name', () => {
    assert.throws(() => decide('../x', commits.a!), /Command failed/);
  });
});
