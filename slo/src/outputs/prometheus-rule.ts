import type { RuleGroup } from '../rules.js';
import { yamlDocuments } from './format.js';

/**
 * The rules as a prometheus-operator PrometheusRule. No namespace: kustomize puts it in the
 * environment's namespace. `release: prometheus` is the label kube-prometheus-stack's default
 * ruleSelector matches.
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
          release: 'prometheus',
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

/** base/monitoring/generated/kustomization.yaml, so a kustomization can list this folder as one resource. */
export function renderKustomization(): string {
  return yamlDocuments([
    {
      apiVersion: 'kustomize.config.k8s.io/v1beta1',
      kind: 'Kustomization',
      resources: ['prometheus-rule.yaml', 'grafana-dashboards.yaml'],
    },
  ]);
}
