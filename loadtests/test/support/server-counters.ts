/**
 * Reads the counters of one or more Switchboard processes from /metrics, added up across processes,
 * so a load test summary can be compared with what the servers themselves counted.
 */
import parsePrometheusTextFormat from 'parse-prometheus-text-format';

/** `sum(name{label="value",...})` over every scraped process; series keyed `name{a="x"}` and `name`. */
export type Counters = Map<string, number>;

/** Scrapes `/metrics` of every base URL and adds the series up. */
export async function scrapeCounters(httpUrls: string[]): Promise<Counters> {
  const out: Counters = new Map();
  for (const base of httpUrls) {
    const res = await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(10_000) });
    if (!res.ok) throw new Error(`${base}/metrics answered ${res.status}`);
    for (const family of parsePrometheusTextFormat(await res.text())) {
      for (const sample of family.metrics) {
        const value = Number(sample.value ?? NaN);
        if (!Number.isFinite(value)) continue;
        const labels = Object.entries(sample.labels ?? {})
          .map(([k, v]) => `${k}="${v}"`)
          .sort();
        for (const key of [family.name, ...labels.map((l) => `${family.name}{${l}}`)]) {
          out.set(key, (out.get(key) ?? 0) + value);
        }
      }
    }
  }
  return out;
}

/** after - before for one key (0 when absent). */
export function delta(before: Counters, after: Counters, key: string): number {
  return (after.get(key) ?? 0) - (before.get(key) ?? 0);
}
