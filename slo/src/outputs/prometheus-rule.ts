import type { RuleGroup } from '../rules.js';
import { yamlDocuments } from './format.js';

/**
 * The rules as a prometheus-operator PrometheusRule. No namespace: kustomize puts it in the
 * environment's namespace. The label kube-prometheus-stack's ruleSelector matches (release: <Helm
 * release>) is set by base/monitoring's `labels:` (switchboard.config.yaml, prometheus.labels).
 */
export function renderPrometheusRule(groups: RuleGroup[]): string {
  return yamlDocuments([
    {
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'PrometheusRule',
      metadata: {
        name: 'switchboard-slo',
        labels: {
          'app.kubernetes.io/name': 'switchboard',
          'app.kubernetes.io/component': 'slo',
        },
      },
      spec: { groups },
    },
  ]);
}

/** The same rules as a plain Prometheus rule file, for promtool and a local Prometheus. */
export function renderRulesFile(groups: RuleGroup[]): string {
  return yamlDocuments([{ groups }]);
}

/**
 * base/monitoring/generated/kustomization.yaml: the dashboards only, for base/monitoring/dashboards
 * (deployed once per cluster). The rule is per environment: base/monitoring lists its file.
 */
export function renderKustomization(): string {
  return yamlDocuments([
    {
      apiVersion: 'kustomize.config.k8s.io/v1beta1',
      kind: 'Kustomization',
      resources: ['grafana-dashboards.yaml'],
    },
  ]);
}
