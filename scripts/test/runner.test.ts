// The pipeline library's Runner, one suite run against both implementations: zx (scripts) and
// @actions/exec (actions). Real programs (sh, printf, cat, pwd, ldd); nothing is faked.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { hardNofileLimit, sharedLibraries } from '../../pipeline/src/image/index.js';
import { CommandError, runChecked } from '../../pipeline/src/runner.js';
import { RenderError, renderObjects } from '../../pipeline/src/validate/index.js';
import { zxRunner } from '../lib/zx.js';
import { kustomizeBuild } from '../../pipeline/src/kustomize/index.js';
import { actionsExecRunner, type Runner } from '../../pipeline/src/runner.js';

const runners: Runner[] = [zxRunner, actionsExecRunner];

for (const runner of runners) {
  describe(`Runner: ${runner.name}`, () => {
    test('each argument arrives as one word, with no shell reading it', async () => {
      const odd = ['a b', "it's", '$HOME', '; echo no', '*'];
      const out = await runner.run('printf', ['%s\\n', ...odd]);
      assert.equal(out.exitCode, 0);
      assert.deepEqual(out.stdout.trimEnd().split('\n'), odd);
    });

    test('a failure resolves with its exit code and output', async () => {
      const out = await runner.run('sh', ['-c', 'echo partial; echo broken >&2; exit 3']);
      assert.equal(out.exitCode, 3);
      assert.equal(out.stdout.trim(), 'partial');
      assert.equal(out.stderr.trim(), 'broken');
    });

    test('a program not on PATH is exit 127', async () => {
      const out = await runner.run('sb-no-such-program', ['x']);
      assert.equal(out.exitCode, 127);
    });

    test('cwd, env and input reach the program', async () => {
      const dir = realpathSync(mkdtempSync(join(tmpdir(), 'sb-runner-')));
      assert.equal((await runner.run('pwd', [], { cwd: dir })).stdout.trim(), dir);
      const env = { PATH: process.env.PATH, SB_RUNNER: 'seen' };
      assert.equal((await runner.run('sh', ['-c', 'echo $SB_RUNNER'], { env })).stdout.trim(), 'seen');
      assert.equal((await runner.run('cat', [], { input: 'to stdin' })).stdout, 'to stdin');
    });

    test('runChecked names the command, its exit code and the tail of its output', async () => {
      const script = 'for i in $(seq 1 40); do echo line$i >&2; done; exit 4';
      await assert.rejects(runChecked(runner, 'sh', ['-c', script]), (err: unknown) => {
        assert.ok(err instanceof CommandError);
        assert.equal(err.exitCode, 4);
        assert.match(err.message, /^sh -c 'for i in .*' failed \(exit 4\): line26\n/);
        assert.match(err.message, /line40$/);
        assert.doesNotMatch(err.message, /line25\n/);
        return true;
      });
    });

    test('the image library runs its tools through the runner it is given', async () => {
      assert.deepEqual(await hardNofileLimit(runner), await hardNofileLimit(zxRunner));
      const libs = await sharedLibraries(process.execPath, runner);
      assert.ok(
        libs.some((lib) => /libc\.so/.test(lib)),
        libs.join(', '),
      );
    });

    test("kustomizeBuild renders with kubectl through the runner, or names kubectl's error", async () => {
      const dir = mkdtempSync(join(tmpdir(), 'sb-runner-kustomize-'));
      writeFileSync(join(dir, 'kustomization.yaml'), 'resources: [cm.yaml]\n');
      writeFileSync(join(dir, 'cm.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n');
      assert.equal(
        await kustomizeBuild(dir, 'kubectl', runner),
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n',
      );
      writeFileSync(join(dir, 'kustomization.yaml'), 'resources: [missing.yaml]\n');
      await assert.rejects(kustomizeBuild(dir, 'kubectl', runner), (err: Error) => {
        assert.ok(err.message.startsWith(`kubectl kustomize ${dir} failed: `), err.message);
        assert.match(err.message, /missing\.yaml/);
        return true;
      });
      const missing = { path: join(dir, 'no-such-tool'), kind: 'kubectl' } as const;
      await assert.rejects(kustomizeBuild(dir, missing, runner), {
        message: /^cannot run .*no-such-tool: [\s\S]*\(install kubectl, which includes kustomize v5\)$/,
      });
    });

    test("the validation renders through the runner it is given, relative to cwd, or names kustomize's error", async () => {
      const root = mkdtempSync(join(tmpdir(), 'sb-runner-validate-'));
      const dir = join(root, 'overlay');
      mkdirSync(dir);
      writeFileSync(join(dir, 'kustomization.yaml'), 'resources: [cm.yaml]\n');
      writeFileSync(join(dir, 'cm.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n');
      const objects = await renderObjects('overlay', root, runner);
      assert.deepEqual(
        objects.map((o) => `${o.kind}/${o.metadata.name}`),
        ['ConfigMap/c'],
      );
      writeFileSync(join(dir, 'kustomization.yaml'), 'resources: [missing.yaml]\n');
      await assert.rejects(renderObjects('overlay', root, runner), (err: Error) => {
        assert.ok(err instanceof RenderError, String(err));
        assert.match(err.message, /^kubectl kustomize overlay failed: exit 1: [\s\S]*missing\.yaml/);
        return true;
      });
    });
  });
}

test('zx honours a timeout: the program is killed and the result says by which signal', async () => {
  const out = await zxRunner.run('sleep', ['30'], { timeoutMs: 200 });
  assert.equal(out.exitCode, null);
  assert.equal(out.signal, 'SIGKILL');
});
