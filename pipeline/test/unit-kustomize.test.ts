// Rendered objects as files and diffs, digest pins in a kustomization, and building with the real
// kubectl (kustomize v5 built in).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  diffObjects,
  kustomizationFile,
  kustomizeBuild,
  objectFiles,
  objectKey,
  objectLabel,
  parseObjects,
  pinImageDigest,
  resolveKustomize,
  type RenderedObject,
} from '../src/kustomize/index.js';
import { actionsExecRunner } from '../src/runner.js';

const DIGEST = `sha256:${'a'.repeat(64)}`;
const obj = (
  apiVersion: string,
  kind: string,
  name: string,
  namespace?: string,
  rest = {},
): RenderedObject => ({
  apiVersion,
  kind,
  metadata: namespace ? { name, namespace } : { name },
  ...rest,
});

test('keys and labels name group, kind, namespace and name', () => {
  assert.equal(objectKey(obj('apps/v1', 'Deployment', 'web', 'prod')), 'apps/Deployment prod/web');
  assert.equal(objectKey(obj('v1', 'Namespace', 'prod')), 'core/Namespace prod');
  assert.equal(objectLabel(obj('apps/v1', 'Deployment', 'web', 'prod')), 'Deployment/prod/web');
  assert.equal(objectLabel(obj('v1', 'Namespace', 'prod')), 'Namespace/prod');
});

test('parsing skips empty documents and names the document that is not an object', () => {
  const text =
    '---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: b}\n';
  assert.deepEqual(
    parseObjects(text, 'out.yaml').map((o) => o.kind),
    ['ConfigMap', 'Secret'],
  );
  assert.throws(() => parseObjects('apiVersion: v1\nkind: X\n', 'out.yaml'), {
    message: 'out.yaml: document 1 lacks apiVersion, kind or metadata.name',
  });
  assert.throws(
    () => parseObjects('a: 1\n---\nkind: X\nmetadata: {name: n}\n', 'out.yaml'),
    /^Error: out\.yaml: document 1 lacks/,
  );
  assert.throws(() => parseObjects('a: [\n', 'out.yaml'), /^Error: out\.yaml: document 1: /);
  assert.throws(() => parseObjects('apiVersion: v1\nmetadata: {name: n}\n', 's'), /lacks/);
  assert.throws(() => parseObjects('apiVersion: v1\nkind: X\nmetadata: {}\n', 's'), /lacks/);
  assert.throws(() => parseObjects('"text"\n', 's'), /lacks/);
});

test('one file per object, sorted; the namespace and group only when two names collide', () => {
  const files = objectFiles([
    obj('v1', 'Service', 'Web_Api'),
    obj('v1', 'ConfigMap', 'cfg', 'a'),
    obj('apps/v1', 'ConfigMap', 'cfg', 'b'),
  ]);
  assert.deepEqual(
    [...files.keys()],
    ['a-core-configmap-cfg.yaml', 'b-apps-configmap-cfg.yaml', 'service-web-api.yaml'],
  );
  assert.equal(
    files.get('service-web-api.yaml'),
    'apiVersion: v1\nkind: Service\nmetadata:\n  name: Web_Api\n',
  );
  const cluster = objectFiles([obj('v1', 'Namespace', 'x'), obj('v1', 'Namespace', 'x', 'y')]);
  assert.deepEqual([...cluster.keys()], ['cluster-core-namespace-x.yaml', 'y-core-namespace-x.yaml']);
  assert.throws(() => objectFiles([obj('v1', 'Namespace', 'x'), obj('v1', 'Namespace', 'x')]), {
    message: 'two rendered objects map to cluster-core-namespace-x.yaml',
  });
});

test('the diff: removed, changed (with the paths three levels deep), added; unchanged counted', () => {
  const deploy = (image: string, replicas: number) =>
    obj('apps/v1', 'Deployment', 'web', 'prod', {
      spec: { replicas, template: { spec: { containers: [{ image }] } } },
    });
  const diff = diffObjects(
    [deploy('a', 1), obj('v1', 'ConfigMap', 'old', 'prod'), obj('v1', 'Service', 'same', 'prod')],
    [
      deploy('b', 2),
      obj('v1', 'ConfigMap', 'new', 'prod'),
      obj('v1', 'Service', 'same', 'prod'),
      obj('v1', 'ConfigMap', 'add', 'prod'),
    ],
  );
  assert.deepEqual(diff, {
    changes: [
      { key: 'core/ConfigMap prod/old', label: 'ConfigMap/prod/old', change: 'removed', fields: [] },
      {
        key: 'apps/Deployment prod/web',
        label: 'Deployment/prod/web',
        change: 'changed',
        fields: ['spec.replicas', 'spec.template.spec'],
      },
      { key: 'core/ConfigMap prod/add', label: 'ConfigMap/prod/add', change: 'added', fields: [] },
      { key: 'core/ConfigMap prod/new', label: 'ConfigMap/prod/new', change: 'added', fields: [] },
    ],
    unchanged: 1,
  });
  const kindChange = diffObjects(
    [obj('v1', 'ConfigMap', 'c', 'p', { data: [1] })],
    [obj('v1', 'ConfigMap', 'c', 'p', { data: { a: '1' } })],
  );
  assert.deepEqual(kindChange.changes[0]!.fields, ['data']);
  const keyAdded = diffObjects(
    [obj('v1', 'ConfigMap', 'c', 'p')],
    [obj('v1', 'ConfigMap', 'c', 'p', { data: { a: '1' } })],
  );
  assert.deepEqual(keyAdded.changes[0]!.fields, ['data']);
});

function overlay(text?: string, file = 'kustomization.yaml'): string {
  const dir = mkdtempSync(join(tmpdir(), 'kustomize-unit-'));
  if (text !== undefined) writeFileSync(join(dir, file), text);
  return dir;
}

test('pinning sets digest and newName, drops newTag, keeps comments and the rest of the file', () => {
  const dir = overlay(
    '# prod\nresources: [../../base]\nimages:\n  - name: other\n    newTag: "1"\n  - name: ghcr.io/s/server # pinned by CI\n    newTag: "2"\n',
  );
  const result = pinImageDigest(dir, {
    name: 'ghcr.io/s/server',
    newName: 'ghcr.io/acme/server',
    digest: DIGEST,
  });
  assert.equal(result.added, false);
  assert.equal(result.file, join(dir, 'kustomization.yaml'));
  assert.equal(
    result.after,
    `# prod\nresources: [ ../../base ]\nimages:\n  - name: other\n    newTag: "1"\n  - name: ghcr.io/s/server # pinned by CI\n    newName: ghcr.io/acme/server\n    digest: ${DIGEST}\n`,
  );
  assert.equal(readFileSync(result.file, 'utf8'), result.after);
});

test('pinning adds the entry, and the images list, when missing', () => {
  const dir = overlay('resources: [../../base]\n', 'kustomization.yml');
  const result = pinImageDigest(dir, { name: 'server', digest: DIGEST });
  assert.equal(result.added, true);
  assert.equal(result.file, join(dir, 'kustomization.yml'));
  assert.match(result.after, new RegExp(`^images:\\n  - name: server\\n    digest: ${DIGEST}\\n`, 'm'));
  const again = pinImageDigest(dir, { name: 'server', digest: `sha256:${'b'.repeat(64)}` });
  assert.equal(again.added, false);
  assert.doesNotMatch(again.after, /newName/);
});

test('pinning refuses what it cannot pin, naming the problem', () => {
  assert.throws(() => pinImageDigest(overlay('{}'), { name: 's', digest: 'sha256:abc' }), {
    message: 'digest "sha256:abc" is not sha256:<64 hex digits> (use build-image\'s digest output)',
  });
  assert.throws(() => pinImageDigest(overlay('{}'), { name: 's', digest: `${DIGEST}0` }), /is not sha256/);
  const empty = overlay();
  assert.throws(() => kustomizationFile(empty), {
    message: `${empty} has no kustomization.yaml: is it an overlay directory?`,
  });
  const list = overlay('- a\n');
  assert.throws(() => pinImageDigest(list, { name: 's', digest: DIGEST }), {
    message: `${join(list, 'kustomization.yaml')} is not a YAML mapping`,
  });
  const images = overlay('images: {name: s}\n');
  assert.throws(() => pinImageDigest(images, { name: 's', digest: DIGEST }), {
    message: `${join(images, 'kustomization.yaml')}: images: must be a list`,
  });
  const broken = overlay('images: [\n');
  assert.throws(
    () => pinImageDigest(broken, { name: 's', digest: DIGEST }),
    new RegExp(`^Error: ${join(broken, 'kustomization.yaml')}: `),
  );
  assert.equal(kustomizationFile(overlay('{}', 'Kustomization')).endsWith('/Kustomization'), true);
});

test("building with kubectl: the YAML stream, or kubectl's own error", async () => {
  assert.deepEqual(await resolveKustomize('kubectl', actionsExecRunner), {
    cmd: 'kubectl',
    args: ['kustomize'],
  });
  assert.deepEqual(await resolveKustomize({ path: '/opt/kustomize', kind: 'kustomize' }, actionsExecRunner), {
    cmd: '/opt/kustomize',
    args: ['build'],
  });
  assert.deepEqual(await resolveKustomize({ path: '/opt/kubectl', kind: 'kubectl' }, actionsExecRunner), {
    cmd: '/opt/kubectl',
    args: ['kustomize'],
  });
  const dir = overlay('resources: [cm.yaml]\n');
  writeFileSync(join(dir, 'cm.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n');
  assert.equal(
    await kustomizeBuild(dir, 'kubectl', actionsExecRunner),
    'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n',
  );
  const bad = overlay('resources: [missing.yaml]\n');
  await assert.rejects(kustomizeBuild(bad, 'kubectl', actionsExecRunner), (err: Error) => {
    assert.ok(err.message.startsWith(`kubectl kustomize ${bad} failed: `), err.message);
    assert.match(err.message, /missing\.yaml/);
    return true;
  });
  await assert.rejects(
    kustomizeBuild(dir, { path: join(dir, 'no-such-tool'), kind: 'kubectl' }, actionsExecRunner),
    {
      message: new RegExp(
        `^cannot run ${join(dir, 'no-such-tool')}: .* \\(install kubectl, which includes kustomize v5\\)$`,
      ),
    },
  );
});
