import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { it } from 'node:test';
import { refusedPort } from '../../../testkit/src/index.js';
import { parseSummaryTables, runActionProcess } from '../../../pipeline/src/testing/index.js';

const dist = fileURLToPath(new URL('../dist/index.js', import.meta.url));
const repo = fileURLToPath(new URL('../../../', import.meta.url));

it('the committed bundle runs with plain `node dist/index.js`, reads the gate file and fails closed', async () => {
  const port = await refusedPort();
  const result = await runActionProcess(dist, {
    inputs: {
      'prometheus-url': `http://127.0.0.1:${port}`,
      window: '10m',
      selector: 'namespace="switchboard-staging"',
      headers: 'Authorization: Bearer dist-test-secret',
    },
    env: { GITHUB_WORKSPACE: repo },
  });
  assert.equal(result.exitCode, 1, result.stderr);
  assert.equal(result.outputs.verdict, 'inconclusive');
  assert.equal((JSON.parse(result.outputs.objectives!) as unknown[]).length, 8);
  assert.match(result.errors[0] ?? '', /unreachable/);
  assert.equal(parseSummaryTables(result.summary)[1]?.length, 9);
  assert.match(result.log, /^::add-mask::dist-test-secret$/m, 'the token is masked');
  assert.doesNotMatch(result.log.replace(/^::add-mask::.*$/gm, ''), /dist-test-secret/);
});
