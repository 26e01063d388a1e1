// Builds an image from a Dockerfile with buildah, pushes it, and removes it: the operations the
// build-image action and the image test share. Every call is bounded by a timeout.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Runner } from '../runner.js';
import { runTool } from './exec.js';

export interface BuildImageOptions {
  /** Build context directory (its .dockerignore applies). */
  context: string;
  /** Dockerfile path (default `<context>/Dockerfile`). */
  dockerfile?: string;
  /** Names to tag the result with, e.g. `ghcr.io/switchboard/server:sha-abc1234`. At least one. */
  tags: string[];
  /** --build-arg values, e.g. `{ BASE_IMAGE: 'localhost/node-base:test' }`. */
  buildArgs?: Record<string, string>;
  /** OCI labels, e.g. `org.opencontainers.image.revision`. */
  labels?: Record<string, string>;
  /**
   * A host npm cache to mount at /root/.npm during RUN steps: rebuilds (and builds on a machine
   * that already installed the packages) fetch nothing twice. Pair with the build arg
   * NPM_CONFIG_PREFER_OFFLINE=true.
   */
  npmCache?: string;
  /** Network for RUN steps (default: buildah's private network). */
  network?: 'private' | 'host' | 'none';
  /** Open-files limit for RUN steps (default: this process's hard limit, at most 65536). */
  nofile?: number;
  /** When to pull the FROM images: `missing` (default) keeps local-only bases like localhost/…. */
  pull?: 'missing' | 'always' | 'never';
  /** OCI runtime (default runc). */
  runtime?: string;
  /** Whole-build timeout (default 15 minutes). */
  timeoutMs?: number;
  /** Who runs buildah: scripts pass zxRunner, the build-image action actionsExecRunner. */
  runner: Runner;
}

export interface BuiltImage {
  /** Local image ID (the config digest, without `sha256:`). */
  imageId: string;
  /** Digest of the image manifest in local storage (`sha256:…`); the registry digest comes from push(). */
  digest: string;
  tags: string[];
}

/** The open-files hard limit of this process (`ulimit -Hn`), capped at 65536. */
export async function hardNofileLimit(runner: Runner): Promise<number> {
  const { stdout } = await runTool('sh', ['-c', 'ulimit -Hn'], { runner });
  const n = stdout.trim() === 'unlimited' ? 65536 : Number(stdout.trim());
  return Number.isFinite(n) && n > 0 ? Math.min(n, 65536) : 1024;
}

/**
 * `podman run` flags for this kind of machine: runc, and limits set explicitly because runc cannot
 * raise them above the sandbox's hard limits (podman's defaults are higher). Runners need none.
 */
export const podmanRunLimits = [
  '--runtime',
  'runc',
  '--ulimit',
  'nofile=20000:20000',
  '--ulimit',
  'nproc=32768:32768',
];

/** Builds the Dockerfile with `buildah bud` and returns the image's ID and manifest digest. */
export async function buildImage(opts: BuildImageOptions): Promise<BuiltImage> {
  if (opts.tags.length === 0) throw new Error('buildImage: tags is empty: give at least one image name');
  const work = mkdtempSync(join(tmpdir(), 'sb-build-'));
  const iidfile = join(work, 'iid');
  const pullFlag = { missing: 'false', always: 'always', never: 'never' }[opts.pull ?? 'missing'];
  const nofile = opts.nofile ?? (await hardNofileLimit(opts.runner));
  const args = [
    'bud',
    '--runtime',
    opts.runtime ?? 'runc',
    // runc cannot raise a limit above the caller's hard limit: ask for exactly what is allowed.
    '--ulimit',
    `nofile=${nofile}:${nofile}`,
    `--pull=${pullFlag}`,
    '--iidfile',
    iidfile,
    '-f',
    opts.dockerfile ?? join(opts.context, 'Dockerfile'),
  ];
  if (opts.network) args.push('--network', opts.network);
  if (opts.npmCache) args.push('--volume', `${opts.npmCache}:/root/.npm`);
  for (const tag of opts.tags) args.push('--tag', tag);
  for (const [k, v] of Object.entries(opts.buildArgs ?? {})) args.push('--build-arg', `${k}=${v}`);
  for (const [k, v] of Object.entries(opts.labels ?? {})) args.push('--label', `${k}=${v}`);
  args.push(opts.context);
  try {
    await runTool('buildah', args, { timeoutMs: opts.timeoutMs ?? 900_000, runner: opts.runner });
    const imageId = readFileSync(iidfile, 'utf8')
      .trim()
      .replace(/^sha256:/, '');
    return { imageId, digest: await localDigest(imageId, opts.runner), tags: opts.tags };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

interface BuildahImageInspect {
  FromImageDigest?: string;
  OCIv1?: { config?: ImageConfig };
}

/** The parts of an image's OCI config a caller checks. */
export interface ImageConfig {
  User?: string;
  Cmd?: string[];
  Entrypoint?: string[];
  Env?: string[];
  WorkingDir?: string;
  Labels?: Record<string, string>;
  ExposedPorts?: Record<string, unknown>;
  StopSignal?: string;
}

async function inspect(image: string, runner: Runner): Promise<BuildahImageInspect> {
  const { stdout } = await runTool('buildah', ['inspect', '--type', 'image', image], { runner });
  return JSON.parse(stdout) as BuildahImageInspect;
}

/** The manifest digest of a local image (`sha256:…`). */
export async function localDigest(image: string, runner: Runner): Promise<string> {
  const digest = (await inspect(image, runner)).FromImageDigest ?? '';
  if (!/^sha256:[0-9a-f]{64}$/.test(digest)) throw new Error(`buildah inspect ${image}: no manifest digest`);
  return digest;
}

/** The image's OCI config: user, command, environment, labels. */
export async function imageConfig(image: string, runner: Runner): Promise<ImageConfig> {
  return (await inspect(image, runner)).OCIv1?.config ?? {};
}

export interface PushOptions {
  /** Verify the registry's TLS certificate (default true; false for a plain-HTTP test registry). */
  tlsVerify?: boolean;
  /** A containers-auth.json with the registry credentials. */
  authfile?: string;
  timeoutMs?: number;
  /** Who runs buildah: scripts pass zxRunner, the build-image action actionsExecRunner. */
  runner: Runner;
}

/** Pushes a local image to `destination` (`registry/name:tag`) and returns the registry's digest. */
export async function push(
  image: string,
  destination: string,
  opts: PushOptions,
): Promise<{ digest: string }> {
  const work = mkdtempSync(join(tmpdir(), 'sb-push-'));
  const digestfile = join(work, 'digest');
  const args = ['push', '--quiet', `--tls-verify=${opts.tlsVerify ?? true}`, '--digestfile', digestfile];
  if (opts.authfile) args.push('--authfile', opts.authfile);
  args.push(image, `docker://${destination}`);
  try {
    await runTool('buildah', args, { timeoutMs: opts.timeoutMs ?? 300_000, runner: opts.runner });
    return { digest: readFileSync(digestfile, 'utf8').trim() };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Removes local images by name or ID; ones already gone are ignored. */
export async function removeImages(images: string[], runner: Runner): Promise<void> {
  for (const image of images) {
    await runTool('buildah', ['rmi', '--force', image], { runner }).catch((err: Error) => {
      if (!/image not known|no such image|not found/i.test(err.message)) throw err;
    });
  }
}
