// What an object needs from the rest of its render before it can work: the ConfigMaps, Secrets
// (or the ExternalSecret that makes one), ServiceAccount and claims it references, its Namespace,
// and the Services it connects to -- found as host names in its environment, command and args --
// with the workloads behind each Service. Used to check apply order (argocd-sync.ts).
import type { K8sObject } from './types.js';
import { containersOf, get, podTemplates, selects, type PodTemplate } from './workloads.js';

/** One thing `object` needs. */
export interface Dependency {
  object: K8sObject;
  /** How the need was found, for messages: `env DATABASE_URL`, `envFrom ConfigMap/x`, `volume`. */
  via: string;
  /** The environment variable (or `command`) that names it; undefined for plain references. */
  env?: string;
  /** True when it must be running (a workload, an ExternalSecret's Secret), not merely exist. */
  mustBeHealthy: boolean;
}

/** Lookups over one render; keys are data, so Maps. */
export class RenderIndex {
  private readonly byKindName = new Map<string, K8sObject>();
  readonly pods: PodTemplate[];
  readonly services: K8sObject[];

  constructor(readonly objects: K8sObject[]) {
    for (const o of objects) this.byKindName.set(`${o.kind}/${o.metadata.name}`, o);
    this.pods = podTemplates(objects);
    this.services = objects.filter((o) => o.kind === 'Service');
  }

  find(kind: string, name: string | undefined): K8sObject | undefined {
    return name === undefined ? undefined : this.byKindName.get(`${kind}/${name}`);
  }

  /** The Secret `name`, or the ExternalSecret whose target it is. */
  secret(name: string | undefined): { object: K8sObject; made: boolean } | undefined {
    const direct = this.find('Secret', name);
    if (direct) return { object: direct, made: false };
    const made = this.objects.find(
      (o) =>
        o.kind === 'ExternalSecret' &&
        ((get(o, 'spec', 'target', 'name') as string) ?? o.metadata.name) === name,
    );
    return made ? { object: made, made: true } : undefined;
  }

  /** Workloads whose pods a Service selects. */
  backends(service: K8sObject): K8sObject[] {
    const selector = get(service, 'spec', 'selector') as Record<string, string> | undefined;
    return this.pods.filter((p) => p.owner.kind !== 'Job' && selects(selector, p.labels)).map((p) => p.owner);
  }

  /**
   * The Service a host name points at: `svc`, `svc.ns…`, or a StatefulSet pod `pod-0.svc…`.
   */
  serviceForHost(host: string): K8sObject | undefined {
    const labels = host.toLowerCase().split('.');
    return (
      this.find('Service', labels[0]) ?? (labels.length > 1 ? this.find('Service', labels[1]) : undefined)
    );
  }
}

/** Host names in a string: `scheme://[user@]host[:port]` and `host:port` (lists of them too). */
export function hostsIn(text: string): string[] {
  const hosts = new Set<string>();
  const url = /[a-z][a-z0-9+.-]*:\/\/(?:[^@/\s]*@)?([a-z0-9](?:[a-z0-9.-]*[a-z0-9])?)/gi;
  const hostPort = /(?:^|[\s,;=])([a-z0-9](?:[a-z0-9.-]*[a-z0-9])?):\d{1,5}\b/gi;
  for (const m of text.matchAll(url)) if (m[1]) hosts.add(m[1]);
  for (const m of text.matchAll(hostPort)) if (m[1]) hosts.add(m[1]);
  return [...hosts];
}

/** (variable, value) pairs a pod's containers see, including values from referenced ConfigMaps. */
function environment(index: RenderIndex, pod: PodTemplate): Array<{ env: string; value: string }> {
  const out: Array<{ env: string; value: string }> = [];
  for (const { container } of containersOf(pod)) {
    for (const from of container.envFrom ?? []) {
      const cm = index.find('ConfigMap', from.configMapRef?.name);
      const data = (get(cm, 'data') as Record<string, unknown> | undefined) ?? {};
      for (const [env, value] of Object.entries(data))
        if (typeof value === 'string') out.push({ env, value });
    }
    for (const e of container.env ?? []) {
      if (!e.name) continue;
      if (typeof e.value === 'string') out.push({ env: e.name, value: e.value });
      const ref = e.valueFrom?.configMapKeyRef;
      const value = ref?.key ? get(index.find('ConfigMap', ref.name), 'data', ref.key) : undefined;
      if (typeof value === 'string') out.push({ env: e.name, value });
    }
    const c = container as { command?: unknown; args?: unknown };
    for (const list of [c.command, c.args]) {
      if (Array.isArray(list))
        for (const v of list) if (typeof v === 'string') out.push({ env: 'command', value: v });
    }
  }
  return out;
}

/** Everything `obj` needs from the render, each once (the first way it was found). */
export function dependenciesOf(index: RenderIndex, obj: K8sObject): Dependency[] {
  const out = new Map<K8sObject, Dependency>();
  const add = (d: Dependency | undefined) => {
    if (d && d.object !== obj && !out.has(d.object)) out.set(d.object, d);
  };
  const ns = obj.metadata.namespace;
  add(ns ? dep(index.find('Namespace', ns), 'namespace', false) : undefined);
  for (const pod of index.pods.filter((p) => p.owner === obj)) {
    const secret = (name: string | undefined, via: string) => {
      const s = index.secret(name);
      add(s ? dep(s.object, via, s.made) : undefined);
    };
    add(dep(index.find('ServiceAccount', pod.spec.serviceAccountName), 'serviceAccountName', false));
    for (const v of pod.spec.volumes ?? []) {
      add(dep(index.find('ConfigMap', v.configMap?.name), `volume ${v.name ?? ''}`, false));
      secret(v.secret?.secretName, `volume ${v.name ?? ''}`);
      const claim = (v as { persistentVolumeClaim?: { claimName?: string } }).persistentVolumeClaim;
      add(dep(index.find('PersistentVolumeClaim', claim?.claimName), `volume ${v.name ?? ''}`, false));
    }
    for (const { container } of containersOf(pod)) {
      for (const f of container.envFrom ?? []) {
        add(dep(index.find('ConfigMap', f.configMapRef?.name), 'envFrom', false));
        secret(f.secretRef?.name, 'envFrom');
      }
      for (const e of container.env ?? []) {
        add(dep(index.find('ConfigMap', e.valueFrom?.configMapKeyRef?.name), `env ${e.name ?? ''}`, false));
        secret(e.valueFrom?.secretKeyRef?.name, `env ${e.name ?? ''}`);
      }
    }
    for (const { env, value } of environment(index, pod)) {
      for (const host of hostsIn(value)) {
        const service = index.serviceForHost(host);
        if (!service || index.backends(service).includes(obj)) continue;
        add({
          object: service,
          via: `${env === 'command' ? 'command' : `env ${env}`} (${host})`,
          env,
          mustBeHealthy: false,
        });
        for (const backend of index.backends(service)) {
          add({
            object: backend,
            via: `Service/${service.metadata.name} (env ${env})`,
            env,
            mustBeHealthy: true,
          });
        }
      }
    }
  }
  return [...out.values()];
}

function dep(object: K8sObject | undefined, via: string, mustBeHealthy: boolean): Dependency | undefined {
  return object ? { object, via, mustBeHealthy } : undefined;
}

/** Services a pod's containers connect to, with the variable naming each. */
export function servicesUsed(index: RenderIndex, obj: K8sObject): Array<{ service: K8sObject; env: string }> {
  return dependenciesOf(index, obj)
    .filter((d) => d.object.kind === 'Service')
    .map((d) => ({ service: d.object, env: d.env ?? '' }));
}
