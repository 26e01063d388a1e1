// `npm run rehearse -- --workflow loadtest` as a user runs it: loadtest.yml dispatched in mode local and
// in mode operator against the staging stand-in. Healthy -> exit 0: the runner's k6 and the TestRun's
// runner image are the pinned k6, the bundle's imports are modules of it, the gate judged each run.
// Deliberately broken variants of loadtest.yml -> exit 2 naming the cause: a runner image that is not
// the pinned k6, a bundle importing a module the pinned k6 removed, a setup-k6-action without k6-version.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { setupK6Check } from '../lib/rehearse/loadtest-rehearsal.js';
import { readWorkflow } from '../lib/rehearse/workflow.js';
import { runRehearsal, survivors, workflowVariant } from './rehearse-workflow-child.js';
import { repoRoot } from './validate-fixtures.js';

const limit = 8 * 60_000;
const k6Inputs = '          parallelism: ${{ inputs.parallelism }}\n';
const pinnedImage = /grafana\/k6:2\.2\.0@sha256:[0-9a-f]{64}/;

describe('rehearse --workflow loadtest', () => {
  test('healthy: both modes run the pinned k6 and the gate judges each', async () => {
    const run = await runRehearsal(['--workflow', 'loadtest', '--short', '--vus', '10'], limit);
    assert.equal(run.code, 0, run.out.slice(-4000));
    assert.match(run.out, /workflow_dispatch mode=local \(payload checked/);
    assert.match(run.out, /workflow_dispatch mode=operator \(payload checked/);
    assert.match(run.out, /check ok {3}setup-k6-action installs the pinned k6: k6-version 2\.2\.0/);
    assert.match(run.out, /fanout\.js: every import is a module of k6 v2\.2\.0/);
    assert.match(
      run.out,
      new RegExp(
        `check ok {3}TestRun runs the pinned k6: testrun/\\S+: runner ${pinnedImage.source} \\(pinned\\); script imports only modules of k6 v2\\.2\\.0; stage finished, 2/2 runner pods`,
      ),
    );
    assert.equal((run.out.match(/check ok {3}SLO gate judged the load test: verdict pass/g) ?? []).length, 2);
    assert.deepEqual(await survivors(run.seen), []);
    console.log(`healthy load-test rehearsal: ${run.ms} ms`);
  });

  test('broken: the TestRun runs a k6 image that is not the pinned one', async () => {
    const workflow = workflowVariant(
      '.github/workflows/reusable-loadtest.yml',
      (t) => t.replace(k6Inputs, `${k6Inputs}          runner-image: grafana/k6:0.49.0\n`),
      'loadtest.yml',
    );
    const run = await runRehearsal(['--workflow', workflow, '--short', '--duration', '15s'], limit);
    assert.equal(run.code, 2, run.out.slice(-4000));
    assert.match(
      run.out,
      /ended in stage error \(TestRunRunning: RunnerImageError spec\.runner\.image: runs grafana\/k6:0\.49\.0; the pinned k6 is grafana\/k6:2\.2\.0@sha256:/,
    );
    assert.match(
      run.out,
      /check FAIL TestRun runs the pinned k6: testrun\/\S+: runner grafana\/k6:0\.49\.0 \(not the pinned/,
    );
    assert.deepEqual(await survivors(run.seen), []);
  });

  test('broken: the bundle imports a module the pinned k6 removed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-bundle-'));
    const bundle = readFileSync(join(repoRoot, 'base/loadtest/generated/fanout.js'), 'utf8');
    writeFileSync(join(dir, 'fanout.js'), `import redis from 'k6/experimental/redis';\n${bundle}`);
    const workflow = workflowVariant(
      '.github/workflows/reusable-loadtest.yml',
      (t) => t.replace(k6Inputs, `${k6Inputs}          bundle-dir: ${dir}\n`),
      'loadtest.yml',
    );
    const run = await runRehearsal(['--workflow', workflow, '--short', '--duration', '15s'], limit);
    assert.equal(run.code, 2, run.out.slice(-4000));
    // Local: the pinned k6 would refuse the bundle before any load.
    assert.match(
      run.out,
      /cannot load the bundle: fanout\.js imports k6\/experimental\/redis: k6 v2\.2\.0 removed k6\/experimental\/redis/,
    );
    // Operator: k6-operator's initializer (k6 inspect) fails the TestRun.
    assert.match(
      run.out,
      /ended in stage error \(TestRunRunning: ScriptImportError spec\.script\.configMap\(fanout\.js\): imports k6\/experimental\/redis/,
    );
    assert.deepEqual(await survivors(run.seen), []);
  });
});

test('--fault kill-node: both dispatches run, both gates fail server-availability (exit 2)', async () => {
  const run = await runRehearsal(
    ['--workflow', 'loadtest', '--short', '--vus', '10', '--duration', '30s', '--fault', 'kill-node'],
    limit,
  );
  assert.equal(run.code, 2, run.out.slice(-4000));
  assert.equal((run.out.match(/injecting fault kill-node/g) ?? []).length, 2, run.out.slice(-4000));
  assert.equal(
    (
      run.out.match(
        /check ok {3}SLO gate caught fault kill-node: verdict fail: failed .*server-availability/g,
      ) ?? []
    ).length,
    2,
    run.out.slice(-4000),
  );
  assert.deepEqual(await survivors(run.seen), []);
});

test('setup-k6-action without k6-version installs the latest k6, not the pinned one', () => {
  const check = (file: string) => {
    const job = readWorkflow(file).jobs[0]!;
    return setupK6Check(job, { inputs: { mode: 'local' } });
  };
  assert.equal(check(join(repoRoot, '.github/workflows/loadtest.yml')).ok, true);
  const variant = workflowVariant(
    '.github/workflows/reusable-loadtest.yml',
    (t) => t.replace("          k6-version: '2.2.0'\n", ''),
    'loadtest.yml',
  );
  const result = check(variant);
  assert.equal(result.ok, false);
  assert.match(
    result.detail,
    /no k6-version: the action installs the latest k6 release, not the pinned v2\.2\.0/,
  );
  const old = workflowVariant(
    '.github/workflows/reusable-loadtest.yml',
    (t) => t.replace("k6-version: '2.2.0'", "k6-version: '0.49.0'"),
    'loadtest.yml',
  );
  assert.match(check(old).detail, /k6-version 0\.49\.0; platform\/versions\.yaml pins v2\.2\.0/);
});
