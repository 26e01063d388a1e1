// Cross-object references: what pods mount and read (ConfigMaps, Secrets, ServiceAccounts), what
// Services select, and what HPAs, Ingresses, ServiceMonitors and StatefulSets point at.
import {
  containersOf,
  get,
  labelSelectorMatches,
  podTemplates,
  selects,
  type PodTemplate,
} from '../workloads.js';
import {
  objectId,
  problem,
  type K8sObject,
  type Policy,
  type Problem,
  type TargetContext,
} from '../types.js';
import { operatorSecrets } from '../operator-made.js';
import { autoscalerKinds } from './availability.js';

/** Secrets this render creates, by name, with their keys when they are known. */
function secretsProduced(objects: K8sObject[]): Map<string, Set<string> | undefined> {
  const out = new Map<string, Set<string> | undefined>();
  for (const o of objects) {
    if (o.kind === 'Secret') {
      const keys = new Set([
        ...Object.keys((get(o, 'data') as object | undefined) ?? {}),
        ...Object.keys((get(o, 'stringData') as object | undefined) ?? {}),
      ]);
      out.set(o.metadata.name, keys);
    } else if (o.kind === 'ExternalSecret') {
      // The store decides the keys: only the Secret's existence is known here.
      out.set((get(o, 'spec', 'target', 'name') as string | undefined) ?? o.metadata.name, undefined);
    } else if (o.kind === 'SealedSecret') {
      out.set(
        (get(o, 'spec', 'template', 'metadata', 'name') as string | undefined) ?? o.metadata.name,
        undefined,
      );
    }
  }
  for (const [name, keys] of operatorSecrets(objects)) out.set(name, keys);
  return out;
}

function configMapsProduced(objects: K8sObject[]): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const o of objects.filter((x) => x.kind === 'ConfigMap')) {
    out.set(
      o.metadata.name,
      new Set([
        ...Object.keys((get(o, 'data') as object | undefined) ?? {}),
        ...Object.keys((get(o, 'binaryData') as object | undefined) ?? {}),
      ]),
    );
  }
  return out;
}

interface Ref {
  kind: 'ConfigMap' | 'Secret';
  name?: string;
  key?: string;
  optional?: boolean;
  field: string;
}

function podRefs(pod: PodTemplate): Ref[] {
  const refs: Ref[] = [];
  for (const { container: c, path } of containersOf(pod)) {
    (c.envFrom ?? []).forEach((src, i) => {
      if (src.configMapRef)
        refs.push({
          kind: 'ConfigMap',
          ...src.configMapRef,
          field: `${path}.envFrom[${i}].configMapRef.name`,
        });
      if (src.secretRef)
        refs.push({ kind: 'Secret', ...src.secretRef, field: `${path}.envFrom[${i}].secretRef.name` });
    });
    for (const e of c.env ?? []) {
      const cm = e.valueFrom?.configMapKeyRef;
      const sec = e.valueFrom?.secretKeyRef;
      if (cm)
        refs.push({ kind: 'ConfigMap', ...cm, field: `${path}.env[${e.name}].valueFrom.configMapKeyRef` });
      if (sec) refs.push({ kind: 'Secret', ...sec, field: `${path}.env[${e.name}].valueFrom.secretKeyRef` });
    }
  }
  for (const v of pod.spec.volumes ?? []) {
    const at = `${pod.specPath}.volumes[${v.name}]`;
    if (v.configMap) refs.push({ kind: 'ConfigMap', ...v.configMap, field: `${at}.configMap.name` });
    if (v.secret)
      refs.push({
        kind: 'Secret',
        name: v.secret.secretName,
        optional: v.secret.optional,
        field: `${at}.secret.secretName`,
      });
    (v.projected?.sources ?? []).forEach((s, i) => {
      if (s.configMap)
        refs.push({
          kind: 'ConfigMap',
          ...s.configMap,
          field: `${at}.projected.sources[${i}].configMap.name`,
        });
      if (s.secret)
        refs.push({ kind: 'Secret', ...s.secret, field: `${at}.projected.sources[${i}].secret.name` });
    });
  }
  (pod.spec.imagePullSecrets ?? []).forEach((s, i) =>
    refs.push({ kind: 'Secret', name: s.name, field: `${pod.specPath}.imagePullSecrets[${i}].name` }),
  );
  return refs;
}

/** In-namespace hosts named in a value: URLs (`redis://redis:6379`) and host:port lists. */
export function serviceHosts(value: string): Array<{ host: string; port?: number }> {
  const found: Array<{ host: string; port?: number }> = [];
  for (const m of value.matchAll(/[a-z][a-z0-9+.-]*:\/\/(?:[^@/\s]*@)?([^:/\s,?#]+)(?::(\d+))?/gi)) {
    found.push({ host: m[1] ?? '', port: m[2] ? Number(m[2]) : undefined });
  }
  if (found.length === 0) {
    for (const item of value.split(/[,\s]+/)) {
      const m = /^([a-z0-9-]+(?:\.[a-z0-9-]+)*):(\d+)$/i.exec(item);
      if (m) found.push({ host: m[1] ?? '', port: Number(m[2]) });
    }
  }
  // One label is a Service in the namespace; `<name>-<ordinal>.<service>` is a StatefulSet pod
  // behind its headless Service (`redis-cluster-0.redis-cluster`). Anything else (other namespaces,
  // public names like switchboard.localhost) is not ours to check.
  return found.filter(
    ({ host }) =>
      (/^[a-z][a-z0-9-]*$/.test(host) && host !== 'localhost') || /^[a-z0-9-]+-\d+\.[a-z0-9-]+$/.test(host),
  );
}

function checkServiceRef(
  ctx: TargetContext,
  owner: K8sObject,
  field: string,
  ref: { host: string; port?: number },
): Problem | undefined {
  const labels = ref.host.split('.');
  const name = labels.length === 2 ? labels[1] : labels[0];
  const svc = findService(ctx, name);
  const hint = labels.length === 2 ? ' (a StatefulSet pod name is followed by its headless Service)' : '';
  if (!svc) {
    return problem(ctx, 'references', owner, field, `"${ref.host}" names no Service in this render${hint}`);
  }
  if (labels.length === 2 && get(svc, 'spec', 'clusterIP') !== 'None') {
    return problem(
      ctx,
      'references',
      owner,
      field,
      `"${ref.host}": Service ${name} is not headless, so pod names do not resolve`,
    );
  }
  if (ref.port !== undefined && !servicePorts(svc).some((p) => p.port === ref.port)) {
    return problem(
      ctx,
      'references',
      owner,
      field,
      `"${ref.host}:${ref.port}": Service ${name} has no port ${ref.port}`,
    );
  }
  return undefined;
}

/** Service hosts in a pod's env values and in the ConfigMaps it loads whole (envFrom). */
function serviceRefProblems(ctx: TargetContext, pod: PodTemplate): Problem[] {
  const out: Problem[] = [];
  for (const { container: c, path } of containersOf(pod)) {
    for (const e of c.env ?? []) {
      if (typeof e.value !== 'string') continue;
      for (const ref of serviceHosts(e.value)) {
        const p = checkServiceRef(ctx, pod.owner, `${path}.env[${e.name}].value`, ref);
        if (p) out.push(p);
      }
    }
    for (const src of c.envFrom ?? []) {
      const cm = ctx.objects.find(
        (o) => o.kind === 'ConfigMap' && o.metadata.name === src.configMapRef?.name,
      );
      for (const [key, value] of Object.entries(
        (get(cm, 'data') as Record<string, unknown> | undefined) ?? {},
      )) {
        if (typeof value !== 'string' || !cm) continue;
        for (const ref of serviceHosts(value)) {
          const p = checkServiceRef(ctx, cm, `data.${key}`, ref);
          if (p) out.push(p);
        }
      }
    }
  }
  return out;
}

export const referencesPolicy: Policy = {
  name: 'references',
  description:
    'Every ConfigMap, Secret (and key) and ServiceAccount a pod uses, and every TLS Secret an Ingress uses, ' +
    'is part of the render, created by an ExternalSecret/SealedSecret, or marked optional; every in-namespace ' +
    'Service a pod is configured to call (URLs and host:port values in its env and ConfigMaps) exists with that port.',
  check(ctx) {
    const out: Problem[] = [];
    const seen = new Set<string>();
    for (const pod of podTemplates(ctx.objects)) {
      for (const p of serviceRefProblems(ctx, pod)) {
        const key = `${p.object} ${p.field} ${p.message}`;
        if (!seen.has(key)) out.push(p);
        seen.add(key);
      }
    }
    const secrets = secretsProduced(ctx.objects);
    const configMaps = configMapsProduced(ctx.objects);
    const serviceAccounts = new Set(
      ctx.objects.filter((o) => o.kind === 'ServiceAccount').map((o) => o.metadata.name),
    );
    for (const pod of podTemplates(ctx.objects)) {
      for (const ref of podRefs(pod)) {
        if (ref.optional) continue;
        const known = ref.kind === 'Secret' ? secrets : configMaps;
        if (!ref.name || !known.has(ref.name)) {
          out.push(
            problem(
              ctx,
              'references',
              pod.owner,
              ref.field,
              `${ref.kind} "${ref.name ?? ''}" is not in this render`,
            ),
          );
          continue;
        }
        const keys = known.get(ref.name);
        if (ref.key !== undefined && keys && !keys.has(ref.key)) {
          out.push(
            problem(
              ctx,
              'references',
              pod.owner,
              ref.field,
              `${ref.kind} "${ref.name}" has no key "${ref.key}"`,
            ),
          );
        }
      }
      const sa = pod.spec.serviceAccountName;
      if (sa && sa !== 'default' && !serviceAccounts.has(sa)) {
        out.push(
          problem(
            ctx,
            'references',
            pod.owner,
            `${pod.specPath}.serviceAccountName`,
            `ServiceAccount "${sa}" is not in this render`,
          ),
        );
      }
    }
    for (const ing of ctx.objects.filter((o) => o.kind === 'Ingress')) {
      const annotations = ing.metadata.annotations ?? {};
      const certManager =
        'cert-manager.io/cluster-issuer' in annotations || 'cert-manager.io/issuer' in annotations;
      ((get(ing, 'spec', 'tls') as Array<{ secretName?: string }> | undefined) ?? []).forEach((tls, i) => {
        if (tls.secretName && !certManager && !secrets.has(tls.secretName)) {
          out.push(
            problem(
              ctx,
              'references',
              ing,
              `spec.tls[${i}].secretName`,
              `Secret "${tls.secretName}" is not in this render and no cert-manager issuer annotation creates it`,
            ),
          );
        }
      });
    }
    return out;
  },
};

interface ServicePort {
  name?: string;
  port?: number;
  targetPort?: number | string;
}

export const serviceSelectorsPolicy: Policy = {
  name: 'service-selectors',
  description:
    "Every Service's selector matches pods in the render, and named target ports exist on those pods.",
  check(ctx) {
    const out: Problem[] = [];
    const pods = podTemplates(ctx.objects);
    for (const svc of ctx.objects.filter((o) => o.kind === 'Service')) {
      const selector = get(svc, 'spec', 'selector') as Record<string, string> | undefined;
      if (!selector) continue; // selector-less Services point at manually managed endpoints
      const matched = pods.filter((p) => selects(selector, p.labels));
      if (matched.length === 0) {
        out.push(
          problem(
            ctx,
            'service-selectors',
            svc,
            'spec.selector',
            `${JSON.stringify(selector)} matches no pod in this render`,
          ),
        );
        continue;
      }
      ((get(svc, 'spec', 'ports') as ServicePort[] | undefined) ?? []).forEach((port, i) => {
        if (typeof port.targetPort !== 'string') return;
        const exists = matched.some((p) =>
          (p.spec.containers ?? []).some((c) => (c.ports ?? []).some((cp) => cp.name === port.targetPort)),
        );
        if (!exists) {
          out.push(
            problem(
              ctx,
              'service-selectors',
              svc,
              `spec.ports[${i}].targetPort`,
              `no selected container has a port named "${port.targetPort}"`,
            ),
          );
        }
      });
    }
    return out;
  },
};

function findService(ctx: TargetContext, name: unknown): K8sObject | undefined {
  return ctx.objects.find((o) => o.kind === 'Service' && o.metadata.name === name);
}

function servicePorts(svc: K8sObject | undefined): ServicePort[] {
  return (get(svc, 'spec', 'ports') as ServicePort[] | undefined) ?? [];
}

export const targetsPolicy: Policy = {
  name: 'targets',
  description:
    'Every HorizontalPodAutoscaler and KEDA ScaledObject scales a workload in the render; every Ingress backend, ServiceMonitor and ' +
    'StatefulSet serviceName names an existing Service and port; every PodMonitor selects pods that all have its port.',
  check(ctx) {
    const out: Problem[] = [];
    for (const hpa of ctx.objects.filter((o) => autoscalerKinds.has(o.kind))) {
      const ref =
        (get(hpa, 'spec', 'scaleTargetRef') as { kind?: string; name?: string; apiVersion?: string }) ?? {};
      const target = ctx.objects.find((o) => o.kind === ref.kind && o.metadata.name === ref.name);
      if (!target) {
        out.push(
          problem(
            ctx,
            'targets',
            hpa,
            'spec.scaleTargetRef',
            `${ref.kind}/${ref.name} is not in this render`,
          ),
        );
      } else if (ref.apiVersion !== undefined && ref.apiVersion !== target.apiVersion) {
        out.push(
          problem(
            ctx,
            'targets',
            hpa,
            'spec.scaleTargetRef.apiVersion',
            `is ${ref.apiVersion}, the target is ${target.apiVersion}`,
          ),
        );
      }
    }
    for (const ing of ctx.objects.filter((o) => o.kind === 'Ingress')) {
      const backends: Array<{ field: string; backend: unknown }> = [];
      const def = get(ing, 'spec', 'defaultBackend');
      if (def) backends.push({ field: 'spec.defaultBackend', backend: def });
      ((get(ing, 'spec', 'rules') as unknown[] | undefined) ?? []).forEach((rule, i) =>
        ((get(rule, 'http', 'paths') as unknown[] | undefined) ?? []).forEach((p, j) =>
          backends.push({ field: `spec.rules[${i}].http.paths[${j}].backend`, backend: get(p, 'backend') }),
        ),
      );
      for (const { field, backend } of backends) {
        const name = get(backend, 'service', 'name');
        if (name === undefined) continue;
        const svc = findService(ctx, name);
        if (!svc) {
          out.push(
            problem(
              ctx,
              'targets',
              ing,
              `${field}.service.name`,
              `Service "${String(name)}" is not in this render`,
            ),
          );
          continue;
        }
        const portName = get(backend, 'service', 'port', 'name');
        const portNumber = get(backend, 'service', 'port', 'number');
        const ok = servicePorts(svc).some((p) =>
          portName !== undefined ? p.name === portName : p.port === portNumber,
        );
        if (!ok) {
          out.push(
            problem(
              ctx,
              'targets',
              ing,
              `${field}.service.port`,
              `Service "${String(name)}" has no port ${String(portName ?? portNumber)}`,
            ),
          );
        }
      }
    }
    for (const sm of ctx.objects.filter((o) => o.kind === 'ServiceMonitor')) {
      const matched = ctx.objects.filter(
        (o) =>
          o.kind === 'Service' && labelSelectorMatches(get(sm, 'spec', 'selector'), o.metadata.labels ?? {}),
      );
      if (matched.length === 0) {
        out.push(
          problem(
            ctx,
            'targets',
            sm,
            'spec.selector',
            'selects no Service in this render (Service labels, not pod labels)',
          ),
        );
        continue;
      }
      ((get(sm, 'spec', 'endpoints') as Array<{ port?: string }> | undefined) ?? []).forEach((ep, i) => {
        if (ep.port !== undefined && !matched.some((s) => servicePorts(s).some((p) => p.name === ep.port))) {
          out.push(
            problem(
              ctx,
              'targets',
              sm,
              `spec.endpoints[${i}].port`,
              `no selected Service has a port named "${ep.port}"`,
            ),
          );
        }
      });
    }
    for (const pm of ctx.objects.filter((o) => o.kind === 'PodMonitor')) {
      const pods = podTemplates(ctx.objects).filter((p) =>
        labelSelectorMatches(get(pm, 'spec', 'selector'), p.labels),
      );
      if (pods.length === 0) {
        out.push(
          problem(ctx, 'targets', pm, 'spec.selector', 'selects no pod in this render (pod template labels)'),
        );
        continue;
      }
      const endpoints =
        (get(pm, 'spec', 'podMetricsEndpoints') as Array<{ port?: string }> | undefined) ?? [];
      endpoints.forEach((ep, i) => {
        const named = (p: (typeof pods)[number]) =>
          (p.spec.containers ?? []).some((c) => (c.ports ?? []).some((cp) => cp.name === ep.port));
        // Every selected pod must have it: a pod without the port is a target that never answers.
        const without = pods.filter((p) => !named(p));
        if (ep.port !== undefined && without.length > 0) {
          out.push(
            problem(
              ctx,
              'targets',
              pm,
              `spec.podMetricsEndpoints[${i}].port`,
              `no container port named "${ep.port}" in ${without.map((p) => objectId(p.owner)).join(', ')}`,
            ),
          );
        }
      });
    }
    for (const sts of ctx.objects.filter((o) => o.kind === 'StatefulSet')) {
      const name = get(sts, 'spec', 'serviceName');
      if (name === undefined) continue;
      const svc = findService(ctx, name);
      if (!svc) {
        out.push(
          problem(ctx, 'targets', sts, 'spec.serviceName', `Service "${String(name)}" is not in this render`),
        );
      } else if (get(svc, 'spec', 'clusterIP') !== 'None') {
        out.push(
          problem(
            ctx,
            'targets',
            sts,
            'spec.serviceName',
            `Service "${String(name)}" must be headless (clusterIP: None)`,
          ),
        );
      }
    }
    return out;
  },
};
