// Finds fields a schema does not declare. The schema libraries accept unknown fields (Kubernetes
// schemas have no `additionalProperties: false`), yet a misspelt field is silently dropped by the
// API server -- `replcas: 3` deploys one pod. Two ways to know what a schema declares:
//   - findUnknownFields(): a JSON schema (a CRD's openAPIV3Schema), walked directly;
//   - traceValidation(): a compiled validator (kubernetes-models ships ajv standalone code, not
//     JSON). The validator reads every property its schema declares, present or not, and
//     enumerates the keys of maps (additionalProperties); a Proxy records those reads. A key the
//     validator never read is unknown; an object it read nothing from is free-form
//     (x-kubernetes-preserve-unknown-fields) and is not descended into.

/** A path into the object, as its segments (`['spec', 'template', 'spec']`). */
export type FieldPath = Array<string | number>;

/** Renders a path the way problems print fields: `spec.containers[0].ports[1].protocl`. */
export function formatPath(path: FieldPath): string {
  let out = '';
  for (const seg of path) out += typeof seg === 'number' ? `[${seg}]` : out === '' ? seg : `.${seg}`;
  return out;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** The subset of OpenAPI v3 / JSON Schema that CRDs use to describe objects. */
export interface ObjectSchema {
  type?: string | string[];
  properties?: Record<string, ObjectSchema>;
  additionalProperties?: boolean | ObjectSchema;
  items?: ObjectSchema | ObjectSchema[];
  allOf?: ObjectSchema[];
  anyOf?: ObjectSchema[];
  oneOf?: ObjectSchema[];
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  [keyword: string]: unknown;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Every property some branch of `schema` declares, and whether any branch allows any key. */
function declared(schema: ObjectSchema): {
  props: Map<string, ObjectSchema[]>;
  open: boolean;
  additional: ObjectSchema[];
} {
  const props = new Map<string, ObjectSchema[]>();
  const additional: ObjectSchema[] = [];
  let open = false;
  const visit = (s: ObjectSchema) => {
    for (const [k, v] of Object.entries(s.properties ?? {})) props.set(k, [...(props.get(k) ?? []), v]);
    if (s.additionalProperties === true) open = true;
    else if (isPlainObject(s.additionalProperties)) additional.push(s.additionalProperties as ObjectSchema);
    if (s['x-kubernetes-preserve-unknown-fields'] === true) open = true;
    for (const sub of [...(s.allOf ?? []), ...(s.anyOf ?? []), ...(s.oneOf ?? [])]) visit(sub);
  };
  visit(schema);
  // An object schema that declares nothing at all is free-form (e.g. CRD `metadata: {type: object}`).
  if (props.size === 0 && additional.length === 0) open = true;
  return { props, open, additional };
}

/** Paths of fields in `value` that `schema` (a CRD's openAPIV3Schema or part of it) does not declare. */
export function findUnknownFields(schema: ObjectSchema, value: unknown, path: FieldPath = []): FieldPath[] {
  const out: FieldPath[] = [];
  if (Array.isArray(value)) {
    const items = Array.isArray(schema.items) ? undefined : schema.items;
    if (items) value.forEach((v, i) => out.push(...findUnknownFields(items, v, [...path, i])));
    return out;
  }
  if (!isPlainObject(value)) return out;
  const { props, open, additional } = declared(schema);
  for (const [key, v] of Object.entries(value)) {
    const subs = props.get(key) ?? additional;
    if (subs.length === 0) {
      if (!open) out.push([...path, key]);
      continue;
    }
    // A key several branches declare is unknown below only if every branch rejects it.
    const found = subs.map((s) => findUnknownFields(s, v, [...path, key]));
    const fewest = found.reduce((a, b) => (b.length < a.length ? b : a));
    out.push(...fewest);
  }
  return out;
}

interface TraceNode {
  read: Set<string>;
  enumerated: boolean;
  children: Map<string, TraceNode>;
}

const newNode = (): TraceNode => ({ read: new Set(), enumerated: false, children: new Map() });

function traced(value: unknown, node: TraceNode): unknown {
  if (value === null || typeof value !== 'object') return value;
  return new Proxy(value as object, {
    get(target, key, receiver) {
      const v: unknown = Reflect.get(target, key, receiver);
      if (typeof key !== 'string') return v;
      node.read.add(key);
      if (!Object.prototype.hasOwnProperty.call(target, key)) return v;
      let child = node.children.get(key);
      if (!child) node.children.set(key, (child = newNode()));
      return traced(v, child);
    },
    has(target, key) {
      if (typeof key === 'string') node.read.add(key);
      return Reflect.has(target, key);
    },
    ownKeys(target) {
      node.enumerated = true;
      return Reflect.ownKeys(target);
    },
  });
}

function collectUnread(value: unknown, node: TraceNode, path: FieldPath, out: FieldPath[]): void {
  if (value === null || typeof value !== 'object') return;
  const isArray = Array.isArray(value);
  const keys = Object.keys(value);
  // Free-form: the validator looked at nothing inside this object.
  if (!isArray && !node.enumerated && node.read.size === 0) return;
  for (const key of keys) {
    if (!isArray && !node.enumerated && !node.read.has(key)) {
      out.push([...path, key]);
      continue;
    }
    const child = node.children.get(key);
    const seg = isArray ? Number(key) : key;
    if (child) collectUnread((value as Record<string, unknown>)[key], child, [...path, seg], out);
  }
}

/**
 * Runs `validate` (which throws or returns errors) on a recording proxy of `value`, and returns
 * what it returned or threw together with the paths of the fields it never looked at.
 */
export function traceValidation<T>(
  value: Json | object,
  validate: (data: unknown) => T,
): { result?: T; error?: unknown; unknown: FieldPath[] } {
  const root = newNode();
  let result: T | undefined;
  let error: unknown;
  try {
    result = validate(traced(value, root));
  } catch (err) {
    error = err;
  }
  const unknown: FieldPath[] = [];
  collectUnread(value, root, [], unknown);
  return { result, error, unknown };
}
