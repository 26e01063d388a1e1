// docs/observability.md cannot drift from the metric catalogue: every metric has a row.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { registry } from '../../src/telemetry/metrics.js';

test('docs/observability.md has a row for every switchboard metric', async () => {
  const doc = readFileSync(new URL('../../../docs/observability.md', import.meta.url), 'utf8');
  const names = (await registry.getMetricsAsJSON())
    .map((m) => m.name)
    .filter((n) => n.startsWith('switchboard_'));
  assert.ok(names.length >= 15, `found the metrics (${names.join(', ')})`);
  for (const name of names) {
    assert.match(doc, new RegExp(`^\\| \`${name}\` +\\|`, 'm'), `${name} is documented`);
  }
});
