// The pinned platform: the extracts match platform/versions.yaml, served API versions are checked on
// every overlay, and the k6 bundles and TestRun use what the pinned k6 offers.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parseCrds, servedKind, stripDocs } from '../../pipeline/src/platform/crd.js';
import { bundleImports, checkBundleImports, parseK6Modules } from '../../pipeline/src/platform/k6-modules.js';
import { loadPlatform } from '../../pipeline/src/platform/versions.js';
import { mergeServed, type ServedApisFile } from '../../pipeline/src/platform/extract.js';
import {
  checkBundleDir,
  checkServedApis,
  checkTestRuns,
  pinnedK6,
  servedApis,
  validateRepository,
} from '../../pipeline/src/validate/index.js';
import { zxRunner } from '../lib/zx.js';
import { ctx, find, rendered, repoRoot } from './validate-fixtures.js';

const platform = loadPlatform(repoRoot);

describe('platform extracts', () => {
  test('served-apis.json and every schema come from the tags versions.yaml pins', () => {
    const served = servedApis();
    const kinds = Object.values(served.kinds);
    assert.ok(kinds.length > 10);
    for (const k of kinds) {
      const c = platform.components.find((x) => x.name === k.component);
      assert.ok(c, `${k.group}/${k.kind}: component ${k.component} is not pinned`);
      assert.equal(
        k.source.tag,
        c.tag,
        `${k.group}/${k.kind}: extracted at ${k.source.tag}, pinned ${c.tag}`,
      );
      assert.match(k.source.commit, /^[0-9a-f]{40}$/);
      assert.ok(c.crds.includes(k.source.path));
    }
    for (const c of platform.components) {
      for (const path of c.crds)
        assert.ok(
          kinds.some((k) => k.source.path === path),
          `${c.name}: ${path}`,
        );
    }
    for (const file of readdirSync(join(repoRoot, 'platform/schemas'))) {
      const schema = JSON.parse(readFileSync(join(repoRoot, 'platform/schemas', file), 'utf8')) as {
        group: string;
        kind: string;
        source: { tag: string };
      };
      const kind = served.kinds[`${schema.group}/${schema.kind}`];
      assert.equal(schema.source.tag, kind?.source.tag, file);
    }
    const modules = JSON.parse(readFileSync(join(repoRoot, 'platform/k6-modules.json'), 'utf8')) as {
      source: { tag: string };
    };
    assert.equal(modules.source.tag, platform.k6.tag);
  });

  test('--component merges one component into served-apis.json where a full extraction puts it', () => {
    const served = servedApis();
    const keda = Object.fromEntries(Object.entries(served.kinds).filter(([, k]) => k.component === 'keda'));
    assert.deepEqual(Object.keys(keda), ['keda.sh/ScaledObject']);
    const without: ServedApisFile = {
      ...served,
      kinds: Object.fromEntries(Object.entries(served.kinds).filter(([, k]) => k.component !== 'keda')),
    };
    // Added to a file without it, or replacing its own earlier kinds: the committed file, key order too.
    for (const current of [without, served]) {
      const merged = mergeServed(platform, current, 'keda', keda);
      assert.deepEqual(Object.keys(merged.kinds), Object.keys(served.kinds));
      assert.deepEqual(merged, served);
    }
    // Another component's kinds keep their place: argo-cd's first, before everything else.
    const argo = Object.fromEntries(
      Object.entries(served.kinds).filter(([, k]) => k.component === 'argo-cd'),
    );
    assert.deepEqual(
      Object.keys(mergeServed(platform, served, 'argo-cd', argo).kinds),
      Object.keys(served.kinds),
    );
  });

  test('a CRD yields its served, unserved and deprecated versions; docs are stripped, fields named description kept', () => {
    const [crd] = parseCrds(
      `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: { name: widgets.example.com }
spec:
  group: example.com
  scope: Namespaced
  names: { kind: Widget }
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          description: A widget.
          type: object
          properties:
            description: { type: string, description: the widget's own description field }
    - { name: v1beta2, served: true, deprecated: true }
    - { name: v1beta1, served: false }
`,
      'fixture',
    );
    assert.ok(crd);
    assert.deepEqual(
      { ...servedKind(crd) },
      {
        group: 'example.com',
        kind: 'Widget',
        served: ['v1', 'v1beta2'],
        notServed: ['v1beta1'],
        deprecated: ['v1beta2'],
        storage: 'v1',
        scope: 'Namespaced',
      },
    );
    assert.deepEqual(stripDocs(crd.spec.versions[0]?.schema?.openAPIV3Schema), {
      type: 'object',
      properties: { description: { type: 'string' } },
    });
  });
});

describe('served API versions (issue 13 item 1)', () => {
  test('every overlay uses only apiVersions its pinned operators serve', async () => {
    for (const dir of [
      'overlays/dev',
      'overlays/preview',
      'overlays/staging',
      'overlays/production',
      'argocd',
    ]) {
      assert.deepEqual(checkServedApis(ctx(await rendered(dir), dir)), [], dir);
    }
  });

  test('an apiVersion the pinned operator no longer serves is an error naming overlay, object and apiVersion', async () => {
    const objects = await rendered('overlays/staging');
    find(objects, 'ExternalSecret', 'switchboard-secrets').apiVersion = 'external-secrets.io/v1beta1';
    const [p, ...rest] = checkServedApis(ctx(objects, 'overlays/staging'));
    assert.deepEqual(rest, []);
    assert.equal(p?.target, 'overlays/staging');
    assert.equal(p?.object, 'ExternalSecret/switchboard-secrets');
    assert.equal(p?.field, 'apiVersion');
    assert.match(
      p?.message ?? '',
      /external-secrets v2\.9\.0 no longer serves external-secrets\.io\/v1beta1/,
    );
    assert.match(p?.message ?? '', /use external-secrets\.io\/v1/);
  });

  test('a deprecated served version and a group no pinned component serves are errors too', async () => {
    const objects = await rendered('overlays/staging');
    objects.push({ apiVersion: 'cert-manager.io/v1', kind: 'Certificate', metadata: { name: 'tls' } });
    objects.push({ apiVersion: 'traefik.io/v1alpha1', kind: 'IngressRoute', metadata: { name: 'r' } });
    const served = structuredClone(servedApis()) as ServedApisFile;
    const cert = served.kinds['cert-manager.io/Certificate'];
    assert.ok(cert);
    cert.deprecated = ['v1'];
    const found = checkServedApis(ctx(objects, 'overlays/staging'), served).map(
      (p) => `${p.object} ${p.message}`,
    );
    assert.equal(found.length, 2);
    assert.match(
      found[0] ?? '',
      /^Certificate\/tls v1 is deprecated|^Certificate\/tls cert-manager\.io\/v1 Certificate is deprecated/,
    );
    assert.match(
      found[1] ?? '',
      /^IngressRoute\/r no component in platform\/versions\.yaml serves traefik\.io\/IngressRoute/,
    );
  });

  test('the ExternalSecret is validated with the pinned ESO schema (a wrong field type is a schema error)', async () => {
    const objects = await rendered('overlays/production');
    find(objects, 'ExternalSecret', 'switchboard-secrets').spec.target.creationPolicy = 'Sometimes';
    const { validateSchemas } = await import('../../pipeline/src/validate/index.js');
    const problems = await validateSchemas(ctx(objects));
    assert.deepEqual(
      problems.map((p) => `${p.object} ${p.field}`),
      ['ExternalSecret/switchboard-secrets spec.target.creationPolicy'],
    );
  });
});

describe('k6 modules and runner (issue 13 item 4)', () => {
  // k6 v0.54.0's registry (grafana/k6 js/jsmodules.go at baba871c8a760352290f0402cd421b79f2a3e948),
  // the version the TestRun ran before: the entries, not the code.
  const v054 = parseK6Modules(
    [
      'k6',
      'k6/crypto',
      'k6/execution',
      'k6/experimental/websockets',
      'k6/metrics',
      'k6/timers',
      'k6/ws',
      'k6/http',
    ]
      .map((m) => `"${m}": x.New(),`)
      .join('\n'),
  );

  test('the bundles import only modules of the pinned k6; under v0.54.0 k6/websockets is missing', () => {
    const dir = join(repoRoot, 'base/loadtest/generated');
    assert.deepEqual(checkBundleDir(dir), []);
    const fanout = readFileSync(join(dir, 'fanout.js'), 'utf8');
    assert.ok(bundleImports(fanout).includes('k6/websockets'));
    const old = checkBundleImports('fanout.js', fanout, v054, 'v0.54.0').map(
      (p) => `${p.specifier}: ${p.message}`,
    );
    assert.deepEqual(old, ['k6/websockets: k6 v0.54.0 has no module k6/websockets']);
  });

  test('removed, deprecated, unknown and non-k6 imports are reported', () => {
    const { modules, version } = pinnedK6();
    const source = [
      "import redis from 'k6/experimental/redis';",
      "import { WebSocket } from 'k6/experimental/websockets';",
      "import x from 'k6/x/unknown';",
      "import { thing } from './lib.js';",
      "import http from 'k6/http';",
    ].join('\n');
    assert.deepEqual(
      checkBundleImports('b.js', source, modules, version).map((p) => p.specifier),
      ['./lib.js', 'k6/experimental/redis', 'k6/experimental/websockets', 'k6/x/unknown'],
    );
  });

  test('the TestRun runs the pinned k6 image; another version is an error', async () => {
    const objects = await rendered('base/loadtest');
    assert.deepEqual(checkTestRuns(ctx(objects, 'base/loadtest')), []);
    find(objects, 'TestRun', 'switchboard-fanout').spec.runner.image =
      'grafana/k6:0.54.0@sha256:1f40432b1cbe7234e977f96c362c9bc550a2d2b583d014dd8669fe40d3e9e755';
    const [p] = checkTestRuns(ctx(objects, 'base/loadtest'));
    assert.equal(p?.field, 'spec.runner.image');
    assert.match(p?.message ?? '', /the pinned k6 is grafana\/k6:2\.2\.0@sha256:/);
  });

  test('a TestRun script importing what the pinned k6 lacks is an error on the TestRun', async () => {
    const objects = await rendered('base/loadtest');
    const cm = objects.find((o) => o.kind === 'ConfigMap') as unknown as { data: Record<string, string> };
    cm.data['fanout.js'] = "import redis from 'k6/experimental/redis';\n";
    const [p] = checkTestRuns(ctx(objects, 'base/loadtest'));
    assert.equal(p?.object, 'TestRun/switchboard-fanout');
    assert.match(p?.message ?? '', /imports k6\/experimental\/redis: k6 v2\.2\.0 removed/);
  });

  test('npm run validate reports the bundles as a target', async () => {
    const { counts } = await validateRepository(repoRoot, zxRunner, []);
    assert.equal(counts.get('base/loadtest/generated'), 5);
  });
});
