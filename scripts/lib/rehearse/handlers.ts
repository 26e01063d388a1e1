// One handler per action deploy.yml uses. Each reads the step's evaluated `with:` inputs with the
// action's own config reader, changes only what this machine cannot offer (each change is listed in
// the step's note), and calls the action's domain modules -- the code its main.ts calls.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT } from 'jose';
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
import { code, keyValueTable, table, type SummarySection } from '../../../pipeline/src/summary/index.js';
import type { RegistryServer } from '../../../testkit/src/index.js';
import { removeImages } from '../../../pipeline/src/image/index.js';
import { zxRunner } from '../zx.js';
import type { K8sObject } from '../../../pipeline/src/validate/index.js';
import {
  gateConfig,
  loadTestConfig,
  runLoadTest,
  runSloGate,
  type GateOutcome,
  type LoadTestOutcome,
} from './actions.js';
import { committedDigest, readRenderedObjects, type RehearsalRepos } from './checkout.js';
import type { Fault, FaultRecord, RedisTarget } from './faults.js';
import {
  neighbourFaultContext,
  neighbourVus,
  runNeighbourLoad,
  type NeighbourLoad,
  type NeighbourRunning,
} from './neighbour.js';
import { startProductionTraffic, type ProductionTraffic } from './production-traffic.js';
import { syncProduction, type ProductionSync } from './production-sync.js';
import { deploymentImage } from './manifests.js';
import type { ActionHandler, StepOutcome } from './player.js';
import type { WorkflowJob } from './workflow.js';
import { formatDuration } from './progress.js';
import { unmet } from '../../../actions/slo-gate/src/evaluate.js';
import type { Replica } from './replicas.js';
import { REHEARSAL_REBALANCE_INTERVAL_MS, scaleUpDuringLoad, type ScaleUpRecord } from './scale-up.js';
import { serviceMonitorTargets } from './scrape-targets.js';
import {
  describeEnv,
  pullImage,
  startIngress,
  startMonitoring,
  startReplicas,
  type StandInOptions,
} from './standin.js';
import { StandInCluster } from './standin-cluster.js';
import { syncSteps } from './sync-order.js';
import { runSync } from './sync-run.js';
import { syncSummarySection } from './sync-summary.js';
import type { Teardown } from './teardown.js';

/** The running stand-in for the staging cluster. */
export interface StandInState {
  application: string;
  commit: string;
  objects: K8sObject[];
  image: string;
  socketUrl: string;
  ingressUrl: string;
  prometheusUrl: string;
  secrets: Record<string, string>;
  replicas: Replica[];
  redis: RedisTarget;
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
  /** The workflow verifies production after its sync: production's clients run from staging's load on. */
  verifiesProduction?: boolean;
  productionTraffic?: ProductionTraffic;
  /** Production's syncs in this run (the promotion's, then the rollback's), in order. */
  productionSyncs?: ProductionSync[];
  /** The image production ran before this run synced it. */
  productionImageBefore?: string;
  /** Production's verification after its sync (the slo-gate step of the job that syncs production). */
  verification?: { gate: GateOutcome; inputs: Record<string, string> };
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
            ? `the stand-in already runs ${image}`
            : `stand-in not re-synced: ${app.path} at ${commit.slice(0, 12)} runs ${image}, which the loopback registry does not have (a cluster would pull it)`,
      };
    }
    const opts: StandInOptions = {
      objects,
      replicas: state.replicas,
      mode: state.skipImage ? 'process' : 'container',
      scrapeIntervalMs: state.scrapeIntervalMs,
      runId: state.runId,
      dir: state.dir,
      logDir: join(state.summaryDir, 'pods'),
      teardown: state.teardown,
      log,
      interrupted: state.interrupted,
      ...(state.scaleUp === undefined
        ? {}
        : {
            extraEnv: {
              REBALANCE_INTERVAL_MS: {
                value: String(REHEARSAL_REBALANCE_INTERVAL_MS),
                why: '--scale-up: the rebalancer on (off by default), every 3 s for a short load',
              },
            },
          }),
    };
    state.syncAttempted = true;
    log(
      `stand-in for ${inputs.application}: ${app.path} at ${commit.slice(0, 12)} (${objects.length} objects)`,
    );
    const cluster = new StandInCluster(opts, image, (c) => startReplicas(opts, c));
    if (!state.skipImage) {
      await state.substep(
        `pull ${image}`,
        () => pullImage(image),
        () => 'as the kubelet does before the first pod of it starts',
      );
    }
    const sync = await state.substep(
      `Argo CD sync: ${syncSteps(objects).length} steps (phase, wave)`,
      () => runSync(objects, cluster, log),
      (r) => `${r.phase}: ${r.message}`,
    );
    const syncSection = syncSummarySection(inputs.application ?? '', sync);
    if (sync.phase !== 'Succeeded') {
      return {
        outputs: { ...outputs, 'sync-status': 'OutOfSync', 'health-status': 'Degraded' },
        summary: [syncSection],
        failed: `Argo CD sync of ${inputs.application} failed: ${sync.message}`,
      };
    }
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
    // Every environment's serving pods (a neighbour's rolling update changes its own in place).
    const retarget = async () => {
      await monitoring.prometheus.setLabelledTargets(
        [{ objects, replicas: pods.replicas }, ...(neighbour ? [neighbour] : [])].flatMap((e) =>
          serviceMonitorTargets(e),
        ),
      );
    };
    state.standIn = {
      application: inputs.application ?? '',
      commit,
      objects,
      image,
      socketUrl: nginx.socketUrl,
      ingressUrl: nginx.httpUrl,
      prometheusUrl: monitoring.prometheus.url,
      secrets,
      replicas: pods.replicas,
      redis: cluster.redis!,
      addPod: async () => {
        const pod = await cluster.addPod!();
        await cluster.onEndpoints!(pods.replicas);
        return pod;
      },
      retarget,
    };
    // The Service's endpoints: nginx's upstreams and Prometheus's targets follow the serving pods.
    cluster.onEndpoints = async (serving) => {
      await nginx.setUpstreams(serving.map((r) => r.port));
      await monitoring.prometheus.setLabelledTargets(
        [
          { objects: state.standIn?.objects ?? objects, replicas: serving },
          ...(neighbour ? [neighbour] : []),
        ].flatMap((e) => serviceMonitorTargets(e)),
      );
    };
    // The LOADTEST_TOKEN secret: a JWT signed with the environment's JWT_SECRET, join/publish room:*.
    state.loadTestToken = await new SignJWT({ sub: 'loadtest', join: ['room:*'], publish: ['room:*'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuedAt()
      .setExpirationTime('2h')
      .sign(new TextEncoder().encode(secrets.JWT_SECRET ?? ''));
    const env = describeEnv(pods.spec, pods.envOf(0), opts.extraEnv);
    const summary: SummarySection[] = [
      syncSection,
      {
        heading: `Synced ${inputs.application} to the stand-in`,
        level: 2,
        table: keyValueTable([
          ['Revision', code(`${revision} = ${commit.slice(0, 12)}`)],
          ['Path', code(app.path)],
          ['Image', code(image)],
          ['Pods', pods.replicas.map((r) => `${r.name} on 127.0.0.1:${r.port} (${r.where()})`).join('; ')],
          ['Jobs', migration],
          ['Ingress', `${nginx.httpUrl}: ${ingress.nginx.paths?.join(', ')}`],
          [
            'Ingress annotations',
            Object.entries(ingress.annotations)
              .map(([k, v]) => `${k}=${v}`)
              .join(', '),
          ],
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
      outputs,
      note: `stand-in synced to ${commit.slice(0, 12)}: ${state.replicas} pods of ${image}`,
      summary,
    };
  };
}

/** k6-loadtest: the Node runner (engine: node) through the Ingress stand-in, with the fault. */
function loadTestHandler(state: RehearsalState): ActionHandler {
  return async ({ inputs, log }) => {
    const overrides: Record<string, string> = { engine: 'node' };
    if (state.session) {
      overrides.env = [inputs.env ?? '', `SESSION=${state.session}`].filter(Boolean).join('\n');
    }
    const config = loadTestConfig({ ...inputs, ...overrides }, state.root, state.summaryDir);
    let lines = 0;
    // What k6-loadtest outputs as started-at/ended-at: the span the SLO gate judges.
    const startedAt = new Date().toISOString();
    const running = runLoadTest(config, (line) => {
      if (lines++ % 5 === 0) log(line);
    });
    // The neighbour's own traffic over the same span.
    const neighbour = state.neighbour ? await state.neighbour : undefined;
    const neighbourLoad = neighbour ? runNeighbourLoad(neighbour, config, state.summaryDir) : undefined;
    let injected: Promise<FaultRecord> | undefined;
    const fault = state.fault;
    const standIn = state.standIn;
    if (fault && state.faultAt && standIn) {
      const at = state.faultAt;
      injected = new Promise<void>((r) => setTimeout(r, at.atMs)).then(() => {
        const into = state.faultInNeighbour && neighbour ? ` into ${neighbour.environment}` : '';
        log(`injecting fault ${fault.name}${into}: ${fault.description}`);
        return fault.inject(
          state.faultInNeighbour && neighbour
            ? neighbourFaultContext(neighbour, at.holdMs, log)
            : {
                replicas: standIn.replicas,
                redis: standIn.redis,
                ingressUrl: standIn.ingressUrl,
                apiToken: standIn.secrets.API_TOKEN ?? '',
                jwtSecret: standIn.secrets.JWT_SECRET ?? '',
                holdMs: at.holdMs,
                log,
              },
        );
      });
    }
    const scaled =
      state.scaleUp && standIn
        ? scaleUpDuringLoad({
            addPod: standIn.addPod,
            replicas: () => standIn.replicas,
            loadStartedAt: Date.parse(startedAt),
            ...state.scaleUp,
            log,
          })
        : undefined;
    const [outcome, record, other, scaleUp] = await Promise.all([running, injected, neighbourLoad, scaled]);
    // Production's clients from here on: its verification judges them after its sync, against the
    // window before it (production-traffic.ts). Only when production can follow (the load passed).
    if (neighbour && state.verifiesProduction && outcome.combined.passed && !state.productionTraffic) {
      const traffic = startProductionTraffic(neighbour, {
        scenario: 'fanout',
        vus: neighbourVus(config.vus ?? 100),
        log,
      });
      state.productionTraffic = traffic;
      state.teardown.add(`${neighbour.environment}'s clients`, async () => {
        await traffic.stop();
      });
    }
    state.neighbourLoad = other;
    state.scaleUpRecord = scaleUp;
    const endedAt = new Date().toISOString();
    state.load = outcome;
    state.loadStartedAt = startedAt;
    state.loadEndedAt = endedAt;
    state.faultRecord = record;
    const failed = outcome.combined.thresholds.filter((t) => !t.ok);
    const result: StepOutcome = {
      outputs: {
        passed: String(outcome.combined.passed),
        thresholds: JSON.stringify(
          outcome.combined.thresholds.map((t) => ({
            metric: t.metric,
            expression: t.expression,
            ok: t.ok,
            value: t.value ?? null,
          })),
        ),
        'summary-path': config.summaryPath,
        'duration-seconds': String(Math.ceil(outcome.combined.testRunDurationMs / 1000)),
        'started-at': startedAt,
        'ended-at': endedAt,
      },
      note: `${outcome.combined.passed ? 'passed' : 'FAILED'} ${outcome.combined.thresholds.filter((t) => t.ok).length}/${outcome.combined.thresholds.length} thresholds in ${formatDuration(outcome.combined.testRunDurationMs)} (${changes(Object.keys(overrides))}${record ? `; fault: ${record.actions.join(', ')}` : ''})`,
      summary: outcome.sections,
    };
    if (!outcome.combined.passed && config.failOnThresholds) {
      result.failed = `load test ${config.scenario} failed ${failed.length} threshold(s): ${failed
        .map((t) => `${t.metric} ${t.expression} (value ${t.value ?? 'n/a'})`)
        .join(', ')}`;
    }
    return result;
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
    // A continuity fault's clients count what they lost: the gate judges it from their summary, as
    // deploy.yml will once it passes k6-loadtest's summary-path (docs/pipeline.md); until then the
    // rehearsal passes it.
    if (!verifying && !scraped['summary-path'] && state.fault?.scenario === 'rollout' && state.load) {
      scraped['summary-path'] = state.load.config.summaryPath;
      log(
        `rehearsal sets summary-path: ${state.load.config.summaryPath} (the load test's summary; deploy.yml does not pass it yet)`,
      );
    }
    const config = gateConfig(scraped, state.root);
    if (!verifying) state.gateInputs = scraped;
    const gate = await runSloGate(config, log);
    if (verifying) state.verification = { gate, inputs: scraped };
    else state.gate = gate;
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
