import { dashboards } from '../dashboards/index.js';
import { datastoreRules } from '../datastores.js';
import type { SloSource } from '../objectives.js';
import { ruleGroups } from '../rules.js';
import { formatAs, generatedHeader, type GeneratedFile } from './format.js';
import { renderGate } from './gate.js';
import { dashboardFiles, renderDashboardConfigMaps } from './grafana.js';
import { renderK6Thresholds } from './k6.js';
import { renderKustomization, renderPrometheusRule, renderRulesFile } from './prometheus-rule.js';

export { repoRoot, type GeneratedFile } from './format.js';

/** Folders whose every file the generator owns: a file there it no longer writes is stale. */
export const generatedDirs = ['base/monitoring/generated', 'slo/generated'];

const readme = `# Generated files

${generatedHeader}

| file | what | read by |
| --- | --- | --- |
| rules.yaml | Prometheus recording and alerting rules (\`groups:\`) | promtool, a local Prometheus, slo/test |
| gate.json | one PromQL query and limit per objective, \`$window\` = window, \`$selector\` = environment; the load-test objectives' metric, statistic and bound in the summary JSON | the slo-gate action |
| dashboards/*.json | Grafana dashboards (also in base/monitoring/generated/grafana-dashboards.yaml) | Grafana import |

The Kubernetes forms are in base/monitoring/generated/; the k6 thresholds in loadtests/lib/thresholds.generated.ts.
See docs/slo.md.
`;

/** Every generated file, sorted by path, each formatted as prettier formats it in this repository. */
export async function generatedFiles(source: SloSource): Promise<GeneratedFile[]> {
  const objectives = source.objectives;
  // The objectives' groups, then the data stores' alerts (slo/src/datastores.ts).
  const groups = [...ruleGroups(objectives), datastoreRules()];
  const boards = dashboards(objectives);
  const raw: GeneratedFile[] = [
    { path: 'base/monitoring/generated/prometheus-rule.yaml', content: renderPrometheusRule(groups) },
    { path: 'base/monitoring/generated/grafana-dashboards.yaml', content: renderDashboardConfigMaps(boards) },
    { path: 'base/monitoring/generated/kustomization.yaml', content: renderKustomization() },
    { path: 'loadtests/lib/thresholds.generated.ts', content: renderK6Thresholds(source) },
    { path: 'slo/generated/README.md', content: readme },
    { path: 'slo/generated/rules.yaml', content: renderRulesFile(groups) },
    { path: 'slo/generated/gate.json', content: renderGate(source) },
    ...dashboardFiles(boards).map((f) => ({ path: `slo/generated/dashboards/${f.name}`, content: f.json })),
  ];
  const files = await Promise.all(
    raw.map(async (f) => ({ path: f.path, content: await formatAs(f.path, f.content) })),
  );
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
