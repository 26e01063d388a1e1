/**
 * The k6-operator objects for one load-test run (k6.io/v1alpha1 TestRun, docs/loadtests.md): the scenario
 * bundle in a ConfigMap, the token in a Secret, and a TestRun whose runners print the summary JSON to
 * stderr (SUMMARY_PATH=stderr), so it can be collected from their logs after the run.
 */

/** A Kubernetes object as applied (loosely typed; validated against the CRD in tests). */
export interface ManifestObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

/** What one TestRun runs. */
export interface TestRunOptions {
  /** TestRun name (a DNS label, at most 63 characters); the ConfigMap and Secret are named after it. */
  name: string;
  namespace: string;
  scenario: string;
  /** The k6 bundle's JavaScript (base/loadtest/generated/<scenario>.js). */
  script: string;
  /** Runner pods; k6-operator gives each an execution segment of the whole test. */
  parallelism: number;
  /** Runner image (k6 with k6/websockets), pinned by digest. */
  image: string;
  /** URL, VUS, DURATION and any other scenario variable; SUMMARY_PATH is set here. */
  env: Record<string, string>;
  /** The JWT; stored in a Secret and passed to the runners as TOKEN. Empty: no Secret. */
  token?: string;
}

/** The runner image of base/loadtest/testrun.yaml: the k6 of platform/versions.yaml, pinned by digest. */
export const DEFAULT_K6_IMAGE =
  'grafana/k6:2.2.0@sha256:9bd01d6941fca969cb61bb57d2da5ee9b385fe2aa8881df3798c196564d6ace6';

/** Labels k6-operator puts on runner pods (pkg/resources/jobs/runner.go: app=k6, k6_cr=<name>, runner=true). */
export function runnerPodSelector(name: string): string {
  return `k6_cr=${name},runner=true`;
}

const podLabels = { 'app.kubernetes.io/name': 'switchboard-loadtest' };

/** The restricted Pod Security profile, as base/loadtest/testrun.yaml sets it for every k6 pod. */
const restricted = {
  securityContext: {
    runAsNonRoot: true,
    runAsUser: 12345,
    runAsGroup: 12345,
    seccompProfile: { type: 'RuntimeDefault' },
  },
  containerSecurityContext: {
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    runAsNonRoot: true,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  },
};

/** A valid TestRun/ConfigMap name: lower-case DNS label, at most `max` characters. */
export function testRunName(text: string, max = 52): string {
  const name = text
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+/, '')
    .slice(0, max)
    .replace(/-+$/, '');
  if (!name) throw new Error(`cannot make a Kubernetes name from "${text}"`);
  return name;
}

/** The objects to apply, in order: ConfigMap (script), Secret (token, if any), TestRun. */
export function buildTestRunObjects(options: TestRunOptions): ManifestObject[] {
  const { name, namespace, scenario } = options;
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name) || name.length > 52) {
    // 52 leaves room for the "-script" / "-token" suffixes and k6-operator's "-initializer" jobs.
    throw new Error(`name "${name}" must be a DNS label of at most 52 characters`);
  }
  const labels = {
    'app.kubernetes.io/part-of': 'switchboard',
    'app.kubernetes.io/name': 'switchboard-loadtest',
    'switchboard.dev/scenario': scenario,
  };
  const file = `${scenario}.js`;
  const objects: ManifestObject[] = [
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: `${name}-script`, namespace, labels },
      data: { [file]: options.script },
    },
  ];
  const env: { name: string; value?: string; valueFrom?: unknown }[] = Object.entries({
    ...options.env,
    // handleSummary's `stderr` key: the summary JSON lands in the runner's log.
    SUMMARY_PATH: 'stderr',
  })
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, value]) => ({ name: key, value }));
  if (options.token) {
    objects.push({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: `${name}-token`, namespace, labels },
      type: 'Opaque',
      stringData: { TOKEN: options.token },
    });
    env.push({ name: 'TOKEN', valueFrom: { secretKeyRef: { name: `${name}-token`, key: 'TOKEN' } } });
  }
  objects.push({
    apiVersion: 'k6.io/v1alpha1',
    kind: 'TestRun',
    metadata: { name, namespace, labels },
    spec: {
      parallelism: options.parallelism,
      separate: false,
      // No `cleanup: post`: the runner pods must outlive the run so their logs can be read; the action
      // deletes the TestRun (and with it the jobs and pods) afterwards.
      script: { configMap: { name: `${name}-script`, file } },
      runner: {
        image: options.image,
        metadata: { labels: podLabels },
        env,
        resources: { requests: { cpu: '1', memory: '1Gi' }, limits: { memory: '2Gi' } },
        ...restricted,
        volumes: [{ name: 'tmp', emptyDir: { sizeLimit: '64Mi' } }],
        volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
      },
      initializer: {
        metadata: { labels: podLabels },
        resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } },
        ...restricted,
      },
      starter: {
        metadata: { labels: podLabels },
        resources: { requests: { cpu: '50m', memory: '32Mi' }, limits: { memory: '64Mi' } },
        ...restricted,
      },
    },
  });
  return objects;
}
