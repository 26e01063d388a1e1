// What one cluster Prometheus makes of several environments: every server pod a target with the
// labels the Prometheus Operator's ServiceMonitor relabelling gives it, and every environment's
// PrometheusRule a rule file of its own. Checked against prometheus-operator v0.93.0 (commit
// f8fafd475f3d132e239432ae6172de60a6cb6516; kube-prometheus-stack 88.5.3 ships v0.93.1):
// pkg/prometheus/promcfg.go generateServiceMonitorConfig sets namespace, service, pod and container
// from the Kubernetes metadata, job from the Service's name and endpoint from the endpoint's port
// name; pkg/operator/rules.go names each rule file <namespace>-<name>-<uid>.yaml and, without
// enforcedNamespaceLabel, leaves the rules as written.
import type { K8sObject } from '../../../pipeline/src/validate/index.js';
import { ManifestError } from './manifests.js';
import type { Replica } from './replicas.js';

/** One environment's scraped pods, as the stand-in runs them. */
export interface ScrapedEnvironment {
  objects: K8sObject[];
  replicas: Replica[];
}

/** A static_configs entry: one pod's address with its target labels. */
export interface LabelledTarget {
  targets: string[];
  labels: Record<string, string>;
}

interface ServiceMonitorSpec {
  selector?: { matchLabels?: Record<string, string> };
  endpoints?: { port?: string }[];
}

function matches(labels: Record<string, string> | undefined, want: Record<string, string>): boolean {
  return Object.entries(want).every(([k, v]) => labels?.[k] === v);
}

/**
 * The targets of the environment's ServiceMonitor: one per pod, labelled namespace, service, pod,
 * container, job (the Service's name) and endpoint (the port name), as the Operator relabels them.
 */
export function serviceMonitorTargets(env: ScrapedEnvironment): LabelledTarget[] {
  const sm = env.objects.find((o) => o.kind === 'ServiceMonitor');
  if (!sm) throw new ManifestError('no ServiceMonitor in the render: Prometheus would not scrape the pods');
  const spec = (sm.spec ?? {}) as ServiceMonitorSpec;
  const want = spec.selector?.matchLabels ?? {};
  const service = env.objects.find((o) => o.kind === 'Service' && matches(o.metadata.labels, want));
  if (!service) {
    throw new ManifestError(
      `ServiceMonitor/${sm.metadata.name} selects no Service (matchLabels ${JSON.stringify(want)})`,
    );
  }
  const deployment = env.objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'switchboard');
  const container =
    (deployment?.spec as { template?: { spec?: { containers?: { name?: string }[] } } } | undefined)?.template
      ?.spec?.containers?.[0]?.name ?? 'server';
  const namespace = service.metadata.namespace ?? sm.metadata.namespace ?? 'default';
  const endpoint = spec.endpoints?.[0]?.port ?? 'metrics';
  return env.replicas.map((r) => ({
    targets: [`127.0.0.1:${r.metricsPort}`],
    labels: {
      namespace,
      service: service.metadata.name,
      pod: r.name,
      container,
      job: service.metadata.name,
      endpoint,
    },
  }));
}

/** The rule file name the Operator gives an environment's PrometheusRule (the uid left out). */
export function ruleFileName(objects: K8sObject[]): string {
  const rule = objects.find((o) => o.kind === 'PrometheusRule');
  if (!rule) throw new ManifestError('no PrometheusRule in the render');
  return `${rule.metadata.namespace ?? 'default'}-${rule.metadata.name}.yaml`;
}

/** The label matchers that select one environment's series: its namespace, as the gate's `selector` input takes them. */
export function environmentSelector(objects: K8sObject[]): string {
  const ns = objects.find((o) => o.kind === 'ServiceMonitor')?.metadata.namespace;
  if (!ns) throw new ManifestError('the ServiceMonitor has no namespace: the render names no environment');
  return `namespace="${ns}"`;
}
