// platform/versions.yaml is the one place a version is chosen: docs, manifests and workflows name
// only the pinned versions, the load tests run the pinned k6 everywhere, and the workflows use the
// pinned (node24) releases of their third-party actions.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { DEFAULT_K6_IMAGE } from '../../pipeline/src/k6/testrun.js';
import { pinnedVersion, staleMentions, versionMentions } from '../../pipeline/src/platform/mentions.js';
import { loadPlatform } from '../../pipeline/src/platform/versions.js';
import { $, run } from '../lib/zx.js';
import { repoRoot } from './validate-fixtures.js';

const platform = loadPlatform(repoRoot);
const read = (path: string) => readFileSync(join(repoRoot, path), 'utf8');

/** Tracked docs, manifests and workflows (generated bundles excluded: they are code, not prose). */
async function trackedFiles(): Promise<string[]> {
  const paths = [
    'ls-files',
    'docs',
    'README.md',
    'base',
    'overlays',
    'argocd',
    '.github',
    'Dockerfile',
    'actions/*/action.yml',
  ];
  const { stdout } = await run($({ cwd: repoRoot })`git ls-files ${paths}`);
  return stdout
    .split('\n')
    .filter((f) => f && !f.includes('/generated/') && /\.(md|ya?ml)$|Dockerfile$/.test(f));
}

// Every workflow, so a new one (release.yml was missed once) is checked too.
const workflows = readdirSync(join(repoRoot, '.github/workflows'))
  .filter((f) => /\.ya?ml$/.test(f))
  .map((f) => `.github/workflows/${f}`);

describe('pinned versions (platform/versions.yaml)', () => {
  test('docs, manifests and workflows name no other version of a pinned component', async () => {
    const stale = (await trackedFiles()).flatMap((f) =>
      staleMentions(platform, read(f)).map((s) => `${f}:${s}`),
    );
    assert.deepEqual(stale, []);
  });

  test('a stale version in prose, an image or a workflow input is found', () => {
    const text =
      "Runs on Argo CD v2.13.0 with k6 v0.54.0\nimage: grafana/k6:0.54.0@sha256:x\nk6-version: '2.2.0'\n";
    assert.deepEqual(staleMentions(platform, text), [
      '1: Argo CD v2.13.0 (pinned 3.5.1)',
      '1: k6 v0.54.0 (pinned 2.2.0)',
      '2: grafana/k6:0.54.0 (pinned 2.2.0)',
    ]);
  });

  test('docs/kubernetes.md lists every pinned component at its version', () => {
    const mentions = versionMentions(read('docs/kubernetes.md'));
    const missing = [...platform.components.map((c) => c.name), 'k6'].filter(
      (name) =>
        !mentions.some(
          (m) => m.component === name && m.version.replace(/^v/, '') === pinnedVersion(platform, name),
        ),
    );
    assert.deepEqual(missing, []);
  });

  test('the TestRun, the k6-loadtest default and setup-k6-action run the pinned k6 (issue 13 item 4)', () => {
    const testRun = parse(read('base/loadtest/testrun.yaml')) as { spec: { runner: { image: string } } };
    assert.equal(testRun.spec.runner.image, platform.k6.image);
    assert.equal(DEFAULT_K6_IMAGE, platform.k6.image);
    const version = platform.k6.version.replace(/^v/, '');
    let steps = 0;
    for (const f of workflows) {
      const wf = parse(read(f)) as {
        jobs: Record<string, { steps?: Array<{ uses?: string; with?: Record<string, unknown> }> }>;
      };
      for (const [job, { steps: list = [] }] of Object.entries(wf.jobs)) {
        for (const step of list.filter((s) => s.uses?.startsWith('grafana/setup-k6-action@'))) {
          steps++;
          assert.equal(String(step.with?.['k6-version'] ?? '(latest)'), version, `${f} ${job}`);
        }
      }
    }
    assert.equal(steps, 2);
  });

  test('the image runs the pinned Node.js LTS line, before its end of life (issue 13 item 10)', () => {
    const arg = /^ARG BASE_IMAGE=(\S+)$/m.exec(read('Dockerfile'))?.[1];
    assert.equal(arg, platform.node.image);
    const schedule = JSON.parse(read('platform/node-schedule.json')) as {
      source: { repository: string; commit: string };
      lines: Record<string, { lts?: string; end: string }>;
    };
    assert.equal(schedule.source.commit, platform.node.ref);
    const supported = (major: number, today: string) => {
      const line = schedule.lines[`v${major}`];
      return line?.lts !== undefined && line.lts <= today && today < line.end;
    };
    const today = new Date().toISOString().slice(0, 10);
    assert.ok(
      supported(platform.node.major, today),
      `Node ${platform.node.major} is not an LTS line on ${today}`,
    );
    // The image's Node 20 ended on 2026-04-30 (the issue was filed after that).
    assert.equal(supported(20, '2026-12-04'), false);
    assert.equal(supported(platform.node.major, '2026-12-04'), true);
    const engines = (JSON.parse(read('package.json')) as { engines: { node: string } }).engines.node;
    assert.equal(engines, '>=20', 'the server keeps supporting Node 20');
    // CI runs every test on both lines (the image test builds its base from the job's node).
    const ci = parse(read('.github/workflows/ci.yml')) as {
      jobs: { test: { strategy: { matrix: { node: number[] } }; container: { image: string } } };
    };
    assert.deepEqual(ci.jobs.test.strategy.matrix.node, [20, platform.node.major]);
    assert.equal(ci.jobs.test.container.image, 'node:${{ matrix.node }}-bookworm');
  });

  test('third-party actions are the pinned releases, by commit with the tag beside it, on node24 (issue 13 item 10)', () => {
    const pins = new Map(platform.actions.map((a) => [a.name, a]));
    const used = new Set<string>();
    const problems: string[] = [];
    for (const f of workflows) {
      for (const [i, line] of read(f).split('\n').entries()) {
        const m = /^\s*(?:-\s+)?uses:\s*(\S+)(.*)$/.exec(line);
        if (!m || m[1]?.startsWith('./')) continue;
        const [name = '', ref = ''] = (m[1] ?? '').split('@');
        const pin = pins.get(name);
        used.add(name);
        if (!pin) problems.push(`${f}:${i + 1} ${name} is not in platform/versions.yaml github-actions`);
        else if (ref !== pin.commit || !m[2]?.includes(`# ${pin.tag}`)) {
          problems.push(`${f}:${i + 1} ${m[1]}${m[2]}: pinned ${pin.commit} # ${pin.tag}`);
        }
      }
    }
    assert.deepEqual(problems, []);
    assert.deepEqual(
      [...pins.keys()].filter((n) => !used.has(n)),
      [],
      'pinned but unused',
    );
    assert.deepEqual(
      platform.actions.filter((a) => a.runsUsing !== 'node24').map((a) => a.name),
      [],
    );
  });
});
