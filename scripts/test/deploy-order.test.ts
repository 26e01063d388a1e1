// scripts/deploy-order.sh against real git: a bare "origin" with main and a deploy branch whose render
// commits carry Source-Commit trailers, as render-manifests writes them. An environment only moves
// forward: a run whose commit the environment's newest render already contains is skipped.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { $, run } from '../lib/zx.js';
import { repoRoot } from './validate-fixtures.js';

const script = join(repoRoot, 'scripts/deploy-order.sh');
const root = mkdtempSync(join(tmpdir(), 'deploy-order-'));
const origin = join(root, 'origin.git');
const work = join(root, 'work');

const git = async (cwd: string, ...args: string[]) => {
  const env = {
    ...process.env,
    GIT_AUTHOR_NAME: 't',
    GIT_AUTHOR_EMAIL: 't@x',
    GIT_COMMITTER_NAME: 't',
    GIT_COMMITTER_EMAIL: 't@x',
  };
  return (await run($({ cwd, env })`git ${args}`)).stdout.trim();
};

/** Runs the script in a fresh clone as the job would, for `sha`; returns its deploy= decision. */
async function decide(environment: string, sha: string): Promise<string> {
  const clone = mkdtempSync(join(root, 'clone-'));
  await git(root, 'clone', '--quiet', origin, clone);
  const out = join(clone, 'out');
  writeFileSync(out, '');
  const env = { ...process.env, GITHUB_SHA: sha, GITHUB_OUTPUT: out, DEPLOY_BRANCH: 'deploy' };
  await run($({ cwd: clone, env })`bash ${script} ${environment}`);
  return readFileSync(out, 'utf8').trim();
}

const commits: Record<string, string> = {};

/** A render commit for `environment` on the deploy branch, from source commit `source`. */
async function render(environment: string, source: string, subject = `render(${environment})`) {
  await git(work, 'checkout', '--quiet', 'deploy');
  mkdirSync(join(work, 'rendered', environment), { recursive: true });
  writeFileSync(join(work, 'rendered', environment, 'x.yaml'), `source: ${source}\n`);
  await git(work, 'add', '.');
  await git(work, 'commit', '--quiet', '-m', `${subject}\n\nbody\n\nSource-Commit: ${source}`);
  await git(work, 'push', '--quiet', 'origin', 'deploy');
  await git(work, 'checkout', '--quiet', 'main');
}

before(async () => {
  await git(root, 'init', '--quiet', '--bare', origin);
  await git(root, 'init', '--quiet', '-b', 'main', work);
  await git(work, 'remote', 'add', 'origin', origin);
  for (const name of ['a', 'b', 'c']) {
    writeFileSync(join(work, 'f'), name);
    await git(work, 'add', 'f');
    await git(work, 'commit', '--quiet', '-m', name);
    commits[name] = await git(work, 'rev-parse', 'HEAD');
  }
  await git(work, 'push', '--quiet', 'origin', 'main');
});

describe('deploy-order.sh', () => {
  it('deploys when there is no deploy branch yet', async () => {
    assert.equal(await decide('staging', commits.a!), 'deploy=true');
  });

  it('skips a commit older than what the environment runs, deploys newer ones and re-runs', async () => {
    await git(work, 'checkout', '--quiet', '--orphan', 'deploy');
    await git(work, 'rm', '-rf', '--quiet', '--cached', '.');
    writeFileSync(join(work, 'README'), 'deploy branch\n');
    await git(work, 'add', 'README');
    await git(work, 'commit', '--quiet', '-m', 'init');
    await git(work, 'push', '--quiet', 'origin', 'deploy');
    await git(work, 'checkout', '--quiet', '-f', 'main');
    await render('staging', commits.b!);
    assert.equal(
      await decide('staging', commits.a!),
      'deploy=false',
      'a is older than b (a build that finished late)',
    );
    assert.equal(await decide('staging', commits.b!), 'deploy=true', 'a re-run of b');
    assert.equal(await decide('staging', commits.c!), 'deploy=true', 'c is newer');
    // Another environment's renders decide nothing for this one.
    assert.equal(await decide('production', commits.a!), 'deploy=true');
  });

  it('a rollback (which records the run it undid) keeps older commits out as well', async () => {
    await render('production', commits.c!, 'rollback(production): restore');
    assert.equal(await decide('production', commits.b!), 'deploy=false');
  });

  it('an unknown recorded commit (main rewritten) does not block deploys', async () => {
    await render('dev', 'f'.repeat(40));
    assert.equal(await decide('dev', commits.a!), 'deploy=true');
  });

  it('refuses an environment name that is not a plain name', async () => {
    await assert.rejects(decide('../x', commits.a!), /deploy-order\.sh \.\.\/x failed \(exit/);
  });
});
