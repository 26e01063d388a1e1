// A canary render: the environment as it runs (the previous render, untouched: the stable Deployment
// keeps its image and its pods are not rolled) plus the new release beside it -- a copy of the new
// render's Deployment/switchboard named switchboard-canary, 1 replica, `track: canary` -- and what
// the new render adds (the canary component's move Job, its policies, the stable pods' Service, a
// ConfigMap with a new hash). Objects both renders have keep the previous version: the stable pods
// must not see the new release's configuration.
import { objectKey, type RenderedObject } from './objects.js';

/** The share of each stable pod's connections the move Job closes, and over how long. */
export interface CanaryMove {
  percent: number;
  windowMs: number;
}

export const CANARY_DEPLOYMENT = 'switchboard-canary';
const STABLE_DEPLOYMENT = 'switchboard';
export const MOVE_JOB = 'switchboard-canary-move';
/** The server's bound on a share drain's window (server/src/transport/api-drain.ts). */
export const MAX_MOVE_WINDOW_MS = 600_000;

/** Checks a move; the error names the input and what it takes. */
export function checkCanaryMove(move: CanaryMove): CanaryMove {
  if (!Number.isInteger(move.percent) || move.percent < 1 || move.percent > 100) {
    throw new Error(`canary-percent: ${move.percent} must be a whole number from 1 to 100`);
  }
  if (!Number.isInteger(move.windowMs) || move.windowMs < 0 || move.windowMs > MAX_MOVE_WINDOW_MS) {
    throw new Error(
      `canary-window-ms: ${move.windowMs} must be a whole number from 0 to ${MAX_MOVE_WINDOW_MS}`,
    );
  }
  return move;
}

interface PodTemplated {
  spec: {
    replicas?: number;
    selector: { matchLabels: Record<string, string> };
    template: {
      metadata: { labels: Record<string, string> };
      spec: { containers: { name: string; env?: { name: string; value?: string }[] }[] };
    };
  };
}

function findObject(objects: RenderedObject[], kind: string, name: string, render: string): RenderedObject {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`the ${render} has no ${kind}/${name}`);
  return found;
}

/** The new render's server Deployment as the canary: its own selector, 1 replica, no HPA. */
function canaryDeployment(stable: RenderedObject): RenderedObject {
  const copy = structuredClone(stable) as RenderedObject & PodTemplated;
  copy.metadata.name = CANARY_DEPLOYMENT;
  copy.metadata.labels = { ...(copy.metadata.labels as Record<string, string>), track: 'canary' };
  copy.spec.replicas = 1;
  // Its selector must not match the stable pods (theirs matches the canary's: it cannot change).
  copy.spec.selector.matchLabels = { ...copy.spec.selector.matchLabels, track: 'canary' };
  copy.spec.template.metadata.labels = { ...copy.spec.template.metadata.labels, track: 'canary' };
  return copy;
}

/** The move Job with the step's share and window in its environment. */
function sizedMoveJob(job: RenderedObject, move: CanaryMove): RenderedObject {
  const copy = structuredClone(job) as RenderedObject & PodTemplated;
  const container = copy.spec.template.spec.containers[0];
  if (!container) throw new Error(`Job/${MOVE_JOB} has no container`);
  const set = new Map([
    ['MOVE_PERCENT', String(move.percent)],
    ['MOVE_WINDOW_MS', String(move.windowMs)],
  ]);
  container.env = [
    ...(container.env ?? []).filter((e) => !set.has(e.name)),
    ...[...set].map(([name, value]) => ({ name, value })),
  ];
  return copy;
}

/**
 * The canary render from `previous` (what runs) and `next` (the new release rendered with the canary
 * component, e.g. overlays/production-canary). Throws when either lacks what the canary needs.
 */
export function canaryRender(
  previous: RenderedObject[],
  next: RenderedObject[],
  move: CanaryMove,
): RenderedObject[] {
  checkCanaryMove(move);
  findObject(previous, 'Deployment', STABLE_DEPLOYMENT, 'previous render (a canary needs a running release)');
  if (previous.some((o) => o.kind === 'Deployment' && o.metadata.name === CANARY_DEPLOYMENT)) {
    throw new Error(
      `the previous render already has Deployment/${CANARY_DEPLOYMENT}: restore the release first`,
    );
  }
  const stable = findObject(next, 'Deployment', STABLE_DEPLOYMENT, 'new render');
  findObject(next, 'Job', MOVE_JOB, 'new render (is the canary component in the overlay?)');
  const running = new Set(previous.map(objectKey));
  const added = next
    .filter((o) => !running.has(objectKey(o)))
    .map((o) => (o.kind === 'Job' && o.metadata.name === MOVE_JOB ? sizedMoveJob(o, move) : o));
  return [...previous, canaryDeployment(stable), ...added];
}
