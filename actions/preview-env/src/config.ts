import {
  readArgoCdAuthInputs,
  type ArgoCdAuth,
  type InputReader,
} from '../../../pipeline/src/argocd/index.js';

/**
 * The AppProject of argocd/project.yaml: one source repository, the pr-* namespaces, the kinds the
 * overlays render. Previews run pull-request code, so they never go to Argo CD's open `default` project.
 */
export const RESTRICTED_PROJECT = 'switchboard';

/** Validated inputs of the preview-env action (see action.yml). */
export interface PreviewConfig {
  server: string;
  auth: ArgoCdAuth;
  appNamespace?: string;
  project: string;
  repoUrl: string;
  path: string;
  /** Template; empty means the pull request's head SHA. */
  targetRevision: string;
  destinationServer: string;
  image: string;
  /** The image name the overlay's Deployment uses; Argo CD replaces it with `image`. */
  manifestImage: string;
  imageTagTemplate: string;
  /** How long to wait for the preview to be Synced and Healthy before commenting. */
  waitTimeoutMs: number;
  pollIntervalMs: number;
  urlTemplate: string;
  applicationTemplate: string;
  githubToken: string;
  githubApiUrl: string;
}

/** The values templates may use: `{number}`, `{sha}`, `{short_sha}`. */
export interface TemplateValues {
  number: number;
  sha: string;
}

/** Reads and validates the inputs; throws naming the input and the fix. */
export function readPreviewConfig(input: InputReader): PreviewConfig {
  const required = (name: string, hint: string) => {
    const value = input(name).trim();
    if (!value) throw new Error(`${name} is required: ${hint}`);
    return value;
  };
  const config: PreviewConfig = {
    server: required('server', 'the argocd-server URL, e.g. https://argocd.example.com'),
    auth: readArgoCdAuthInputs(input),
    appNamespace: input('app-namespace').trim() || undefined,
    project: input('project').trim() || RESTRICTED_PROJECT,
    repoUrl: required('repo-url', 'the Git URL Argo CD reads, e.g. https://github.com/acme/switchboard.git'),
    path: input('path').trim() || 'overlays/preview',
    targetRevision: input('target-revision').trim(),
    destinationServer: input('destination-server').trim() || 'https://kubernetes.default.svc',
    image: required('image', 'the repository the preview image was pushed to, e.g. ghcr.io/acme/switchboard'),
    manifestImage: required(
      'manifest-image',
      "the image name your overlay's Deployment uses, e.g. ghcr.io/acme/switchboard",
    ),
    imageTagTemplate: input('image-tag-template').trim() || '{sha}',
    waitTimeoutMs: positiveSeconds(input, 'wait-timeout-seconds', 600) * 1000,
    pollIntervalMs: positiveSeconds(input, 'poll-interval-seconds', 10) * 1000,
    urlTemplate: required('url-template', 'the preview URL, e.g. https://pr-{number}.preview.example.com'),
    applicationTemplate: input('application-template').trim() || 'switchboard-pr-{number}',
    githubToken: required(
      'github-token',
      'pass ${{ github.token }} (needs deployments: write, pull-requests: write)',
    ),
    githubApiUrl: input('github-api-url').trim() || 'https://api.github.com',
  };
  if (config.project === 'default') {
    throw new Error(
      `project: Argo CD's "default" project allows every source repository, destination and kind; use the ` +
        `restricted AppProject (argocd/project.yaml, "${RESTRICTED_PROJECT}") or one like it`,
    );
  }
  // Fail now on a bad template rather than after the Application was created.
  const sample = { number: 1, sha: '0'.repeat(40) };
  if (!/^https?:\/\//.test(renderTemplate('url-template', config.urlTemplate, sample))) {
    throw new Error(`url-template "${config.urlTemplate}" must start with https:// or http://`);
  }
  applicationName(config, sample);
  renderTemplate('image-tag-template', config.imageTagTemplate, sample);
  if (config.targetRevision) renderTemplate('target-revision', config.targetRevision, sample);
  for (const [name, value] of [
    ['image', config.image],
    ['manifest-image', config.manifestImage],
  ] as const) {
    if (!/^[a-z0-9][a-z0-9._/:-]*$/.test(value) || /[:@]/.test(value.split('/').at(-1) ?? '')) {
      throw new Error(
        `${name} "${value}" must be an image name without tag or digest; the tag comes from image-tag-template`,
      );
    }
  }
  // A tag that names no commit (pr-{number}) is re-pushed on every push: Argo CD sees no change and
  // pods keep the old image. Every commit's image has its own tag (build-image tags the head SHA).
  if (!/\{(sha|short_sha)\}/.test(config.imageTagTemplate)) {
    throw new Error(
      `image-tag-template "${config.imageTagTemplate}" must contain {sha} or {short_sha}: the immutable per-commit tag`,
    );
  }
  return config;
}

function positiveSeconds(input: InputReader, name: string, fallback: number): number {
  const raw = input(name).trim();
  if (!raw) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0)
    throw new Error(`${name}: "${raw}" is not a positive number of seconds`);
  return value;
}

/** Fills `{number}`, `{sha}` and `{short_sha}`; any other `{...}` is an error naming the input. */
export function renderTemplate(input: string, template: string, values: TemplateValues): string {
  return template.replace(/\{([^}]*)\}/g, (_, key: string) => {
    if (key === 'number') return String(values.number);
    if (key === 'sha') return values.sha;
    if (key === 'short_sha') return values.sha.slice(0, 7);
    throw new Error(
      `${input}: unknown placeholder {${key}} in "${template}" (use {number}, {sha} or {short_sha})`,
    );
  });
}

/** The Application name for a pull request; must be a DNS label, as Argo CD and Kubernetes require. */
export function applicationName(config: PreviewConfig, values: TemplateValues): string {
  const name = renderTemplate('application-template', config.applicationTemplate, values);
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name) || name.length > 63) {
    throw new Error(
      `application-template renders "${name}", which is not a valid name (lower-case letters, digits and '-', at most 63)`,
    );
  }
  return name;
}
