// argocd-sync for production, the environment the rehearsal runs next to staging (neighbour.ts):
// production's job syncs the render it committed into the same stand-in production already runs, as
// Argo CD would. The Deployment's changed template rolls the pods (rolling-update.ts); the edge and
// Prometheus follow the serving pods. The pods stand for the rendered image (SWITCHBOARD_REVISION),
// and with --fault bad-release those of the promoted image carry the bad release (bad-release.ts),
// so the rollback's sync of the previous render rolls them back to a healthy release. A canary render
// (--canary) starts the canary's pod beside the stable ones (the bad release's, with that fault) and
// runs the move Job; the next sync without it prunes the pod (standin-cluster.ts).
import { keyValueTable, code, type SummarySection } from '../../../pipeline/src/summary/index.js';
import type { K8sObject } from '../../../pipeline/src/validate/index.js';
import { badReleaseEnv } from './bad-release.js';
import { deploymentImage } from './manifests.js';
import { CANARY_DEPLOYMENT } from '../../../pipeline/src/kustomize/canary.js';
import type { Fault } from './faults.js';
import { revisionEnv, type NeighbourRunning } from './neighbour.js';
import type { Replica } from './replicas.js';
import { runSync } from './sync-run.js';
import { syncSummarySection } from './sync-summary.js';

/** switchboard_build_info's revision on each pod, read from its /metrics. */
export async function podRevisions(replicas: Replica[]): Promise<Map<string, string>> {
  const revisions = new Map<string, string>();
  for (const r of replicas) {
    const text = await fetch(`http://127.0.0.1:${r.metricsPort}/metrics`, {
      signal: AbortSignal.timeout(5000),
    }).then(
      (res) => res.text(),
      (err: Error) => `unreachable: ${err.message}`,
    );
    const line = text.split('\n').find((l) => l.startsWith('switchboard_build_info{'));
    revisions.set(r.name, /revision="([^"]*)"/.exec(line ?? '')?.[1] ?? 'none');
  }
  return revisions;
}

/** What one sync of production did. */
export interface ProductionSync {
  ok: boolean;
  message: string;
  image: string;
  /** The image the pods stood for before the sync. */
  previousImage: string;
  /** The pods before and after (names), and the bad release's module when the pods carry it. */
  from: string[];
  to: string[];
  badRelease: boolean;
  /** The canary Deployment's image when the render has one. */
  canaryImage?: string;
  /** The canary's pod this sync started, pruned; the connections its move Job had the stable pods close. */
  canaryStarted?: string;
  canaryPruned?: string;
  moved?: number;
  summary: SummarySection[];
}

/**
 * Syncs `objects` (the render at `commit`) into the running neighbour. `imageBefore` is the image
 * production ran before this run's first sync: with --fault bad-release, any other image is the bad
 * release.
 */
export async function syncProduction(input: {
  neighbour: NeighbourRunning;
  application: string;
  objects: K8sObject[];
  commit: string;
  imageBefore: string;
  fault?: Fault;
  dir: string;
  /** Prometheus's targets for every environment, after the pods changed. */
  retarget: () => Promise<void>;
  log: (line: string) => void;
}): Promise<ProductionSync> {
  const { neighbour, objects } = input;
  const image = deploymentImage(objects);
  const previousImage = neighbour.image;
  const badRelease = input.fault?.name === 'bad-release' && image !== input.imageBefore;
  const from = neighbour.replicas.map((r) => r.name);
  const rollBefore = neighbour.cluster.lastRoll;
  // The Service's endpoints: the edge's upstreams and Prometheus's targets follow the serving pods
  // (the stable Deployment's and a canary's: the Service selects both).
  const cluster = neighbour.cluster;
  cluster.onEndpoints = async (serving) => {
    await neighbour.nginx.setUpstreams(
      [...serving, ...(cluster.canary ? [cluster.canary] : [])].map((r) => r.port),
    );
    await input.retarget();
  };
  // A canary's pod stands for the canary Deployment's image; with --fault bad-release it is the bad one.
  const canaryImage = deploymentImage(objects, CANARY_DEPLOYMENT);
  const badCanary =
    input.fault?.name === 'bad-release' && canaryImage !== '' && canaryImage !== input.imageBefore;
  if (canaryImage)
    cluster.canaryEnv = { ...revisionEnv(canaryImage), ...(badCanary ? badReleaseEnv(input.dir) : {}) };
  const hadCanary = cluster.canary?.name;
  const pruned = await cluster.pruneCanary(objects);
  const moveBefore = cluster.lastMove;
  // The render's Jobs of the new image (the migration) run as its pods do.
  neighbour.cluster.beginSync({
    extraEnv: { ...revisionEnv(image), ...(badRelease ? badReleaseEnv(input.dir) : {}) },
    serverImage: image,
  });
  const sync = await runSync(objects, neighbour.cluster, input.log);
  neighbour.objects = objects;
  neighbour.commit = input.commit;
  neighbour.image = image;
  const to = neighbour.replicas.map((r) => r.name);
  const rolled = neighbour.cluster.lastRoll !== rollBefore ? neighbour.cluster.lastRoll : undefined;
  const move = cluster.lastMove !== moveBefore ? cluster.lastMove : undefined;
  const moved = move?.reduce((n, m) => n + (m.closing ?? 0), 0);
  return {
    ok: sync.phase === 'Succeeded',
    message: sync.message,
    image,
    previousImage,
    from,
    to,
    badRelease,
    ...(canaryImage ? { canaryImage } : {}),
    ...(cluster.canary && !hadCanary ? { canaryStarted: cluster.canary.name } : {}),
    ...(pruned ? { canaryPruned: pruned } : {}),
    ...(moved !== undefined ? { moved } : {}),
    summary: [
      syncSummarySection(input.application, sync),
      {
        heading: `Synced ${input.application} in the stand-in`,
        level: 2,
        table: keyValueTable([
          ['Revision', code(input.commit.slice(0, 12))],
          ['Image', code(image)],
          ['Before', code(previousImage)],
          [
            'Pods',
            rolled
              ? `rolled ${from.join(', ')} -> ${to.join(', ')} in ${((rolled.endedAt - rolled.startedAt) / 1000).toFixed(1)} s`
              : `unchanged: ${to.join(', ')}`,
          ],
          [
            'Canary',
            cluster.canary && !hadCanary
              ? `${cluster.canary.name} started (${canaryImage})${badCanary ? ', carrying the bad release' : ''}`
              : undefined,
          ],
          [
            'Moved to the canary',
            move
              ? `${moved} connections closing: ${move.map((m) => `${m.address} ${m.closing ?? m.error}`).join('; ')}`
              : undefined,
          ],
          ['Canary removed', pruned ? `${pruned}: out of the endpoints, drained with 1012` : undefined],
          [
            'Bad release',
            badRelease ? 'yes: the pods refuse every join of one room (--fault bad-release)' : undefined,
          ],
        ]),
        ...(rolled ? { list: rolled.events } : {}),
      },
    ],
  };
}
