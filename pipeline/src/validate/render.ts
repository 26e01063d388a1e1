// Renders a kustomization with `kubectl kustomize` (kustomize v5 is built into kubectl) through the
// Runner its caller passes (scripts: zxRunner), and parses the multi-document YAML into objects. No
// process library is imported here: the render-manifests action bundles this library.
import { parseAllDocuments } from 'yaml';
import { tail, type Runner } from '../runner.js';
import type { K8sObject } from './types.js';

/** Why a render failed: kustomize's own message, plus the directory it was building. */
export class RenderError extends Error {
  readonly code = 'ERR_RENDER';
  constructor(
    readonly dir: string,
    detail: string,
  ) {
    super(`kubectl kustomize ${dir} failed: ${detail.trim()}`);
    this.name = 'RenderError';
  }
}

/**
 * `kubectl kustomize <dir>` as text, run in `cwd` by `runner`. `kubectl` comes from PATH unless
 * `KUBECTL` names another.
 */
export async function renderKustomization(dir: string, cwd: string, runner: Runner): Promise<string> {
  const kubectl = process.env.KUBECTL ?? 'kubectl';
  const out = await runner.run(kubectl, ['kustomize', dir], { cwd });
  if (out.exitCode === 0) return out.stdout;
  if (out.exitCode === 127)
    throw new RenderError(
      dir,
      `${kubectl} not found: install kubectl (it includes kustomize v5) or set KUBECTL`,
    );
  throw new RenderError(dir, `exit ${out.exitCode ?? out.signal}: ${tail(out.stderr || out.stdout)}`);
}

/** Parses rendered YAML; every document must be an object with apiVersion, kind and a name. */
export function parseManifests(text: string, source: string): K8sObject[] {
  const objects: K8sObject[] = [];
  for (const [i, doc] of parseAllDocuments(text).entries()) {
    if (doc.errors.length > 0) {
      throw new RenderError(source, `document ${i + 1}: ${doc.errors[0]?.message}`);
    }
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    const obj = value as Partial<K8sObject>;
    if (typeof obj !== 'object' || !obj.apiVersion || !obj.kind || !obj.metadata?.name) {
      throw new RenderError(source, `document ${i + 1} lacks apiVersion, kind or metadata.name`);
    }
    objects.push(obj as K8sObject);
  }
  return objects;
}

/** Renders (in `cwd`, by `runner`) and parses one kustomization directory. */
export async function renderObjects(dir: string, cwd: string, runner: Runner): Promise<K8sObject[]> {
  return parseManifests(await renderKustomization(dir, cwd, runner), dir);
}
