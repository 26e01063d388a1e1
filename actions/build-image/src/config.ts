import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { parseBooleanInput } from '../../../pipeline/src/argocd/index.js';
import {
  checkImageName,
  creationTime,
  imageTags,
  ociLabels,
  type BuildContext,
  type EngineName,
} from '../../../pipeline/src/image/index.js';

/** Reads one input by name (the action passes `core.getInput`). */
export type InputReader = (name: string) => string;

/** The validated inputs of build-image (see action.yml) with the workflow context applied. */
export interface BuildImageConfig {
  image: string;
  context: string;
  dockerfile: string;
  tags: string[];
  labels: Record<string, string>;
  buildArgs: Record<string, string>;
  push: boolean;
  engine: EngineName | 'auto';
  cache: { kind: 'gha'; scope: string } | { kind: 'none' };
  platforms?: string;
  tlsVerify: boolean;
  runtime?: string;
  credentials?: { username: string; password: string };
  docker: string;
  podman: string;
  build: BuildContext;
}

/** Parses `KEY=VALUE` lines (blank lines and # comments ignored); names the input and line on errors. */
export function parseKeyValueLines(
  text: string,
  inputName: string,
  key = /^[A-Za-z_][A-Za-z0-9_.-]*$/,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [i, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    const name = eq > 0 ? line.slice(0, eq).trim() : '';
    if (!key.test(name)) throw new Error(`${inputName}: line ${i + 1} is not KEY=VALUE`);
    out[name] = line.slice(eq + 1).trim();
  }
  return out;
}

/** The pull request number and head commit from the event payload, for pull_request events. */
function pullRequestFromEvent(
  env: Record<string, string | undefined>,
): { number: number; headSha: string } | undefined {
  if (!/^pull_request/.test(env.GITHUB_EVENT_NAME ?? '') || !env.GITHUB_EVENT_PATH) return undefined;
  const payload = JSON.parse(readFileSync(env.GITHUB_EVENT_PATH, 'utf8')) as {
    number?: number;
    pull_request?: { number?: number; head?: { sha?: string } };
  };
  const number = payload.number ?? payload.pull_request?.number;
  const headSha = payload.pull_request?.head?.sha;
  return number && headSha ? { number, headSha } : undefined;
}

/** Reads and checks every input and the workflow context before anything builds. */
export function readBuildImageConfig(
  input: InputReader,
  env: Record<string, string | undefined>,
): BuildImageConfig {
  const image = checkImageName(input('image').trim());
  const workspace = env.GITHUB_WORKSPACE ?? process.cwd();
  const contextInput = input('context').trim() || '.';
  const context = isAbsolute(contextInput) ? contextInput : resolve(workspace, contextInput);
  const dockerfileInput = input('dockerfile').trim();
  const dockerfile = dockerfileInput
    ? isAbsolute(dockerfileInput)
      ? dockerfileInput
      : resolve(workspace, dockerfileInput)
    : join(context, 'Dockerfile');
  if (!existsSync(dockerfile))
    throw new Error(`dockerfile: ${dockerfile} does not exist (check context and dockerfile)`);

  const pr = pullRequestFromEvent(env);
  const sha = input('sha').trim() || pr?.headSha || env.GITHUB_SHA || '';
  const build: BuildContext = {
    sha,
    ref: env.GITHUB_REF,
    pullRequest: pr?.number,
    sourceUrl:
      env.GITHUB_SERVER_URL && env.GITHUB_REPOSITORY
        ? `${env.GITHUB_SERVER_URL}/${env.GITHUB_REPOSITORY}`
        : undefined,
    created: creationTime(env.SOURCE_DATE_EPOCH),
  };
  const extraTags = input('tags')
    .split(/[\s,]+/)
    .map((t) => t.trim())
    .filter(Boolean);
  const tags = imageTags(build, extraTags);
  const title = input('title').trim() || image.split('/').at(-1)!;
  const labels = ociLabels(
    build,
    title,
    parseKeyValueLines(input('labels'), 'labels', /^[A-Za-z0-9][A-Za-z0-9_./-]*$/),
  );

  const engine = input('engine').trim() || 'auto';
  if (!['auto', 'buildx', 'buildah', 'podman'].includes(engine)) {
    throw new Error(`engine: "${engine}" is not one of auto, buildx, buildah, podman`);
  }
  const cacheInput = input('cache').trim() || 'gha';
  if (cacheInput !== 'gha' && cacheInput !== 'none')
    throw new Error(`cache: "${cacheInput}" is not gha or none`);
  const username = input('registry-username').trim();
  const password = input('registry-password');
  if (Boolean(username) !== Boolean(password)) {
    throw new Error('registry-username and registry-password go together: give both to log in, or neither');
  }
  const scope = input('cache-scope').trim() || image.split('/').at(-1)!;
  return {
    image,
    context,
    dockerfile,
    tags,
    labels,
    // REVISION: the Dockerfile turns it into SWITCHBOARD_REVISION (switchboard_build_info); build-args may override it.
    buildArgs: {
      ...(sha ? { REVISION: sha } : {}),
      ...parseKeyValueLines(input('build-args'), 'build-args'),
    },
    push: parseBooleanInput('push', input('push'), true),
    engine: engine as BuildImageConfig['engine'],
    cache: cacheInput === 'gha' ? { kind: 'gha', scope } : { kind: 'none' },
    platforms: input('platforms').trim() || undefined,
    tlsVerify: parseBooleanInput('tls-verify', input('tls-verify'), true),
    runtime: input('oci-runtime').trim() || undefined,
    credentials: username ? { username, password } : undefined,
    docker: input('docker').trim() || 'docker',
    podman: input('podman').trim() || 'podman',
    build,
  };
}
