/** A rendered Kubernetes object as kustomize prints it (no defaults filled in). */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [field: string]: unknown;
}

/** One thing wrong with one field of one object in one render target. */
export interface Problem {
  /** The render target, e.g. `overlays/production`. */
  target: string;
  /** `Kind/name` of the offending object. */
  object: string;
  /** Dotted path to the field, e.g. `spec.template.spec.containers[server].resources`. */
  field: string;
  /** What is wrong and how to fix it. */
  message: string;
  /** The check that found it (`schema`, `unknown-field`, or a policy name). */
  check: string;
}

/** Everything a policy looks at: one render target's objects and what that target demands. */
export interface TargetContext {
  target: string;
  objects: K8sObject[];
  /** Staging and production: every image must be pinned by digest. */
  requireDigests: boolean;
  /** False when kubectl, not Argo CD, applies the render (overlays/local): no hook phases. */
  argoCd?: boolean;
}

/** A review rule applied to a whole render target (it may need to look across objects). */
export interface Policy {
  name: string;
  /** One sentence: what a reviewer would ask for. */
  description: string;
  check(ctx: TargetContext): Problem[];
}

/** `Kind/name`, the way problems name objects. */
export function objectId(obj: Pick<K8sObject, 'kind' | 'metadata'>): string {
  return `${obj.kind}/${obj.metadata?.name ?? '(unnamed)'}`;
}

/** Builds a Problem for `obj` in `ctx`. */
export function problem(
  ctx: Pick<TargetContext, 'target'>,
  check: string,
  obj: Pick<K8sObject, 'kind' | 'metadata'>,
  field: string,
  message: string,
): Problem {
  return { target: ctx.target, object: objectId(obj), field, message, check };
}

/** One line per problem: `target: Kind/name field: message [check]`. */
export function formatProblem(p: Problem): string {
  return `${p.target}: ${p.object} ${p.field}: ${p.message} [${p.check}]`;
}
