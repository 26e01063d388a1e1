#!/usr/bin/env -S npx tsx
// Bundles every GitHub Action under actions/ into the dist/index.js that action.yml runs:
//   1. finds the actions: folders actions/<name>/ with both action.yml and src/index.ts, sorted
//      (pipeline/ is the library bundled into each action, not an action)
//   2. bundles src/index.ts with esbuild into one ESM file for Node 20+: every dependency inlined
//      (a runner has no node_modules), no source maps, module paths relative to the repository root,
//      so the bytes depend only on the sources and the lockfile, not on the machine
//   3. fails naming the import chain when a bundle would carry a package an action must not (zx: scripts
//      run programs with zx, actions with @actions/exec; shared domain code takes a Runner instead)
//   4. copies the data files the bundled modules read with `new URL('./file', import.meta.url)` (e.g. the
//      validation's CRD schema) to the same relative path beside dist/index.js, where that URL resolves
//   5. default: writes actions/<name>/dist/
//      --check: builds into a temporary directory, compares with the committed dist/ (every file), prints every
//      stale or missing bundle with the fix, and exits 1 if there is any (CI runs this)
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs as parseNodeArgs } from 'node:util';
import { build, type Metafile } from 'esbuild';

const usage = `Usage: npm run actions:build [-- <action>...]
       npm run actions:check-dist [-- <action>...]

  <action>       only these actions (folder names under actions/), e.g. argocd-sync
  --check        do not write: fail naming every dist/index.js that differs from a fresh build
  --root <dir>   repository root (default: this script's parent folder; tests use a fixture)
  -h, --help     this text`;

interface Args {
  check: boolean;
  root: string;
  actions: string[];
}

/** One action's bundle that does not match its sources. */
export interface StaleDist {
  action: string;
  /** Repository-relative path of the committed bundle. */
  dist: string;
  reason: 'missing' | 'stale' | 'extra' | 'forbidden';
  /** For `forbidden`: the package and the import chain that brings it in (ForbiddenImportError). */
  detail?: string;
}

function parseArgs(argv: string[]): Args {
  const { values, positionals } = parseNodeArgs({
    args: argv,
    allowPositionals: true,
    options: {
      check: { type: 'boolean', default: false },
      root: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(usage);
    process.exit(0);
  }
  const root = resolve(values.root ?? fileURLToPath(new URL('..', import.meta.url)));
  return { check: values.check ?? false, root, actions: positionals };
}

/** Action folder names under `<root>/actions` (with action.yml and src/index.ts), sorted. */
export function findActions(root: string): string[] {
  const dir = join(root, 'actions');
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .filter(
      (name) => existsSync(join(dir, name, 'action.yml')) && existsSync(join(dir, name, 'src', 'index.ts')),
    )
    .sort();
}

/** Picks `wanted` from the actions found, or all of them; an unknown name is an error naming the choices. */
export function selectActions(root: string, wanted: string[]): string[] {
  const all = findActions(root);
  for (const name of wanted) {
    if (!all.includes(name))
      throw new Error(`no action "${name}" under actions/ (actions: ${all.join(', ')})`);
  }
  return wanted.length > 0 ? [...wanted].sort() : all;
}

/** `new URL('./x', import.meta.url)` with a literal relative path: a data file read beside the module. */
const ASSET_URL = /new URL\(\s*'(\.\/[^']+)'\s*,\s*import\.meta\.url\s*\)/g;

/**
 * Bundled dependencies that read a file from `__dirname + '/' + name`: module -> those files, copied to
 * dist/ (where __dirname points in the bundle). re2-wasm (Apache-2.0), which @kubernetes-models/validate
 * uses for schema `pattern`s, loads its WebAssembly build this way (build/wasm/re2.js, locateFile).
 */
const PACKAGE_ASSETS = new Map<string, string[]>([['node_modules/re2-wasm/build/wasm/re2.js', ['re2.wasm']]]);

/**
 * Packages no action bundle may contain: package -> why, and what to do instead. zx is how scripts run
 * programs; on a runner an action runs them through @actions/exec (the toolkit's convention), so a
 * module both import takes a Runner (pipeline/src/runner.ts) and never imports scripts/lib/zx.ts.
 */
const FORBIDDEN_PACKAGES = new Map<string, string>([
  [
    'zx',
    'scripts run programs with zx, actions with @actions/exec: make the module take a Runner ' +
      '(pipeline/src/runner.ts) and pass actionsExecRunner from the action instead of importing scripts/lib/zx.ts',
  ],
]);

/** The package a bundled input belongs to (`zx` for node_modules/zx/build/index.js), else undefined. */
function packageOf(input: string): string | undefined {
  const match = /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
  return match?.[1];
}

/**
 * For each forbidden package the bundle of `entry` contains, the shortest import chain from the entry
 * to it, e.g. `actions/a/src/index.ts -> pipeline/src/image/exec.ts -> scripts/lib/zx.ts -> node_modules/zx/...`.
 */
export function forbiddenImports(metafile: Metafile, entry: string): { pkg: string; chain: string[] }[] {
  const found: { pkg: string; chain: string[] }[] = [];
  const from = new Map<string, string | null>([[entry, null]]);
  const queue = [entry];
  for (let i = 0; i < queue.length; i++) {
    const input = queue[i] ?? '';
    const pkg = packageOf(input);
    if (pkg !== undefined && FORBIDDEN_PACKAGES.has(pkg)) {
      if (!found.some((f) => f.pkg === pkg)) {
        const chain: string[] = [];
        for (let at: string | null | undefined = input; at; at = from.get(at)) chain.unshift(at);
        found.push({ pkg, chain });
      }
      continue;
    }
    for (const imported of metafile.inputs[input]?.imports ?? []) {
      if (imported.external || from.has(imported.path)) continue;
      from.set(imported.path, input);
      queue.push(imported.path);
    }
  }
  return found;
}

/** An action's bundle would contain a package no action may carry (FORBIDDEN_PACKAGES). */
export class ForbiddenImportError extends Error {
  readonly code = 'ERR_FORBIDDEN_IMPORT';
  constructor(
    readonly action: string,
    readonly imports: { pkg: string; chain: string[] }[],
  ) {
    super(
      imports
        .map(
          ({ pkg, chain }) =>
            `actions/${action} bundles ${pkg} through ${chain.join(' -> ')}\n  ${FORBIDDEN_PACKAGES.get(pkg) ?? ''}`,
        )
        .join('\n'),
    );
    this.name = 'ForbiddenImportError';
  }
}

/**
 * Bundles one action's src/index.ts into `<outdir>/index.js` and copies the data files its modules read
 * relative to themselves into `outdir` at the same relative path (in the bundle, import.meta.url is
 * dist/index.js). Returns the files written, relative to `outdir`, sorted. Deterministic for a given tree
 * and lockfile. Throws naming the import chain when the bundle would contain a forbidden package (zx).
 */
export async function bundleAction(root: string, action: string, outdir: string): Promise<string[]> {
  const result = await build({
    absWorkingDir: root,
    entryPoints: [`actions/${action}/src/index.ts`],
    outfile: join(outdir, 'index.js'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: false,
    minify: false,
    legalComments: 'eof',
    charset: 'utf8',
    logLevel: 'silent',
    metafile: true,
    define: { __dirname: '__switchboardDirname' },
    banner: {
      js: [
        `// Generated by scripts/build-actions.ts from actions/${action}/src: do not edit, run \`npm run actions:build\`.`,
        // Bundled CommonJS dependencies call require(); ESM output needs one.
        "import { createRequire as __switchboardCreateRequire } from 'node:module';",
        'const require = __switchboardCreateRequire(import.meta.url);',
        // ...and some find their data files through __dirname (see PACKAGE_ASSETS): dist/.
        "import { fileURLToPath as __switchboardFileURLToPath } from 'node:url';",
        "const __switchboardDirname = __switchboardFileURLToPath(new URL('.', import.meta.url));",
      ].join('\n'),
    },
  });
  const forbidden = forbiddenImports(result.metafile, `actions/${action}/src/index.ts`);
  if (forbidden.length > 0) throw new ForbiddenImportError(action, forbidden);
  const files = new Set(['index.js']);
  for (const [module, assets] of PACKAGE_ASSETS) {
    if (!(module in result.metafile.inputs)) continue;
    for (const asset of assets) {
      copyFileSync(join(root, dirname(module), asset), join(outdir, asset));
      files.add(asset);
    }
  }
  for (const input of Object.keys(result.metafile.inputs).sort()) {
    const source = join(root, input);
    if (!/\.[cm]?[jt]s$/.test(input) || !existsSync(source)) continue;
    for (const match of readFileSync(source, 'utf8').matchAll(ASSET_URL)) {
      const asset = join(dirname(source), match[1] ?? '');
      if (!existsSync(asset) || !statSync(asset).isFile()) continue;
      const name = relative(dirname(source), asset);
      if (files.has(name)) throw new Error(`${action}: two bundled modules read a data file at ./${name}`);
      mkdirSync(dirname(join(outdir, name)), { recursive: true });
      copyFileSync(asset, join(outdir, name));
      files.add(name);
    }
  }
  return [...files].sort();
}

/** Files under `dir`, relative to it, sorted. */
function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return (readdirSync(dir, { recursive: true }) as string[])
    .filter((f) => statSync(join(dir, f)).isFile())
    .map((f) => f.split('\\').join('/'))
    .sort();
}

/**
 * Writes `actions/<name>/dist/` for each action (stale files removed); returns the repository-relative paths.
 * An action whose bundle carries a forbidden package is not written; the others are, and then one error
 * names every such action.
 */
export async function buildActions(root: string, actions: string[]): Promise<string[]> {
  const written: string[] = [];
  const forbidden: ForbiddenImportError[] = [];
  for (const action of actions) {
    const dist = join('actions', action, 'dist');
    const scratch = mkdtempSync(join(tmpdir(), 'build-actions-'));
    try {
      const files = await bundleAction(root, action, scratch);
      rmSync(join(root, dist), { recursive: true, force: true });
      for (const file of files) {
        mkdirSync(dirname(join(root, dist, file)), { recursive: true });
        copyFileSync(join(scratch, file), join(root, dist, file));
        written.push(join(dist, file));
      }
    } catch (error) {
      if (!(error instanceof ForbiddenImportError)) throw error;
      forbidden.push(error);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  }
  if (forbidden.length > 0) throw new Error(forbidden.map((e) => e.message).join('\n'));
  return written;
}

/**
 * Rebuilds into a temp dir and lists every committed dist/ file that is missing, differs or is extra, and
 * every action whose bundle would carry a forbidden package (zx).
 */
export async function checkDist(root: string, actions: string[]): Promise<StaleDist[]> {
  const scratch = mkdtempSync(join(tmpdir(), 'check-dist-'));
  try {
    const stale: StaleDist[] = [];
    for (const action of actions) {
      const fresh = join(scratch, action);
      let files: string[];
      try {
        files = await bundleAction(root, action, fresh);
      } catch (error) {
        if (!(error instanceof ForbiddenImportError)) throw error;
        const dist = join('actions', action, 'dist', 'index.js');
        stale.push({ action, dist, reason: 'forbidden', detail: error.message });
        continue;
      }
      const committedDir = join(root, 'actions', action, 'dist');
      for (const file of files) {
        const dist = join('actions', action, 'dist', file);
        const committedPath = join(root, dist);
        if (!existsSync(committedPath)) stale.push({ action, dist, reason: 'missing' });
        else if (!readFileSync(committedPath).equals(readFileSync(join(fresh, file))))
          stale.push({ action, dist, reason: 'stale' });
      }
      for (const file of listFiles(committedDir)) {
        if (!files.includes(file))
          stale.push({ action, dist: join('actions', action, 'dist', file), reason: 'extra' });
      }
    }
    return stale;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const actions = selectActions(args.root, args.actions);
  if (actions.length === 0) throw new Error(`no actions found under ${join(args.root, 'actions')}`);
  if (!args.check) {
    for (const dist of await buildActions(args.root, actions)) console.log(`built ${dist}`);
    return;
  }
  const stale = await checkDist(args.root, actions);
  for (const action of actions) {
    const problems = stale.filter((s) => s.action === action);
    if (problems.length === 0) console.log(`ok    actions/${action}/dist/`);
    for (const p of problems)
      console.log(
        p.reason === 'forbidden' ? `FAIL  ${p.detail ?? p.dist}` : `FAIL  ${p.dist} is ${p.reason}`,
      );
  }
  const outdated = stale.filter((s) => s.reason !== 'forbidden');
  if (outdated.length > 0) {
    console.error(
      `\n${outdated.length} action bundle(s) do not match their sources: ${outdated.map((s) => s.dist).join(', ')}.\n` +
        'Run `npm run actions:build` and commit the dist/ changes.',
    );
  }
  if (outdated.length < stale.length) {
    const actionsNamed = stale.filter((s) => s.reason === 'forbidden').map((s) => `actions/${s.action}`);
    console.error(`\n${actionsNamed.join(', ')} would bundle a package no action may carry (above).`);
  }
  if (stale.length > 0) process.exitCode = 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
