// The staging stand-in's syncs. The first starts it: the sync against an empty stand-in cluster, then
// the Ingress (nginx) and Prometheus in front of the pods. In deploy.yml's rehearsal that first sync
// is staging's previous release -- the render committed on the deploy branch, run before the
// workflow (previous-release.ts) -- and the deploy's own sync is a later one: the stand-in rolls the
// pods to the new template (standin-cluster.ts, rolling-update.ts) while the load test runs.
import { join } from 'node:path';
import { SignJWT } from 'jose';
import {
  code,
  keyValueTable,
  table,
  type CellValue,
  type SummarySection,
} from '../../../pipeline/src/summary/index.js';
import type { K8sObject } from '../../../pipeline/src/validate/index.js';
import type { RehearsalState } from './handlers.js';
import type { Replica } from './replicas.js';
import { serviceMonitorTargets } from './scrape-targets.js';
import {
  describeEnv,
  pullImage,
  startIngress,
  startMonitoring,
  startReplicas,
  type ReplicaMode,
  type StandInOptions,
} from './standin.js';
import { StandInCluster } from './standin-cluster.js';
import { syncSteps } from './sync-order.js';
import { runSync, type SyncResult } from './sync-run.js';
import { syncSummarySection } from './sync-summary.js';

/** What a sync of the stand-in is given. */
export interface StandInSync {
  application: string;
  /** The revision asked for, and the commit it resolved to. */
  revision: string;
  commit: string;
  path: string;
  objects: K8sObject[];
  /** The server image the Deployment runs. */
  image: string;
  mode: ReplicaMode;
  extraEnv?: StandInOptions['extraEnv'];
  log: (line: string) => void;
}

/** A finished sync: Succeeded or not, with its summary sections. */
export interface StandInSyncResult {
  sync: SyncResult;
  sections: SummarySection[];
  note: string;
}

/** The summary rows every sync of the stand-in shows: what was synced, and the pods running it. */
function syncedRows(s: StandInSync, pods: Replica[], jobs: string): [string, CellValue][] {
  return [
    ['Revision', code(`${s.revision} = ${s.commit.slice(0, 12)}`)],
    ['Path', code(s.path)],
    ['Image', code(s.image)],
    ['Pods', pods.map((r) => `${r.name} on 127.0.0.1:${r.port} (${r.where()})`).join('; ')],
    ['Jobs', jobs],
  ];
}

/** The first sync: starts the stand-in cluster, the Ingress and Prometheus, and sets `state.standIn`. */
export async function startStandIn(state: RehearsalState, s: StandInSync): Promise<StandInSyncResult> {
  const opts: StandInOptions = {
    objects: s.objects,
    replicas: state.replicas,
    mode: s.mode,
    scrapeIntervalMs: state.scrapeIntervalMs,
    runId: state.runId,
    dir: state.dir,
    logDir: join(state.summaryDir, 'pods'),
    teardown: state.teardown,
    log: s.log,
    interrupted: state.interrupted,
    ...(s.extraEnv ? { extraEnv: s.extraEnv } : {}),
  };
  state.syncAttempted = true;
  s.log(`stand-in for ${s.application}: ${s.path} at ${s.commit.slice(0, 12)} (${s.objects.length} objects)`);
  const cluster = new StandInCluster(opts, s.image, (c) => startReplicas(opts, c));
  if (s.mode === 'container') {
    await state.substep(
      `pull ${s.image}`,
      () => pullImage(s.image),
      () => 'as the kubelet does before the first pod of it starts',
    );
  }
  const sync = await state.substep(
    `Argo CD sync: ${syncSteps(s.objects).length} steps (phase, wave)`,
    () => runSync(s.objects, cluster, s.log),
    (r) => `${r.phase}: ${r.message}`,
  );
  const syncSection = syncSummarySection(s.application, sync);
  if (sync.phase !== 'Succeeded') return { sync, sections: [syncSection], note: sync.message };
  const pods = { replicas: cluster.replicas, spec: cluster.podSpec!, envOf: cluster.podEnvOf! };
  const migration = cluster.notes.join('; ') || 'no Job in the sync';
  const { nginx, ingress } = await state.substep(
    'Ingress (nginx from its annotations)',
    () => startIngress(opts, pods.replicas),
    (i) => `${i.nginx.httpUrl}, paths ${i.ingress.nginx.paths?.join(' ')}`,
  );
  const neighbour = state.neighbour
    ? await state.substep(
        'the neighbour environment (the same Prometheus scrapes it)',
        () => state.neighbour!,
        (n) => `${n.application} at ${n.commit.slice(0, 12)}: ${n.replicas.length} pods, ${n.selector}`,
      )
    : undefined;
  const monitoring = await state.substep(
    'ServiceMonitor and PrometheusRule (Prometheus)',
    () => startMonitoring(opts, pods.replicas, neighbour ? [neighbour] : []),
    (m) => `${m.prometheus.url}, ${m.groups} rule groups, every pod scraped`,
  );
  const secrets = cluster.secrets['switchboard-secrets'] ?? Object.values(cluster.secrets)[0] ?? {};
  // Prometheus's targets: every environment's serving pods (a neighbour's rolling update changes its
  // own replicas in place, and calls this after).
  const targets = (serving: Replica[]) =>
    monitoring.prometheus.setLabelledTargets(
      [
        { objects: state.standIn?.objects ?? s.objects, replicas: serving },
        // A canary's pod is behind the same Service, so the ServiceMonitor scrapes it too.
        ...(neighbour
          ? [
              {
                objects: neighbour.objects,
                replicas: [
                  ...neighbour.replicas,
                  ...(neighbour.cluster.canary ? [neighbour.cluster.canary] : []),
                ],
              },
            ]
          : []),
      ].flatMap((e) => serviceMonitorTargets(e)),
    );
  // The Service's endpoints: nginx's upstreams and Prometheus's targets follow the serving pods.
  // Both at once, as the Ingress controller and the Prometheus Operator each watch the Endpoints.
  let endpoints: Replica[] = pods.replicas;
  cluster.onEndpoints = async (serving: Replica[]) => {
    endpoints = serving;
    await Promise.all([nginx.setUpstreams(serving.map((r) => r.port)), targets(serving)]);
  };
  const ingressRows: [string, string][] = [
    ['Ingress', `${nginx.httpUrl}: ${ingress.nginx.paths?.join(', ')}`],
    [
      'Ingress annotations',
      Object.entries(ingress.annotations)
        .map(([k, v]) => `${k}=${v}`)
        .join(', '),
    ],
  ];
  state.standIn = {
    application: s.application,
    commit: s.commit,
    objects: s.objects,
    image: s.image,
    socketUrl: nginx.socketUrl,
    ingressUrl: nginx.httpUrl,
    ingressRows,
    prometheusUrl: monitoring.prometheus.url,
    secrets,
    replicas: pods.replicas,
    redis: cluster.redis!,
    cluster,
    addPod: async () => {
      const pod = await cluster.addPod!();
      await cluster.onEndpoints!(pods.replicas);
      return pod;
    },
    retarget: () => targets(endpoints),
  };
  // The LOADTEST_TOKEN secret: a JWT signed with the environment's JWT_SECRET, join/publish room:*.
  state.loadTestToken = await new SignJWT({ sub: 'loadtest', join: ['room:*'], publish: ['room:*'] })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuedAt()
    .setExpirationTime('2h')
    .sign(new TextEncoder().encode(secrets.JWT_SECRET ?? ''));
  const env = describeEnv(pods.spec, pods.envOf(0), cluster.extraEnv);
  const sections: SummarySection[] = [
    syncSection,
    {
      heading: `Synced ${s.application} to the stand-in`,
      level: 2,
      table: keyValueTable([
        ...syncedRows(s, pods.replicas, migration),
        ...ingressRows,
        ['Prometheus', code(monitoring.prometheus.url)],
      ]),
    },
    {
      heading: 'Server environment (pod 0)',
      table: table(
        ['Variable', 'Value', 'From'],
        env.map((e) => [e.name, e.value, e.source]),
      ),
    },
  ];
  return {
    sync,
    sections,
    note: `stand-in synced to ${s.commit.slice(0, 12)}: ${state.replicas} pods of ${s.image}`,
  };
}

/**
 * A later sync of the running stand-in: what exists stays, and pods whose template changed (the
 * image, or what the rehearsal adds to them) are rolled as the Deployment's strategy says.
 */
export async function resyncStandIn(state: RehearsalState, s: StandInSync): Promise<StandInSyncResult> {
  const standIn = state.standIn!;
  const cluster = standIn.cluster;
  if (s.mode === 'container') {
    await state.substep(
      `pull ${s.image}`,
      () => pullImage(s.image),
      () => 'as the kubelet does before the first pod of it starts',
    );
  }
  cluster.beginSync({ ...(s.extraEnv ? { extraEnv: s.extraEnv } : {}), mode: s.mode, serverImage: s.image });
  const before = standIn.replicas.map((r) => r.name);
  const sync = await state.substep(
    `Argo CD sync: ${syncSteps(s.objects).length} steps (phase, wave), a rolling update of ${before.length} pods`,
    () => runSync(s.objects, cluster, s.log),
    (r) => `${r.phase}: ${r.message}`,
  );
  const sections: SummarySection[] = [syncSummarySection(s.application, sync)];
  if (sync.phase !== 'Succeeded') return { sync, sections, note: sync.message };
  standIn.commit = s.commit;
  standIn.objects = s.objects;
  standIn.image = s.image;
  const roll = cluster.lastRoll;
  const first = standIn.replicas[0];
  if (first) {
    const ordinal = Number(first.name.split('-').at(-1));
    const env = describeEnv(cluster.deploymentSpec(first.name), cluster.podEnvOf!(ordinal), cluster.extraEnv);
    sections.push(
      {
        heading: `Synced ${s.application} to the stand-in`,
        level: 2,
        table: keyValueTable([
          ...syncedRows(s, standIn.replicas, cluster.notes.join('; ') || 'no Job in the sync'),
          ...standIn.ingressRows,
        ]),
      },
      {
        heading: `Server environment (${first.name})`,
        table: table(
          ['Variable', 'Value', 'From'],
          env.map((e) => [e.name, e.value, e.source]),
        ),
      },
    );
  }
  if (roll) {
    sections.push({
      heading: `Rolling update of ${s.application}: ${roll.from.length} pods replaced`,
      level: 2,
      table: keyValueTable([
        [
          'Strategy',
          `RollingUpdate, maxSurge ${roll.strategy.maxSurge}, maxUnavailable ${roll.strategy.maxUnavailable}`,
        ],
        ['Old pods', roll.from.join(', ')],
        ['New pods', roll.to.join(', ')],
        ['Took', `${((roll.endedAt - roll.startedAt) / 1000).toFixed(1)} s`],
        ['Steps', roll.events.join('; ')],
      ]),
    });
  }
  return {
    sync,
    sections,
    note: roll
      ? `stand-in synced to ${s.commit.slice(0, 12)}: ${roll.to.length} pods of ${s.image}, rolled ${before.join(', ')} -> ${roll.to.join(', ')} in ${((roll.endedAt - roll.startedAt) / 1000).toFixed(1)} s`
      : `stand-in synced to ${s.commit.slice(0, 12)}: pods unchanged (same template)`,
  };
}
