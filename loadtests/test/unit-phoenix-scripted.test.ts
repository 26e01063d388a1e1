// The load tests' Phoenix client (loadtests/lib/phoenix.ts) against a scripted socket and clock: the
// paths a real server does not provoke on demand (connect timeouts and errors, missed replies, closes
// under pending requests, malformed and stale frames), each with the metrics it must record.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ReadyState } from '../lib/engine.js';
import { PhoenixError, PhoenixSocket, createProtocolMetrics } from '../lib/phoenix.js';
import { createScriptedEngine, settle, type ScriptedEngine } from './support/scripted-engine.js';

const opts = { url: 'ws://h/socket', token: 't', timeoutMs: 50, heartbeatMs: 1000 };

function setup() {
  const engine = createScriptedEngine();
  const metrics = createProtocolMetrics(engine);
  return { engine, metrics };
}

async function opened(engine: ScriptedEngine, metrics = createProtocolMetrics(engine), heartbeatMs = 1000) {
  const pending = PhoenixSocket.open(engine, metrics, { ...opts, heartbeatMs });
  const ws = engine.sockets.at(-1)!;
  ws.open();
  return { socket: await pending, ws, metrics };
}

function rejection(code: PhoenixError['code'], message: string) {
  return (err: unknown) => {
    assert.ok(err instanceof PhoenixError);
    assert.deepEqual([err.code, err.message], [code, message]);
    return true;
  };
}

test('open: connects to the socket URL and records one success; a late error changes nothing', async () => {
  const { engine, metrics } = setup();
  const { ws } = await opened(engine, metrics);
  assert.equal(ws.url, 'ws://h/socket/websocket?vsn=2.0.0&token=t');
  ws.error({ error: 'late' });
  ws.open();
  assert.deepEqual(engine.values('ws_connect_success'), [true]);
  assert.deepEqual(engine.values('phx_errors'), [false]);
});

test('open: not open within the timeout fails, closes the socket, and a late open is ignored', async () => {
  const { engine, metrics } = setup();
  const pending = PhoenixSocket.open(engine, metrics, opts);
  const ws = engine.sockets[0]!;
  await engine.advance(49);
  assert.deepEqual(ws.closeCalls, []);
  const failed = assert.rejects(
    pending,
    rejection('connect_failed', 'connect to ws://h/socket failed: not open within 50 ms'),
  );
  await engine.advance(1);
  await failed;
  assert.equal(ws.closeCalls.length, 1);
  ws.open();
  ws.closeNow({ code: 1006 });
  await settle();
  assert.deepEqual(engine.values('ws_connect_success'), [false]);
  assert.deepEqual(engine.values('phx_errors'), [true]);
  assert.equal(engine.values('phx_server_closes').length, 0);
  assert.equal(engine.timerCount, 0, 'no heartbeat was started');
});

test('open: an error fails with its text (k6 error, ws message, or neither), once', async () => {
  for (const [ev, why] of [
    [{ error: 'boom' }, 'boom'],
    [{ message: 'refused' }, 'refused'],
    [{ error: 'e', message: 'm' }, 'e'],
    [undefined, 'error'],
  ] as const) {
    const { engine, metrics } = setup();
    const pending = PhoenixSocket.open(engine, metrics, opts);
    engine.sockets[0]!.error(ev);
    engine.sockets[0]!.closeNow({ code: 1006 });
    await assert.rejects(pending, rejection('connect_failed', `connect to ws://h/socket failed: ${why}`));
    assert.deepEqual(engine.values('ws_connect_success'), [false]);
    assert.deepEqual(engine.values('phx_errors'), [true]);
    assert.equal(engine.timerCount, 0, 'the connect timer was cleared');
  }
});

test('open: a close before the open fails with its code, or "no code"', async () => {
  for (const [ev, why] of [
    [{ code: 1008 }, 'closed with 1008 before it opened'],
    [undefined, 'closed with no code before it opened'],
  ] as const) {
    const { engine, metrics } = setup();
    const pending = PhoenixSocket.open(engine, metrics, opts);
    engine.sockets[0]!.closeNow(ev);
    await assert.rejects(pending, rejection('connect_failed', `connect to ws://h/socket failed: ${why}`));
  }
});

test('heartbeats on the interval while open, answered; none once closed', async () => {
  const { engine, metrics } = setup();
  const { socket, ws } = await opened(engine, metrics, 20);
  await engine.advance(19);
  assert.equal(ws.sent.length, 0);
  await engine.advance(1);
  assert.deepEqual(ws.sent, [[null, '1', 'phoenix', 'heartbeat', {}]]);
  ws.frame(null, '1', 'phoenix', 'phx_reply', { status: 'ok', response: {} });
  await engine.advance(20);
  assert.deepEqual(ws.sent[1], [null, '2', 'phoenix', 'heartbeat', {}]);
  assert.deepEqual(engine.values('phx_heartbeats_sent'), [1, 1]);
  ws.readyState = ReadyState.CLOSING;
  await engine.advance(20);
  assert.equal(ws.sent.length, 2, 'no heartbeat on a socket that is not open');
  ws.readyState = ReadyState.OPEN;
  ws.frame(null, '2', 'phoenix', 'phx_reply', { status: 'ok', response: {} });
  const closing = socket.close();
  await settle();
  assert.deepEqual(ws.closeCalls, [[1000, 'done']]);
  ws.closeNow({ code: 1000 });
  await closing;
  await engine.advance(100);
  assert.equal(ws.sent.length, 2, 'the heartbeat stopped');
  assert.equal(engine.timerCount, 0);
});

test('join: refs count up, the duration is measured, a refusal forgets the join ref', async () => {
  const { engine } = setup();
  const { socket, ws } = await opened(engine);
  const join = socket.join('room:a', { k: 1 });
  assert.deepEqual(ws.sent[0], ['1', '1', 'room:a', 'phx_join', { k: 1 }]);
  await engine.advance(7);
  ws.frame('1', '1', 'room:a', 'phx_reply', { status: 'error', response: { reason: 'unauthorized' } });
  assert.deepEqual(await join, { status: 'error', response: { reason: 'unauthorized' } });
  assert.deepEqual(engine.values('phx_join_success'), [false]);
  assert.deepEqual(engine.values('phx_join_duration'), [7]);
  assert.deepEqual(engine.values('phx_errors'), [false, false], 'a refused join is not an error');
  const push = socket.push('room:a', 'msg', { n: 1 });
  assert.deepEqual(ws.sent[1], [null, '2', 'room:a', 'msg', { n: 1 }], 'no join ref after a refusal');
  await engine.advance(3);
  ws.frame(null, '2', 'room:a', 'phx_reply', { status: 'error', response: {} });
  assert.equal((await push).status, 'error');
  assert.deepEqual(engine.values('phx_reply_duration'), [3]);
  assert.deepEqual(engine.values('phx_errors'), [false, false, true], 'an error reply to a push is an error');
  assert.deepEqual(engine.values('phx_joins_sent'), [1]);
  assert.deepEqual(engine.values('phx_pushes_sent'), [1]);
});

test('join ok, push with the join ref, leave forgets it', async () => {
  const { engine } = setup();
  const { socket, ws } = await opened(engine);
  const join = socket.join('room:a');
  assert.deepEqual(ws.sent[0], ['1', '1', 'room:a', 'phx_join', {}]);
  ws.frame('1', '1', 'room:a', 'phx_reply', { status: 'ok', response: {} });
  await join;
  assert.deepEqual(engine.values('phx_join_success'), [true]);
  const push = socket.push('room:a', 'msg', {});
  assert.deepEqual(ws.sent[1], ['1', '2', 'room:a', 'msg', {}]);
  ws.frame('1', '2', 'room:a', 'phx_reply', { status: 'ok', response: {} });
  await push;
  const leave = socket.leave('room:a');
  assert.deepEqual(ws.sent[2], ['1', '3', 'room:a', 'phx_leave', {}]);
  ws.frame('1', '3', 'room:a', 'phx_reply', { status: 'ok', response: {} });
  assert.equal((await leave).status, 'ok');
  assert.deepEqual(engine.values('phx_leaves_sent'), [1]);
  void socket.leave('room:a');
  assert.deepEqual(ws.sent[3], [null, '4', 'room:a', 'phx_leave', {}]);
  assert.deepEqual(engine.values('phx_replies_received'), [1, 1, 1]);
});

test('a missed reply times out as an error; a join timeout forgets the join ref', async () => {
  const { engine } = setup();
  const { socket, ws } = await opened(engine);
  const join = socket.join('room:a');
  const failed = assert.rejects(join, rejection('timeout', 'no reply to join on room:a within 50 ms'));
  await engine.advance(49);
  assert.equal(engine.values('phx_join_success').length, 0);
  await engine.advance(1);
  await failed;
  assert.deepEqual(engine.values('phx_join_success'), [false]);
  assert.deepEqual(engine.values('phx_errors'), [false, true]);
  ws.frame('1', '1', 'room:a', 'phx_reply', { status: 'ok', response: {} });
  assert.deepEqual(engine.values('phx_errors'), [false, true], 'a late reply is dropped');
  void socket.push('room:a', 'msg', {}).catch(() => {});
  assert.deepEqual(ws.sent.at(-1), [null, '2', 'room:a', 'msg', {}]);
});

test('close waits for the replies still owed, then closes with 1000', async () => {
  const { engine } = setup();
  const { socket, ws } = await opened(engine);
  const push = socket.push('room:a', 'msg', {});
  const closing = socket.close();
  await engine.advance(10);
  assert.deepEqual(ws.closeCalls, [], 'not closed while a reply is owed');
  ws.frame(null, '1', 'room:a', 'phx_reply', { status: 'ok', response: {} });
  await push;
  await settle();
  assert.deepEqual(ws.closeCalls, [[1000, 'done']]);
  ws.closeNow({ code: 1000 });
  await closing;
  assert.equal(engine.values('phx_server_closes').length, 0);
  assert.deepEqual(await socket.closed(), { code: 1000 });
  await socket.close();
  assert.equal(ws.closeCalls.length, 1, 'a second close does nothing');
});

test('close gives up waiting for owed replies after the timeout, and for the close after another', async () => {
  const { engine } = setup();
  const { socket, ws } = await opened(engine);
  const push = assert.rejects(
    socket.push('room:a', 'msg', {}),
    rejection('timeout', 'no reply to push on room:a within 50 ms'),
  );
  await engine.advance(20);
  let done = false;
  const closing = socket.close().then(() => (done = true));
  await engine.advance(29);
  assert.deepEqual(ws.closeCalls, []);
  await engine.advance(1);
  await push;
  assert.deepEqual(
    ws.closeCalls,
    [[1000, 'done']],
    'the timed-out push ended the wait before its own timeout',
  );
  await engine.advance(49);
  assert.equal(done, false, 'waits for the close to complete');
  await engine.advance(1);
  await closing;
  assert.equal(engine.timerCount, 0);
});

test('close while connecting closes; while closing does not call close again', async () => {
  const { engine } = setup();
  const a = await opened(engine);
  a.ws.readyState = ReadyState.CONNECTING;
  void a.socket.close();
  await settle();
  assert.deepEqual(a.ws.closeCalls, [[1000, 'done']]);
  const b = await opened(engine);
  b.ws.readyState = ReadyState.CLOSING;
  void b.socket.close();
  await settle();
  assert.deepEqual(b.ws.closeCalls, []);
});

test("a close by the server during close()'s wait ends it without closing again", async () => {
  const { engine } = setup();
  const { socket, ws } = await opened(engine);
  const push = socket.push('room:a', 'msg', {});
  const closing = socket.close();
  await settle();
  ws.closeNow({ code: 1011 });
  await closing;
  assert.deepEqual(ws.closeCalls, []);
  await assert.rejects(push, rejection('closed', 'socket closed (1011) before the push reply'));
});

test('a server close rejects what is pending and counts as a failure, unless it is 1012', async () => {
  for (const [code, failure] of [
    [1011, true],
    [1012, false],
  ] as const) {
    const { engine } = setup();
    const { socket, ws } = await opened(engine);
    const waited = socket.closed();
    const push = socket.push('room:a', 'msg', {});
    const leave = socket.leave('room:b');
    ws.closeNow({ code });
    await assert.rejects(push, rejection('closed', `socket closed (${code}) before the push reply`));
    await assert.rejects(leave, rejection('closed', `socket closed (${code}) before the leave reply`));
    assert.deepEqual(await waited, { code });
    assert.deepEqual(engine.values('phx_server_closes'), [1]);
    assert.deepEqual(engine.values('phx_errors'), failure ? [false, true] : [false]);
    ws.closeNow({ code: 1000 });
    assert.deepEqual(engine.values('phx_server_closes'), [1], 'a second close event is ignored');
    assert.equal(engine.timerCount, 0, 'heartbeat and request timers cleared');
    await assert.rejects(
      socket.join('room:c'),
      rejection('closed', 'cannot send join on room:c: the socket is closed'),
    );
  }
});

test('a close without a code', async () => {
  const { engine } = setup();
  const { socket, ws } = await opened(engine);
  const push = socket.push('room:a', 'msg', {});
  ws.closeNow();
  await assert.rejects(push, rejection('closed', 'socket closed (no code) before the push reply'));
  assert.deepEqual(await socket.closed(), {});
});

test('frames that are not Phoenix frames are errors and reach no handler', async () => {
  const { engine } = setup();
  const { socket, ws } = await opened(engine);
  const seen: unknown[] = [];
  socket.on('room:a', 'msg', (p) => seen.push(p));
  ws.message('not json');
  ws.message('{"a":1}');
  ws.message('[null,null,"room:a","msg"]');
  ws.message('[null,null,"room:a","msg",{},6]');
  assert.deepEqual(engine.values('phx_errors'), [false, true, true, true, true]);
  ws.message(new Uint8Array([1]));
  assert.deepEqual(engine.values('phx_errors').length, 5, 'binary frames are ignored');
  assert.deepEqual(seen, []);
  assert.equal(engine.values('phx_pushes_received').length, 0);
  assert.equal(engine.values('phx_broadcasts_received').length, 0);
});

test('replies: without a ref, to an unknown ref, or with no payload', async () => {
  const { engine } = setup();
  const { socket, ws } = await opened(engine);
  const push = socket.push('room:a', 'msg', {});
  ws.frame(null, null, 'room:a', 'phx_reply', { status: 'ok', response: {} });
  ws.frame(null, '9', 'room:a', 'phx_reply', { status: 'ok', response: {} });
  assert.deepEqual(engine.values('phx_replies_received'), [1, 1]);
  assert.deepEqual(engine.values('phx_errors'), [false]);
  ws.frame(null, '1', 'room:a', 'phx_reply', null);
  assert.deepEqual(await push, {});
  assert.deepEqual(engine.values('phx_errors'), [false, true], 'a reply without a status is an error');
  assert.equal(engine.timerCount, 1, 'only the heartbeat is left: the reply cleared its timer');
});

test('broadcasts, pushes, presence and phx_error are counted and routed to the current join', async () => {
  const { engine } = setup();
  const { socket, ws } = await opened(engine);
  const join = socket.join('room:a');
  ws.frame('1', '1', 'room:a', 'phx_reply', { status: 'ok', response: {} });
  await join;
  const got: [string, unknown][] = [];
  const stopA = socket.on('room:a', 'msg', (p) => got.push(['a', p]));
  socket.on('room:a', 'msg', (p, frame) => got.push(['b', [p, frame[0]]]));
  socket.on('room:a', 'presence_state', (p) => got.push(['presence', p]));
  ws.frame(null, null, 'room:a', 'msg', 1);
  ws.frame('1', null, 'room:a', 'msg', 2);
  ws.frame('0', null, 'room:a', 'msg', 3);
  ws.frame(null, null, 'room:b', 'msg', 4);
  ws.frame(null, null, 'room:a', 'other', 5);
  stopA();
  ws.frame(null, null, 'room:a', 'msg', 6);
  ws.frame('1', null, 'room:a', 'presence_state', 7);
  ws.frame('1', null, 'room:a', 'presence_diff', 8);
  ws.frame('1', '5', 'room:a', 'phx_error', {});
  assert.deepEqual(got, [
    ['a', 1],
    ['b', [1, null]],
    ['a', 2],
    ['b', [2, '1']],
    ['b', [6, null]],
    ['presence', 7],
  ]);
  assert.deepEqual(engine.values('phx_broadcasts_received'), [1, 1, 1, 1]);
  assert.deepEqual(engine.values('phx_pushes_received'), [1, 1, 1]);
  assert.deepEqual(engine.values('phx_presence_received'), [1, 1]);
  assert.deepEqual(engine.values('phx_errors'), [false, false, true], 'phx_error is an error');
});
