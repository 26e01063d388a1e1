import type { Config } from '../config.js';

/**
 * Masking of credentials in log text. Field-path redaction (logger.ts) catches credentials put in
 * known fields; these functions catch them inside strings: a request URL's query, an error message
 * that quotes a header, a secret value pasted into a message.
 */

export const REDACTED = '[redacted]';

/** Query parameter names whose values are credentials (`token`, `access_token`, `api_key`, ...). */
const CREDENTIAL_PARAM = /token|secret|password|passwd|api[-_]?key|^auth|^jwt$/i;

/** `url` (path + query, as in `req.url`) with the values of credential parameters masked. */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const params = url
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const name = eq < 0 ? pair : pair.slice(0, eq);
      let decoded = name;
      try {
        decoded = decodeURIComponent(name);
      } catch {
        // keep the raw name
      }
      return eq >= 0 && CREDENTIAL_PARAM.test(decoded) ? `${name}=${REDACTED}` : pair;
    });
  return `${url.slice(0, q)}?${params.join('&')}`;
}

/**
 * Token shapes masked anywhere in a line:
 * - JWTs (`eyJ<header>.<payload>.<signature>`, the header is always base64url JSON)
 * - the Phoenix token subprotocol `base64url.bearer.phx.<token>`
 * - `Bearer <token>` (an Authorization header quoted in a message)
 * - `token=<value>` in URLs or form text
 * - the password of a URL with credentials (`redis://user:<password>@host`)
 */
const TOKEN_PATTERNS: [RegExp, string][] = [
  [/eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*/g, REDACTED],
  [/(base64url\.bearer\.phx\.)[A-Za-z0-9+/=_-]+/g, `$1${REDACTED}`],
  [/(\bBearer\s+)(?!\[redacted\])[^\s",}]+/gi, `$1${REDACTED}`],
  [/([?&;\s"]token=)(?!\[redacted\])[^&\s",}]+/gi, `$1${REDACTED}`],
  [/(\b[a-z][a-z0-9+.-]*:\/\/[^\s/:@"]*:)[^\s/@"]+@/gi, `$1${REDACTED}@`],
];

/**
 * The secret values of `config` to mask in every line: JWT_SECRET and API_TOKEN, except an
 * API_TOKEN generated for a dev run, which is printed once on purpose so the developer can use it.
 */
export function configuredSecrets(config: Pick<Config, 'jwt' | 'apiToken' | 'generatedSecrets'>): string[] {
  const out: string[] = [];
  if (config.jwt.secret) out.push(config.jwt.secret);
  if (config.apiToken && !config.generatedSecrets.includes('API_TOKEN')) out.push(config.apiToken);
  return out;
}

/**
 * Masks token shapes and the given secret values in a finished log line (JSON text). Secrets are
 * matched as they appear in JSON (escaped), so a secret with quotes or backslashes is caught too.
 */
export function scrubSecrets(line: string, secrets: readonly string[]): string {
  let out = line;
  for (const secret of secrets) {
    const asJson = JSON.stringify(secret).slice(1, -1);
    if (out.includes(asJson)) out = out.split(asJson).join(REDACTED);
  }
  for (const [pattern, replacement] of TOKEN_PATTERNS) {
    if (pattern.test(out)) {
      pattern.lastIndex = 0;
      out = out.replace(pattern, replacement);
    }
    pattern.lastIndex = 0;
  }
  return out;
}
