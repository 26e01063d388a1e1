// The names the rehearsal's stand-ins use for GitHub and the registry, from switchboard.config.yaml:
// a copy configured for another team rehearses under its own repository and image, not this one's.
import { join } from 'node:path';
import { configFile, loadAdopterConfig } from '../../../pipeline/src/configure/config.js';

/** What the stand-in GitHub and registry call things. */
export interface RehearsalNames {
  /** owner/name, as github.repository and GITHUB_REPOSITORY say it. */
  repository: string;
  /** The image name the manifests use (the file's `image`). */
  manifestImage: string;
  /** The image's path without its registry, for the local registry (e.g. chat/server). */
  imagePath: string;
  /** preview.yml's PREVIEW_URL_TEMPLATE on the preview host. */
  previewUrlTemplate: string;
}

/**
 * owner/name of a Git URL: https://host/owner/name.git, ssh://git@host/group/name.git or
 * git@host:owner/name.git -- the last two path segments.
 */
export function repositoryName(url: string): string {
  const path = url
    .replace(/^[a-z+]+:\/\/[^/]+\//i, '')
    .replace(/^[^@/]+@[^:]+:/, '')
    .replace(/\.git$/, '')
    .replace(/\/+$/, '');
  const parts = path.split('/').filter(Boolean);
  if (parts.length < 2) throw new Error(`repository: "${url}" names no owner/name`);
  return parts.slice(-2).join('/');
}

/** The rehearsal's names for the checkout at `root`. */
export function rehearsalNames(root: string): RehearsalNames {
  const config = loadAdopterConfig(join(root, configFile));
  return {
    repository: repositoryName(config.repository),
    manifestImage: config.image,
    imagePath: config.image.split('/').slice(1).join('/'),
    previewUrlTemplate: `https://pr-{number}.${config.environments.preview.host}`,
  };
}
