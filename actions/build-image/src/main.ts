import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as core from '@actions/core';
import { login, registryOf } from '../../../pipeline/src/image/index.js';
import { writeJobSummary } from '../../../pipeline/src/summary/index.js';
import { buildConfiguredImage, buildOutputs, buildSummary, resolveEngine } from './build.js';
import { readBuildImageConfig } from './config.js';

/** The action: pick an engine, log in, build with tags and labels, push, output the digest. */
export async function run(): Promise<void> {
  try {
    const config = readBuildImageConfig((name) => core.getInput(name), process.env);
    if (config.credentials) core.setSecret(config.credentials.password);
    const engine = await resolveEngine(config);
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
    const built = await buildConfiguredImage(config, engine, { authfile, log: (line) => core.info(line) });
    for (const [name, value] of Object.entries(buildOutputs(config, built))) core.setOutput(name, value);
    await writeJobSummary(core.summary, buildSummary(config, built));
  } catch (error) {
    core.setFailed(error instanceof Error ? error.message : String(error));
  }
}
