/** An env-like record: config parsers take one so server/src/config.ts stays the only reader of process.env. */
export type Env = Record<string, string | undefined>;

/**
 * Readers of `env` that never throw: `read` gives a trimmed value (unset or blank: undefined);
 * `int` a whole number in [min, max], or `def` after adding a line to `problems` that names the
 * variable and the fix.
 */
export function envReader(env: Env, problems: string[]) {
  const read = (name: string): string | undefined => {
    const v = env[name]?.trim();
    return v === undefined || v === '' ? undefined : v;
  };
  const int = (name: string, def: number, min: number, max: number): number => {
    const raw = read(name);
    if (raw === undefined) return def;
    const n = /^\d+$/.test(raw) ? Number(raw) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      problems.push(
        `${name}=${JSON.stringify(raw)} is invalid: set ${name} to a whole number from ${min} to ${max} (default ${def}), or unset it`,
      );
      return def;
    }
    return n;
  };
  return { read, int };
}

/**
 * Reads an endpoint that Switchboard POSTs HMAC-signed requests to (`<PREFIX>_URL` and
 * `<PREFIX>_SECRET`, e.g. HOOKS_URL / HOOKS_SECRET): undefined when the URL is unset (then each of
 * `dependents` that is set is a problem). The URL must be http(s) and the secret 32+ characters;
 * each failure adds one line to `problems`. `who` names the receiving side in messages.
 */
export function signedEndpoint(
  env: Env,
  problems: string[],
  prefix: string,
  dependents: readonly string[],
  who: string,
): { url: string; secret: string } | undefined {
  const { read } = envReader(env, problems);
  const urlVar = `${prefix}_URL`;
  const secretVar = `${prefix}_SECRET`;
  const url = read(urlVar);
  if (url === undefined) {
    for (const name of [secretVar, ...dependents])
      if (read(name) !== undefined)
        problems.push(`${name} is set but ${urlVar} is not: set ${urlVar} or unset ${name}`);
    return undefined;
  }
  let parsed: URL | null = null;
  try {
    parsed = new URL(url);
  } catch {
    // reported below
  }
  if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
    problems.push(`${urlVar}=${JSON.stringify(url)} is invalid: set it to an http(s) URL of ${who}`);
  }
  const secret = read(secretVar) ?? '';
  if (secret.length < 32) {
    problems.push(
      `${urlVar} needs ${secretVar} of at least 32 characters (requests are HMAC-signed with it)`,
    );
  }
  return { url, secret };
}
