// The steps every scenario shares (loadtests/lib/session.ts), engine.ts's sleep and scenario.ts's
// thresholds, on a scripted clock and socket: which token and endpoint a VU gets, the back-off after
// a failed connect, and holding a socket open until a time or its close.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readConfig } from '../lib/config.js';
import { sleep, type VuContext } from '../lib/engine.js';
import { createProtocolMetrics } from '../lib/phoenix.js';
import { buildOptions } from '../lib/scenario.js';
import { backOff, holdOpen, openFor, roomTopic, tokenFor, urlFor } from '../lib/session.js';
import { connectStorm } from '../scenarios/connect-storm.js';
import { createScriptedEngine, settle } from './support/scripted-engine.js';

const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1In0.c2ln';
const base = readConfig('s', { TOKEN: jwt, TIMEOUT: '2s', HEARTBEAT: '5s' });

function vu(n: number, remainingMs: number): VuContext {
  return { vu: n, iteration: 0, remainingMs: () => remainingMs };
}

/** Resolves to the time (on the engine's clock, from its start) at which `p` settled, or undefined. */
function timeOf(engine: ReturnType<typeof createScriptedEngine>, p: Promise<unknown>) {
  const start = engine.now();
  let at: number | undefined;
  void p.then(() => (at = engine.now() - start));
  return () => at;
}

test('tokens are dealt round-robin by VU number', () => {
  const config = { ...base, tokens: ['a', 'b', 'c'] };
  assert.deepEqual(
    [1, 2, 3, 4, 7].map((n) => tokenFor(config, n)),
    ['a', 'b', 'c', 'a', 'a'],
  );
  assert.equal(tokenFor({ ...base, tokens: [] }, 1), '');
});

test('the VUs of one round of rooms share an endpoint; the endpoints take turns', () => {
  const config = { ...base, urls: ['ws://a', 'ws://b'], rooms: 3 };
  assert.deepEqual(
    [1, 3, 4, 6, 7, 10].map((n) => urlFor(config, n)),
    ['ws://a', 'ws://a', 'ws://b', 'ws://b', 'ws://a', 'ws://b'],
  );
  assert.equal(urlFor({ ...base, url: 'ws://only', urls: [] }, 1), 'ws://only');
});

test('room topics', () => {
  assert.equal(roomTopic({ ...base, topicPrefix: 'room:x' }, 2), 'room:x-2');
});

test('openFor opens the VU’s endpoint with its token, timeout and heartbeat', async () => {
  const engine = createScriptedEngine();
  const config = { ...base, tokens: ['t1', 't2'], urls: ['ws://a/socket'], rooms: 1 };
  const pending = openFor(engine, createProtocolMetrics(engine), config, vu(2, 60_000));
  const ws = engine.sockets[0]!;
  assert.equal(ws.url, 'ws://a/socket/websocket?vsn=2.0.0&token=t2');
  ws.open();
  const socket = await pending;
  assert.ok(socket);
  await engine.advance(4999);
  assert.equal(ws.sent.length, 0);
  await engine.advance(1);
  assert.equal(ws.sent.length, 1, 'heartbeat at HEARTBEAT');
  await engine.advance(1999);
  assert.equal(engine.values('phx_errors').length, 1);
  await engine.advance(1);
  assert.deepEqual(engine.values('phx_errors'), [false, true], 'no reply within TIMEOUT');
});

test('openFor backs off after a failed connect: a second, or the time left', async () => {
  for (const [remaining, wait] of [
    [60_000, 1000],
    [300, 300],
    [-5, 0],
  ] as const) {
    const engine = createScriptedEngine();
    const result = openFor(engine, createProtocolMetrics(engine), base, vu(1, remaining));
    engine.sockets[0]!.error({ error: 'refused' });
    const at = timeOf(engine, result);
    if (wait > 0) {
      await engine.advance(wait - 1);
      assert.equal(at(), undefined, `still waiting at ${wait - 1} ms of ${wait}`);
    }
    await engine.advance(1);
    assert.equal(at(), wait === 0 ? 0 : wait);
    assert.equal(await result, undefined);
  }
});

test('backOff and sleep resolve at once for no time', async () => {
  const engine = createScriptedEngine();
  let done = false;
  void backOff(engine, vu(1, 0)).then(() => (done = true));
  await settle();
  assert.equal(done, true);
  assert.equal(engine.timerCount, 0);
  const slept = timeOf(engine, sleep(engine, 10));
  await engine.advance(9);
  assert.equal(slept(), undefined);
  await engine.advance(1);
  assert.equal(slept(), 10);
});

test('holdOpen: true after the full time, false when the socket closes first; the timer is cleared', async () => {
  const engine = createScriptedEngine();
  const config = { ...base, urls: ['ws://a/socket'], rooms: 1 };
  const pending = openFor(engine, createProtocolMetrics(engine), config, vu(1, 60_000));
  engine.sockets[0]!.open();
  const socket = (await pending)!;

  const full = holdOpen(engine, socket, 100);
  const fullAt = timeOf(engine, full);
  await engine.advance(99);
  assert.equal(fullAt(), undefined);
  await engine.advance(1);
  assert.equal(await full, true);

  const none = holdOpen(engine, socket, -5);
  await engine.advance(0);
  assert.equal(await none, true);

  const cut = holdOpen(engine, socket, 100);
  await engine.advance(10);
  engine.sockets[0]!.closeNow({ code: 1011 });
  assert.equal(await cut, false);
  await settle();
  assert.equal(engine.timerCount, 0, 'the hold timer was cleared');
});

test('thresholds: only metrics the scenario measures that have thresholds', () => {
  const o = buildOptions({ ...connectStorm, sloMetrics: ['a', 'b', 'c'] }, base, { a: ['rate>0.9'], b: [] });
  assert.deepEqual(o.thresholds, { a: ['rate>0.9'] });
});
