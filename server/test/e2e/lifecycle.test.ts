// Process lifecycle: the official client rejoins after a restart on the same port, and SIGTERM
// drains (readiness 503, new upgrades 503, connections closed with 1012 in paced batches, exit 0).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { signToken, startSwitchboard, testSecrets } from '../../../testkit/src/index.js';
import { collect, connect, eventually, join } from '../support/phoenix.js';
import { openRaw, upgradeStatus, type RawClient } from '../support/raw-client.js';

test('the official client reconnects and rejoins after a server restart on the same port', async () => {
  const first = await startSwitchboard();
  const port = first.port;
  const token = await signToken({ sub: 'survivor', join: ['room:*'] });
  const socket = await connect(first.socketUrl, { params: { token } });
  try {
    const ch = socket.channel('room:restart', {});
    assert.equal((await join(ch)).status, 'ok');
    const seen = collect<{ n: number }>(ch, 'after_restart');
    const closes: number[] = [];
    socket.onClose((e: { code: number }) => {
      closes.push(e.code);
    });
    assert.equal((await first.stop('SIGTERM')).code, 0);
    await eventually('client saw the close', () => closes.length > 0);
    assert.equal(closes[0], 1012, 'drain closes with 1012 (service restart)');

    const second = await startSwitchboard({}, { port });
    try {
      // Publish until the rejoined channel receives one (the rejoin timing is the client's).
      await eventually(
        'rejoined channel receives a broadcast from the new process',
        async () => {
          await fetch(`${second.httpUrl}/api/broadcast`, {
            method: 'POST',
            headers: { authorization: `Bearer ${testSecrets.apiToken}` },
            body: JSON.stringify({ topic: 'room:restart', event: 'after_restart', payload: { n: 1 } }),
          });
          return seen.length > 0;
        },
        30_000,
      );
      assert.deepEqual(seen[0], { n: 1 });
    } finally {
      socket.disconnect();
      await second.stop();
    }
  } finally {
    socket.disconnect();
    await first.kill().catch(() => undefined);
  }
});

test('SIGTERM: readiness 503, upgrades 503, clients closed with 1012 in batches, exit code 0', async () => {
  const sb = await startSwitchboard({ DRAIN_WINDOW_MS: '3000' });
  const token = await signToken({ sub: 'drained', join: ['room:*'] });
  const clients: RawClient[] = [];
  for (let i = 0; i < 20; i++) clients.push(await openRaw(sb.socketUrl, token));
  const closedCodes: number[] = [];
  let openWhenFirstClosed = -1;
  for (const c of clients) {
    void c.closed.then(({ code }) => {
      if (closedCodes.length === 0)
        openWhenFirstClosed = clients.filter((x) => x.ws.readyState === x.ws.OPEN).length;
      closedCodes.push(code);
    });
  }
  const exited = sb.stop('SIGTERM');
  // The drain window (3 s) keeps both ports open: each answer must be the documented one, not
  // a refused connection.
  type Readyz = { draining: boolean; ready: boolean };
  const readyz = await eventually<Readyz | undefined>('readiness turns 503', async () => {
    const res = await fetch(`${sb.metricsUrl}/readyz`);
    return res.status === 503 ? ((await res.json()) as Readyz) : undefined;
  });
  assert.deepEqual({ ready: readyz?.ready, draining: readyz?.draining }, { ready: false, draining: true });
  assert.equal(await upgradeStatus(sb.socketUrl, token), 503);
  const { code } = await exited;
  assert.equal(code, 0);
  await eventually('every client saw its close', () => closedCodes.length === clients.length);
  assert.deepEqual(new Set(closedCodes), new Set([1012]));
  assert.ok(
    openWhenFirstClosed > 1,
    `paced: ${openWhenFirstClosed} connections were still open at the first close`,
  );
  assert.match(sb.output(), /"msg":"draining"/);
});
