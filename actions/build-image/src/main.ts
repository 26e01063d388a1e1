import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as core from '@actions/core';
import { buildAndPush, detectEngine, login, registryOf } from '../../shared/src/image/index.js';
import { code, keyValueTable, table, writeJobSummary } from '../../shared/src/summary/index.js';
import { readBuildImageConfig } from './config.js';

/** The action: pick an engine, log in, build with tags and labels, push, output the digest. */
export async function run(): Promise<void> {
  try {
    const config = readBuildImageConfig((name) => core.getInput(name), process.env);
    if (config.credentials) core.setSecret(config.credentials.password);
    const engine = config.engine === 'auto' ? await detectEngine(config) : config.engine;
    const references = config.tags.map((tag) => `${config.image}:${tag}`);
    core.info(`building ${references.join(', ')} with ${engine}`);
    let authfile: string | undefined;
    if (config.credentials) {
      if (engine !== 'buildx')
        authfile = join(mkdtempSync(join(process.env.RUNNER_TEMP ?? tmpdir(), 'auth-')), 'auth.json');
      await login(engine, registryOf(config.image), config.credentials, {
        tlsVerify: config.tlsVerify,
        authfile,
        docker: config.docker,
        podman: config.podman,
      });
    }
    if (engine !== 'buildx' && config.cache.kind === 'gha') {
      core.info(`cache: type=gha needs docker buildx; ${engine} builds with its local layers only`);
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
      authfile,
      docker: config.docker,
      podman: config.podman,
      log: (line) => core.info(line),
    });
    const pinned = `${config.image}@${result.digest}`;
    core.setOutput('image', pinned);
    core.setOutput('digest', result.digest);
    core.setOutput('tags', references.join('\n'));
    core.setOutput('engine', result.engine);
    core.setOutput('labels', JSON.stringify(config.labels));
    await writeJobSummary(core.summary, [
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
    ]);
  } catch (error) {
    core.setFailed(error instanceof Error ? error.message : String(error));
  }
}
