import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { it } from 'node:test';
import { parse } from 'yaml';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const docs = readFileSync(`${repo}docs/actions.md`, 'utf8');

/** The `## <name>` section of docs/actions.md. */
function section(name: string): string {
  const start = docs.indexOf(`\n## ${name}\n`);
  assert.ok(start >= 0, `docs/actions.md has no "## ${name}" section`);
  const end = docs.indexOf('\n## ', start + 1);
  return docs.slice(start, end < 0 ? undefined : end);
}

for (const action of ['argocd-sync', 'preview-env']) {
  it(`docs/actions.md documents every input and output of ${action}, with a valid example step`, () => {
    const meta = parse(readFileSync(`${repo}actions/${action}/action.yml`, 'utf8')) as {
      inputs: Record<string, { description?: string }>;
      outputs: Record<string, { description?: string }>;
      runs: { using: string; main: string };
    };
    assert.deepEqual(meta.runs, { using: 'node24', main: 'dist/index.js' });
    const text = section(action);
    for (const [kind, entries] of [
      ['input', meta.inputs],
      ['output', meta.outputs],
    ] as const) {
      for (const [name, entry] of Object.entries(entries)) {
        assert.ok(entry.description, `${action} ${kind} ${name} has no description in action.yml`);
        assert.match(text, new RegExp(`\\| \`${name}\` +\\|`), `${action} ${kind} ${name} missing from docs`);
      }
    }
    const examples = [...text.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => parse(m[1]!) as unknown);
    assert.ok(examples.length > 0, 'no example');
    const uses = JSON.stringify(examples);
    assert.match(uses, new RegExp(`"uses":"\\./actions/${action}"`));
  });
}
