import { readArgoCdAuthInputs, type ArgoCdAuth, type InputReader } from '../../shared/src/argocd/index.js';

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
  imageTagTemplate: string;
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
    project: input('project').trim() || 'default',
    repoUrl: required('repo-url', 'the Git URL Argo CD reads, e.g. https://github.com/acme/switchboard.git'),
    path: input('path').trim() || 'overlays/preview',
    targetRevision: input('target-revision').trim(),
    destinationServer: input('destination-server').trim() || 'https://kubernetes.default.svc',
    image: required('image', 'the image name the overlay uses, e.g. ghcr.io/acme/switchboard'),
    imageTagTemplate: input('image-tag-template').trim() || 'pr-{number}',
    urlTemplate: required('url-template', 'the preview URL, e.g. https://pr-{number}.preview.example.com'),
    applicationTemplate: input('application-template').trim() || 'switchboard-pr-{number}',
    githubToken: required(
      'github-token',
      'pass ${{ github.token }} (needs deployments: write, pull-requests: write)',
    ),
    githubApiUrl: input('github-api-url').trim() || 'https://api.github.com',
  };
  // Fail now on a bad template rather than after the Application was created.
  const sample = { number: 1, sha: '0'.repeat(40) };
  if (!/^https?:\/\//.test(renderTemplate('url-template', config.urlTemplate, sample))) {
    throw new Error(`url-template "${config.urlTemplate}" must start with https:// or http://`);
  }
  applicationName(config, sample);
  renderTemplate('image-tag-template', config.imageTagTemplate, sample);
  if (config.targetRevision) renderTemplate('target-revision', config.targetRevision, sample);
  if (/[:@]/.test(config.image.split('/').at(-1) ?? '')) {
    throw new Error(
      `image "${config.image}" must be a name without tag or digest; the tag comes from image-tag-template`,
    );
  }
  return config;
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
