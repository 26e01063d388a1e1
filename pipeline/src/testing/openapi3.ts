import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { ValidateFunction } from 'ajv';
import { createAjv, describeAjvErrors, KNOWN_FORMATS } from './ajv.js';
import { coerceParam, compileTemplates, matchTemplate, type CompiledTemplate } from './path-match.js';
import { collectAllOfRefs, convertSchema, isRecord, type ConvertOptions } from './schema-convert.js';
import { SpecViolationError } from './spec-violation.js';
import type { MatchedOperation, SpecRequest } from './swagger2.js';

/** GitHub's REST description as shipped in the `@octokit/openapi` npm package. */
export function githubOpenApiPath(): string {
  const pkg = createRequire(import.meta.url).resolve('@octokit/openapi/package.json');
  return join(dirname(pkg), 'generated', 'api.github.com.json');
}

type Obj = Record<string, unknown>;
const SCHEMA_PREFIX = '#/components/schemas/';
const ID_PREFIX = 'https://openapi.invalid/schemas/';
const loaded = new Map<string, OpenApi3Validator>();

/**
 * Validates requests and responses against an OpenAPI 3.0 description (GitHub's, 13 MB): loaded once per
 * process, and only the operations actually exercised are compiled, pulling in just the component
 * schemas they reference. Handles `nullable`, `$ref`s to components (schemas, parameters, responses,
 * request bodies), closes objects like {@link Swagger2Validator}, and treats undescribed 4xx/5xx
 * answers as GitHub's `basic-error`. Every mismatch throws {@link SpecViolationError}.
 */
export class OpenApi3Validator {
  readonly specName: string;
  readonly #spec: Obj;
  readonly #templates: CompiledTemplate[];
  readonly #ajv = createAjv();
  readonly #convert: ConvertOptions;
  readonly #added = new Set<string>();
  readonly #pending: string[] = [];
  readonly #compiled = new Map<string, ValidateFunction>();

  /** GitHub's api.github.com description, parsed once per process. */
  static github(): OpenApi3Validator {
    const path = githubOpenApiPath();
    let validator = loaded.get(path);
    if (!validator) {
      validator = new OpenApi3Validator(
        JSON.parse(readFileSync(path, 'utf8')) as Obj,
        '@octokit/openapi api.github.com',
      );
      loaded.set(path, validator);
    }
    return validator;
  }

  constructor(spec: Obj, specName: string) {
    if (typeof spec.openapi !== 'string' || !spec.openapi.startsWith('3.')) {
      throw new Error(`${specName}: not an OpenAPI 3 description`);
    }
    this.#spec = spec;
    this.specName = specName;
    this.#templates = compileTemplates(Object.keys(spec.paths as Obj));
    const components = (spec.components ?? {}) as Obj;
    this.#convert = {
      rewriteRef: (ref) => {
        if (!ref.startsWith(SCHEMA_PREFIX)) throw new Error(`${specName}: unsupported schema $ref ${ref}`);
        const name = ref.slice(SCHEMA_PREFIX.length);
        if (!this.#added.has(name)) this.#pending.push(name);
        return ID_PREFIX + encodeURIComponent(name);
      },
      closeObjects: true,
      openRefs: collectAllOfRefs(components.schemas),
      formats: KNOWN_FORMATS,
    };
  }

  /** Matches and checks a request; returns the operation for {@link validateResponse}. */
  validateRequest(request: SpecRequest): MatchedOperation {
    const url = new URL(request.url, 'http://fake.invalid');
    const method = request.method.toLowerCase();
    const fail = (problems: string[]): never => {
      throw new SpecViolationError(this.specName, 'request', request.method, url.pathname, problems);
    };
    const paths = this.#spec.paths as Record<string, Obj>;
    const match = matchTemplate(this.#templates, url.pathname, (t) => method in (paths[t] ?? {}));
    if (!match) return fail([`unknown path: no path template in ${this.specName} matches ${url.pathname}`]);
    const pathItem = (this.#spec.paths as Obj)[match.template] as Obj;
    const operation = pathItem[method] as Obj | undefined;
    if (!operation) return fail([`method ${request.method} is not described for ${match.template}`]);
    const operationId = String(operation.operationId ?? `${method} ${match.template}`);
    const params = [...asArray(pathItem.parameters), ...asArray(operation.parameters)].map((p) =>
      this.#deref(p),
    );
    const problems: string[] = [];
    const query = params.filter((p) => p.in === 'query');
    for (const name of new Set(url.searchParams.keys())) {
      const param = query.find((p) => p.name === name);
      if (!param) problems.push(`unknown query parameter "${name}"`);
      else problems.push(...this.#checkParam(operationId, param, url.searchParams.getAll(name)));
    }
    for (const param of params) {
      if (param.in === 'query' && param.required === true && !url.searchParams.has(String(param.name))) {
        problems.push(`missing required query parameter "${String(param.name)}"`);
      }
      if (param.in === 'path') {
        const value = match.params[String(param.name)];
        if (value === undefined) problems.push(`path parameter "${String(param.name)}" is not in template`);
        else problems.push(...this.#checkParam(operationId, param, [value]));
      }
    }
    const requestBody = operation.requestBody ? this.#deref(operation.requestBody) : undefined;
    const bodySchema = (((requestBody?.content ?? {}) as Obj)['application/json'] as Obj | undefined)?.schema;
    if (request.body !== undefined) {
      if (!requestBody) problems.push('a body was sent but the operation takes none');
      else if (bodySchema === undefined) problems.push('the operation takes no application/json body');
      else {
        if (!/application\/json/i.test(request.contentType ?? '')) {
          problems.push(`content-type must be application/json (was "${request.contentType ?? ''}")`);
        }
        const validate = this.#compile(`${operationId} body`, bodySchema);
        if (!validate(request.body)) problems.push(...describeAjvErrors(validate.errors, 'body'));
      }
    } else if (requestBody?.required === true) {
      problems.push('missing required body');
    }
    if (problems.length > 0) fail(problems);
    return {
      method: request.method.toUpperCase(),
      template: match.template,
      operationId,
      pathParams: match.params,
      query: url.searchParams,
    };
  }

  /** Checks a response body against the operation's description for `status`. */
  validateResponse(operation: MatchedOperation, status: number, body: unknown): void {
    const op = ((this.#spec.paths as Obj)[operation.template] as Obj)[operation.method.toLowerCase()] as Obj;
    const responses = (op.responses ?? {}) as Obj;
    const where = `response ${status}`;
    const fail = (problems: string[]): never => {
      throw new SpecViolationError(this.specName, where, operation.method, operation.template, problems);
    };
    let entry = responses[String(status)] ?? responses.default;
    if (!entry && status >= 400)
      entry = { content: { 'application/json': { schema: { $ref: `${SCHEMA_PREFIX}basic-error` } } } };
    if (!entry)
      return fail([`status ${status} is not described (described: ${Object.keys(responses).join(', ')})`]);
    const content = (this.#deref(entry).content ?? {}) as Obj;
    const schema = (content['application/json'] as Obj | undefined)?.schema;
    if (schema === undefined) {
      if (body !== undefined) fail(['the description has no body for this status, but one was sent']);
      return;
    }
    const validate = this.#compile(`${operation.operationId} ${status}`, schema);
    if (!validate(body)) fail(describeAjvErrors(validate.errors, 'body'));
  }

  #checkParam(operationId: string, param: Obj, values: string[]): string[] {
    const schema = (param.schema ?? {}) as Obj;
    const validate = this.#compile(`${operationId} param ${String(param.in)} ${String(param.name)}`, schema);
    return validate(coerceParam(values, schema))
      ? []
      : describeAjvErrors(validate.errors, `${String(param.in)} parameter ${String(param.name)}`);
  }

  #compile(key: string, schema: unknown): ValidateFunction {
    let validate = this.#compiled.get(key);
    if (!validate) {
      const converted = convertSchema(schema, this.#convert);
      this.#addPendingComponents();
      validate = this.#ajv.compile(converted);
      this.#compiled.set(key, validate);
    }
    return validate;
  }

  /** Adds every component schema referenced so far (transitively) to Ajv, each under its own id. */
  #addPendingComponents(): void {
    const schemas = ((this.#spec.components as Obj).schemas ?? {}) as Obj;
    for (let name = this.#pending.pop(); name !== undefined; name = this.#pending.pop()) {
      if (this.#added.has(name)) continue;
      if (!(name in schemas)) throw new Error(`${this.specName}: $ref to missing schema ${name}`);
      this.#added.add(name);
      const open = this.#convert.openRefs.has(SCHEMA_PREFIX + name);
      this.#ajv.addSchema(
        convertSchema(schemas[name], this.#convert, open),
        ID_PREFIX + encodeURIComponent(name),
      );
    }
  }

  /** Resolves a local `$ref` (`#/components/parameters/owner`) to its object. */
  #deref(node: unknown): Obj {
    let current = node;
    for (let depth = 0; isRecord(current) && typeof current.$ref === 'string'; depth += 1) {
      if (depth > 10) throw new Error(`${this.specName}: $ref loop at ${current.$ref}`);
      const pointer = current.$ref
        .replace(/^#\//, '')
        .split('/')
        .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
      current = pointer.reduce<unknown>((acc, key) => (isRecord(acc) ? acc[key] : undefined), this.#spec);
    }
    if (!isRecord(current)) throw new Error(`${this.specName}: cannot resolve ${JSON.stringify(node)}`);
    return current;
  }
}

function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}
