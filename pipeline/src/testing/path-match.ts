/** Matches request paths against `{param}` path templates, most specific template first. */

export interface CompiledTemplate {
  template: string;
  regex: RegExp;
  names: string[];
  literalSegments: number;
}

/** Compiles templates like `/api/v1/applications/{application.metadata.name}`. */
export function compileTemplates(templates: string[]): CompiledTemplate[] {
  return templates
    .map((template) => {
      const names: string[] = [];
      let literalSegments = 0;
      const pattern = template
        .split('/')
        .map((segment) => {
          const match = /^\{([^}]+)\}$/.exec(segment);
          if (match) {
            names.push(match[1]!);
            return '([^/]+)';
          }
          literalSegments += 1;
          return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
        })
        .join('/');
      return { template, regex: new RegExp(`^${pattern}$`), names, literalSegments };
    })
    .sort((a, b) => b.literalSegments - a.literalSegments || b.template.length - a.template.length);
}

/**
 * The most specific template matching `pathname` that `accepts` (e.g. has the request's method), with
 * decoded path parameters. Several templates can match one path (`/applications/{name}` and
 * `/applications/{application.metadata.name}` differ only by method), hence the predicate.
 * Falls back to the most specific match when none accepts, so the caller can name the method problem.
 */
export function matchTemplate(
  templates: CompiledTemplate[],
  pathname: string,
  accepts: (template: string) => boolean = () => true,
): { template: string; params: Record<string, string> } | undefined {
  let fallback: { template: string; params: Record<string, string> } | undefined;
  for (const t of templates) {
    const m = t.regex.exec(pathname);
    if (!m) continue;
    const params: Record<string, string> = {};
    t.names.forEach((name, i) => (params[name] = decodeURIComponent(m[i + 1]!)));
    if (accepts(t.template)) return { template: t.template, params };
    fallback ??= { template: t.template, params };
  }
  return fallback;
}

/**
 * Converts query-string values to what a parameter schema expects (`"true"` -> true, `"5"` -> 5,
 * repeated keys -> array) so Ajv can check them. Leaves unconvertible values as strings for Ajv to reject.
 */
export function coerceParam(values: string[], schema: Record<string, unknown>): unknown {
  const type = schema.type;
  if (type === 'array') {
    const items = (schema.items ?? {}) as Record<string, unknown>;
    const flat = values.length === 1 && values[0]!.includes(',') ? values[0]!.split(',') : values;
    return flat.map((v) => coerceScalar(v, items.type));
  }
  return coerceScalar(values[values.length - 1] ?? '', type);
}

function coerceScalar(value: string, type: unknown): unknown {
  if (type === 'boolean') return value === 'true' ? true : value === 'false' ? false : value;
  if (type === 'integer' || type === 'number') {
    return value.trim() !== '' && Number.isFinite(Number(value)) ? Number(value) : value;
  }
  return value;
}
