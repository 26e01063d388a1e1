import { Ajv, type ErrorObject } from 'ajv';
import formatsModule, { type FormatsPlugin } from 'ajv-formats';

// ajv-formats is CommonJS with `exports.default`: under NodeNext the default import is module.exports.
const addFormats: FormatsPlugin =
  (formatsModule as unknown as { default?: FormatsPlugin }).default ??
  (formatsModule as unknown as FormatsPlugin);

/** Formats the validators check; any other `format` in a description is dropped (not guessed at). */
export const KNOWN_FORMATS: ReadonlySet<string> = new Set([
  'date',
  'time',
  'date-time',
  'uri',
  'uri-reference',
  'uri-template',
  'url',
  'email',
  'hostname',
  'ipv4',
  'ipv6',
  'uuid',
  'byte',
  'int32',
  'int64',
  'float',
  'double',
  'binary',
  'password',
]);

/** An Ajv instance configured for converted API descriptions: all errors, real formats. */
export function createAjv(): Ajv {
  const ajv = new Ajv({
    allErrors: true,
    strict: false,
    validateFormats: true,
    unicodeRegExp: false,
    // Descriptions are compiled lazily, one operation at a time; no meta-schema pass over 13 MB.
    validateSchema: false,
    addUsedSchema: false,
  });
  addFormats(ajv, { mode: 'full' });
  return ajv;
}

/** `/spec/revison: must NOT have additional properties (revison)` -- one line per Ajv error. */
export function describeAjvErrors(errors: ErrorObject[] | null | undefined, prefix = ''): string[] {
  const lines = (errors ?? []).map((e) => {
    const where = `${prefix}${e.instancePath}` || '(root)';
    const extra =
      e.keyword === 'additionalProperties'
        ? ` (${String((e.params as { additionalProperty?: string }).additionalProperty)})`
        : e.keyword === 'enum'
          ? ` (${JSON.stringify((e.params as { allowedValues?: unknown }).allowedValues)})`
          : '';
    return `${where}: ${e.message ?? e.keyword}${extra}`;
  });
  return [...new Set(lines)];
}
