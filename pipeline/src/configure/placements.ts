// Where each value of switchboard.config.yaml lands. Everything kustomize renders is a field of a
// kustomize file (so `kubectl kustomize` alone renders the truth); the Prometheus labels are one
// `labels:` transformer in base/monitoring. Kustomize cannot reach the Argo CD objects' repository
// and namespaces as a value shared with the overlays, nor the workflows: those are written here too.
import type { AdopterConfig, EnvironmentName } from './config.js';
import type { Edit, PathSegment } from './yaml-edit.js';

/** The environments Argo CD deploys from rendered/<env>, in the order the AppProject lists them. */
const longLived = ['dev', 'staging', 'production'] as const satisfies EnvironmentName[];
const overlaysWithSecretStore = [...longLived, 'preview'] as const satisfies EnvironmentName[];

const step = (uses: string): PathSegment => ({ key: 'uses', value: uses });

/**
 * The workflows' namespace of `inputs.environment`: a `format()` when the namespaces share a prefix
 * (acme-dev, acme-staging, ...), else a lookup table.
 */
export function namespaceExpression(config: AdopterConfig): string {
  const ns = longLived.map((e) => config.environments[e].namespace);
  const prefix = ns[0]?.slice(0, ns[0].length - longLived[0].length) ?? '';
  if (longLived.every((e, i) => ns[i] === `${prefix}${e}`))
    return `format('${prefix}{0}', inputs.environment)`;
  const table = JSON.stringify(Object.fromEntries(longLived.map((e, i) => [e, ns[i]])));
  return `fromJSON('${table}')[inputs.environment]`;
}

function argocd(c: AdopterConfig): Edit[] {
  const repo = c.repository;
  const project = c.argocd.project;
  const dashboards = `${project}-dashboards`;
  const edits: Edit[] = [
    { file: 'argocd/kustomization.yaml', path: ['namespace'], value: c.argocd.namespace },
    { file: 'argocd/project.yaml', path: ['metadata', 'name'], value: project },
    { file: 'argocd/project.yaml', path: ['spec', 'sourceRepos', 0], value: repo },
    ...longLived.map((e, i): Edit => ({
      file: 'argocd/project.yaml',
      path: ['spec', 'destinations', i, 'namespace'],
      value: c.environments[e].namespace,
    })),
    { file: 'argocd/project-dashboards.yaml', path: ['metadata', 'name'], value: dashboards },
    { file: 'argocd/project-dashboards.yaml', path: ['spec', 'sourceRepos', 0], value: repo },
    {
      file: 'argocd/project-dashboards.yaml',
      path: ['spec', 'destinations', 0, 'namespace'],
      value: c.prometheus.namespace,
    },
    { file: 'argocd/application-dashboards.yaml', path: ['spec', 'project'], value: dashboards },
    { file: 'argocd/application-dashboards.yaml', path: ['spec', 'source', 'repoURL'], value: repo },
    {
      file: 'argocd/application-dashboards.yaml',
      path: ['spec', 'destination', 'namespace'],
      value: c.prometheus.namespace,
    },
  ];
  for (const e of longLived) {
    const file = `argocd/application-${e}.yaml`;
    edits.push(
      { file, path: ['spec', 'project'], value: project },
      { file, path: ['spec', 'source', 'repoURL'], value: repo },
      { file, path: ['spec', 'destination', 'namespace'], value: c.environments[e].namespace },
    );
  }
  return edits;
}

/**
 * The opt-in KEDA components' Prometheus triggers: the operator's Service (prometheus-operated, which
 * prometheus-operator creates for every Prometheus) in Prometheus' namespace, and production's
 * namespace in the queries (base/ renders production; other overlays patch theirs).
 */
function kedaTriggers(c: AdopterConfig): Edit[] {
  const server = `http://prometheus-operated.${c.prometheus.namespace}.svc:9090`;
  const selector = `job="switchboard",namespace="${c.environments.production.namespace}"`;
  const connections = [
    'base/autoscaling/keda/scaledobject.yaml',
    ['spec', 'triggers', { key: 'name', value: 'connections' }, 'metadata'],
  ] as const;
  const latency = ['base/autoscaling/keda-latency/latency-trigger.yaml', [0, 'value', 'metadata']] as const;
  return [
    { file: connections[0], path: [...connections[1], 'serverAddress'], value: server },
    {
      file: connections[0],
      path: [...connections[1], 'query'],
      value: `sum(switchboard_connections{${selector}})`,
    },
    { file: latency[0], path: [...latency[1], 'serverAddress'], value: server },
    {
      file: latency[0],
      path: [...latency[1], 'query'],
      value: `histogram_quantile(0.99, sum by (le) (rate(switchboard_delivery_latency_seconds_bucket{${selector}}[5m])))`,
    },
  ];
}

function base(c: AdopterConfig): Edit[] {
  const production = c.environments.production.host;
  const gateway = 'base/edge/gateway/gateway.yaml';
  const allowed = ['spec', 'listeners', 0, 'allowedRoutes', 'namespaces', 'selector', 'matchExpressions', 0];
  return [
    {
      file: 'base/server/deployment.yaml',
      path: ['spec', 'template', 'spec', 'containers', { key: 'name', value: 'server' }, 'image'],
      value: `${c.image}:main`,
    },
    {
      file: 'base/server/migrate-job.yaml',
      path: ['spec', 'template', 'spec', 'containers', { key: 'name', value: 'migrate' }, 'image'],
      value: `${c.image}:main`,
    },
    {
      file: 'base/server/canary/move-job.yaml',
      path: ['spec', 'template', 'spec', 'containers', { key: 'name', value: 'move' }, 'image'],
      value: `${c.image}:main`,
    },
    // base/ renders production's host; every overlay patches its own.
    { file: 'base/server/httproute.yaml', path: ['spec', 'hostnames', 0], value: production },
    { file: 'base/server/configmap.yaml', path: ['data', 'ALLOWED_ORIGINS'], value: `https://${production}` },
    { file: 'base/edge/ingress-nginx/ingress.yaml', path: ['spec', 'rules', 0, 'host'], value: production },
    {
      file: 'base/server/networkpolicy.yaml',
      path: [
        'spec',
        'ingress',
        1,
        'from',
        0,
        'namespaceSelector',
        'matchLabels',
        'kubernetes.io/metadata.name',
      ],
      value: c.prometheus.namespace,
    },
    // Prometheus to the data store exporters (docs/operations.md).
    ...(
      [
        ['base/postgres/networkpolicy.yaml', 1],
        ['base/redis/standalone/networkpolicy.yaml', 1],
        ['base/redis/cluster/networkpolicy-metrics.yaml', 0],
      ] as const
    ).map(([file, rule]): Edit => ({
      file,
      path: [
        'spec',
        'ingress',
        rule,
        'from',
        0,
        'namespaceSelector',
        'matchLabels',
        'kubernetes.io/metadata.name',
      ],
      value: c.prometheus.namespace,
    })),
    {
      file: gateway,
      path: ['metadata', 'annotations', 'cert-manager.io/cluster-issuer'],
      value: c.certManager.clusterIssuer,
    },
    ...longLived.map((e): Edit => ({
      file: gateway,
      path: ['spec', 'listeners', { key: 'name', value: `https-${e}` }, 'hostname'],
      value: c.environments[e].host,
    })),
    ...longLived.map((e, i): Edit => ({
      file: gateway,
      path: [...allowed, 'values', i],
      value: c.environments[e].namespace,
    })),
    {
      file: 'base/secrets/external-secret/external-secret.yaml',
      path: ['spec', 'secretStoreRef', 'kind'],
      value: c.secretStore.kind,
    },
    {
      file: 'base/secrets/external-secret/external-secret.yaml',
      path: ['spec', 'secretStoreRef', 'name'],
      value: c.secretStore.name,
    },
    ...kedaTriggers(c),
    { file: 'base/monitoring/kustomization.yaml', path: ['labels', 0, 'pairs'], value: c.prometheus.labels },
    {
      file: 'base/monitoring/dashboards/kustomization.yaml',
      path: ['namespace'],
      value: c.prometheus.namespace,
    },
  ];
}

function overlays(c: AdopterConfig): Edit[] {
  const edits: Edit[] = [
    { file: 'overlays/local/kustomization.yaml', path: ['images', 0, 'name'], value: c.image },
  ];
  for (const e of overlaysWithSecretStore) {
    const env = c.environments[e];
    const dir = `overlays/${e}`;
    edits.push(
      { file: `${dir}/kustomization.yaml`, path: ['namespace'], value: env.namespace },
      { file: `${dir}/kustomization.yaml`, path: ['images', 0, 'name'], value: c.image },
      { file: `${dir}/config.yaml`, path: ['data', 'ALLOWED_ORIGINS'], value: `https://${env.host}` },
      {
        file: `${dir}/secret-store.yaml`,
        path: ['spec', 'dataFrom', 0, 'extract', 'key'],
        value: env.secretKey,
      },
      e === 'preview'
        ? { file: `${dir}/preview-host.yaml`, path: ['data', 'host'], value: env.host }
        : { file: `${dir}/route-host.yaml`, path: [0, 'value'], value: env.host },
    );
  }
  // Production while a canary runs (its own namespace transformer and images: entry).
  edits.push(
    {
      file: 'overlays/production-canary/kustomization.yaml',
      path: ['namespace'],
      value: c.environments.production.namespace,
    },
    { file: 'overlays/production-canary/kustomization.yaml', path: ['images', 0, 'name'], value: c.image },
  );
  return edits;
}

// The reusable workflows carry no team's names: the callers pass them (docs/reusable-workflows.md).
function workflows(c: AdopterConfig): Edit[] {
  const wf = '.github/workflows';
  const deploy = ['jobs', 'deploy', 'with'];
  const preview = ['jobs', 'preview', 'with'];
  return [
    { file: `${wf}/deploy.yml`, path: [...deploy, 'manifest-image'], value: c.image },
    {
      file: `${wf}/deploy.yml`,
      path: [...deploy, 'staging-namespace'],
      value: c.environments.staging.namespace,
    },
    {
      file: `${wf}/deploy.yml`,
      path: [...deploy, 'production-namespace'],
      value: c.environments.production.namespace,
    },
    {
      file: `${wf}/ci.yml`,
      path: ['jobs', 'render-preview', 'steps', step('./actions/render-manifests'), 'with', 'image'],
      value: c.image,
    },
    { file: `${wf}/preview.yml`, path: [...preview, 'manifest-image'], value: c.image },
    { file: `${wf}/preview.yml`, path: [...preview, 'repo-url'], value: c.repository },
    {
      file: `${wf}/preview.yml`,
      path: [...preview, 'argocd-project'],
      value: `\${{ vars.ARGOCD_PREVIEW_PROJECT || '${c.argocd.project}' }}`,
    },
    {
      file: `${wf}/loadtest.yml`,
      path: ['jobs', 'loadtest', 'with', 'namespace'],
      value: `\${{ ${namespaceExpression(c)} }}`,
    },
  ];
}

/** Every place a value of `config` lands, grouped by nothing: one Edit per field. */
export function placements(config: AdopterConfig): Edit[] {
  return [...argocd(config), ...base(config), ...overlays(config), ...workflows(config)];
}
