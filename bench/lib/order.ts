/** Seeded randomness for the order servers run in, and the statistics over repeated runs. */
import { seededRandom } from '../../testkit/src/index.js';

/** Fisher-Yates shuffle of a copy of `items`, driven by `seed`. */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
  const rand = seededRandom(seed);
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** The seed for one run and workload: distinct per pair, reproducible from the run's seed. */
export function orderSeed(seed: number, run: number, workload: number): number {
  return (Math.imul(seed, 1_000_003) + run * 101 + workload) >>> 0;
}

export interface Spread {
  median: number;
  min: number;
  max: number;
  /** How many values it is made of. */
  n: number;
}

/** Median and range; null for no values. */
export function spread(values: number[]): Spread | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { median, min: s[0]!, max: s.at(-1)!, n: s.length };
}

/** "median (min-max)" at `digits` decimals, or "-" for no values: a table cell. */
export function formatSpread(s: Spread | null, digits: number): string {
  const f = (v: number) => v.toFixed(digits);
  return s ? `${f(s.median)} (${f(s.min)}-${f(s.max)})` : '-';
}
