// `npm run slo:check` and `slo:generate` in process (generate.test.ts runs them as commands): the
// files generated from the committed objectives are byte for byte the committed ones (prettier
// formatting, headers and the README included); the check names exactly the stale, missing and
// orphaned files of a broken copy; writing a tree deletes only the generator's orphans.
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { generatedDirs, repoRoot } from '../src/outputs/index.js';
import { ownedFiles, staleFiles, writeTree } from '../src/tree.js';

function scratch(): string {
  return mkdtempSync(join(tmpdir(), 'sb-slo-tree-'));
}

test('the generator owns slo/generated and base/monitoring/generated, listed sorted', () => {
  assert.deepEqual(generatedDirs, ['base/monitoring/generated', 'slo/generated']);
  assert.deepEqual(ownedFiles(repoRoot), [
    'base/monitoring/generated/grafana-dashboards.yaml',
    'base/monitoring/generated/kustomization.yaml',
    'base/monitoring/generated/prometheus-rule.yaml',
    'slo/generated/README.md',
    'slo/generated/dashboards/switchboard-backends.json',
    'slo/generated/dashboards/switchboard-connections.json',
    'slo/generated/dashboards/switchboard-errors.json',
    'slo/generated/dashboards/switchboard-latency.json',
    'slo/generated/dashboards/switchboard-postgres.json',
    'slo/generated/dashboards/switchboard-redis.json',
    'slo/generated/dashboards/switchboard-runtime.json',
    'slo/generated/dashboards/switchboard-slo.json',
    'slo/generated/gate.json',
    'slo/generated/rules.yaml',
  ]);
});

test('writing a tree creates folders, replaces files and deletes only orphans in owned folders', () => {
  const root = scratch();
  try {
    assert.deepEqual(ownedFiles(root), [], 'no owned folder yet');
    mkdirSync(join(root, 'slo/generated/dashboards'), { recursive: true });
    mkdirSync(join(root, 'slo/other'), { recursive: true });
    writeFileSync(join(root, 'slo/generated/dashboards/old.json'), '{}\n');
    writeFileSync(join(root, 'slo/generated/gate.json'), 'old\n');
    writeFileSync(join(root, 'slo/other/keep.txt'), 'keep\n');
    const removed = writeTree(root, [
      { path: 'slo/generated/gate.json', content: 'new\n' },
      { path: 'base/monitoring/generated/a/b.yaml', content: 'b: 1\n' },
    ]);
    assert.deepEqual(removed, ['slo/generated/dashboards/old.json']);
    assert.equal(existsSync(join(root, 'slo/generated/dashboards/old.json')), false);
    assert.equal(readFileSync(join(root, 'slo/generated/gate.json'), 'utf8'), 'new\n');
    assert.equal(readFileSync(join(root, 'base/monitoring/generated/a/b.yaml'), 'utf8'), 'b: 1\n');
    assert.equal(readFileSync(join(root, 'slo/other/keep.txt'), 'utf8'), 'keep\n');
    assert.deepEqual(ownedFiles(root), ['base/monitoring/generated/a/b.yaml', 'slo/generated/gate.json']);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('the check passes on the committed files and names each stale, missing and orphaned one', async () => {
  const root = scratch();
  try {
    for (const p of [
      'slo/objectives.yaml',
      'loadtests/lib/thresholds.generated.ts',
      ...ownedFiles(repoRoot),
    ]) {
      mkdirSync(dirname(join(root, p)), { recursive: true });
      cpSync(join(repoRoot, p), join(root, p));
    }
    const gate = join(root, 'slo/generated/gate.json');
    writeFileSync(gate, `${readFileSync(gate, 'utf8')}\n`);
    rmSync(join(root, 'base/monitoring/generated/prometheus-rule.yaml'));
    writeFileSync(join(root, 'slo/generated/dashboards/switchboard-old.json'), '{}\n');
    // Only the three broken files: every other generated file is byte for byte the committed one.
    assert.deepEqual(await staleFiles(root), [
      'base/monitoring/generated/prometheus-rule.yaml: missing',
      'slo/generated/gate.json: stale (differs from what is generated)',
      'slo/generated/dashboards/switchboard-old.json: no longer generated',
    ]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
