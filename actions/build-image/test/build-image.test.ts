import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { startRegistry, type RegistryServer } from '../../../testkit/src/index.js';
import { buildBase, podmanRunLimits, removeImages, runTool } from '../../../pipeline/src/image/index.js';
import { actionsExecRunner } from '../../../pipeline/src/runner.js';
import {
  parseSummaryTables,
  runAction,
  summaryTableToRecord,
  type ActionInputs,
} from '../../../pipeline/src/testing/index.js';
import { run } from '../src/main.js';

const fakeDocker = fileURLToPath(new URL('./support/fake-docker.sh', import.meta.url));
const base = `localhost/node-base:build-image-${process.pid}`;
const sha = '1234567890abcdef1234567890abcdef12345678';
const headSha = 'fedcba0987654321fedcba0987654321fedcba09';
const tmp = mkdtempSync(join(tmpdir(), 'build-image-test-'));
const podmanRun = ['run', '--rm', ...podmanRunLimits, '--tls-verify=false'];

/** A tiny image context on the locally built Node base: a RUN step and a node CMD. */
function fixtureContext(): string {
  const dir = mkdtempSync(join(tmp, 'context-'));
  writeFileSync(
    join(dir, 'Dockerfile'),
    [
      'ARG BASE_IMAGE',
      'FROM ${BASE_IMAGE}',
      'WORKDIR /app',
      'COPY hello.js ./',
      `RUN node -e "require('fs').writeFileSync('/app/built.txt', 'built in RUN')"`,
      'USER 1000:1000',
      'CMD ["node", "hello.js"]',
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(dir, 'hello.js'),
    `console.log('hello from build-image:', require('fs').readFileSync('/app/built.txt', 'utf8'))\n`,
  );
  return dir;
}

let registry: RegistryServer;
let context: string;
before(async () => {
  registry = await startRegistry();
  await buildBase({ tag: base, runner: actionsExecRunner });
  context = fixtureContext();
});
after(async () => {
  await registry?.stop();
  await removeImages([base], actionsExecRunner).catch(() => undefined);
});

function build(inputs: ActionInputs, env: Record<string, string | undefined> = {}) {
  return runAction(run, {
    inputs: {
      image: `${registry.host}/acme/switchboard`,
      context,
      'build-args': `BASE_IMAGE=${base}`,
      'tls-verify': false,
      'oci-runtime': 'runc',
      ...inputs,
    },
    env: {
      GITHUB_WORKSPACE: tmp,
      RUNNER_TEMP: tmp,
      GITHUB_SHA: sha,
      GITHUB_REF: 'refs/heads/main',
      GITHUB_EVENT_NAME: 'push',
      GITHUB_EVENT_PATH: undefined,
      GITHUB_SERVER_URL: 'https://github.com',
      GITHUB_REPOSITORY: 'acme/switchboard',
      SOURCE_DATE_EPOCH: '1767225600',
      ...env,
    },
  });
}

/** The digest the registry serves for `repository:reference` (HEAD with the manifest Accept types). */
async function registryDigest(
  server: RegistryServer | string,
  repository: string,
  reference: string,
): Promise<string | null> {
  const url = typeof server === 'string' ? server : server.url;
  const res = await fetch(`${url}/v2/${repository}/manifests/${reference}`, {
    method: 'HEAD',
    headers: {
      accept:
        'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json',
    },
  });
  return res.status === 200 ? res.headers.get('docker-content-digest') : null;
}

describe('build-image for real: buildah/podman, a registry on 127.0.0.1', () => {
  it('push to main: buildah (no buildx here) builds, tags <sha> and main, labels, pushes one digest', async () => {
    const result = await build({});
    assert.equal(result.failed, false, result.errors.join('\n'));
    assert.equal(result.outputs.engine, 'buildah');
    const digest = result.outputs.digest!;
    assert.match(digest, /^sha256:[0-9a-f]{64}$/);
    assert.equal(result.outputs.image, `${registry.host}/acme/switchboard@${digest}`);
    assert.deepEqual(result.outputs.tags!.split('\n'), [
      `${registry.host}/acme/switchboard:${sha}`,
      `${registry.host}/acme/switchboard:main`,
    ]);
    for (const tag of [sha, 'main'])
      assert.equal(await registryDigest(registry, 'acme/switchboard', tag), digest);

    const inspected = JSON.parse(
      execFileSync('skopeo', ['inspect', '--tls-verify=false', `docker://${result.outputs.image}`], {
        encoding: 'utf8',
      }),
    ) as { Labels: Record<string, string> };
    assert.deepEqual(
      Object.fromEntries(
        Object.entries(inspected.Labels).filter(
          ([k]) => k.startsWith('org.opencontainers.image.') && k !== 'org.opencontainers.image.description',
        ),
      ),
      {
        'org.opencontainers.image.source': 'https://github.com/acme/switchboard',
        'org.opencontainers.image.revision': sha,
        'org.opencontainers.image.created': '2026-01-01T00:00:00.000Z',
        'org.opencontainers.image.title': 'switchboard',
      },
    );
    // What the registry holds runs: pulled by digest, the RUN step's output is there.
    const { stdout } = await runTool('podman', [...podmanRun, result.outputs.image!], {
      timeoutMs: 180_000,
      runner: actionsExecRunner,
    });
    assert.equal(stdout.trim(), 'hello from build-image: built in RUN');
    await runTool('podman', ['rmi', '--force', result.outputs.image!], { runner: actionsExecRunner }).catch(
      () => undefined,
    );

    const overview = summaryTableToRecord(parseSummaryTables(result.summary)[0]!);
    assert.equal(overview.Image, result.outputs.image);
    assert.equal(overview['Layer cache'], 'none');
    assert.match(
      result.log,
      /cache: type=gha needs docker buildx; buildah builds with its local layers only/,
    );
  });

  it('pull request: podman engine tags the head commit and pr-<n>, plus extra tags', async () => {
    const event = join(tmp, 'pr-event.json');
    writeFileSync(
      event,
      JSON.stringify({
        action: 'synchronize',
        number: 42,
        pull_request: { number: 42, head: { sha: headSha } },
      }),
    );
    const result = await build(
      { engine: 'podman', tags: 'preview, smoke-1' },
      {
        GITHUB_EVENT_NAME: 'pull_request',
        GITHUB_EVENT_PATH: event,
        GITHUB_REF: 'refs/pull/42/merge',
        GITHUB_SHA: 'a'.repeat(40),
      },
    );
    assert.equal(result.failed, false, result.errors.join('\n'));
    assert.equal(result.outputs.engine, 'podman');
    const tags = result.outputs.tags!.split('\n').map((r) => r.slice(r.lastIndexOf(':') + 1));
    assert.deepEqual(tags, [headSha, 'pr-42', 'preview', 'smoke-1']);
    for (const tag of tags)
      assert.equal(await registryDigest(registry, 'acme/switchboard', tag), result.outputs.digest);
    assert.equal(
      (JSON.parse(result.outputs.labels!) as Record<string, string>)['org.opencontainers.image.revision'],
      headSha,
    );
  });

  it('push: false builds without pushing', async () => {
    const result = await build({ push: false, tags: 'not-pushed' });
    assert.equal(result.failed, false, result.errors.join('\n'));
    assert.equal(await registryDigest(registry, 'acme/switchboard', 'not-pushed'), null);
    assert.match(result.summary, /built \(not pushed\)/);
    await removeImages(result.outputs.tags!.split('\n'), actionsExecRunner).catch(() => undefined);
  });
});

describe('build-image logs in with the password on stdin', () => {
  let authRegistry: RegistryServer;
  let host: string;
  before(async () => {
    authRegistry = await startRegistry({ auth: { username: 'ci', password: 's3cret-pw' } });
    host = authRegistry.host;
  });
  after(() => authRegistry?.stop());

  it('fails with the registry’s answer without credentials, and pushes with them without printing the password', async () => {
    const anonymous = await build({ image: `${host}/acme/switchboard` });
    assert.equal(anonymous.failed, true);
    assert.match(anonymous.errors[0] ?? '', /authentication required|unauthorized/i);

    const result = await build({
      image: `${host}/acme/switchboard`,
      'registry-username': 'ci',
      'registry-password': 's3cret-pw',
    });
    assert.equal(result.failed, false, result.errors.join('\n'));
    const res = await fetch(`${authRegistry.url}/v2/acme/switchboard/manifests/main`, {
      method: 'HEAD',
      headers: {
        authorization: `Basic ${Buffer.from('ci:s3cret-pw').toString('base64')}`,
        accept:
          'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json',
      },
    });
    assert.equal(res.headers.get('docker-content-digest'), result.outputs.digest);
    assert.match(result.log, /^::add-mask::s3cret-pw$/m);
    assert.doesNotMatch(result.log.replace(/^::add-mask::.*$/gm, ''), /s3cret-pw/);
  });
});

describe('build-image with docker buildx (the docker CLI played by a stand-in)', () => {
  it('passes tags, labels, build args, the gha layer cache and --push, and reads the digest from the metadata file', async () => {
    const argsFile = join(tmp, 'buildx-args.txt');
    const loginFile = join(tmp, 'docker-login.txt');
    const result = await build(
      {
        image: 'ghcr.io/acme/switchboard',
        docker: fakeDocker,
        'build-args': 'BASE_IMAGE=docker.io/library/node:24-bookworm-slim\nNPM_CONFIG_PREFER_OFFLINE=true',
        'registry-username': 'octocat',
        'registry-password': 'ghs_token',
        platforms: 'linux/amd64,linux/arm64',
      },
      { FAKE_DOCKER_ARGS: argsFile, FAKE_DOCKER_LOGIN: loginFile },
    );
    assert.equal(result.failed, false, result.errors.join('\n'));
    assert.equal(result.outputs.engine, 'buildx');
    assert.equal(result.outputs.digest, `sha256:${'e'.repeat(64)}`);
    assert.equal(result.outputs.image, `ghcr.io/acme/switchboard@sha256:${'e'.repeat(64)}`);
    const args = readFileSync(argsFile, 'utf8').trim().split('\n');
    const pairs = (flag: string) => args.flatMap((a, i) => (args[i - 1] === flag ? [a] : []));
    assert.deepEqual(args.slice(0, 3), ['buildx', 'build', '--file']);
    assert.deepEqual(pairs('--tag'), [`ghcr.io/acme/switchboard:${sha}`, 'ghcr.io/acme/switchboard:main']);
    assert.deepEqual(pairs('--cache-from'), ['type=gha,scope=switchboard']);
    assert.deepEqual(pairs('--cache-to'), ['type=gha,scope=switchboard,mode=max']);
    assert.deepEqual(pairs('--build-arg'), [
      `REVISION=${sha}`,
      'BASE_IMAGE=docker.io/library/node:24-bookworm-slim',
      'NPM_CONFIG_PREFER_OFFLINE=true',
    ]);
    assert.ok(pairs('--label').includes(`org.opencontainers.image.revision=${sha}`));
    assert.deepEqual(pairs('--platform'), ['linux/amd64,linux/arm64']);
    assert.deepEqual(args.slice(-3), ['--provenance=false', '--push', context]);
    assert.deepEqual(readFileSync(loginFile, 'utf8').trim().split('\n'), [
      'login',
      '--username',
      'octocat',
      '--password-stdin',
      'ghcr.io',
      'password=ghs_token',
    ]);
    assert.equal(
      summaryTableToRecord(parseSummaryTables(result.summary)[0]!)['Layer cache'],
      'GitHub Actions cache (scope switchboard)',
    );
  });
});

describe('build-image input checks', () => {
  const cases: [string, ActionInputs, RegExp][] = [
    [
      'image with a tag',
      { image: 'ghcr.io/acme/switchboard:latest' },
      /^image: ".*:latest" must be a name without tag or digest/,
    ],
    [
      'upper-case image',
      { image: 'ghcr.io/Acme/switchboard' },
      /^image: ".*" is not a lower-case registry\/repository name/,
    ],
    ['bad extra tag', { image: 'ghcr.io/acme/x', tags: '-bad' }, /^tags: "-bad" is not a valid tag/],
    [
      'missing Dockerfile',
      { image: 'ghcr.io/acme/x', dockerfile: 'nope/Dockerfile' },
      /^dockerfile: .*nope\/Dockerfile does not exist/,
    ],
    [
      'user without password',
      { image: 'ghcr.io/acme/x', 'registry-username': 'ci' },
      /^registry-username and registry-password go together/,
    ],
    [
      'unknown engine',
      { image: 'ghcr.io/acme/x', engine: 'kaniko' },
      /^engine: "kaniko" is not one of auto, buildx, buildah, podman/,
    ],
    [
      'bad build arg line',
      { image: 'ghcr.io/acme/x', 'build-args': 'BASE_IMAGE' },
      /^build-args: line 1 is not KEY=VALUE/,
    ],
  ];
  for (const [name, inputs, expected] of cases) {
    it(name, async () => {
      const result = await build(inputs);
      assert.equal(result.failed, true);
      assert.match(result.errors[0] ?? '', expected);
    });
  }
  it('a short commit SHA is refused', async () => {
    const result = await build({ image: 'ghcr.io/acme/x' }, { GITHUB_SHA: 'abc123' });
    assert.match(result.errors[0] ?? '', /^sha: "abc123" is not a full 40-character commit SHA/);
  });
});
