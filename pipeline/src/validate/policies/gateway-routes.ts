// Gateway API routes point at what the render has: every HTTPRoute backendRef names a Service and a
// port it exposes (never the operations port), and every Envoy Gateway policy targets a route in the
// render (a policy whose target is missing is accepted by the API server and silently does nothing).
import { problem, type Policy, type Problem } from '../types.js';
import { get } from '../workloads.js';

const policyKinds = new Set(['BackendTrafficPolicy', 'ClientTrafficPolicy', 'SecurityPolicy']);

export const gatewayRoutesPolicy: Policy = {
  name: 'gateway-routes',
  description:
    'Every HTTPRoute backendRef names a Service and port in the render; every Envoy Gateway policy targets a route in it.',
  check(ctx) {
    const out: Problem[] = [];
    const find = (kind: string, name: unknown) =>
      ctx.objects.find((o) => o.kind === kind && o.metadata.name === name);
    for (const route of ctx.objects.filter((o) => o.kind === 'HTTPRoute')) {
      ((get(route, 'spec', 'rules') as unknown[] | undefined) ?? []).forEach((rule, i) =>
        ((get(rule, 'backendRefs') as unknown[] | undefined) ?? []).forEach((ref, j) => {
          const kind = (get(ref, 'kind') as string | undefined) ?? 'Service';
          if (kind !== 'Service') return;
          const field = `spec.rules[${i}].backendRefs[${j}]`;
          const svc = find('Service', get(ref, 'name'));
          if (!svc) {
            out.push(
              problem(
                ctx,
                'gateway-routes',
                route,
                `${field}.name`,
                `Service "${String(get(ref, 'name'))}" is not in this render`,
              ),
            );
            return;
          }
          const port = get(ref, 'port');
          const ports =
            (get(svc, 'spec', 'ports') as
              Array<{ port?: number; name?: string; targetPort?: unknown }> | undefined) ?? [];
          const target = ports.find((p) => p.port === port);
          // The operations port (METRICS_PORT: /metrics and the probes) stays inside the cluster.
          if (target && (target.name === 'metrics' || target.targetPort === 'metrics')) {
            out.push(
              problem(
                ctx,
                'gateway-routes',
                route,
                `${field}.port`,
                `routes to Service/${svc.metadata.name} port ${String(port)}, the operations port (/metrics, probes): route the http port`,
              ),
            );
          }
          if (!target) {
            out.push(
              problem(
                ctx,
                'gateway-routes',
                route,
                `${field}.port`,
                `Service/${svc.metadata.name} has no port ${String(port)} (ports: ${ports.map((p) => p.port).join(', ')})`,
              ),
            );
          }
        }),
      );
    }
    for (const policy of ctx.objects.filter(
      (o) => policyKinds.has(o.kind) && o.apiVersion.startsWith('gateway.envoyproxy.io/'),
    )) {
      const refs =
        (get(policy, 'spec', 'targetRefs') as Array<{ kind?: string; name?: string }> | undefined) ?? [];
      refs.forEach((ref, i) => {
        if (ref.kind === 'Gateway') return; // the cluster's Gateway is not in an environment's render
        if (!find(ref.kind ?? '', ref.name)) {
          out.push(
            problem(
              ctx,
              'gateway-routes',
              policy,
              `spec.targetRefs[${i}]`,
              `${ref.kind}/${ref.name} is not in this render: the policy would apply to nothing`,
            ),
          );
        }
      });
    }
    return out;
  },
};
