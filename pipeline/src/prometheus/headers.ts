/**
 * Parses an action's multi-line `headers` input: one `Name: value` per line, blank lines and
 * `#` comments ignored. Header names must be HTTP tokens; a malformed line is an error naming it
 * (by number, never by content: the values are usually secrets).
 */
export function parseHeaderLines(input: string, inputName = 'headers'): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [index, raw] of input.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon).trim() : '';
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) {
      throw new Error(
        `${inputName}: line ${index + 1} is not "Name: value" (e.g. "Authorization: Bearer <token>", "X-Scope-OrgID: tenant")`,
      );
    }
    headers[name] = line.slice(colon + 1).trim();
  }
  return headers;
}
