// Validates each rendered object against its published schema and reports fields the schema does
// not declare:
//   - Kubernetes built-ins, Argo CD, prometheus-operator and External Secrets: the model classes of
//     kubernetes-models and its @kubernetes-models/* packages (compiled JSON-schema validators);
//   - k6-operator's TestRun: ajv with the CRD's openAPIV3Schema (/work/shared/specs, copied to
//     scripts/lib/validate/crds/ so a clone has it).
import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { parse } from 'yaml';
import { problem, type K8sObject, type Problem, type TargetContext } from './types.js';
import {
  findUnknownFields,
  formatPath,
  traceValidation,
  type FieldPath,
  type ObjectSchema,
} from './unknown-fields.js';

/** What a model module exports: classes with static apiVersion/kind and a validating instance method. */
interface ModelClass {
  apiVersion?: string;
  kind?: string;
  prototype: { validate(this: unknown): void };
}

/** apiVersion -> module that exports its model classes. kubernetes-models covers the rest by group. */
const modelModules: Record<string, string> = {
  'argoproj.io/v1alpha1': '@kubernetes-models/argo-cd/argoproj.io/v1alpha1',
  'monitoring.coreos.com/v1': '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1',
  'monitoring.coreos.com/v1alpha1': '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1alpha1',
  'external-secrets.io/v1beta1': '@kubernetes-models/external-secrets/external-secrets.io/v1beta1',
  'external-secrets.io/v1': '@kubernetes-models/external-secrets/external-secrets.io/v1',
};

/** CRDs without a model package: validated with ajv against their openAPIV3Schema. */
const crdFiles: Record<string, URL> = {
  'k6.io/v1alpha1/TestRun': new URL('./crds/k6-operator-testrun-crd.yaml', import.meta.url),
};

const moduleCache = new Map<string, Promise<Record<string, unknown> | undefined>>();

function importOnce(spec: string): Promise<Record<string, unknown> | undefined> {
  let p = moduleCache.get(spec);
  if (!p) {
    p = import(spec).then(
      (m: Record<string, unknown>) => m,
      () => undefined,
    );
    moduleCache.set(spec, p);
  }
  return p;
}

/** The model class for apiVersion/kind, or undefined when no installed package has one. */
export async function modelFor(apiVersion: string, kind: string): Promise<ModelClass | undefined> {
  // kubernetes-models names its modules after the apiVersion (`v1`, `apps/v1`, `networking.k8s.io/v1`)
  // and has one module per kind: importing just that one keeps start-up fast.
  const base = modelModules[apiVersion] ?? `kubernetes-models/${apiVersion}`;
  const mod = (await importOnce(`${base}/${kind}`)) ?? (await importOnce(base));
  const candidate: unknown = mod?.[kind];
  if (typeof candidate !== 'function') return undefined;
  const model = candidate as unknown as ModelClass;
  return model.apiVersion === apiVersion && model.kind === kind ? model : undefined;
}

interface CrdValidator {
  schema: ObjectSchema;
  validate: ValidateFunction;
}

const crdCache = new Map<string, CrdValidator>();

/** ajv for a CRD version's openAPIV3Schema (OpenAPI keywords such as x-kubernetes-* are ignored). */
export function crdValidator(key: string): CrdValidator | undefined {
  const cached = crdCache.get(key);
  if (cached) return cached;
  const file = crdFiles[key];
  if (!file) return undefined;
  const [group, version, kind] = key.split('/');
  const crd = parse(readFileSync(file, 'utf8')) as {
    spec: {
      group: string;
      names: { kind: string };
      versions: Array<{ name: string; schema: { openAPIV3Schema: ObjectSchema } }>;
    };
  };
  const v = crd.spec.versions.find((x) => x.name === version);
  if (crd.spec.group !== group || crd.spec.names.kind !== kind || !v) {
    throw new Error(`${file.pathname} does not define ${key}`);
  }
  const ajv = new Ajv({ allErrors: true, strict: false });
  const addFormats = addFormatsModule as unknown as (a: Ajv) => Ajv;
  addFormats(ajv);
  for (const name of ['int32', 'int64']) ajv.addFormat(name, { type: 'number', validate: Number.isInteger });
  for (const name of ['double', 'float']) ajv.addFormat(name, { type: 'number', validate: () => true });
  ajv.addFormat('int-or-string', true);
  const built = { schema: v.schema.openAPIV3Schema, validate: ajv.compile(v.schema.openAPIV3Schema) };
  crdCache.set(key, built);
  return built;
}

function ajvProblems(
  ctx: TargetContext,
  obj: K8sObject,
  errors: ErrorObject[] | null | undefined,
): Problem[] {
  return (errors ?? []).map((e) => {
    const segs: FieldPath = e.instancePath
      .split('/')
      .slice(1)
      .map((s) => (/^\d+$/.test(s) ? Number(s) : s.replace(/~1/g, '/').replace(/~0/g, '~')));
    const missing = (e.params as { missingProperty?: string }).missingProperty;
    if (missing) segs.push(missing);
    const field = formatPath(segs) || '(object)';
    return problem(ctx, 'schema', obj, field, `${e.message ?? 'is invalid'} (${e.keyword})`);
  });
}

/**
 * Fields the real API declares but a model package's schema lost: @kubernetes-models/argo-cd's
 * generator strips every key named `description` from the CRD schema -- the documentation keyword and,
 * by accident, properties of that name. Paths use `[*]` for any list index.
 */
export const knownSchemaGaps: Record<string, string[]> = {
  'argoproj.io/v1alpha1/AppProject': ['spec.description', 'spec.roles[*].description'],
};

function unknownProblems(ctx: TargetContext, obj: K8sObject, found: FieldPath[]): Problem[] {
  const gaps = knownSchemaGaps[`${obj.apiVersion}/${obj.kind}`] ?? [];
  const paths = found.filter((p) => !gaps.includes(formatPath(p).replace(/\[\d+\]/g, '[*]')));
  return paths.map((p) =>
    problem(
      ctx,
      'unknown-field',
      obj,
      formatPath(p),
      `not a field of ${obj.apiVersion} ${obj.kind}: the API server would drop it (misspelt or misplaced?)`,
    ),
  );
}

/** Schema errors and unknown fields of one object. */
export async function validateObjectSchema(ctx: TargetContext, obj: K8sObject): Promise<Problem[]> {
  const key = `${obj.apiVersion}/${obj.kind}`;
  const crd = crdValidator(key);
  if (crd) {
    const ok = crd.validate(obj);
    return [
      ...(ok ? [] : ajvProblems(ctx, obj, crd.validate.errors)),
      ...unknownProblems(ctx, obj, findUnknownFields(crd.schema, obj)),
    ];
  }
  const model = await modelFor(obj.apiVersion, obj.kind);
  if (!model) {
    return [
      problem(
        ctx,
        'schema',
        obj,
        'apiVersion',
        `no schema known for ${key}: fix the apiVersion/kind, or add its model package or CRD to scripts/lib/validate/schema.ts`,
      ),
    ];
  }
  const { error, unknown } = traceValidation(obj, (data) => model.prototype.validate.call(data));
  const errors = (error as { errors?: ErrorObject[] } | undefined)?.errors;
  if (error && !errors) throw error;
  return [...ajvProblems(ctx, obj, errors), ...unknownProblems(ctx, obj, unknown)];
}

/** Schema and unknown-field problems of every object in the target. */
export async function validateSchemas(ctx: TargetContext): Promise<Problem[]> {
  const out: Problem[] = [];
  for (const obj of ctx.objects) out.push(...(await validateObjectSchema(ctx, obj)));
  return out;
}
