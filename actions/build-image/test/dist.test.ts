import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, it } from 'node:test';
import { startRegistry, type RegistryServer } from '../../../testkit/src/index.js';
import { buildBase, removeImages } from '../../../pipeline/src/image/index.js';
import { actionsExecRunner } from '../../../pipeline/src/runner.js';
import { runActionProcess } from '../../../pipeline/src/testing/index.js';

const dist = fileURLToPath(new URL('../dist/index.js', import.meta.url));
const base = `localhost/node-base:build-image-dist-${process.pid}`;
let registry: RegistryServer;
before(async () => {
  registry = await startRegistry();
  await buildBase({ tag: base, runner: actionsExecRunner });
});
after(async () => {
  await registry?.stop();
  await removeImages([base], actionsExecRunner).catch(() => undefined);
});

it('the committed bundle runs with plain `node dist/index.js`: buildah builds and pushes', async () => {
  const context = mkdtempSync(join(tmpdir(), 'build-image-dist-'));
  writeFileSync(join(context, 'Dockerfile'), 'ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nCMD ["node", "-e", "1"]\n');
  const result = await runActionProcess(dist, {
    inputs: {
      image: `${registry.host}/acme/dist`,
      context,
      'build-args': `BASE_IMAGE=${base}`,
      'tls-verify': false,
      'oci-runtime': 'runc',
    },
    env: {
      GITHUB_SHA: 'c'.repeat(40),
      GITHUB_REF: 'refs/heads/main',
      GITHUB_EVENT_NAME: 'push',
      GITHUB_WORKSPACE: context,
    },
    timeoutMs: 300_000,
  });
  assert.equal(result.exitCode, 0, `${result.errors.join('\n')}\n${result.stderr}`);
  assert.equal(result.outputs.engine, 'buildah');
  const res = await fetch(`${registry.url}/v2/acme/dist/manifests/main`, {
    method: 'HEAD',
    headers: {
      accept:
        'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json',
    },
  });
  assert.equal(res.headers.get('docker-content-digest'), result.outputs.digest);
});
