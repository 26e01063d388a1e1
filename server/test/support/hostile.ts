// Arbitraries and probes for the hostile-input property suites (issue 12, section 2): strings
// attackers choose (every own and inherited property name of Object/Array/Function prototypes,
// unicode, lone surrogates, very long), payload texts (deep, big, 1e400, duplicate keys) and the
// checks every property ends with (the node is up, RSS is bounded, a bystander still works).
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import type { SwitchboardProcess } from '../../../testkit/src/index.js';

/** Every own property name of the three prototypes (Array's and Function's inherit Object's). */
export const PROTOTYPE_NAMES: readonly string[] = [
  ...new Set(
    [Object.prototype, Array.prototype, Function.prototype].flatMap((p) => Object.getOwnPropertyNames(p)),
  ),
].sort();

/** Strings an attacker picks for ids, topics, events and keys. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...PROTOTYPE_NAMES) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 20 }) }, // lone surrogates too
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 200, maxLength: 400 }) }, // very long
);

/** A JSON payload as text, with what the server must do with it. */
export interface PayloadCase {
  text: string;
  /** Nesting depth of the text (arrays/objects). */
  depth: number;
}

const nest = (n: number) => ({ text: '['.repeat(n) + ']'.repeat(n), depth: n });

/** Payload texts: ordinary JSON, nesting around the limit and far beyond, numbers JS cannot hold, duplicate keys, lone surrogate escapes, prototype-named keys. */
export const hostilePayload: fc.Arbitrary<PayloadCase> = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }).map((v) => ({ text: JSON.stringify(v), depth: depthOf(JSON.stringify(v)) })),
  fc.integer({ min: 1, max: 128 }).map(nest),
  fc.integer({ min: 1000, max: 30_000 }).map(nest),
  fc.constantFrom('1e400', '-1e400', '1e-400', '123456789012345678901234567890', '-0', '0.1e1').map((n) => ({
    text: `{"n":${n}}`,
    depth: 1,
  })),
  fc.constant({ text: '{"a":1,"a":2,"a":{"a":3}}', depth: 2 }),
  fc.constant({ text: '{"s":"\\ud800","t":"\\udfff\\ud800"}', depth: 1 }),
  fc
    .uniqueArray(fc.constantFrom(...PROTOTYPE_NAMES), { minLength: 1, maxLength: 6 })
    .map((keys) => ({ text: `{${keys.map((k) => `${JSON.stringify(k)}:{"x":1}`).join(',')}}`, depth: 2 })),
  fc.integer({ min: 60_000, max: 70_000 }).map((n) => ({ text: JSON.stringify('x'.repeat(n)), depth: 0 })),
);

/** Deepest nesting of JSON text (strings skipped). */
export function depthOf(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '[' || c === '{') max = Math.max(max, ++depth);
    else if (c === ']' || c === '}') depth--;
  }
  return max;
}

/** Resident set size of a server process, in MiB (Linux /proc). */
export function rssMiB(node: SwitchboardProcess): number {
  const status = readFileSync(`/proc/${node.proc.child.pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
  return Math.round(kb / 1024);
}

/** The node answers its health probe and has not exited. */
export async function assertUp(node: SwitchboardProcess): Promise<void> {
  if (node.proc.child.exitCode !== null) throw new Error(`node exited:\n${node.output().slice(-4000)}`);
  const res = await fetch(`${node.metricsUrl}/healthz`);
  if (res.status !== 200) throw new Error(`/healthz answered ${res.status}`);
}
