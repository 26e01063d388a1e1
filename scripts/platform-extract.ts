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
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs as parseNodeArgs } from 'node:util';
import { extractPlatform } from './lib/platform/extract.js';
import { loadPlatform } from './lib/platform/versions.js';

const usage = `Usage: npm run platform:extract [-- --mirror <dir>] [--check]

  --mirror <dir>  folder of snapshots <owner>+<name>/repo (default: $PLATFORM_MIRROR or /work/.mirror)
  --check         do not write: fail naming every extract that differs
  -h, --help      this text`;

interface Args {
  mirror: string;
  check: boolean;
}

function parseArgs(argv: string[]): Args {
  const { values } = parseNodeArgs({
    args: argv,
    options: {
      mirror: { type: 'string' },
      check: { type: 'boolean', default: false },
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
  };
}

// Generated files are listed in .prettierignore: the script's output is their only format.
const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
// Schemas are read by programs only; one line each keeps them small.
const compact = (value: unknown) => `${JSON.stringify(value)}\n`;

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const root = fileURLToPath(new URL('..', import.meta.url));
  const out = await extractPlatform(loadPlatform(root), args.mirror);
  const files = new Map<string, string>([
    ['platform/served-apis.json', json(out.served)],
    ['platform/k6-modules.json', json(out.k6Modules)],
    ['platform/node-schedule.json', json(out.nodeSchedule)],
  ]);
  for (const [name, schema] of out.schemas) files.set(`platform/schemas/${name}`, compact(schema));
  const schemaDir = join(root, 'platform/schemas');
  const existing = existsSync(schemaDir) ? readdirSync(schemaDir).map((f) => `platform/schemas/${f}`) : [];
  const stale = existing.filter((f) => !files.has(f));
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
  for (const f of existing) if (!files.has(f)) rmSync(join(root, f));
  for (const [path, text] of files) writeFileSync(join(root, path), text);
  console.log(`platform:extract: ${files.size} extracts written, ${stale.length} changed`);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
