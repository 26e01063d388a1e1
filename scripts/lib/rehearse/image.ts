// The build-and-push step: a real OCI registry on 127.0.0.1, a Node base image made from this
// machine (no registry to pull one from), the repository's Dockerfile built with buildah, pushed;
// the registry's digest is what the overlay gets pinned to. Images are removed at teardown.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { startRegistry, type RegistryServer } from '../../../testkit/src/index.js';
import { buildBase, buildImage, push, removeImages } from '../image/index.js';
import type { Teardown } from './teardown.js';

/** The pushed image. */
export interface PushedImage {
  registry: RegistryServer;
  /** 127.0.0.1:PORT/switchboard/server */
  repository: string;
  tag: string;
  /** sha256:... as the registry reports it */
  digest: string;
  /** repository@digest */
  reference: string;
  baseImage: string;
  buildMs: number;
}

function npmCacheDir(): string | undefined {
  try {
    const dir = execFileSync('npm', ['config', 'get', 'cache'], { encoding: 'utf8', timeout: 30_000 }).trim();
    return existsSync(dir) ? dir : undefined;
  } catch {
    return undefined;
  }
}

/** Starts the registry and registers its stop. */
export async function startLocalRegistry(teardown: Teardown): Promise<RegistryServer> {
  const registry = await startRegistry();
  teardown.add('registry', () => registry.stop());
  return registry;
}

/** Builds the base and the server image, pushes it to `registry`, and returns the digest. */
export async function buildAndPush(opts: {
  root: string;
  registry: RegistryServer;
  runId: string;
  revision: string;
  teardown: Teardown;
  log: (line: string) => void;
}): Promise<PushedImage> {
  const baseImage = `localhost/node-base:rehearsal-${opts.runId}`;
  const repository = `${opts.registry.host}/switchboard/server`;
  const tag = `rehearsal-${opts.runId}`;
  const local = `${repository}:${tag}`;
  const images: string[] = [];
  opts.teardown.add('local images', () => removeImages([...images].reverse()));
  const t0 = Date.now();
  await buildBase({ tag: baseImage });
  images.push(baseImage);
  opts.log(`base ${baseImage} made from this machine's node ${process.version} (${Date.now() - t0} ms)`);
  const cache = npmCacheDir();
  const t1 = Date.now();
  const built = await buildImage({
    context: opts.root,
    tags: [local],
    buildArgs: { BASE_IMAGE: baseImage, ...(cache ? { NPM_CONFIG_PREFER_OFFLINE: 'true' } : {}) },
    labels: {
      'org.opencontainers.image.title': 'switchboard-server',
      'org.opencontainers.image.revision': opts.revision,
    },
    npmCache: cache,
    timeoutMs: 1_200_000,
  });
  images.push(local, built.imageId);
  opts.log(`built ${local} (${Date.now() - t1} ms)`);
  const { digest } = await push(local, local, { tlsVerify: false });
  // The pods pull it back by digest (podman shares buildah's storage); remove that name too.
  images.push(`${repository}@${digest}`);
  opts.log(`pushed ${repository}@${digest}`);
  return {
    registry: opts.registry,
    repository,
    tag,
    digest,
    reference: `${repository}@${digest}`,
    baseImage,
    buildMs: Date.now() - t0,
  };
}
