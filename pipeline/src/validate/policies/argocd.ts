// Argo CD least privilege, checked against what the overlays actually render: every Application
// (and the preview ApplicationSet's template) uses a project that allows its repository, its
// destination namespace, and every kind its overlay renders -- and nothing asks for more.
import { get } from '../workloads.js';
import { problem, type K8sObject, type Problem, type TargetContext } from '../types.js';

/** Kinds that are not namespaced (the ones a project's clusterResourceWhitelist must name). */
const clusterScoped = new Set([
  'Namespace',
  'ClusterRole',
  'ClusterRoleBinding',
  'CustomResourceDefinition',
  'PersistentVolume',
  'StorageClass',
  'PriorityClass',
  'IngressClass',
  'ClusterSecretStore',
  'ValidatingWebhookConfiguration',
  'MutatingWebhookConfiguration',
]);

interface GroupKind {
  group?: string;
  kind?: string;
}

function glob(pattern: string, value: string): boolean {
  const re = new RegExp(
    `^${pattern
      .split('*')
      .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );
  return re.test(value);
}

function groupOf(apiVersion: string): string {
  return apiVersion.includes('/') ? (apiVersion.split('/')[0] ?? '') : '';
}

/** Applications, and the ApplicationSet templates with sample generator values filled in. */
function applications(argo: K8sObject[]): Array<{ obj: K8sObject; spec: unknown; specPath: string }> {
  const out: Array<{ obj: K8sObject; spec: unknown; specPath: string }> = [];
  for (const o of argo) {
    if (o.kind === 'Application') out.push({ obj: o, spec: get(o, 'spec'), specPath: 'spec' });
    if (o.kind === 'ApplicationSet') {
      const sample = JSON.stringify(get(o, 'spec', 'template', 'spec') ?? {}).replace(
        /\{\{\s*[\w.]+\s*\}\}/g,
        '1',
      );
      out.push({ obj: o, spec: JSON.parse(sample) as unknown, specPath: 'spec.template.spec' });
    }
  }
  return out;
}

/** The overlay an Application deploys: rendered/<env> on the deploy branch is overlays/<env>. */
export function overlayForPath(path: string): string {
  const m = /^rendered\/([\w-]+)\/?$/.exec(path);
  return m ? `overlays/${m[1]}` : path.replace(/\/$/, '');
}

/**
 * Checks the Argo CD target against the rendered overlays (`rendered`: overlay dir -> objects).
 */
export function checkArgoCd(argo: TargetContext, rendered: Map<string, K8sObject[]>): Problem[] {
  const out: Problem[] = [];
  const report = (obj: K8sObject, field: string, message: string) =>
    out.push(problem(argo, 'argocd', obj, field, message));
  const projects = new Map(
    argo.objects.filter((o) => o.kind === 'AppProject').map((p) => [p.metadata.name, p]),
  );
  for (const { obj, spec, specPath } of applications(argo.objects)) {
    const projectName = get(spec, 'project') as string | undefined;
    const project = projectName ? projects.get(projectName) : undefined;
    if (!project) {
      report(obj, `${specPath}.project`, `AppProject "${projectName ?? ''}" is not in this render`);
      continue;
    }
    const repo = (get(spec, 'source', 'repoURL') as string | undefined) ?? '';
    const repos = (get(project, 'spec', 'sourceRepos') as string[] | undefined) ?? [];
    if (!repos.some((r) => glob(r, repo))) {
      report(obj, `${specPath}.source.repoURL`, `"${repo}" is not in AppProject ${projectName} sourceRepos`);
    }
    const server = (get(spec, 'destination', 'server') as string | undefined) ?? '';
    const namespace = (get(spec, 'destination', 'namespace') as string | undefined) ?? '';
    const destinations =
      (get(project, 'spec', 'destinations') as Array<{ server?: string; namespace?: string }>) ?? [];
    if (!destinations.some((d) => glob(d.server ?? '', server) && glob(d.namespace ?? '', namespace))) {
      report(
        obj,
        `${specPath}.destination`,
        `${server} namespace ${namespace} is not a destination of AppProject ${projectName}`,
      );
    }
    const path = (get(spec, 'source', 'path') as string | undefined) ?? '';
    const overlay = overlayForPath(path);
    const objects = rendered.get(overlay);
    if (!objects) {
      report(
        obj,
        `${specPath}.source.path`,
        `"${path}" deploys no overlay that was rendered (expected rendered/<env> or overlays/<env>)`,
      );
      continue;
    }
    const clusterList = (get(project, 'spec', 'clusterResourceWhitelist') as GroupKind[] | undefined) ?? [];
    const namespacedList = get(project, 'spec', 'namespaceResourceWhitelist') as GroupKind[] | undefined;
    const kustomizeNamespace = get(spec, 'source', 'kustomize', 'namespace');
    const seen = new Set<string>();
    for (const o of objects) {
      const group = groupOf(o.apiVersion);
      const key = `${group}/${o.kind}`;
      const scoped = clusterScoped.has(o.kind);
      if (!seen.has(key)) {
        seen.add(key);
        const list = scoped ? clusterList : namespacedList;
        // An absent namespaceResourceWhitelist allows every namespaced kind: not least privilege.
        if (!scoped && list === undefined) {
          report(
            project,
            'spec.namespaceResourceWhitelist',
            'missing: list the namespaced kinds the overlays render',
          );
        } else if (!(list ?? []).some((gk) => glob(gk.group ?? '', group) && glob(gk.kind ?? '', o.kind))) {
          const field = scoped ? 'spec.clusterResourceWhitelist' : 'spec.namespaceResourceWhitelist';
          report(
            project,
            field,
            `${overlay} renders ${key.replace(/^\//, 'core/')} but the project does not allow it`,
          );
        }
      }
      const ns = o.metadata.namespace;
      if (!scoped && kustomizeNamespace === undefined && ns !== undefined && ns !== namespace) {
        report(
          obj,
          `${specPath}.destination.namespace`,
          `is ${namespace}, but ${overlay} renders ${o.kind}/${o.metadata.name} into ${ns}`,
        );
      }
    }
    for (const gk of clusterList) {
      if (!objects.some((o) => clusterScoped.has(o.kind) && glob(gk.kind ?? '', o.kind))) {
        // Unused grants are privilege nobody needs; only flagged when no overlay uses them.
        const usedAnywhere = [...rendered.values()].some((objs) =>
          objs.some((o) => glob(gk.kind ?? '', o.kind)),
        );
        if (!usedAnywhere)
          report(
            project,
            'spec.clusterResourceWhitelist',
            `${gk.group}/${gk.kind} is allowed but no overlay renders it`,
          );
      }
    }
  }
  return out;
}
