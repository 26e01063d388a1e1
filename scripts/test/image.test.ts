// The server image, built for real: a Node base made from this machine's files (buildah from
// scratch), the repository's Dockerfile built with buildah, pushed to a real registry on loopback,
// pulled back and run with podman the way Kubernetes runs it (non-root, read-only root, no
// capabilities), then driven with the official phoenix client and stopped with SIGTERM.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { Socket, type SocketConnectOption } from 'phoenix';
import { WebSocket } from 'ws';
import {
  listeningPorts,
  onFreePorts,
  PortTakenError,
  signToken,
  startRegistry,
  testSecrets,
  type RegistryServer,
} from '../../testkit/src/index.js';
import {
  buildBase,
  buildImage,
  imageConfig,
  podmanRunLimits,
  push,
  removeImages,
  runTool,
} from '../../pipeline/src/image/index.js';
import { $, zxRunner } from '../lib/zx.js';
import { repoRoot } from './validate-fixtures.js';

function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

async function npmCacheDir(): Promise<string | undefined> {
  const out = await $({ nothrow: true })`npm config get cache`;
  const dir = out.stdout.trim();
  return out.ok && dir && existsSync(dir) ? dir : undefined;
}

describe('server image (buildah + registry + podman)', { timeout: 1_500_000 }, () => {
  let registry: RegistryServer;
  const baseTag = 'localhost/node-base:test';
  const repo = () => `${registry.host}/switchboard/server`;
  const tag = () => `${repo()}:test-${process.pid}`;
  const images: string[] = [];
  const containers: string[] = [];
  let pushed: string;
  let container: string;
  let port: number;

  before(async () => {
    registry = await startRegistry();
  });

  after(async () => {
    for (const c of containers)
      await runTool('podman', ['rm', '--force', '--time', '0', c], { runner: zxRunner }).catch(
        () => undefined,
      );
    await removeImages(images.reverse(), zxRunner).catch((err: unknown) =>
      console.error('image cleanup:', err),
    );
    await registry?.stop();
  });

  test(
    'builds the Dockerfile on a local base: non-root, exec-form node, production dependencies only',
    { timeout: 1_200_000 },
    async () => {
      await buildBase({ tag: baseTag, runner: zxRunner });
      images.push(baseTag);
      const cache = await npmCacheDir();
      const built = await buildImage({
        context: repoRoot,
        tags: [tag()],
        buildArgs: {
          BASE_IMAGE: baseTag,
          REVISION: 'image-test-rev',
          ...(cache ? { NPM_CONFIG_PREFER_OFFLINE: 'true' } : {}),
        },
        labels: {
          'org.opencontainers.image.title': 'switchboard-server',
          'org.opencontainers.image.revision': 'test',
        },
        npmCache: cache,
        timeoutMs: 1_100_000,
        runner: zxRunner,
      });
      images.push(tag(), built.imageId);
      assert.match(built.digest, /^sha256:[0-9a-f]{64}$/);
      const config = await imageConfig(tag(), zxRunner);
      assert.equal(config.User, '1000:1000');
      assert.deepEqual(config.Cmd, ['node', 'server/dist/main.js']);
      assert.equal(config.Entrypoint, undefined);
      assert.ok(config.Env?.includes('NODE_ENV=production'));
      assert.equal(config.Labels?.['org.opencontainers.image.revision'], 'test');
      // What is inside: compiled server and its runtime dependencies; no sources, no dev tools.
      const probe = `const fs = require('fs');
      const has = (p) => fs.existsSync(p);
      let ts = false; try { require.resolve('typescript'); ts = true } catch {}
      console.log(JSON.stringify({ dist: has('server/dist/main.js'), migrate: has('server/dist/store/migrate.js'),
        src: has('server/src'), tests: has('server/test'), ws: has('node_modules/ws'), ts, uid: process.getuid() }))`;
      const { stdout } = await runTool(
        'podman',
        ['run', '--rm', ...podmanRunLimits, tag(), 'node', '-e', probe],
        { runner: zxRunner },
      );
      assert.deepEqual(JSON.parse(stdout), {
        dist: true,
        migrate: true,
        src: false,
        tests: false,
        ws: true,
        ts: false,
        uid: 1000,
      });
    },
  );

  test('pushes to the registry, which serves the same digest', async () => {
    const { digest } = await push(tag(), tag(), { tlsVerify: false, runner: zxRunner });
    assert.match(digest, /^sha256:[0-9a-f]{64}$/);
    const res = await fetch(`${registry.url}/v2/switchboard/server/manifests/test-${process.pid}`, {
      method: 'HEAD',
      headers: {
        accept:
          'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json',
      },
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('docker-content-digest'), digest);
    pushed = `${repo()}@${digest}`;
    // Run what the registry has, not the local build.
    await removeImages([tag()], zxRunner);
  });

  test('runs from the registry as Kubernetes would, and the official phoenix client joins and pushes', async () => {
    // Ports picked for the container; another process can bind one before it does (EADDRINUSE):
    // then it is removed and run again on other ports.
    ({ port, container } = await onFreePorts(2, async ([port, metricsPort]) => {
      const { stdout } = await runTool(
        'podman',
        [
          'run',
          '--detach',
          ...podmanRunLimits,
          '--tls-verify=false',
          '--network',
          'host',
          '--read-only',
          '--tmpfs',
          '/tmp',
          '--cap-drop',
          'ALL',
          '--security-opt',
          'no-new-privileges',
          '--env',
          `PORT=${port}`,
          '--env',
          `METRICS_PORT=${metricsPort}`,
          '--env',
          'HOST=127.0.0.1',
          '--env',
          `JWT_SECRET=${testSecrets.jwtSecret}`,
          '--env',
          `API_TOKEN=${testSecrets.apiToken}`,
          '--env',
          'DRAIN_WINDOW_MS=2000',
          '--env',
          'NODE_ID=image-test',
          pushed,
        ],
        { timeoutMs: 180_000, runner: zxRunner },
      );
      const container = stdout.trim();
      containers.push(container);
      const logs = () =>
        runTool('podman', ['logs', container], { runner: zxRunner }).then((r) => r.stdout + r.stderr);
      const deadline = Date.now() + 60_000;
      for (;;) {
        const [status, pid] = (
          await runTool('podman', ['inspect', '--format', '{{.State.Status}} {{.State.Pid}}', container], {
            runner: zxRunner,
          })
        ).stdout
          .trim()
          .split(' ');
        if (status !== 'running') {
          const out = await logs();
          const msg = `the container exited before it was ready:\n${out}`;
          await runTool('podman', ['rm', '--force', '--time', '0', container], { runner: zxRunner }).catch(
            () => undefined,
          );
          throw /EADDRINUSE/.test(out) ? new PortTakenError(msg) : new Error(msg);
        }
        // Ready, and node (PID 1 of the container, host network) holds both ports itself.
        const held = listeningPorts(Number(pid));
        const ok =
          held.includes(port!) &&
          held.includes(metricsPort!) &&
          (await fetch(`http://127.0.0.1:${metricsPort}/readyz`).then(
            (r) => r.ok,
            () => false,
          ));
        if (ok) break;
        if (Date.now() > deadline) throw new Error(`the container never became ready:\n${await logs()}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      // The REVISION build argument reached the running server (and the package version with it).
      const exported = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      assert.match(
        exported,
        /^switchboard_build_info\{version="\d+\.\d+\.\d+",revision="image-test-rev"\} 1$/m,
      );
      return { port: port!, container };
    }));

    const token = await signToken({ sub: 'image-test', join: ['room:*'], publish: ['room:*'] });
    const socket = new Socket(`ws://127.0.0.1:${port}/socket`, {
      transport: WebSocket as unknown as SocketConnectOption['transport'],
      params: { token },
      reconnectAfterMs: () => 60_000,
    });
    const closed = new Promise<number>((resolve) => socket.onClose((e: { code: number }) => resolve(e.code)));
    socket.connect();
    const channel = socket.channel('room:image', {});
    const joined = await within(
      10_000,
      'join reply',
      new Promise<string>((resolve) => {
        channel
          .join()
          .receive('ok', () => resolve('ok'))
          .receive('error', (r: unknown) => resolve(`error ${JSON.stringify(r)}`));
      }),
    );
    assert.equal(joined, 'ok');
    const broadcast = new Promise<unknown>((resolve) => channel.on('new_msg', resolve));
    const reply = await within(
      10_000,
      'push reply',
      new Promise<{ status: string; response: unknown }>((resolve) => {
        channel
          .push('new_msg', { body: 'from the image test' })
          .receive('ok', (response: unknown) => resolve({ status: 'ok', response }))
          .receive('error', (response: unknown) => resolve({ status: 'error', response }));
      }),
    );
    assert.deepEqual(reply, { status: 'ok', response: {} });
    assert.deepEqual(await within(10_000, 'broadcast', broadcast), { body: 'from the image test' });

    // SIGTERM to PID 1 (node itself): the server drains, closing sockets with 1012, and exits 0.
    await runTool('podman', ['stop', '--time', '30', container], { timeoutMs: 60_000, runner: zxRunner });
    assert.equal(await within(10_000, 'close frame', closed), 1012);
    socket.disconnect();
    const state = await runTool('podman', ['inspect', '--format', '{{.State.ExitCode}}', container], {
      runner: zxRunner,
    });
    assert.equal(state.stdout.trim(), '0');
    const logs = await runTool('podman', ['logs', container], { runner: zxRunner }).then(
      (r) => r.stdout + r.stderr,
    );
    assert.match(logs, /"msg":"draining"/);
    assert.match(logs, /"msg":"bye"/);
  });
});
