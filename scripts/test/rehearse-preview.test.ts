// `npm run rehearse -- --workflow preview` as a user runs it: preview.yml for one pull request
// (opened, synchronize, closed). Healthy -> exit 0 with every check; two deliberately broken
// variants of preview.yml each -> exit 2 naming what a reviewer would have met: the preview runs
// the overlay's placeholder image instead of the pull request's commit, or stays after the close.
// --skip-image keeps it to seconds: the image references are still checked (the stand-in's kubelet
// pulls only what the image job produced), the pods run the working tree.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { runRehearsal, survivors, workflowVariant } from './rehearse-workflow-child.js';

const limit = 5 * 60_000;

describe('rehearse --workflow preview', () => {
  test('healthy: the preview runs the head commit under its own host, then goes', async () => {
    const run = await runRehearsal(['--workflow', 'preview', '--skip-image'], limit);
    assert.equal(run.code, 0, run.out.slice(-4000));
    for (const event of ['opened', 'synchronize', 'closed'])
      assert.match(run.out, new RegExp(`pull_request ${event} at [0-9a-f]{12} \\(payload checked`));
    assert.equal((run.out.match(/check ok {3}pods run the pull request's image/g) ?? []).length, 2);
    assert.match(run.out, /check ok {3}one controller owns it/);
    assert.match(
      run.out,
      /check ok {3}its own host and origin: .*accepted, with https:\/\/pr-8\.\S+: refused \(403\)/,
    );
    assert.match(run.out, /check ok {3}preview removed after close/);
    assert.doesNotMatch(run.out, /check FAIL/);
    const decision = JSON.parse(readFileSync(join(run.summaryDir, 'decision.json'), 'utf8')) as {
      passed: boolean;
      checks: unknown[];
    };
    assert.equal(decision.passed, true);
    assert.equal(decision.checks.length, 12);
    assert.deepEqual(await survivors(run.seen), []);
    console.log(`healthy preview rehearsal: ${run.ms} ms`);
  });

  test("broken: preview-env overrides an image the overlay does not use -> not the PR's image", async () => {
    const workflow = workflowVariant('.github/workflows/preview.yml', (t) =>
      t.replace(
        'manifest-image: ghcr.io/switchboard/server',
        'manifest-image: ghcr.io/switchboard/switchboard',
      ),
    );
    const run = await runRehearsal(['--workflow', workflow, '--skip-image'], limit);
    assert.equal(run.code, 2, run.out.slice(-4000));
    assert.match(run.out, /ImagePullBackOff: Back-off pulling image "ghcr\.io\/switchboard\/server:pr-0"/);
    assert.match(
      run.out,
      /check FAIL pods run the pull request's image: the preview runs ghcr\.io\/switchboard\/server:pr-0, not the pull request's image ghcr\.io\/switchboard\/server:[0-9a-f]{40}/,
    );
    assert.match(run.out, /rehearse: preview\.yml FAILED: opened: job preview/);
    assert.deepEqual(await survivors(run.seen), []);
  });

  test('broken: the preview job does not run on close -> the preview is left', async () => {
    const workflow = workflowVariant(
      '.github/workflows/reusable-preview.yml',
      (t) =>
        t.replace(
          "(github.event.action == 'closed' || needs.image.result == 'success')",
          "needs.image.result == 'success'",
        ),
      'preview.yml',
    );
    const run = await runRehearsal(['--workflow', workflow, '--skip-image'], limit);
    assert.equal(run.code, 2, run.out.slice(-4000));
    assert.match(run.out, /closed: job preview \(preview environment\): skipped/);
    assert.match(
      run.out,
      /check FAIL preview removed after close: preview left after close: Application switchboard-pr-7 still exists; 1 pod\(s\) of \S+ still run/,
    );
    assert.deepEqual(await survivors(run.seen), []);
  });
});
