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
