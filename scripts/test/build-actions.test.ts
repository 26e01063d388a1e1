import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const script = join(repo, 'scripts', 'build-actions.ts');

/** Runs the build script as CI does: `node --import tsx scripts/build-actions.ts ...`. */
function buildActions(...args: string[]) {
  const result = spawnSync(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: repo,
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { status: result.status, out: `${result.stdout}${result.stderr}` };
}

describe('scripts/build-actions.ts on a fixture repository', () => {
  let root: string;
  const dist = () => join(root, 'actions', 'hello', 'dist', 'index.js');
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'build-actions-'));
    mkdirSync(join(root, 'actions', 'hello', 'src'), { recursive: true });
    mkdirSync(join(root, 'pipeline', 'src'), { recursive: true });
    writeFileSync(
      join(root, 'actions', 'hello', 'action.yml'),
      'name: hello\nruns:\n  using: node24\n  main: dist/index.js\n',
    );
    writeFileSync(join(root, 'actions', 'hello', 'package.json'), '{"type":"module"}\n');
    writeFileSync(
      join(root, 'pipeline', 'src', 'greet.ts'),
      'export const greet = (who: string): string => `hello ${who}`;\n',
    );
    writeFileSync(
      join(root, 'actions', 'hello', 'src', 'index.ts'),
      "import { greet } from '../../../pipeline/src/greet.js';\nconsole.log(greet('runner'));\n",
    );
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('reports a missing dist, builds it, and the bundle runs with plain node', () => {
    const missing = buildActions('--root', root, '--check');
    assert.equal(missing.status, 1);
    assert.match(missing.out, /actions\/hello\/dist\/index\.js is missing/);
    const built = buildActions('--root', root);
    assert.equal(built.status, 0, built.out);
    assert.match(built.out, /built actions\/hello\/dist\/index\.js/);
    const ran = spawnSync(process.execPath, [dist()], { encoding: 'utf8' });
    assert.equal(ran.stdout.trim(), 'hello runner');
  });

  it('is deterministic and --check passes on a fresh build', () => {
    const first = readFileSync(dist());
    assert.equal(buildActions('--root', root).status, 0);
    assert.ok(first.equals(readFileSync(dist())), 'two builds differ');
    const check = buildActions('--root', root, '--check');
    assert.equal(check.status, 0, check.out);
    assert.match(check.out, /ok {4}actions\/hello\/dist\//);
  });

  it('--check fails naming the stale dist when a source changed, including shared code', () => {
    writeFileSync(
      join(root, 'pipeline', 'src', 'greet.ts'),
      'export const greet = (who: string): string => `hi ${who}`;\n',
    );
    const check = buildActions('--root', root, '--check');
    assert.equal(check.status, 1);
    assert.match(check.out, /FAIL {2}actions\/hello\/dist\/index\.js is stale/);
    assert.match(check.out, /Run `npm run actions:build`/);
  });

  it("copies a data file a bundled module reads with new URL('./...', import.meta.url) beside the bundle, and checks it", () => {
    mkdirSync(join(root, 'pipeline', 'src', 'data'), { recursive: true });
    writeFileSync(join(root, 'pipeline', 'src', 'data', 'word.txt'), 'runner');
    writeFileSync(
      join(root, 'pipeline', 'src', 'greet.ts'),
      "import { readFileSync } from 'node:fs';\n" +
        "const word = readFileSync(new URL('./data/word.txt', import.meta.url), 'utf8');\n" +
        'export const greet = (who: string): string => `hello ${who} ${word}`;\n',
    );
    const built = buildActions('--root', root);
    assert.equal(built.status, 0, built.out);
    assert.match(built.out, /built actions\/hello\/dist\/data\/word\.txt/);
    const ran = spawnSync(process.execPath, [dist()], { encoding: 'utf8' });
    assert.equal(ran.stdout.trim(), 'hello runner runner', ran.stderr);
    writeFileSync(join(root, 'pipeline', 'src', 'data', 'word.txt'), 'changed');
    writeFileSync(join(root, 'actions', 'hello', 'dist', 'left-over.txt'), 'old');
    const check = buildActions('--root', root, '--check');
    assert.equal(check.status, 1);
    assert.match(check.out, /FAIL {2}actions\/hello\/dist\/data\/word\.txt is stale/);
    assert.match(check.out, /FAIL {2}actions\/hello\/dist\/left-over\.txt is extra/);
    assert.equal(buildActions('--root', root).status, 0);
    assert.equal(buildActions('--root', root, '--check').status, 0);
  });

  it('names the choices for an unknown action', () => {
    const check = buildActions('--root', root, '--check', 'helo');
    assert.equal(check.status, 1);
    assert.match(check.out, /no action "helo" under actions\/ \(actions: hello\)/);
  });

  it('refuses a bundle that carries zx, naming the import chain, and writes no dist for it', () => {
    // A stand-in zx package: the check goes by the package a bundled file belongs to.
    const files: [string, string][] = [
      ['node_modules/zx/package.json', '{"name":"zx","type":"module","main":"index.js"}\n'],
      ['node_modules/zx/index.js', 'export const $ = () => "zx";\n'],
      ['pipeline/src/tool.ts', "import { $ } from 'zx';\nexport const tool = (): string => $();\n"],
      [
        'actions/hello/src/index.ts',
        "import { tool } from '../../../pipeline/src/tool.js';\nconsole.log(tool());\n",
      ],
    ];
    for (const [path, text] of files) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), text);
    }
    const before = readFileSync(dist());
    const chain =
      /actions\/hello bundles zx through actions\/hello\/src\/index\.ts -> pipeline\/src\/tool\.ts -> node_modules\/zx\/index\.js\n.*take a Runner/;
    const built = buildActions('--root', root);
    assert.equal(built.status, 1, built.out);
    assert.match(built.out, chain);
    assert.ok(before.equals(readFileSync(dist())), 'the refused bundle was written');
    const check = buildActions('--root', root, '--check');
    assert.equal(check.status, 1, check.out);
    assert.match(check.out, /FAIL {2}actions\/hello bundles zx through/);
    assert.match(check.out, chain);
  });
});

describe('scripts/build-actions.ts on this repository', () => {
  it('the committed bundle of every action (with its data files) matches its sources', () => {
    const actions = readdirSync(join(repo, 'actions')).filter((a) =>
      existsSync(join(repo, 'actions', a, 'action.yml')),
    );
    assert.ok(actions.length >= 6, `actions found: ${actions.join(', ')}`);
    const check = buildActions('--check');
    assert.equal(check.status, 0, check.out);
    for (const a of actions) assert.match(check.out, new RegExp(`ok {4}actions/${a}/dist/`), a);
  });
});
