// The server's operations port: /metrics and the probes listen on METRICS_PORT, apart from what the
// Ingress routes, so the Ingress can never expose them (issue 12 item 6).
import { get, podTemplates, type ContainerSpec } from '../workloads.js';
import { problem, type K8sObject, type Policy, type Problem } from '../types.js';

/** The server's default METRICS_PORT (server/src/config.ts), used when nothing sets it. */
export const defaultMetricsPort = 9464;

/** An environment variable as the container sees it: env value, or a key of an envFrom ConfigMap. */
function envValue(objects: K8sObject[], c: ContainerSpec, name: string): string | undefined {
  const direct = (c.env ?? []).find((e) => e.name === name);
  if (direct?.value !== undefined) return direct.value;
  const configMaps = objects.filter((o) => o.kind === 'ConfigMap');
  for (const src of c.envFrom ?? []) {
    const cm = configMaps.find((o) => o.metadata.name === src.configMapRef?.name);
    const v = get(cm, 'data', name);
    if (typeof v === 'string') return v;
  }
  return undefined;
}

const isServer = (c: ContainerSpec) => /(^|\/)switchboard\/server([:@]|$)/.test(c.image ?? '');
const PROBES = ['startupProbe', 'livenessProbe', 'readinessProbe'] as const;

export const opsPortPolicy: Policy = {
  name: 'ops-port',
  description:
    'A server container declares METRICS_PORT as its containerPort `metrics`; its probes use that port; ' +
    'no Ingress backend names a Service port that targets it.',
  check(ctx) {
    const out: Problem[] = [];
    const opsServicePorts = new Set<string>();
    for (const pod of podTemplates(ctx.objects)) {
      (pod.spec.containers ?? []).forEach((c, i) => {
        if (!pod.longRunning || !isServer(c)) return;
        const at = `${pod.specPath}.containers[${i}]`;
        const port = Number(envValue(ctx.objects, c, 'METRICS_PORT') ?? defaultMetricsPort);
        const declared = (c.ports ?? []).find((p) => p.name === 'metrics');
        if (declared?.containerPort !== port) {
          out.push(
            problem(
              ctx,
              'ops-port',
              pod.owner,
              `${at}.ports`,
              `declare METRICS_PORT ${port} as a containerPort named metrics (found ${String(declared?.containerPort)})`,
            ),
          );
        }
        for (const probe of PROBES) {
          const target = get((c as Record<string, unknown>)[probe], 'httpGet', 'port');
          if (target !== undefined && target !== 'metrics' && target !== port) {
            out.push(
              problem(
                ctx,
                'ops-port',
                pod.owner,
                `${at}.${probe}.httpGet.port`,
                `probes are served on METRICS_PORT only: use port metrics (found ${String(target)})`,
              ),
            );
          }
        }
        for (const svc of ctx.objects.filter((o) => o.kind === 'Service')) {
          for (const sp of (get(svc, 'spec', 'ports') as Array<Record<string, unknown>> | undefined) ?? []) {
            if (sp.targetPort === 'metrics' || sp.targetPort === port) {
              opsServicePorts.add(`${svc.metadata.name}/${String(sp.name)}`);
              opsServicePorts.add(`${svc.metadata.name}/${String(sp.port)}`);
            }
          }
        }
      });
    }
    for (const ing of ctx.objects.filter((o) => o.kind === 'Ingress')) {
      const rules = (get(ing, 'spec', 'rules') as Array<Record<string, unknown>> | undefined) ?? [];
      rules.forEach((rule, r) => {
        const paths = (get(rule, 'http', 'paths') as unknown[] | undefined) ?? [];
        paths.forEach((path, p) => {
          const svc = get(path, 'backend', 'service') as
            { name?: string; port?: { name?: string; number?: number } } | undefined;
          const key = `${String(svc?.name)}/${String(svc?.port?.name ?? svc?.port?.number)}`;
          if (opsServicePorts.has(key)) {
            out.push(
              problem(
                ctx,
                'ops-port',
                ing,
                `spec.rules[${r}].http.paths[${p}].backend.service.port`,
                'routes to the metrics port: /metrics and the probes must stay inside the cluster',
              ),
            );
          }
        });
      });
    }
    return out;
  },
};
