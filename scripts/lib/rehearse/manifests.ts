// Reads what the rehearsal's stand-in cluster needs out of rendered manifests, the way the cluster
// would: the Ingress's ingress-nginx annotations, a workload's container (image, environment with
// ConfigMap/Secret/fieldRef references and $(VAR) expansion, security context, memory limit), the
// PrometheusRule's rule groups and the ServiceMonitor's scrape path. Pure functions: no I/O.
import type { K8sObject } from '../../../pipeline/src/validate/index.js';
import type { NginxProxyOptions } from '../../../testkit/src/nginx.js';

/** A problem in the rendered manifests that stops the rehearsal; the message names object and field. */
export class ManifestError extends Error {
  readonly code = 'ERR_REHEARSE_MANIFEST';
  constructor(message: string) {
    super(message);
    this.name = 'ManifestError';
  }
}

/** Finds `kind/name`; throws naming what is missing and what the overlay renders. */
export function findObject(objects: K8sObject[], kind: string, name?: string): K8sObject {
  const found = objects.find((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (!found) {
    const have = objects.filter((o) => o.kind === kind).map((o) => o.metadata.name);
    throw new ManifestError(
      `the rendered overlay has no ${kind}${name ? ` named ${name}` : ''}` +
        (have.length ? ` (it has ${kind} ${have.join(', ')})` : ''),
    );
  }
  return found;
}

const annotationPrefix = 'nginx.ingress.kubernetes.io/';

/** What ingress-nginx makes of the Ingress: proxy settings from its annotations, and its paths. */
export interface IngressSettings {
  /** The annotations read, as written (for the summary). */
  annotations: Record<string, string>;
  nginx: NginxProxyOptions;
}

function seconds(ingress: K8sObject, key: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw.trim())) {
    throw new ManifestError(
      `Ingress/${ingress.metadata.name} annotation ${annotationPrefix}${key}: "${raw}" is not a whole number of seconds (ingress-nginx takes e.g. "3600")`,
    );
  }
  return Number(raw.trim());
}

/**
 * The ingress-nginx settings of `Ingress/<name>`: proxy-read/send/connect-timeout, proxy-http-version,
 * proxy-buffering, and the rule paths. Unset annotations keep ingress-nginx's own defaults (60 s
 * timeouts, which would cut idle WebSockets: exactly what a rehearsal should show).
 */
export function ingressSettings(objects: K8sObject[], name = 'switchboard'): IngressSettings {
  const ingress = findObject(objects, 'Ingress', name);
  const all = ingress.metadata.annotations ?? {};
  const annotations: Record<string, string> = {};
  for (const [k, v] of Object.entries(all)) {
    if (k.startsWith(annotationPrefix)) annotations[k.slice(annotationPrefix.length)] = v;
  }
  const version = annotations['proxy-http-version'];
  if (version !== undefined && version !== '1.1' && version !== '1.0') {
    throw new ManifestError(
      `Ingress/${name} annotation ${annotationPrefix}proxy-http-version: "${version}" must be "1.1" (WebSockets need it) or "1.0"`,
    );
  }
  const buffering = annotations['proxy-buffering'];
  if (buffering !== undefined && buffering !== 'on' && buffering !== 'off') {
    throw new ManifestError(
      `Ingress/${name} annotation ${annotationPrefix}proxy-buffering: "${buffering}" must be "on" or "off"`,
    );
  }
  // ingress-nginx's balancer (rootfs/etc/nginx/lua/balancer.lua at controller-v1.15.1): round_robin
  // unless the annotation says ewma, which nginx has no match for.
  const balance = annotations['load-balance'];
  if (balance !== undefined && balance !== 'round_robin') {
    throw new ManifestError(
      `Ingress/${name} annotation ${annotationPrefix}load-balance: "${balance}": the rehearsal's edge plays round_robin (the default) only`,
    );
  }
  const spec = ingress.spec as
    { rules?: { http?: { paths?: { path?: string; pathType?: string }[] } }[] } | undefined;
  const paths = (spec?.rules ?? [])
    .flatMap((r) => r.http?.paths ?? [])
    .map((p) => p.path ?? '/')
    .filter((p, i, a) => a.indexOf(p) === i);
  if (paths.length === 0)
    throw new ManifestError(`Ingress/${name} routes no paths (spec.rules[].http.paths)`);
  return {
    annotations,
    nginx: {
      // ingress-nginx's defaults when an annotation is absent.
      proxyReadTimeoutSeconds:
        seconds(ingress, 'proxy-read-timeout', annotations['proxy-read-timeout']) ?? 60,
      proxySendTimeoutSeconds:
        seconds(ingress, 'proxy-send-timeout', annotations['proxy-send-timeout']) ?? 60,
      proxyConnectTimeoutSeconds:
        seconds(ingress, 'proxy-connect-timeout', annotations['proxy-connect-timeout']) ?? 5,
      proxyHttpVersion: (version as '1.0' | '1.1' | undefined) ?? '1.1',
      proxyBuffering: buffering === 'on',
      paths,
      balance: 'round-robin',
    },
  };
}

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    configMapKeyRef?: { name: string; key: string; optional?: boolean };
    secretKeyRef?: { name: string; key: string; optional?: boolean };
    fieldRef?: { fieldPath: string };
  };
}

interface Container {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string }; prefix?: string }[];
  resources?: { limits?: Record<string, string>; requests?: Record<string, string> };
  securityContext?: SecurityContext;
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
}

interface SecurityContext {
  runAsUser?: number;
  runAsGroup?: number;
  readOnlyRootFilesystem?: boolean;
  allowPrivilegeEscalation?: boolean;
  capabilities?: { drop?: string[]; add?: string[] };
}

interface PodSpec {
  containers?: Container[];
  securityContext?: SecurityContext;
  volumes?: { name: string; emptyDir?: { sizeLimit?: string } }[];
  terminationGracePeriodSeconds?: number;
}

/** Where each environment variable came from, for the summary table. */
export type EnvSource = 'value' | `configmap ${string}` | `secret ${string}` | `field ${string}`;

/** A container as the stand-in runs it. */
export interface ContainerSpec {
  /** `Kind/name` of the workload and the container name. */
  workload: string;
  container: string;
  image: string;
  /** command + args, when the manifest overrides the image's CMD. */
  command?: string[];
  env: Record<string, string>;
  envSources: Record<string, EnvSource>;
  /** resources.limits.memory in bytes. */
  memoryLimitBytes?: number;
  user?: string;
  readOnlyRootFilesystem: boolean;
  noNewPrivileges: boolean;
  dropCapabilities: string[];
  /** emptyDir mounts (path -> size in bytes if limited). */
  tmpfs: { path: string; sizeBytes?: number }[];
  terminationGraceSeconds: number;
}

/** What a pod would see from outside the rendered objects. */
export interface PodContext {
  /** metadata.name of the pod (fieldRef metadata.name), e.g. switchboard-0. */
  podName: string;
  namespace: string;
  /** Secret data by secret name and key (the stand-in for the ExternalSecret's target Secret). */
  secrets: Record<string, Record<string, string>>;
}

const quantity = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/;
const factor: Record<string, number> = {
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  Ki: 1024,
  Mi: 1024 ** 2,
  Gi: 1024 ** 3,
  Ti: 1024 ** 4,
};

/** A Kubernetes memory quantity (`512Mi`, `1G`, `1048576`) in bytes. */
export function parseMemoryQuantity(text: string, where: string): number {
  const m = quantity.exec(text.trim());
  if (!m) throw new ManifestError(`${where}: "${text}" is not a memory quantity such as 512Mi`);
  return Math.round(Number(m[1]) * (factor[m[2] ?? ''] ?? 1));
}

/** Expands `$(VAR)` with earlier variables, as the kubelet does; `$$(VAR)` stays literal `$(VAR)`. */
export function expandVars(value: string, env: Record<string, string>): string {
  return value.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (match, name: string | undefined) => {
    if (match === '$$') return '$';
    return name !== undefined && name in env ? env[name]! : match;
  });
}

function configMapData(objects: K8sObject[], name: string, where: string): Record<string, string> {
  const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === name);
  if (!cm) throw new ManifestError(`${where} refers to ConfigMap/${name}, which the overlay does not render`);
  return (cm.data as Record<string, string> | undefined) ?? {};
}

function secretValue(ctx: PodContext, name: string, key: string, where: string): string {
  const value = ctx.secrets[name]?.[key];
  if (value === undefined) {
    throw new ManifestError(
      `${where} needs key ${key} of Secret/${name}; the rehearsal provides ${Object.keys(ctx.secrets[name] ?? {}).join(', ') || 'none'}`,
    );
  }
  return value;
}

function fieldValue(path: string, ctx: PodContext, where: string): string {
  if (path === 'metadata.name') return ctx.podName;
  if (path === 'metadata.namespace') return ctx.namespace;
  if (path === 'status.podIP' || path === 'status.hostIP') return '127.0.0.1';
  throw new ManifestError(`${where}: fieldRef ${path} is not supported by the rehearsal`);
}

/**
 * The container `containerName` of `kind/name` (a Deployment or a Job) as it would start: the
 * environment resolved in the kubelet's order (envFrom, then env, each `$(VAR)`-expanded against the
 * variables before it), and the security context merged from pod and container.
 */
export function containerSpec(
  objects: K8sObject[],
  kind: 'Deployment' | 'Job' | 'StatefulSet',
  name: string,
  containerName: string,
  ctx: PodContext,
): ContainerSpec {
  const workload = findObject(objects, kind, name);
  const pod = (workload.spec as { template?: { spec?: PodSpec } } | undefined)?.template?.spec;
  const container = pod?.containers?.find((c) => c.name === containerName);
  const where = `${kind}/${name} container ${containerName}`;
  if (!pod || !container) throw new ManifestError(`${kind}/${name} has no container named ${containerName}`);
  if (!container.image) throw new ManifestError(`${where} has no image`);
  const env: Record<string, string> = {};
  const envSources: Record<string, EnvSource> = {};
  for (const from of container.envFrom ?? []) {
    const prefix = from.prefix ?? '';
    if (from.configMapRef) {
      for (const [k, v] of Object.entries(configMapData(objects, from.configMapRef.name, where))) {
        env[prefix + k] = v;
        envSources[prefix + k] = `configmap ${from.configMapRef.name}`;
      }
    }
    if (from.secretRef) {
      for (const [k, v] of Object.entries(ctx.secrets[from.secretRef.name] ?? {})) {
        env[prefix + k] = v;
        envSources[prefix + k] = `secret ${from.secretRef.name}`;
      }
    }
  }
  for (const v of container.env ?? []) {
    const at = `${where} env ${v.name}`;
    if (v.valueFrom?.configMapKeyRef) {
      const ref = v.valueFrom.configMapKeyRef;
      const value = configMapData(objects, ref.name, at)[ref.key];
      if (value === undefined) {
        if (ref.optional) continue;
        throw new ManifestError(`${at}: ConfigMap/${ref.name} has no key ${ref.key}`);
      }
      env[v.name] = value;
      envSources[v.name] = `configmap ${ref.name}`;
    } else if (v.valueFrom?.secretKeyRef) {
      const ref = v.valueFrom.secretKeyRef;
      env[v.name] = secretValue(ctx, ref.name, ref.key, at);
      envSources[v.name] = `secret ${ref.name}`;
    } else if (v.valueFrom?.fieldRef) {
      env[v.name] = fieldValue(v.valueFrom.fieldRef.fieldPath, ctx, at);
      envSources[v.name] = `field ${v.valueFrom.fieldRef.fieldPath}`;
    } else {
      env[v.name] = expandVars(v.value ?? '', env);
      envSources[v.name] = 'value';
    }
  }
  const podSc = pod.securityContext ?? {};
  const sc = { ...podSc, ...container.securityContext };
  const limit = container.resources?.limits?.memory;
  const tmpfs = (container.volumeMounts ?? []).flatMap((m) => {
    const vol = pod.volumes?.find((v) => v.name === m.name);
    if (!vol?.emptyDir) return [];
    const size = vol.emptyDir.sizeLimit;
    return [
      {
        path: m.mountPath,
        ...(size ? { sizeBytes: parseMemoryQuantity(size, `${where} volume ${m.name} sizeLimit`) } : {}),
      },
    ];
  });
  const command = [...(container.command ?? []), ...(container.args ?? [])];
  return {
    workload: `${kind}/${name}`,
    container: containerName,
    image: container.image,
    ...(command.length > 0 ? { command } : {}),
    env,
    envSources,
    ...(limit ? { memoryLimitBytes: parseMemoryQuantity(limit, `${where} resources.limits.memory`) } : {}),
    ...(sc.runAsUser !== undefined
      ? { user: `${sc.runAsUser}${sc.runAsGroup !== undefined ? `:${sc.runAsGroup}` : ''}` }
      : {}),
    readOnlyRootFilesystem: sc.readOnlyRootFilesystem === true,
    noNewPrivileges: sc.allowPrivilegeEscalation === false,
    dropCapabilities: sc.capabilities?.drop ?? [],
    tmpfs,
    terminationGraceSeconds: pod.terminationGracePeriodSeconds ?? 30,
  };
}

/**
 * Rewrites a container's environment for loopback: every `<service>:<port>` (or `<service>.<ns>...`),
 * alone or in a list separated by commas or whitespace,
 * of an in-cluster Service named in `services` becomes the stand-in's `127.0.0.1:<port>`.
 */
export function mapServiceAddresses(value: string, services: Record<string, string>): string {
  let out = value;
  for (const [service, address] of Object.entries(services)) {
    const re = new RegExp(`(?<=^|[\\s/@,])${service.replace(/[.-]/g, '\\$&')}(?:\\.[a-z0-9.-]*)?:\\d+`, 'g');
    out = out.replace(re, address);
  }
  return out;
}

/** The PrometheusRule's rule groups, as a plain Prometheus rule file (`groups:`). */
export function prometheusRuleGroups(objects: K8sObject[]): { name: string; groups: unknown[] } {
  const rule = findObject(objects, 'PrometheusRule');
  const groups = (rule.spec as { groups?: unknown[] } | undefined)?.groups ?? [];
  if (groups.length === 0) throw new ManifestError(`PrometheusRule/${rule.metadata.name} has no groups`);
  return { name: rule.metadata.name, groups };
}

/** The ServiceMonitor's first endpoint: the path and interval Prometheus scrapes the servers with. */
export function scrapeEndpoint(objects: K8sObject[]): { path: string; interval?: string } {
  const sm = findObject(objects, 'ServiceMonitor');
  const ep = (sm.spec as { endpoints?: { path?: string; interval?: string }[] } | undefined)?.endpoints?.[0];
  return { path: ep?.path ?? '/metrics', ...(ep?.interval ? { interval: ep.interval } : {}) };
}

/** The server Deployment's image in `objects` ('' when there is none). */
export function deploymentImage(objects: K8sObject[], name = 'switchboard'): string {
  const d = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === name);
  return (
    (d?.spec as { template?: { spec?: { containers?: { image?: string }[] } } } | undefined)?.template?.spec
      ?.containers?.[0]?.image ?? ''
  );
}
