// The stand-in for the staging cluster's parts: the server Deployment's pods (started when the sync
// reaches the Deployment, standin-cluster.ts), the Ingress (real nginx with the Ingress's
// ingress-nginx annotations) and monitoring (real Prometheus with the PrometheusRule's groups,
// scraping the pods), both started once the sync is done, as their controllers would pick them up.
// Everything listens on 127.0.0.1 only and registers its stop with the Teardown.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import {
  onFreePorts,
  PortTakenError,
  startPrometheus,
  type PrometheusServer,
} from '../../../testkit/src/index.js';
import { startNginx, type NginxProxy } from '../../../testkit/src/nginx.js';
import { runTool } from '../../../pipeline/src/image/index.js';
import { zxRunner } from '../zx.js';
import type { K8sObject } from '../../../pipeline/src/validate/index.js';
import {
  mapServiceAddresses,
  prometheusRuleGroups,
  scrapeEndpoint,
  type ContainerSpec,
  type EnvSource,
  type IngressSettings,
} from './manifests.js';
import { edgeSettings } from './edge.js';
import { ruleFileName, serviceMonitorTargets, type ScrapedEnvironment } from './scrape-targets.js';
import { startContainerReplica, startProcessReplica, type Replica } from './replicas.js';
import type { StandInCluster } from './standin-cluster.js';
import type { Teardown } from './teardown.js';

/** How the server pods run: the pushed image under podman, or processes from the working tree. */
export type ReplicaMode = 'container' | 'process';

/** What the stand-in is built from. */
export interface StandInOptions {
  objects: K8sObject[];
  replicas: number;
  mode: ReplicaMode;
  /** Prometheus scrape and rule-evaluation interval (the ServiceMonitor says 15 s; rehearsals use less). */
  scrapeIntervalMs: number;
  /** Labels containers, so they can be found and removed. */
  runId: string;
  dir: string;
  /** Where the pods' logs are saved when they stop. */
  logDir: string;
  teardown: Teardown;
  log: (line: string) => void;
  /** Set when an interrupt asks teardown to be quick (short drain instead of the grace period). */
  interrupted: () => boolean;
  /** Variables the rehearsal adds to every pod's environment, each with why (shown in the summary). */
  extraEnv?: Record<string, { value: string; why: string }>;
}

/** Variables the stand-in sets itself, and why (the summary shows these reasons). */
const overridden: Record<string, string> = {
  HOST: 'loopback only',
  PORT: 'a free port per pod (pods share the host network)',
  REDIS_URL: 'the stand-in Redis on loopback',
  REDIS_CLUSTER_NODES: "the stand-in Redis Cluster's nodes on loopback",
  OTEL_EXPORTER_OTLP_ENDPOINT: 'removed: no Jaeger in the stand-in',
};

/** A pod's environment: the rendered one, with in-cluster addresses mapped to loopback. */
function podEnv(
  spec: ContainerSpec,
  services: Record<string, string>,
  port: number,
  metricsPort: number,
  extraEnv: StandInOptions['extraEnv'] = {},
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(spec.env)) env[k] = mapServiceAddresses(v, services);
  for (const [k, v] of Object.entries(extraEnv)) env[k] = v.value;
  delete env.OTEL_EXPORTER_OTLP_ENDPOINT;
  env.HOST = '127.0.0.1';
  env.PORT = String(port);
  env.METRICS_PORT = String(metricsPort);
  return env;
}

/** Pulls the pinned image from the registry, as the kubelet does before the first pod starts. */
export async function pullImage(image: string): Promise<void> {
  await runTool('podman', ['pull', '--quiet', '--tls-verify=false', image], {
    timeoutMs: 300_000,
    runner: zxRunner,
  });
}

/** Starts the Deployment's pods and waits until each answers /readyz. */
export async function startReplicas(opts: StandInOptions, cluster: StandInCluster): Promise<void> {
  const ports: number[] = [];
  const metricsPorts: number[] = [];
  // Resolved against what the sync has applied so far: a missing Secret or ConfigMap key throws.
  const specOf = (i: number) => cluster.deploymentSpec(`switchboard-${opts.runId}-${i}`);
  const envOf = (i: number) =>
    podEnv(specOf(i), cluster.services, ports[i]!, metricsPorts[i]!, cluster.extraEnv);
  cluster.podSpec = specOf(0);
  cluster.podEnvOf = envOf;
  const replicas = cluster.replicas;
  opts.teardown.add('server pods', async () => {
    // Kubernetes' stop: SIGTERM, drain within the grace period; quick when interrupted.
    // The Deployment may be between two applies of a later sync (an interrupt): then the default 30 s.
    const rendered = (() => {
      try {
        return specOf(0).terminationGraceSeconds;
      } catch {
        return 30;
      }
    })();
    const grace = opts.interrupted() ? 2 : Math.min(rendered, 60);
    const serving = [...replicas, ...(cluster.canary ? [cluster.canary] : [])];
    await Promise.all(serving.map((r) => r.stop(grace)));
    mkdirSync(opts.logDir, { recursive: true });
    for (const r of [...cluster.retired, ...serving])
      writeFileSync(join(opts.logDir, `${r.name}.log`), await r.fullLogs());
    if (cluster.mode === 'container' || opts.mode === 'container') {
      // Anything of this run still there (e.g. a pod that failed to become ready).
      const { stdout } = await runTool(
        'podman',
        ['ps', '--all', '--quiet', '--filter', `label=io.switchboard.rehearsal=${opts.runId}`],
        { runner: zxRunner },
      ).catch(() => ({ stdout: '' }));
      for (const id of stdout.split('\n').filter(Boolean)) {
        await runTool('podman', ['rm', '--force', '--time', '0', id], { runner: zxRunner }).catch(
          () => undefined,
        );
      }
    }
  });
  // A canary's pod: its own Deployment's spec and environment, not one of `replicas`.
  const startPod = async (i: number, canary?: CanaryPod): Promise<Replica> => {
    const name = canary?.name ?? `switchboard-${opts.runId}-${i}`;
    const spec = () => canary?.spec ?? specOf(i);
    const env = () =>
      canary ? podEnv(canary.spec, cluster.services, ports[i]!, metricsPorts[i]!, canary.extraEnv) : envOf(i);
    // A picked port can be taken (e.g. as an outgoing connection's local port) before the pod binds
    // it: then the pod exits with EADDRINUSE and gets other ports, like a rescheduled pod.
    const replica = await onFreePorts(
      2,
      async ([port, metricsPort]) => {
        ports[i] = port!;
        metricsPorts[i] = metricsPort!;
        try {
          return cluster.mode === 'container'
            ? await startContainerReplica(spec(), env(), {
                name,
                port: port!,
                metricsPort: metricsPort!,
                label: `io.switchboard.rehearsal=${opts.runId}`,
                dir: opts.dir,
                readyTimeoutMs: 90_000,
              })
            : await startProcessReplica(env(), {
                name,
                port: port!,
                metricsPort: metricsPort!,
                readyTimeoutMs: 90_000,
              });
        } catch (err) {
          if (!/EADDRINUSE/.test((err as Error).message)) throw err;
          opts.log(`${name}: port ${port} or ${metricsPort} was taken before the pod bound it; other ports`);
          if (cluster.mode === 'container')
            await runTool('podman', ['rm', '--force', '--time', '0', name], { runner: zxRunner }).catch(
              () => undefined,
            );
          throw new PortTakenError((err as Error).message);
        }
      },
      3,
    );
    if (!canary) replicas.push(replica);
    opts.log(`${name} ready on 127.0.0.1:${ports[i]} (${replica.where()})`);
    return replica;
  };
  // Pod names and ports by ordinal; pods a rolling update replaced keep theirs.
  let next = 0;
  // A scale-up (the HPA raising replicas) or a rolling update's new pod, from what is applied now.
  cluster.addPod = () => startPod(next++);
  cluster.startCanaryPod = (pod) => startPod(next++, pod);
  // One at a time, like a first rollout with maxSurge: each pod must be ready before the next.
  for (let i = 0; i < opts.replicas; i++) await startPod(next++);
}

/** A pod of the canary Deployment (standin-cluster.ts). */
export interface CanaryPod {
  name: string;
  spec: ContainerSpec;
  extraEnv: StandInOptions['extraEnv'];
}

/** The environment table for the summary: values of secrets and generated keys are hidden. */
export function describeEnv(
  spec: ContainerSpec,
  env: Record<string, string>,
  extraEnv: StandInOptions['extraEnv'] = {},
): { name: string; value: string; source: EnvSource | 'rehearsal' }[] {
  const reasons: Record<string, string> = { ...overridden };
  for (const [k, v] of Object.entries(extraEnv)) reasons[k] = v.why;
  const names = [...new Set([...Object.keys(spec.env), ...Object.keys(env)])].sort();
  return names.map((name) => {
    const source = spec.envSources[name];
    const secret = source?.startsWith('secret') || /PASSWORD|SECRET|TOKEN/.test(name);
    const value =
      name in env
        ? secret
          ? '(generated secret)'
          : name === 'DATABASE_URL'
            ? env[name]!.replace(/:[^:@/]+@/, ':***@')
            : env[name]!
        : '(removed)';
    const changed = env[name] !== spec.env[name] || name in reasons;
    return {
      name,
      value: changed && reasons[name] ? `${value} (${reasons[name]})` : value,
      source:
        changed && !secret && name !== 'DATABASE_URL' && reasons[name]
          ? 'rehearsal'
          : (source ?? 'rehearsal'),
    };
  });
}

/** Starts nginx with the rendered edge's settings (Ingress, or the Gateway route) in front of the pods. */
export async function startIngress(
  opts: StandInOptions,
  replicas: Replica[],
): Promise<{
  nginx: NginxProxy;
  ingress: IngressSettings;
}> {
  const ingress = edgeSettings(opts.objects);
  const nginx = await startNginx(
    replicas.map((r) => r.port),
    ingress.nginx,
  );
  opts.teardown.add('nginx (Ingress)', () => nginx.stop());
  return { nginx, ingress };
}

/**
 * Starts Prometheus as the cluster's one Prometheus: it scrapes every pod of this environment and of
 * `neighbours` (other environments of the cluster) with the ServiceMonitor's target labels, and loads
 * each environment's PrometheusRule as a rule file of its own; waits for targets and rules.
 */
export async function startMonitoring(
  opts: StandInOptions,
  replicas: Replica[],
  neighbours: ScrapedEnvironment[] = [],
): Promise<{ prometheus: PrometheusServer; rules: string[]; groups: number }> {
  const environments = [{ objects: opts.objects, replicas }, ...neighbours];
  const ruleFiles: string[] = [];
  let groupCount = 0;
  for (const env of environments) {
    const { groups } = prometheusRuleGroups(env.objects);
    const endpoint = scrapeEndpoint(env.objects);
    if (endpoint.path !== '/metrics') {
      throw new Error(
        `ServiceMonitor scrapes ${endpoint.path}; the stand-in's Prometheus scrapes /metrics only`,
      );
    }
    const file = join(opts.dir, ruleFileName(env.objects));
    writeFileSync(file, stringify({ groups }));
    ruleFiles.push(file);
    groupCount += groups.length;
  }
  const pods = environments.reduce((n, e) => n + e.replicas.length, 0);
  // Targets carry the labels the Prometheus Operator's ServiceMonitor relabelling gives them
  // (namespace, pod, ...): each gate selects its environment by its namespace.
  const prometheus = await startPrometheus({
    scrapeTargets: [],
    labelledTargets: environments.flatMap((e) => serviceMonitorTargets(e)),
    ruleFiles,
    scrapeIntervalMs: opts.scrapeIntervalMs,
  });
  opts.teardown.add('prometheus', () => prometheus.stop());
  const deadline = Date.now() + 60_000;
  for (;;) {
    const targets = await prometheus.api<{ activeTargets: { health: string }[] }>('targets');
    const loaded = await prometheus.api<{ groups: unknown[] }>('rules');
    const up = targets.activeTargets.filter((t) => t.health === 'up').length;
    if (up === pods && loaded.groups.length === groupCount) break;
    if (Date.now() > deadline) {
      throw new Error(
        `prometheus: ${up}/${pods} targets up, ${loaded.groups.length}/${groupCount} rule groups loaded after 60 s:\n${prometheus.output().slice(-2000)}`,
      );
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return { prometheus, rules: ruleFiles, groups: groupCount };
}
