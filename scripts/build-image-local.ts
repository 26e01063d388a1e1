#!/usr/bin/env -S npx tsx
// Builds the server image on this machine with buildah (docs/image.md):
//   1. unless --base names one, makes a Node base image from this machine (localhost/node-base:local)
//   2. builds the repository's Dockerfile on it, with the host npm cache mounted
//   3. with --push, pushes it and prints the registry digest to pin in an overlay
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs as parseNodeArgs } from 'node:util';
import { buildBase, buildImage, push } from '../pipeline/src/image/index.js';
import { $, run, zxRunner } from './lib/zx.js';

const usage = `Usage: npm run image:build -- [--tag <name>] [--base <image>] [--push <registry/name:tag>] [--insecure]

  --tag <name>      local image name (default localhost/switchboard/server:dev)
  --base <image>    BASE_IMAGE for the Dockerfile (default: build localhost/node-base:local from this machine)
  --push <dest>     push the result to dest and print its digest
  --insecure        push over plain HTTP / without verifying TLS (a test registry)
  -h, --help        this text`;

interface Args {
  tag: string;
  base?: string;
  push?: string;
  insecure: boolean;
}

function parseArgs(argv: string[]): Args {
  const { values } = parseNodeArgs({
    args: argv,
    options: {
      tag: { type: 'string', default: 'localhost/switchboard/server:dev' },
      base: { type: 'string' },
      push: { type: 'string' },
      insecure: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(usage);
    process.exit(0);
  }
  return { tag: values.tag ?? '', base: values.base, push: values.push, insecure: values.insecure ?? false };
}

async function npmCache(): Promise<string | undefined> {
  const dir = (await run($`npm config get cache`)).stdout.trim();
  return existsSync(dir) ? dir : undefined;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const root = fileURLToPath(new URL('..', import.meta.url));
  let base = args.base;
  if (!base) {
    base = (await buildBase({ tag: 'localhost/node-base:local', runner: zxRunner })).tag;
    console.log(`base image: ${base}`);
  }
  const cache = await npmCache();
  const started = Date.now();
  const built = await buildImage({
    context: root,
    tags: [args.tag],
    buildArgs: { BASE_IMAGE: base, ...(cache ? { NPM_CONFIG_PREFER_OFFLINE: 'true' } : {}) },
    npmCache: cache,
    runner: zxRunner,
  });
  console.log(`built ${args.tag} (${built.digest}) in ${Math.round((Date.now() - started) / 1000)} s`);
  if (args.push) {
    const { digest } = await push(args.tag, args.push, { tlsVerify: !args.insecure, runner: zxRunner });
    console.log(`pushed ${args.push.replace(/:[^/:]+$/, '')}@${digest}`);
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
