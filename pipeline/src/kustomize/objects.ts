/**
 * Rendered objects as files and as a diff: one YAML file per object (what Argo CD reads from the
 * deploy branch, and what reviews well in git), and a per-object added/changed/removed comparison.
 */
import { isDeepStrictEqual } from 'node:util';
import { parseAllDocuments, stringify } from 'yaml';

/** A rendered Kubernetes object (as kustomize prints it). */
export interface RenderedObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [field: string]: unknown };
  [field: string]: unknown;
}

/** `group/Kind namespace/name`: identifies an object across renders (the version may change). */
export function objectKey(o: RenderedObject): string {
  const group = o.apiVersion.includes('/') ? o.apiVersion.split('/')[0] : 'core';
  return `${group}/${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`;
}

/** `Kind/name` (with the namespace when set), as people name objects. */
export function objectLabel(o: RenderedObject): string {
  return `${o.kind}/${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`;
}

/** Parses multi-document YAML; every document must be an object with apiVersion, kind and metadata.name. */
export function parseObjects(text: string, source: string): RenderedObject[] {
  const out: RenderedObject[] = [];
  for (const [i, doc] of parseAllDocuments(text).entries()) {
    if (doc.errors.length > 0) throw new Error(`${source}: document ${i + 1}: ${doc.errors[0]!.message}`);
    const value = doc.toJS() as Partial<RenderedObject> | null;
    if (value === null || value === undefined) continue;
    if (typeof value !== 'object' || !value.apiVersion || !value.kind || !value.metadata?.name) {
      throw new Error(`${source}: document ${i + 1} lacks apiVersion, kind or metadata.name`);
    }
    out.push(value as RenderedObject);
  }
  return out;
}

const slug = (s: string) => s.toLowerCase().replace(/[^a-z0-9.-]+/g, '-');

/**
 * One file per object, `<kind>-<name>.yaml` (namespace prefixed only when two would collide), each the
 * object as kustomize printed it. Sorted by file name so the layout is stable between renders.
 */
export function objectFiles(objects: RenderedObject[]): Map<string, string> {
  const base = (o: RenderedObject) => `${slug(o.kind)}-${slug(o.metadata.name)}`;
  const counts = new Map<string, number>();
  for (const o of objects) counts.set(base(o), (counts.get(base(o)) ?? 0) + 1);
  const files = new Map<string, string>();
  for (const o of objects) {
    let name = base(o);
    if ((counts.get(name) ?? 0) > 1) {
      const group = o.apiVersion.includes('/') ? slug(o.apiVersion.split('/')[0]!) : 'core';
      name = `${slug(o.metadata.namespace ?? 'cluster')}-${group}-${name}`;
    }
    if (files.has(`${name}.yaml`)) throw new Error(`two rendered objects map to ${name}.yaml`);
    files.set(`${name}.yaml`, stringify(o, { lineWidth: 0 }));
  }
  return new Map([...files.entries()].sort(([a], [b]) => a.localeCompare(b)));
}

/** How one object changed between two renders. */
export interface ObjectChange {
  key: string;
  label: string;
  change: 'added' | 'changed' | 'removed';
  /** Top-level paths that differ (`spec.template`, `data.LOG_LEVEL`, ...), for `changed`. */
  fields: string[];
}

/** The differences between the previous and the new render, and how many objects stayed the same. */
export interface ObjectDiff {
  changes: ObjectChange[];
  unchanged: number;
}

function changedFields(a: unknown, b: unknown, prefix: string, depth: number, out: string[]): void {
  if (isDeepStrictEqual(a, b)) return;
  const isObj = (x: unknown): x is Record<string, unknown> =>
    typeof x === 'object' && x !== null && !Array.isArray(x);
  if (depth === 0 || !isObj(a) || !isObj(b)) {
    out.push(prefix || '(object)');
    return;
  }
  for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
    changedFields(a[k], b[k], prefix ? `${prefix}.${k}` : k, depth - 1, out);
  }
}

/** Compares two renders object by object (by {@link objectKey}); `fields` go three levels deep. */
export function diffObjects(previous: RenderedObject[], next: RenderedObject[]): ObjectDiff {
  const before = new Map(previous.map((o) => [objectKey(o), o]));
  const after = new Map(next.map((o) => [objectKey(o), o]));
  const changes: ObjectChange[] = [];
  let unchanged = 0;
  for (const [key, o] of after) {
    const old = before.get(key);
    if (!old) changes.push({ key, label: objectLabel(o), change: 'added', fields: [] });
    else if (isDeepStrictEqual(old, o)) unchanged++;
    else {
      const fields: string[] = [];
      changedFields(old, o, '', 3, fields);
      changes.push({ key, label: objectLabel(o), change: 'changed', fields });
    }
  }
  for (const [key, o] of before) {
    if (!after.has(key)) changes.push({ key, label: objectLabel(o), change: 'removed', fields: [] });
  }
  const order = { removed: 0, changed: 1, added: 2 };
  changes.sort((a, b) => order[a.change] - order[b.change] || a.label.localeCompare(b.label));
  return { changes, unchanged };
}
