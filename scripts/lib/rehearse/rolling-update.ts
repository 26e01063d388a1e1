// A Deployment's RollingUpdate, as the Deployment controller plays it when a later sync changes the
// pod template: new pods start (at most maxSurge above `replicas`), and each one, once ready, joins
// the Service's endpoints (the stand-in's nginx upstreams and Prometheus targets); then old pods are
// deleted while at least `replicas - maxUnavailable` stay available. A deleted pod leaves the
// endpoints at once (terminating: not ready in its EndpointSlice), and once the proxies have that --
// what the rendered preStop sleep waits for on a cluster; here the endpoints update itself is awaited
// -- it gets SIGTERM: readiness 503, its sockets drained with 1012 and a reconnect hint, exit.
// Terminating pods do not count (as in Kubernetes), so the next new pod starts while one drains.
import type { K8sObject } from '../../../pipeline/src/validate/index.js';
import type { Replica } from './replicas.js';

/** A RollingUpdate's bounds, resolved against the replica count. */
export interface RollingStrategy {
  maxSurge: number;
  maxUnavailable: number;
}

/** What a rolling update did, for the logs and the summary. */
export interface RollRecord {
  from: string[];
  to: string[];
  strategy: RollingStrategy;
  startedAt: number;
  endedAt: number;
  /** One line per pod started, ready, terminating and gone, with ms since the roll started. */
  events: string[];
}

/**
 * The rendered Deployment's strategy for `replicas` pods: percentages round up for maxSurge and down
 * for maxUnavailable, as Kubernetes does; both default to 25 %. Recreate is every pod down first.
 */
export function rollingStrategy(deployment: K8sObject, replicas: number): RollingStrategy {
  const strategy = (
    deployment.spec as
      | {
          strategy?: {
            type?: string;
            rollingUpdate?: { maxSurge?: number | string; maxUnavailable?: number | string };
          };
        }
      | undefined
  )?.strategy;
  if (strategy?.type === 'Recreate') return { maxSurge: 0, maxUnavailable: replicas };
  const resolve = (name: string, raw: number | string, round: (n: number) => number): number => {
    if (typeof raw === 'number') return raw;
    const m = /^(\d+)%$/.exec(raw);
    if (!m) throw new Error(`strategy.rollingUpdate.${name}: "${raw}" is neither a count nor a percentage`);
    return round((Number(m[1]) * replicas) / 100);
  };
  const maxSurge = resolve('maxSurge', strategy?.rollingUpdate?.maxSurge ?? '25%', Math.ceil);
  const maxUnavailable = resolve(
    'maxUnavailable',
    strategy?.rollingUpdate?.maxUnavailable ?? '25%',
    Math.floor,
  );
  if (maxSurge === 0 && maxUnavailable === 0) {
    // The API server refuses this Deployment; a rendered one cannot reach the stand-in like that.
    throw new Error('strategy.rollingUpdate: maxSurge and maxUnavailable cannot both be 0');
  }
  return { maxSurge, maxUnavailable };
}

/** Polls the pod's readiness until it is no longer 200 (or `gone` resolves), bounded by `timeoutMs`. */
async function notReady(replica: Replica, gone: Promise<unknown>, timeoutMs: number): Promise<void> {
  let exited = false;
  gone.then(
    () => (exited = true),
    () => (exited = true),
  );
  for (const deadline = Date.now() + timeoutMs; !exited && Date.now() < deadline;) {
    const ready = await fetch(`http://127.0.0.1:${replica.metricsPort}/readyz`, {
      signal: AbortSignal.timeout(1000),
    }).then(
      (r) => r.ok,
      () => false,
    );
    if (!ready) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Replaces every pod in `pods` (changed in place: new pods are added by `startPod`, old ones removed
 * when they leave the endpoints) with new ones, following `strategy`. `endpoints` is called with the
 * serving pods each time they change. Resolves once every old pod has exited.
 */
export async function rollingUpdate(opts: {
  pods: Replica[];
  replicas: number;
  strategy: RollingStrategy;
  /** Starts one pod from the new template, adds it to `pods`, resolves once it is ready. */
  startPod: () => Promise<Replica>;
  endpoints: (serving: Replica[]) => Promise<void>;
  /** SIGTERM to exit: the pod's terminationGracePeriodSeconds. */
  graceSeconds: number;
  /** Old pods, once stopped (their logs are kept). */
  retired: Replica[];
  log: (line: string) => void;
}): Promise<RollRecord> {
  const startedAt = Date.now();
  const events: string[] = [];
  const note = (line: string) => {
    events.push(`${((Date.now() - startedAt) / 1000).toFixed(1)} s: ${line}`);
    opts.log(`rolling update: ${line}`);
  };
  const old = [...opts.pods];
  const from = old.map((p) => p.name);
  const fresh: Replica[] = [];
  const exits: Promise<void>[] = [];
  // One endpoints update at a time, each with the pods serving at that moment.
  let chain = Promise.resolve();
  const publish = () => (chain = chain.then(() => opts.endpoints([...opts.pods])));
  // Resolves once the pod is out of the endpoints and draining; its exit is pushed to `exits`.
  const terminate = async (pod: Replica): Promise<void> => {
    // A deleted pod is not ready in its EndpointSlice at once; the preStop sleep holds SIGTERM back
    // until the proxies have that, so no new connection reaches a pod that refuses it (503 draining).
    opts.pods.splice(opts.pods.indexOf(pod), 1);
    await publish();
    note(`${pod.name} deleted: out of the endpoints`);
    const gone = pod.stop(opts.graceSeconds);
    // Never rejects: a pod that fails to stop is noted, and the roll goes on (Kubernetes kills it).
    exits.push(
      gone.then(
        () => {
          opts.retired.push(pod);
          note(`${pod.name} exited`);
        },
        (err: Error) => note(`${pod.name} did not stop cleanly: ${err.message}`),
      ),
    );
    await notReady(pod, gone, 10_000);
    note(`${pod.name} SIGTERM: not ready, draining its sockets with 1012 and a reconnect hint`);
  };
  while (old.length > 0 || fresh.length < opts.replicas) {
    const room = opts.replicas + opts.strategy.maxSurge - old.length - fresh.length;
    const toStart = Math.max(0, Math.min(room, opts.replicas - fresh.length));
    const started = await Promise.all(
      Array.from({ length: toStart }, async () => {
        const pod = await opts.startPod();
        await publish();
        note(`${pod.name} ready: in the endpoints`);
        return pod;
      }),
    );
    fresh.push(...started);
    const removable = Math.min(
      old.length,
      old.length + fresh.length - (opts.replicas - opts.strategy.maxUnavailable),
    );
    if (toStart === 0 && removable <= 0) throw new Error('rolling update cannot progress');
    // Out of the endpoints before the next pod starts; it drains meanwhile.
    await Promise.all(old.splice(0, Math.max(0, removable)).map(terminate));
  }
  await Promise.all(exits);
  await chain;
  return {
    from,
    to: fresh.map((p) => p.name),
    strategy: opts.strategy,
    startedAt,
    endedAt: Date.now(),
    events,
  };
}
