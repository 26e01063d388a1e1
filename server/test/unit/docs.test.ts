// The docs cannot drift from the code: every close code and every environment variable the
// server reads must be documented.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { closeCodeTable } from '../../src/protocol/close-codes.js';

const read = (rel: string) => readFileSync(new URL(rel, import.meta.url), 'utf8');

test('docs/protocol.md has a row for every close code, with its reason', () => {
  const doc = read('../../../docs/protocol.md');
  for (const c of closeCodeTable) {
    assert.match(
      doc,
      new RegExp(`^\\| ${c.code} \\| ${c.reason} +\\|`, 'm'),
      `close code ${c.code} is documented`,
    );
  }
});

test('docs/configuration.md has a row for every environment variable the server reads', () => {
  const doc = read('../../../docs/configuration.md');
  const sources = [
    '../../src/config.ts',
    '../../src/store/config.ts',
    '../../src/channels/hooks/config.ts',
    '../../src/webhooks/config.ts',
  ]
    .map(read)
    .join('\n');
  const names = new Set(
    [...sources.matchAll(/\b(?:read|int|url|bool)\('([A-Z][A-Z0-9_]+)'/g)].map((m) => m[1]!),
  );
  // signedEndpoint(env, problems, 'HOOKS', ...) reads HOOKS_URL and HOOKS_SECRET.
  for (const [, prefix] of sources.matchAll(/\bsignedEndpoint\(\s*env,\s*problems,\s*'([A-Z]+)'/g)) {
    names.add(`${prefix}_URL`);
    names.add(`${prefix}_SECRET`);
  }
  assert.ok(names.has('HOOKS_SECRET') && names.has('WEBHOOK_URL'), 'signedEndpoint variables found');
  assert.ok(names.size >= 20, `found the variables (${[...names].join(', ')})`);
  for (const name of names) {
    assert.match(doc, new RegExp(`^\\| \`${name}\` +\\|`, 'm'), `${name} is documented`);
  }
});
