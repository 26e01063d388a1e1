// `npm run validate`'s view of switchboard.config.yaml: every file configure writes agrees with it,
// the rendered manifests say what it says, and no rendered manifest or workflow still names one of
// the placeholders this repository ships (a team that forked it and configured only half).
import { join } from 'node:path';
import { planConfigure } from './apply.js';
import { AdopterConfigError, configFile, loadAdopterConfig, type AdopterConfig } from './config.js';
import { environmentNames } from './schema.js';
import type { K8sObject, Problem } from '../validate/types.js';
import { objectId } from '../validate/types.js';
import { readWorkflows } from '../validate/policies/application-sources.js';

/** The adopter-specific names Switchboard's own repository ships with. */
export const shippedNames = [
  'github.com/switchboard/switchboard',
  'ghcr.io/switchboard/server',
  'switchboard.example.com',
];

type Loose = Record<string, unknown>;

function at(obj: unknown, ...path: Array<string | number>): unknown {
  let v: unknown = obj;
  for (const k of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = Object.hasOwn(v, k) ? (v as Loose)[k] : undefined;
  }
  return v;
}

const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** `registry/name` of an image reference, without tag or digest. */
export function imageName(ref: string): string {
  const noDigest = ref.split('@')[0] ?? ref;
  const slash = noDigest.lastIndexOf('/');
  const colon = noDigest.lastIndexOf(':');
  return colon > slash ? noDigest.slice(0, colon) : noDigest;
}

class Findings {
  readonly problems: Problem[] = [];
  constructor(private readonly target: string) {}
  add(obj: K8sObject | string, field: string, message: string): void {
    const object = typeof obj === 'string' ? obj : objectId(obj);
    this.problems.push({ target: this.target, object, field, message, check: 'adopter-config' });
  }
  /** Reports unless `actual` equals `want`. */
  expect(obj: K8sObject, field: string, actual: unknown, want: string, setting: string): void {
    if (actual !== want)
      this.add(
        obj,
        field,
        `is ${JSON.stringify(actual)}, ${configFile} says ${want} (${setting}): run npm run configure`,
      );
  }
}

/** The containers that run the server image: the Deployment's `server`, the migration Job's `migrate`. */
const serverContainers = new Set(['server', 'migrate']);

function checkOverlay(config: AdopterConfig, env: string, objects: K8sObject[], f: Findings): void {
  for (const o of objects) {
    if (o.kind !== 'Deployment' && o.kind !== 'Job') continue;
    list(at(o, 'spec', 'template', 'spec', 'containers')).forEach((c, i) => {
      if (!serverContainers.has(String(at(c, 'name')))) return;
      const image = imageName(String(at(c, 'image') ?? ''));
      f.expect(o, `spec.template.spec.containers[${i}].image`, image, config.image, 'image');
    });
  }
  if (!(environmentNames as readonly string[]).includes(env)) return;
  const e = config.environments[env as (typeof environmentNames)[number]];
  const where = `environments.${env}`;
  for (const o of objects) {
    if (o.kind === 'Namespace')
      f.expect(o, 'metadata.name', o.metadata.name, e.namespace, `${where}.namespace`);
    else if (o.metadata.namespace !== undefined)
      f.expect(o, 'metadata.namespace', o.metadata.namespace, e.namespace, `${where}.namespace`);
    if (o.kind === 'HTTPRoute')
      list(at(o, 'spec', 'hostnames')).forEach((h, i) =>
        f.expect(o, `spec.hostnames[${i}]`, h, e.host, `${where}.host`),
      );
    if (o.kind === 'Ingress')
      list(at(o, 'spec', 'rules')).forEach((r, i) =>
        f.expect(o, `spec.rules[${i}].host`, at(r, 'host'), e.host, `${where}.host`),
      );
    if (o.kind === 'ConfigMap' && o.metadata.name.startsWith('switchboard-config')) {
      const origins = String(at(o, 'data', 'ALLOWED_ORIGINS') ?? '').split(',');
      if (!origins.includes(`https://${e.host}`))
        f.add(
          o,
          'data.ALLOWED_ORIGINS',
          `does not allow https://${e.host} (${where}.host): run npm run configure`,
        );
    }
    if (o.kind === 'ExternalSecret') {
      const store = config.secretStore;
      f.expect(
        o,
        'spec.secretStoreRef.kind',
        at(o, 'spec', 'secretStoreRef', 'kind'),
        store.kind,
        'secretStore.kind',
      );
      f.expect(
        o,
        'spec.secretStoreRef.name',
        at(o, 'spec', 'secretStoreRef', 'name'),
        store.name,
        'secretStore.name',
      );
      list(at(o, 'spec', 'dataFrom')).forEach((d, i) =>
        f.expect(
          o,
          `spec.dataFrom[${i}].extract.key`,
          at(d, 'extract', 'key'),
          e.secretKey,
          `${where}.secretKey`,
        ),
      );
    }
    if (o.kind === 'ServiceMonitor' || o.kind === 'PodMonitor' || o.kind === 'PrometheusRule')
      for (const [k, v] of config.prometheus.labels)
        f.expect(o, `metadata.labels[${JSON.stringify(k)}]`, o.metadata.labels?.[k], v, 'prometheus.labels');
  }
}

function checkArgoCd(config: AdopterConfig, objects: K8sObject[], f: Findings): void {
  for (const o of objects) {
    f.expect(o, 'metadata.namespace', o.metadata.namespace, config.argocd.namespace, 'argocd.namespace');
    if (o.kind === 'Application')
      f.expect(o, 'spec.source.repoURL', at(o, 'spec', 'source', 'repoURL'), config.repository, 'repository');
    if (o.kind === 'AppProject')
      list(at(o, 'spec', 'sourceRepos')).forEach((r, i) =>
        f.expect(o, `spec.sourceRepos[${i}]`, r, config.repository, 'repository'),
      );
  }
}

function checkRendered(config: AdopterConfig, target: string, objects: K8sObject[]): Problem[] {
  const f = new Findings(target);
  const overlay = /^overlays\/([\w-]+)$/.exec(target)?.[1];
  if (overlay) checkOverlay(config, overlay, objects, f);
  if (target === 'argocd') checkArgoCd(config, objects, f);
  for (const o of objects) {
    if (o.kind === 'Gateway') {
      const issuer = o.metadata.annotations?.['cert-manager.io/cluster-issuer'];
      f.expect(
        o,
        'metadata.annotations["cert-manager.io/cluster-issuer"]',
        issuer,
        config.certManager.clusterIssuer,
        'certManager.clusterIssuer',
      );
    }
    if (target === 'base/monitoring/dashboards')
      f.expect(
        o,
        'metadata.namespace',
        o.metadata.namespace,
        config.prometheus.namespace,
        'prometheus.namespace',
      );
  }
  return f.problems;
}

/** The shipped names `text` still holds although the configuration no longer says them. */
function leftovers(config: AdopterConfig, text: string): string[] {
  const said = JSON.stringify([config.repository, config.image, config.domain, config.environments]);
  return shippedNames.filter((n) => text.includes(n) && !said.includes(n));
}

function leftoverProblems(
  config: AdopterConfig,
  rendered: Map<string, K8sObject[]>,
  root: string,
): Problem[] {
  const out: Problem[] = [];
  const message = (names: string[]) =>
    `still names ${names.join(', ')}, which ${configFile} does not: run npm run configure, or replace it by hand where configure does not reach`;
  for (const [target, objects] of rendered)
    for (const o of objects) {
      const names = leftovers(config, JSON.stringify(o));
      if (names.length > 0)
        out.push({
          target,
          object: objectId(o),
          field: '-',
          message: message(names),
          check: 'adopter-config',
        });
    }
  for (const [file, text] of readWorkflows(root)) {
    const names = leftovers(config, text);
    const target = `.github/workflows/${file}`;
    if (names.length > 0)
      out.push({ target, object: file, field: '-', message: message(names), check: 'adopter-config' });
  }
  return out;
}

/**
 * Problems between switchboard.config.yaml and the checkout at `root`: files configure would change,
 * rendered objects (by render target) that disagree with it, and placeholders left behind.
 */
export function checkAdopterConfig(root: string, rendered: Map<string, K8sObject[]>): Problem[] {
  let config: AdopterConfig;
  try {
    config = loadAdopterConfig(join(root, configFile));
  } catch (err) {
    const problems = err instanceof AdopterConfigError ? err.problems : [(err as Error).message];
    return problems.map((message) => ({
      target: configFile,
      object: '(file)',
      field: '-',
      message,
      check: 'adopter-config',
    }));
  }
  const out: Problem[] = [];
  try {
    for (const c of planConfigure(root, config).changes)
      out.push({
        target: configFile,
        object: c.file,
        field: c.field,
        message: `is ${c.from}, ${configFile} says ${c.to}: run npm run configure`,
        check: 'adopter-config',
      });
  } catch (err) {
    out.push({
      target: configFile,
      object: '(configure)',
      field: '-',
      message: (err as Error).message,
      check: 'adopter-config',
    });
  }
  for (const [target, objects] of rendered) out.push(...checkRendered(config, target, objects));
  out.push(...leftoverProblems(config, rendered, root));
  return out;
}
