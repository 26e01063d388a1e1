// Every input an action.yml declares is set by at least one test of that action. An input no test sets
// can be ignored by the code (a typo in `core.getInput`, a default that wins) and nothing notices.
// "Set" is read from the test sources: a property key (or `inputEnvName('name')`, `INPUT_NAME`) equal to
// the input's name in a file under actions/<action>/test/. That is a lower bound on coverage: it proves
// a test passes the input, and the tests that set it are meant to fail when it is ignored.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import ts from 'typescript';
import { parse } from 'yaml';
import { findActions } from '../build-actions.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));

/** Declared input names of one action.yml, in file order. */
function declaredInputs(action: string): string[] {
  const meta = parse(readFileSync(join(repo, 'actions', action, 'action.yml'), 'utf8')) as {
    inputs?: Record<string, unknown>;
  };
  return Object.keys(meta.inputs ?? {});
}

/** TypeScript files below a folder, recursively. */
function testSources(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => join(dir, f));
}

/**
 * Names a test source sets as inputs: keys of object literals (quoted, bare or shorthand), the argument
 * of `inputEnvName('…')` and `INPUT_…` environment names. The keys of runAction's options object
 * (`{ inputs, env }`) are not inputs and are left out.
 */
export function namesSetIn(source: string): Set<string> {
  const names = new Set<string>();
  const file = ts.createSourceFile('test.ts', source, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const keyOf = (p: ts.ObjectLiteralElementLike): string | undefined => {
    if (ts.isShorthandPropertyAssignment(p)) return p.name.text;
    if (ts.isPropertyAssignment(p) && (ts.isIdentifier(p.name) || ts.isStringLiteral(p.name))) {
      return p.name.text;
    }
    return undefined;
  };
  const visit = (node: ts.Node): void => {
    if (ts.isObjectLiteralExpression(node)) {
      const keys = node.properties.map(keyOf);
      if (!keys.includes('inputs')) for (const key of keys) if (key !== undefined) names.add(key);
    } else if (
      ts.isCallExpression(node) &&
      ts.isIdentifier(node.expression) &&
      node.expression.text === 'inputEnvName' &&
      node.arguments[0] !== undefined &&
      ts.isStringLiteral(node.arguments[0])
    ) {
      names.add(node.arguments[0].text);
    } else if (
      ts.isStringLiteral(node) ||
      ts.isNoSubstitutionTemplateLiteral(node) ||
      ts.isIdentifier(node)
    ) {
      for (const m of node.text.matchAll(/\bINPUT_([A-Z0-9_-]+)/g)) names.add(m[1]!.toLowerCase());
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return names;
}

/** Inputs of `action` that no file under actions/<action>/test sets. */
function uncoveredInputs(action: string): string[] {
  const set = new Set<string>();
  for (const path of testSources(join(repo, 'actions', action, 'test'))) {
    for (const name of namesSetIn(readFileSync(path, 'utf8'))) set.add(name);
  }
  return declaredInputs(action).filter((name) => !set.has(name));
}

/**
 * Inputs no test sets yet (issue 20, section 2). The test below fails when an input is missing from
 * both the tests and this list, and when a listed input has gained a test (then delete it here), so the
 * list only shrinks.
 */
const NOT_YET_COVERED = new Map<string, string[]>([
  ['build-image', ['labels', 'title', 'cache', 'cache-scope', 'podman']],
  [
    'render-manifests',
    ['new-name', 'deploy-branch', 'token', 'kustomize', 'source-revision', 'git-user-name', 'git-user-email'],
  ],
]);

describe('action inputs covered by tests', () => {
  it('the scan finds inputs in object keys, inputEnvName() and INPUT_ names, and not runAction option keys', () => {
    const source = `
      runAction(run, { inputs: { 'dex-url': 'x', revision }, env: { 'INPUT_APP-NAMESPACE': 'a' } });
      const extra = { prune: true };
      process.env[inputEnvName('kube-context')] = 'kind';`;
    assert.deepEqual(
      [...namesSetIn(source)].sort(),
      ['INPUT_APP-NAMESPACE', 'app-namespace', 'dex-url', 'kube-context', 'prune', 'revision'].sort(),
    );
    assert.ok(!namesSetIn('runAction(run, { inputs: given, env: {} })').has('env'));
  });

  for (const action of findActions(repo)) {
    it(`${action}: every input in action.yml is set by one of its tests`, () => {
      const missing = uncoveredInputs(action);
      const listed = NOT_YET_COVERED.get(action) ?? [];
      const unlisted = missing.filter((name) => !listed.includes(name));
      assert.deepEqual(unlisted, [], `no test in actions/${action}/test sets: ${unlisted.join(', ')}`);
      const nowCovered = listed.filter((name) => !missing.includes(name));
      assert.deepEqual(
        nowCovered,
        [],
        `now set by a test, remove from NOT_YET_COVERED: ${nowCovered.join(', ')}`,
      );
    });
  }
});
