// What Argo CD renders for an Application's kustomize source: the tree at `targetRevision` of the
// repository, the source's overrides written into the path's kustomization the way Argo CD v3.5.1
// does (util/kustomize/kustomize.go Build(), commit 109ca7ca71139e514114499d294a492e7910a965: `kustomize
// edit set image` per image, `edit set namespace`, then its patches appended to `patches:`), built
// with kustomize (kubectl kustomize here).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import type { Application } from '../../../pipeline/src/argocd/index.js';
import { kustomizeBuild, parseObjects, type RenderedObject } from '../../../pipeline/src/kustomize/index.js';
import { $, run, zxRunner } from '../zx.js';

/** Argo CD's `[old=]new[:tag][@digest]` override as the images entry `kustomize edit set image` writes. */
export function imageOverride(spec: string): {
  name: string;
  newName: string;
  newTag?: string;
  digest?: string;
} {
  const eq = spec.indexOf('=');
  const replacement = eq >= 0 ? spec.slice(eq + 1) : spec;
  const m = /^(.+?)(?::([^:/@]+))?(?:@(sha256:[0-9a-f]{64}))?$/.exec(replacement);
  if (!m?.[1]) throw new Error(`kustomize images override "${spec}" is not [old=]new[:tag][@digest]`);
  return {
    name: eq >= 0 ? spec.slice(0, eq) : m[1],
    newName: m[1],
    ...(m[2] ? { newTag: m[2] } : {}),
    ...(m[3] ? { digest: m[3] } : {}),
  };
}

/** The rendered objects of `app`'s source, read from the bare repository `gitDir`. */
export async function renderApplicationSource(
  gitDir: string,
  app: Application,
): Promise<{ commit: string; objects: RenderedObject[] }> {
  const source = app.spec?.source;
  if (!source?.path) throw new Error(`application ${app.metadata?.name}: spec.source.path is empty`);
  const { stdout } = await run(
    $({ cwd: gitDir })`git rev-parse ${`${source.targetRevision || 'HEAD'}^{commit}`}`,
  ).catch(() => {
    throw new Error(
      `Unable to resolve '${source.targetRevision}' to a commit SHA (not in ${source.repoURL ?? 'the repository'})`,
    );
  });
  const commit = stdout.trim();
  const dir = mkdtempSync(join(tmpdir(), 'sb-argocd-source-'));
  try {
    await run($`git --git-dir=${gitDir} archive ${commit}`.pipe($`tar -x -C ${dir}`));
    const file = join(dir, source.path, 'kustomization.yaml');
    const doc = parseDocument(readFileSync(file, 'utf8'));
    const kz = source.kustomize ?? {};
    for (const spec of kz.images ?? []) {
      const entry = imageOverride(spec);
      // `edit set image` replaces the entry of that name (or adds one).
      const images = ((doc.get('images') as { toJSON(): unknown } | undefined)?.toJSON() ?? []) as {
        name?: string;
      }[];
      doc.set('images', [...images.filter((i) => i.name !== entry.name), entry]);
    }
    if (kz.namespace) doc.set('namespace', kz.namespace);
    if (kz.patches?.length) {
      const patches = ((doc.get('patches') as { toJSON(): unknown } | undefined)?.toJSON() ??
        []) as unknown[];
      doc.set('patches', [...patches, ...kz.patches]);
    }
    writeFileSync(file, doc.toString());
    const text = await kustomizeBuild(join(dir, source.path), 'kubectl', zxRunner);
    return { commit, objects: parseObjects(text, `${source.path}@${commit.slice(0, 12)}`) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
