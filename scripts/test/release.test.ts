// scripts/release-notes.ts on a real git repository with release tags, and the shape of release.yml:
// what it checks before tagging and which job may write.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { githubOutput, planRelease } from '../release-notes.js';
import { $, run } from '../lib/zx.js';
import { repoRoot } from './validate-fixtures.js';

async function git(dir: string, ...args: string[]): Promise<string> {
  const env = {
    ...process.env,
    GIT_AUTHOR_NAME: 'Test',
    GIT_AUTHOR_EMAIL: 'test@example.com',
    GIT_COMMITTER_NAME: 'Test',
    GIT_COMMITTER_EMAIL: 'test@example.com',
  };
  return (await run($({ env })`git -C ${dir} ${args}`)).stdout.trim();
}

describe('scripts/release-notes.ts', () => {
  let repo: string;
  const commit = async (subject: string) => {
    writeFileSync(join(repo, 'file.txt'), `${subject}\n`);
    await git(repo, 'add', '-A');
    await git(repo, 'commit', '-q', '-m', subject);
    return git(repo, 'rev-parse', 'HEAD');
  };
  before(async () => {
    repo = mkdtempSync(join(tmpdir(), 'release-notes-'));
    await git(repo, 'init', '-q', '-b', 'main');
    await commit('first');
    await git(repo, 'tag', 'v1.0.0');
    await commit('actions: a fix');
    await git(repo, 'tag', '-a', '-m', 'annotated', 'v1.0.1');
    await git(repo, 'tag', 'v1'); // the moving major tag is not a release
    await commit('slo-gate: a feature\twith a tab');
    await commit('docs: more');
    await git(repo, 'tag', 'v1.10.0'); // sorts by number, not text: v1.10.0 > v1.9.0
    await git(repo, 'tag', 'not-a-release');
  });
  after(() => rmSync(repo, { recursive: true, force: true }));

  it('lists the commits since the previous release, newest first, and moves the major tag for the newest', async () => {
    const head = await commit('render-manifests: bundle the validation');
    const plan = await planRelease(repo, 'v1.11.0', 'HEAD');
    assert.equal(plan.previous, 'v1.10.0');
    assert.equal(plan.major, 'v1');
    assert.equal(plan.sha, head);
    assert.equal(plan.moveMajor, true);
    assert.equal(
      plan.notes,
      `Changes since v1.10.0:\n\n- render-manifests: bundle the validation (${head.slice(0, 12)})\n`,
    );
  });

  it('a release of an existing annotated tag resolves to its commit; a patch to an older line leaves the major tag', async () => {
    const plan = await planRelease(repo, 'v1.0.1');
    assert.equal(plan.previous, 'v1.0.0');
    assert.equal(plan.sha, await git(repo, 'rev-parse', 'v1.0.1^{commit}'));
    assert.match(plan.notes, /^Changes since v1\.0\.0:\n\n- actions: a fix \([0-9a-f]{12}\)\n$/);
    assert.equal(plan.moveMajor, false, 'v1.10.0 is newer');
    const between = await planRelease(repo, 'v1.9.0', 'v1.10.0');
    assert.equal(between.previous, 'v1.0.1');
    assert.match(between.notes, /- docs: more .*\n- slo-gate: a feature\twith a tab /);
  });

  it('the first release lists every commit; a bad version is refused with the form', async () => {
    const plan = await planRelease(repo, 'v0.1.0', 'v1.0.0');
    assert.equal(plan.previous, undefined);
    assert.match(plan.notes, /^First release\. Changes:\n\n- first /);
    for (const bad of ['1.2.3', 'v1.2', 'v01.2.3', 'v1.2.3-rc.1', 'v1']) {
      await assert.rejects(planRelease(repo, bad), /is not vX\.Y\.Z/, bad);
    }
  });

  it('a git failure names the git command, its exit code and what git said', async () => {
    await assert.rejects(
      planRelease(repo, 'v3.0.0', 'no-such-ref'),
      /git -C .* rev-parse --verify \$?'no-such-ref\^\{commit\}' failed \(exit 128\): fatal: /,
    );
  });

  it('writes step outputs with the notes in a heredoc', async () => {
    const out = githubOutput(await planRelease(repo, 'v2.0.0', 'HEAD'));
    const delimiter = /^notes<<(EOF_[0-9a-f]{24})$/m.exec(out)?.[1];
    assert.ok(delimiter, out);
    assert.match(out, /^version=v2\.0\.0$/m);
    assert.match(out, /^major=v2$/m);
    assert.match(out, /^move-major=true$/m);
    assert.match(out, new RegExp(`^Changes since v1\\.10\\.0:[\\s\\S]*\\n${delimiter}\\n$`, 'm'));
  });
});

describe('.github/workflows/release.yml', () => {
  interface Step {
    uses?: string;
    run?: string;
    with?: Record<string, unknown>;
  }
  const wf = parse(readFileSync(join(repoRoot, '.github/workflows/release.yml'), 'utf8')) as {
    on: { push: { tags: string[] }; workflow_dispatch: { inputs: Record<string, unknown> } };
    jobs: Record<string, { permissions: Record<string, string>; needs?: string; steps: Step[] }>;
  };

  it('runs on a vX.Y.Z tag or a manual run naming the version', () => {
    assert.deepEqual(wf.on.push.tags, ['v[0-9]+.[0-9]+.[0-9]+']);
    assert.ok('version' in wf.on.workflow_dispatch.inputs);
  });

  it('checks the bundles, the model registry and the READMEs before the job that tags', () => {
    const runs = wf.jobs.check!.steps.map((s) => s.run ?? '').join('\n');
    for (const command of [
      'npm run actions:check-dist',
      'npm run validate:models -- --check',
      'npm run actions:check-docs',
      'release:notes',
    ]) {
      assert.ok(runs.includes(command), command);
    }
    assert.equal(wf.jobs.publish!.needs, 'check');
  });

  it('only the publish job can write, and it checks out and installs nothing', () => {
    assert.deepEqual(wf.jobs.check!.permissions, { contents: 'read' });
    assert.deepEqual(wf.jobs.publish!.permissions, { contents: 'write' });
    for (const step of wf.jobs.publish!.steps) {
      assert.equal(step.uses, undefined);
      assert.doesNotMatch(step.run ?? '', /\bnpm\b|\bnode\b|git (clone|fetch|checkout)/);
    }
  });
});
