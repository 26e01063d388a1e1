// The preview Application as Argo CD would render it: overlays/preview with the Application's
// kustomize overrides applied the way Argo CD applies them (`kustomize edit set image old=new:tag`,
// `kustomize edit add patch`), built with the real kustomize (kubectl kustomize). The preview must
// run the pull request's image and answer on its own host, accepting only its own origin.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { parse, parseAllDocuments, stringify } from 'yaml';
import type { Application } from '../../../pipeline/src/argocd/index.js';
import { buildPreviewApplication, previewNames } from '../src/application.js';
import { readPreviewConfig } from '../src/config.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));

interface Obj {
  kind: string;
  metadata: { name: string };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
}

/** Argo CD's `[old=]new:tag` / `[old=]new@digest` image override as a kustomize images entry. */
function imageEntry(spec: string): Record<string, string> {
  const [old, replacement] = spec.includes('=') ? spec.split('=', 2) : [undefined, spec];
  const m = /^(.+?)(?::([^:/@]+))?(?:@(sha256:[0-9a-f]{64}))?$/.exec(replacement!)!;
  const name = old ?? m[1]!;
  return { name, newName: m[1]!, ...(m[2] ? { newTag: m[2] } : {}), ...(m[3] ? { digest: m[3] } : {}) };
}

/** Renders the Application's source like Argo CD: overrides written into a copy of the overlay. */
function renderAsArgoCd(app: Application): Obj[] {
  const root = mkdtempSync(join(tmpdir(), 'preview-render-'));
  cpSync(join(repo, 'base'), join(root, 'base'), { recursive: true });
  cpSync(join(repo, 'overlays'), join(root, 'overlays'), { recursive: true });
  const dir = join(root, app.spec!.source!.path!);
  const file = join(dir, 'kustomization.yaml');
  const k = parse(readFileSync(file, 'utf8')) as {
    namespace?: string;
    images?: Record<string, string>[];
    patches?: unknown[];
  };
  const kz = app.spec!.source!.kustomize!;
  for (const spec of kz.images ?? []) {
    const entry = imageEntry(spec);
    // `kustomize edit set image` replaces the entry of the same name (or adds one).
    k.images = [...(k.images ?? []).filter((i) => i.name !== entry.name), entry];
  }
  k.patches = [...(k.patches ?? []), ...(kz.patches ?? [])];
  if (kz.namespace) k.namespace = kz.namespace;
  writeFileSync(file, stringify(k));
  const out = execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8', maxBuffer: 64 << 20 });
  return parseAllDocuments(out).map((d) => d.toJS() as Obj);
}

const find = (objs: Obj[], kind: string, name: string) =>
  objs.find((o) => o.kind === kind && o.metadata.name === name)!;

describe('the preview Application rendered as Argo CD renders it', () => {
  const config = readPreviewConfig(
    (name) =>
      ({
        server: 'https://argocd.example.com',
        token: 't',
        'repo-url': 'https://github.com/acme/switchboard.git',
        image: 'ghcr.io/acme/switchboard',
        'manifest-image': 'ghcr.io/switchboard/server',
        'url-template': 'https://pr-{number}.preview.example.com',
        'github-token': 'g',
      })[name] ?? '',
  );
  const pr = (number: number, headSha: string) =>
    ({ number, headSha, action: 'opened', owner: 'acme', repo: 'switchboard' }) as Parameters<
      typeof previewNames
    >[1];

  it("runs the pull request's own commit image under its own host and origin", () => {
    const renders = [
      [21, 'c'.repeat(40)],
      [22, 'd'.repeat(40)],
    ].map(([n, sha]) => {
      const p = pr(n as number, sha as string);
      return {
        sha: sha as string,
        n,
        objs: renderAsArgoCd(buildPreviewApplication(config, p, previewNames(config, p))),
      };
    });
    for (const { sha, n, objs } of renders) {
      const pod = (
        find(objs, 'Deployment', 'switchboard').spec as {
          template: { spec: { containers: { name: string; image: string }[] } };
        }
      ).template.spec;
      assert.equal(pod.containers.find((c) => c.name === 'server')!.image, `ghcr.io/acme/switchboard:${sha}`);
      const rules = (find(objs, 'Ingress', 'switchboard').spec as { rules: { host: string }[] }).rules;
      assert.equal(rules[0]!.host, `pr-${n}.preview.example.com`);
      assert.equal(
        find(objs, 'ConfigMap', 'switchboard-config').data!.ALLOWED_ORIGINS,
        `https://pr-${n}.preview.example.com`,
      );
      // The host ConfigMap only carries the value: it is never deployed.
      assert.equal(
        objs.some((o) => o.metadata.name === 'switchboard-preview-host'),
        false,
      );
    }
  });

  it('an override that names another image than the Deployment uses changes nothing (the old bug)', () => {
    const p = pr(23, 'e'.repeat(40));
    const app = buildPreviewApplication(config, p, previewNames(config, p));
    app.spec!.source!.kustomize!.images = [`ghcr.io/acme/switchboard:pr-23`];
    const objs = renderAsArgoCd(app);
    const pod = (
      find(objs, 'Deployment', 'switchboard').spec as {
        template: { spec: { containers: { name: string; image: string }[] } };
      }
    ).template.spec;
    assert.notEqual(pod.containers.find((c) => c.name === 'server')!.image, 'ghcr.io/acme/switchboard:pr-23');
  });
});
