import {
  buildAndPush,
  detectEngine,
  type BuiltAndPushed,
  type EngineName,
} from '../../../pipeline/src/image/index.js';
import { code, keyValueTable, table, type SummarySection } from '../../../pipeline/src/summary/index.js';
import type { BuildImageConfig } from './config.js';

/** What build-image produced: the engine's result, the tagged references and the digest-pinned image. */
export interface ConfiguredBuild {
  result: BuiltAndPushed;
  references: string[];
  /** `<image>@<digest>`: what deployments pin. */
  pinned: string;
}

/** The engine the `engine` input names, or the first one installed for `auto`. */
export async function resolveEngine(config: BuildImageConfig): Promise<EngineName> {
  return config.engine === 'auto' ? detectEngine(config) : config.engine;
}

/**
 * The action's build, shared by main.ts and the rehearsal: build with the configured tags, labels
 * and build args, push. Logging in is the caller's (it has the secret).
 */
export async function buildConfiguredImage(
  config: BuildImageConfig,
  engine: EngineName,
  opts: { authfile?: string; log: (line: string) => void },
): Promise<ConfiguredBuild> {
  const references = config.tags.map((tag) => `${config.image}:${tag}`);
  const base = config.buildArgs.BASE_IMAGE;
  opts.log(`building ${references.join(', ')} with ${engine}${base ? ` (BASE_IMAGE ${base})` : ''}`);
  if (engine !== 'buildx' && config.cache.kind === 'gha') {
    opts.log(`cache: type=gha needs docker buildx; ${engine} builds with its local layers only`);
  }
  const result = await buildAndPush(engine, {
    context: config.context,
    dockerfile: config.dockerfile,
    references,
    buildArgs: config.buildArgs,
    labels: config.labels,
    push: config.push,
    tlsVerify: config.tlsVerify,
    cache: config.cache,
    platforms: config.platforms,
    runtime: config.runtime,
    authfile: opts.authfile,
    docker: config.docker,
    podman: config.podman,
    log: opts.log,
  });
  return { result, references, pinned: `${config.image}@${result.digest}` };
}

/** The action's outputs (action.yml). */
export function buildOutputs(config: BuildImageConfig, built: ConfiguredBuild): Record<string, string> {
  return {
    image: built.pinned,
    digest: built.result.digest,
    tags: built.references.join('\n'),
    engine: built.result.engine,
    labels: JSON.stringify(config.labels),
  };
}

/** The action's job summary: the pinned image, engine and cache, tags, labels. */
export function buildSummary(config: BuildImageConfig, built: ConfiguredBuild): SummarySection[] {
  const { result, references, pinned } = built;
  return [
    {
      heading: `Image ${config.push ? 'built and pushed' : 'built (not pushed)'}`,
      level: 2,
      table: keyValueTable([
        ['Image', code(pinned)],
        ['Engine', result.engine],
        [
          'Layer cache',
          result.engine === 'buildx' && config.cache.kind === 'gha'
            ? `GitHub Actions cache (scope ${config.cache.scope})`
            : 'none',
        ],
        ['Platforms', config.platforms],
        ['Base image', config.buildArgs.BASE_IMAGE ? code(config.buildArgs.BASE_IMAGE) : undefined],
      ]),
    },
    { heading: 'Tags', list: references.map((r) => code(r)) },
    {
      heading: 'Labels',
      table: table(
        ['Label', 'Value'],
        Object.entries(config.labels).map(([k, v]) => [code(k), v]),
      ),
    },
  ];
}
