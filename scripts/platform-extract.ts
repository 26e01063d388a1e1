#!/usr/bin/env -S npx tsx
// Regenerates the data extracts in platform/ from snapshots of the upstream repositories:
//   1. reads platform/versions.yaml (components, their tags and CRD paths; k6; pinned actions)
//   2. for each component, reads its CRD files at the tag from <mirror>/<owner>+<name>/repo
//      (a bare git directory, as the `fetch` tool or `git clone --mirror` leaves it)
//   3. writes platform/served-apis.json (group/Kind -> served versions, with repository, tag,
//      commit, path), platform/schemas/*.json (the openAPIV3Schemas validation uses) and
//      platform/k6-modules.json (k6's module registry at the pinned tag), platform/node-schedule.json
//      (Node.js's release schedule: LTS and end-of-life dates per major)
//   4. checks every pinned action's tag resolves to its recorded commit and runs on node24
// --check compares instead of writing, and exits 1 naming every stale file.
// --component <name> extracts one component of versions.yaml only (its snapshot alone is needed):
// its kinds in served-apis.json and its schemas, the other extracts left as they are.
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs as parseNodeArgs } from 'node:util';
import {
  extractComponent,
  extractPlatform,
  mergeServed,
  type SchemaFile,
  type ServedApisFile,
} from '../pipeline/src/platform/extract.js';
import type { Platform } from '../pipeline/src/platform/versions.js';
import { loadPlatform } from '../pipeline/src/platform/versions.js';
import { zxRunner } from './lib/zx.js';

const usage = `Usage: npm run platform:extract [-- --mirror <dir>] [--component <name>] [--check]

  --mirror <dir>  folder of snapshots <owner>+<name>/repo (default: $PLATFORM_MIRROR or /work/.mirror)
  --component <name>  only this component of platform/versions.yaml (e.g. keda): its served kinds
                  and schemas; needs only its snapshot
  --check         do not write: fail naming every extract that differs
  -h, --help      this text`;

interface Args {
  mirror: string;
  check: boolean;
  component?: string;
}

function parseArgs(argv: string[]): Args {
  const { values } = parseNodeArgs({
    args: argv,
    options: {
      mirror: { type: 'string' },
      check: { type: 'boolean', default: false },
      component: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(usage);
    process.exit(0);
  }
  return {
    mirror: values.mirror ?? process.env.PLATFORM_MIRROR ?? '/work/.mirror',
    check: values.check ?? false,
    ...(values.component === undefined ? {} : { component: values.component }),
  };
}

// Generated files are listed in .prettierignore: the script's output is their only format.
const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
// Schemas are read by programs only; one line each keeps them small.
const compact = (value: unknown) => `${JSON.stringify(value)}\n`;

/** Every extract file (path -> text), and the schema files it replaces. */
interface Outputs {
  files: Map<string, string>;
  /** Existing platform/schemas/ files that are this run's to keep or remove. */
  owned: string[];
}

async function allOutputs(platform: Platform, mirror: string, existing: string[]): Promise<Outputs> {
  const out = await extractPlatform(platform, mirror, zxRunner);
  const files = new Map<string, string>([
    ['platform/served-apis.json', json(out.served)],
    ['platform/k6-modules.json', json(out.k6Modules)],
    ['platform/node-schedule.json', json(out.nodeSchedule)],
  ]);
  for (const [name, schema] of out.schemas) files.set(`platform/schemas/${name}`, compact(schema));
  return { files, owned: existing };
}

async function componentOutputs(
  platform: Platform,
  name: string,
  mirror: string,
  root: string,
  existing: string[],
): Promise<Outputs> {
  const c = platform.components.find((x) => x.name === name);
  if (!c) {
    const names = platform.components.map((x) => x.name).join(', ');
    throw new Error(`--component ${name}: not a component of platform/versions.yaml (${names})`);
  }
  const one = await extractComponent(c, mirror, zxRunner);
  const servedPath = join(root, 'platform/served-apis.json');
  const current = JSON.parse(readFileSync(servedPath, 'utf8')) as ServedApisFile;
  const files = new Map([
    ['platform/served-apis.json', json(mergeServed(platform, current, c.name, one.kinds))],
  ]);
  for (const [file, schema] of one.schemas) files.set(`platform/schemas/${file}`, compact(schema));
  // This component's schema files are the ones read from its repository.
  const owned = existing.filter((f) => {
    const schema = JSON.parse(readFileSync(join(root, f), 'utf8')) as SchemaFile;
    return schema.source.repository === c.repository;
  });
  return { files, owned };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const root = fileURLToPath(new URL('..', import.meta.url));
  const platform = loadPlatform(root);
  const schemaDir = join(root, 'platform/schemas');
  const existing = existsSync(schemaDir) ? readdirSync(schemaDir).map((f) => `platform/schemas/${f}`) : [];
  const { files, owned } =
    args.component === undefined
      ? await allOutputs(platform, args.mirror, existing)
      : await componentOutputs(platform, args.component, args.mirror, root, existing);
  const stale = owned.filter((f) => !files.has(f));
  for (const [path, text] of files) {
    const full = join(root, path);
    if (existsSync(full) && readFileSync(full, 'utf8') === text) continue;
    stale.push(path);
  }
  if (args.check) {
    for (const f of stale) console.error(`stale: ${f} (run npm run platform:extract)`);
    if (stale.length > 0) process.exitCode = 1;
    else console.log(`platform:extract: ${files.size} extracts up to date`);
    return;
  }
  mkdirSync(schemaDir, { recursive: true });
  for (const f of owned) if (!files.has(f)) rmSync(join(root, f));
  for (const [path, text] of files) writeFileSync(join(root, path), text);
  console.log(`platform:extract: ${files.size} extracts written, ${stale.length} changed`);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
