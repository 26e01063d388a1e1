// The load tests' Phoenix client (loadtests/lib/phoenix.ts) on the Node engine against a real server:
// joins, refusals, pushes and broadcasts, leaves, heartbeats, closes, and the metrics it records.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { signToken, startSwitchboard, type SwitchboardProcess } from '../../testkit/src/index.js';
import {
  PhoenixError,
  PhoenixSocket,
  createProtocolMetrics,
  socketUrl,
  type ProtocolMetrics,
} from '../lib/phoenix.js';
import { MetricRegistry } from '../src/metric-sinks.js';
import { createNodeEngine } from '../src/node-engine.js';

test('the URL the official client opens', () => {
  assert.equal(socketUrl('ws://h:4000/socket', 'a b'), 'ws://h:4000/socket/websocket?vsn=2.0.0&token=a%20b');
  assert.equal(socketUrl('ws://h/socket//', 't'), 'ws://h/socket/websocket?vsn=2.0.0&token=t');
  assert.equal(socketUrl('ws://h/socket/websocket', 't'), 'ws://h/socket/websocket?vsn=2.0.0&token=t');
  // A query in the endpoint stays a query: /websocket goes before it (it used to land after it).
  assert.equal(
    socketUrl('ws://h/socket?tenant=a', 't'),
    'ws://h/socket/websocket?tenant=a&vsn=2.0.0&token=t',
  );
  assert.equal(socketUrl('ws://h/socket/?', 't'), 'ws://h/socket/websocket?vsn=2.0.0&token=t');
});

describe('against a real server', () => {
  let server: SwitchboardProcess;
  let token: string;
  let registry: MetricRegistry;
  let metrics: ProtocolMetrics;
  let engine: ReturnType<typeof createNodeEngine>;
  const count = (name: string) => registry.get(name)?.values(1000, ['count'])['count'] ?? 0;
  const rate = (name: string) => registry.get(name)?.values(1000, [])['rate'];
  const open = (heartbeatMs = 30_000, t = token) =>
    PhoenixSocket.open(engine, metrics, { url: server.socketUrl, token: t, timeoutMs: 10_000, heartbeatMs });

  before(async () => {
    server = await startSwitchboard({ LOG_LEVEL: 'warn' }, { readyTimeoutMs: 60_000 });
    token = await signToken({ sub: 'load', join: ['room:*'], publish: ['room:*'] });
    registry = new MetricRegistry();
    engine = createNodeEngine(registry, {});
    metrics = createProtocolMetrics(engine);
  });
  after(async () => {
    await server?.stop('SIGTERM', 5000);
  });

  test('join, push, broadcast to another socket, leave, close: each recorded', async () => {
    const a = await open();
    const b = await open();
    assert.equal(a.isOpen, true);
    assert.deepEqual((await a.join('room:u1')).status, 'ok');
    assert.deepEqual((await b.join('room:u1', { recover: false })).status, 'ok');
    const got: unknown[] = [];
    const stop = b.on('room:u1', 'msg', (payload) => got.push(payload));
    const seen = new Promise<void>((resolve) => b.on('room:u1', 'msg', () => resolve()));
    assert.equal((await a.push('room:u1', 'msg', { n: 1 })).status, 'ok');
    await seen;
    assert.deepEqual(got, [{ n: 1 }]);
    stop();
    assert.equal((await a.leave('room:u1')).status, 'ok');
    await a.close();
    await b.close();
    assert.equal((await a.closed()).code, 1000);
    assert.equal(a.isOpen, false);
    assert.equal(count('phx_joins_sent'), 2);
    assert.equal(count('phx_pushes_sent'), 1);
    assert.equal(count('phx_leaves_sent'), 1);
    assert.ok(count('phx_replies_received') >= 4);
    assert.ok(count('phx_broadcasts_received') >= 1);
    assert.equal(rate('phx_join_success'), 1);
    assert.equal(rate('ws_connect_success'), 1);
    assert.equal(count('phx_server_closes'), 0, 'closes the client asked for are not server closes');
    await assert.rejects(a.push('room:u1', 'msg', {}), (err: unknown) => {
      assert.ok(err instanceof PhoenixError);
      assert.deepEqual(
        [err.code, err.name, err.message],
        ['closed', 'PhoenixError', 'cannot send push on room:u1: the socket is closed'],
      );
      return true;
    });
  });

  test('a refused join is a reply, counted in phx_join_success, not in phx_errors', async () => {
    const s = await open();
    const errors = () => registry.get('phx_errors')!.values(1000, [])['passes'] ?? 0;
    const errorsBefore = errors();
    const reply = await s.join('admin:x');
    assert.equal(reply.status, 'error');
    assert.ok(rate('phx_join_success')! < 1);
    assert.equal(errors(), errorsBefore);
    const push = await s.push('admin:x', 'msg', {});
    assert.equal(push.status, 'error', 'a push on a topic not joined is answered with an error');
    assert.equal(errors(), errorsBefore + 1, 'an error reply to a push is an error');
    await s.close();
  });

  test('heartbeats are sent on the interval and answered', async () => {
    const before = count('phx_heartbeats_sent');
    const errors = () => registry.get('phx_errors')?.values(1000, [])['passes'] ?? 0;
    const errorsBefore = errors();
    const s = await open(100);
    // Two heartbeats sent (bounded: a socket that never beats fails here, however slow the machine).
    const deadline = Date.now() + 10_000;
    while (count('phx_heartbeats_sent') - before < 2) {
      assert.ok(Date.now() < deadline, `${count('phx_heartbeats_sent') - before} heartbeats in 10 s`);
      await new Promise((r) => setTimeout(r, 25));
    }
    await s.close();
    assert.equal(errors(), errorsBefore, 'every heartbeat answered (close waits for the replies owed)');
  });

  test('a refused upgrade fails to connect, with the reason', async () => {
    await assert.rejects(open(30_000, 'not.a.token'), (err: unknown) => {
      assert.ok(err instanceof PhoenixError);
      assert.equal(err.code, 'connect_failed');
      assert.match(err.message, new RegExp(`^connect to ${server.socketUrl} failed: `));
      return true;
    });
    assert.ok(rate('ws_connect_success')! < 1);
  });
});
