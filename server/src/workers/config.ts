import { availableParallelism } from 'node:os';

/** The most worker processes WORKERS may ask for: beyond any core count a pod is given. */
export const MAX_WORKERS = 64;

/**
 * WORKERS: how many worker processes share this node's port (docs/configuration.md). Unset or 1:
 * one process, today's code path. `auto`: one per core the process may use
 * (os.availableParallelism(), which honours the CPU affinity mask). Problems are pushed, not thrown,
 * so config.ts reports them with every other setting's.
 */
export function parseWorkers(raw: string | undefined, problems: string[]): number {
  if (raw === undefined) return 1;
  if (raw === 'auto') return Math.min(MAX_WORKERS, availableParallelism());
  const n = /^\d{1,3}$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > MAX_WORKERS) {
    problems.push(
      `WORKERS=${JSON.stringify(raw.slice(0, 32))} is invalid: set a whole number from 1 to ${MAX_WORKERS}, or auto (one per core)`,
    );
    return 1;
  }
  return n;
}

/** The node id a worker runs under: the pod's NODE_ID and the worker's cluster id (node-bus.ts relies on it). */
export function workerNodeId(nodeId: string, workerId: number): string {
  return `${nodeId}-w${workerId}`;
}
