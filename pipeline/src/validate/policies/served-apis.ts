// Every custom resource's apiVersion must be one the pinned operator serves: platform/served-apis.json
// (extracted from each component's CRDs at its tag in platform/versions.yaml). The API server rejects
// a version the CRD does not serve, and Argo CD's sync of the whole Application fails with it.
import { readFileSync } from 'node:fs';
import type { ServedApisFile } from '../../platform/extract.js';
import { platformFile } from '../../platform/root.js';
import { problem, type Policy, type Problem, type TargetContext } from '../types.js';

const servedFile = platformFile('served-apis.json');

let cached: ServedApisFile | undefined;

/** platform/served-apis.json, read once. */
export function servedApis(): ServedApisFile {
  cached ??= JSON.parse(readFileSync(servedFile, 'utf8')) as ServedApisFile;
  return cached;
}

/** Groups the Kubernetes API server itself serves (kubernetes-models checks those). */
function isBuiltInGroup(group: string): boolean {
  return !group.includes('.') || (group.endsWith('.k8s.io') && group !== 'gateway.networking.k8s.io');
}

/** Problems of `ctx` against `served` (a parameter so tests can pin another platform). */
export function checkServedApis(ctx: TargetContext, served: ServedApisFile = servedApis()): Problem[] {
  const out: Problem[] = [];
  const kinds = new Map(Object.entries(served.kinds));
  for (const obj of ctx.objects) {
    const slash = obj.apiVersion.lastIndexOf('/');
    const group = slash < 0 ? '' : obj.apiVersion.slice(0, slash);
    const version = obj.apiVersion.slice(slash + 1);
    const entry = kinds.get(`${group}/${obj.kind}`);
    if (!entry) {
      if (isBuiltInGroup(group)) continue;
      out.push(
        problem(
          ctx,
          'served-apis',
          obj,
          'apiVersion',
          `no component in platform/versions.yaml serves ${group}/${obj.kind}: pin the operator that owns it (with its CRD) and run npm run platform:extract`,
        ),
      );
      continue;
    }
    if (entry.served.includes(version)) {
      if (entry.deprecated.includes(version)) {
        out.push(
          problem(
            ctx,
            'served-apis',
            obj,
            'apiVersion',
            `${obj.apiVersion} ${obj.kind} is deprecated in ${entry.component} ${entry.version}: move to ${group}/${entry.storage}`,
          ),
        );
      }
      continue;
    }
    const listed = entry.notServed.includes(version) ? 'no longer serves' : 'does not serve';
    out.push(
      problem(
        ctx,
        'served-apis',
        obj,
        'apiVersion',
        `${entry.component} ${entry.version} ${listed} ${obj.apiVersion} ${obj.kind} (serves ${entry.served.join(', ')}; ${entry.source.repository}@${entry.source.tag}:${entry.source.path}): use ${group}/${entry.storage}`,
      ),
    );
  }
  return out;
}

export const servedApisPolicy: Policy = {
  name: 'served-apis',
  description:
    'every custom resource uses an apiVersion its pinned operator serves (platform/served-apis.json)',
  check: (ctx) => checkServedApis(ctx),
};
