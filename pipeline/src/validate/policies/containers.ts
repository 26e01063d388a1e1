// Per-container policies: resources, probes, securityContext and image pinning.
import { containersOf, podTemplates, type ContainerSpec, type PodTemplate } from '../workloads.js';
import { problem, type Policy, type Problem, type TargetContext } from '../types.js';

function eachContainer(
  ctx: TargetContext,
  fn: (pod: PodTemplate, container: ContainerSpec, path: string) => void,
): void {
  for (const pod of podTemplates(ctx.objects)) {
    for (const { container, path } of containersOf(pod)) fn(pod, container, path);
  }
}

/** requests.cpu, requests.memory and limits.memory on every container. */
export const resourcesPolicy: Policy = {
  name: 'resources',
  description:
    'Every container requests CPU and memory (the scheduler and the HPA need them) and limits memory. ' +
    'CPU limits are optional: they throttle latency-sensitive sockets.',
  check(ctx) {
    const out: Problem[] = [];
    eachContainer(ctx, (pod, c, path) => {
      const res = c.resources ?? {};
      for (const [section, key] of [
        ['requests', 'cpu'],
        ['requests', 'memory'],
        ['limits', 'memory'],
      ] as const) {
        if (res[section]?.[key] === undefined) {
          out.push(
            problem(
              ctx,
              'resources',
              pod.owner,
              `${path}.resources.${section}.${key}`,
              `missing: set ${section}.${key}`,
            ),
          );
        }
      }
    });
    return out;
  },
};

/** Readiness and liveness probes on the containers of long-running workloads. */
export const probesPolicy: Policy = {
  name: 'probes',
  description:
    'Every container of a Deployment, StatefulSet or DaemonSet has a readinessProbe (traffic) and a livenessProbe (restarts).',
  check(ctx) {
    const out: Problem[] = [];
    for (const pod of podTemplates(ctx.objects)) {
      if (!pod.longRunning) continue;
      for (const c of pod.spec.containers ?? []) {
        const path = `${pod.specPath}.containers[${c.name ?? '?'}]`;
        for (const probe of ['readinessProbe', 'livenessProbe'] as const) {
          if (!c[probe])
            out.push(problem(ctx, 'probes', pod.owner, `${path}.${probe}`, `missing: add a ${probe}`));
        }
      }
    }
    return out;
  },
};

/** Non-root, no privilege escalation, read-only root, no capabilities, seccomp RuntimeDefault. */
export const securityContextPolicy: Policy = {
  name: 'security-context',
  description:
    'Every container runs as non-root, cannot escalate privileges, has a read-only root filesystem, ' +
    'drops ALL capabilities and uses the RuntimeDefault (or a Localhost) seccomp profile.',
  check(ctx) {
    const out: Problem[] = [];
    eachContainer(ctx, (pod, c, path) => {
      const podSc = pod.spec.securityContext ?? {};
      const sc = c.securityContext ?? {};
      const at = (field: string) => `${path}.securityContext.${field}`;
      const report = (field: string, message: string) =>
        out.push(problem(ctx, 'security-context', pod.owner, at(field), message));
      const runAsNonRoot = sc.runAsNonRoot ?? podSc.runAsNonRoot;
      const runAsUser = sc.runAsUser ?? podSc.runAsUser;
      if (runAsNonRoot !== true) report('runAsNonRoot', 'must be true (here or in the pod securityContext)');
      if (runAsUser === 0) report('runAsUser', 'must not be 0 (root)');
      if (sc.privileged === true) report('privileged', 'must not be true');
      if (sc.allowPrivilegeEscalation !== false) report('allowPrivilegeEscalation', 'must be false');
      if (sc.readOnlyRootFilesystem !== true) {
        report('readOnlyRootFilesystem', 'must be true (mount an emptyDir where the process writes)');
      }
      if (!(sc.capabilities?.drop ?? []).includes('ALL')) report('capabilities.drop', 'must include ALL');
      if ((sc.capabilities?.add ?? []).length > 0) report('capabilities.add', 'must be empty');
      const seccomp = sc.seccompProfile?.type ?? podSc.seccompProfile?.type;
      if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost') {
        report(
          'seccompProfile.type',
          'must be RuntimeDefault or Localhost (here or in the pod securityContext)',
        );
      }
    });
    return out;
  },
};

const digestPattern = /@sha256:[0-9a-f]{64}$/;

/**
 * A workload's list of images it runs by tag only because no digest of them could be verified from an
 * upstream artifact yet (whitespace- or comma-separated, exactly as the containers name them). Each
 * stays visible in review, and an entry no container runs is itself a problem.
 */
export const digestUnverifiedAnnotation = 'switchboard.dev/digest-unverified';

function digestUnverified(owner: { metadata: { annotations?: Record<string, string> } }): string[] {
  return (owner.metadata.annotations?.[digestUnverifiedAnnotation] ?? '').split(/[\s,]+/).filter(Boolean);
}

/** Images have an explicit version; staging and production pin every image by digest. */
export const imagesPolicy: Policy = {
  name: 'images',
  description:
    'Every image names a version (no implicit or :latest tag); in staging and production every image is ' +
    'pinned by sha256 digest, so what runs is exactly what was tested -- except the images a workload names ' +
    `in its ${digestUnverifiedAnnotation} annotation, each with a versioned tag and a comment saying why.`,
  check(ctx) {
    const out: Problem[] = [];
    for (const pod of podTemplates(ctx.objects)) {
      const images = new Set(containersOf(pod).map(({ container }) => container.image));
      for (const listed of digestUnverified(pod.owner)) {
        if (!images.has(listed)) {
          out.push(
            problem(
              ctx,
              'images',
              pod.owner,
              `metadata.annotations[${digestUnverifiedAnnotation}]`,
              `"${listed}" is no container's image: remove it from the list`,
            ),
          );
        }
      }
    }
    eachContainer(ctx, (pod, c, path) => {
      const image = c.image;
      if (image === undefined) {
        // k6-operator picks its default images for the initializer and starter.
        if (pod.owner.kind !== 'TestRun') {
          out.push(problem(ctx, 'images', pod.owner, `${path}.image`, 'missing'));
        }
        return;
      }
      const pinned = digestPattern.test(image);
      const name = image.replace(/@.*$/, '');
      const tag = /:[^/]+$/.exec(name)?.[0].slice(1);
      if (!pinned && (tag === undefined || tag === 'latest')) {
        out.push(
          problem(
            ctx,
            'images',
            pod.owner,
            `${path}.image`,
            `"${image}" has no version: use a fixed tag or a digest`,
          ),
        );
      }
      if (ctx.requireDigests && !pinned && !digestUnverified(pod.owner).includes(image)) {
        out.push(
          problem(
            ctx,
            'images',
            pod.owner,
            `${path}.image`,
            `"${image}" is not pinned by digest: set the overlay's images: entry to digest: sha256:<64 hex>`,
          ),
        );
      }
    });
    return out;
  },
};
