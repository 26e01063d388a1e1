import type { Application } from '../../../pipeline/src/argocd/index.js';
import type { PullRequestEvent } from '../../../pipeline/src/github/index.js';
import { applicationName, renderTemplate, type PreviewConfig } from './config.js';

/** Everything that names one preview environment. */
export interface PreviewNames {
  application: string;
  /** Kubernetes namespace and GitHub environment: `pr-<number>`. */
  namespace: string;
  environment: string;
  /** The image the preview runs, `<image>:<tag>`. */
  image: string;
  url: string;
  /** The URL's host: the preview's Ingress host. */
  host: string;
  targetRevision: string;
}

/** Derives the names for a pull request from the configured templates. */
export function previewNames(config: PreviewConfig, pr: PullRequestEvent): PreviewNames {
  const values = { number: pr.number, sha: pr.headSha };
  const namespace = `pr-${pr.number}`;
  const url = renderTemplate('url-template', config.urlTemplate, values);
  const parsed = new URL(url);
  return {
    application: applicationName(config, values),
    namespace,
    environment: namespace,
    image: `${config.image}:${renderTemplate('image-tag-template', config.imageTagTemplate, values)}`,
    url,
    host: parsed.hostname,
    targetRevision: config.targetRevision
      ? renderTemplate('target-revision', config.targetRevision, values)
      : pr.headSha,
  };
}

/** The local-config ConfigMap of overlays/preview whose `host` the overlay copies into Ingress and origin. */
export const PREVIEW_HOST_CONFIGMAP = 'switchboard-preview-host';

/**
 * A strategic-merge patch that names its own target (so it needs no `target`, whose wire form Argo
 * CD's Swagger and its CRD describe differently): the preview's host in the overlay's host ConfigMap.
 */
export function hostPatch(host: string): string {
  return [
    'apiVersion: v1',
    'kind: ConfigMap',
    'metadata:',
    `  name: ${PREVIEW_HOST_CONFIGMAP}`,
    'data:',
    `  host: ${JSON.stringify(host)}`,
    '',
  ].join('\n');
}

/**
 * The preview Application: the preview overlay at the PR's commit, deployed by Argo CD's automated sync
 * into its own namespace (created on sync). The overlay's image (`manifest-image`) is replaced by the
 * PR's per-commit image (Argo CD's `old=new:tag` override), and the host (hence Ingress host and
 * allowed origin) is the PR's own. The resources finalizer makes deleting the Application delete what it deployed.
 */
export function buildPreviewApplication(
  config: PreviewConfig,
  pr: PullRequestEvent,
  names: PreviewNames,
): Application {
  return {
    metadata: {
      name: names.application,
      ...(config.appNamespace ? { namespace: config.appNamespace } : {}),
      labels: {
        'app.kubernetes.io/part-of': 'switchboard',
        'switchboard.dev/preview': 'true',
        'switchboard.dev/pull-request': String(pr.number),
      },
      annotations: {
        'switchboard.dev/head-sha': pr.headSha,
        ...(pr.htmlUrl ? { 'switchboard.dev/pull-request-url': pr.htmlUrl } : {}),
      },
      finalizers: ['resources-finalizer.argocd.argoproj.io'],
    },
    spec: {
      project: config.project,
      source: {
        repoURL: config.repoUrl,
        path: config.path,
        targetRevision: names.targetRevision,
        kustomize: {
          images: [`${config.manifestImage}=${names.image}`],
          namespace: names.namespace,
          // The overlay's replacements copy the host into the Ingress and ALLOWED_ORIGINS.
          patches: [{ patch: hostPatch(names.host) }],
        },
      },
      destination: { server: config.destinationServer, namespace: names.namespace },
      syncPolicy: {
        automated: { prune: true, selfHeal: true },
        syncOptions: ['CreateNamespace=true'],
      },
    },
  };
}
