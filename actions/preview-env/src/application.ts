import type { Application } from '../../shared/src/argocd/index.js';
import type { PullRequestEvent } from '../../shared/src/github/index.js';
import { applicationName, renderTemplate, type PreviewConfig } from './config.js';

/** Everything that names one preview environment. */
export interface PreviewNames {
  application: string;
  /** Kubernetes namespace and GitHub environment: `pr-<number>`. */
  namespace: string;
  environment: string;
  image: string;
  url: string;
  targetRevision: string;
}

/** Derives the names for a pull request from the configured templates. */
export function previewNames(config: PreviewConfig, pr: PullRequestEvent): PreviewNames {
  const values = { number: pr.number, sha: pr.headSha };
  const namespace = `pr-${pr.number}`;
  return {
    application: applicationName(config, values),
    namespace,
    environment: namespace,
    image: `${config.image}:${renderTemplate('image-tag-template', config.imageTagTemplate, values)}`,
    url: renderTemplate('url-template', config.urlTemplate, values),
    targetRevision: config.targetRevision
      ? renderTemplate('target-revision', config.targetRevision, values)
      : pr.headSha,
  };
}

/**
 * The preview Application: the preview overlay at the PR's commit, deployed by Argo CD's automated sync
 * into its own namespace (created on sync), with the image pinned to the PR's tag. The resources
 * finalizer makes deleting the Application delete what it deployed.
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
          images: [names.image],
          namespace: names.namespace,
          // A re-pushed tag (pr-N) does not change the manifests; this annotation does, so pods roll.
          commonAnnotations: { 'switchboard.dev/revision': pr.headSha },
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
