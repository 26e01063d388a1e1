// The stand-in for the staging cluster, built from the rendered overlay the way Argo CD would apply
// it, in the order a sync does: backing services (the Redis and PostgreSQL StatefulSets, the
// ExternalSecret's Secret), the PreSync migration Job, the server Deployment's pods, the Ingress
// (real nginx with the Ingress's ingress-nginx annotations) and monitoring (real Prometheus with the
// PrometheusRule's groups, scraping the pods). Everything listens on 127.0.0.1 only and registers
// its stop with the Teardown.
import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { stringify } from 'yaml';
import {
  freePort,
  startPostgres,
  startPrometheus,
  startRedis,
  type PostgresServer,
  type PrometheusServer,
  type RedisServer,
} from '../../../testkit/src/index.js';
import { startNginx, type NginxProxy } from '../../../testkit/src/nginx.js';
import { runTool } from '../image/index.js';
import type { K8sObject } from '../validate/index.js';
import {
  containerSpec,
  ingressSettings,
  mapServiceAddresses,
  prometheusRuleGroups,
  scrapeEndpoint,
  type ContainerSpec,
  type EnvSource,
  type IngressSettings,
} from './manifests.js';
import { runJobContainer, startContainerReplica, startProcessReplica, type Replica } from './replicas.js';
import type { Teardown } from './teardown.js';

const run = promisify(execFile);

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
}

/** Names of secret keys the workloads reference (secretKeyRef), with a random value each. */
function generateSecrets(objects: K8sObject[]): Record<string, Record<string, string>> {
  const refs = JSON.stringify(objects).matchAll(/"secretKeyRef":\{"key":"([^"]+)","name":"([^"]+)"/g);
  const secrets: Record<string, Record<string, string>> = {};
  for (const [, key, name] of refs) {
    (secrets[name!] ??= {})[key!] = randomBytes(24).toString('base64url');
  }
  return secrets;
}

/** Variables the stand-in sets itself, and why (the summary shows these reasons). */
const overridden: Record<string, string> = {
  HOST: 'loopback only',
  PORT: 'a free port per pod (pods share the host network)',
  BROKER: 'standalone Redis stands in for the Redis Cluster',
  REDIS_URL: 'the local Redis',
  REDIS_CLUSTER_NODES: 'removed: standalone Redis',
  OTEL_EXPORTER_OTLP_ENDPOINT: 'removed: no Jaeger in the stand-in',
};

/** Starts Redis and PostgreSQL, the database role and database DATABASE_URL names, and the secrets. */
export async function startBackingServices(opts: StandInOptions): Promise<{
  redis: RedisServer;
  postgres: PostgresServer;
  secrets: Record<string, Record<string, string>>;
  services: Record<string, string>;
}> {
  const redis = await startRedis();
  opts.teardown.add('redis', () => redis.stop());
  const postgres = await startPostgres();
  opts.teardown.add('postgresql', () => postgres.stop());
  const secrets = generateSecrets(opts.objects);
  const services: Record<string, string> = { postgres: `127.0.0.1:${postgres.port}` };
  // The role and database the rendered DATABASE_URL logs in as (the StatefulSet's init does this).
  const probe = containerSpec(opts.objects, 'Deployment', 'switchboard', 'server', {
    podName: 'probe',
    namespace: 'rehearsal',
    secrets,
  });
  const dbUrl = probe.env.DATABASE_URL;
  if (dbUrl) {
    const url = new URL(mapServiceAddresses(dbUrl, services));
    const user = decodeURIComponent(url.username);
    const database = url.pathname.replace(/^\//, '') || user;
    const admin = new pg.Client({ connectionString: postgres.url });
    await admin.connect();
    try {
      await admin.query(
        `CREATE ROLE ${admin.escapeIdentifier(user)} LOGIN PASSWORD ${admin.escapeLiteral(decodeURIComponent(url.password))}`,
      );
      await admin.query(
        `CREATE DATABASE ${admin.escapeIdentifier(database)} OWNER ${admin.escapeIdentifier(user)}`,
      );
    } finally {
      await admin.end();
    }
  }
  return { redis, postgres, secrets, services };
}

/** A pod's environment: the rendered one, with in-cluster addresses mapped to loopback. */
function podEnv(
  spec: ContainerSpec,
  services: Record<string, string>,
  redis: RedisServer,
  port: number,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(spec.env)) env[k] = mapServiceAddresses(v, services);
  delete env.REDIS_CLUSTER_NODES;
  delete env.OTEL_EXPORTER_OTLP_ENDPOINT;
  env.BROKER = 'redis';
  env.REDIS_URL = redis.url;
  env.HOST = '127.0.0.1';
  env.PORT = String(port);
  return env;
}

/** Runs the PreSync migration Job's container (or `npm run migrate`'s module in process mode). */
export async function runMigrationJob(
  opts: StandInOptions,
  backing: Awaited<ReturnType<typeof startBackingServices>>,
): Promise<string> {
  // PreSync hooks only: the PostSync redis-cluster-create Job has no part with a standalone Redis.
  const job = opts.objects.find(
    (o) =>
      o.kind === 'Job' &&
      (o.metadata.annotations?.['argocd.argoproj.io/hook'] ?? '').split(',').includes('PreSync'),
  );
  if (!job) return 'no PreSync hook Job in the overlay';
  const containerName =
    (job.spec as { template?: { spec?: { containers?: { name: string }[] } } }).template?.spec
      ?.containers?.[0]?.name ?? 'migrate';
  const spec = containerSpec(opts.objects, 'Job', job.metadata.name, containerName, {
    podName: `${job.metadata.name}-rehearsal`,
    namespace: job.metadata.namespace ?? 'rehearsal',
    secrets: backing.secrets,
  });
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(spec.env)) env[k] = mapServiceAddresses(v, backing.services);
  if (opts.mode === 'container') {
    const out = await runJobContainer(spec, env, {
      name: `${opts.runId}-${job.metadata.name}`,
      label: `io.switchboard.rehearsal=${opts.runId}`,
      dir: opts.dir,
      timeoutMs: 180_000,
    });
    return `Job/${job.metadata.name} (${spec.command?.join(' ') ?? 'image CMD'}): ${lastLine(out)}`;
  }
  const migrate = fileURLToPath(new URL('../../../server/src/store/migrate.ts', import.meta.url));
  const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', migrate], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    timeout: 180_000,
  });
  return `Job/${job.metadata.name} (server/src/store/migrate.ts): ${lastLine(stdout + stderr)}`;
}

function lastLine(text: string): string {
  return (
    text
      .trim()
      .split('\n')
      .filter((l) => l.trim())
      .at(-1)
      ?.slice(0, 200) ?? 'done'
  );
}

/** Pulls the pinned image from the registry, as the kubelet does before the first pod starts. */
export async function pullImage(image: string): Promise<void> {
  await runTool('podman', ['pull', '--quiet', '--tls-verify=false', image], { timeoutMs: 300_000 });
}

/** Starts the Deployment's pods and waits until each answers /readyz. */
export async function startReplicas(
  opts: StandInOptions,
  backing: Awaited<ReturnType<typeof startBackingServices>>,
): Promise<{ replicas: Replica[]; spec: ContainerSpec; envOf: (i: number) => Record<string, string> }> {
  const ports: number[] = [];
  const specOf = (i: number) =>
    containerSpec(opts.objects, 'Deployment', 'switchboard', 'server', {
      podName: `switchboard-${opts.runId}-${i}`,
      namespace: 'rehearsal',
      secrets: backing.secrets,
    });
  const envOf = (i: number) => podEnv(specOf(i), backing.services, backing.redis, ports[i]!);
  const replicas: Replica[] = [];
  opts.teardown.add('server pods', async () => {
    // Kubernetes' stop: SIGTERM, drain within the grace period; quick when interrupted.
    const grace = opts.interrupted() ? 2 : Math.min(specOf(0).terminationGraceSeconds, 60);
    await Promise.all(replicas.map((r) => r.stop(grace)));
    mkdirSync(opts.logDir, { recursive: true });
    for (const r of replicas) writeFileSync(join(opts.logDir, `${r.name}.log`), await r.fullLogs());
    if (opts.mode === 'container') {
      // Anything of this run still there (e.g. a pod that failed to become ready).
      const { stdout } = await runTool('podman', [
        'ps',
        '--all',
        '--quiet',
        '--filter',
        `label=io.switchboard.rehearsal=${opts.runId}`,
      ]).catch(() => ({ stdout: '' }));
      for (const id of stdout.split('\n').filter(Boolean)) {
        await runTool('podman', ['rm', '--force', '--time', '0', id]).catch(() => undefined);
      }
    }
  });
  // One at a time, like a first rollout with maxSurge: each pod must be ready before the next.
  for (let i = 0; i < opts.replicas; i++) {
    const name = `switchboard-${opts.runId}-${i}`;
    let replica: Replica | undefined;
    // A free port can be taken (e.g. as an outgoing connection's local port) before the pod binds
    // it: then the pod exits with EADDRINUSE and gets another port, like a rescheduled pod.
    for (let attempt = 1; !replica; attempt++) {
      ports[i] = await freePort();
      try {
        replica =
          opts.mode === 'container'
            ? await startContainerReplica(specOf(i), envOf(i), {
                name,
                port: ports[i]!,
                label: `io.switchboard.rehearsal=${opts.runId}`,
                dir: opts.dir,
                readyTimeoutMs: 90_000,
              })
            : await startProcessReplica(envOf(i), { name, port: ports[i]!, readyTimeoutMs: 90_000 });
      } catch (err) {
        if (attempt >= 3 || !/EADDRINUSE/.test((err as Error).message)) throw err;
        opts.log(`${name}: port ${ports[i]} was taken before the pod bound it; another port`);
        if (opts.mode === 'container')
          await runTool('podman', ['rm', '--force', '--time', '0', name]).catch(() => undefined);
      }
    }
    replicas.push(replica);
    opts.log(`${name} ready on 127.0.0.1:${ports[i]} (${replica.where()})`);
  }
  return { replicas, spec: specOf(0), envOf };
}

/** The environment table for the summary: values of secrets and generated keys are hidden. */
export function describeEnv(
  spec: ContainerSpec,
  env: Record<string, string>,
): { name: string; value: string; source: EnvSource | 'rehearsal' }[] {
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
    const changed = env[name] !== spec.env[name] || name in overridden;
    return {
      name,
      value: changed && overridden[name] ? `${value} (${overridden[name]})` : value,
      source:
        changed && !secret && name !== 'DATABASE_URL' && overridden[name]
          ? 'rehearsal'
          : (source ?? 'rehearsal'),
    };
  });
}

/** Starts nginx with the rendered Ingress's settings in front of the pods. */
export async function startIngress(
  opts: StandInOptions,
  replicas: Replica[],
): Promise<{
  nginx: NginxProxy;
  ingress: IngressSettings;
}> {
  const ingress = ingressSettings(opts.objects);
  const nginx = await startNginx(
    replicas.map((r) => r.port),
    ingress.nginx,
  );
  opts.teardown.add('nginx (Ingress)', () => nginx.stop());
  return { nginx, ingress };
}

/** Starts Prometheus with the PrometheusRule's groups, scraping every pod; waits for targets and rules. */
export async function startMonitoring(
  opts: StandInOptions,
  replicas: Replica[],
): Promise<{ prometheus: PrometheusServer; rules: string; groups: number }> {
  const { name, groups } = prometheusRuleGroups(opts.objects);
  const endpoint = scrapeEndpoint(opts.objects);
  if (endpoint.path !== '/metrics') {
    throw new Error(
      `ServiceMonitor scrapes ${endpoint.path}; the stand-in's Prometheus scrapes /metrics only`,
    );
  }
  const rules = join(opts.dir, `${name}.rules.yaml`);
  writeFileSync(rules, stringify({ groups }));
  const prometheus = await startPrometheus({
    scrapeTargets: replicas.map((r) => `127.0.0.1:${r.port}`),
    ruleFiles: [rules],
    scrapeIntervalMs: opts.scrapeIntervalMs,
  });
  opts.teardown.add('prometheus', () => prometheus.stop());
  const deadline = Date.now() + 60_000;
  for (;;) {
    const targets = await prometheus.api<{ activeTargets: { health: string }[] }>('targets');
    const loaded = await prometheus.api<{ groups: unknown[] }>('rules');
    const up = targets.activeTargets.filter((t) => t.health === 'up').length;
    if (up === replicas.length && loaded.groups.length === groups.length) break;
    if (Date.now() > deadline) {
      throw new Error(
        `prometheus: ${up}/${replicas.length} targets up, ${loaded.groups.length}/${groups.length} rule groups loaded after 60 s:\n${prometheus.output().slice(-2000)}`,
      );
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return { prometheus, rules, groups: groups.length };
}
