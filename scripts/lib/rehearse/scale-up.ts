// --scale-up: the HPA adds a pod while the load test runs, with the rebalancer on
// (REBALANCE_INTERVAL_MS). The new pod joins the Ingress's upstreams and Prometheus's targets as its
// Endpoints would; then every pod's connections are read until each holds within 20 % of an even
// share. Judged with the load test's own count of messages lost (the rollout scenario).
import { keyValueTable, table, type SummarySection } from '../../../pipeline/src/summary/index.js';
import type { MetricSummary } from '../../../loadtests/lib/summary.js';
import { formatDuration } from './progress.js';
import type { Replica } from './replicas.js';

/** Every pod within this share of the mean counts as even (issue 19: "within 20% of even"). */
export const EVEN_TOLERANCE = 0.2;

/** The rehearsal's rebalance interval: short, so a 40 s load sees several rounds. */
export const REHEARSAL_REBALANCE_INTERVAL_MS = 3000;

/** What the scale-up did and saw. */
export interface ScaleUpRecord {
  from: number;
  to: number;
  /** ms after the load test started when the new pod was asked for, and when it was ready. */
  requestedAtMs: number;
  readyAtMs: number;
  /** ms from the new pod's readiness until the spread stayed within tolerance; undefined: never. */
  convergedAfterMs?: number;
  /** Connections per pod before the scale-up, and at convergence (or the last sample). */
  before: { pod: string; connections: number }[];
  after: { pod: string; connections: number }[];
  /** Every sample after the new pod was ready: ms after the load started, connections per pod. */
  samples: { atMs: number; connections: number[] }[];
}

/** The pod's `switchboard_connections` gauge, read from its /metrics. */
export async function connectionsOf(replica: Replica): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${replica.metricsPort}/metrics`, {
    signal: AbortSignal.timeout(2000),
  });
  const value = /^switchboard_connections (\d+)$/m.exec(await res.text())?.[1];
  if (value === undefined) throw new Error(`${replica.name} exports no switchboard_connections`);
  return Number(value);
}

/** The largest distance of a pod's count from the mean, as a share of the mean (0 = perfectly even). */
export function unevenness(connections: number[]): number {
  const total = connections.reduce((a, b) => a + b, 0);
  if (connections.length === 0 || total === 0) return 0;
  const mean = total / connections.length;
  return Math.max(...connections.map((c) => Math.abs(c - mean))) / mean;
}

/**
 * At `atMs` after the load started, adds a pod; then samples every pod's connections every 500 ms until
 * two samples in a row are within EVEN_TOLERANCE and hold as many connections as before the scale-up
 * (no client still on its way back), or until `untilMs`.
 */
export async function scaleUpDuringLoad(opts: {
  addPod: () => Promise<Replica>;
  replicas: () => Replica[];
  loadStartedAt: number;
  atMs: number;
  untilMs: number;
  log: (line: string) => void;
}): Promise<ScaleUpRecord> {
  const since = () => Date.now() - opts.loadStartedAt;
  const wait = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
  const read = async (pods: Replica[]) => Promise.all(pods.map((p) => connectionsOf(p)));
  await wait(opts.atMs - since());
  const old = [...opts.replicas()];
  const beforeCounts = await read(old);
  const total = beforeCounts.reduce((a, b) => a + b, 0);
  const requestedAtMs = since();
  opts.log(`scale-up: ${old.length} -> ${old.length + 1} pods (${beforeCounts.join('/')} connections)`);
  await opts.addPod();
  const readyAtMs = since();
  const pods = [...opts.replicas()];
  const samples: ScaleUpRecord['samples'] = [];
  let evenSince: number | undefined;
  let convergedAfterMs: number | undefined;
  while (since() < opts.untilMs) {
    const connections = await read(pods);
    const atMs = since();
    samples.push({ atMs, connections });
    // At least the clients of before: fewer means some are between pods. More is fine: clients that
    // were reconnecting (after the roll) when the counts before were read have come back since.
    const even = unevenness(connections) <= EVEN_TOLERANCE && connections.reduce((a, b) => a + b, 0) >= total;
    if (!even) evenSince = undefined;
    else if (evenSince === undefined) evenSince = atMs;
    else {
      convergedAfterMs = evenSince - readyAtMs;
      break;
    }
    await wait(500);
  }
  const last = samples.at(-1)?.connections ?? [];
  opts.log(
    convergedAfterMs === undefined
      ? `scale-up: not within ${EVEN_TOLERANCE * 100} % of even by the end (${last.join('/')})`
      : `scale-up: within ${EVEN_TOLERANCE * 100} % of even ${formatDuration(convergedAfterMs)} after the new pod was ready (${last.join('/')})`,
  );
  return {
    from: old.length,
    to: pods.length,
    requestedAtMs,
    readyAtMs,
    ...(convergedAfterMs === undefined ? {} : { convergedAfterMs }),
    before: old.map((p, i) => ({ pod: p.name, connections: beforeCounts[i]! })),
    after: pods.map((p, i) => ({ pod: p.name, connections: last[i] ?? 0 })),
    samples,
  };
}

/** The scale-up's verdict: converged, and the load test's clients lost and repeated nothing. */
export function judgeScaleUp(
  record: ScaleUpRecord | undefined,
  metrics: Record<string, MetricSummary> | undefined,
): { ok: boolean; line: string; sections: SummarySection[] } {
  if (!record)
    return { ok: false, line: 'scale-up: did not happen (the load test ended first)', sections: [] };
  const count = (name: string) => metrics?.[name]?.values.count;
  const lost = count('continuity_messages_lost');
  const duplicated = count('continuity_messages_duplicated');
  const spread = `${record.after.map((a) => a.connections).join('/')} (${Math.round(unevenness(record.after.map((a) => a.connections)) * 100)} % from even)`;
  const converged = record.convergedAfterMs !== undefined;
  const ok = converged && lost === 0 && duplicated === 0;
  const line =
    `scale-up ${record.from} -> ${record.to} pods: ${converged ? `within ${EVEN_TOLERANCE * 100} % of even ${formatDuration(record.convergedAfterMs!)} after the new pod was ready` : `NOT within ${EVEN_TOLERANCE * 100} % of even`}, ` +
    `connections ${spread}; messages lost ${lost ?? 'not counted'}, duplicated ${duplicated ?? 'not counted'}` +
    (ok ? '' : ' -- expected even and 0 lost');
  const pods = record.after.map((a) => a.pod);
  return {
    ok,
    line,
    sections: [
      {
        heading: `Scale-up: ${record.from} -> ${record.to} pods with the rebalancer`,
        level: 2,
        table: keyValueTable([
          ['Verdict', ok ? 'even, nothing lost' : 'FAILED'],
          ['New pod asked for', `${formatDuration(record.requestedAtMs)} into the load test`],
          ['New pod ready', `${formatDuration(record.readyAtMs)} into the load test`],
          [
            'Even (within 20 %)',
            converged ? `${formatDuration(record.convergedAfterMs!)} after it was ready` : 'never',
          ],
          ['Before', record.before.map((b) => `${b.pod}: ${b.connections}`).join(', ')],
          ['After', record.after.map((a) => `${a.pod}: ${a.connections}`).join(', ')],
          ['Messages lost', String(lost ?? 'not counted (run the rollout scenario)')],
          ['Messages duplicated', String(duplicated ?? 'not counted')],
        ]),
      },
      {
        heading: 'Connections per pod after the new pod was ready',
        table: table(
          ['Into the load test', ...pods],
          record.samples.map((s) => [formatDuration(s.atMs), ...s.connections.map(String)]),
        ),
      },
    ],
  };
}
