// What operators create from the custom resources of a render, as far as the policies need it:
// the labels of their pods (for NetworkPolicy coverage and peers) and the Secrets they write (for
// references). Each entry names where upstream says so, at the tag platform/versions.yaml pins.
import { get } from './workloads.js';
import type { K8sObject } from './types.js';

/** A pod an operator runs for an object of the render. */
export interface OperatorPod {
  owner: K8sObject;
  labels: Record<string, string>;
}

const cnpgCluster = (o: K8sObject) => o.kind === 'Cluster' && o.apiVersion.startsWith('postgresql.cnpg.io/');

/**
 * CloudNativePG v1.30.0 labels every instance pod of Cluster <name> with `cnpg.io/cluster: <name>`
 * (pkg/utils/labels_annotations.go, ClusterLabelName).
 */
export function operatorPods(objects: K8sObject[]): OperatorPod[] {
  return objects
    .filter(cnpgCluster)
    .map((owner) => ({ owner, labels: { 'cnpg.io/cluster': owner.metadata.name } }));
}

/**
 * CloudNativePG v1.30.0 writes the application user's Secret `<name>-app` (api/v1/cluster_funcs.go,
 * GetApplicationSecretName) with these keys (pkg/specs/secrets.go), unless the bootstrap names a
 * Secret of the user's own, which then is the user's to create.
 */
export function operatorSecrets(objects: K8sObject[]): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const o of objects.filter(cnpgCluster)) {
    const bootstrap = get(o, 'spec', 'bootstrap') as
      Record<string, { secret?: { name?: string } }> | undefined;
    const own = ['recovery', 'pg_basebackup', 'initdb'].some((b) => bootstrap?.[b]?.secret?.name);
    if (own) continue;
    out.set(
      `${o.metadata.name}-app`,
      new Set([
        'username',
        'user',
        'password',
        'dbname',
        'host',
        'port',
        'pgpass',
        'uri',
        'jdbc-uri',
        'fqdn-uri',
        'fqdn-jdbc-uri',
      ]),
    );
  }
  return out;
}
