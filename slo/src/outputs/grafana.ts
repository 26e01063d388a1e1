import { renderDashboard, type DashboardSpec } from '../dashboards/index.js';
import { yamlDocuments } from './format.js';

/** Grafana's JSON of each dashboard, keyed by file name (`<uid>.json`). */
export function dashboardFiles(specs: DashboardSpec[]): { name: string; json: string }[] {
  return specs.map((d) => ({
    name: `${d.uid}.json`,
    json: `${JSON.stringify(renderDashboard(d), null, 2)}\n`,
  }));
}

/**
 * One ConfigMap per dashboard, labelled `grafana_dashboard: "1"`: the label the Grafana sidecar of
 * kube-prometheus-stack watches. One per dashboard keeps each far below the 1 MiB ConfigMap limit.
 */
export function renderDashboardConfigMaps(specs: DashboardSpec[]): string {
  return yamlDocuments(
    dashboardFiles(specs).map(({ name, json }) => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: `grafana-dashboard-${name.replace(/\.json$/, '')}`,
        labels: { grafana_dashboard: '1', 'app.kubernetes.io/name': 'switchboard' },
      },
      data: { [name]: json },
    })),
  );
}
