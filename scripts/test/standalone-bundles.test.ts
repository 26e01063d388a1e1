// Runs every action's committed bundle from a copy of the repository the way a runner gets it for
// `uses: OWNER/switchboard/actions/NAME@v1`: the tracked files only (git ls-files), no node_modules, and --
// to prove a bundle reaches into neither -- without scripts/, pipeline/ or any action's src/.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import {
  signToken,
  startPrometheus,
  startSwitchboard,
  type PrometheusServer,
} from '../../testkit/src/index.js';
import { createGitFixture, git } from '../../actions/render-manifests/test/fixture.js';
import {
  runActionProcess,
  startFakeArgoCd,
  startFakeGitHub,
  type ActionInputs,
} from '../../pipeline/src/testing/index.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));

/** The tracked (and new, not ignored) files of the repository, copied to a temp dir; returns its path. */
function copyRepository(): string {
  const copy = join(mkdtempSync(join(tmpdir(), 'standalone-')), 'switchboard');
  const listed = execFileSync(
    'git',
    ['-C', repo, 'ls-files', '-z', '--cached', '--others', '--exclude-standard'],
    {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  for (const file of listed.split('\0').filter(Boolean)) {
    if (!existsSync(join(repo, file))) continue; // deleted in the working tree
    mkdirSync(dirname(join(copy, file)), { recursive: true });
    copyFileSync(join(repo, file), join(copy, file));
  }
  return copy;
}

/** Action folder names: those with action.yml and dist/index.js. */
function actionsIn(root: string): string[] {
  const listed = execFileSync('git', ['-C', repo, 'ls-files', 'actions/*/action.yml'], { encoding: 'utf8' });
  return listed
    .split('\n')
    .filter(Boolean)
    .map((f) => f.split('/')[1]!)
    .filter((name) => existsSync(join(root, 'actions', name, 'dist', 'index.js')));
}

/** Signs that a bundle looked for code it should carry. */
const MISSING_CODE = /ERR_MODULE_NOT_FOUND|Cannot find (module|package)|MODULE_NOT_FOUND|no such file/;

describe('action bundles from a copy of the repository without node_modules, scripts/ or sources', () => {
  let copy: string;
  const dist = (name: string) => join(copy, 'actions', name, 'dist', 'index.js');
  const run = (name: string, inputs: ActionInputs, env: Record<string, string | undefined> = {}) =>
    runActionProcess(dist(name), {
      inputs,
      env: { NODE_OPTIONS: undefined, NODE_PATH: undefined, ...env },
      timeoutMs: 240_000,
    });

  before(() => {
    copy = copyRepository();
    assert.ok(!existsSync(join(copy, 'node_modules')), 'the copy has node_modules');
    rmSync(join(copy, 'scripts'), { recursive: true, force: true });
    rmSync(join(copy, 'pipeline'), { recursive: true, force: true });
    for (const name of actionsIn(copy))
      rmSync(join(copy, 'actions', name, 'src'), { recursive: true, force: true });
  });
  after(() => rmSync(dirname(copy), { recursive: true, force: true }));

  it('every action loads and fails on missing inputs with its own message, not a missing module', async () => {
    const names = actionsIn(copy);
    assert.deepEqual(names, [
      'argocd-sync',
      'build-image',
      'k6-loadtest',
      'preview-env',
      'render-manifests',
      'slo-gate',
    ]);
    for (const name of names) {
      const result = await run(name, {}, { GITHUB_WORKSPACE: mkdtempSync(join(tmpdir(), 'standalone-ws-')) });
      assert.equal(result.exitCode, 1, `${name}: ${result.stderr}`);
      assert.ok(result.errors.length > 0, `${name} failed without an ::error:: (${result.stderr})`);
      assert.doesNotMatch(`${result.errors.join('\n')}\n${result.stderr}`, MISSING_CODE, name);
    }
  });

  it('render-manifests renders with kubectl, validates with the bundled schemas and pushes', async () => {
    const fixture = createGitFixture();
    const result = await run(
      'render-manifests',
      {
        environment: 'production',
        image: 'ghcr.io/switchboard/server',
        digest: `sha256:${'d'.repeat(64)}`,
        kustomize: 'kubectl',
      },
      { GITHUB_WORKSPACE: fixture.checkout, GITHUB_SHA: fixture.sha },
    );
    assert.equal(result.exitCode, 0, `${result.errors.join('\n')}\n${result.stderr}`);
    assert.equal(git(fixture.remote, 'rev-parse', 'deploy'), result.outputs.commit);
    // Every kind production renders had a schema: PrometheusRule (re2.wasm), Deployment, Ingress, ...
    assert.match(result.summary, /\d+ objects, no problems/);
  });

  it('render-manifests finds an unknown field and a schema error, and publishes nothing', async () => {
    const fixture = createGitFixture();
    const overlay = join(fixture.checkout, 'overlays/staging');
    writeFileSync(
      join(overlay, 'typo.yaml'),
      'apiVersion: v1\nkind: Service\nmetadata:\n  name: typo\nspec:\n  selector: { app: x }\n  portz:\n    - port: 80\n' +
        '---\napiVersion: k6.io/v1alpha1\nkind: TestRun\nmetadata:\n  name: bad\nspec:\n  parallelism: many\n',
    );
    const kustomization = readFileSync(join(overlay, 'kustomization.yaml'), 'utf8');
    writeFileSync(
      join(overlay, 'kustomization.yaml'),
      kustomization.replace('resources:\n', 'resources:\n  - typo.yaml\n'),
    );
    const result = await run(
      'render-manifests',
      {
        environment: 'staging',
        image: 'ghcr.io/switchboard/server',
        digest: `sha256:${'a'.repeat(64)}`,
        kustomize: 'kubectl',
      },
      { GITHUB_WORKSPACE: fixture.checkout, GITHUB_SHA: fixture.sha },
    );
    assert.equal(result.exitCode, 1, result.stderr);
    const error = result.errors[0] ?? '';
    assert.match(error, /Service\/typo spec\.portz: not a field of v1 Service/);
    assert.match(
      error,
      /TestRun\/bad spec\.parallelism: must be integer/,
      'the bundled k6-operator CRD schema ran',
    );
    assert.equal(git(fixture.remote, 'branch', '--list', 'deploy'), '', 'nothing was published');
  });

  describe('against the fakes and a real Prometheus', () => {
    let prometheus: PrometheusServer;
    before(async () => {
      prometheus = await startPrometheus({ scrapeTargets: [], scrapeIntervalMs: 500 });
    });
    after(() => prometheus?.stop());

    it('slo-gate reads the gate file from the workspace and queries a real Prometheus', async () => {
      const result = await run(
        'slo-gate',
        { 'prometheus-url': prometheus.url, window: '1m', selector: 'namespace="switchboard-staging"' },
        { GITHUB_WORKSPACE: copy },
      );
      assert.doesNotMatch(result.stderr, MISSING_CODE);
      assert.equal(result.outputs.verdict, 'inconclusive', `${result.errors.join('\n')}\n${result.stderr}`);
      // One result per objective of the gate file the action's default gate-file input names.
      const gate = JSON.parse(readFileSync(join(copy, 'slo/generated/gate.json'), 'utf8')) as {
        objectives: unknown[];
      };
      assert.equal((JSON.parse(result.outputs.objectives!) as unknown[]).length, gate.objectives.length);
      assert.doesNotMatch(result.errors.join('\n'), /unreachable/, 'Prometheus answered');
    });

    it('k6-loadtest runs a scenario bundle of the workspace with the bundled Node runner against a real server', async () => {
      const server = await startSwitchboard({ LOG_LEVEL: 'warn' });
      try {
        const result = await run(
          'k6-loadtest',
          {
            scenario: 'fanout',
            engine: 'node',
            url: server.socketUrl,
            token: await signToken({ sub: 'standalone', join: ['room:*'], publish: ['room:*'] }),
            vus: 2,
            duration: '2s',
            env: 'ROOMS=1\nGRACEFUL_STOP=2s',
          },
          { GITHUB_WORKSPACE: copy, RUNNER_TEMP: mkdtempSync(join(tmpdir(), 'standalone-k6-')) },
        );
        assert.equal(result.exitCode, 0, `${result.errors.join('\n')}\n${result.stderr}`);
        assert.equal(result.outputs.passed, 'true');
      } finally {
        await server.stop();
      }
    });

    it('argocd-sync syncs an application on the fake Argo CD', async () => {
      const argo = await startFakeArgoCd();
      try {
        argo.addApplication({ name: 'web', history: ['a'.repeat(40)] });
        const result = await run('argocd-sync', {
          server: argo.url,
          token: 'test-token',
          application: 'web',
          revision: 'b'.repeat(40),
          'poll-interval-seconds': 0.01,
        });
        assert.equal(result.exitCode, 0, `${result.errors.join('\n')}\n${result.stderr}`);
        assert.equal(result.outputs['sync-status'], 'Synced');
        argo.assertNoViolations();
      } finally {
        await argo.close();
      }
    });

    it('preview-env opens a preview on the fake Argo CD and GitHub', async () => {
      const argo = await startFakeArgoCd();
      const github = await startFakeGitHub();
      try {
        const event = join(mkdtempSync(join(tmpdir(), 'standalone-event-')), 'event.json');
        writeFileSync(
          event,
          JSON.stringify({
            action: 'opened',
            number: 5,
            pull_request: { number: 5, head: { sha: 'c'.repeat(40), ref: 'x' } },
            repository: { name: 'switchboard', owner: { login: 'acme' } },
          }),
        );
        const result = await run(
          'preview-env',
          {
            server: argo.url,
            token: 'test-token',
            'repo-url': 'https://github.com/acme/switchboard.git',
            image: 'ghcr.io/acme/switchboard',
            'manifest-image': 'ghcr.io/switchboard/server',
            'url-template': 'https://pr-{number}.preview.example.com',
            'github-token': 'gh-test-token',
            'github-api-url': github.url,
          },
          { GITHUB_EVENT_PATH: event, GITHUB_REPOSITORY: 'acme/switchboard' },
        );
        assert.equal(result.exitCode, 0, `${result.errors.join('\n')}\n${result.stderr}`);
        assert.ok(argo.apps.has('switchboard-pr-5'));
        argo.assertNoViolations();
        github.assertNoViolations();
      } finally {
        await argo.close();
        await github.close();
      }
    });
  });
});
