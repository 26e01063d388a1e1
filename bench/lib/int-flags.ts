/** Command-line flags of the small benchmarks: whole-number flags with defaults, `--json FILE`, `--help`. */
import { parseArgs } from 'node:util';

/**
 * Parses `--name N` for every name in `defaults` (N >= 1, `seed` >= 0), plus `--json FILE` and
 * `-h/--help`. Throws a message naming the flag for anything else.
 */
export function parseIntFlags<K extends string>(
  argv: string[],
  defaults: Record<K, number>,
): ({ [P in K]: number } & { json?: string }) | 'help' {
  const names = Object.keys(defaults) as K[];
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {
    json: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  };
  for (const name of names) options[name] = { type: 'string' };
  const { values } = parseArgs({ args: argv, options });
  if (values.help) return 'help';
  const out = { json: values.json as string | undefined } as { [P in K]: number } & { json?: string };
  for (const name of names) {
    const raw = values[name] as string | undefined;
    const min = name === 'seed' ? 0 : 1;
    const n = raw === undefined ? defaults[name] : Number(raw);
    if (!Number.isInteger(n) || n < min)
      throw new Error(`--${name} must be a whole number >= ${min}, got ${raw}`);
    (out as Record<string, number>)[name] = n;
  }
  return out;
}
