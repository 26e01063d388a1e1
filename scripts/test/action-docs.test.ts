// Each action's README.md is generated from its action.yml (scripts/gen-action-docs.ts) and up to date,
// and each action.yml is valid for GitHub's own action parser, branding included.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { NoOperationTraceWriter } from '@actions/workflow-parser';
import { parseAction } from '@actions/workflow-parser/actions/action-parser';
import { parse } from 'yaml';
import { findActions } from '../build-actions.js';
import { MAJOR_TAG, readmeFor, staleReadmes, USES_PREFIX, type ActionMetadata } from '../gen-action-docs.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const actions = findActions(repo);

/** Errors of GitHub's action.yml parser (@actions/workflow-parser: schema, allowed branding values). */
function actionErrors(content: string): string[] {
  const result = parseAction({ name: 'action.yml', content }, new NoOperationTraceWriter());
  return result.context.errors.getErrors().map((e) => e.message);
}

describe('action READMEs and metadata', () => {
  it('every README.md matches its action.yml (npm run actions:docs is up to date)', async () => {
    assert.deepEqual(await staleReadmes(repo, actions), [], 'run `npm run actions:docs` and commit');
  });

  for (const action of actions) {
    it(`${action}: action.yml passes GitHub's action parser, with branding; the README shows every input and output and a usable example`, () => {
      const text = readFileSync(join(repo, 'actions', action, 'action.yml'), 'utf8');
      assert.deepEqual(actionErrors(text), []);
      const meta = parse(text) as ActionMetadata;
      assert.ok(meta.branding?.icon && meta.branding.color, `${action} has no branding`);
      const readme = readFileSync(join(repo, 'actions', action, 'README.md'), 'utf8');
      for (const name of [...Object.keys(meta.inputs ?? {}), ...Object.keys(meta.outputs ?? {})]) {
        assert.match(readme, new RegExp(`^\\| \`${name}\` +\\|`, 'm'), `${name} missing from the README`);
      }
      const example = /```yaml\n([\s\S]*?)```/.exec(readme)?.[1];
      const steps = parse(example ?? '') as Array<{ uses: string; with?: Record<string, unknown> }>;
      assert.equal(steps[0]?.uses, `${USES_PREFIX}/${action}@${MAJOR_TAG}`);
      const required = Object.entries(meta.inputs ?? {}).filter(([, input]) => input.required === true);
      assert.deepEqual(
        Object.keys(steps[0]?.with ?? {}),
        required.map(([name]) => name),
      );
    });
  }

  it("GitHub's parser rejects an icon outside its Feather list and an unknown color (the check above has teeth)", () => {
    const text = readFileSync(join(repo, 'actions', 'slo-gate', 'action.yml'), 'utf8');
    const icon = /^ {2}icon: (.+)$/m.exec(text)?.[1];
    assert.ok(icon);
    // `key` is a Feather icon GitHub omits; `pink` is not a badge color.
    assert.match(
      actionErrors(text.replace(`icon: ${icon}`, 'icon: key')).join('\n'),
      /Unexpected value 'key'/,
    );
    assert.match(
      actionErrors(text.replace(/^ {2}color: .+$/m, '  color: pink')).join('\n'),
      /Unexpected value 'pink'/,
    );
  });

  it('--check names a README whose action.yml changed', async () => {
    const root = mkdtempSync(join(tmpdir(), 'action-docs-'));
    try {
      mkdirSync(join(root, 'actions', 'hello', 'src'), { recursive: true });
      writeFileSync(join(root, 'actions', 'hello', 'src', 'index.ts'), '');
      const yml = (description: string) =>
        `name: Hello\ndescription: ${description}\ninputs:\n  who:\n    description: Whom to greet, e.g. world.\n    required: true\nruns:\n  using: node24\n  main: dist/index.js\n`;
      writeFileSync(join(root, 'actions', 'hello', 'action.yml'), yml('Says hello.'));
      assert.deepEqual(await staleReadmes(root, ['hello']), ['actions/hello/README.md'], 'missing');
      const readme = await readmeFor(root, 'hello');
      assert.match(readme, /who: ["']world["']/);
      writeFileSync(join(root, 'actions', 'hello', 'README.md'), readme);
      assert.deepEqual(await staleReadmes(root, ['hello']), []);
      writeFileSync(join(root, 'actions', 'hello', 'action.yml'), yml('Says hello <loudly>.'));
      assert.deepEqual(await staleReadmes(root, ['hello']), ['actions/hello/README.md'], 'stale');
      assert.match(await readmeFor(root, 'hello'), /Says hello &lt;loudly&gt;\./);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
