// `npm run cluster:bootstrap`: the pinned platform's install. The dry run names every component of
// platform/versions.yaml at its pinned version and runs nothing; the install runs exactly the printed
// commands, all of a kind that converges when run again. kubectl and helm are recording stand-ins on
// PATH (there is no cluster here): what is checked is which commands run, not what a cluster does.
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { bootstrapPlan, commandText, planText } from '../../pipeline/src/platform/bootstrap.js';
import { loadPlatform, parsePlatform } from '../../pipeline/src/platform/versions.js';
import { $ } from '../lib/zx.js';
import { repoRoot } from './validate-fixtures.js';

const platform = loadPlatform(repoRoot);
const script = join(repoRoot, 'scripts/cluster-bootstrap.ts');

/** A bin folder with kubectl and helm that append their argv (and stdin for `-f -`) to a log. */
function standIns(helmExit = 0): { bin: string; log: string } {
  const bin = mkdtempSync(join(tmpdir(), 'bootstrap-bin-'));
  const log = join(bin, 'calls.log');
  writeFileSync(log, '');
  const body = (name: string, extra: string) =>
    `#!/bin/sh\nprintf '%s\\n' "${name} $*" >> '${log}'\n` +
    `case "$*" in *"-f -") cat >> '${log}' ;; esac\n${extra}\n`;
  writeFileSync(
    join(bin, 'kubectl'),
    body('kubectl', 'if [ "$1 $2" = "config current-context" ]; then echo rehearsal-context; fi\nexit 0'),
  );
  writeFileSync(join(bin, 'helm'), body('helm', `exit ${helmExit}`));
  chmodSync(join(bin, 'kubectl'), 0o755);
  chmodSync(join(bin, 'helm'), 0o755);
  return { bin, log };
}

async function bootstrap(args: string[], bin: string) {
  const env = { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` };
  const out = await $({
    cwd: repoRoot,
    env,
    nothrow: true,
  })`${process.execPath} --import tsx ${script} ${args}`;
  return { code: out.exitCode, stdout: out.stdout, stderr: out.stderr };
}

describe('cluster:bootstrap', () => {
  test('--dry-run names every pinned component at its version and calls neither kubectl nor helm', async () => {
    const { bin, log } = standIns();
    const run = await bootstrap(['--dry-run'], bin);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(readFileSync(log, 'utf8'), '', 'no kubectl or helm call in a dry run');
    const headers = [...run.stdout.matchAll(/^# (\S+) (\S+): /gm)].map((m) => `${m[1]} ${m[2]}`);
    assert.deepEqual(headers.toSorted(), platform.components.map((c) => `${c.name} ${c.version}`).toSorted());
    // Each step installs its own pin: the tag in the artifact URL, the version (or chart) in --version.
    for (const step of bootstrapPlan(platform)) {
      const c = platform.components.find((x) => x.name === step.component)!;
      // Artifact URLs and --version values; a --repo value is where charts come from, not a pin.
      const pins = step.commands.flatMap((cmd) =>
        cmd.argv.filter(
          (a, i) =>
            cmd.argv[i - 1] === '--version' || (a.startsWith('https://') && cmd.argv[i - 1] !== '--repo'),
        ),
      );
      assert.ok(pins.length > 0, `${c.name}: no URL or --version`);
      for (const pin of pins) {
        const ok = pin === c.version || pin === c.chart || pin.includes(`/${c.tag}/`);
        assert.ok(ok, `${c.name}: ${pin} is not ${c.version}`);
      }
    }
    assert.equal(run.stdout, planText(bootstrapPlan(platform)));
  });

  test('every command converges when run again: server-side apply or helm upgrade --install', () => {
    const commands = bootstrapPlan(platform).flatMap((s) => s.commands);
    const bad = commands
      .map(commandText)
      .filter((t) => !/^kubectl apply (.* )?--server-side/.test(t) && !/^helm upgrade --install /.test(t));
    assert.deepEqual(bad, []);
  });

  test('the install runs exactly the planned commands, in order, on the current context; again the same', async () => {
    const { bin, log } = standIns();
    const first = await bootstrap([], bin);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /installing 10 component\(s\) on context "rehearsal-context"/);
    const expected = [
      'kubectl config current-context',
      'helm version --short',
      ...bootstrapPlan(platform).flatMap((s) =>
        s.commands.flatMap((c) => [c.argv.join(' '), ...(c.stdin ? c.stdin.trimEnd().split('\n') : [])]),
      ),
    ];
    const calls = readFileSync(log, 'utf8').trimEnd().split('\n');
    assert.deepEqual(calls, expected);
    const second = await bootstrap([], bin);
    assert.equal(second.code, 0);
    assert.deepEqual(readFileSync(log, 'utf8').trimEnd().split('\n'), [...calls, ...calls]);
  });

  test('a failing command stops the install, naming the component; --skip leaves components out', async () => {
    const { bin, log } = standIns(1);
    const failed = await bootstrap(['--skip', 'argo-cd,gateway-api'], bin);
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, /cluster:bootstrap: helm version failed/);
    const skipped = await bootstrap(['--dry-run', '--skip', 'argo-cd', '--skip', 'ingress-nginx'], bin);
    assert.doesNotMatch(skipped.stdout, /argo-cd|ingress-nginx/);
    assert.match(skipped.stdout, /# cert-manager v1\.21\.1/);
    const unknown = await bootstrap(['--dry-run', '--skip', 'argocd'], bin);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /--skip: argocd is not a component of platform\/versions\.yaml/);
    assert.equal(readFileSync(log, 'utf8').split('\n')[0], 'kubectl config current-context');
  });

  test('a helm failure after the first steps names the component that failed', async () => {
    const { bin } = standIns();
    // helm succeeds for `version`, fails for the first chart (Envoy Gateway's).
    writeFileSync(
      join(bin, 'helm'),
      '#!/bin/sh\n[ "$1" = version ] && exit 0\necho "Error: chart not found" >&2\nexit 1\n',
    );
    const run = await bootstrap([], bin);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /envoy-gateway v1\.9\.0: helm exited 1; fix it and run cluster:bootstrap again/);
  });

  test('CloudNativePG is installed from its chart repository at the chart versions.yaml pins (issue 19 §2)', () => {
    const cnpg = bootstrapPlan(platform).find((s) => s.component === 'cloudnative-pg');
    assert.ok(cnpg, 'no cloudnative-pg step');
    assert.equal(cnpg.version, 'v1.30.0');
    assert.deepEqual(
      cnpg.commands.map((c) => commandText(c)),
      [
        'helm upgrade --install cnpg cloudnative-pg --repo https://cloudnative-pg.github.io/charts --version 0.29.0 ' +
          '--namespace cnpg-system --create-namespace --wait --timeout 10m',
      ],
    );
  });

  test("KEDA is installed from kedacore's chart repository at the chart versions.yaml pins (issue 19 §3)", () => {
    const keda = bootstrapPlan(platform).find((s) => s.component === 'keda');
    assert.ok(keda, 'no keda step');
    assert.equal(keda.version, 'v2.20.2');
    assert.deepEqual(
      keda.commands.map((c) => commandText(c)),
      [
        'helm upgrade --install keda keda --repo https://kedacore.github.io/charts --version 2.20.2 ' +
          '--namespace keda --create-namespace --wait --timeout 10m',
      ],
    );
    const noChart = readFileSync(join(repoRoot, 'platform/versions.yaml'), 'utf8').replace(
      /^ {4}chart: 2\.20\.2\n/m,
      '',
    );
    assert.throws(() => bootstrapPlan(parsePlatform(noChart)), /cluster\.keda\.chart is missing/);
  });

  test('a component pinned in versions.yaml without an install is an error, not a silent gap', () => {
    const text = readFileSync(join(repoRoot, 'platform/versions.yaml'), 'utf8').replace(
      /^cluster:\n/m,
      'cluster:\n  linkerd:\n    version: v2.0.0\n    repository: linkerd/linkerd2\n    tag: v2.0.0\n',
    );
    assert.throws(() => bootstrapPlan(parsePlatform(text)), /no install for linkerd/);
    const noChart = readFileSync(join(repoRoot, 'platform/versions.yaml'), 'utf8').replace(
      /^ {4}chart: 4\.15\.1\n/m,
      '',
    );
    assert.throws(() => bootstrapPlan(parsePlatform(noChart)), /cluster\.ingress-nginx\.chart is missing/);
  });
});
