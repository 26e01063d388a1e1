// POST /api/drain (docs/api.md): a pod closes the oldest share of its connections with 1012 and a
// jittered reconnect hint, in paced batches, and stays ready; refusals for every bad request; 409
// while another share drain runs or the pod shuts down. Also switchboard_build_info.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import {
  signToken,
  startSwitchboard,
  testSecrets,
  type SwitchboardProcess,
} from '../../../testkit/src/index.js';
import { assertRequest, assertResponse } from '../support/openapi.js';
import { eventually } from '../support/phoenix.js';
import { openRaw, type RawClient } from '../support/raw-client.js';

const REVISION = 'a1b2c3d4e5f6';
let sb: SwitchboardProcess;
before(async () => {
  sb = await startSwitchboard({ SWITCHBOARD_REVISION: REVISION, DRAIN_WINDOW_MS: '3000', LOG_LEVEL: 'warn' });
});
after(() => sb?.kill());

/** POST /api/drain; the answer is checked against docs/api.openapi.yaml. */
async function drain(body: string, token: string | null = testSecrets.apiToken) {
  const res = await fetch(`${sb.httpUrl}/api/drain`, {
    method: 'POST',
    headers: token === null ? {} : { authorization: `Bearer ${token}` },
    body,
  });
  const json = (await res.json()) as Record<string, unknown>;
  assertResponse('POST', '/api/drain', res.status, json);
  return { status: res.status, json };
}

async function metric(name: string): Promise<string[]> {
  const text = await (await fetch(`${sb.metricsUrl}/metrics`)).text();
  return text.split('\n').filter((l) => l.startsWith(name));
}

async function openJoined(n: number, topic: string): Promise<RawClient[]> {
  const token = await signToken({ sub: 'mover', join: ['room:*'] });
  const clients: RawClient[] = [];
  // One by one, so the server's oldest-first order is this order.
  for (let i = 0; i < n; i++) {
    const c = await openRaw(sb.socketUrl, token);
    c.send(['1', '1', topic, 'phx_join', {}]);
    await c.waitFor((f) => f[3] === 'phx_reply', 'join reply');
    clients.push(c);
  }
  return clients;
}

test('switchboard_build_info names the package version and SWITCHBOARD_REVISION', async () => {
  const pkg = readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
  const { version } = JSON.parse(pkg) as { version: string };
  assert.match(version, /^\d+\.\d+\.\d+/);
  assert.deepEqual(await metric('switchboard_build_info{'), [
    `switchboard_build_info{version="${version}",revision="${REVISION}"} 1`,
  ]);
});

test('refuses a drain without the token, with a bad body or an oversized one', async () => {
  assert.equal((await drain('{"percent":10}', null)).status, 401);
  assert.equal((await drain('{"percent":10}', 'wrong')).status, 401);
  const bad = [
    'not json',
    '[]',
    'null',
    '{}',
    '{"percent":0}',
    '{"percent":101}',
    '{"percent":1.5}',
    '{"percent":"50"}',
    '{"percent":50,"window_ms":-1}',
    '{"percent":50,"window_ms":600001}',
    '{"percent":50,"window_ms":1e400}',
    '{"percent":50,"__proto__":{"window_ms":1}}',
    '{"percent":50,"constructor":1}',
  ];
  for (const body of bad) {
    const res = await drain(body);
    assert.equal(res.status, 400, body);
    assert.ok(String(res.json.error).length > 0, body);
  }
  assert.equal((await drain(JSON.stringify({ percent: 10, pad: 'x'.repeat(2000) }))).status, 413);
  assert.equal((await fetch(`${sb.httpUrl}/api/drain`)).status, 405);
  assert.deepEqual(await metric('switchboard_drain_closed_total '), ['switchboard_drain_closed_total 0']);
});

test('closes the oldest share with 1012 and a reconnect hint within one batch interval, stays ready, keeps the rest', async () => {
  const clients = await openJoined(10, 'room:share');
  const closes = clients.map((c) => c.closed);
  const started = Date.now();
  assertRequest('POST', '/api/drain', { percent: 40, window_ms: 1000 });
  const res = await drain('{"percent":40,"window_ms":1000}');
  assert.equal(res.status, 202);
  assert.deepEqual(res.json, { status: 'draining', closing: 4, window_ms: 1000 });
  // Another one while this one runs: refused.
  assert.equal((await drain('{"percent":10}')).status, 409);

  const oldest = await Promise.all(closes.slice(0, 4));
  const tookMs = Date.now() - started;
  for (const { code, reason } of oldest) {
    assert.equal(code, 1012);
    const hint = JSON.parse(reason) as { reason: string; reconnect_after_ms: number };
    assert.equal(hint.reason, 'service restart');
    // window 1000 ms -> batches every 100 ms: the hint is jittered within one interval.
    assert.ok(Number.isInteger(hint.reconnect_after_ms), reason);
    assert.ok(hint.reconnect_after_ms >= 0 && hint.reconnect_after_ms < 100, reason);
  }
  assert.ok(tookMs >= 250, `paced over the window, not at once (${tookMs} ms)`);
  // Still ready, still accepting, the newest 6 untouched.
  assert.equal((await fetch(`${sb.metricsUrl}/readyz`)).status, 200);
  const late = await openJoined(1, 'room:share');
  await new Promise((r) => setTimeout(r, 300)); // pacing: past the window's last batch
  for (const c of clients.slice(4)) assert.equal(c.ws.readyState, c.ws.OPEN);
  const pub = await fetch(`${sb.httpUrl}/api/broadcast`, {
    method: 'POST',
    headers: { authorization: `Bearer ${testSecrets.apiToken}` },
    body: JSON.stringify({ topic: 'room:share', event: 'after', payload: {} }),
  });
  assert.equal(pub.status, 202);
  await Promise.all([...clients.slice(4), ...late].map((c) => c.waitFor((f) => f[3] === 'after', 'after')));
  assert.deepEqual(await metric('switchboard_drain_closed_total '), ['switchboard_drain_closed_total 4']);

  // Once finished, a new share drain is accepted: 100 % of the 7 left, in one batch (window 0).
  await eventually(
    'the first share drain finished',
    async () => (await drain('{"percent":100,"window_ms":0}')).status === 202,
  );
  const rest = await Promise.all([...clients.slice(4), ...late].map((c) => c.closed));
  assert.deepEqual(
    rest.map((r) => [r.code, (JSON.parse(r.reason) as { reconnect_after_ms: number }).reconnect_after_ms]),
    rest.map(() => [1012, 0]),
  );
});

test('a pod shutting down refuses a share drain with 409', async () => {
  await openJoined(3, 'room:shutdown');
  const stopping = sb.stop('SIGTERM', 30_000);
  await eventually('readiness went 503', async () => (await fetch(`${sb.metricsUrl}/readyz`)).status === 503);
  const res = await drain('{"percent":10}');
  assert.equal(res.status, 409);
  assert.match(String(res.json.error), /shutting down/);
  assert.equal((await stopping).code, 0);
});
