/**
 * The rollout scenario's counting, exactly: the tracker alone (gap, duplicate, reorder, late fill),
 * the counter peaks, and one subscriber VU on the scripted engine through a drain close: it waits
 * the 1012 hint (or 10 ms without HONOUR_HINT), rejoins with its last position, and a gap the
 * recovery fills is no loss while a gap nobody fills is.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ContinuityTracker } from '../lib/continuity.js';
import { readConfig } from '../lib/config.js';
import { continuityLines } from '../lib/summary.js';
import { continuityMetrics as cm, rollout, rolloutEvent } from '../scenarios/rollout.js';
import { counterPeaks } from '../src/metric-sinks.js';
import { createScriptedEngine, type ScriptedEngine, type ScriptedSocket } from './support/scripted-engine.js';

describe('ContinuityTracker', () => {
  it('in order: nothing lost, duplicated or reordered', () => {
    const t = new ContinuityTracker(0);
    assert.deepEqual(
      [1, 2, 3].map((n) => t.receive(n)),
      ['in_order', 'in_order', 'in_order'],
    );
    assert.deepEqual(t.counts(), { delivered: 3, duplicated: 0, reordered: 0, missing: 0, highest: 3 });
  });

  it('a gap is missing until filled; a late fill is a reorder, not a loss', () => {
    const t = new ContinuityTracker(0);
    t.receive(1);
    assert.equal(t.receive(4), 'ahead');
    assert.equal(t.counts().missing, 2);
    assert.equal(t.receive(3), 'reordered');
    assert.deepEqual(t.counts(), { delivered: 3, duplicated: 0, reordered: 1, missing: 1, highest: 4 });
    assert.equal(t.receive(2), 'reordered');
    assert.equal(t.counts().missing, 0);
  });

  it('duplicates: below the floor and above it', () => {
    const t = new ContinuityTracker(0);
    t.receive(1);
    t.receive(3);
    assert.equal(t.receive(1), 'duplicate');
    assert.equal(t.receive(3), 'duplicate');
    assert.deepEqual(t.counts(), { delivered: 2, duplicated: 2, reordered: 0, missing: 1, highest: 3 });
  });

  it('a recovery fill arrives in order after the rejoin: no gap at all', () => {
    const t = new ContinuityTracker(0);
    for (const n of [1, 2, /* closed, rejoined, recovered: */ 3, 4, 5, /* live: */ 6]) t.receive(n);
    assert.deepEqual(t.counts(), { delivered: 6, duplicated: 0, reordered: 0, missing: 0, highest: 6 });
  });

  it('owed from 1: a first message above 1 leaves the start missing; unknown start: the first sets it', () => {
    const owed = new ContinuityTracker(0);
    owed.receive(3);
    assert.equal(owed.counts().missing, 2);
    const late = new ContinuityTracker();
    late.receive(40);
    late.receive(41);
    assert.deepEqual(late.counts(), { delivered: 2, duplicated: 0, reordered: 0, missing: 0, highest: 41 });
  });
});

describe('counterPeaks', () => {
  it('busiest aligned second and busiest sliding 100 ms', () => {
    const samples: [number, number][] = [
      [1000, 1],
      [1950, 1],
      [2010, 1],
      [2040, 1],
      [2049, 1],
      [2500, 1],
      [2999, 1],
    ];
    assert.deepEqual(counterPeaks(samples), { peak_1s: 5, peak_100ms: 4 });
    assert.deepEqual(counterPeaks([]), { peak_1s: 0, peak_100ms: 0 });
    // A window is (t - 100 ms, t]: samples exactly 100 ms apart are not in one window.
    assert.deepEqual(
      counterPeaks([
        [0, 1],
        [100, 1],
        [200, 1],
      ]),
      { peak_1s: 3, peak_100ms: 1 },
    );
  });
});

const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1In0.c2ln';
const topic = 'room:load-0';

/** Runs VU 2 (a subscriber of room 0) of a 10 s rollout on the scripted engine. */
function subscriber(env: Record<string, string>): { engine: ScriptedEngine; done: Promise<void> } {
  const engine = createScriptedEngine();
  const config = readConfig(
    'rollout',
    { TOKEN: jwt, VUS: '2', DURATION: '10s', ROOMS: '1', TIMEOUT: '1s', DRAIN: '1s', ...env },
    rollout.defaults,
  );
  const logic = rollout.init(engine, config);
  const end = engine.now() + 10_000;
  const done = logic({ vu: 2, iteration: 0, remainingMs: () => end - engine.now() });
  return { engine, done };
}

/** Answers the join the socket sent last with `response`; returns its params. */
function answerJoin(s: ScriptedSocket, response: unknown): unknown {
  const join = s.sent.findLast((f) => f[3] === 'phx_join');
  assert.ok(join, 'a phx_join was sent');
  s.frame(join[0], join[1], topic, 'phx_reply', { status: 'ok', response });
  return join[4];
}

function msg(s: ScriptedSocket, n: number, offset?: number): void {
  s.frame(null, offset === undefined ? null : `e1:${offset}`, topic, rolloutEvent, {
    n,
    sent_at: 0,
    body: '',
  });
}

const drainClose = (ms: number) => ({
  code: 1012,
  reason: JSON.stringify({ reason: 'service restart', reconnect_after_ms: ms }),
});

async function finish(engine: ScriptedEngine, done: Promise<void>): Promise<void> {
  await engine.advance(10_000);
  for (const s of engine.sockets) if (s.readyState !== 3) s.closeNow({ code: 1000 });
  await engine.advance(2_000);
  await done;
}

const sum = (engine: ScriptedEngine, name: string) =>
  engine.values(name).reduce((a: number, b) => a + Number(b), 0);

describe('rollout VU on the scripted engine', () => {
  it('waits the 1012 hint, rejoins with its position; the recovered gap is no loss', async () => {
    const { engine, done } = subscriber({});
    await engine.advance(0);
    const first = engine.sockets[0];
    assert.ok(first);
    first.open();
    await engine.advance(0);
    assert.deepEqual(answerJoin(first, { recovered: true, epoch: 'e1', offset: 0 }), { recover: true });
    await engine.advance(1500);
    msg(first, 1, 1);
    msg(first, 2, 2);
    msg(first, 2, 2); // a repeated frame: a duplicate
    msg(first, 4, 4);
    msg(first, 3, 3); // late: a reorder, and it fills the gap
    first.closeNow(drainClose(300));
    await engine.advance(299);
    assert.equal(engine.sockets.length, 1, 'no reconnect before the hint');
    await engine.advance(1);
    const second = engine.sockets[1];
    assert.ok(second, 'reconnected after 300 ms');
    second.open();
    await engine.advance(20);
    assert.deepEqual(answerJoin(second, { recovered: true, epoch: 'e1', offset: 6 }), {
      recover: { epoch: 'e1', offset: 4 },
    });
    msg(second, 5, 5); // recovered
    msg(second, 6, 6); // recovered
    msg(second, 7, 7); // live
    await finish(engine, done);

    assert.equal(sum(engine, cm.lost), 0);
    assert.equal(sum(engine, cm.duplicated), 1);
    assert.equal(sum(engine, cm.reordered), 1);
    assert.equal(sum(engine, cm.delivered), 7);
    assert.deepEqual(engine.values(cm.reconnectDelay), [300]);
    assert.deepEqual(engine.values(cm.reconnectTime), [320]);
    assert.deepEqual(engine.values(cm.recoverySuccess), [true]);
    assert.equal(sum(engine, cm.connects), 2);
    assert.equal(sum(engine, cm.reconnects), 1);
    assert.equal(sum(engine, cm.clientsMoved), 1);
  });

  it('HONOUR_HINT=false reconnects after 10 ms; RECOVER=false rejoins plainly and the gap is lost', async () => {
    const { engine, done } = subscriber({ HONOUR_HINT: 'false', RECOVER: 'false' });
    await engine.advance(0);
    const first = engine.sockets[0];
    assert.ok(first);
    first.open();
    await engine.advance(0);
    assert.deepEqual(answerJoin(first, {}), {});
    await engine.advance(1500);
    msg(first, 1);
    msg(first, 2);
    first.closeNow(drainClose(300));
    await engine.advance(10);
    const second = engine.sockets[1];
    assert.ok(second, 'reconnected after 10 ms, the hint ignored');
    second.open();
    await engine.advance(0);
    assert.deepEqual(answerJoin(second, {}), {});
    msg(second, 5); // 3 and 4 went out while the client was away
    msg(second, 6);
    await finish(engine, done);

    assert.equal(sum(engine, cm.lost), 2);
    assert.equal(sum(engine, cm.duplicated), 0);
    assert.equal(sum(engine, cm.reordered), 0);
    assert.deepEqual(engine.values(cm.reconnectDelay), [10]);
    assert.deepEqual(engine.values(cm.recoverySuccess), [], 'no recovery was asked for');
  });

  it('the summary lines report the continuity figures', () => {
    const counter = (count: number, extra: Record<string, number> = {}) => ({
      type: 'counter' as const,
      contains: 'default' as const,
      values: { count, rate: 0, ...extra },
    });
    const lines = continuityLines({
      [cm.lost]: counter(0),
      [cm.duplicated]: counter(0),
      [cm.reordered]: counter(0),
      [cm.delivered]: counter(600),
      [cm.published]: counter(100),
      [cm.reconnectTime]: {
        type: 'trend',
        contains: 'time',
        values: { med: 120, 'p(99)': 480, count: 6 },
      },
      [cm.recoverySuccess]: { type: 'rate', contains: 'default', values: { rate: 1, passes: 6, fails: 0 } },
      [cm.connects]: counter(12, { peak_1s: 6, peak_100ms: 6 }),
      [cm.reconnects]: counter(6),
    });
    assert.deepEqual(lines.slice(1), [
      'CONTINUITY',
      'messages lost 0, duplicated 0, reordered 0 (delivered 600, published 100)',
      'reconnects 6: close to rejoined p50 120ms, p99 480ms',
      'recovery success 100% (6 of 6 rejoins)',
      'clients 0, moved and back 0, stranded 0',
      'connects 12: peak 6/s (1 s buckets), 6 in any 100 ms',
      'reconnects 6: peaks: not in k6 end-of-test data (use a time-series output)',
    ]);
    assert.deepEqual(continuityLines({}), []);
    // Nobody closed: no reconnect figures and no ratio of nothing.
    const quiet = continuityLines({
      [cm.lost]: counter(0),
      [cm.reconnectTime]: { type: 'trend', contains: 'time', values: { med: 0, 'p(99)': 0, count: 0 } },
      [cm.recoverySuccess]: { type: 'rate', contains: 'default', values: { rate: 0, passes: 0, fails: 0 } },
    });
    assert.deepEqual(quiet.slice(3, 5), [
      'reconnects 0 (no client was closed by the server)',
      'recovery success - (no rejoin with recovery)',
    ]);
  });
});
