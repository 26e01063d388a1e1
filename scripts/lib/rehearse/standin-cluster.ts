// The stand-in cluster as an Argo CD sync target (sync-run.ts): each rendered object, when the sync
// applies it, becomes what a cluster would make of it, on 127.0.0.1 -- and only from what has been
// applied before it, so an order that cannot work on a cluster fails here too:
//   Namespace       later objects in it can be created (else the API server's "namespaces not found")
//   ExternalSecret  the target Secret, a random value per key the workloads reference (Secret: its data)
//   StatefulSet     postgres: real PostgreSQL, the role and database of its POSTGRES_USER/_DB/_PASSWORD;
//                   redis: real Redis; redis-cluster: `replicas` cluster-enabled nodes, no cluster formed;
//                   Redis with the --requirepass its rendered command line names
//   Job             runs to completion (hook or not): the server image's Jobs as podman containers (or
//                   the working tree's module with --skip-image), others on this machine with the
//                   ConfigMap volumes they mount (the create-cluster script with this machine's redis-cli)
//   Deployment      switchboard: the pods, each ready on /readyz before the next; a later sync
//                   (beginSync) whose pod template differs from the running pods' rolls them as the
//                   Deployment's RollingUpdate strategy says (rolling-update.ts);
//                   switchboard-canary: its one pod beside them, pruned by a later sync without it
//   Job             switchboard-canary-move: move-share.ts's own code against each stable pod
//   others          recorded, with gitops-engine's health rule (HPA without its Deployment: Degraded)
// A pod that lacks a Secret or ConfigMap key does not start (CreateContainerConfigError): its Job or
// Deployment never completes; the target reports that instead of waiting out Kubernetes' deadlines.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import {
  redisNodeFaults,
  startPostgres,
  startRedis,
  startRedisClusterNodes,
  type PostgresServer,
  type RedisServer,
} from '../../../testkit/src/index.js';
import type { K8sObject } from '../../../pipeline/src/validate/index.js';
import type { RedisTarget } from './faults.js';
import {
  containerSpec,
  expandVars,
  mapServiceAddresses,
  ManifestError,
  type ContainerSpec,
} from './manifests.js';
import { podSpec, runJobOnThisMachine, runServerImageJob } from './jobs.js';
import type { Replica } from './replicas.js';
import { rollingStrategy, rollingUpdate, type RollRecord } from './rolling-update.js';
import type { CanaryPod, ReplicaMode, StandInOptions } from './standin.js';
import { moveShare, readMoveShareConfig, type PodMove } from '../../../server/src/canary/move-share.js';
import { CANARY_DEPLOYMENT, MOVE_JOB } from '../../../pipeline/src/kustomize/canary.js';
import type { Health, SyncTarget } from './sync-run.js';
import type { SyncTask } from './sync-order.js';

function lastLine(text: string): string {
  return (
    text
      .trim()
      .split('\n')
      .filter((l) => l.trim())
      .at(-1)
      ?.slice(0, 300) ?? 'done'
  );
}

/** How long a pod waits for a Secret or ConfigMap applied in the same step. */
const configRetryMs = 5000;

const notStarted = (err: unknown): Health => ({
  status: 'Progressing',
  message: `CreateContainerConfigError: ${(err as Error).message} (the pod never starts; a Job fails at its activeDeadlineSeconds)`,
});

/** The stand-in cluster a sync is played against. Start the Deployment's pods with `startPods`. */
export class StandInCluster implements SyncTarget {
  /** Objects applied so far, in order. */
  readonly applied: K8sObject[] = [];
  readonly secrets: Record<string, Record<string, string>> = Object.create(null) as Record<
    string,
    Record<string, string>
  >;
  /** In-cluster `host` (Service or pod DNS name) -> `127.0.0.1:port`. */
  readonly services: Record<string, string> = Object.create(null) as Record<string, string>;
  readonly notes: string[] = [];
  redis?: RedisTarget;
  postgres?: PostgresServer;
  replicas: Replica[] = [];
  podSpec?: ContainerSpec;
  podEnvOf?: (i: number) => Record<string, string>;
  /** Starts one more server pod (a scale-up) and resolves once it is ready; set with the pods. */
  addPod?: () => Promise<Replica>;
  /** Told the serving pods whenever they change (the Service's endpoints: the Ingress and Prometheus follow). */
  onEndpoints?: (serving: Replica[]) => Promise<void>;
  /** The canary Deployment's one pod (switchboard-canary), while a sync keeps it. */
  canary?: Replica;
  /** Starts the canary's pod from its spec (set with the pods). */
  startCanaryPod?: (pod: CanaryPod) => Promise<Replica>;
  /** What the rehearsal adds to the canary's pod (the new release's revision, a bad release). */
  canaryEnv: StandInOptions['extraEnv'] = {};
  /** The last move Job: connections each stable pod is closing for the canary. */
  lastMove?: PodMove[];
  /** Pods a rolling update replaced, stopped (their logs are saved with the others'). */
  readonly retired: Replica[] = [];
  /** Called as a rolling update begins (after the sync's earlier waves), e.g. to disturb it. */
  onRollStart?: () => void;
  /** The last rolling update, when a sync rolled the pods. */
  lastRoll?: RollRecord;
  /** What the rehearsal adds to the pods' environment, and how they run: part of their template. */
  extraEnv: StandInOptions['extraEnv'];
  mode: ReplicaMode;
  /** The template the running pods were started from. */
  private runningTemplate?: string;
  private readonly namespaces = new Set<string>();
  private readonly starting: Promise<unknown>[] = [];
  private readonly started = new Map<string, Promise<Health | undefined>>();

  constructor(
    private readonly opts: StandInOptions,
    /** The server image the Deployment runs (Jobs of this image run as its containers). */
    private serverImage: string,
    /** Starts the Deployment's pods from the applied objects; throws when one is never ready. */
    private readonly startPods: (cluster: StandInCluster) => Promise<void>,
  ) {
    this.extraEnv = opts.extraEnv;
    this.mode = opts.mode;
  }

  /**
   * Starts a later sync of the same cluster: what exists stays (namespaces, Secrets, running
   * StatefulSets); hooks and the Deployment are settled again. `pods` changes what the rehearsal
   * adds to the pods, so a template that differs from the running pods' rolls them.
   */
  beginSync(
    pods: { extraEnv?: StandInOptions['extraEnv']; mode?: ReplicaMode; serverImage?: string } = {},
  ): void {
    this.applied.length = 0;
    this.notes.length = 0;
    for (const key of [...this.started.keys()]) if (!key.startsWith('StatefulSet/')) this.started.delete(key);
    if (pods.extraEnv) this.extraEnv = pods.extraEnv;
    if (pods.mode) this.mode = pods.mode;
    if (pods.serverImage) this.serverImage = pods.serverImage;
  }

  async apply(task: SyncTask): Promise<void> {
    const o = task.object;
    const ns = o.metadata.namespace;
    if (ns && !this.namespaces.has(ns)) {
      throw new Error(`namespaces "${ns}" not found (${o.kind}/${o.metadata.name} is created in it)`);
    }
    this.applied.push(o);
    if (o.kind === 'Namespace') this.namespaces.add(o.metadata.name);
    else if (o.kind === 'ExternalSecret') this.createSecret(o);
    else if (o.kind === 'Secret') this.copySecret(o);
    else if (o.kind === 'StatefulSet') this.startStatefulSet(o);
  }

  async settle(task: SyncTask): Promise<Health | undefined> {
    const o = task.object;
    const key = `${o.kind}/${o.metadata.name}`;
    switch (o.kind) {
      case 'Job':
        if (o.metadata.name === MOVE_JOB) return this.once(key, () => this.runMove(o));
        return this.once(key, () => this.runJob(o));
      case 'StatefulSet':
        return this.started.get(key) ?? { status: 'Missing' };
      case 'Deployment':
        if (o.metadata.name === CANARY_DEPLOYMENT) return this.once(key, () => this.startCanary(o));
        if (o.metadata.name !== 'switchboard') {
          return { status: 'Healthy', message: 'not stood in (counted Healthy)' };
        }
        return this.once(key, () => this.rollOut());
      case 'HorizontalPodAutoscaler': {
        const targetName = (o.spec as { scaleTargetRef?: { kind?: string; name?: string } } | undefined)
          ?.scaleTargetRef;
        const found = this.applied.some(
          (a) => a.kind === targetName?.kind && a.metadata.name === targetName?.name,
        );
        return found
          ? { status: 'Healthy', message: `scales ${targetName?.kind}/${targetName?.name}` }
          : {
              status: 'Degraded',
              message: `AbleToScale FailedGetScale: ${targetName?.kind}/${targetName?.name} does not exist yet`,
            };
      }
      case 'ExternalSecret':
        return { status: 'Healthy', message: 'Secret created' };
      case 'Service':
      case 'PodDisruptionBudget':
        return { status: 'Healthy' };
      case 'Ingress':
        return { status: 'Healthy', message: 'nginx stands in once the sync is done' };
      default:
        return undefined;
    }
  }

  private once(key: string, fn: () => Promise<Health | undefined>): Promise<Health | undefined> {
    let p = this.started.get(key);
    if (!p) {
      p = fn();
      this.started.set(key, p);
    }
    return p;
  }

  /** The keys every workload references by secretKeyRef, per Secret name. */
  private referencedKeys(name: string): string[] {
    const keys = new Set<string>();
    for (const o of this.opts.objects) {
      for (const c of podSpec(o).containers ?? []) {
        for (const e of c.env ?? []) {
          const ref = e.valueFrom?.secretKeyRef;
          if (ref?.name === name) keys.add(ref.key);
        }
      }
    }
    return [...keys];
  }

  private createSecret(es: K8sObject): void {
    const name = (es.spec as { target?: { name?: string } } | undefined)?.target?.name ?? es.metadata.name;
    // The store's values do not change between syncs: the Secret the pods run with stays.
    if (this.secrets[name]) return;
    const data: Record<string, string> = Object.create(null) as Record<string, string>;
    // Letters and digits only, as docs/kubernetes.md asks of the store's values.
    for (const key of this.referencedKeys(name)) data[key] = randomBytes(24).toString('hex');
    this.secrets[name] = data;
  }

  private copySecret(secret: K8sObject): void {
    const data: Record<string, string> = Object.create(null) as Record<string, string>;
    const raw = secret as unknown as { data?: Record<string, string>; stringData?: Record<string, string> };
    for (const [k, v] of Object.entries(raw.data ?? {})) data[k] = Buffer.from(v, 'base64').toString();
    for (const [k, v] of Object.entries(raw.stringData ?? {})) data[k] = v;
    this.secrets[secret.metadata.name] = data;
  }

  /** A container of `kind/name` resolved against what has been applied so far. */
  private specOf(kind: 'Job' | 'StatefulSet' | 'Deployment', obj: K8sObject, podName: string): ContainerSpec {
    const container = podSpec(obj).containers?.[0]?.name ?? '';
    for (const c of podSpec(obj).containers ?? []) {
      for (const e of c.env ?? []) {
        const ref = e.valueFrom?.secretKeyRef;
        if (ref && !this.secrets[ref.name]) throw new ManifestError(`secret "${ref.name}" not found`);
      }
    }
    return containerSpec(
      [obj, ...this.applied.filter((a) => a.kind === 'ConfigMap')],
      kind,
      obj.metadata.name,
      container,
      {
        podName,
        namespace: obj.metadata.namespace ?? 'rehearsal',
        secrets: this.secrets,
      },
    );
  }

  private startStatefulSet(sts: K8sObject): void {
    const key = `StatefulSet/${sts.metadata.name}`;
    // Already running from an earlier sync: nothing here changes a StatefulSet's pods.
    if (this.started.has(key)) return;
    const replicas = (sts.spec as { replicas?: number } | undefined)?.replicas ?? 1;
    const start = async (): Promise<Health> => {
      const name = sts.metadata.name;
      // The kubelet retries a pod whose Secret is not there yet: an ExternalSecret applied in the
      // same step (custom resources come last) creates it a moment later.
      let spec: ContainerSpec | undefined;
      for (const deadline = Date.now() + configRetryMs; !spec;) {
        try {
          spec = this.specOf('StatefulSet', sts, `${name}-0`);
        } catch (err) {
          if (!(err instanceof ManifestError)) throw err;
          if (Date.now() > deadline) return notStarted(err);
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      // requirepass as the rendered command line sets it ($(VAR) expanded like the kubelet does).
      const command = (spec.command ?? []).map((arg) => expandVars(arg, spec.env));
      const at = command.indexOf('--requirepass');
      const auth = at >= 0 && command[at + 1] !== undefined ? { password: command[at + 1] } : {};
      if (name === 'postgres') {
        const postgres = await startPostgres();
        this.opts.teardown.add('postgresql', () => postgres.stop());
        await createRoleAndDatabase(postgres, spec.env);
        this.postgres = postgres;
        this.services[name] = `127.0.0.1:${postgres.port}`;
        return { status: 'Healthy', message: `PostgreSQL on 127.0.0.1:${postgres.port}` };
      }
      if (name === 'redis') {
        const redis = await startRedis([], auth);
        this.opts.teardown.add('redis', () => redis.stop());
        this.services[name] = `127.0.0.1:${redis.port}`;
        this.redis = standaloneTarget(redis, redisNodeFaults({ port: redis.port, ...auth }));
        return { status: 'Healthy', message: `Redis on ${redis.url}` };
      }
      if (name === 'redis-cluster') {
        const nodes = await startRedisClusterNodes(replicas, auth);
        const faults = nodes.nodes.map((n) => redisNodeFaults({ ...n, ...auth }));
        this.opts.teardown.add('redis cluster nodes', async () => {
          await Promise.all(faults.map((f) => f.stop()));
          await nodes.stop();
        });
        const service = (sts.spec as { serviceName?: string } | undefined)?.serviceName ?? name;
        nodes.nodes.forEach((n, i) => (this.services[`${name}-${i}.${service}`] = `127.0.0.1:${n.port}`));
        this.redis = clusterTarget(nodes.nodes, faults);
        return {
          status: 'Healthy',
          message: `${replicas} cluster-enabled nodes answer PING on ${nodes.nodes.map((n) => `127.0.0.1:${n.port}`).join(', ')} (no cluster formed yet)`,
        };
      }
      return { status: 'Healthy', message: 'not stood in (counted Healthy)' };
    };
    const p = start();
    this.starting.push(p.catch(() => undefined));
    this.started.set(key, p);
  }

  private async runJob(job: K8sObject): Promise<Health> {
    // Pods of a Job retry (backoffLimit) while a StatefulSet applied with them is still starting.
    await Promise.all(this.starting);
    const name = job.metadata.name;
    let spec: ContainerSpec;
    try {
      spec = this.specOf('Job', job, `${name}-rehearsal`);
    } catch (err) {
      if (err instanceof ManifestError) return notStarted(err);
      throw err;
    }
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(spec.env)) env[k] = mapServiceAddresses(v, this.services);
    const deadline =
      (job.spec as { activeDeadlineSeconds?: number } | undefined)?.activeDeadlineSeconds ?? 600;
    const timeoutMs = Math.min(deadline, 180) * 1000;
    try {
      const out =
        spec.image === this.serverImage
          ? await runServerImageJob(spec, env, {
              name,
              mode: this.mode,
              runId: this.opts.runId,
              dir: this.opts.dir,
              timeoutMs,
            })
          : await runJobOnThisMachine(job, spec, env, {
              configMaps: this.applied.filter((o) => o.kind === 'ConfigMap'),
              dir: this.opts.dir,
              timeoutMs,
            });
      const line = `Job/${name} (${spec.command?.join(' ') ?? 'image CMD'}): ${lastLine(out)}`;
      this.notes.push(line);
      return { status: 'Healthy', message: lastLine(out) };
    } catch (err) {
      const e = err as Error & { stdout?: string; stderr?: string };
      const out = `${e.stdout ?? ''}${e.stderr ?? ''}` || e.message;
      return { status: 'Degraded', message: `BackoffLimitExceeded: ${lastLine(out)}` };
    }
  }

  /** The canary's pod, once: ready, then in the Service's endpoints beside the stable pods. */
  private async startCanary(deployment: K8sObject): Promise<Health> {
    await Promise.all(this.starting);
    if (this.canary) return { status: 'Healthy', message: `${this.canary.name} running` };
    const name = `${CANARY_DEPLOYMENT}-${this.opts.runId}-0`;
    try {
      const spec = this.specOf('Deployment', deployment, name);
      this.canary = await this.startCanaryPod!({ name, spec, extraEnv: this.canaryEnv });
      await this.onEndpoints?.(this.replicas);
      return {
        status: 'Healthy',
        message: `${name} ready, in the endpoints beside ${this.replicas.length} stable pods`,
      };
    } catch (err) {
      if (err instanceof ManifestError) return notStarted(err);
      return { status: 'Degraded', message: `ProgressDeadlineExceeded: ${lastLine((err as Error).message)}` };
    }
  }

  /**
   * A sync without the canary Deployment prunes it: out of the endpoints, then SIGTERM (its drain
   * closes with 1012, so its clients reconnect to stable pods). Argo CD prunes after the sync's
   * waves; here it happens first, so a rolling update that follows never counts the canary's pod.
   */
  async pruneCanary(objects: K8sObject[]): Promise<string | undefined> {
    const pod = this.canary;
    if (!pod || objects.some((o) => o.kind === 'Deployment' && o.metadata.name === CANARY_DEPLOYMENT)) return;
    this.canary = undefined;
    await this.onEndpoints?.(this.replicas);
    await pod.stop(this.opts.interrupted() ? 2 : 60);
    this.retired.push(pod);
    return pod.name;
  }

  /**
   * The move Job with the Job's own code (server/src/canary/move-share.ts) and its rendered
   * environment. The headless Service's answer is each stable pod's address; here every pod is
   * 127.0.0.1 on a port of its own, so each is asked on its port.
   */
  private async runMove(job: K8sObject): Promise<Health> {
    await Promise.all(this.starting);
    let config;
    try {
      const spec = this.specOf('Job', job, `${job.metadata.name}-rehearsal`);
      config = readMoveShareConfig(spec.env);
    } catch (err) {
      if (err instanceof ManifestError) return notStarted(err);
      return { status: 'Degraded', message: `BackoffLimitExceeded: ${(err as Error).message}` };
    }
    const moves: PodMove[] = [];
    for (const pod of this.replicas) {
      const [move] = await moveShare({ ...config, port: pod.port }, () => Promise.resolve(['127.0.0.1']));
      moves.push({ ...move!, address: `${pod.name} (127.0.0.1:${pod.port})` });
    }
    this.lastMove = moves;
    const refused = moves.filter((m) => m.error);
    const line = moves
      .map((m) => (m.error ? `${m.address}: ${m.error}` : `${m.address}: closing ${m.closing}`))
      .join('; ');
    this.notes.push(`Job/${job.metadata.name}: ${line}`);
    return refused.length > 0
      ? { status: 'Degraded', message: `BackoffLimitExceeded: ${line}` }
      : { status: 'Healthy', message: line };
  }

  private deployment(): K8sObject {
    const deployment = this.applied.find((a) => a.kind === 'Deployment' && a.metadata.name === 'switchboard');
    if (!deployment) throw new ManifestError('Deployment/switchboard has not been applied');
    return deployment;
  }

  /** The server Deployment's container as pod `podName` would get it from what is applied now. */
  deploymentSpec(podName: string): ContainerSpec {
    return this.specOf('Deployment', this.deployment(), podName);
  }

  /** The pod template as the pods get it: the rendered one and what the rehearsal adds. */
  private template(): string {
    const spec = this.deployment().spec as { template?: unknown } | undefined;
    return JSON.stringify([spec?.template, this.extraEnv ?? {}, this.mode]);
  }

  private async rollOut(): Promise<Health> {
    await Promise.all(this.starting);
    try {
      const template = this.template();
      if (this.replicas.length === 0) {
        await this.startPods(this);
      } else if (template === this.runningTemplate) {
        return { status: 'Healthy', message: `${this.replicas.length} pods, template unchanged` };
      } else {
        const replicas = this.replicas.length;
        const strategy = rollingStrategy(this.deployment(), replicas);
        this.onRollStart?.();
        this.lastRoll = await rollingUpdate({
          pods: this.replicas,
          replicas,
          strategy,
          startPod: () => this.addPod!(),
          endpoints: (serving) => this.onEndpoints?.(serving) ?? Promise.resolve(),
          graceSeconds: this.opts.interrupted()
            ? 2
            : Math.min(this.deploymentSpec('roll').terminationGraceSeconds, 60),
          retired: this.retired,
          log: this.opts.log,
        });
        this.runningTemplate = template;
        return {
          status: 'Healthy',
          message: `rolled ${replicas} pods (maxSurge ${strategy.maxSurge}, maxUnavailable ${strategy.maxUnavailable}) in ${((this.lastRoll.endedAt - this.lastRoll.startedAt) / 1000).toFixed(1)} s`,
        };
      }
      this.runningTemplate = template;
      return { status: 'Healthy', message: `${this.replicas.length} pods ready on /readyz` };
    } catch (err) {
      if (err instanceof ManifestError) return notStarted(err);
      return {
        status: 'Degraded',
        message: `ProgressDeadlineExceeded: a pod never became ready (Kubernetes would restart it until progressDeadlineSeconds): ${lastLine((err as Error).message)}`,
      };
    }
  }
}

/** Creates the role and database the PostgreSQL image's entrypoint creates from its environment. */
async function createRoleAndDatabase(postgres: PostgresServer, env: Record<string, string>): Promise<void> {
  const user = env.POSTGRES_USER ?? 'postgres';
  const database = env.POSTGRES_DB ?? user;
  const admin = new pg.Client({ connectionString: postgres.url });
  await admin.connect();
  try {
    await admin.query(
      `CREATE ROLE ${admin.escapeIdentifier(user)} LOGIN PASSWORD ${admin.escapeLiteral(env.POSTGRES_PASSWORD ?? '')}`,
    );
    await admin.query(
      `CREATE DATABASE ${admin.escapeIdentifier(database)} OWNER ${admin.escapeIdentifier(user)}`,
    );
  } finally {
    await admin.end();
  }
}

function standaloneTarget(redis: RedisServer, node: ReturnType<typeof redisNodeFaults>): RedisTarget {
  return {
    describe: `Redis ${redis.url}`,
    kill: () => redis.kill(),
    restart: () => redis.restart(),
    flush: async () => Number(await node.flush()),
  };
}

function clusterTarget(nodes: { port: number }[], faults: ReturnType<typeof redisNodeFaults>[]): RedisTarget {
  return {
    describe: `the Redis Cluster's ${nodes.length} nodes (${nodes.map((n) => `127.0.0.1:${n.port}`).join(', ')})`,
    kill: async () => {
      await Promise.all(faults.map((f) => f.kill()));
    },
    // Together: each node waits for cluster_state:ok, which needs the others back.
    restart: async () => {
      await Promise.all(faults.map((f) => f.restart()));
    },
    flush: async () => (await Promise.all(faults.map((f) => f.flush()))).filter(Boolean).length,
  };
}
