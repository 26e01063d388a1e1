// docs/troubleshooting.md quotes what the actions print: each quoted message must still be in the
// actions' source or the pipeline library's, so a reworded error cannot leave the doc describing a message nobody sees.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoRoot } from './validate-fixtures.js';

/** Literal parts of the messages the doc quotes (the parts without interpolated values). */
const quoted = [
  'Timed out after',
  'to be Synced at',
  'Resources not healthy:',
  'SLO gate ',
  'is unreachable: ',
  'check the headers input (e.g. "Authorization: Bearer <token>")',
  'Prometheus answered with warnings, so the value may be partial: ',
  'a gate query must aggregate to one',
  'the value is NaN (e.g. 0/0: no events in the window)',
  'no data: the query returned no series over ',
  '(no traffic, a metric that is not scraped, or a window shorter than two scrapes)',
  'no point had a value (no traffic in any window)',
  'no chart: ',
];

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory())
      return e.name === 'dist' || e.name === 'test' || e.name === 'testing' ? [] : sources(path);
    return e.name.endsWith('.ts') ? [readFileSync(path, 'utf8')] : [];
  });
}

test('every message docs/troubleshooting.md quotes is printed by an action', () => {
  const doc = readFileSync(join(repoRoot, 'docs/troubleshooting.md'), 'utf8');
  // The actions' own code and the pipeline library they run (its Prometheus and Argo CD clients).
  const code = [...sources(join(repoRoot, 'actions')), ...sources(join(repoRoot, 'pipeline/src'))].join('\n');
  assert.deepEqual(
    quoted.filter((q) => !doc.includes(q)),
    [],
    'quoted here but not in the doc',
  );
  assert.deepEqual(
    quoted.filter((q) => !code.includes(q)),
    [],
    'in the doc but printed by no action',
  );
});
