// The pinned platform's install, as commands: each component of platform/versions.yaml at its
// version, in an order where every component finds what it needs (Gateway API CRDs before Envoy
// Gateway and cert-manager's Gateway support). Every command can run again on an installed cluster
// and converge: `kubectl apply --server-side` and `helm upgrade --install`, never `create`.
//
// The install methods and artifact names were read from each upstream repository at the pinned tag:
//   argo-cd         docs/getting_started.md (server-side apply of manifests/install.yaml)
//   gateway-api     the standard-channel release asset standard-install.yaml
//   envoy-gateway   site/content/en/latest/install/install-helm.md ("Installing CRDs separately",
//                   crds.enabled=false) and tools/make/kube.mk (release asset envoy-gateway-crds.yaml)
//   cert-manager    deploy/charts/cert-manager (OCI chart, crds.enabled, config.gatewayAPI.enabled;
//                   cmd/controller/app/options: Gateway support is off unless enabled)
//   external-secrets docs/introduction/getting-started.md (chart repository); chart 2.9.0 = v2.9.0
//   kube-prometheus-stack charts/kube-prometheus-stack/README.md (OCI chart); release `prometheus`,
//                   the label base/monitoring selects with
//   k6-operator     bundle.yaml at the tag (controller image controller-v1.6.0)
//   cloudnative-pg  cloudnative-pg/charts charts/cloudnative-pg/README.md at cloudnative-pg-v0.29.0
//                   (chart repository https://cloudnative-pg.github.io/charts, release cnpg in
//                   namespace cnpg-system); chart 0.29.0 = v1.30.0
//   keda            kedacore/charts keda/README.md at v2.20.2 (chart repository
//                   https://kedacore.github.io/charts, release keda in namespace keda; crds.install
//                   defaults to true); chart 2.20.2 = v2.20.2
//   ingress-nginx   charts/ingress-nginx (chart 4.15.1): the previews' own controller, IngressClass
//                   nginx-preview in ingress-nginx-preview (overlays/preview)
import type { Platform, PlatformComponent } from './versions.js';
import { versionsFile } from './versions.js';

/** One command of the install. */
export interface BootstrapCommand {
  /** `kubectl` or `helm`, then its arguments (run without a shell). */
  argv: string[];
  /** Written to the command's standard input (a manifest for `kubectl apply -f -`). */
  stdin?: string;
}

/** The install of one pinned component. */
export interface BootstrapStep {
  component: string;
  version: string;
  /** What it is for Switchboard, one line. */
  purpose: string;
  commands: BootstrapCommand[];
}

/** The component's chart version (`chart` in versions.yaml), which differs from its app version. */
function chartOf(c: PlatformComponent): string {
  if (!c.chart)
    throw new Error(
      `${versionsFile}: cluster.${c.name}.chart is missing (the chart that ships ${c.version})`,
    );
  return c.chart;
}

const namespace = (name: string): BootstrapCommand => ({
  argv: ['kubectl', 'apply', '--server-side', '-f', '-'],
  stdin: `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${name}\n`,
});

/** Server-side apply of an upstream release manifest. */
const apply = (url: string): BootstrapCommand => ({ argv: ['kubectl', 'apply', '--server-side', '-f', url] });

const helm = (
  release: string,
  chart: string[],
  version: string,
  ns: string,
  values: string[] = [],
): BootstrapCommand => ({
  argv: [
    'helm',
    'upgrade',
    '--install',
    release,
    ...chart,
    '--version',
    version,
    '--namespace',
    ns,
    '--create-namespace',
    ...values.flatMap((v) => ['--set', v]),
    '--wait',
    '--timeout',
    '10m',
  ],
});

type Recipe = (c: PlatformComponent) => Omit<BootstrapStep, 'component' | 'version'>;

/** Component name -> its install. Order here is install order. */
const recipes = new Map<string, Recipe>([
  [
    'argo-cd',
    (c) => ({
      purpose: 'deploys the rendered manifests (argocd/)',
      commands: [
        namespace('argocd'),
        {
          argv: [
            'kubectl',
            'apply',
            '--namespace',
            'argocd',
            '--server-side',
            '--force-conflicts',
            '-f',
            `https://raw.githubusercontent.com/${c.repository}/${c.tag}/manifests/install.yaml`,
          ],
        },
      ],
    }),
  ],
  [
    'gateway-api',
    (c) => ({
      purpose: 'the HTTPRoute, Gateway and GatewayClass CRDs (standard channel)',
      commands: [
        apply(`https://github.com/${c.repository}/releases/download/${c.tag}/standard-install.yaml`),
      ],
    }),
  ],
  [
    'envoy-gateway',
    (c) => ({
      purpose: 'the Gateway API implementation behind the Gateway "public" (base/edge/gateway)',
      commands: [
        apply(`https://github.com/${c.repository}/releases/download/${c.tag}/envoy-gateway-crds.yaml`),
        // Its chart would install the experimental-channel Gateway API CRDs; the step above owns them.
        helm('eg', ['oci://docker.io/envoyproxy/gateway-helm'], c.version, 'envoy-gateway-system', [
          'crds.enabled=false',
        ]),
      ],
    }),
  ],
  [
    'cert-manager',
    (c) => ({
      purpose: "the Gateway's TLS certificates (cert-manager.io/cluster-issuer on the Gateway)",
      commands: [
        helm('cert-manager', ['oci://quay.io/jetstack/charts/cert-manager'], c.version, 'cert-manager', [
          'crds.enabled=true',
          'config.apiVersion=controller.config.cert-manager.io/v1alpha1',
          'config.kind=ControllerConfiguration',
          'config.gatewayAPI.enabled=true',
        ]),
      ],
    }),
  ],
  [
    'external-secrets',
    (c) => ({
      purpose: 'the Secret switchboard-secrets from your store (base/secrets/external-secret)',
      commands: [
        helm(
          'external-secrets',
          ['external-secrets', '--repo', 'https://charts.external-secrets.io'],
          chartOf(c),
          'external-secrets',
        ),
      ],
    }),
  ],
  [
    'kube-prometheus-stack',
    (c) => ({
      purpose: 'Prometheus for the SLO gate, the rules and the dashboards (release "prometheus")',
      commands: [
        helm(
          'prometheus',
          ['oci://ghcr.io/prometheus-community/charts/kube-prometheus-stack'],
          c.version,
          'monitoring',
        ),
      ],
    }),
  ],
  [
    'k6-operator',
    (c) => ({
      purpose: "the TestRun of the load test's operator mode (base/loadtest)",
      commands: [apply(`https://raw.githubusercontent.com/${c.repository}/${c.tag}/bundle.yaml`)],
    }),
  ],
  [
    'keda',
    (c) => ({
      purpose: 'the ScaledObject of the opt-in base/autoscaling/keda component (connections per pod)',
      commands: [helm('keda', ['keda', '--repo', 'https://kedacore.github.io/charts'], chartOf(c), 'keda')],
    }),
  ],
  [
    'cloudnative-pg',
    (c) => ({
      purpose: 'the Cluster and ScheduledBackup of the opt-in base/postgres/cloudnative-pg component',
      commands: [
        helm(
          'cnpg',
          ['cloudnative-pg', '--repo', 'https://cloudnative-pg.github.io/charts'],
          chartOf(c),
          'cnpg-system',
        ),
      ],
    }),
  ],
  [
    'ingress-nginx',
    (c) => ({
      purpose: "the previews' own controller: IngressClass nginx-preview (overlays/preview)",
      commands: [
        helm(
          'ingress-nginx-preview',
          ['ingress-nginx', '--repo', 'https://kubernetes.github.io/ingress-nginx'],
          chartOf(c),
          'ingress-nginx-preview',
          [
            'controller.ingressClass=nginx-preview',
            'controller.ingressClassResource.name=nginx-preview',
            'controller.ingressClassResource.controllerValue=k8s.io/ingress-nginx-preview',
          ],
        ),
      ],
    }),
  ],
]);

/** The names the install knows, in install order. */
export const bootstrapOrder = [...recipes.keys()];

/**
 * The install of every pinned component except `skip`, in install order. A component of
 * versions.yaml without a recipe (or a recipe without a component) is an error, so a new pin
 * cannot be silently left out of a fresh cluster.
 */
export function bootstrapPlan(platform: Platform, skip: string[] = []): BootstrapStep[] {
  const pinned = new Map(platform.components.map((c) => [c.name, c]));
  const unknown = skip.filter((s) => !pinned.has(s));
  if (unknown.length > 0) {
    throw new Error(
      `--skip: ${unknown.join(', ')} is not a component of ${versionsFile} (${bootstrapOrder.join(', ')})`,
    );
  }
  const missing = [...pinned.keys()].filter((n) => !recipes.has(n));
  if (missing.length > 0) {
    throw new Error(
      `${versionsFile}: no install for ${missing.join(', ')} (add it to pipeline/src/platform/bootstrap.ts)`,
    );
  }
  const steps: BootstrapStep[] = [];
  for (const [name, recipe] of recipes) {
    const c = pinned.get(name);
    if (!c)
      throw new Error(
        `${versionsFile}: cluster.${name} is missing (pipeline/src/platform/bootstrap.ts installs it)`,
      );
    if (skip.includes(name)) continue;
    steps.push({ component: name, version: c.version, ...recipe(c) });
  }
  return steps;
}

/** One argument as a POSIX shell word: bare when safe, single-quoted otherwise. */
export function shellWord(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** A command as a line a person can paste (a here-document for its standard input). */
export function commandText(command: BootstrapCommand): string {
  const line = command.argv.map(shellWord).join(' ');
  return command.stdin === undefined ? line : `${line} <<'EOF'\n${command.stdin.replace(/\n$/, '')}\nEOF`;
}

/** The plan as a shell script: a comment naming each component and version, then its commands. */
export function planText(steps: BootstrapStep[]): string {
  const out = ['set -eu'];
  for (const s of steps) {
    out.push('', `# ${s.component} ${s.version}: ${s.purpose}`, ...s.commands.map(commandText));
  }
  return `${out.join('\n')}\n`;
}
