import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ValidateFunction } from 'ajv';
import { createAjv, describeAjvErrors, KNOWN_FORMATS } from './ajv.js';
import { coerceParam, compileTemplates, matchTemplate, type CompiledTemplate } from './path-match.js';
import {
  collectAllOfRefs,
  convertSchema,
  isRecord,
  type ConvertOptions,
  type JsonSchema,
} from './schema-convert.js';
import { SpecViolationError } from './spec-violation.js';

/** The Argo CD description every fake Argo CD request/response is checked against. */
export const ARGOCD_SWAGGER_PATH = fileURLToPath(new URL('./specs/argocd-swagger.json', import.meta.url));

/** A request matched to an operation of the description. */
export interface MatchedOperation {
  method: string;
  /** The path template, e.g. `/api/v1/applications/{name}/sync`. */
  template: string;
  operationId: string;
  pathParams: Record<string, string>;
  query: URLSearchParams;
}

/** A request as the fakes see it. */
export interface SpecRequest {
  method: string;
  /** Path and query, e.g. `/api/v1/applications/x?cascade=true`. */
  url: string;
  contentType?: string;
  /** Parsed JSON body; undefined when there was none. */
  body?: unknown;
}

interface SwaggerParameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'body' | 'formData';
  required?: boolean;
  schema?: unknown;
  [key: string]: unknown;
}
interface SwaggerOperation {
  operationId?: string;
  parameters?: SwaggerParameter[];
  responses?: Record<string, { schema?: unknown }>;
}

const SPEC_ID = 'argocd-swagger.json';
const loaded = new Map<string, Swagger2Validator>();

/**
 * Validates requests and responses against a Swagger 2.0 description (Argo CD's): path template and
 * method must exist, every query parameter must be declared and well-typed, the body must match the
 * body parameter's schema (objects closed: unknown fields are errors), and the response must match the
 * schema for its status (or `default`). Every mismatch throws {@link SpecViolationError}.
 */
export class Swagger2Validator {
  readonly specName: string;
  readonly #paths: Record<string, Record<string, SwaggerOperation>>;
  readonly #templates: CompiledTemplate[];
  readonly #ajv = createAjv();
  readonly #convert: ConvertOptions;
  readonly #compiled = new Map<string, ValidateFunction>();

  /** Loads (once per file and process) and indexes a description. */
  static load(file: string | URL = ARGOCD_SWAGGER_PATH): Swagger2Validator {
    const path = file instanceof URL ? fileURLToPath(file) : file;
    let validator = loaded.get(path);
    if (!validator) {
      validator = new Swagger2Validator(
        JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>,
        path,
      );
      loaded.set(path, validator);
    }
    return validator;
  }

  constructor(spec: Record<string, unknown>, specName = SPEC_ID) {
    if (spec.swagger !== '2.0') throw new Error(`${specName}: not a Swagger 2.0 description`);
    this.specName = specName.split('/').at(-1) ?? specName;
    this.#paths = spec.paths as Record<string, Record<string, SwaggerOperation>>;
    this.#templates = compileTemplates(Object.keys(this.#paths));
    const definitions = (spec.definitions ?? {}) as Record<string, unknown>;
    this.#convert = {
      rewriteRef: (ref) => `${SPEC_ID}${ref}`,
      closeObjects: true,
      openRefs: collectAllOfRefs(definitions),
      formats: KNOWN_FORMATS,
    };
    const converted = Object.fromEntries(
      Object.entries(definitions).map(([name, schema]) => [
        name,
        convertSchema(schema, this.#convert, this.#convert.openRefs.has(`#/definitions/${name}`)),
      ]),
    );
    this.#ajv.addSchema({ $id: SPEC_ID, definitions: converted });
  }

  /** Matches and checks a request; returns the operation for {@link validateResponse}. */
  validateRequest(request: SpecRequest): MatchedOperation {
    const url = new URL(request.url, 'http://fake.invalid');
    const method = request.method.toLowerCase();
    const fail = (problems: string[]): never => {
      throw new SpecViolationError(this.specName, 'request', request.method, url.pathname, problems);
    };
    const match = matchTemplate(this.#templates, url.pathname, (t) => method in (this.#paths[t] ?? {}));
    if (!match) return fail([`unknown path: no path template in ${this.specName} matches ${url.pathname}`]);
    const operation = this.#paths[match.template]?.[method];
    if (!operation) {
      const allowed = Object.keys(this.#paths[match.template] ?? {}).join(', ');
      return fail([
        `method ${request.method} is not described for ${match.template} (described: ${allowed})`,
      ]);
    }
    const problems: string[] = [];
    const params = operation.parameters ?? [];
    const queryParams = new Map(params.filter((p) => p.in === 'query').map((p) => [p.name, p]));
    for (const name of new Set(url.searchParams.keys())) {
      const param = queryParams.get(name);
      if (!param) {
        problems.push(
          `unknown query parameter "${name}" (described: ${[...queryParams.keys()].join(', ') || 'none'})`,
        );
        continue;
      }
      problems.push(...this.#checkParam(match.template, method, param, url.searchParams.getAll(name)));
    }
    for (const param of params) {
      if (param.in === 'query' && param.required && !url.searchParams.has(param.name)) {
        problems.push(`missing required query parameter "${param.name}"`);
      }
      if (param.in === 'path') {
        const value = match.params[param.name];
        if (value === undefined) problems.push(`path parameter "${param.name}" is not in template`);
        else problems.push(...this.#checkParam(match.template, method, param, [value]));
      }
    }
    const bodyParam = params.find((p) => p.in === 'body');
    if (request.body !== undefined) {
      if (!bodyParam) problems.push('a body was sent but the operation takes none');
      else {
        if (!/application\/json/i.test(request.contentType ?? '')) {
          problems.push(`content-type must be application/json (was "${request.contentType ?? ''}")`);
        }
        const validate = this.#compile(`${method} ${match.template} body`, bodyParam.schema);
        if (!validate(request.body)) problems.push(...describeAjvErrors(validate.errors, 'body'));
      }
    } else if (bodyParam?.required) {
      problems.push(`missing required body (${describeRef(bodyParam.schema)})`);
    }
    if (problems.length > 0) fail(problems);
    return {
      method: request.method.toUpperCase(),
      template: match.template,
      operationId: operation.operationId ?? `${method} ${match.template}`,
      pathParams: match.params,
      query: url.searchParams,
    };
  }

  /** Checks a response body against the schema for `status` (falling back to `default`). */
  validateResponse(operation: MatchedOperation, status: number, body: unknown): void {
    const op = this.#paths[operation.template]?.[operation.method.toLowerCase()];
    const responses = op?.responses ?? {};
    const entry =
      responses[String(status)] ?? (status >= 300 || !responses['200'] ? responses.default : undefined);
    const where = `response ${status}`;
    if (!entry) {
      throw new SpecViolationError(this.specName, where, operation.method, operation.template, [
        `status ${status} is not described (described: ${Object.keys(responses).join(', ')})`,
      ]);
    }
    if (entry.schema === undefined) return;
    const validate = this.#compile(`${operation.method} ${operation.template} ${status}`, entry.schema);
    if (!validate(body)) {
      throw new SpecViolationError(
        this.specName,
        `${where} (${describeRef(entry.schema)})`,
        operation.method,
        operation.template,
        describeAjvErrors(validate.errors, 'body'),
      );
    }
  }

  #checkParam(template: string, method: string, param: SwaggerParameter, values: string[]): string[] {
    const { name: _name, in: _in, required: _required, description: _d, ...schema } = param;
    const validate = this.#compile(`${method} ${template} param ${param.in} ${param.name}`, schema);
    const value = coerceParam(values, schema);
    return validate(value) ? [] : describeAjvErrors(validate.errors, `${param.in} parameter ${param.name}`);
  }

  #compile(key: string, schema: unknown): ValidateFunction {
    let validate = this.#compiled.get(key);
    if (!validate) {
      validate = this.#ajv.compile(convertSchema(schema, this.#convert) as JsonSchema);
      this.#compiled.set(key, validate);
    }
    return validate;
  }
}

function describeRef(schema: unknown): string {
  return isRecord(schema) && typeof schema.$ref === 'string' ? schema.$ref : 'inline schema';
}
