// switchboard.config.yaml: what a team gets told when the file is wrong, and how configure edits files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml, stringify } from 'yaml';
import {
  AdopterConfigError,
  configFile,
  loadAdopterConfig,
  parseAdopterConfig,
} from '../../pipeline/src/configure/config.js';
import { planConfigure } from '../../pipeline/src/configure/apply.js';
import { namespaceExpression, placements } from '../../pipeline/src/configure/placements.js';
import { adopterConfigSchema } from '../../pipeline/src/configure/schema.js';
import { applyEdits, EditError } from '../../pipeline/src/configure/yaml-edit.js';
import { checkAdopterConfig } from '../../pipeline/src/configure/agreement.js';
import { find, rendered, repoRoot, type Loose } from './validate-fixtures.js';

const shipped = readFileSync(join(repoRoot, configFile), 'utf8');

/** The problems parseAdopterConfig reports for `text` (fails the test if it accepts it). */
function problems(text: string): string[] {
  try {
    parseAdopterConfig(text);
  } catch (err) {
    assert.ok(err instanceof AdopterConfigError, String(err));
    assert.equal(err.code, 'ERR_ADOPTER_CONFIG');
    return err.problems;
  }
  assert.fail('the configuration was accepted');
}

/** The shipped file with `change` applied to its parsed form. */
function edited(change: (doc: Record<string, unknown>) => void): string {
  const doc = parseYaml(shipped) as Record<string, unknown>;
  change(doc);
  return stringify(doc);
}

test("the repository's own file is valid and every file agrees with it", () => {
  const config = loadAdopterConfig(join(repoRoot, configFile));
  assert.equal(config.environments.production.host, config.domain);
  assert.equal(config.environments.staging.host, `staging.${config.domain}`);
  assert.equal(config.environments.dev.secretKey, 'switchboard/dev');
  assert.deepEqual(planConfigure(repoRoot, config).changes, []);
});

test('bad YAML is reported as a syntax error with its line, not a crash', () => {
  const [p, ...rest] = problems('repository: [unclosed\nimage: x\n');
  assert.equal(rest.length, 0);
  assert.match(p ?? '', /^YAML syntax: .*line \d+, column \d+/);
  assert.match(problems('a: 1\na: 2\n')[0] ?? '', /^YAML syntax: Map keys must be unique/);
  assert.match(problems('- a\n- b\n')[0] ?? '', /^\(top level\): must be object; expected a mapping/);
});

test('unknown keys, __proto__ among them, are named with the keys that are known', () => {
  const unknown = problems(edited((d) => (d.registry = 'ghcr.io/acme')));
  assert.deepEqual(unknown, [
    'registry: is not a known field (check its spelling); expected one of repository, image, domain, environments, argocd, prometheus, certManager, secretStore',
  ]);
  const proto = problems(`${shipped}\n__proto__:\n  polluted: true\n`);
  assert.equal(proto.length, 1);
  assert.match(proto[0] ?? '', /^__proto__: is not a known field/);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  const nested = problems(
    shipped.replace('  project: switchboard', '  project: switchboard\n  __proto__: x'),
  );
  assert.match(nested[0] ?? '', /^argocd\.__proto__: is not a known field .*one of namespace, project/);
  const env = problems(shipped.replace('environments:\n', 'environments:\n  qa:\n    namespace: qa\n'));
  assert.match(
    env[0] ?? '',
    /^environments\.qa: is not a known field .*one of dev, staging, production, preview/,
  );
});

test('wrong types and values name the field, what was written and what to write', () => {
  const got = problems(
    edited((d) => {
      d.image = 'GHCR.io/Acme/Server:v1';
      d.domain = 42;
      (d.environments as Record<string, Record<string, unknown>>).staging!.namespace = 'Staging_NS';
      (d.prometheus as Record<string, unknown>).labels = { 'bad key!': 'x' };
      (d.secretStore as Record<string, unknown>).kind = 'Vault';
      delete d.certManager;
    }),
  );
  assert.deepEqual(got, [
    'certManager: is missing; expected the clusterIssuer of cert-manager',
    'image: "GHCR.io/Acme/Server:v1" is not valid; expected registry/name of the server image in lower case, without tag or digest, e.g. registry.acme.dev/chat/server',
    'domain: must be string; expected the base domain the hosts derive from, e.g. chat.acme.dev',
    'environments.staging.namespace: "Staging_NS" is not valid; expected the environment\'s namespace, e.g. acme-staging',
    'prometheus.labels: "bad key!" is not a Kubernetes label key; expected the labels Prometheus selects ServiceMonitors and PrometheusRules by (kube-prometheus-stack: release: <Helm release>), e.g. { release: kps }',
    'secretStore.kind: must be equal to one of the allowed values; expected ClusterSecretStore or SecretStore (External Secrets Operator)',
  ]);
});

test('two environments in one namespace, or on one host, are refused', () => {
  const got = problems(
    edited((d) => {
      const envs = d.environments as Record<string, Record<string, unknown>>;
      envs.dev!.namespace = 'switchboard-staging';
      envs.preview!.host = 'staging.switchboard.example.com';
      (d.argocd as Record<string, unknown>).namespace = 'switchboard-production';
    }),
  );
  assert.deepEqual(got, [
    'environments.staging.namespace: switchboard-staging is also environments.dev.namespace; give each its own',
    'environments.production.namespace: switchboard-production is also argocd.namespace; give each its own',
    'environments.preview.host: staging.switchboard.example.com is also environments.staging.host; give each its own',
  ]);
});

test('aliases, oversized files and a missing file get a sentence, not a stack', () => {
  assert.deepEqual(problems(`${shipped}\nx: &a [1]\ny: *a\n`), [
    'YAML anchors and aliases (&name, *name) are not allowed: write each value out',
  ]);
  assert.match(problems(`# ${'x'.repeat(70_000)}\n`)[0] ?? '', /over 65536 bytes/);
  assert.throws(
    () => loadAdopterConfig(join(repoRoot, 'no-such.yaml')),
    /no-such\.yaml is not valid:\n {2}- there is no such file/,
  );
});

test('configure edits only the value: comments, anchors and quoting stay', () => {
  const text =
    "# head\na: &x\n  b: 'old' # why\n  c: [1]\nd: *x\nlabels:\n  - pairs:\n      release: p\n    keep: true\n";
  const out = applyEdits('f.yaml', text, [
    { file: 'f.yaml', path: ['a', 'b'], value: "it's new" },
    {
      file: 'f.yaml',
      path: ['labels', 0, 'pairs'],
      value: new Map([
        ['team', 'a'],
        ['release', 'kps'],
      ]),
    },
  ]);
  assert.equal(
    out.text,
    "# head\na: &x\n  b: 'it''s new' # why\n  c: [1]\nd: *x\nlabels:\n  - pairs:\n      team: a\n      release: kps\n    keep: true\n",
  );
  assert.deepEqual(
    out.changes.map((c) => c.field),
    ['a.b', 'labels[0].pairs'],
  );
  assert.throws(
    () => applyEdits('f.yaml', text, [{ file: 'f.yaml', path: ['a', 'z'], value: 'v' }]),
    (e: unknown) => e instanceof EditError && /f\.yaml: a\.z: not found; put the field back/.test(e.message),
  );
});

test('the workflows find an environment namespace by prefix when they share one, else by table', () => {
  const config = loadAdopterConfig(join(repoRoot, configFile));
  assert.equal(namespaceExpression(config), "format('switchboard-{0}', inputs.environment)");
  config.environments.dev.namespace = 'qa';
  assert.equal(
    namespaceExpression(config),
    'fromJSON(\'{"dev":"qa","staging":"switchboard-staging","production":"switchboard-production"}\')[inputs.environment]',
  );
});

test('docs/adopting.md names every field of the file and every file configure writes', () => {
  const doc = readFileSync(join(repoRoot, 'docs/adopting.md'), 'utf8');
  for (const field of Object.keys(adopterConfigSchema.properties))
    assert.ok(doc.includes(`\`${field}`), field);
  const files = new Set(placements(loadAdopterConfig(join(repoRoot, configFile))).map((e) => e.file));
  for (const file of files) {
    // application-dev.yaml is documented as application-*.yaml, overlays/dev/x as overlays/<env>/x.
    const forms = [
      file,
      file.replace(/application-\w+\.yaml$/, 'application-*.yaml'),
      file.replace(/^overlays\/\w+\//, 'overlays/<env>/'),
      file.replace(/^overlays\/\w+\/kustomization\.yaml$/, 'overlays/*/kustomization.yaml'),
    ];
    assert.ok(
      forms.some((f) => doc.includes(`\`${f}\``)),
      `docs/adopting.md does not name ${file}`,
    );
  }
});

test('validate compares the renders with the file: the repository agrees, a hand-made patch does not', async () => {
  const staging = await rendered('overlays/staging');
  const argocd = await rendered('argocd');
  assert.deepEqual(
    checkAdopterConfig(
      repoRoot,
      new Map([
        ['overlays/staging', staging],
        ['argocd', argocd],
      ]),
    ),
    [],
  );
  find(staging, 'ExternalSecret', 'switchboard-secrets').spec.secretStoreRef.name = 'other';
  const route = find(staging, 'HTTPRoute', 'switchboard') as Loose;
  route.spec.hostnames = ['staging.switchboard.example.com', 'api.example.org'];
  find(argocd, 'Application', 'switchboard-dev').spec.source.repoURL =
    'https://github.com/switchboard/fork.git';
  const found = checkAdopterConfig(
    repoRoot,
    new Map([
      ['overlays/staging', staging],
      ['argocd', argocd],
    ]),
  ).map((p) => `${p.target}: ${p.object} ${p.field}: ${p.message}`);
  assert.deepEqual(found, [
    'overlays/staging: ExternalSecret/switchboard-secrets spec.secretStoreRef.name: is "other", switchboard.config.yaml says switchboard (secretStore.name): run npm run configure',
    'overlays/staging: HTTPRoute/switchboard spec.hostnames[1]: is "api.example.org", switchboard.config.yaml says staging.switchboard.example.com (environments.staging.host): run npm run configure',
    'argocd: Application/switchboard-dev spec.source.repoURL: is "https://github.com/switchboard/fork.git", switchboard.config.yaml says https://github.com/switchboard/switchboard.git (repository): run npm run configure',
  ]);
});
