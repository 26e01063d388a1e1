// Validates each rendered object against its published schema and reports fields the schema does
// not declare:
//   - kinds with a schema extracted from the pinned platform (platform/schemas/, the CRDs of the
//     versions in platform/versions.yaml: External Secrets, k6-operator's TestRun, Gateway API,
//     Envoy Gateway policies): ajv with that openAPIV3Schema;
//   - Kubernetes built-ins, Argo CD and prometheus-operator: the model classes of kubernetes-models
//     and its @kubernetes-models/* packages (compiled JSON-schema validators), each kind's module
//     listed in models.generated.ts (npm run validate:models) so a bundled action carries them.
//     Whether the pinned operator serves the apiVersion at all is the served-apis policy's question.
import { existsSync, readFileSync } from 'node:fs';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { SchemaFile } from '../platform/extract.js';
import { platformFile } from '../platform/root.js';
import { modelLoaders } from './models.generated.js';
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

/** The extracted schema of `group/version/Kind` from the pinned platform, if there is one. */
function platformSchemaFile(key: string): URL | undefined {
  const [group, version, kind] = key.split('/');
  if (!group || !version || !kind || !/^[\w.-]+$/.test(`${group}${version}${kind}`)) return undefined;
  const file = platformFile(`schemas/${group}_${kind}_${version}.json`);
  return existsSync(file) ? file : undefined;
}

const moduleCache = new Map<string, Promise<Record<string, unknown> | undefined>>();

/** The model class for apiVersion/kind, or undefined when no installed package has one. */
export async function modelFor(apiVersion: string, kind: string): Promise<ModelClass | undefined> {
  // One static import per kind (models.generated.ts), so a bundled action carries the schemas, and
  // importing just that kind's module keeps start-up fast.
  const key = `${apiVersion}/${kind}`;
  const load = modelLoaders.get(key);
  if (!load) return undefined;
  let p = moduleCache.get(key);
  if (!p) moduleCache.set(key, (p = load().catch(() => undefined)));
  const candidate: unknown = (await p)?.[kind];
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
  const file = platformSchemaFile(key);
  if (!file) return undefined;
  const [group, version, kind] = key.split('/');
  const extract = JSON.parse(readFileSync(file, 'utf8')) as SchemaFile;
  if (extract.group !== group || extract.kind !== kind || extract.version !== version) {
    throw new Error(`${file.pathname} does not define ${key}: run npm run platform:extract`);
  }
  const schema = extract.openAPIV3Schema as ObjectSchema;
  const ajv = new Ajv({ allErrors: true, strict: false });
  const addFormats = addFormatsModule as unknown as (a: Ajv) => Ajv;
  addFormats(ajv);
  for (const name of ['int32', 'int64']) ajv.addFormat(name, { type: 'number', validate: Number.isInteger });
  for (const name of ['double', 'float']) ajv.addFormat(name, { type: 'number', validate: () => true });
  ajv.addFormat('int-or-string', true);
  const built = { schema, validate: ajv.compile(schema) };
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
        `no schema known for ${key}: fix the apiVersion/kind, or add its model package or CRD to pipeline/src/validate/schema.ts`,
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
