// Finds the versions of pinned platform components that a text names ("Argo CD v3.5.1",
// "grafana/k6:2.2.0", "k6-version: '2.2.0'"), so a test can hold docs, manifests and workflows to
// platform/versions.yaml.
import type { Platform } from './versions.js';

const num = String.raw`v?(\d+\.\d+(?:\.\d+)?)`;

/** Component name -> patterns whose group 1 is a version of it. */
const patterns = new Map<string, RegExp[]>([
  [
    'argo-cd',
    [new RegExp(String.raw`\bArgo CD ${num}`, 'g'), new RegExp(String.raw`argoproj/argo-cd[@: ]${num}`, 'g')],
  ],
  [
    'gateway-api',
    [new RegExp(String.raw`\bGateway API ${num}`, 'g'), new RegExp(String.raw`gateway-api[@/ ]${num}`, 'g')],
  ],
  [
    'envoy-gateway',
    [
      new RegExp(String.raw`\bEnvoy Gateway ${num}`, 'g'),
      new RegExp(String.raw`envoyproxy/gateway[-\w]*[@: ]${num}`, 'g'),
    ],
  ],
  ['ingress-nginx', [new RegExp(String.raw`\bingress-nginx (?:controller[- ])?${num}`, 'g')]],
  ['kube-prometheus-stack', [new RegExp(String.raw`\bkube-prometheus-stack[- @:]${num}`, 'g')]],
  [
    'external-secrets',
    [
      new RegExp(String.raw`\bExternal Secrets(?: Operator)? ${num}`, 'g'),
      new RegExp(String.raw`\bESO ${num}`, 'g'),
      new RegExp(String.raw`\bexternal-secrets[@ ]${num}`, 'g'),
    ],
  ],
  ['cert-manager', [new RegExp(String.raw`\bcert-manager[@ ]${num}`, 'g')]],
  ['k6-operator', [new RegExp(String.raw`\bk6-operator[@ ]${num}`, 'g')]],
  [
    'keda',
    [new RegExp(String.raw`\bKEDA ${num}`, 'g'), new RegExp(String.raw`kedacore/keda[@: ]${num}`, 'g')],
  ],
  [
    'cloudnative-pg',
    [
      new RegExp(String.raw`\bCloudNativePG ${num}`, 'g'),
      new RegExp(String.raw`cloudnative-pg/cloudnative-pg[@: ]${num}`, 'g'),
    ],
  ],
  [
    'k6',
    [
      new RegExp(String.raw`\bk6 ${num}`, 'g'),
      new RegExp(String.raw`grafana/k6:${num}`, 'g'),
      new RegExp(String.raw`k6-version: ['"]?${num}`, 'g'),
    ],
  ],
]);

/** One version a text names. */
export interface VersionMention {
  component: string;
  version: string;
  /** The matched text, for messages. */
  text: string;
  line: number;
}

/** Every version of a known component that `text` names. */
export function versionMentions(text: string): VersionMention[] {
  const out: VersionMention[] = [];
  for (const [component, res] of patterns) {
    for (const re of res) {
      for (const m of text.matchAll(re)) {
        const line = text.slice(0, m.index).split('\n').length;
        out.push({ component, version: m[1] ?? '', text: m[0], line });
      }
    }
  }
  return out;
}

const bare = (v: string) => v.replace(/^controller-/, '').replace(/^v/, '');

/** The pinned version of a component, without a `v` (k6 is `k6`, the rest under `cluster`). */
export function pinnedVersion(platform: Platform, component: string): string | undefined {
  if (component === 'k6') return bare(platform.k6.version);
  const c = platform.components.find((x) => x.name === component);
  return c ? bare(c.version) : undefined;
}

/** Mentions in `text` that name another version than the pinned one, as `line: text (pinned X)`. */
export function staleMentions(platform: Platform, text: string): string[] {
  return versionMentions(text)
    .filter((m) => {
      const pinned = pinnedVersion(platform, m.component);
      // "Argo CD 3.5" names the pinned 3.5.1's line; only a different number is stale.
      return pinned !== undefined && !`${pinned}.`.startsWith(`${bare(m.version)}.`);
    })
    .map((m) => `${m.line}: ${m.text} (pinned ${pinnedVersion(platform, m.component)})`);
}
