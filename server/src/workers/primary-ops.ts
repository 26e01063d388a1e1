import { createServer, type Server, type ServerResponse } from 'node:http';
import client from 'prom-client';
import { registry } from '../telemetry/metrics.js';
import type { WorkerPool } from './worker-pool.js';

/** What a worker answers the primary's `status` request with. */
export interface WorkerStatus {
  ready: boolean;
  draining: boolean;
  connections: number;
}

export interface PrimaryOpsOptions {
  pool: WorkerPool;
  brokerConnected(): boolean;
  stopping(): boolean;
}

/**
 * METRICS_PORT of a pod with WORKERS>1, served by the primary:
 *   GET /healthz  200 while the primary runs
 *   GET /readyz   200 when the broker is connected, every worker listens and is ready, and the pod
 *                 is not draining; else 503
 *   GET /metrics  the workers' and the primary's registries aggregated (prom-client's
 *                 AggregatorRegistry: counters and gauges summed unless a metric names another
 *                 aggregator, e.g. switchboard_build_info `first`)
 */
export function createPrimaryOps(opts: PrimaryOpsOptions): Server {
  return createServer({ headersTimeout: 5000, requestTimeout: 10_000 }, (req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0];
    if (req.method !== 'GET') return answer(res, 405, { error: 'only GET' });
    if (path === '/healthz') return answer(res, 200, { status: 'ok' });
    if (path === '/readyz') {
      void readiness(opts).then(
        (r) => answer(res, r.ready ? 200 : 503, r),
        () => answer(res, 503, { ready: false }),
      );
      return;
    }
    if (path === '/metrics') {
      void aggregatedMetrics(opts.pool).then(
        (text) => {
          res.writeHead(200, { 'content-type': registry.contentType });
          res.end(text);
        },
        (err: unknown) => answer(res, 500, { error: `metrics: ${(err as Error).message}` }),
      );
      return;
    }
    answer(res, 404, { error: 'not found: /healthz, /readyz, /metrics' });
  });
}

async function readiness(opts: PrimaryOpsOptions) {
  const draining = opts.stopping();
  const broker = opts.brokerConnected() ? 'connected' : 'disconnected';
  const statuses = await opts.pool.ask<WorkerStatus | null>('status', null);
  const readyWorkers = statuses.filter((s) => s?.ready).length;
  const ready = !draining && broker === 'connected' && opts.pool.complete && readyWorkers === statuses.length;
  return { ready, draining, broker, workers: statuses.length, readyWorkers };
}

async function aggregatedMetrics(pool: WorkerPool): Promise<string> {
  const own = await registry.getMetricsAsJSON();
  const workers = await pool.ask<object[] | null>('metrics', null);
  // A worker that did not answer (exited, restarting) is left out of this scrape.
  const all: object[] = [own, ...workers.filter((w) => w !== null)];
  return client.AggregatorRegistry.aggregate(all).metrics();
}

function answer(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
