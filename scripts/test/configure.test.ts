// Issue 15's "done when", first half: a fresh copy of the repository configured through
// switchboard.config.yaml for another owner, registry and domain renders and validates with none of
// this repository's names left in any rendered manifest or workflow. Runs the README's commands
// (`npm run configure`, `npm run validate`) in the copy, then renders every target with kubectl.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parse } from 'yaml';
import { parseManifests, renderTargets, type K8sObject } from '../../pipeline/src/validate/index.js';
import { renderKustomization } from '../../pipeline/src/validate/render.js';
import { rehearsalNames } from '../lib/rehearse/adopter.js';
import { callInputs } from '../lib/rehearse/workflow-call.js';
import { interpolate, readWorkflow } from '../lib/rehearse/workflow.js';
import { $, run, zxRunner } from '../lib/zx.js';
import { repoRoot } from './validate-fixtures.js';

/** Another team's settings: nothing in common with this repository's. */
const acme = `repository: ssh://git@git.acme.dev/platform/chat.git
image: registry.acme.dev/chat/server
domain: chat.acme.dev
environments:
  dev: { namespace: qa }
  staging: { namespace: chat-stage, secretKey: kv/chat/stage }
  production: { namespace: chat-live }
  preview: { namespace: chat-preview }
argocd: { namespace: gitops, project: chat }
prometheus: { namespace: observability, labels: { prometheus: kps, team: chat } }
certManager: { clusterIssuer: acme-issuer }
secretStore: { kind: SecretStore, name: vault }
`;

/** Strings that name this repository's adopter (owner, registry, domain, issuer, label), as text. */
const shippedText = [
  'switchboard/switchboard',
  'ghcr.io/switchboard',
  'example.com',
  'letsencrypt',
  'release: prometheus',
  "'switchboard-{0}'",
  'namespace="switchboard-',
  "|| 'switchboard' }}",
];
/** This repository's namespaces, where a rendered object names a namespace. */
const shippedNamespace =
  /^\s*(-\s+)?(namespace|kubernetes\.io\/metadata\.name): (switchboard-(dev|staging|production|preview)|argocd|monitoring)$|^\s*- switchboard-(dev|staging|production)$/m;

/** The working tree as `git ls-files` sees it (tracked and untracked-but-not-ignored files). */
async function copyRepository(to: string): Promise<void> {
  const listed = await run($({ cwd: repoRoot })`git ls-files -z --cached --others --exclude-standard`);
  const files = listed.stdout.split('\0').filter(Boolean);
  for (const f of files) {
    mkdirSync(dirname(join(to, f)), { recursive: true });
    try {
      copyFileSync(join(repoRoot, f), join(to, f));
    } catch (err) {
      // Deleted in the working tree but not yet in the index.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  // `npm ci` in a copy would take minutes; the installed dependencies are the same.
  symlinkSync(join(repoRoot, 'node_modules'), join(to, 'node_modules'));
}

async function npm(cwd: string, ...args: string[]): Promise<{ code: number; out: string }> {
  const out = await $({ cwd, timeout: 300_000, nothrow: true })`npm run --silent ${args}`;
  // Killed by the timeout: no exit code, still a failure.
  return { code: out.exitCode ?? 1, out: out.stdout + out.stderr };
}

describe('a copy configured for another team', () => {
  let copy = '';
  const rendered = new Map<string, string>();
  let validateBefore = { code: 0, out: '' };
  let checkBefore = { code: 0, out: '' };

  before(async () => {
    copy = mkdtempSync(join(tmpdir(), 'sb-configure-'));
    await copyRepository(copy);
    writeFileSync(join(copy, 'switchboard.config.yaml'), acme);
    checkBefore = await npm(copy, 'configure', '--', '--check');
    validateBefore = await npm(copy, 'validate');
    const configured = await npm(copy, 'configure');
    assert.equal(configured.code, 0, configured.out);
    const dirs = [...new Set(renderTargets.flatMap((t) => t.dirs))];
    for (const dir of dirs) rendered.set(dir, await renderKustomization(dir, copy, zxRunner));
  });
  after(() => rmSync(copy, { recursive: true, force: true }));

  test('before configure, --check and validate fail and name what still differs', () => {
    assert.equal(checkBefore.code, 1, checkBefore.out);
    assert.match(
      checkBefore.out,
      /differs {2}argocd\/project\.yaml {2}spec\.sourceRepos\[0\]: https:\/\/github\.com\/switchboard\/switchboard\.git -> ssh:\/\/git@git\.acme\.dev\/platform\/chat\.git/,
    );
    assert.match(
      checkBefore.out,
      /configure: \d+ fields in \d+ files differ from switchboard\.config\.yaml: run npm run configure/,
    );
    assert.equal(validateBefore.code, 1, validateBefore.out);
    assert.match(
      validateBefore.out,
      /argocd: Application\/switchboard-staging spec\.source\.repoURL: is "https:\/\/github\.com\/switchboard\/switchboard\.git", switchboard\.config\.yaml says ssh:\/\/git@git\.acme\.dev\/platform\/chat\.git \(repository\)/,
    );
    assert.match(
      validateBefore.out,
      /overlays\/production: Deployment\/switchboard -: still names ghcr\.io\/switchboard\/server, which switchboard\.config\.yaml does not/,
    );
    assert.match(
      validateBefore.out,
      /\.github\/workflows\/deploy\.yml: deploy\.yml -: still names ghcr\.io\/switchboard\/server/,
    );
  });

  test('after configure, --check and npm run validate pass', async () => {
    const check = await npm(copy, 'configure', '--', '--check');
    assert.equal(check.code, 0, check.out);
    assert.match(check.out, /every file agrees with switchboard\.config\.yaml/);
    const validate = await npm(copy, 'validate');
    assert.equal(validate.code, 0, validate.out);
    assert.match(validate.out, /validate: 0 problems/);
  });

  test("no rendered manifest names this repository's owner, registry, domain, issuer, label or namespaces", () => {
    assert.ok(rendered.size >= 9, [...rendered.keys()].join(', '));
    for (const [dir, text] of rendered) {
      for (const s of shippedText) assert.ok(!text.includes(s), `${dir} still says ${s}`);
      assert.doesNotMatch(text, shippedNamespace, dir);
    }
  });

  test('the renders say what the file says', () => {
    const objects = (dir: string): K8sObject[] => parseManifests(rendered.get(dir) ?? '', dir);
    const find = (dir: string, kind: string, name: string) => {
      const o = objects(dir).find((x) => x.kind === kind && x.metadata.name === name);
      assert.ok(o, `${dir} has no ${kind}/${name}`);
      return o as K8sObject & Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    };
    const staging = find('overlays/staging', 'Deployment', 'switchboard');
    assert.equal(staging.metadata.namespace, 'chat-stage');
    assert.match(
      staging.spec.template.spec.containers[0].image,
      /^registry\.acme\.dev\/chat\/server@sha256:/,
    );
    assert.deepEqual(find('overlays/staging', 'HTTPRoute', 'switchboard').spec.hostnames, [
      'staging.chat.acme.dev',
    ]);
    assert.equal(find('overlays/production', 'HTTPRoute', 'switchboard').spec.hostnames[0], 'chat.acme.dev');
    assert.deepEqual(find('overlays/staging', 'ExternalSecret', 'switchboard-secrets').spec.secretStoreRef, {
      kind: 'SecretStore',
      name: 'vault',
    });
    assert.equal(
      find('overlays/staging', 'ExternalSecret', 'switchboard-secrets').spec.dataFrom[0].extract.key,
      'kv/chat/stage',
    );
    const monitor = find('overlays/dev', 'ServiceMonitor', 'switchboard');
    assert.equal(monitor.metadata.labels?.prometheus, 'kps');
    assert.equal(monitor.metadata.labels?.team, 'chat');
    assert.equal(monitor.metadata.namespace, 'qa');
    const app = find('argocd', 'Application', 'switchboard-production');
    assert.equal(app.metadata.namespace, 'gitops');
    assert.equal(app.spec.project, 'chat');
    assert.equal(app.spec.source.repoURL, 'ssh://git@git.acme.dev/platform/chat.git');
    assert.equal(app.spec.destination.namespace, 'chat-live');
    assert.equal(
      find('argocd', 'Application', 'switchboard-dashboards').spec.destination.namespace,
      'observability',
    );
    const gateway = find('base/edge/gateway', 'Gateway', 'public');
    assert.equal(gateway.metadata.annotations?.['cert-manager.io/cluster-issuer'], 'acme-issuer');
    assert.deepEqual(
      gateway.spec.listeners.map((l: { hostname: string }) => l.hostname),
      ['chat.acme.dev', 'staging.chat.acme.dev', 'dev.chat.acme.dev'],
    );
    assert.equal(
      find('overlays/preview', 'Ingress', 'switchboard').spec.rules[0].host,
      'preview.chat.acme.dev',
    );
  });

  test("the opt-in KEDA triggers query the configured Prometheus for production's namespace", () => {
    for (const f of [
      'base/autoscaling/keda/scaledobject.yaml',
      'base/autoscaling/keda-latency/latency-trigger.yaml',
    ]) {
      const text = readFileSync(join(copy, f), 'utf8');
      assert.ok(text.includes('serverAddress: http://prometheus-operated.observability.svc:9090'), f);
      assert.ok(text.includes('job="switchboard",namespace="chat-live"'), f);
      assert.ok(!/switchboard-production|\.monitoring\.svc/.test(text), f);
    }
  });

  test("no workflow names this repository's names, and their defaults evaluate to the file's", () => {
    const dir = join(copy, '.github/workflows');
    for (const f of readdirSync(dir)) {
      const text = readFileSync(join(dir, f), 'utf8');
      for (const s of shippedText) assert.ok(!text.includes(s), `${f} still says ${s}`);
    }
    // The callers pass the names to the reusable workflows, which carry none (docs/reusable-workflows.md).
    const deploy = parse(readFileSync(join(dir, 'deploy.yml'), 'utf8')) as {
      jobs: { deploy: { with: Record<string, string> } };
    };
    assert.equal(deploy.jobs.deploy.with['manifest-image'], 'registry.acme.dev/chat/server');
    assert.equal(deploy.jobs.deploy.with['staging-namespace'], 'chat-stage');
    assert.equal(deploy.jobs.deploy.with['production-namespace'], 'chat-live');
    const preview = parse(readFileSync(join(dir, 'preview.yml'), 'utf8')) as {
      jobs: { preview: { with: Record<string, string> } };
    };
    assert.equal(preview.jobs.preview.with['repo-url'], 'ssh://git@git.acme.dev/platform/chat.git');
    // loadtest.yml finds the namespace of the chosen environment: evaluated as GitHub would.
    const loadtest = readFileSync(join(dir, 'loadtest.yml'), 'utf8');
    const expression = /namespace: (\$\{\{.*\}\})$/m.exec(loadtest)?.[1] ?? '';
    for (const [env, ns] of [
      ['dev', 'qa'],
      ['staging', 'chat-stage'],
      ['production', 'chat-live'],
    ])
      assert.equal(interpolate(expression, { vars: {}, inputs: { environment: env } }), ns);
  });

  test("the rehearsal plays the copy under its own names: stand-in repository, images, the calls' inputs", () => {
    const names = rehearsalNames(copy);
    assert.equal(names.repository, 'platform/chat');
    assert.equal(names.manifestImage, 'registry.acme.dev/chat/server');
    assert.equal(names.imagePath, 'chat/server');
    assert.equal(names.previewUrlTemplate, 'https://pr-{number}.preview.chat.acme.dev');
    // What the reusable workflows' jobs see once the rehearsal expands the callers' calls.
    const vars = { IMAGE: 'registry.acme.dev/chat/server' };
    const staging = readWorkflow(join(copy, '.github/workflows/deploy.yml')).jobs.find(
      (j) => j.id === 'staging',
    )!;
    const inputs = callInputs(staging.call!, { vars });
    const gate = staging.steps.find((s) => s.uses === './actions/slo-gate')!;
    assert.equal(interpolate(gate.with.selector!, { vars: {}, inputs }), 'namespace="chat-stage"');
    // Production's verification after its sync judges production's namespace.
    const production = readWorkflow(join(copy, '.github/workflows/deploy.yml')).jobs.find(
      (j) => j.id === 'production',
    )!;
    const verify = production.steps.find((s) => s.id === 'verify')!;
    assert.equal(interpolate(verify.with.selector!, { vars: {}, inputs }), 'namespace="chat-live"');
    // Its canary's gate judges the canary's pod there against the other pods there.
    const canaryGate = production.steps.find((s) => s.id === 'canary-gate')!;
    assert.equal(
      interpolate(canaryGate.with.selector!, { vars: {}, inputs }),
      'namespace="chat-live",pod=~"switchboard-canary-.+"',
    );
    assert.equal(
      interpolate(canaryGate.with['baseline-selector']!, { vars: {}, inputs }),
      'namespace="chat-live",pod!~"switchboard-canary-.+"',
    );
    const render = staging.steps.find((s) => s.uses === './actions/render-manifests')!;
    assert.equal(interpolate(render.with.image!, { vars, inputs }), 'registry.acme.dev/chat/server');
    const preview = readWorkflow(join(copy, '.github/workflows/preview.yml')).jobs.find(
      (j) => j.id === 'preview',
    )!;
    const env = preview.steps.find((s) => s.uses === './actions/preview-env')!;
    const previewInputs = callInputs(preview.call!, { vars });
    assert.equal(
      interpolate(env.with['repo-url']!, { inputs: previewInputs }),
      'ssh://git@git.acme.dev/platform/chat.git',
    );
    assert.equal(interpolate(env.with.project!, { inputs: previewInputs }), 'chat');
    for (const job of readWorkflow(join(copy, '.github/workflows/loadtest.yml')).jobs) {
      const ns = callInputs(job.call!, { vars: {}, inputs: { environment: 'production' } }).namespace;
      assert.equal(ns, 'chat-live');
    }
  });

  test(
    'the configured copy rehearses deploy.yml under its own names and promotes',
    { timeout: 900_000 },
    async () => {
      // The rehearsal deploys the checkout's HEAD: the copy becomes a repository of its own.
      const dev = join(repoRoot, 'base/server/secrets/dev.env');
      if (existsSync(dev)) copyFileSync(dev, join(copy, 'base/server/secrets/dev.env'));
      await run($({ cwd: copy })`git init -q`);
      await run($({ cwd: copy })`git add -A`);
      await run(
        $({ cwd: copy })`git -c user.name=rehearsal -c user.email=rehearsal@invalid commit -qm configured`,
      );
      const out = await $({
        cwd: copy,
        timeout: 800_000,
        nothrow: true,
      })`npm run --silent rehearse -- --short --skip-image`;
      const text = out.stdout + out.stderr;
      assert.equal(out.exitCode, 0, text.slice(-6000));
      assert.match(text, /^PROMOTE:/m);
      assert.match(text, /namespace="chat-stage"/);
      assert.match(text, /production \(namespace="chat-live"\) passed its gate/);
      for (const s of shippedText) assert.ok(!text.includes(s), `the rehearsal's output still says ${s}`);
    },
  );
});
