// Zero-config start (README, docs/getting-started.md): the server entry started with a clean
// environment in an empty working directory generates JWT_SECRET and API_TOKEN, prints the
// API token, and serves demo tokens; the printed token and a demo token work for real.
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { startProcess, tempDir } from '../../../testkit/src/index.js';
import { connect, eventually, join, next } from '../support/phoenix.js';

const serverMain = fileURLToPath(new URL('../../src/main.ts', import.meta.url));
/** tsx by absolute URL: a bare `--import tsx` resolves from the (empty) working directory. */
const tsx = import.meta.resolve('tsx');

test('started with no configuration, the server prints an API token that works and serves demo tokens', async () => {
  const cwd = tempDir('zero-config');
  // Only what any shell has, plus port 0 for both listeners (4000/9464 may be taken on a shared
  // machine); the ports bound are read back from the start-up log.
  const proc = startProcess(process.execPath, ['--import', tsx, serverMain], {
    cwd,
    logDir: cwd,
    name: 'zero-config',
    env: { PATH: process.env.PATH ?? '', HOME: cwd, PORT: '0', METRICS_PORT: '0' },
  });
  try {
    const apiToken = await eventually(
      'the printed API_TOKEN',
      () => /API_TOKEN for this run: ([^\s.]+)\./.exec(proc.output())?.[1],
      30_000,
    );
    const port = await eventually(
      'the listening line with the port bound',
      () => /"port":(\d+),"metricsPort":\d+.*switchboard listening/.exec(proc.output())?.[1],
      30_000,
    );
    const http = `http://127.0.0.1:${port}`;
    await eventually(
      'GET /demo/token answers 200',
      () =>
        fetch(`${http}/demo/token?user=zero`).then(
          (r) => r.ok,
          () => false,
        ),
      30_000,
    );
    const demo = (await (await fetch(`${http}/demo/token?user=zero`)).json()) as { token: string };
    const socket = await connect(`ws://127.0.0.1:${port}/socket`, { params: { token: demo.token } });
    try {
      const ch = socket.channel('room:zero', {});
      assert.equal((await join(ch)).status, 'ok');
      const got = next<{ body: string }>(ch, 'new_msg');
      const wrong = await fetch(`${http}/api/broadcast`, {
        method: 'POST',
        headers: { authorization: 'Bearer not-the-token' },
        body: JSON.stringify({ topic: 'room:zero', event: 'new_msg', payload: { body: 'no' } }),
      });
      assert.equal(wrong.status, 401);
      const res = await fetch(`${http}/api/broadcast`, {
        method: 'POST',
        headers: { authorization: `Bearer ${apiToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ topic: 'room:zero', event: 'new_msg', payload: { body: 'hi' } }),
      });
      assert.equal(res.status, 202, await res.text());
      assert.deepEqual(await got, { body: 'hi' });
    } finally {
      socket.disconnect();
    }
  } finally {
    await proc.stop('SIGTERM', 20_000);
  }
});
