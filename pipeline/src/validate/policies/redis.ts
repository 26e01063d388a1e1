// Redis authentication: without it, any pod that reaches Redis (only NetworkPolicies in the way) reads
// and writes every topic. Servers need requirepass (and masterauth where replicas sync), redis-cli in
// probes and Jobs needs REDISCLI_AUTH, the Switchboard server needs REDIS_PASSWORD -- all from a Secret.
import { containersOf, get, podTemplates, type ContainerSpec, type PodTemplate } from '../workloads.js';
import { problem, type K8sObject, type Policy, type Problem, type TargetContext } from '../types.js';

/** The official image or a mirror of it: `redis:7.2-alpine`, `mirror.example/library/redis@sha256:...`. */
const REDIS_IMAGE = /(^|\/)redis(:|@|$)/;
const REDIS_BROKERS = new Set(['redis', 'redis-cluster']);

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

/** Names of env variables set from a Secret key (never a literal in git). */
function fromSecret(c: ContainerSpec): Set<string> {
  return new Set((c.env ?? []).filter((e) => e.valueFrom?.secretKeyRef && e.name).map((e) => e.name!));
}

/** A variable whose value is a Secret key, directly or as `$(VAR)` of one that is. */
function secretBacked(c: ContainerSpec, name: string): boolean {
  const secret = fromSecret(c);
  if (secret.has(name)) return true;
  const value = (c.env ?? []).find((e) => e.name === name)?.value ?? '';
  const ref = /^\$\(([A-Za-z_][A-Za-z0-9_]*)\)$/.exec(value);
  return ref !== null && secret.has(ref[1]!);
}

/** The value after `flag` in argv, or undefined. */
function flagValue(argv: string[], flag: string): string | undefined {
  const i = argv.indexOf(flag);
  return i >= 0 ? argv[i + 1] : undefined;
}

/** Text of the ConfigMaps the pod mounts as volumes (redis.conf lives there). */
function mountedConfig(pod: PodTemplate, objects: K8sObject[]): string {
  const names = new Set((pod.spec.volumes ?? []).map((v) => v.configMap?.name).filter(Boolean));
  return objects
    .filter((o) => o.kind === 'ConfigMap' && names.has(o.metadata.name))
    .map((o) => Object.values((get(o, 'data') as Record<string, unknown>) ?? {}).join('\n'))
    .join('\n');
}

/** BROKER as the container sees it (env, or a ConfigMap it loads with envFrom). */
function brokerOf(c: ContainerSpec, objects: K8sObject[]): string | undefined {
  const direct = (c.env ?? []).find((e) => e.name === 'BROKER');
  if (direct?.value !== undefined) return direct.value;
  for (const from of c.envFrom ?? []) {
    const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === from.configMapRef?.name);
    const value = get(cm, 'data', 'BROKER');
    if (typeof value === 'string') return value;
  }
  return undefined;
}

function checkRedisContainer(
  ctx: TargetContext,
  pod: PodTemplate,
  c: ContainerSpec,
  path: string,
  out: Problem[],
): void {
  const report = (field: string, message: string) =>
    out.push(problem(ctx, 'redis-auth', pod.owner, `${path}.${field}`, message));
  const argv = [...strings(get(c, 'command')), ...strings(get(c, 'args'))];
  if (argv[0]?.split('/').at(-1) === 'redis-server') {
    const config = mountedConfig(pod, ctx.objects);
    const password = flagValue(argv, '--requirepass');
    if (argv.includes('--aclfile') || /^\s*(requirepass|aclfile)\s/m.test(config)) {
      // Auth configured in a file: what the file holds is the operator's to keep out of git.
    } else if (password === undefined) {
      report(
        'command',
        'redis-server without authentication: add --requirepass $(REDIS_PASSWORD) with REDIS_PASSWORD from the Secret',
      );
    } else {
      const ref = /^\$\(([A-Za-z_][A-Za-z0-9_]*)\)$/.exec(password);
      if (!ref || !secretBacked(c, ref[1]!)) {
        report(
          'command',
          '--requirepass must be $(VAR) with VAR set from a Secret key (secretKeyRef), never a literal',
        );
      }
    }
    const replicated =
      /^\s*cluster-enabled\s+yes\b/m.test(config) ||
      flagValue(argv, '--cluster-enabled') === 'yes' ||
      argv.includes('--replicaof');
    if (replicated && flagValue(argv, '--masterauth') === undefined && !/^\s*masterauth\s/m.test(config)) {
      report(
        'command',
        'replicas cannot sync from a password-protected master without masterauth: add --masterauth $(REDIS_PASSWORD)',
      );
    }
  }
  if (!secretBacked(c, 'REDISCLI_AUTH')) {
    report(
      'env',
      'redis-cli here (probes, scripts) has no credentials: set REDISCLI_AUTH from the Secret (secretKeyRef or $(REDIS_PASSWORD))',
    );
  }
}

/** Redis servers require a password from a Secret, and every client of them sends one. */
export const redisAuthPolicy: Policy = {
  name: 'redis-auth',
  description:
    'Every redis-server requires a password (requirepass from a Secret; masterauth where replicas sync), ' +
    'redis-cli in probes and Jobs authenticates (REDISCLI_AUTH), and a Switchboard server on a Redis broker ' +
    'gets REDIS_PASSWORD from a Secret.',
  check(ctx) {
    const out: Problem[] = [];
    for (const pod of podTemplates(ctx.objects)) {
      for (const { container: c, path } of containersOf(pod)) {
        if (REDIS_IMAGE.test(c.image ?? '')) {
          checkRedisContainer(ctx, pod, c, path, out);
        } else if (REDIS_BROKERS.has(brokerOf(c, ctx.objects) ?? '') && !secretBacked(c, 'REDIS_PASSWORD')) {
          out.push(
            problem(
              ctx,
              'redis-auth',
              pod.owner,
              `${path}.env`,
              'BROKER is Redis but REDIS_PASSWORD is not set from the Secret: Redis refuses clients without it',
            ),
          );
        }
      }
    }
    return out;
  },
};
