// The environment next to the one deployed. One Prometheus per cluster scrapes staging and
// production alike, so a gate that judged every namespace would fail staging for production's
// trouble, or pass it on production's health. The rehearsal therefore runs production as it is
// committed -- its render on the deploy branch, synced by the same stand-in -- with its own traffic
// during the load test, scraped by the same Prometheus, and judges it afterwards with the same gate
// file and its own selector. Its pods run the working tree as processes: the image production pins
// is not in the loopback registry (docs/rehearsal.md).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import type { LoadTestConfig } from '../../../actions/k6-loadtest/src/config.js';
import { runWithNode } from '../../../actions/k6-loadtest/src/local.js';
import { scenarios } from '../../../loadtests/scenarios/index.js';
import type { K8sObject } from '../../../pipeline/src/validate/index.js';
import { readRenderedObjects, type RehearsalRepos } from './checkout.js';
import type { FaultContext, RedisTarget } from './faults.js';
import type { Replica } from './replicas.js';
import { environmentSelector } from './scrape-targets.js';
import { startIngress, startReplicas, type StandInOptions } from './standin.js';
import { StandInCluster } from './standin-cluster.js';
import { runSync } from './sync-run.js';
import { deploymentImage } from './manifests.js';
import type { Teardown } from './teardown.js';
import type { NginxProxy } from '../../../testkit/src/nginx.js';

/** Server pods of the neighbour: two, so that cross-node delivery is measured there too. */
export const neighbourReplicas = 2;

/**
 * The neighbour's traffic: this share of the deployed environment's VUs (at least 6): enough for
 * every objective of the gate, little of the CPU both environments share here.
 */
const vuShare = 1 / 5;

/** The neighbour's VUs for the deployed environment's `vus`. */
export function neighbourVus(vus: number): number {
  return Math.max(6, Math.round(vus * vuShare));
}

/**
 * What the neighbour's pods get in place of the image's SWITCHBOARD_REVISION: they run the working
 * tree, so switchboard_build_info's revision names the digest (or tag) of the image they stand for.
 */
export function revisionEnv(image: string): Record<string, { value: string; why: string }> {
  const digest = /@sha256:([0-9a-f]{12})/.exec(image)?.[1];
  const tag = /:([\w.+-]{1,50})$/.exec(image)?.[1];
  return {
    SWITCHBOARD_REVISION: {
      value: digest ? `digest-${digest}` : (tag ?? 'unknown'),
      why: 'the image this pod stands for (its pods run the working tree)',
    },
  };
}

/** The neighbour environment, synced and serving. */
export interface NeighbourRunning {
  environment: string;
  application: string;
  commit: string;
  objects: K8sObject[];
  /** The Deployment's image as last synced. */
  image: string;
  /** The cluster its syncs play against (a later sync rolls the pods: production-sync.ts). */
  cluster: StandInCluster;
  /** Its edge: the upstreams follow the serving pods. */
  nginx: NginxProxy;
  /** The serving pods (the cluster's, changed in place by a rolling update). */
  replicas: Replica[];
  redis: RedisTarget;
  secrets: Record<string, string>;
  ingressUrl: string;
  socketUrl: string;
  /** The gate's `selector` for this environment (its namespace). */
  selector: string;
  /** LOADTEST-style token signed with the environment's own JWT_SECRET. */
  token: string;
}

/** The neighbour's own load while the deployed environment's load test runs. */
export interface NeighbourLoad {
  startedAt: string;
  endedAt: string;
  vus: number;
  /** Its thresholds passed (it decides nothing: only the neighbour's gate counts). */
  passed: boolean;
  summaryPath: string;
}

/** What starting the neighbour needs. */
export interface NeighbourOptions {
  root: string;
  repos: RehearsalRepos;
  /** The deploy branch: what Argo CD would have synced the neighbour to. */
  revision: string;
  /** The Argo CD Application's source path (rendered/production). */
  path: string;
  application: string;
  environment: string;
  runId: string;
  dir: string;
  summaryDir: string;
  scrapeIntervalMs: number;
  teardown: Teardown;
  log: (line: string) => void;
  interrupted: () => boolean;
}

/** Syncs the neighbour's committed render into the stand-in and puts its edge in front of the pods. */
export async function startNeighbour(opts: NeighbourOptions): Promise<NeighbourRunning> {
  const { commit, objects: rendered } = await readRenderedObjects(opts.repos, opts.revision, opts.path);
  const objects = rendered as unknown as K8sObject[];
  // Its own folder: its Jobs write files under the same names as the deployed environment's.
  mkdirSync(opts.dir, { recursive: true });
  const image = deploymentImage(objects);
  const standIn: StandInOptions = {
    objects,
    replicas: neighbourReplicas,
    extraEnv: revisionEnv(image),
    mode: 'process',
    scrapeIntervalMs: opts.scrapeIntervalMs,
    runId: `${opts.runId}-${opts.environment}`,
    dir: opts.dir,
    logDir: join(opts.summaryDir, 'pods'),
    teardown: opts.teardown,
    log: opts.log,
    interrupted: opts.interrupted,
  };
  const cluster = new StandInCluster(standIn, image, (c) => startReplicas(standIn, c));
  const sync = await runSync(objects, cluster, opts.log);
  if (sync.phase !== 'Succeeded') {
    throw new Error(`the neighbour ${opts.application} did not sync: ${sync.message}`);
  }
  const { nginx } = await startIngress(standIn, cluster.replicas);
  const secrets = cluster.secrets['switchboard-secrets'] ?? {};
  const token = await new SignJWT({ sub: 'neighbour-traffic', join: ['room:*'], publish: ['room:*'] })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuedAt()
    .setExpirationTime('2h')
    .sign(new TextEncoder().encode(secrets.JWT_SECRET ?? ''));
  return {
    environment: opts.environment,
    application: opts.application,
    commit,
    objects,
    image,
    cluster,
    nginx,
    replicas: cluster.replicas,
    redis: cluster.redis!,
    secrets,
    ingressUrl: nginx.httpUrl,
    socketUrl: nginx.socketUrl,
    selector: environmentSelector(objects),
    token,
  };
}

/**
 * The neighbour's rooms: the deploy's, but at most one per two VUs, so that every room has a member
 * besides its first VU (the rollout scenario's publisher). With 6 VUs over 5 rooms, 4 rooms held
 * their publisher alone, and `--fault-in production --fault latency` delayed no delivery unless the
 * one room with two clients had them on different pods: a least_request edge put them together
 * in a fresh-clone run. Two per room, connections spread evenly over 2 pods and the frozen pod the
 * one whose clients publish least, that pod always holds a member of a room published elsewhere.
 */
export function neighbourRooms(
  deployLoad: Pick<LoadTestConfig, 'scenario' | 'env'>,
  vus: number,
): number | undefined {
  const defaults = Object.hasOwn(scenarios, deployLoad.scenario)
    ? scenarios[deployLoad.scenario]?.defaults
    : undefined;
  const rooms = Number(deployLoad.env.ROOMS ?? defaults?.ROOMS);
  // A scenario without rooms keeps its settings.
  return Number.isInteger(rooms) && rooms > 0 ? Math.max(1, Math.min(rooms, Math.floor(vus / 2))) : undefined;
}

/**
 * The neighbour's traffic: the deploy's load-test settings (scenario, duration, env) with a fifth of
 * its VUs and as many rooms as two per room allows (neighbourRooms), on the same Node runner, through
 * the neighbour's edge with a token of its own. In this process: a second runner process would
 * compete with the deploy's load for the CPU as it starts.
 */
export async function runNeighbourLoad(
  neighbour: NeighbourRunning,
  deployLoad: LoadTestConfig,
  summaryDir: string,
): Promise<NeighbourLoad> {
  const vus = neighbourVus(deployLoad.vus ?? 100);
  const rooms = neighbourRooms(deployLoad, vus);
  const summaryPath = join(summaryDir, `${neighbour.environment}-${deployLoad.scenario}-summary.json`);
  const startedAt = new Date().toISOString();
  const summary = await runWithNode(
    {
      ...deployLoad,
      env: { ...deployLoad.env, ...(rooms !== undefined ? { ROOMS: String(rooms) } : {}) },
      url: neighbour.socketUrl,
      token: neighbour.token,
      jwtSecret: '',
      vus,
      summaryPath,
    },
    () => undefined,
  );
  return { startedAt, endedAt: new Date().toISOString(), vus, passed: summary.ok, summaryPath };
}

/** The neighbour as a fault's target (faults.ts), when `--fault-in` names it. */
export function neighbourFaultContext(
  neighbour: NeighbourRunning,
  holdMs: number,
  log: (line: string) => void,
): FaultContext {
  return {
    replicas: neighbour.replicas,
    redis: neighbour.redis,
    ingressUrl: neighbour.ingressUrl,
    apiToken: neighbour.secrets.API_TOKEN ?? '',
    jwtSecret: neighbour.secrets.JWT_SECRET ?? '',
    holdMs,
    log,
  };
}
