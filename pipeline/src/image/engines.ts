/**
 * Builds and pushes an image with whichever engine the runner has: `docker buildx` (GitHub's hosted
 * runners; layer cache in the Actions cache, type=gha), else buildah (the repository's image library,
 * pipeline/src/image/build.ts), else podman. Each returns the digest the registry serves.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildImage, hardNofileLimit, push, removeImages } from './build.js';
import { actionsExecRunner, type RunResult } from '../runner.js';

/** Which program builds. */
export type EngineName = 'buildx' | 'buildah' | 'podman';

/** One build: context, Dockerfile, names, arguments, labels, cache and registry settings. */
export interface ImageBuild {
  context: string;
  dockerfile: string;
  /** Full references to push, e.g. ghcr.io/acme/switchboard:<sha>. */
  references: string[];
  buildArgs: Record<string, string>;
  labels: Record<string, string>;
  push: boolean;
  /** Verify registry TLS (false only for a plain-HTTP registry such as a local test one). */
  tlsVerify: boolean;
  /** buildx: `gha` caches layers in the GitHub Actions cache under `scope`; `none` disables. */
  cache: { kind: 'gha'; scope: string } | { kind: 'none' };
  /** buildx --platform, e.g. linux/amd64,linux/arm64 (empty: the runner's). */
  platforms?: string;
  /** OCI runtime for RUN steps (buildah/podman), e.g. runc. */
  runtime?: string;
  /** containers auth file for buildah/podman (docker uses DOCKER_CONFIG). */
  authfile?: string;
  /** Executables (tests point these at stand-ins). */
  docker?: string;
  podman?: string;
  log?: (line: string) => void;
}

/** What was built. */
export interface BuiltAndPushed {
  engine: EngineName;
  /** Manifest digest the registry serves for every reference (sha256:...); the local one when not pushed. */
  digest: string;
}

/** Runs a program through @actions/exec; resolves whatever its exit code (127: not installed). */
const exec = (cmd: string, args: string[], input?: string) => actionsExecRunner.run(cmd, args, { input });

function failed(what: string, result: RunResult): Error {
  const text = (result.stderr || result.stdout).trim().split('\n').slice(-15).join('\n');
  return new Error(`${what} failed (exit ${result.exitCode}):\n${text}`);
}

/** The first engine that works here: buildx, then buildah, then podman. */
export async function detectEngine(tools: { docker?: string; podman?: string } = {}): Promise<EngineName> {
  if ((await exec(tools.docker ?? 'docker', ['buildx', 'version'])).exitCode === 0) return 'buildx';
  if ((await exec('buildah', ['--version'])).exitCode === 0) return 'buildah';
  if ((await exec(tools.podman ?? 'podman', ['--version'])).exitCode === 0) return 'podman';
  throw new Error(
    'no image builder found: install docker with buildx (docker/setup-buildx-action), buildah or podman',
  );
}

/** `docker buildx build` arguments for `build`, writing buildx metadata (with the digest) to `metadataFile`. */
export function buildxArgs(build: ImageBuild, metadataFile: string): string[] {
  const args = ['buildx', 'build', '--file', build.dockerfile, '--metadata-file', metadataFile];
  for (const ref of build.references) args.push('--tag', ref);
  for (const [k, v] of Object.entries(build.labels)) args.push('--label', `${k}=${v}`);
  for (const [k, v] of Object.entries(build.buildArgs)) args.push('--build-arg', `${k}=${v}`);
  if (build.cache.kind === 'gha') {
    // ACTIONS_CACHE_URL / ACTIONS_RESULTS_URL and ACTIONS_RUNTIME_TOKEN reach buildx from the action's environment.
    args.push('--cache-from', `type=gha,scope=${build.cache.scope}`);
    args.push('--cache-to', `type=gha,scope=${build.cache.scope},mode=max`);
  }
  if (build.platforms) args.push('--platform', build.platforms);
  // Provenance attestations turn the pushed manifest into an index; keep one image manifest per build.
  args.push('--provenance=false', build.push ? '--push' : '--load', build.context);
  return args;
}

async function withBuildx(build: ImageBuild): Promise<BuiltAndPushed> {
  const dir = mkdtempSync(join(tmpdir(), 'buildx-'));
  try {
    const metadata = join(dir, 'metadata.json');
    const result = await exec(build.docker ?? 'docker', buildxArgs(build, metadata));
    if (result.exitCode !== 0) throw failed('docker buildx build', result);
    const meta = JSON.parse(readFileSync(metadata, 'utf8')) as Record<string, unknown>;
    const digest = String(meta['containerimage.digest'] ?? '');
    if (!/^sha256:[0-9a-f]{64}$/.test(digest)) {
      throw new Error(
        `docker buildx wrote no containerimage.digest to its metadata file: ${JSON.stringify(meta)}`,
      );
    }
    return { engine: 'buildx', digest };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function pushAll(
  references: string[],
  pushOne: (ref: string) => Promise<string>,
  log: (line: string) => void,
): Promise<string> {
  let digest = '';
  for (const ref of references) {
    const pushed = await pushOne(ref);
    log(`pushed ${ref} (${pushed})`);
    if (digest && pushed !== digest) {
      throw new Error(
        `the registry answered different digests for one image: ${digest} and ${pushed} (${ref})`,
      );
    }
    digest = pushed;
  }
  return digest;
}

async function withBuildah(build: ImageBuild): Promise<BuiltAndPushed> {
  const log = build.log ?? (() => undefined);
  const built = await buildImage({
    context: build.context,
    dockerfile: build.dockerfile,
    tags: build.references,
    buildArgs: build.buildArgs,
    labels: build.labels,
    runtime: build.runtime,
    runner: actionsExecRunner,
  });
  try {
    if (!build.push) return { engine: 'buildah', digest: built.digest };
    const digest = await pushAll(
      build.references,
      async (ref) =>
        (
          await push(ref, ref, {
            tlsVerify: build.tlsVerify,
            authfile: build.authfile,
            runner: actionsExecRunner,
          })
        ).digest,
      log,
    );
    return { engine: 'buildah', digest };
  } finally {
    // The runner's storage is not a cache between jobs; free the disk (keep it when not pushed: the caller uses it).
    if (build.push) await removeImages(build.references, actionsExecRunner).catch(() => undefined);
  }
}

async function withPodman(build: ImageBuild): Promise<BuiltAndPushed> {
  const podman = build.podman ?? 'podman';
  const log = build.log ?? (() => undefined);
  const dir = mkdtempSync(join(tmpdir(), 'podman-build-'));
  try {
    const nofile = await hardNofileLimit(actionsExecRunner);
    const iid = join(dir, 'iid');
    const args = [
      'build',
      '--file',
      build.dockerfile,
      '--iidfile',
      iid,
      '--ulimit',
      `nofile=${nofile}:${nofile}`,
    ];
    if (build.runtime) args.push('--runtime', build.runtime);
    for (const ref of build.references) args.push('--tag', ref);
    for (const [k, v] of Object.entries(build.labels)) args.push('--label', `${k}=${v}`);
    for (const [k, v] of Object.entries(build.buildArgs)) args.push('--build-arg', `${k}=${v}`);
    if (build.platforms) args.push('--platform', build.platforms);
    args.push(build.context);
    const result = await exec(podman, args);
    if (result.exitCode !== 0) throw failed('podman build', result);
    if (!build.push) {
      const inspect = await exec(podman, [
        'image',
        'inspect',
        '--format',
        '{{.Digest}}',
        readFileSync(iid, 'utf8').trim(),
      ]);
      return { engine: 'podman', digest: inspect.stdout.trim() };
    }
    const digest = await pushAll(
      build.references,
      async (ref) => {
        const file = join(dir, 'digest');
        const pushArgs = ['push', '--quiet', `--tls-verify=${build.tlsVerify}`, '--digestfile', file];
        if (build.authfile) pushArgs.push('--authfile', build.authfile);
        const pushed = await exec(podman, [...pushArgs, ref, `docker://${ref}`]);
        if (pushed.exitCode !== 0) throw failed(`podman push ${ref}`, pushed);
        return readFileSync(file, 'utf8').trim();
      },
      log,
    );
    await exec(podman, ['rmi', '--force', ...build.references]);
    return { engine: 'podman', digest };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Builds (and pushes) with `engine`. */
export function buildAndPush(engine: EngineName, build: ImageBuild): Promise<BuiltAndPushed> {
  if (engine === 'buildx') return withBuildx(build);
  if (engine === 'buildah') return withBuildah(build);
  return withPodman(build);
}

/** The registry host of an image name (`ghcr.io/acme/x` -> `ghcr.io`; no dot, colon or localhost -> docker.io). */
export function registryOf(image: string): string {
  const first = image.split('/')[0]!;
  return image.includes('/') && (/[.:]/.test(first) || first === 'localhost') ? first : 'docker.io';
}

/**
 * Logs in to `registry` with the password on stdin (never on the command line): `docker login` for
 * buildx, `buildah login`/`podman login` into `authfile` otherwise.
 */
export async function login(
  engine: EngineName,
  registry: string,
  credentials: { username: string; password: string },
  options: { tlsVerify: boolean; authfile?: string; docker?: string; podman?: string },
): Promise<void> {
  const cmd =
    engine === 'buildx'
      ? (options.docker ?? 'docker')
      : engine === 'podman'
        ? (options.podman ?? 'podman')
        : 'buildah';
  const args = ['login', '--username', credentials.username, '--password-stdin'];
  if (engine !== 'buildx') {
    args.push(`--tls-verify=${options.tlsVerify}`);
    if (options.authfile) args.push('--authfile', options.authfile);
  }
  const result = await exec(cmd, [...args, registry], credentials.password);
  if (result.exitCode !== 0) throw failed(`${cmd} login ${registry}`, result);
}
