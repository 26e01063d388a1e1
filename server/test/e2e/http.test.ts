// HTTP surface and the authenticated upgrade: health, readiness, metrics, POST /api/broadcast,
// 401/403/404/400 on the upgrade, the bearer subprotocol, and the dev-only demo token.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  signToken,
  startSwitchboard,
  testSecrets,
  type SwitchboardProcess,
} from '../../../testkit/src/index.js';
import { connect, eventually, join, next, type Socket } from '../support/phoenix.js';
import { openRaw, upgradeStatus } from '../support/raw-client.js';

let sb: SwitchboardProcess;
const sockets: Socket[] = [];

function broadcast(body: unknown, token: string | null = testSecrets.apiToken, raw?: string) {
  return fetch(`${sb.httpUrl}/api/broadcast`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: raw ?? JSON.stringify(body),
  });
}

describe('http endpoints and upgrade auth', () => {
  before(async () => {
    sb = await startSwitchboard({ DEMO_TOKENS: 'true' });
  });
  after(async () => {
    for (const s of sockets) s.disconnect();
    await sb.stop();
  });

  test('/healthz and /readyz answer 200; unknown paths 404 and wrong methods 405', async () => {
    const health = await fetch(`${sb.metricsUrl}/healthz`);
    assert.equal(health.status, 200);
    const ready = await fetch(`${sb.metricsUrl}/readyz`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { ready: true, draining: false, broker: 'connected' });
    assert.equal((await fetch(`${sb.httpUrl}/nope`)).status, 404);
    const wrong = await fetch(`${sb.httpUrl}/api/broadcast`);
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.get('allow'), 'POST');
  });

  test('POST /api/broadcast: 401 without or with a wrong token', async () => {
    const body = { topic: 'room:api', event: 'e', payload: {} };
    const none = await broadcast(body, null);
    assert.equal(none.status, 401);
    assert.match(((await none.json()) as { error: string }).error, /Authorization: Bearer <API_TOKEN>/);
    assert.equal((await broadcast(body, 'wrong')).status, 401);
    assert.equal((await broadcast(body, `${testSecrets.apiToken}x`)).status, 401);
  });

  test('POST /api/broadcast: 400 with a clear message for every bad body', async () => {
    const cases: [unknown, string | undefined, RegExp][] = [
      [null, '{not json', /body is not valid JSON/],
      [[1, 2], undefined, /body must be a JSON object/],
      [{ event: 'e' }, undefined, /"topic" must be a non-empty string/],
      [{ topic: '', event: 'e' }, undefined, /"topic" must be a non-empty string/],
      [{ topic: 'room:a' }, undefined, /"event" must be a non-empty string/],
      [{ topic: 'room:a', event: 7 }, undefined, /"event" must be a non-empty string/],
      [{ topic: 'x'.repeat(300), event: 'e' }, undefined, /at most 255 bytes/],
      [{ topic: 'room:a', event: 'phx_reply' }, undefined, /reserved by the protocol/],
    ];
    for (const [body, raw, message] of cases) {
      const res = await broadcast(body, testSecrets.apiToken, raw);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.match(((await res.json()) as { error: string }).error, message);
    }
    const big = await broadcast({ topic: 'room:a', event: 'e', payload: 'x'.repeat(70_000) });
    assert.equal(big.status, 413);
  });

  test('POST /api/broadcast: 202 and every subscriber receives it', async () => {
    const token = await signToken({ sub: 'listener', join: ['room:*'] });
    const a = await connect(sb.socketUrl, { params: { token } });
    sockets.push(a);
    const ch = a.channel('room:api', {});
    assert.equal((await join(ch)).status, 'ok');
    const got = next(ch, 'announcement');
    const res = await broadcast({
      topic: 'room:api',
      event: 'announcement',
      payload: { text: 'hi', n: [1, 2] },
    });
    assert.equal(res.status, 202);
    assert.deepEqual(await res.json(), { status: 'accepted', topic: 'room:api', event: 'announcement' });
    assert.deepEqual(await got, { text: 'hi', n: [1, 2] });
    const noPayload = next(ch, 'bare');
    assert.equal((await broadcast({ topic: 'room:api', event: 'bare' })).status, 202);
    assert.deepEqual(await noPayload, {});
  });

  test('bad, missing, expired and wrongly signed tokens get HTTP 401 on the upgrade', async () => {
    assert.equal(await upgradeStatus(sb.socketUrl, null), 401);
    assert.equal(await upgradeStatus(sb.socketUrl, 'garbage'), 401);
    assert.equal(
      await upgradeStatus(sb.socketUrl, await signToken({ sub: 'x' }, 'some-other-secret-xxxxxxxxxxxxxxxxx')),
      401,
    );
    assert.equal(await upgradeStatus(sb.socketUrl, await signToken({ sub: 'x' }, undefined, '-10s')), 401);
    assert.equal(
      await upgradeStatus(sb.socketUrl, await signToken({ sub: 'x', join: 'room:*' } as never)),
      401,
    );
    assert.equal(await upgradeStatus(sb.socketUrl, await signToken({ sub: 'x' })), 101);
    // The official client sees a failed connection, never an open socket.
    const token = 'not.a.token';
    const errors: unknown[] = [];
    const { phoenixSocket } = await import('../support/phoenix.js');
    const s = phoenixSocket(sb.socketUrl, { params: { token } });
    s.onError((e: unknown) => {
      errors.push(e);
    });
    let opened = false;
    s.onOpen(() => {
      opened = true;
    });
    s.connect();
    // Two refused attempts (it retries every 100 ms): the client has seen the refusal, twice.
    await eventually('the client reports the refused connection twice', () => errors.length >= 2);
    s.disconnect();
    assert.equal(opened, false);
  });

  test('the upgrade path and serializer version are checked', async () => {
    const token = await signToken({ sub: 'x' });
    assert.equal(await upgradeStatus(`${sb.httpUrl.replace('http', 'ws')}/elsewhere`, token), 404);
    await assert.rejects(openRaw(sb.socketUrl, token, { query: { vsn: '1.1.0' } }), /HTTP 400/);
    await assert.rejects(openRaw(sb.socketUrl, token, { query: { vsn: '3.0.0' } }), /HTTP 400/);
    (await openRaw(sb.socketUrl, token, { query: { vsn: '1.0.0' } })).ws.close(); // V1: see v1-serializer.test.ts
  });

  test('subprotocol token: the official client authToken works and the server answers "phoenix"', async () => {
    // The client puts btoa(token) in a subprotocol; "/" is not a valid subprotocol character, so
    // pick a token whose base64 has none (a nonce claim changes the bytes).
    let token = '';
    for (let i = 0; i < 1000; i++) {
      token = await signToken({ sub: 'proto', join: ['room:*'], nonce: i });
      if (!Buffer.from(token).toString('base64').includes('/')) break;
    }
    const s = await connect(sb.socketUrl, { authToken: token });
    sockets.push(s);
    assert.equal((await join(s.channel('room:proto', {}))).status, 'ok');

    const raw = await openRaw(sb.socketUrl, null, {
      protocols: ['phoenix', `base64url.bearer.phx.${Buffer.from(token).toString('base64url')}`],
    });
    assert.equal(raw.ws.protocol, 'phoenix');
    raw.ws.close();
    assert.equal(
      await upgradeStatus(sb.socketUrl, null, { protocols: ['phoenix', 'base64url.bearer.phx.Z2FyYmFnZQ'] }),
      401,
    );
  });

  test('dev token endpoint mints tokens the server accepts', async () => {
    const res = await fetch(`${sb.httpUrl}/demo/token?user=ann`);
    assert.equal(res.status, 200);
    const { token } = (await res.json()) as { token: string };
    assert.equal(await upgradeStatus(sb.socketUrl, token), 101);
    assert.equal((await fetch(`${sb.httpUrl}/demo/token?user=`)).status, 400);
    assert.equal((await fetch(`${sb.httpUrl}/demo/token?user=${'x'.repeat(40)}`)).status, 400);
  });

  test('/metrics exports the switchboard metrics', async () => {
    const res = await fetch(`${sb.metricsUrl}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
    const text = await res.text();
    for (const line of [
      /^switchboard_connections \d+/m,
      /^switchboard_connections_opened_total\{result="accepted"\} [1-9]/m,
      /^switchboard_connections_opened_total\{result="unauthorized"\} [1-9]/m,
      // The 404 and 400 upgrades above are the client's mistake, not a server error (see slo/).
      /^switchboard_connections_opened_total\{result="bad_request"\} [1-9]/m,
      /^switchboard_connections_opened_total\{result="error"\} 0$/m,
      /^switchboard_recoveries_total\{outcome="not_recovered"\} \d+/m,
      /^switchboard_joins_total\{result="ok"\} [1-9]/m,
      /^switchboard_messages_sent_total\{kind="broadcast"\} [1-9]/m,
      /^switchboard_publishes_total\{source="api"\} [1-9]/m,
      /^switchboard_delivery_latency_seconds_count [1-9]/m,
      /^switchboard_http_requests_total\{route="broadcast",status_class="4xx"\} [1-9]/m,
    ]) {
      assert.match(text, line);
    }
  });
});

describe('origin allow-list and production mode', () => {
  test('ALLOWED_ORIGINS: other origins get 403, listed ones connect', async () => {
    const s = await startSwitchboard({ ALLOWED_ORIGINS: 'https://app.example.com,http://localhost:3000' });
    try {
      const token = await signToken({ sub: 'o' });
      assert.equal(await upgradeStatus(s.socketUrl, token, { origin: 'https://evil.example' }), 403);
      assert.equal(await upgradeStatus(s.socketUrl, token, { origin: 'https://app.example.com' }), 101);
      assert.equal(await upgradeStatus(s.socketUrl, token, { origin: 'http://localhost:3000' }), 101);
      // Origin is checked before the token: a forbidden origin learns nothing about tokens.
      assert.equal(await upgradeStatus(s.socketUrl, null, { origin: 'https://evil.example' }), 403);
    } finally {
      await s.stop();
    }
  });

  test('NODE_ENV=production has no demo token endpoint', async () => {
    const secret = `prod-${'s'.repeat(40)}`;
    const s = await startSwitchboard({ NODE_ENV: 'production', JWT_SECRET: secret });
    try {
      assert.equal((await fetch(`${s.httpUrl}/demo/token?user=ann`)).status, 404);
      assert.equal(await upgradeStatus(s.socketUrl, await signToken({ sub: 'p' }, secret)), 101);
    } finally {
      await s.stop();
    }
  });
});
