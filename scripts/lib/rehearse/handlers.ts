// One handler per action deploy.yml uses. Each reads the step's evaluated `with:` inputs with the
// action's own config reader, changes only what this machine cannot offer (each change is listed in
// the step's note), and calls the action's domain modules -- the code its main.ts calls.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import {
  buildConfiguredImage,
  buildOutputs,
  buildSummary,
  resolveEngine,
} from '../../../actions/build-image/src/build.js';
import { readBuildImageConfig } from '../../../actions/build-image/src/config.js';
import { readRenderConfig } from '../../../actions/render-manifests/src/config.js';
import { renderAndPublish, renderOutputs } from '../../../actions/render-manifests/src/render-and-publish.js';
import { describeDiff, renderSummary } from '../../../actions/render-manifests/src/summary.js';
import type { RegistryServer } from '../../../testkit/src/index.js';
import { removeImages } from '../../../pipeline/src/image/index.js';
import { zxRunner } from '../zx.js';
import type { K8sObject } from '../../../pipeline/src/validate/index.js';
import { gateConfig, runSloGate, type GateOutcome, type LoadTestOutcome } from './actions.js';
import { committedDigest, readRenderedObjects, type RehearsalRepos } from './checkout.js';
import { faultDuringSync, loadTestHandler, type Deferred, type RunningLoad } from './deploy-load.js';
import type { Fault, FaultRecord, RedisTarget } from './faults.js';
import { neighbourVus, type NeighbourLoad, type NeighbourRunning } from './neighbour.js';
import { startProductionTraffic, type ProductionTraffic } from './production-traffic.js';
import { syncProduction, type ProductionSync } from './production-sync.js';
import { deploymentImage } from './manifests.js';
import type { ActionHandler, StepOutcome } from './player.js';
import type { WorkflowJob } from './workflow.js';
import { unmet } from '../../../actions/slo-gate/src/evaluate.js';
import type { Replica } from './replicas.js';
import type { ScaleUpRecord } from './scale-up.js';
import type { ReplicaMode, StandInOptions } from './standin.js';
import type { StandInCluster } from './standin-cluster.js';
import { resyncStandIn, startStandIn, type StandInSyncResult } from './standin-sync.js';
import type { Teardown } from './teardown.js';

/** The running stand-in for the staging cluster. */
export interface StandInState {
  application: string;
  commit: string;
  objects: K8sObject[];
  image: string;
  socketUrl: string;
  ingressUrl: string;
  /** The Ingress rows of the sync that started nginx (a later sync does not restart it). */
  ingressRows: [string, string][];
  prometheusUrl: string;
  secrets: Record<string, string>;
  replicas: Replica[];
  redis: RedisTarget;
  /** The stand-in cluster: a later sync of it rolls the pods (standin-sync.ts). */
  cluster: StandInCluster;
  /** A scale-up: one more pod, in the Ingress's upstreams and Prometheus's targets once ready. */
  addPod: () => Promise<Replica>;
  /** Prometheus's targets again from every environment's serving pods (after a neighbour's roll). */
  retarget: () => Promise<void>;
}

/** What the handlers share. */
export interface RehearsalState {
  root: string;
  runId: string;
  /** Full commit SHA of HEAD (the image is built from the working tree, labelled with this). */
  sha: string;
  repos: RehearsalRepos;
  teardown: Teardown;
  /** Temp dir for env files and configs. */
  dir: string;
  summaryDir: string;
  skipImage: boolean;
  replicas: number;
  scrapeIntervalMs: number;
  /** The load test's SESSION (VUs reconnect every session); undefined keeps the workflow's inputs. */
  session?: string;
  fault?: Fault;
  faultAt?: { atMs: number; holdMs: number };
  interrupted: () => boolean;
  /** The image name the manifests use (the manifest-image deploy.yml passes to reusable-deploy.yml). */
  manifestImage: string;
  registry?: RegistryServer;
  baseImage?: string;
  /** Sub-step progress inside a step. */
  substep: <T>(name: string, fn: () => Promise<T>, detail?: (v: T) => string) => Promise<T>;
  standIn?: StandInState;
  /** The stand-in was started once (a later sync, e.g. the rollback's, does not start another). */
  syncAttempted?: boolean;
  loadTestToken?: string;
  load?: LoadTestOutcome;
  /** When the load test started and ended (ISO 8601), as k6-loadtest outputs them. */
  loadStartedAt?: string;
  loadEndedAt?: string;
  gate?: GateOutcome;
  /** The gate step's inputs (the neighbour is judged with the same ones, its own selector and span). */
  gateInputs?: Record<string, string>;
  faultRecord?: FaultRecord;
  /** --scale-up: when, after the load test starts, a pod is added (the rebalancer is on), and until when it is watched. */
  scaleUp?: { atMs: number; untilMs: number };
  scaleUpRecord?: ScaleUpRecord;
  /** The environment next to the deployed one, in the same Prometheus (neighbour.ts). */
  neighbour?: Promise<NeighbourRunning>;
  /** --fault-in names the neighbour: the fault hits its pods, not the deployed environment's. */
  faultInNeighbour?: boolean;
  neighbourLoad?: NeighbourLoad;
  /** What the rehearsal adds to the server pods of the previous release and of the deploy (part of their template). */
  podEnv: (release: 'previous' | 'deploy') => StandInOptions['extraEnv'];
  /** The deploy's sync of staging has run (a later one, the restore's, does not roll back). */
  deploySynced?: boolean;
  /** Resolved once the deploy's sync is done (the pods rolled): faults and scale-ups wait for it. */
  rolled: Deferred;
  /** The load test phase start left running. */
  running?: RunningLoad;
  /** A fault played while the deploy's sync rolls the pods. */
  faultDuringSync?: Promise<FaultRecord>;
  /**
   * The workflow verifies production after its sync: production's clients run from the end of the
   * window staging's gate (and the neighbour's, judged with its inputs) reads until the workflow ends.
   */
  verifiesProduction?: boolean;
  /**
   * How long production's clients must have run before its sync: the verification's baseline (the
   * window as long as its soak that ends when the sync starts) and a margin of scrapes.
   */
  productionHistoryMs?: number;
  productionTraffic?: ProductionTraffic;
  /** Production's syncs in this run (the promotion's, then the rollback's), in order. */
  productionSyncs?: ProductionSync[];
  /** The image production ran before this run synced it. */
  productionImageBefore?: string;
  /** Production's verification after its sync (the slo-gate step of the job that syncs production). */
  verification?: { gate: GateOutcome; inputs: Record<string, string> };
  /** Production's canary against its stable pods (the slo-gate step with a baseline-selector). */
  canary?: { gate: GateOutcome; inputs: Record<string, string> };
}

const reader = (inputs: Record<string, string>) => (name: string) => inputs[name] ?? '';

function changes(list: string[]): string {
  return list.length ? `rehearsal sets ${list.join(', ')}` : '';
}

/** build-image: buildah on this machine's base, pushed to the loopback registry. */
function buildImageHandler(state: RehearsalState): ActionHandler {
  return async ({ inputs, log }): Promise<StepOutcome> => {
    if (state.skipImage || !state.registry) {
      const digest = committedDigest(state.repos.checkout, 'overlays/staging', state.manifestImage) ?? '';
      return {
        outputs: { digest, image: `${state.manifestImage}@${digest}` },
        note: `skipped (--skip-image): digest output is the one overlays/staging pins now; the pods run the working tree`,
      };
    }
    // The local registry has no auth and speaks plain HTTP; runc is this machine's OCI runtime.
    const overrides = {
      'registry-username': '',
      'registry-password': '',
      'tls-verify': 'false',
      'oci-runtime': 'runc',
    };
    const config = readBuildImageConfig(reader({ ...inputs, ...overrides }), {
      GITHUB_WORKSPACE: state.root,
      GITHUB_SHA: state.sha,
      GITHUB_REF: 'refs/heads/main',
    });
    const built = await buildConfiguredImage(config, await resolveEngine(config), { log });
    // The pods pull it back by digest (podman shares buildah's storage): remove that copy at the end.
    state.teardown.add('pulled server image', () => removeImages([built.pinned], zxRunner));
    return {
      outputs: buildOutputs(config, built),
      note: `${built.pinned} (${changes(Object.keys(overrides))})`,
      summary: buildSummary(config, built),
    };
  };
}

/** render-manifests: pin, render, validate, publish to the deploy branch of the throwaway origin. */
function renderManifestsHandler(state: RehearsalState): ActionHandler {
  return async ({ inputs, log }) => {
    const env = { GITHUB_WORKSPACE: state.repos.checkout, GITHUB_SHA: state.sha };
    const config = readRenderConfig(reader(inputs), env);
    if (!config.restoreRevision) await productionHistory(state, config.environment, log);
    const outcome = await renderAndPublish(config, env, log);
    if ('failed' in outcome) {
      const { validation, objects } = outcome;
      return { summary: renderSummary(config, { validation, objects }, env), failed: outcome.failed };
    }
    const { publish, diff, validation, objects } = outcome;
    return {
      outputs: renderOutputs(config, publish, diff),
      note: `${config.restoreRevision ? 'restored' : 'rendered'} ${config.outputPath} on ${config.deployBranch}: ${publish.changed ? `commit ${publish.commit?.slice(0, 12)}` : 'unchanged'} (${describeDiff(diff)}${validation ? `; validation: ${validation.objects} objects, no problems` : ''})`,
      summary: renderSummary(config, { publish, diff, validation, objects }, env),
    };
  };
}

/**
 * Before production's promotion is rendered (and so before its sync): its clients have run as long as
 * the verification's baseline reads. A cluster's production always has its traffic; the rehearsal's
 * starts after staging's gate window (startProductionClients), so the first seconds are waited for here.
 */
async function productionHistory(
  state: RehearsalState,
  environment: string,
  log: (line: string) => void,
): Promise<void> {
  const traffic = state.productionTraffic;
  if (!traffic || !state.neighbour || !state.productionHistoryMs) return;
  if ((await state.neighbour).environment !== environment) return;
  const waitMs = Date.parse(traffic.startedAt) + state.productionHistoryMs - Date.now();
  if (waitMs <= 0) return;
  log(
    `${environment}'s clients started ${((Date.now() - Date.parse(traffic.startedAt)) / 1000).toFixed(1)} s ago: waiting ${(waitMs / 1000).toFixed(1)} s more, so the verification's baseline before the sync has traffic (a cluster's production always has)`,
  );
  await new Promise((r) => setTimeout(r, waitMs));
}

/**
 * Production's own clients for its verification: from the end of the window staging's gate judges,
 * and of the neighbour's window judged with the same inputs after the workflow (neighbour-gate.ts:
 * its load's span plus the soak), so they weigh on neither; one scrape later, as a sample taken at
 * the window's end is still in it.
 */
async function startProductionClients(
  state: RehearsalState,
  soakMs: number,
  log: (line: string) => void,
): Promise<void> {
  if (!state.verifiesProduction || !state.neighbour || state.productionTraffic) return;
  const neighbour = await state.neighbour;
  const ends = [state.loadEndedAt, state.neighbourLoad?.endedAt]
    .filter((t): t is string => t !== undefined)
    .map((t) => Date.parse(t) + soakMs + state.scrapeIntervalMs);
  const waitMs = Math.max(0, ...ends) - Date.now();
  if (waitMs > 0) {
    log(
      `${neighbour.environment}'s clients start in ${(waitMs / 1000).toFixed(1)} s, after the window the gates before the promotion judge`,
    );
    await new Promise((r) => setTimeout(r, waitMs));
  }
  const traffic = startProductionTraffic(neighbour, {
    scenario: 'fanout',
    vus: neighbourVus(state.load?.config.vus ?? 100),
    log,
  });
  state.productionTraffic = traffic;
  state.teardown.add(`${neighbour.environment}'s clients`, async () => {
    await traffic.stop();
  });
}

/** The Application named `name` in argocd/: where it reads from. */
export function findApplication(
  root: string,
  name: string,
): { path: string; targetRevision: string; environment: string } {
  for (const file of readdirSync(join(root, 'argocd')).filter((f) => f.endsWith('.yaml'))) {
    for (const doc of parseAllDocuments(readFileSync(join(root, 'argocd', file), 'utf8'))) {
      const o = doc.toJS() as {
        kind?: string;
        metadata?: { name?: string };
        spec?: { source?: { path?: string; targetRevision?: string } };
      } | null;
      if (o?.kind === 'Application' && o.metadata?.name === name && o.spec?.source?.path) {
        return {
          path: o.spec.source.path,
          targetRevision: o.spec.source.targetRevision ?? 'HEAD',
          environment: o.spec.source.path.split('/').at(-1) ?? '',
        };
      }
    }
  }
  throw new Error(`application: no Argo CD Application named ${name} in argocd/`);
}

/** argocd-sync: the stand-in cluster syncs the Application's path at the revision, like Argo CD. */
function argocdSyncHandler(state: RehearsalState): ActionHandler {
  return async ({ inputs, log }) => {
    const app = findApplication(state.root, inputs.application ?? '');
    const revision = inputs.revision || app.targetRevision;
    const { commit, objects: rendered } = await readRenderedObjects(state.repos, revision, app.path);
    const objects = rendered as unknown as K8sObject[];
    const image = deploymentImage(objects);
    const outputs = {
      'sync-status': 'Synced',
      'health-status': 'Healthy',
      revision: commit,
      'rolled-back': 'false',
    };
    // Production (the neighbour) runs in the stand-in: its own job's sync rolls it (production-sync.ts).
    const running = app.environment !== 'staging' && state.neighbour ? await state.neighbour : undefined;
    if (running && app.environment === running.environment && state.standIn) {
      state.productionImageBefore ??= running.image;
      const neighbour = running;
      const synced = await syncProduction({
        neighbour,
        application: inputs.application ?? '',
        objects,
        commit,
        imageBefore: state.productionImageBefore,
        ...(state.fault ? { fault: state.fault } : {}),
        dir: join(state.dir, neighbour.environment),
        retarget: state.standIn.retarget,
        log,
      });
      (state.productionSyncs ??= []).push(synced);
      return {
        outputs: synced.ok
          ? outputs
          : { ...outputs, 'sync-status': 'OutOfSync', 'health-status': 'Degraded' },
        note: `${synced.ok ? 'synced' : 'FAILED'} ${app.path} at ${commit.slice(0, 12)} into the stand-in's ${neighbour.environment}: ${synced.from.join() === synced.to.join() ? 'pods unchanged' : `pods ${synced.from.join(', ')} -> ${synced.to.join(', ')}`} (${image})${synced.badRelease ? '; the new pods carry the bad release' : ''}`,
        summary: synced.summary,
        ...(synced.ok ? {} : { failed: `Argo CD sync of ${inputs.application} failed: ${synced.message}` }),
      };
    }
    if (app.environment !== 'staging') {
      return {
        outputs,
        note: `not rehearsed: ${state.neighbour ? 'its stand-in keeps the committed render (the neighbour)' : `no stand-in for ${inputs.application}`}; Argo CD would sync ${app.path} at ${commit.slice(0, 12)} (${objects.length} objects, ${image})`,
      };
    }
    const sync = {
      application: inputs.application ?? '',
      revision,
      commit,
      path: app.path,
      objects,
      image,
      mode: (state.skipImage ? 'process' : 'container') as ReplicaMode,
      extraEnv: state.podEnv('deploy'),
      log,
    };
    const synced = (r: StandInSyncResult): StepOutcome =>
      r.sync.phase === 'Succeeded'
        ? { outputs, note: r.note, summary: r.sections }
        : {
            outputs: { ...outputs, 'sync-status': 'OutOfSync', 'health-status': 'Degraded' },
            summary: r.sections,
            failed: `Argo CD sync of ${inputs.application} failed: ${r.sync.message}`,
          };
    // The deploy's sync of the running previous release: the pods roll while the load test runs.
    if (state.standIn && !state.deploySynced) {
      state.deploySynced = true;
      const during = faultDuringSync(state, log);
      try {
        return synced(await resyncStandIn(state, sync));
      } finally {
        during.stop();
        state.rolled.resolve();
      }
    }
    if (
      !state.standIn &&
      (state.syncAttempted || (state.registry && !image.startsWith(`${state.registry.host}/`)))
    ) {
      return {
        outputs,
        note: `stand-in not synced: ${app.path} at ${commit.slice(0, 12)} runs ${image}, which the loopback registry does not have (a cluster would pull it)`,
      };
    }
    if (state.standIn) {
      return {
        outputs: { ...outputs, revision: state.standIn.commit },
        note:
          image === state.standIn.image
            ? `stand-in not re-synced: it runs the deploy's pods; the restored render (${commit.slice(0, 12)}) is the previous release's, which the rehearsal does not roll back to`
            : `stand-in not re-synced: ${app.path} at ${commit.slice(0, 12)} runs ${image}, which the loopback registry does not have (a cluster would pull it)`,
      };
    }
    return synced(await startStandIn(state, sync));
  };
}

/** The job syncs the environment the rehearsal runs next to staging (production). */
async function syncsNeighbour(state: RehearsalState, job: WorkflowJob): Promise<boolean> {
  if (!state.neighbour) return false;
  const { environment } = await state.neighbour;
  return job.steps.some((s) => {
    if (s.uses !== './actions/argocd-sync' || !s.with.application) return false;
    try {
      return findApplication(state.root, s.with.application).environment === environment;
    } catch {
      return false;
    }
  });
}

/** slo-gate: the gate file against the stand-in's Prometheus. */
function sloGateHandler(state: RehearsalState): ActionHandler {
  return async ({ inputs, log, job }) => {
    // Production's verification after its sync is not staging's gate: kept apart for the decision.
    const verifying = await syncsNeighbour(state, job);
    // The stand-in's Prometheus scrapes every scrapeIntervalMs, not the cluster's 15s: the window's
    // lead before the load and the charts' resolution follow it (the neighbour's gate reuses these inputs).
    const scraped: Record<string, string> = {
      ...inputs,
      'scrape-interval-seconds': String(state.scrapeIntervalMs / 1000),
    };
    if (scraped['summary-path']) log(`the gate reads the load test's summary: ${scraped['summary-path']}`);
    const config = gateConfig(scraped, state.root);
    if (!verifying) state.gateInputs = scraped;
    // Production's clients start while this gate settles (once its window is over), when the load
    // test passed; they stop again when the gate fails, as production is then not promoted.
    const clients =
      !verifying && state.load?.combined.passed
        ? startProductionClients(state, config.soakMs, log)
        : undefined;
    const gate = await runSloGate(config, log);
    await clients;
    // The canary's gate compares two sets of pods of production (baseline-selector), the verification two windows.
    if (verifying && inputs['baseline-selector']) state.canary = { gate, inputs: scraped };
    else if (verifying) state.verification = { gate, inputs: scraped };
    else state.gate = gate;
    if (clients && gate.report.verdict !== 'pass') {
      const traffic = state.productionTraffic;
      state.productionTraffic = undefined;
      await traffic?.stop();
    }
    const bad = gate.report.results.filter(unmet);
    return {
      outputs: {
        verdict: gate.report.verdict,
        window: gate.report.window,
        objectives: JSON.stringify(
          gate.report.results.map((r) => ({
            name: r.name,
            verdict: r.verdict,
            value: r.value ?? null,
            reason: r.reason,
          })),
        ),
      },
      note: `${gate.report.verdict} over ${gate.report.window} after a ${config.soakMs / 1000}s soak${config.baseline ? `, against the same window ${config.baseline.offsetMs / 1000}s earlier` : ''}`,
      summary: gate.sections,
      ...(gate.report.verdict !== 'pass'
        ? {
            failed: `SLO gate ${gate.report.verdict}: ${bad.map((r) => `${r.name} ${r.verdict}${r.reason ? ` (${r.reason})` : ''}`).join('; ')}`,
          }
        : {}),
    };
  };
}

/** The handler of every action deploy.yml uses, by folder name under actions/. */
export function actionHandlers(state: RehearsalState): Record<string, ActionHandler> {
  return {
    'build-image': buildImageHandler(state),
    'render-manifests': renderManifestsHandler(state),
    'argocd-sync': argocdSyncHandler(state),
    'k6-loadtest': loadTestHandler(state),
    'slo-gate': sloGateHandler(state),
  };
}
