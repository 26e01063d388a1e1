// Shared by the validate tests: the real production render, and small helpers to break one thing.
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  renderObjects,
  type K8sObject,
  type Problem,
  type TargetContext,
} from '../../pipeline/src/validate/index.js';
import { zxRunner } from '../lib/zx.js';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** Tests break arbitrary nested fields of manifests; one loose type keeps them readable. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Loose = any;

const cache = new Map<string, Promise<K8sObject[]>>();

/** A fresh deep copy of the rendered objects of `dir` (rendered once per test file). */
export async function rendered(dir: string): Promise<K8sObject[]> {
  let p = cache.get(dir);
  if (!p) cache.set(dir, (p = renderObjects(dir, repoRoot, zxRunner)));
  return structuredClone(await p);
}

/** The object `kind/name` in `objects`; throws if the fixture lacks it (a test bug). */
export function find(objects: K8sObject[], kind: string, name: string): K8sObject & Record<string, Loose> {
  const obj = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!obj) throw new Error(`fixture has no ${kind}/${name}`);
  return obj as K8sObject & Record<string, Loose>;
}

/** The container `name` of a workload's pod template. */
export function container(obj: Record<string, Loose>, name: string): Record<string, Loose> {
  const c = (obj.spec.template.spec.containers as Array<Record<string, Loose>>).find((x) => x.name === name);
  if (!c) throw new Error(`no container ${name}`);
  return c;
}

export function ctx(
  objects: K8sObject[],
  target = 'overlays/production',
  requireDigests = true,
): TargetContext {
  return { target, objects, requireDigests };
}

/** Compact form for assertions: `Kind/name field`. */
export function where(problems: Problem[]): string[] {
  return problems.map((p) => `${p.object} ${p.field}`);
}

/**
 * A scratch repository whose base/ is this one's (a symlink): `copy(env, name)` copies overlays/<env>
 * to overlays/<name> there and returns its directory, to change and render it (`render(name)`).
 * Removed after the test file.
 */
export function scratchOverlays(prefix: string): {
  copy(env: string, name: string): string;
  render(name: string): Promise<K8sObject[]>;
} {
  const scratch = mkdtempSync(join(tmpdir(), prefix));
  symlinkSync(join(repoRoot, 'base'), join(scratch, 'base'));
  mkdirSync(join(scratch, 'overlays'));
  after(() => rmSync(scratch, { recursive: true, force: true }));
  return {
    copy(env, name) {
      const dir = join(scratch, 'overlays', name);
      cpSync(join(repoRoot, 'overlays', env), dir, { recursive: true });
      return dir;
    },
    render: (name) => renderObjects(`overlays/${name}`, scratch, zxRunner),
  };
}
