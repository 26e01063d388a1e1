// Checks requests and responses against docs/api.openapi.yaml (OpenAPI 3.1: its schemas are JSON
// Schema 2020-12, so Ajv's 2020 build validates them as written).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse } from 'yaml';

interface Spec {
  paths: Record<string, Record<string, Operation>>;
  components: { responses: Record<string, Response> };
}
interface Operation {
  requestBody?: { content: Record<string, { schema: unknown }> };
  responses: Record<string, Response | { $ref: string }>;
}
interface Response {
  content?: Record<string, { schema: unknown }>;
}

const file = fileURLToPath(new URL('../../../docs/api.openapi.yaml', import.meta.url));
export const apiSpec = parse(readFileSync(file, 'utf8')) as Spec;
const ajv = new Ajv2020({ strict: false, allErrors: true });
ajv.addSchema(apiSpec, 'api');

const pointer = (...parts: string[]) =>
  parts.map((p) => p.replaceAll('~', '~0').replaceAll('/', '~1')).join('/');

/** The path template of `path` (e.g. `/api/topics/room%3Aa` -> `/api/topics/{topic}`). */
export function templateOf(path: string): string {
  const segments = path.split('/');
  const hit = Object.keys(apiSpec.paths).find((t) => {
    const ts = t.split('/');
    return ts.length === segments.length && ts.every((s, i) => s.startsWith('{') || s === segments[i]);
  });
  if (!hit) throw new Error(`${path} is not in docs/api.openapi.yaml`);
  return hit;
}

function operation(method: string, path: string): [string, Operation] {
  const template = templateOf(path);
  const op = apiSpec.paths[template]![method.toLowerCase()];
  if (!op) throw new Error(`${method} ${template} is not in docs/api.openapi.yaml`);
  return [template, op];
}

function check(ref: string, value: unknown, what: string): void {
  const validate = ajv.getSchema(ref);
  if (!validate) throw new Error(`no schema at ${ref}`);
  if (!validate(value)) {
    throw new Error(`${what} does not match docs/api.openapi.yaml: ${ajv.errorsText(validate.errors)}`);
  }
}

/** Throws unless `status` is documented for the operation and `body` matches its schema. */
export function assertResponse(method: string, path: string, status: number, body: unknown): void {
  const [template, op] = operation(method, path);
  const documented = op.responses[String(status)];
  if (!documented) throw new Error(`${method} ${template}: status ${status} is not documented`);
  let ref = `api#/${pointer('paths', template, method.toLowerCase(), 'responses', String(status))}`;
  if ('$ref' in documented) ref = `api${documented.$ref}`;
  const response =
    '$ref' in documented ? apiSpec.components.responses[documented.$ref.split('/').pop()!]! : documented;
  if (!response.content) return;
  check(
    `${ref}/${pointer('content', 'application/json', 'schema')}`,
    body,
    `${method} ${template} ${status}`,
  );
}

/** Throws unless `body` matches the operation's documented request body. */
export function assertRequest(method: string, path: string, body: unknown): void {
  const [template, op] = operation(method, path);
  if (!op.requestBody) throw new Error(`${method} ${template} takes no body`);
  const ref = `api#/${pointer('paths', template, method.toLowerCase(), 'requestBody', 'content', 'application/json', 'schema')}`;
  check(ref, body, `${method} ${template} request`);
}
