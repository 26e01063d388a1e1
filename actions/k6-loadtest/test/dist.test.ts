import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, it } from 'node:test';
import { signToken, startSwitchboard, type SwitchboardProcess } from '../../../testkit/src/index.js';
import { runActionProcess } from '../../../pipeline/src/testing/index.js';

const dist = fileURLToPath(new URL('../dist/index.js', import.meta.url));
const repo = fileURLToPath(new URL('../../../', import.meta.url));
let server: SwitchboardProcess;
before(async () => {
  server = await startSwitchboard({ LOG_LEVEL: 'warn' });
});
after(() => server?.stop());

/** A short fanout run on the Node runner against the test server. */
const fanout = async () => ({
  scenario: 'fanout',
  engine: 'node',
  url: server.socketUrl,
  token: await signToken({ sub: 'dist', join: ['room:*'], publish: ['room:*'] }),
  vus: 2,
  duration: '2s',
  env: 'ROOMS=1\nGRACEFUL_STOP=2s',
});

it('the committed bundle runs with plain `node dist/index.js` (engine node, bundled runner) and reports thresholds', async () => {
  const result = await runActionProcess(dist, {
    inputs: await fanout(),
    env: { GITHUB_WORKSPACE: repo, RUNNER_TEMP: mkdtempSync(join(tmpdir(), 'k6-dist-')) },
  });
  assert.equal(result.exitCode, 0, `${result.errors.join('\n')}\n${result.stderr}`);
  assert.equal(result.outputs.passed, 'true');
  assert.equal((JSON.parse(result.outputs.thresholds!) as unknown[]).length, 4);
  assert.match(result.summary, /Load test fanout: passed/);
});

it('the bundle as phase start and phase wait: the detached worker outlives the start step and wait reports it', async () => {
  const inputs = await fanout();
  const env = { GITHUB_WORKSPACE: repo, RUNNER_TEMP: mkdtempSync(join(tmpdir(), 'k6-dist-phases-')) };
  const started = await runActionProcess(dist, { inputs: { ...inputs, phase: 'start' }, env });
  assert.equal(started.exitCode, 0, `${started.errors.join('\n')}\n${started.stderr}`);
  assert.ok(started.outputs.handle, 'start gives a handle');
  // The start step's process has exited; its worker runs on.
  const waited = await runActionProcess(dist, {
    inputs: { phase: 'wait', handle: started.outputs.handle! },
    env,
  });
  assert.equal(waited.exitCode, 0, `${waited.errors.join('\n')}\n${waited.stderr}\n${waited.log}`);
  assert.equal(waited.outputs.passed, 'true');
  assert.equal(waited.outputs['started-at'], started.outputs['started-at']);
  assert.match(waited.summary, /Load test fanout: passed/);
});
