// Grafana dashboards are deployed once per cluster. kube-prometheus-stack's Grafana sidecar (values
// at the pinned chart: label grafana_dashboard=1, searchNamespace ALL) loads every labelled ConfigMap
// in every namespace; an overlay is deployed once per environment and per preview, so a dashboard in
// it appears several times with one UID, and Grafana keeps one of them at random.
import { problem, type K8sObject, type Problem } from '../types.js';
import { get } from '../workloads.js';

const sidecarLabel = 'grafana_dashboard';

/** Where dashboards may be rendered: a kustomization applied once per cluster. */
export const dashboardsTarget = 'base/monitoring/dashboards';

/** Dashboards (file name, uid) in one ConfigMap the sidecar would load. */
function dashboardsOf(cm: K8sObject): Array<{ file: string; uid?: string; error?: string }> {
  if (cm.kind !== 'ConfigMap' || cm.metadata.labels?.[sidecarLabel] !== '1') return [];
  const data = (get(cm, 'data') as Record<string, unknown> | undefined) ?? {};
  return Object.entries(data).map(([file, text]) => {
    try {
      const uid = get(JSON.parse(String(text)) as unknown, 'uid');
      return { file, uid: typeof uid === 'string' && uid !== '' ? uid : undefined };
    } catch (e) {
      return { file, error: (e as Error).message };
    }
  });
}

/**
 * Problems across render targets (`rendered`: target name -> objects): dashboards outside
 * {@link dashboardsTarget}, dashboards without a fixed UID, and one UID used twice.
 */
export function checkDashboards(rendered: Map<string, K8sObject[]>): Problem[] {
  const out: Problem[] = [];
  const owners = new Map<string, string>();
  // The legitimate place first, so a duplicate elsewhere names it as the original.
  const ordered = [...rendered].sort(
    ([a], [b]) => Number(b === dashboardsTarget) - Number(a === dashboardsTarget),
  );
  for (const [target, objects] of ordered) {
    for (const cm of objects) {
      for (const d of dashboardsOf(cm)) {
        const field = `data.${d.file}`;
        const report = (message: string) => out.push(problem({ target }, 'dashboards', cm, field, message));
        if (d.error) report(`is not JSON (${d.error}): the sidecar cannot load it`);
        else if (!d.uid)
          report('has no uid: Grafana gives each copy a new one, so every sync adds a dashboard');
        if (target !== dashboardsTarget) {
          report(
            `a Grafana dashboard in ${target}: deployed with every environment and preview, its uid ${d.uid ?? ''} is duplicated for the sidecar; render it in ${dashboardsTarget} (once per cluster)`,
          );
        }
        if (!d.uid) continue;
        const first = owners.get(d.uid);
        if (first) report(`uid ${d.uid} is also the uid of ${first}`);
        else owners.set(d.uid, `${target} ConfigMap/${cm.metadata.name} ${d.file}`);
      }
    }
  }
  return out;
}
