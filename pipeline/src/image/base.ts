// Builds a minimal Node.js base image from this machine's own files, for builds that cannot pull
// from a public registry (this workplace has no registry access except npm and Debian):
//   1. lay out a root filesystem in a temp dir: the node binary (process.execPath) and the shared
//      libraries ldd lists for it, /bin/sh (for Dockerfile RUN lines) and /usr/bin/env (for
//      `#!/usr/bin/env node` scripts such as node_modules/.bin/tsc) with their libraries, npm with
//      npm/npx wrappers, the CA bundle, /etc/passwd and /etc/group with root and node (1000),
//      /tmp (1777) and /home/node (owned by 1000)
//   2. `buildah from scratch`, copy the tree in, set PATH and the CA environment, commit
// The layout mirrors the official node images (/usr/local/bin/node, /usr/local/lib/node_modules/npm),
// so a Dockerfile written for `node:<major>-*-slim` builds on it unchanged. It ships this machine's node, so
// the image test runs the server on that version (Node 20 here), the Dockerfile's default is Node 24.
import {
  chmodSync,
  copyFileSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Runner } from '../runner.js';
import { runTool } from './exec.js';

export interface BaseImageOptions {
  /** Image name to commit (default `localhost/node-base:test`). */
  tag?: string;
  /** The node binary to ship (default: the one running this code). */
  nodeBinary?: string;
  /** npm's package directory (default: lib/node_modules/npm next to the node binary's prefix). */
  npmDir?: string;
  /** CA bundle to trust (default Debian's /etc/ssl/certs/ca-certificates.crt). */
  caBundle?: string;
  /** Shell for RUN instructions (default /bin/sh). */
  shell?: string;
  timeoutMs?: number;
  /** Who runs ldd and buildah: scripts pass zxRunner, the build-image action actionsExecRunner. */
  runner: Runner;
}

export interface BuiltBase {
  tag: string;
  imageId: string;
}

/** Absolute paths of the shared libraries (and the loader) `binary` needs, from ldd. */
export async function sharedLibraries(binary: string, runner: Runner): Promise<string[]> {
  const { stdout } = await runTool('ldd', [binary], { runner });
  const libs = new Set<string>();
  for (const line of stdout.split('\n')) {
    const m = /(?:=>\s+)?(\/\S+)\s+\(0x[0-9a-f]+\)/.exec(line);
    if (m?.[1]) libs.add(m[1]);
  }
  if (libs.size === 0 && !/statically linked|not a dynamic/.test(stdout)) {
    throw new Error(`ldd ${binary} listed no libraries:\n${stdout}`);
  }
  return [...libs];
}

function copyInto(root: string, hostPath: string, imagePath = hostPath): void {
  const dest = join(root, imagePath);
  mkdirSync(dirname(dest), { recursive: true });
  copyFileSync(realpathSync(hostPath), dest);
}

function defaultNpmDir(node: string): string {
  // /usr/bin/node -> /usr/lib/node_modules/npm; /usr/local/bin/node -> /usr/local/lib/node_modules/npm
  return join(dirname(dirname(node)), 'lib', 'node_modules', 'npm');
}

/** Lays out the base image's root filesystem in `root`. */
export async function layoutBaseRootfs(root: string, opts: BaseImageOptions): Promise<void> {
  const node = realpathSync(opts.nodeBinary ?? process.execPath);
  const shell = opts.shell ?? '/bin/sh';
  copyInto(root, node, '/usr/local/bin/node');
  chmodSync(join(root, 'usr/local/bin/node'), 0o755);
  copyInto(root, shell, '/bin/sh');
  chmodSync(join(root, 'bin/sh'), 0o755);
  copyInto(root, '/usr/bin/env');
  chmodSync(join(root, 'usr/bin/env'), 0o755);
  const libs = new Set<string>();
  for (const binary of [node, realpathSync(shell), realpathSync('/usr/bin/env')]) {
    for (const lib of await sharedLibraries(binary, opts.runner)) libs.add(lib);
  }
  for (const lib of libs) copyInto(root, lib);
  const npmDir = opts.npmDir ?? defaultNpmDir(node);
  cpSync(npmDir, join(root, 'usr/local/lib/node_modules/npm'), { recursive: true, dereference: true });
  for (const [name, cli] of [
    ['npm', 'npm-cli.js'],
    ['npx', 'npx-cli.js'],
  ] as const) {
    const wrapper = join(root, 'usr/local/bin', name);
    writeFileSync(
      wrapper,
      `#!/bin/sh\nexec /usr/local/bin/node /usr/local/lib/node_modules/npm/bin/${cli} "$@"\n`,
    );
    chmodSync(wrapper, 0o755);
  }
  copyInto(root, opts.caBundle ?? '/etc/ssl/certs/ca-certificates.crt', '/etc/ssl/certs/ca-certificates.crt');
  mkdirSync(join(root, 'etc'), { recursive: true });
  writeFileSync(
    join(root, 'etc/passwd'),
    'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000:node:/home/node:/bin/sh\n',
  );
  writeFileSync(join(root, 'etc/group'), 'root:x:0:\nnode:x:1000:\n');
  writeFileSync(join(root, 'etc/nsswitch.conf'), 'passwd: files\ngroup: files\nhosts: files dns\n');
  for (const [dir, mode] of [
    ['tmp', 0o1777],
    ['root', 0o700],
  ] as const) {
    mkdirSync(join(root, dir), { recursive: true });
    chmodSync(join(root, dir), mode);
  }
}

/** Builds the base image with buildah and commits it as `tag`. */
export async function buildBase(opts: BaseImageOptions): Promise<BuiltBase> {
  const tag = opts.tag ?? 'localhost/node-base:test';
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const runner = opts.runner;
  const root = mkdtempSync(join(tmpdir(), 'sb-base-rootfs-'));
  const home = mkdtempSync(join(tmpdir(), 'sb-base-home-'));
  let container: string | undefined;
  try {
    await layoutBaseRootfs(root, opts);
    container = (await runTool('buildah', ['from', 'scratch'], { timeoutMs, runner })).stdout.trim();
    await runTool('buildah', ['copy', '--quiet', container, `${root}/.`, '/'], { timeoutMs, runner });
    await runTool(
      'buildah',
      ['copy', '--quiet', '--chown', '1000:1000', container, `${home}/.`, '/home/node'],
      { timeoutMs, runner },
    );
    await runTool(
      'buildah',
      [
        'config',
        '--env',
        'PATH=/usr/local/bin:/usr/bin:/bin',
        // Trust the bundle's roots in node too (npm behind a TLS-inspecting proxy, private CAs).
        '--env',
        'NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt',
        '--env',
        'SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt',
        '--cmd',
        'node',
        '--label',
        `org.opencontainers.image.description=Node.js ${process.version} from the build host (pipeline/src/image/base.ts)`,
        container,
      ],
      { timeoutMs, runner },
    );
    const { stdout } = await runTool('buildah', ['commit', '--quiet', '--rm', container, tag], {
      timeoutMs,
      runner,
    });
    container = undefined;
    return { tag, imageId: stdout.trim() };
  } finally {
    if (container) await runTool('buildah', ['rm', container], { runner }).catch(() => undefined);
    rmSync(root, { recursive: true, force: true });
    rmSync(home, { recursive: true, force: true });
  }
}
