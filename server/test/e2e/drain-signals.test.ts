// The drain paths of docs/protocol.md ("Shutdown (drain)") that lifecycle.test.ts does not take,
// against the server as a real child process: SIGINT drains as SIGTERM does (switchboard_draining
// is 1 on /metrics meanwhile, upgrades get 503, clients get 1012, exit 0), and a second signal
// during the drain exits at once with code 1; a shutdown stuck past its hard deadline (the drain
// window plus 8 s) exits 1.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  signToken,
  startPostgres,
  startSwitchboard,
  startTcpProxy,
  testSecrets,
} from '../../../testkit/src/index.js';
import { eventually, within } from '../support/phoenix.js';
import { openRaw, upgradeStatus } from '../support/raw-client.js';

/** The switchboard_draining sample; undefined when absent or when /metrics does not answer. */
async function drainingGauge(metricsUrl: string): Promise<number | undefined> {
  const text = await fetch(`${metricsUrl}/metrics`).then(
    (r) => r.text(),
    () => '',
  );
  const line = text.split('\n').find((l) => l.startsWith('switchboard_draining '));
  return line === undefined ? undefined : Number(line.slice('switchboard_draining '.length));
}

test('SIGINT drains like SIGTERM: draining gauge 1, upgrades 503, clients closed with 1012, exit 0', async () => {
  const sb = await startSwitchboard({ DRAIN_WINDOW_MS: '4000', LOG_LEVEL: 'info' });
  const token = await signToken({ sub: 'interrupted', join: ['room:*'] });
  const clients = await Promise.all([1, 2, 3, 4].map(() => openRaw(sb.socketUrl, token)));
  assert.equal(await drainingGauge(sb.metricsUrl), 0, 'not draining before the signal');
  const exited = sb.stop('SIGINT');
  await eventually('switchboard_draining is 1', async () => (await drainingGauge(sb.metricsUrl)) === 1);
  assert.equal(await upgradeStatus(sb.socketUrl, token), 503, 'upgrades refused while draining');
  const { code } = await exited;
  assert.equal(code, 0);
  const closes = await Promise.all(clients.map((c) => c.closed));
  assert.deepEqual(new Set(closes.map((c) => c.code)), new Set([1012]));
  assert.match(sb.output(), /"signal":"SIGINT".*"msg":"shutdown requested"/);
  assert.match(sb.output(), /"msg":"bye"/);
});

test('a second signal during the drain exits at once with code 1', async () => {
  // A long window: without the second signal the drain would take 20 s or more.
  const sb = await startSwitchboard({ DRAIN_WINDOW_MS: '20000', LOG_LEVEL: 'info' });
  const token = await signToken({ sub: 'impatient', join: ['room:*'] });
  const clients = await Promise.all([1, 2, 3].map(() => openRaw(sb.socketUrl, token)));
  const exited = sb.proc.exited;
  sb.proc.child.kill('SIGTERM');
  await eventually('draining', () => /"msg":"draining"/.test(sb.output()));
  const second = Date.now();
  sb.proc.child.kill('SIGTERM');
  const { code } = await within(30_000, 'the exit after the second signal', exited);
  const took = Date.now() - second;
  assert.equal(code, 1);
  assert.ok(took < 5000, `exited ${took} ms after the second signal (the window is 20 s)`);
  assert.match(sb.output(), /second signal during shutdown: exiting now/);
  for (const c of clients) c.ws.terminate();
});

test('a shutdown stuck past its hard deadline (drain window + 8 s) exits with code 1', async () => {
  // PostgreSQL behind a proxy that stops answering: the history writer's INSERT hangs (its
  // query_timeout is 30 s), so the flush and the store's close after the drain never finish.
  const pg = await startPostgres();
  const proxy = await startTcpProxy(pg.port);
  const sb = await startSwitchboard(
    {
      DATABASE_URL: pg.url.replace(`:${pg.port}/`, `:${proxy.port}/`),
      DRAIN_WINDOW_MS: '1000',
      HISTORY_FLUSH_MS: '20',
      LOG_LEVEL: 'info',
    },
    { readyTimeoutMs: 60_000 },
  );
  try {
    const publish = (n: number) =>
      fetch(`${sb.httpUrl}/api/broadcast`, {
        method: 'POST',
        headers: { authorization: `Bearer ${testSecrets.apiToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ topic: 'room:stuck', event: 'msg', payload: { n } }),
      });
    assert.equal((await publish(1)).status, 202);
    proxy.stall();
    assert.equal((await publish(2)).status, 202, 'accepted: a write for the stalled store');
    const exited = sb.proc.exited;
    const signalled = Date.now();
    sb.proc.child.kill('SIGTERM');
    const { code } = await within(60_000, 'the exit after SIGTERM', exited);
    const took = Date.now() - signalled;
    assert.equal(code, 1, sb.output());
    assert.match(sb.output(), /"msg":"shutdown deadline passed: exiting"/);
    assert.doesNotMatch(sb.output(), /"msg":"bye"/);
    // The deadline is 1 s + 8 s after the signal, plus a second to log; generous ceiling for load.
    assert.ok(took >= 9000, `exited ${took} ms after SIGTERM, before the deadline`);
    assert.ok(took < 40_000, `exited ${took} ms after SIGTERM`);
  } finally {
    await sb.kill();
    await proxy.close();
    await pg.stop();
  }
});
