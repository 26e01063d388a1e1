// Reads CustomResourceDefinitions as their projects publish them: which versions each kind serves,
// which one is stored, which are deprecated, and each version's openAPIV3Schema without its
// documentation (descriptions are most of a CRD's bytes and validation never reads them).
import { parseAllDocuments } from 'yaml';

/** What a cluster with this CRD installed answers for one kind. */
export interface ServedKind {
  group: string;
  kind: string;
  /** Versions with `served: true`, in the CRD's order. */
  served: string[];
  /** Versions the CRD still lists with `served: false`. */
  notServed: string[];
  /** Served versions marked `deprecated: true`. */
  deprecated: string[];
  storage: string;
  scope: string;
}

/** One version's schema of one kind. */
export interface KindSchema {
  group: string;
  kind: string;
  version: string;
  openAPIV3Schema: Record<string, unknown>;
}

interface CrdVersion {
  name: string;
  served?: boolean;
  storage?: boolean;
  deprecated?: boolean;
  schema?: { openAPIV3Schema?: Record<string, unknown> };
}

interface Crd {
  kind: string;
  spec: { group: string; scope: string; names: { kind: string }; versions: CrdVersion[] };
}

/** Every CRD document of a YAML file (other documents are ignored). */
export function parseCrds(text: string, source: string): Crd[] {
  const out: Crd[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`${source}: ${doc.errors[0]?.message}`);
    const value = doc.toJS() as Partial<Crd> | null;
    if (value?.kind !== 'CustomResourceDefinition') continue;
    if (!value.spec?.group || !value.spec.names?.kind || !Array.isArray(value.spec.versions)) {
      throw new Error(`${source}: a CustomResourceDefinition without spec.group, names.kind or versions`);
    }
    out.push(value as Crd);
  }
  if (out.length === 0) throw new Error(`${source}: no CustomResourceDefinition in it`);
  return out;
}

/** The served/stored/deprecated versions of a CRD. */
export function servedKind(crd: Crd): ServedKind {
  const v = crd.spec.versions;
  return {
    group: crd.spec.group,
    kind: crd.spec.names.kind,
    served: v.filter((x) => x.served === true).map((x) => x.name),
    notServed: v.filter((x) => x.served !== true).map((x) => x.name),
    deprecated: v.filter((x) => x.served === true && x.deprecated === true).map((x) => x.name),
    storage: v.find((x) => x.storage === true)?.name ?? '',
    scope: crd.spec.scope,
  };
}

const schemaMaps = ['properties', 'patternProperties', 'definitions'];
const schemaLists = ['allOf', 'anyOf', 'oneOf'];
const schemaOne = ['items', 'additionalProperties', 'not'];

/**
 * A copy of a JSON schema without documentation keywords (`description`, `example`). Only schema
 * nodes lose them: a property that happens to be named `description` is kept.
 */
export function stripDocs(schema: unknown): unknown {
  if (schema === null || typeof schema !== 'object' || Array.isArray(schema)) return schema;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema as Record<string, unknown>)) {
    if (key === 'description' || key === 'example') continue;
    if (schemaMaps.includes(key) && value && typeof value === 'object') {
      const props: Record<string, unknown> = {};
      for (const [name, sub] of Object.entries(value as Record<string, unknown>))
        props[name] = stripDocs(sub);
      out[key] = props;
    } else if (schemaLists.includes(key) && Array.isArray(value)) {
      out[key] = value.map(stripDocs);
    } else if (schemaOne.includes(key)) {
      out[key] = Array.isArray(value) ? value.map(stripDocs) : stripDocs(value);
    } else {
      out[key] = value;
    }
  }
  return out;
}

/** The schema of every served version of a CRD, documentation stripped. */
export function kindSchemas(crd: Crd): KindSchema[] {
  return crd.spec.versions
    .filter((v) => v.served === true && v.schema?.openAPIV3Schema)
    .map((v) => ({
      group: crd.spec.group,
      kind: crd.spec.names.kind,
      version: v.name,
      openAPIV3Schema: stripDocs(v.schema?.openAPIV3Schema) as Record<string, unknown>,
    }));
}
