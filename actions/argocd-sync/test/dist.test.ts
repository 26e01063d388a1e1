import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, it } from 'node:test';
import { runActionProcess, startFakeArgoCd, type FakeArgoCd } from '../../../pipeline/src/testing/index.js';

const dist = fileURLToPath(new URL('../dist/index.js', import.meta.url));
let argo: FakeArgoCd;
before(async () => {
  argo = await startFakeArgoCd();
  argo.addApplication({ name: 'web', history: ['a'.repeat(40)] });
});
after(() => argo.close());

it('the committed bundle runs with plain `node dist/index.js` and syncs', async () => {
  const result = await runActionProcess(dist, {
    inputs: {
      server: argo.url,
      token: 'test-token',
      application: 'web',
      revision: 'b'.repeat(40),
      'poll-interval-seconds': 0.01,
    },
  });
  assert.equal(result.exitCode, 0, `${result.errors.join('\n')}\n${result.stderr}`);
  assert.equal(result.outputs['sync-status'], 'Synced');
  assert.equal(result.outputs['health-status'], 'Healthy');
  assert.equal(result.outputs.revision, 'b'.repeat(40));
  assert.match(result.summary, /Argo CD sync: web/);
  argo.assertNoViolations();
});
