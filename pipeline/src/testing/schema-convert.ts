/**
 * Converts Swagger 2.0 / OpenAPI 3.0 "schema objects" into JSON Schema that Ajv (draft-07) compiles:
 * keeps only validation keywords, rewrites `$ref`s, turns OpenAPI `nullable` into `anyOf [.., null]`,
 * turns draft-04 boolean `exclusiveMinimum/Maximum` into numbers, and optionally closes objects.
 *
 * Closing: API descriptions rarely say `additionalProperties: false`, so a misspelt field
 * (`revison`) would pass. With `closeObjects`, every object schema that lists `properties`, says nothing
 * about `additionalProperties` and is not composed (`allOf`/`anyOf`/`oneOf`) gets
 * `additionalProperties: false` -- except schemas used as `allOf` members (`openRefs`), where the
 * sibling schemas' properties would otherwise be rejected.
 */

/** A JSON Schema object as produced here. */
export type JsonSchema = Record<string, unknown>;

/** How to convert one document's schemas. */
export interface ConvertOptions {
  /** Maps a `$ref` as written in the source document to the `$ref` Ajv should resolve. */
  rewriteRef(ref: string): string;
  /** Add `additionalProperties: false` to plain object schemas (see module comment). */
  closeObjects: boolean;
  /** `$ref` strings (as written in the source) whose targets must stay open: allOf members. */
  openRefs: ReadonlySet<string>;
  /** Formats the validator checks; other `format` values are dropped rather than guessed at. */
  formats?: ReadonlySet<string>;
}

const COPIED = [
  'type',
  'enum',
  'format',
  'minimum',
  'maximum',
  'multipleOf',
  'minLength',
  'maxLength',
  'pattern',
  'minItems',
  'maxItems',
  'uniqueItems',
  'minProperties',
  'maxProperties',
  'required',
] as const;

/** Converts one schema object (recursively). `open` keeps this level from being closed. */
export function convertSchema(node: unknown, options: ConvertOptions, open = false): JsonSchema {
  if (node === true || node === undefined) return {};
  if (node === false) return { not: {} };
  if (typeof node !== 'object' || node === null) return {};
  const source = node as Record<string, unknown>;
  const nullable = source.nullable === true || source['x-nullable'] === true;

  let out: JsonSchema;
  if (typeof source.$ref === 'string') {
    // In Swagger 2.0 and OpenAPI 3.0, siblings of $ref are ignored.
    out = { $ref: options.rewriteRef(source.$ref) };
  } else {
    out = {};
    for (const key of COPIED) if (source[key] !== undefined) out[key] = source[key];
    // A parameter's boolean `required` is not JSON Schema's array form.
    if (!Array.isArray(out.required) || out.required.length === 0) delete out.required;
    if (typeof out.format === 'string' && options.formats && !options.formats.has(out.format))
      delete out.format;
    for (const [bound, limit] of [
      ['exclusiveMinimum', 'minimum'],
      ['exclusiveMaximum', 'maximum'],
    ] as const) {
      if (source[bound] === true && typeof source[limit] === 'number') {
        out[bound] = source[limit];
        delete out[limit];
      } else if (typeof source[bound] === 'number') out[bound] = source[bound];
    }
    if (isRecord(source.properties)) {
      out.properties = Object.fromEntries(
        Object.entries(source.properties).map(([name, schema]) => [name, convertSchema(schema, options)]),
      );
    }
    if (source.items !== undefined) out.items = convertSchema(source.items, options);
    if (typeof source.additionalProperties === 'boolean')
      out.additionalProperties = source.additionalProperties;
    else if (isRecord(source.additionalProperties)) {
      out.additionalProperties = convertSchema(source.additionalProperties, options);
    }
    let composed = false;
    for (const combinator of ['allOf', 'anyOf', 'oneOf'] as const) {
      const members = source[combinator];
      if (!Array.isArray(members)) continue;
      composed = true;
      // allOf members are open: each sees only its own properties.
      out[combinator] = members.map((m) => convertSchema(m, options, combinator === 'allOf'));
    }
    if (source.not !== undefined) out.not = convertSchema(source.not, options);
    if (
      options.closeObjects &&
      !open &&
      !composed &&
      out.properties !== undefined &&
      out.additionalProperties === undefined
    ) {
      out.additionalProperties = false;
    }
  }
  return nullable ? { anyOf: [out, { type: 'null' }] } : out;
}

/** Collects every `$ref` that appears directly as an `allOf` member anywhere in `doc`. */
export function collectAllOfRefs(doc: unknown): Set<string> {
  const refs = new Set<string>();
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const item of node) walk(item);
      return;
    }
    if (!isRecord(node)) return;
    if (Array.isArray(node.allOf)) {
      for (const member of node.allOf)
        if (isRecord(member) && typeof member.$ref === 'string') refs.add(member.$ref);
    }
    for (const value of Object.values(node)) walk(value);
  };
  walk(doc);
  return refs;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
